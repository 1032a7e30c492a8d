"""Execute checked statements in order, holding the names they declare.

The runtime reads syntax, asks `ir.lower.Scope` for lowered values, and hands
requests to `dispatch`, which picks a backend. It never builds sympy or torch objects
itself.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import sympy
from rich.console import Console

from nntk_lang import dispatch
from nntk_lang.errors import (
    Cancelled,
    ConfigError,
    NoClosedForm,
    ResourceLimitError,
    SpecError,
)
from nntk_lang.ir.symbolic import TargetIR
from nntk_lang.report.console import render_result
from nntk_lang.report.json_out import ResultsFile
from nntk_lang.report.progress import DelayedProgress
from nntk_lang.results import Estimate, Result
from nntk_lang.signatures import SIGNATURES
from nntk_lang.syntax import ast

logger = logging.getLogger("nntk")

# The language's default sample count, from the one table of call signatures.
_DEFAULT_SAMPLES = int(SIGNATURES["grad"].keyword("samples").default)
# Defaults come from the signatures, which the reference and the help print.
_DEFAULT_SAMPLER = str(SIGNATURES["grad"].keyword("sampler").default)
_DEFAULT_BASELINE = bool(SIGNATURES["grad"].keyword("baseline").default)

# Sample count floor of the kernel behind a training run's predicted loss curve.
_PREDICTION_SAMPLES = 8192


@dataclass
class RunOptions:
    """Settings of a run that the command line sets.

    Attributes:
        out_dir: folder for results.json and figures; None writes nothing.
        seed: default seed of requests that give no `seed=`.
        samples: default sample count of requests that give no `samples=`.
        device: "auto", "cpu" or "cuda".
        dtype: evaluation dtype of Monte Carlo work ("float64" or "float32").
        memory_bytes: memory budget for Monte Carlo chunks; None = from free memory.
        symbolic_timeout: seconds of symbolic work per closed form.
        cache_dir: closed-form cache; None = the default under XDG_CACHE_HOME.
        quiet: no progress bars.
        print_results: print a table per result on `console`.
    """

    out_dir: Path | None = None
    seed: int | None = None
    samples: int | None = None
    device: str = "auto"
    dtype: str = "float64"
    memory_bytes: int | None = None
    symbolic_timeout: float = 30.0
    cache_dir: Path | None = None
    quiet: bool = False
    print_results: bool = True
    max_samples: int = 10**8
    max_grid: int = 10**6


@dataclass(frozen=True)
class KernelSpec:
    """A declared kernel: `nntk(model, op, at=p, ...)` or `ntk(model, at=p, ...)`."""

    name: str
    kind: str
    model: Any
    operator: Any
    theta: np.ndarray
    request: dispatch.RequestOptions
    width: float | None = None

    def describe(self) -> str:
        kind = "classical NTK" if self.kind == "ntk" else "NNTK"
        width = ", infinite width" if self.width is not None and np.isinf(self.width) else ""
        return f"{self.name}: {kind} of {self.model.name}{width}"


@dataclass
class _Session:
    results: list[Result] = field(default_factory=list)
    accepted: list[str] = field(default_factory=list)
    # `ans` as `accepted` names it (`ans_1`, ...) and its declaration, which
    # goes into `accepted` before the first statement that reads it.
    ans_count: int = 0
    ans_name: str | None = None
    ans_declaration: str | None = None


class Runtime:
    """Runs spec files or REPL input against one environment of names."""

    def __init__(self, options: RunOptions | None = None, console: Console | None = None):
        self.options = options or RunOptions()
        self.console = console or Console()
        self._cancel_event = threading.Event()
        self._results_file: ResultsFile | None = None
        self.reset()

    # Session ---------------------------------------------------------------

    def reset(self) -> None:
        """Forget every name and result of the session."""
        from nntk_lang.check import Checker, Limits
        from nntk_lang.ir.lower import Scope

        self.checker = Checker(Limits(max_samples=self.options.max_samples,
                                      max_grid=self.options.max_grid))
        self.scope = Scope()
        self.session = _Session()
        self._gram_cache: dict[tuple, tuple[KernelSpec, Estimate]] = {}
        self._current_source: ast.Program | None = None

    def set_ans(self, estimate: Estimate) -> None:
        """Bind `ans` to the last result: a number as a `let`, a vector as a grid.

        One-entry results (`K(0.3, -0.5)` is a 1 x 1 matrix) become numbers and
        one-row or one-column matrices become grids. The language has no matrix
        values, so after any other matrix `ans` is undefined.
        """
        from nntk_lang.session_ans import ans_declaration

        value = np.squeeze(np.asarray(estimate.value, dtype=np.float64))
        self.scope.forget("ans")
        if value.ndim == 0:
            self.scope.bind_let("ans", float(value))
            self.checker.bind_session_name("ans", "let", sympy.Float(float(value), 17))
        elif value.ndim == 1:
            self.scope.bind("ans", value)
            self.checker.bind_session_name("ans", "grid")
        else:
            self.checker.symbols.pop("ans", None)
        session = self.session
        session.ans_count += 1
        session.ans_name = f"ans_{session.ans_count}"
        session.ans_declaration = (
            ans_declaration(session.ans_name, value) if value.ndim <= 1 else None
        )

    def cancel(self) -> None:
        """Ask the running computation to stop; it raises `Cancelled` within a chunk."""
        self._cancel_event.set()

    def _check_cancel(self) -> None:
        if self._cancel_event.is_set():
            self._cancel_event.clear()
            raise Cancelled("computation cancelled")

    def names(self) -> dict[str, str]:
        """Return each name in scope with a short description of what it is."""
        described = {}
        for name, symbol in self.checker.symbols.items():
            detail = ""
            if symbol.kind == "def":
                detail = f"({', '.join(symbol.params)})"
            elif symbol.params:
                detail = f"({', '.join(symbol.inputs)}; {', '.join(symbol.params)})"
            elif symbol.inputs:
                detail = f"({', '.join(symbol.inputs)})"
            elif symbol.kind == "let" and symbol.value is not None:
                detail = f" = {_let_text(symbol.value)}"
            described[name] = f"{symbol.kind} {name}{detail}"
        return described

    def accepted_source(self) -> str:
        """Return the accepted statements of the session as spec text."""
        return "".join(text if text.endswith("\n") else text + "\n"
                       for text in self.session.accepted)

    # Entry points ----------------------------------------------------------

    def run_file(self, path: Path) -> list[Result]:
        """Parse, check and run a spec file; write results.json when out_dir is set."""
        from nntk_lang.syntax.parser import parse
        from nntk_lang.syntax.source import read_source

        path = Path(path)
        text = read_source(path)
        program = parse(text, str(path))
        if self.options.out_dir is not None:
            self._results_file = ResultsFile(self.options.out_dir, str(path))
            self._results_file.write()
        return self._run_program(program)

    def execute_text(self, text: str, path: str = "<repl>", first_line: int = 1) -> list[Result]:
        """Parse, check and run `text` in the current session (the REPL's entry)."""
        from nntk_lang.syntax.parser import parse

        # Blank lines in front make spans count the session's lines, not the chunk's.
        program = parse("\n" * (first_line - 1) + text, path)
        return self._run_program(program)

    def _run_program(self, program: ast.Program) -> list[Result]:
        # A cancel request that arrived after the previous statement ended is stale.
        self._cancel_event.clear()
        checked = self.checker.check_statements(program)
        results: list[Result] = []
        for item in checked.statements:
            results.extend(self._run_statement(item.statement, item.program))
            if item.program is program:
                self._accept(item.statement, program)
        return results

    def _accept(self, statement: ast.Statement, program: ast.Program) -> None:
        """Record a statement for `accepted_source`, with `ans` renamed to `ans_N`."""
        from nntk_lang.session_ans import ans_references, renamed_text

        session = self.session
        if session.ans_name is None or not ans_references(statement):
            session.accepted.append(program.text_of(statement.span))
            return
        if session.ans_declaration is not None:
            session.accepted.append(session.ans_declaration)
            session.ans_declaration = None
        session.accepted.append(renamed_text(program, statement, session.ans_name))

    # Statements ------------------------------------------------------------

    def _run_statement(self, statement: ast.Statement, source: ast.Program) -> list[Result]:
        handler = getattr(self, f"_run_{type(statement).__name__}", None)
        if handler is None:
            raise SpecError(
                f"`{_keyword_of(statement)}` statements are not supported yet",
                statement.span,
                hint="remove the statement; this version of nntk cannot run it",
                source=source.source,
            )
        started = time.perf_counter()
        self._current_source = source
        try:
            # Non-finite values are reported once, by _require_finite, not as
            # numpy warnings from the closed-form evaluation.
            with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
                produced = handler(statement, source)
        except NoClosedForm as exc:
            raise SpecError(
                f"no closed form for this request: {exc.reason}",
                statement.span,
                hint="use method=auto to fall back to Monte Carlo, or method=mc",
                source=source.source,
            ) from exc
        except MemoryError as exc:
            raise SpecError(
                "ran out of memory while running this statement", statement.span,
                hint="use a smaller network, fewer samples or a coarser grid",
                source=source.source,
            ) from exc
        except (ConfigError, ResourceLimitError) as exc:
            # Backends raise these without a span, so they get the statement's span.
            raise SpecError(
                str(exc), statement.span, hint="change the value the message names",
                source=source.source,
            ) from exc
        if produced is None:
            return []
        results = produced if isinstance(produced, list) else [produced]
        for result in results:
            _require_finite(result, statement, source)
        elapsed = time.perf_counter() - started
        for result in results:
            result.wall_time = result.wall_time or elapsed
            self._publish(result)
        return results

    def _publish(self, result: Result) -> None:
        self.session.results.append(result)
        if self._results_file is not None:
            self._results_file.add(result)
        if self.options.print_results:
            render_result(result, self.console)

    def _declare(self, statement, source) -> None:
        self.scope.declare(statement)

    _run_Let = _declare
    _run_Def = _declare
    _run_Target = _declare
    _run_SymbolicModel = _declare
    _run_OperatorDecl = _declare
    _run_GridDecl = _declare

    def _run_Import(self, statement, source) -> None:
        # The checker has already inlined the imported statements.
        return None

    def _run_PointDecl(self, statement: ast.PointDecl, source) -> None:
        if isinstance(statement.value, ast.PointLit):
            self.scope.declare(statement)
            return
        self.scope.bind(statement.name.name, self._built_point(statement.value, source))

    def _run_NetworkModel(self, statement: ast.NetworkModel, source) -> None:
        from nntk_lang.ir.network import mlp_from_options
        from nntk_lang.signatures import SIGNATURES

        options = self.scope.arguments(statement.value, SIGNATURES["mlp"])
        options = {key: value for key, value in options.items() if value is not None}
        self.scope.bind(statement.name.name,
                        mlp_from_options(statement.name.name, options))

    def _built_point(self, call: ast.Call, source: ast.Program):
        """Return the parameters that `init(net, seed=)` or `load("file.npz")` give."""
        from nntk_lang.ir.network import init
        from nntk_lang.signatures import SIGNATURES

        arguments = self.scope.arguments(call, SIGNATURES[call.func])
        if call.func == "init":
            return init(arguments["net"], int(arguments["seed"]))
        return _LoadedPoint(_spec_relative(source, call, arguments["path"]), call, source)

    def _run_KernelDecl(self, statement: ast.KernelDecl, source) -> None:
        spec = self._kernel_spec(statement.value, statement.name.name)
        self.scope.bind(statement.name.name, spec)

    def _kernel_spec(self, call: ast.Call, name: str) -> KernelSpec:
        """Build the kernel that `nntk(...)` or `ntk(...)` describes."""
        model = self._model(_name_arg(call, 0))
        theta = self._theta(model, call)
        request = self._request_options(call)
        operator = None
        if call.func == "nntk":
            operator = self._operator_arg(call, 1)
        width_kw = call.keyword("width")
        width = self.scope.number(width_kw.value) if width_kw else None
        return KernelSpec(name, call.func, model, operator, theta, request, width)

    def _subject_kernel(self, subject: ast.Expr, text: str) -> KernelSpec:
        """Return the kernel a `compare`/`plot`/`fit` names or writes inline."""
        if isinstance(subject, ast.Name):
            return self.scope.get(subject.id)
        return self._kernel_spec(subject, text)

    def _run_Eval(self, statement: ast.Eval, source) -> Result:
        value = statement.value
        text = source.text_of(statement.span)
        if isinstance(value, ast.Call) and value.func == "grad":
            return self._grad(value, text, statement.span.line)
        if isinstance(value, ast.Call) and isinstance(self.scope.get(value.func), KernelSpec):
            return self._kernel_value(value, text, statement.span.line)
        number = self.scope.number(value)
        return Result(text, statement.span.line, "value",
                      Estimate(value=np.asarray(number, dtype=np.float64), method="exact"))

    def _run_Compare(self, statement: ast.Compare, source) -> Result:
        from nntk_lang.compare import compare
        from nntk_lang.report.figures import convergence_figure, save_figure

        text = source.text_of(statement.span)
        subject = statement.subject
        grid = np.asarray(self.scope.grid_value(statement.grid), dtype=np.float64)
        if not (isinstance(subject, ast.Call) and subject.func == "grad"):
            spec = self._subject_kernel(subject, source.text_of(subject.span))
            request = self._request_options(statement.options, base=spec.request)
            xs = grid.reshape(len(grid), -1) if spec.model.n_inputs else np.zeros((1, 0))
            evaluate = lambda req: self.evaluate_kernel(spec, xs, xs, req)  # noqa: E731
            labels = {"rows": [_row_label(r) for r in xs],
                      "columns": [_row_label(r) for r in xs], "corner": "x \\ x'"}
            kind = "kernel"
        else:
            model = self.scope.model(_name_arg(subject, 0))
            operator = self._operator_arg(subject, 1)
            theta = self._theta(model, subject)
            request = self._request_options(statement.options,
                                            base=self._request_options(subject))
            xs = grid.reshape(len(grid), -1)

            def evaluate(req):
                context, progress = self._context(f"compare {model.name}")
                try:
                    return dispatch.gradient(model, operator, theta, xs, req, context)
                finally:
                    progress.close()

            labels = {"rows": [_row_label(r) for r in xs],
                      "columns": [f"∂/∂{p.name}" for p in model.params], "corner": "x"}
            kind = "grad"
        exact = evaluate(replace(request, method="analytic"))
        comparison = compare(
            exact.value,
            lambda count: evaluate(replace(request, method="mc", samples=count)),
            request.samples,
        )
        sampled = comparison.sampled
        _fill_provenance(sampled, request)
        sampled.info.update({
            "exact": exact.value, "z": comparison.z,
            "relative_error": comparison.relative_error,
            "closed_form": exact.info.get("closed_form", ""),
            "latex": exact.info.get("latex", ""),
            "ladder": [list(rung) for rung in comparison.ladder],
            "subject": kind,
        })
        result = Result(text, statement.span.line, "compare", sampled, labels,
                        table=comparison.summary())
        if self.options.out_dir is not None:
            from nntk_lang.report.files import path_inside

            name = f"compare_line{statement.span.line}.png"
            figure = convergence_figure(
                comparison.ladder,
                f"{source.text_of(subject.span)}: closed form against Monte Carlo "
                f"(line {statement.span.line})")
            save_figure(figure, path_inside(self.options.out_dir, name))
            result.files.append(name)
        return result

    def _run_Fit(self, statement: ast.Fit, source) -> Result:
        from nntk_lang.regression import kernel_regression, mse
        from nntk_lang.report.figures import fit_figure

        text = source.text_of(statement.span)
        target = self.scope.target(statement.target.id)
        n_in = max(len(target.inputs), 1)
        x_train = np.asarray(self.scope.grid_value(statement.train), float).reshape(-1, n_in)
        x_test = np.asarray(self.scope.grid_value(statement.test), float).reshape(-1, n_in)
        numbers = {k.name: self.scope.number(k.value) for k in statement.options
                   if k.name in ("ridge", "time", "lr")}
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
                matrix[:n_train, :n_train], matrix[n_train:, :n_train], y_train,
                ridge=numbers.get("ridge", 0.0), time=numbers.get("time"),
                lr=numbers.get("lr", 1.0),
            )
            rows.append(name.id)
            values.append([mse(fit.train_prediction, y_train),
                           mse(fit.test_prediction, y_test)])
            predictions[name.id] = fit.test_prediction
            details[name.id] = {
                "method": gram.method, "samples": gram.samples, "seed": gram.seed,
                "estimator": gram.estimator,
                "dropped_eigenvalues": fit.dropped_eigenvalues,
                "eigenvalue_cutoff": fit.cutoff, "min_eigenvalue": fit.min_eigenvalue,
                "test_prediction": fit.test_prediction,
            }
        info = {"kernels": details, "ridge": float(numbers.get("ridge", 0.0))}
        estimate = Estimate(value=np.array(values), method="exact",
                            estimator="kernel regression", info=info)
        result = Result(text, statement.span.line, "fit", estimate,
                        {"rows": rows, "columns": ["train MSE", "test MSE"],
                         "corner": "kernel"})
        if self.options.out_dir is not None:
            from nntk_lang.report.figures import save_figure
            from nntk_lang.report.files import path_inside

            file_name = f"fit_line{statement.span.line}_{statement.target.id}.png"
            figure = fit_figure(x_test[:, 0], y_test, x_train[:, 0], y_train,
                                predictions, x_test[:, 0],
                                f"Kernel regression of {statement.target.id}: "
                                f"{n_train} training points, ridge {info['ridge']:g}",
                                test_mse={row: value[1] for row, value
                                          in zip(rows, values)})
            save_figure(figure, path_inside(self.options.out_dir, file_name))
            result.files.append(file_name)
        return result

    def _cached_gram(self, spec: KernelSpec, xs: np.ndarray,
                     request: dispatch.RequestOptions) -> Estimate:
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
        labels = {"rows": [_row_label(r) for r in xs],
                  "columns": [_row_label(r) for r in xs], "corner": "x \\ x'"}
        result = Result(text, statement.span.line, "plot", estimate, labels)
        if self.options.out_dir is not None:
            n = len(xs)
            slices = sorted({0, n // 4, n // 2, (3 * n) // 4})
            file_name = f"plot_line{statement.span.line}_{spec.name}.png"
            figure = kernel_figure(xs[:, 0], np.asarray(estimate.value, float),
                                   f"{spec.describe()} ({_provenance(estimate)})", slices)
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
        labels = {"rows": [_row_label(r) for r in xs], "columns": [target.name],
                  "corner": ", ".join(symbol.name for symbol in target.inputs)}
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
        point_call = ast.Call(statement.point.span, "train", statement.point.span, (),
                              (ast.Keyword(statement.point.span, "at", statement.point),))
        theta0 = self._theta(model, point_call)
        options = self.scope.options(statement.options, OPTIONS["train"])
        request = self._request_options(statement.options)
        steps, lr = int(options["steps"]), float(options["lr"])
        n_in = _n_inputs(model)
        x_train = self._grid_option(statement, "points", (-1.0, 1.0, 32)).reshape(-1, n_in)
        x_test = self._grid_option(statement, "test", (-1.0, 1.0, 201)).reshape(-1, n_in)
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
            return np.asarray(self._gradient(model, operator, theta, xs, step_request,
                                             quiet=True).value, dtype=np.float64)

        def ordinary_gradient(theta, xs, step):
            if network:
                return dispatch_network.network_jacobian(model, theta, xs)
            return np.asarray(dispatch.classical_gradient(
                model, theta, xs, request, dispatch.BackendContext()).value)

        context, progress = self._context(f"train {model.name}")
        curves = {}
        try:
            trained = training.gradient_descent(
                forward, nonlocal_gradient, theta0, x_train, y_train, x_test, y_test,
                steps=steps, lr=lr, cancel=self._check_cancel, progress=progress)
            ordinary = training.gradient_descent(
                forward, ordinary_gradient, theta0, x_train, y_train, x_test, y_test,
                steps=steps, lr=lr, cancel=self._check_cancel)
        finally:
            progress.close()
        union = np.concatenate([x_train, x_test])
        # The prediction needs a far less noisy kernel than one descent step's
        # gradient, so it gets at least _PREDICTION_SAMPLES samples.
        kernel_request = replace(request, samples=max(request.samples, _PREDICTION_SAMPLES))
        spec = KernelSpec(statement.operator.id, "nntk", model, operator, theta0,
                          kernel_request)
        kernel = self.evaluate_kernel(spec, union, union, kernel_request)
        gram = np.asarray(kernel.value, dtype=np.float64)
        n = len(x_train)
        predicted = training.kernel_prediction(
            gram[:n, :n], gram[n:, :n], forward(theta0, x_train), forward(theta0, x_test),
            y_train, y_test, steps=steps, lr=lr)
        curves = {f"descent with {statement.operator.id}": (trained, "-"),
                  "NNTK prediction": (predicted, "--"),
                  "ordinary gradient descent": (ordinary, ":")}
        rows = list(curves)
        value = np.array([[c.train_mse[0], c.train_mse[-1], c.test_mse[-1]]
                          for c, _ in curves.values()])
        info = {label: {"steps": c.steps, "train_mse": c.train_mse, "test_mse": c.test_mse}
                for label, (c, _) in curves.items()}
        estimate = Estimate(value=value, method="mc",
                            samples=request.samples, seed=request.seed,
                            estimator=f"gradient descent, {steps} steps, lr={lr}",
                            info={"curves": info, "kernel_method": kernel.method,
                                  "kernel_samples": kernel.samples})
        result = Result(text, statement.span.line, "train", estimate,
                        {"rows": rows, "columns": ["MSE at start", "final train MSE",
                                                   "final test MSE"], "corner": "run"})
        if self.options.out_dir is not None:
            from nntk_lang.report.figures import save_figure, training_figure
            from nntk_lang.report.files import path_inside

            name = f"train_line{statement.span.line}_{model.name}.png"
            figure = training_figure(
                curves, x_test[:, 0], y_test, trained.snapshots,
                f"{model.name} on {target.name}: descent with {statement.operator.id} "
                f"against the NNTK's prediction")
            save_figure(figure, path_inside(self.options.out_dir, name))
            result.files.append(name)
        return result

    def _grid_option(self, statement, name: str, default: tuple) -> np.ndarray:
        for keyword in statement.options:
            if keyword.name == name:
                return np.asarray(self.scope.grid_value(keyword.value), dtype=np.float64)
        start, stop, count = default
        return np.linspace(start, stop, count)

    # Requests --------------------------------------------------------------

    def _context(self, description: str, enabled: bool = True
                 ) -> tuple[dispatch.BackendContext, DelayedProgress]:
        progress = DelayedProgress(self.console, description,
                                   enabled=enabled and not self.options.quiet)
        context = dispatch.BackendContext(
            device=self.options.device,
            dtype=self.options.dtype,
            memory_bytes=self.options.memory_bytes,
            symbolic_timeout=self.options.symbolic_timeout,
            cache_dir=self.options.cache_dir,
            progress=progress,
            cancel=self._check_cancel,
            max_samples=self.options.max_samples,
        )
        return context, progress

    def _request_options(self, keywords, base: dispatch.RequestOptions | None = None
                         ) -> dispatch.RequestOptions:
        """Read `samples=`, `seed=`, `method=`, ... from keywords over `base`."""
        if isinstance(keywords, ast.Call):
            keywords = keywords.kwargs
        by_name = {keyword.name: keyword for keyword in keywords}
        request = base or dispatch.RequestOptions(
            samples=self.options.samples or _DEFAULT_SAMPLES,
            seed=self.options.seed if self.options.seed is not None else 0,
            sampler=_DEFAULT_SAMPLER,
            baseline=_DEFAULT_BASELINE,
        )
        changes: dict[str, Any] = {}
        for name in ("samples", "seed"):
            keyword = by_name.get(name)
            if keyword is not None:
                changes[name] = int(self.scope.number(keyword.value))
        for name in ("method", "sampler", "estimator"):
            keyword = by_name.get(name)
            if keyword is not None:
                changes[name] = _word(keyword.value)
        keyword = by_name.get("baseline")
        if keyword is not None:
            changes["baseline"] = _word(keyword.value) == "true"
        return replace(request, **changes)

    def _model(self, name: str):
        """Return the symbolic model or network called `name`."""
        from nntk_lang.ir.network import NetworkIR

        value = self.scope.get(name)
        if isinstance(value, NetworkIR):
            return value
        return self.scope.model(name)

    def _theta(self, model, call: ast.Call) -> np.ndarray | None:
        """Return the parameter vector that `at=` gives, in the model's order."""
        from nntk_lang.ir.network import NetworkIR, load_point

        keyword = call.keyword("at")
        if keyword is None:
            return None  # width=inf kernels need no point
        expr = keyword.value
        if isinstance(expr, ast.PointLit):
            value = self.scope.point_value(expr)
        elif isinstance(expr, ast.Call):
            value = self._built_point(expr, self._current_source)
        else:
            value = self.scope.get(_name_of(expr))
        if isinstance(value, _LoadedPoint):
            if not isinstance(model, NetworkIR):
                raise value.error("an .npz point needs a network model")
            try:
                value = load_point(model, value.path)
            except ConfigError as exc:
                hint = "save W1, b1, W2, ... with numpy.savez, shaped as init() makes them"
                raise value.error(str(exc), hint) from exc
        if isinstance(model, NetworkIR):
            if isinstance(value, dict):
                raise SpecError(
                    f"network `{model.name}` takes a point from init() or load(), "
                    "not a literal", expr.span,
                    hint=f"write `point q = init({model.name}, seed=0)`",
                    source=self._current_source.source)
            theta = np.asarray(value, dtype=np.float64).reshape(-1)
            if theta.shape[0] != model.n_params:
                raise SpecError(
                    f"the point has {theta.shape[0]} parameters but network "
                    f"`{model.name}` has {model.n_params}", expr.span,
                    hint=f"initialise the point from `{model.name}` itself",
                    source=self._current_source.source)
            return theta
        return np.array([value[symbol.name] for symbol in model.params], dtype=np.float64)

    def _operator_arg(self, call: ast.Call, index: int) -> Any:
        """Return the operator argument of `call`, declared by name or written inline."""
        expr = call.args[index]
        if isinstance(expr, ast.Call):
            return self.scope.operator_value(expr)
        return self.scope.operator(_name_of(expr))

    def _grad(self, call: ast.Call, text: str, line: int) -> Result:
        model = self._model(_name_arg(call, 0))
        operator = self._operator_arg(call, 1)
        theta = self._theta(model, call)
        xs, rows = self._inputs_from_keywords(model, call)
        request = self._request_options(call)
        estimate = self._gradient(model, operator, theta, xs, request)
        labels = {"rows": rows, "columns": _parameter_labels(model, estimate),
                  "corner": ", ".join(_input_names(model))}
        return Result(text, line, "grad", estimate, labels)

    def _gradient(self, model, operator, theta, xs, request, quiet: bool = False
                  ) -> Estimate:
        from nntk_lang import dispatch_network
        from nntk_lang.ir.network import NetworkIR

        context, progress = self._context(f"grad {model.name}", enabled=not quiet)
        try:
            if isinstance(model, NetworkIR):
                estimate = dispatch_network.network_gradient(
                    model, operator, theta, xs, request, context)
            else:
                estimate = dispatch.gradient(model, operator, theta, xs, request, context)
        finally:
            progress.close()
        _fill_provenance(estimate, request)
        return estimate

    def _inputs_from_keywords(self, model, call: ast.Call) -> tuple[np.ndarray, list[str]]:
        columns = []
        for name in _input_names(model):
            keyword = call.keyword(name)
            columns.append(self._points(keyword.value))
        if not columns:
            return np.zeros((1, 0)), [""]
        length = max(len(column) for column in columns)
        columns = [np.broadcast_to(column, (length,)) for column in columns]
        xs = np.stack(columns, axis=1)
        rows = [", ".join(format(v, "g") for v in row) for row in xs]
        return xs, rows

    def _points(self, expr: ast.Expr) -> np.ndarray:
        """Return a number, a list, `linspace(...)` or a grid name as a 1-D array."""
        is_grid = isinstance(expr, ast.ListLit) or (
            isinstance(expr, ast.Call) and expr.func == "linspace"
        ) or (isinstance(expr, ast.Name) and isinstance(self.scope.get(expr.id), np.ndarray)
              if isinstance(expr, ast.Name) and expr.id in self.scope else False)
        if is_grid:
            return np.atleast_1d(np.asarray(self.scope.grid_value(expr), dtype=np.float64))
        return np.array([self.scope.number(expr)], dtype=np.float64)

    def _kernel_points(self, expr: ast.Expr, n_inputs: int) -> np.ndarray:
        values = self._points(expr)
        if n_inputs <= 1:
            return values.reshape(-1, n_inputs if n_inputs else 0) if n_inputs else np.zeros((1, 0))
        return values.reshape(-1, n_inputs)

    def _kernel_value(self, call: ast.Call, text: str, line: int) -> Result:
        spec: KernelSpec = self.scope.get(call.func)
        request = self._request_options(call, base=spec.request)
        n_in = _n_inputs(spec.model)
        x1 = self._kernel_points(call.args[0], n_in)
        x2 = self._kernel_points(call.args[1], n_in)
        estimate = self.evaluate_kernel(spec, x1, x2, request)
        labels = {"rows": [_row_label(r) for r in x1],
                  "columns": [_row_label(r) for r in x2], "corner": "x \\ x'"}
        return Result(text, line, "kernel", estimate, labels)

    def evaluate_kernel(self, spec: KernelSpec, x1: np.ndarray, x2: np.ndarray,
                        request: dispatch.RequestOptions | None = None) -> Estimate:
        """Evaluate a declared kernel on two sets of inputs."""
        request = request or spec.request
        from nntk_lang import dispatch_network
        from nntk_lang.ir.network import NetworkIR

        context, progress = self._context(f"kernel {spec.name}")
        try:
            if isinstance(spec.model, NetworkIR) and spec.kind == "ntk":
                estimate = dispatch_network.network_classical_ntk(
                    spec.model, spec.theta, x1, x2, request, spec.width)
            elif isinstance(spec.model, NetworkIR):
                estimate = dispatch_network.network_kernel(
                    spec.model, spec.operator, spec.theta, x1, x2, request, context,
                    spec.width)
            elif spec.kind == "ntk":
                estimate = dispatch.classical_ntk(spec.model, spec.theta, x1, x2,
                                                  request, context)
            else:
                estimate = dispatch.kernel(spec.model, spec.operator, spec.theta, x1, x2,
                                           request, context)
        finally:
            progress.close()
        _fill_provenance(estimate, request)
        return estimate


def _require_finite(result: Result, statement: ast.Statement, source) -> None:
    """Raise when a gradient or kernel value is NaN or infinite."""
    if result.kind not in ("grad", "kernel", "plot"):
        return
    value = np.asarray(result.estimate.value, dtype=np.float64)
    bad = int(np.count_nonzero(~np.isfinite(value)))
    if bad == 0:
        return
    raise SpecError(
        f"{bad} of {value.size} values of this {result.kind} are NaN or infinite",
        statement.span,
        hint="the model is undefined or overflows near the point (log or sqrt of a "
        "negative number, exp of a large one); change the point, the scale or "
        "the model",
        source=source.source,
    )


def _fill_provenance(estimate: Estimate, request: dispatch.RequestOptions) -> None:
    if estimate.method == "mc":
        estimate.samples = estimate.samples or request.samples
        estimate.seed = request.seed if estimate.seed is None else estimate.seed


def _provenance(estimate: Estimate) -> str:
    """Return the method of an estimate, with its sample count and seed if sampled."""
    if estimate.samples is None:
        return estimate.method
    return f"{estimate.method}, {estimate.samples} samples, seed {estimate.seed}"


def _let_text(value: sympy.Expr) -> str:
    """Return a `let` value as `:env` shows it: exact, or a float to 15 digits."""
    if isinstance(value, sympy.Float):
        return format(float(value), ".15g")
    return sympy.sstr(value)


def _row_label(row: np.ndarray) -> str:
    return ", ".join(format(float(v), "g") for v in row)


def _keyword_of(statement) -> str:
    return type(statement).__name__.lower()


def _name_of(expr: ast.Expr) -> str:
    assert isinstance(expr, ast.Name), "the checker guarantees a name here"
    return expr.id


def _name_arg(call: ast.Call, index: int) -> str:
    return _name_of(call.args[index])


def _word(expr: ast.Expr) -> str:
    """Return an enum-like keyword value (`method=mc`, `baseline=true`) as text."""
    if isinstance(expr, ast.Name):
        return expr.id
    if isinstance(expr, ast.String):
        return expr.value
    raise TypeError(f"expected a word, got {type(expr).__name__}")


@dataclass(frozen=True)
class _LoadedPoint:
    """`load("file.npz")`: read when a network request names it."""

    path: Path
    call: ast.Call
    source: ast.Program

    def error(self, message: str, hint: str = "use load() with a network") -> SpecError:
        return SpecError(message, self.call.span, hint=hint, source=self.source.source)


def _spec_relative(source: ast.Program, call: ast.Call, name: str) -> Path:
    """Resolve `name` against the spec's folder, rejecting paths that leave it."""
    folder = Path(source.path).resolve().parent if Path(source.path).is_file() \
        else Path.cwd().resolve()
    path = (folder / name).resolve()
    if folder not in path.parents:
        raise SpecError(
            f"`{name}` is outside the spec's folder {folder}", call.span,
            hint="copy the .npz file next to the spec and load it by its name",
            source=source.source)
    return path


def _input_names(model) -> list[str]:
    from nntk_lang.ir.network import NetworkIR

    if isinstance(model, NetworkIR):
        if model.n_inputs == 1:
            return ["x"]
        return [f"x{i + 1}" for i in range(model.n_inputs)]
    return [symbol.name for symbol in model.inputs]


def _n_inputs(model) -> int:
    return len(_input_names(model))


def _parameter_labels(model, estimate: Estimate) -> list[str]:
    from nntk_lang.ir.network import NetworkIR

    if isinstance(model, NetworkIR):
        return [f"θ{j}" for j in range(np.shape(estimate.value)[1])]
    return [f"∂/∂{p.name}" for p in model.params]
