"""Study statements: `compare`, `fit`, `plot` and `train`.

They combine several requests (kernels on grids, gradients along a descent) and
write figures, so they live apart from the single-request statements of the runtime.
`StudyStatements` is a mixin of `Runtime` and uses its request helpers.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from nntk_lang import dispatch
from nntk_lang.ir.symbolic import TargetIR
from nntk_lang.requests import (
    KernelSpec,
    fill_provenance,
    n_inputs,
    name_arg,
    provenance,
    row_label,
)
from nntk_lang.results import Estimate, Result
from nntk_lang.syntax import ast

# Sample count floor of the kernel behind a training run's predicted loss curve.
_PREDICTION_SAMPLES = 8192


class StudyStatements:
    """The handlers of study statements, mixed into `Runtime`."""

    def _run_Compare(self, statement: ast.Compare, source) -> Result:
        from nntk_lang.compare import compare
        from nntk_lang.report.figures import convergence_figure, save_figure

        text = source.text_of(statement.span)
        subject = statement.subject
        grid = np.asarray(self.scope.grid_value(statement.grid), dtype=np.float64)
        if not (isinstance(subject, ast.Call) and subject.func == "grad"):
            spec = self._subject_kernel(subject, source.text_of(subject.span))
            request = self._request_options(statement.options, base=spec.request)
            xs = (
                grid.reshape(len(grid), -1) if spec.model.n_inputs else np.zeros((1, 0))
            )
            evaluate = lambda req: self.evaluate_kernel(spec, xs, xs, req)  # noqa: E731
            labels = {
                "rows": [row_label(r) for r in xs],
                "columns": [row_label(r) for r in xs],
                "corner": "x \\ x'",
            }
            kind = "kernel"
        else:
            model = self.scope.model(name_arg(subject, 0))
            operator = self._operator_arg(subject, 1)
            theta = self._theta(model, subject)
            request = self._request_options(
                statement.options, base=self._request_options(subject)
            )
            xs = grid.reshape(len(grid), -1)

            def evaluate(req):
                context, progress = self._context(f"compare {model.name}")
                try:
                    return dispatch.gradient(model, operator, theta, xs, req, context)
                finally:
                    progress.close()

            labels = {
                "rows": [row_label(r) for r in xs],
                "columns": [f"∂/∂{p.name}" for p in model.params],
                "corner": "x",
            }
            kind = "grad"
        exact = evaluate(replace(request, method="analytic"))
        comparison = compare(
            exact.value,
            lambda count: evaluate(replace(request, method="mc", samples=count)),
            request.samples,
        )
        sampled = comparison.sampled
        fill_provenance(sampled, request)
        sampled.info.update(
            {
                "exact": exact.value,
                "z": comparison.z,
                "relative_error": comparison.relative_error,
                "closed_form": exact.info.get("closed_form", ""),
                "latex": exact.info.get("latex", ""),
                "ladder": [list(rung) for rung in comparison.ladder],
                "subject": kind,
            }
        )
        result = Result(
            text,
            statement.span.line,
            "compare",
            sampled,
            labels,
            table=comparison.summary(),
        )
        if self.options.out_dir is not None:
            from nntk_lang.report.files import path_inside

            name = f"compare_line{statement.span.line}.png"
            figure = convergence_figure(
                comparison.ladder,
                f"{source.text_of(subject.span)}: closed form against Monte Carlo "
                f"(line {statement.span.line})",
            )
            save_figure(figure, path_inside(self.options.out_dir, name))
            result.files.append(name)
        return result

    def _run_Fit(self, statement: ast.Fit, source) -> Result:
        from nntk_lang.regression import kernel_regression, mse
        from nntk_lang.report.figures import fit_figure

        text = source.text_of(statement.span)
        target = self.scope.target(statement.target.id)
        n_in = max(len(target.inputs), 1)
        x_train = np.asarray(self.scope.grid_value(statement.train), float).reshape(
            -1, n_in
        )
        x_test = np.asarray(self.scope.grid_value(statement.test), float).reshape(
            -1, n_in
        )
        numbers = {
            k.name: self.scope.number(k.value)
            for k in statement.options
            if k.name in ("ridge", "time", "lr")
        }
        y_train = dispatch.evaluate_target(target, x_train)
        y_test = dispatch.evaluate_target(target, x_test)
        union = np.concatenate([x_train, x_test])
        n_train = len(x_train)
        rows, values, predictions, details = [], [], {}, {}
        for name in statement.kernels:
            spec: KernelSpec = self.scope.get(name.id)
            request = self._request_options(statement.options, base=spec.request)
            gram = self._cached_gram(spec, union, request)
            matrix = np.asarray(gram.value, float)
            fit = kernel_regression(
                matrix[:n_train, :n_train],
                matrix[n_train:, :n_train],
                y_train,
                ridge=numbers.get("ridge", 0.0),
                time=numbers.get("time"),
                lr=numbers.get("lr", 1.0),
            )
            rows.append(name.id)
            values.append(
                [mse(fit.train_prediction, y_train), mse(fit.test_prediction, y_test)]
            )
            predictions[name.id] = fit.test_prediction
            details[name.id] = {
                "method": gram.method,
                "samples": gram.samples,
                "seed": gram.seed,
                "estimator": gram.estimator,
                "dropped_eigenvalues": fit.dropped_eigenvalues,
                "eigenvalue_cutoff": fit.cutoff,
                "min_eigenvalue": fit.min_eigenvalue,
                "test_prediction": fit.test_prediction,
            }
        info = {"kernels": details, "ridge": float(numbers.get("ridge", 0.0))}
        estimate = Estimate(
            value=np.array(values),
            method="exact",
            estimator="kernel regression",
            info=info,
        )
        result = Result(
            text,
            statement.span.line,
            "fit",
            estimate,
            {"rows": rows, "columns": ["train MSE", "test MSE"], "corner": "kernel"},
        )
        if self.options.out_dir is not None:
            from nntk_lang.report.figures import save_figure
            from nntk_lang.report.files import path_inside

            file_name = f"fit_line{statement.span.line}_{statement.target.id}.png"
            figure = fit_figure(
                x_test[:, 0],
                y_test,
                x_train[:, 0],
                y_train,
                predictions,
                x_test[:, 0],
                f"Kernel regression of {statement.target.id}: "
                f"{n_train} training points, ridge {info['ridge']:g}",
                test_mse={row: value[1] for row, value in zip(rows, values)},
            )
            save_figure(figure, path_inside(self.options.out_dir, file_name))
            result.files.append(file_name)
        return result

    def _cached_gram(
        self, spec: KernelSpec, xs: np.ndarray, request: dispatch.RequestOptions
    ) -> Estimate:
        """Return K(xs, xs), reusing the Gram of an earlier `fit` with equal inputs.

        A kernel does not depend on the target, so several `fit` statements over
        the same grids share one (often Monte Carlo) Gram.
        """
        key = (id(spec), request, xs.shape, xs.tobytes())
        cached = self._gram_cache.get(key)
        if cached is not None and cached[0] is spec:
            return cached[1]
        estimate = self.evaluate_kernel(spec, xs, xs, request)
        # Keeping `spec` alive keeps its id from being reused by another kernel.
        self._gram_cache[key] = (spec, estimate)
        return estimate

    def _run_Plot(self, statement: ast.Plot, source) -> Result:
        from nntk_lang.report.figures import kernel_figure, save_figure
        from nntk_lang.report.files import path_inside

        text = source.text_of(statement.span)
        if isinstance(statement.subject, ast.Name) and isinstance(
            self.scope.get(statement.subject.id), TargetIR
        ):
            return self._plot_target(statement, text)
        xs = np.asarray(self.scope.grid_value(statement.grid), float).reshape(-1, 1)
        spec = self._subject_kernel(statement.subject, statement.subject.id)
        request = self._request_options(statement.options, base=spec.request)
        estimate = self.evaluate_kernel(spec, xs, xs, request)
        labels = {
            "rows": [row_label(r) for r in xs],
            "columns": [row_label(r) for r in xs],
            "corner": "x \\ x'",
        }
        result = Result(text, statement.span.line, "plot", estimate, labels)
        if self.options.out_dir is not None:
            n = len(xs)
            slices = sorted({0, n // 4, n // 2, (3 * n) // 4})
            file_name = f"plot_line{statement.span.line}_{spec.name}.png"
            figure = kernel_figure(
                xs[:, 0],
                np.asarray(estimate.value, float),
                f"{spec.describe()} ({provenance(estimate)})",
                slices,
            )
            save_figure(figure, path_inside(self.options.out_dir, file_name))
            result.files.append(file_name)
        return result

    def _plot_target(self, statement: ast.Plot, text: str) -> Result:
        """Evaluate a target on the grid, as `fit` does, and plot it."""
        from nntk_lang.report.figures import save_figure, target_figure
        from nntk_lang.report.files import path_inside

        target = self.scope.target(statement.subject.id)
        n_in = max(len(target.inputs), 1)
        grid = np.asarray(self.scope.grid_value(statement.grid), float)
        xs = grid.reshape(-1, n_in)
        ys = dispatch.evaluate_target(target, xs)
        estimate = Estimate(value=np.asarray(ys, float).reshape(-1, 1), method="exact")
        labels = {
            "rows": [row_label(r) for r in xs],
            "columns": [target.name],
            "corner": ", ".join(symbol.name for symbol in target.inputs),
        }
        result = Result(text, statement.span.line, "plot", estimate, labels)
        if self.options.out_dir is not None and n_in == 1:
            file_name = f"plot_line{statement.span.line}_{target.name}.png"
            figure = target_figure(xs[:, 0], np.asarray(ys, float), target.name)
            save_figure(figure, path_inside(self.options.out_dir, file_name))
            result.files.append(file_name)
        return result

    def _run_Train(self, statement: ast.Train, source) -> Result:
        from nntk_lang import dispatch_network, training
        from nntk_lang.ir.network import NetworkIR
        from nntk_lang.signatures import OPTIONS

        text = source.text_of(statement.span)
        model = self._model(statement.model.id)
        target = self.scope.target(statement.target.id)
        operator = self.scope.operator(statement.operator.id)
        point_call = ast.Call(
            statement.point.span,
            "train",
            statement.point.span,
            (),
            (ast.Keyword(statement.point.span, "at", statement.point),),
        )
        theta0 = self._theta(model, point_call)
        options = self.scope.options(statement.options, OPTIONS["train"])
        request = self._request_options(statement.options)
        steps, lr = int(options["steps"]), float(options["lr"])
        n_in = n_inputs(model)
        x_train = self._grid_option(statement, "points", (-1.0, 1.0, 32)).reshape(
            -1, n_in
        )
        x_test = self._grid_option(statement, "test", (-1.0, 1.0, 201)).reshape(
            -1, n_in
        )
        y_train = dispatch.evaluate_target(target, x_train)
        y_test = dispatch.evaluate_target(target, x_test)
        network = isinstance(model, NetworkIR)

        def forward(theta, xs):
            if network:
                return dispatch_network.network_outputs(model, theta, xs)
            return dispatch.evaluate_model(model, theta, xs)

        def nonlocal_gradient(theta, xs, step):
            # A fresh, reproducible batch of perturbations at every step.
            step_request = replace(request, seed=request.seed * 1_000_003 + step)
            return np.asarray(
                self._gradient(
                    model, operator, theta, xs, step_request, quiet=True
                ).value,
                dtype=np.float64,
            )

        def ordinary_gradient(theta, xs, step):
            if network:
                return dispatch_network.network_jacobian(model, theta, xs)
            return np.asarray(
                dispatch.classical_gradient(
                    model, theta, xs, request, dispatch.BackendContext()
                ).value
            )

        context, progress = self._context(f"train {model.name}")

        def descend(gradient, progress=None):
            return training.gradient_descent(
                forward,
                gradient,
                theta0,
                x_train,
                y_train,
                x_test,
                y_test,
                steps=steps,
                lr=lr,
                cancel=self._check_cancel,
                progress=progress,
            )

        try:
            trained = descend(nonlocal_gradient, progress)
            ordinary = descend(ordinary_gradient)
        finally:
            progress.close()
        union = np.concatenate([x_train, x_test])
        # The prediction needs a far less noisy kernel than one descent step's
        # gradient, so it gets at least _PREDICTION_SAMPLES samples.
        kernel_request = replace(
            request, samples=max(request.samples, _PREDICTION_SAMPLES)
        )
        spec = KernelSpec(
            statement.operator.id, "nntk", model, operator, theta0, kernel_request
        )
        kernel = self.evaluate_kernel(spec, union, union, kernel_request)
        gram = np.asarray(kernel.value, dtype=np.float64)
        n = len(x_train)
        predicted = training.kernel_prediction(
            gram[:n, :n],
            gram[n:, :n],
            forward(theta0, x_train),
            forward(theta0, x_test),
            y_train,
            y_test,
            steps=steps,
            lr=lr,
        )
        curves = {
            f"descent with {statement.operator.id}": (trained, "-"),
            "NNTK prediction": (predicted, "--"),
            "ordinary gradient descent": (ordinary, ":"),
        }
        rows = list(curves)
        value = np.array(
            [
                [c.train_mse[0], c.train_mse[-1], c.test_mse[-1]]
                for c, _ in curves.values()
            ]
        )
        info = {
            label: {"steps": c.steps, "train_mse": c.train_mse, "test_mse": c.test_mse}
            for label, (c, _) in curves.items()
        }
        estimate = Estimate(
            value=value,
            method="mc",
            samples=request.samples,
            seed=request.seed,
            estimator=f"gradient descent, {steps} steps, lr={lr}",
            info={
                "curves": info,
                "kernel_method": kernel.method,
                "kernel_samples": kernel.samples,
            },
        )
        result = Result(
            text,
            statement.span.line,
            "train",
            estimate,
            {
                "rows": rows,
                "columns": ["MSE at start", "final train MSE", "final test MSE"],
                "corner": "run",
            },
        )
        if self.options.out_dir is not None:
            from nntk_lang.report.figures import save_figure, training_figure
            from nntk_lang.report.files import path_inside

            name = f"train_line{statement.span.line}_{model.name}.png"
            figure = training_figure(
                curves,
                x_test[:, 0],
                y_test,
                trained.snapshots,
                f"{model.name} on {target.name}: descent with {statement.operator.id} "
                f"against the NNTK's prediction",
            )
            save_figure(figure, path_inside(self.options.out_dir, name))
            result.files.append(name)
        return result

    def _grid_option(self, statement, name: str, default: tuple) -> np.ndarray:
        for keyword in statement.options:
            if keyword.name == name:
                return np.asarray(
                    self.scope.grid_value(keyword.value), dtype=np.float64
                )
        start, stop, count = default
        return np.linspace(start, stop, count)
