"""Checks of requests: nntk, ntk and grad calls, kernel calls and parameter points."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping

from nntk_lang._check.calls import CallChecker
from nntk_lang._check.context import FileContext, Symbol, suggestion
from nntk_lang._check.expressions import ExpressionChecker
from nntk_lang.signatures import KERNEL_CALL, SIGNATURES, Signature
from nntk_lang.syntax import ast


class RequestChecker(CallChecker):
    """Check requests, which relate a model to its point and inputs."""

    def __init__(
        self,
        context: FileContext,
        expressions: ExpressionChecker,
        max_samples: int,
        max_grid: int,
    ) -> None:
        super().__init__(context, expressions, max_samples, max_grid)
        self._fitted: set[tuple[str, str]] = set()

    def request(self, call: ast.Call, inputs_from_grid: bool = False) -> Symbol | None:
        """Check an `nntk`, `ntk` or `grad` call; return its model's symbol.

        With `inputs_from_grid` (a `grad` compared on a grid) the inputs come from
        the grid, so missing input keywords are not errors.
        """
        signature = SIGNATURES[call.func]
        model = self._first_model(call)
        extra: dict[str, str] = {}
        if model is not None:
            call = self._drop_model_keywords(call, signature, model)
            if signature.input_keywords:
                extra = {name: "an input" for name in model.inputs}
        bound = self.bind(call, signature, extra)
        values = self.arguments(call, signature, bound)
        model = values.get("model")
        if not isinstance(model, Symbol):
            return None
        width_inf = self._check_width(bound, values, model)
        self._check_point(call, bound, values, model, width_inf)
        if signature.input_keywords:
            self._check_inputs(call, bound, model, require=not inputs_from_grid)
        return model

    def _check_point(
        self,
        call: ast.Call,
        bound: Mapping[str, ast.Expr],
        values: Mapping[str, object],
        model: Symbol,
        width_inf: bool,
    ) -> None:
        """Report a missing, needless or unfitting `at=` point."""
        if "at" in bound and width_inf:
            self.context.error(
                "`at=` has no meaning with `width=inf`",
                bound["at"].span,
                "the infinite-width kernel averages over the initialisation; "
                "remove `at=`",
            )
        elif "at" in bound:
            self.point_fits(bound["at"], values.get("at"), model)
        elif not width_inf:
            self.context.error(
                f"`{call.func}` is missing the argument `at`",
                call.func_span,
                "pass the parameter point as `at=p`, or `width=inf` for the "
                "infinite-width limit of a network",
            )

    def _first_model(self, call: ast.Call) -> Symbol | None:
        first = call.args[0] if call.args else None
        if not isinstance(first, ast.Name):
            return None
        symbol = self.context.lookup(first.id)
        return symbol if symbol is not None and symbol.kind in _MODELS else None

    def _drop_model_keywords(
        self, call: ast.Call, signature: Signature, model: Symbol
    ) -> ast.Call:
        """Report keywords named after a parameter, or after an input where the
        request takes none, and drop them."""
        remaining = []
        for keyword in call.kwargs:
            if signature.parameter(keyword.name) is not None:
                remaining.append(keyword)
            elif keyword.name in model.params:
                self.context.error(
                    f"`{keyword.name}` is a parameter of model `{model.name}`, "
                    "not an input",
                    keyword.span,
                    "parameters take their values from the point `at=`",
                )
            elif keyword.name in model.inputs and not signature.input_keywords:
                self.context.error(
                    f"`{keyword.name}` is an input of model `{model.name}`, but "
                    f"`{call.func}` builds a kernel of all inputs",
                    keyword.span,
                    "give inputs when evaluating the kernel, as in `eval K(0.3, 0.5)`",
                )
            else:
                remaining.append(keyword)
        return dataclasses.replace(call, kwargs=tuple(remaining))

    def _check_width(
        self,
        bound: Mapping[str, ast.Expr],
        values: Mapping[str, object],
        model: Symbol,
    ) -> bool:
        """Report `width=` on a symbolic model; return whether width is inf."""
        if "width" not in bound:
            return False
        if model.kind != "network":
            self.context.error(
                f"`width=` applies only to network models, and `{model.name}` is "
                f"{model.phrase}",
                bound["width"].span,
                "remove `width=`, or declare a network with `model net = mlp(...)`",
            )
            return False
        return values.get("width") == "inf"

    def _check_inputs(
        self,
        call: ast.Call,
        bound: Mapping[str, ast.Expr],
        model: Symbol,
        require: bool = True,
    ) -> None:
        for name in model.inputs:
            if name in bound:
                self.input_value(bound[name], 1)
            elif require:
                self.context.error(
                    f"`{call.func}` is missing a value for input `{name}` of "
                    f"model `{model.name}`",
                    call.func_span,
                    f"add `{name}=...`",
                )

    def kernel_call(self, call: ast.Call, kernel: Symbol) -> None:
        """Check `K(x1, x2, ...)` for a declared kernel `K`."""
        signature = dataclasses.replace(KERNEL_CALL, name=kernel.name)
        bound = self.bind(call, signature)
        n_inputs = len(kernel.inputs) if kernel.inputs else None
        for name in ("x1", "x2"):
            if name in bound:
                self.input_value(bound[name], n_inputs)
        options = {k: v for k, v in bound.items() if k not in ("x1", "x2")}
        self.arguments(call, signature, options)

    def point_fits(self, expr: ast.Expr, point: object, model: Symbol) -> None:
        """Report a point that does not give exactly the parameters of `model`."""
        if isinstance(point, ast.PointLit):
            label, entries, source, program = "the point", point.entries, None, None
        elif isinstance(point, Symbol):
            label = f"point `{point.name}`"
            entries, source, program = point.entries, point.source, point.program
        else:
            return
        if model.kind == "network":
            self._network_point(expr, label, source, model)
        elif source is not None:
            if source != "load":
                self.context.error(
                    f"{label} comes from init(`{source}`), which fits only network "
                    f"`{source}`, not model `{model.name}`",
                    expr.span,
                    f"declare a point with the parameters {_listed(model.params)}",
                )
        else:
            self._named_parameters(expr, label, entries, program, model)

    def _network_point(
        self, expr: ast.Expr, label: str, source: str | None, model: Symbol
    ) -> None:
        if source is None:
            self.context.error(
                f"{label} names parameters, but network `{model.name}` takes a "
                "point from init() or load()",
                expr.span,
                f"declare `point q = init({model.name}, seed=0)`",
            )
        elif source not in ("load", model.name):
            self.context.error(
                f"{label} comes from init(`{source}`), not from init(`{model.name}`)",
                expr.span,
                f"declare `point q = init({model.name}, seed=0)`",
            )

    def _named_parameters(
        self,
        expr: ast.Expr,
        label: str,
        entries: tuple[ast.PointEntry, ...],
        program: ast.Program | None,
        model: Symbol,
    ) -> None:
        names = {entry.name for entry in entries}
        missing = [name for name in model.params if name not in names]
        if missing:
            self.context.error(
                f"{label} has no value for {_listed(missing)} of model `{model.name}`",
                expr.span,
                f"the point must set every parameter: {_listed(model.params)}",
            )
        key = (label, model.name)
        if key in self._fitted:
            return
        self._fitted.add(key)
        for entry in entries:
            if entry.name in model.params:
                continue
            if entry.name in model.inputs:
                message = f"{label} sets `{entry.name}`, an input of model "
                hint = "points hold parameter values only; give inputs to the request"
            else:
                message = f"{label} sets `{entry.name}`, not a parameter of model "
                hint = suggestion(entry.name, model.params) or (
                    f"parameters of `{model.name}`: {_listed(model.params)}"
                )
            self.context.error_in(
                program, message + f"`{model.name}`", entry.span, hint
            )


_MODELS = ("model", "network")


def _listed(names: Iterable[str]) -> str:
    return ", ".join(f"`{name}`" for name in names) or "none"
