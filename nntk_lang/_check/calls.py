"""Checks of calls against `nntk_lang.signatures` and of their arguments."""

from __future__ import annotations

from collections.abc import Mapping

import sympy

from nntk_lang._check.context import FileContext, Symbol, suggestion
from nntk_lang._check.expressions import ExpressionChecker
from nntk_lang.ir.lower import SCORE_SYMBOLS
from nntk_lang.ir.primitives import BUILTINS
from nntk_lang.signatures import SIGNATURES, Kind, Parameter, Signature
from nntk_lang.syntax import ast

_NAME_KINDS = {
    Kind.MODEL: ("model", "network"),
    Kind.NETWORK: ("network",),
    Kind.OPERATOR: ("operator",),
    Kind.POINT: ("point",),
}
_OPERATOR_CALLS = ("nonlocal", "smoothing", "attention")


class CallChecker:
    """Check calls against their signatures, and the arguments of each.

    Args:
        context: the file's shared state.
        expressions: the checker of arithmetic and constants.
        max_samples: cap on `samples=`.
        max_grid: cap on the number of grid points.
    """

    def __init__(
        self,
        context: FileContext,
        expressions: ExpressionChecker,
        max_samples: int,
        max_grid: int,
    ) -> None:
        self.context = context
        self.expressions = expressions
        self.max_samples = max_samples
        self.max_grid = max_grid

    def bind(
        self,
        call: ast.Call,
        signature: Signature,
        extra: Mapping[str, str] | None = None,
    ) -> dict[str, ast.Expr]:
        """Match arguments to parameters, reporting extra, unknown and missing ones.

        Args:
            call: the call; for statement options, a call named after the statement.
            signature: what it accepts.
            extra: further keyword names the call accepts (a model's inputs),
                mapped to their role; their values are returned but not checked.

        Returns:
            Parameter or extra name to the argument given for it.
        """
        context = self.context
        positional = signature.positional
        bound: dict[str, ast.Expr] = {}
        for param, arg in zip(positional, call.args):
            bound[param.name] = arg
        if len(call.args) > len(positional):
            context.error(
                f"`{call.func}` takes {len(positional)} positional argument(s), "
                f"got {len(call.args)}",
                call.args[len(positional)].span,
                f"call it as {_usage(signature)}",
            )
        for keyword in call.kwargs:
            self._bind_keyword(call, signature, keyword, bound, extra or {})
        for param in signature.params:
            if param.required and param.name not in bound:
                context.error(
                    f"`{call.func}` is missing the argument `{param.name}`",
                    call.func_span,
                    f"call it as {_usage(signature)}",
                )
        return bound

    def _bind_keyword(
        self,
        call: ast.Call,
        signature: Signature,
        keyword: ast.Keyword,
        bound: dict[str, ast.Expr],
        extra: Mapping[str, str],
    ) -> None:
        context = self.context
        if keyword.name in bound:
            context.error(
                f"`{call.func}` got two values for `{keyword.name}`",
                keyword.span,
                "remove one of them",
            )
            return
        if signature.parameter(keyword.name) is None and keyword.name not in extra:
            names = [*signature.names, *extra]
            hint = suggestion(keyword.name, names) or "it accepts " + ", ".join(
                f"`{name}=`" for name in names
            )
            context.error(
                f"`{call.func}` has no argument `{keyword.name}`", keyword.span, hint
            )
            return
        bound[keyword.name] = keyword.value

    def arguments(
        self, call: ast.Call, signature: Signature, bound: Mapping[str, ast.Expr]
    ) -> dict[str, object]:
        """Check each bound argument of a signature; return their checked values.

        Values are sympy numbers, choice names, symbols, or None after an error.
        """
        values: dict[str, object] = {}
        for name, expr in bound.items():
            param = signature.parameter(name)
            if param is not None:
                values[name] = self.argument(call.func, param, expr)
        return values

    def argument(self, func: str, param: Parameter, expr: ast.Expr) -> object:
        """Check one argument against its parameter; return its value or None."""
        kind = param.kind
        if kind in (Kind.NUMBER, Kind.POSITIVE, Kind.NONNEGATIVE, Kind.COUNT):
            return self._number(func, param, expr)
        if kind in (Kind.SEED, Kind.WIDTH, Kind.POSITIVE_OR_INF):
            return self._number(func, param, expr)
        if kind in (Kind.CHOICE, Kind.BOOLEAN):
            return self._choice(func, param, expr)
        if kind in _NAME_KINDS:
            return self._named(func, param, expr)
        if kind is Kind.STRING:
            if not isinstance(expr, ast.String):
                self._wrong(func, param, expr)
                return None
            return expr.value
        return self._special(func, param, expr)

    def _special(self, func: str, param: Parameter, expr: ast.Expr) -> object:
        kind = param.kind
        if kind is Kind.GRID:
            return self.grid(expr)
        if kind is Kind.KERNEL_SHAPE:
            if isinstance(expr, ast.Call) and expr.func in ("gaussian", "ball"):
                return self.call(expr)
            self._wrong(func, param, expr)
            return None
        if kind is Kind.SCORE:
            if isinstance(expr, ast.Name) and expr.id in ("output", "distance"):
                return expr.id
            roles = {name: "a score variable" for name in SCORE_SYMBOLS}
            return expr if self.expressions.arithmetic(expr, roles) else None
        if kind is Kind.ACTIVATION:
            return self._activation(func, param, expr)
        if kind is Kind.INPUT:
            return self.input_value(expr, None)
        raise AssertionError(f"unhandled parameter kind {kind}")

    def _wrong(self, func: str, param: Parameter, expr: ast.Expr) -> None:
        text = self.context.program.text_of(expr.span)
        self.context.error(
            f"invalid `{param.name}` of `{func}`: `{text}`",
            expr.span,
            f"`{param.name}` must be {param.describe()}",
        )

    # Numbers and names

    def _number(self, func: str, param: Parameter, expr: ast.Expr) -> object:
        kind = param.kind
        if isinstance(expr, ast.Name) and expr.id == "inf":
            if kind in (Kind.WIDTH, Kind.POSITIVE_OR_INF):
                return "inf"
            self._wrong(func, param, expr)
            return None
        value = self.expressions.constant(expr)
        if value is None:
            return None
        text = self.context.program.text_of(expr.span)
        rule = _number_rule(kind, value)
        if rule:
            self.context.error(
                f"invalid `{param.name}` of `{func}`: `{text}` {rule}",
                expr.span,
                f"`{param.name}` must be {param.describe()}",
            )
            return None
        if param.name == "samples" and value > self.max_samples:
            self.context.error(
                f"`samples={text}` exceeds the limit of {self.max_samples} samples",
                expr.span,
                "use fewer samples, or raise the limit with --max-samples",
            )
            return None
        return value

    def _choice(self, func: str, param: Parameter, expr: ast.Expr) -> str | None:
        choices = param.choices if param.kind is Kind.CHOICE else ("true", "false")
        if isinstance(expr, ast.Name) and expr.id in choices:
            return expr.id
        text = self.context.program.text_of(expr.span)
        written = expr.id if isinstance(expr, ast.Name) else text
        listed = ", ".join(f"`{choice}`" for choice in choices)
        hint = suggestion(written, choices) or f"use one of {listed}"
        self.context.error(
            f"invalid `{param.name}` of `{func}`: `{text}` is not one of {listed}",
            expr.span,
            hint,
        )
        return None

    def _named(self, func: str, param: Parameter, expr: ast.Expr) -> object:
        kinds = _NAME_KINDS[param.kind]
        is_call = isinstance(expr, ast.Call)
        if param.kind is Kind.OPERATOR and is_call and expr.func in _OPERATOR_CALLS:
            return self.call(expr)
        if param.kind is Kind.POINT and isinstance(expr, ast.PointLit):
            self.point_literal(expr)
            return expr
        if param.kind is Kind.POINT and is_call and expr.func in ("init", "load"):
            return self._point_call(expr)
        if not isinstance(expr, ast.Name):
            self._wrong(func, param, expr)
            return None
        symbol = self.context.lookup(expr.id)
        if symbol is None:
            candidates = self.context.names_of_kind(*kinds)
            self.context.undefined(expr.id, expr.span, candidates)
            return None
        if symbol.kind not in kinds:
            self.context.error(
                f"`{expr.id}` is {symbol.phrase}, but `{param.name}` of `{func}` "
                f"must be {param.describe()}",
                expr.span,
                _kind_hint(self.context, kinds, symbol),
            )
            return None
        return symbol

    def _point_call(self, call: ast.Call) -> Symbol | None:
        """Check an inline `init(net)` or `load(path)`; return it as a symbol."""
        values = self.call(call)
        if values is None:
            return None
        net = values.get("net")
        source = net.name if isinstance(net, Symbol) else "load"
        text = self.context.program.text_of(call.span)
        return Symbol(text, "point", call.span, self.context.program, source=source)

    def _activation(self, func: str, param: Parameter, expr: ast.Expr) -> object:
        if isinstance(expr, ast.Name):
            if expr.id in BUILTINS and BUILTINS[expr.id].arity == 1:
                return expr.id
            symbol = self.context.lookup(expr.id)
            if symbol is not None and symbol.kind == "def" and len(symbol.params) == 1:
                return expr.id
            if symbol is None and expr.id not in BUILTINS:
                candidates = [
                    *(name for name, b in BUILTINS.items() if b.arity == 1),
                    *self.context.names_of_kind("def"),
                ]
                self.context.undefined(expr.id, expr.span, candidates, "activation")
                return None
        self._wrong(func, param, expr)
        return None

    # Grids, inputs, points and nested calls

    def grid(self, expr: ast.Expr) -> int | None:
        """Check a grid value; return its number of points, or None."""
        context = self.context
        if isinstance(expr, ast.Name):
            # A declared grid was checked, against the cap too, where declared.
            self._grid_name(expr)
            return None
        if isinstance(expr, ast.ListLit):
            for item in expr.items:
                self.expressions.constant(item)
            size = len(expr.items)
        elif isinstance(expr, ast.Call) and expr.func == "linspace":
            values = self.call(expr)
            size = values.get("n") if isinstance(values, dict) else None
            if size is None:
                return None
            size = int(size)
        else:
            context.error(
                f"`{context.program.text_of(expr.span)}` is not a grid",
                expr.span,
                "write `linspace(a, b, n)`, a list such as `[0, 0.5, 1]` or a grid name",
            )
            return None
        if size > self.max_grid:
            context.error(
                f"grid of {size} points exceeds the limit of {self.max_grid} points",
                expr.span,
                "use fewer points, or raise the limit with --max-grid",
            )
            return None
        if size == 0:
            context.error("empty grid", expr.span, "give at least one point")
            return None
        return size

    def _grid_name(self, name: ast.Name) -> None:
        symbol = self.context.lookup(name.id)
        if symbol is None:
            grids = self.context.names_of_kind("grid")
            self.context.undefined(name.id, name.span, grids)
        elif symbol.kind != "grid":
            self.context.error(
                f"`{name.id}` is {symbol.phrase}, not a grid",
                name.span,
                _kind_hint(self.context, ("grid",), symbol),
            )

    def input_value(self, expr: ast.Expr, n_inputs: int | None) -> object:
        """Check an input value: a number, or a list of one number per input.

        A model with one input also takes many points at once: a grid name,
        `linspace(...)` or a list of numbers, one per point.
        """
        if n_inputs in (1, None) and self._is_grid_like(expr):
            self.grid(expr)
            return expr
        if isinstance(expr, ast.ListLit):
            for item in expr.items:
                self.expressions.constant(item)
            size = len(expr.items)
        else:
            if self.expressions.constant(expr) is None:
                return None
            size = 1
        if n_inputs is not None and size != n_inputs:
            self.context.error(
                f"`{self.context.program.text_of(expr.span)}` gives {size} input "
                f"value(s), but the model has {n_inputs} input(s)",
                expr.span,
                "give one number per input, as a list when there are several",
            )
            return None
        return expr

    def _is_grid_like(self, expr: ast.Expr) -> bool:
        if isinstance(expr, ast.Call):
            return expr.func == "linspace"
        if isinstance(expr, ast.ListLit):
            return not any(isinstance(item, ast.ListLit) for item in expr.items)
        if isinstance(expr, ast.Name):
            symbol = self.context.lookup(expr.id)
            return symbol is not None and symbol.kind == "grid"
        return False

    def point_literal(self, point: ast.PointLit) -> None:
        """Check that each entry of a point literal is a constant, named once."""
        seen: dict[str, ast.PointEntry] = {}
        for entry in point.entries:
            if entry.name in seen:
                self.context.error(
                    f"point sets `{entry.name}` twice",
                    entry.span,
                    f"the first value is on line {seen[entry.name].span.line}",
                )
            seen.setdefault(entry.name, entry)
            self.expressions.constant(entry.value)

    def call(self, call: ast.Call) -> dict[str, object] | None:
        """Check a nested call of a signature; return its checked argument values."""
        signature = SIGNATURES.get(call.func)
        if signature is None:
            self.context.undefined(call.func, call.func_span, SIGNATURES, "function")
            return None
        bound = self.bind(call, signature)
        values = self.arguments(call, signature, bound)
        path = values.get("path")
        if call.func == "load" and isinstance(path, str) and not path.endswith(".npz"):
            self.context.error(
                f"cannot load `{path}`: only .npz files can be loaded",
                bound["path"].span,
                "save the parameters with numpy.savez and name the .npz file",
            )
        return values


def _number_rule(kind: Kind, value: sympy.Expr) -> str:
    """Return what is wrong with a constant for a numeric kind, or ""."""
    if kind is Kind.POSITIVE or kind is Kind.POSITIVE_OR_INF:
        return "" if value > 0 else "is not positive"
    if kind is Kind.NONNEGATIVE:
        return "" if value >= 0 else "is negative"
    if kind in (Kind.COUNT, Kind.WIDTH, Kind.SEED):
        if not value.is_integer:
            return "is not an integer"
        smallest = 0 if kind is Kind.SEED else 1
        return "" if value >= smallest else f"is less than {smallest}"
    return ""


def _usage(signature: Signature) -> str:
    parts = [param.name for param in signature.positional]
    parts += [f"{param.name}=..." for param in signature.params if not param.positional]
    return f"`{signature.name}({', '.join(parts)})`"


def _kind_hint(context: FileContext, kinds: tuple[str, ...], symbol: Symbol) -> str:
    candidates = context.names_of_kind(*kinds)
    if candidates:
        listed = ", ".join(f"`{name}`" for name in candidates[:5])
        return f"declared names of the right kind: {listed}"
    return f"`{symbol.name}` is declared on {context.where(symbol)}"
