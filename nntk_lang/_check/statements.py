"""Checks of each statement form, and the declarations they add."""

from __future__ import annotations

from typing import Any

from nntk_lang._check.context import FileContext, Symbol, suggestion
from nntk_lang._check.expressions import ExpressionChecker
from nntk_lang._check.requests import RequestChecker
from nntk_lang.errors import Span
from nntk_lang.signatures import OPTIONS, REQUEST_NAMES, SIGNATURES
from nntk_lang.syntax import ast

_OPERATOR_CALLS = ("nonlocal", "smoothing", "attention")


class StatementChecker:
    """Check statements one at a time and declare the names they introduce.

    Args:
        context: the file's shared state.
        max_samples: cap on `samples=`.
        max_grid: cap on the number of grid points.
    """

    def __init__(self, context: FileContext, max_samples: int, max_grid: int) -> None:
        self.context = context
        self.expressions = ExpressionChecker(context)
        self.calls = RequestChecker(context, self.expressions, max_samples, max_grid)

    def statement(self, statement: ast.Statement) -> None:
        """Check one statement (not an import) and declare its name, if any."""
        method = getattr(self, "_" + type(statement).__name__.lower())
        method(statement)

    def _symbol(self, ident: ast.Ident, kind: str, **fields: Any) -> None:
        symbol = Symbol(
            ident.name,
            kind,
            ident.span,
            self.context.program,
            imported=self.context.imported,
            **fields,
        )
        self.context.declare(symbol)

    def _unique(self, idents: tuple[ast.Ident, ...], role: str) -> None:
        seen: dict[str, ast.Ident] = {}
        for ident in idents:
            if ident.name in seen:
                self.context.error(
                    f"{role} `{ident.name}` appears twice",
                    ident.span,
                    f"the first is at column {seen[ident.name].span.column}; "
                    "rename one of them",
                )
            seen.setdefault(ident.name, ident)

    # Declarations

    def _let(self, statement: ast.Let) -> None:
        value = self.expressions.constant(statement.value)
        self._symbol(statement.name, "let", value=value)

    def _def(self, statement: ast.Def) -> None:
        name = statement.name.name
        self._unique(statement.params, "argument")
        roles = {ident.name: f"an argument of `{name}`" for ident in statement.params}
        # A def is built where it is called, so that the caps on inlining apply
        # to each use rather than to every def of a long chain.
        self.expressions.arithmetic(statement.body, roles, defining=name)
        params = tuple(ident.name for ident in statement.params)
        self._symbol(
            statement.name,
            "def",
            params=params,
            body=statement.body,
            environment=dict(self.context.symbols),
        )

    def _target(self, statement: ast.Target) -> None:
        name = statement.name.name
        self._unique(statement.inputs, "input")
        roles = {ident.name: f"an input of `{name}`" for ident in statement.inputs}
        self.expressions.body(statement.body, roles, defining=name)
        inputs = tuple(ident.name for ident in statement.inputs)
        self._symbol(
            statement.name,
            "target",
            inputs=inputs,
            body=statement.body,
            environment=dict(self.context.symbols),
        )

    def _symbolicmodel(self, statement: ast.SymbolicModel) -> None:
        name = statement.name.name
        self._unique(statement.inputs + statement.params, "name")
        if not statement.params:
            self.context.error(
                f"model `{name}` has no parameters",
                statement.name.span,
                f"list parameters after `;`, as in `model {name}(x; w, b) = ...`",
            )
        roles = {ident.name: "an input" for ident in statement.inputs}
        roles.update({ident.name: "a parameter" for ident in statement.params})
        self.expressions.body(statement.body, roles, defining=name)
        self._symbol(
            statement.name,
            "model",
            inputs=tuple(ident.name for ident in statement.inputs),
            params=tuple(ident.name for ident in statement.params),
        )

    def _networkmodel(self, statement: ast.NetworkModel) -> None:
        call = statement.value
        if not self._expect_call(call, ("mlp",), "a network"):
            self._symbol(statement.name, "network", inputs=("x",))
            return
        values = self.calls.call(call) or {}
        n_inputs = values.get("in")
        n_inputs = int(n_inputs) if n_inputs is not None else 1
        inputs = (
            ("x",) if n_inputs == 1 else tuple(f"x{i + 1}" for i in range(n_inputs))
        )
        self._symbol(statement.name, "network", inputs=inputs)

    def _operatordecl(self, statement: ast.OperatorDecl) -> None:
        if self._expect_call(statement.value, _OPERATOR_CALLS, "an operator"):
            self.calls.call(statement.value)
        self._symbol(statement.name, "operator")

    def _pointdecl(self, statement: ast.PointDecl) -> None:
        value = statement.value
        if isinstance(value, ast.PointLit):
            self.calls.point_literal(value)
            self._symbol(statement.name, "point", entries=value.entries)
            return
        source = None
        if self._expect_call(value, ("init", "load"), "a point"):
            values = self.calls.call(value) or {}
            net = values.get("net")
            source = net.name if isinstance(net, Symbol) else "load"
        self._symbol(statement.name, "point", source=source or "load")

    def _griddecl(self, statement: ast.GridDecl) -> None:
        self.calls.grid(statement.value)
        self._symbol(statement.name, "grid")

    def _kerneldecl(self, statement: ast.KernelDecl) -> None:
        model = None
        if self._expect_call(statement.value, ("nntk", "ntk"), "a kernel"):
            model = self.calls.request(statement.value)
        inputs = model.inputs if model is not None else ()
        source = model.name if model is not None else None
        self._symbol(statement.name, "kernel", inputs=inputs, source=source)

    def _expect_call(
        self, call: ast.Call, names: tuple[str, ...], product: str
    ) -> bool:
        if call.func in names:
            return True
        listed = ", ".join(f"`{name}(...)`" for name in names)
        hint = f"use {listed}"
        if call.func not in SIGNATURES:
            hint = suggestion(call.func, names) or hint
        self.context.error(
            f"`{call.func}(...)` does not build {product}", call.func_span, hint
        )
        return False

    # Requests

    def _eval(self, statement: ast.Eval) -> None:
        value = statement.value
        if isinstance(value, ast.Call):
            symbol = self.context.lookup(value.func)
            if value.func == "grad":
                self.calls.request(value)
                return
            if symbol is not None and symbol.kind == "kernel":
                self.calls.kernel_call(value, symbol)
                return
            if value.func in REQUEST_NAMES:
                self.context.error(
                    f"`eval {value.func}(...)` does not name the kernel",
                    value.func_span,
                    f"declare it with `kernel K = {value.func}(...)`, then "
                    "`eval K(x1, x2)`",
                )
                return
        self.expressions.constant(value)

    def _compare(self, statement: ast.Compare) -> None:
        subject = statement.subject
        if isinstance(subject, ast.Call) and subject.func in ("nntk", "ntk", "grad"):
            model = self.calls.request(subject, inputs_from_grid=subject.func == "grad")
        else:
            model = self._subject(subject, ("kernel",), "compare")
        self._one_input(model, subject.span, "compare")
        self.calls.grid(statement.grid)
        self._options("compare", statement)

    def _plot(self, statement: ast.Plot) -> None:
        subject = self._subject(statement.subject, ("kernel", "target"), "plot")
        self._one_input(subject, statement.subject.span, "plot")
        self.calls.grid(statement.grid)
        self._options("plot", statement)

    def _one_input(self, symbol: Symbol | None, span: Span, verb: str) -> None:
        """Report a subject of `compare` or `plot` whose model has several inputs.

        Both statements evaluate the subject on a grid of single numbers.
        """
        if symbol is None or len(symbol.inputs) <= 1:
            return
        self.context.error(
            f"`{verb}` needs a function of one input, but `{symbol.name}` takes "
            f"{len(symbol.inputs)} ({', '.join(symbol.inputs)})",
            span,
            "evaluate it at chosen points instead, as in `eval K([0.1, 0.2], [0.3, 0.4])`",
        )

    def _fit(self, statement: ast.Fit) -> None:
        target = self._subject(statement.target, ("target",), "fit")
        for kernel_name in statement.kernels:
            kernel = self._subject(kernel_name, ("kernel",), "fit")
            if target is None or kernel is None or not kernel.inputs:
                continue
            if len(kernel.inputs) != len(target.inputs):
                self.context.error(
                    f"kernel `{kernel.name}` takes {len(kernel.inputs)} input(s), "
                    f"but target `{target.name}` takes {len(target.inputs)}",
                    kernel_name.span,
                    "fit a target with as many inputs as the kernel's model",
                )
        self.calls.grid(statement.train)
        self.calls.grid(statement.test)
        self._options("fit", statement)

    def _train(self, statement: ast.Train) -> None:
        model = self._subject(statement.model, ("model", "network"), "train")
        target = self._subject(statement.target, ("target",), "train")
        point = self._subject(statement.point, ("point",), "train")
        self._subject(statement.operator, ("operator",), "train")
        if model is not None and point is not None:
            self.calls.point_fits(statement.point, point, model)
        both = model is not None and target is not None
        if both and len(model.inputs) != len(target.inputs):
            self.context.error(
                f"model `{model.name}` takes {len(model.inputs)} input(s), but "
                f"target `{target.name}` takes {len(target.inputs)}",
                statement.target.span,
                "train on a target with as many inputs as the model",
            )
        self._options("train", statement)

    def _subject(
        self, expr: ast.Expr, kinds: tuple[str, ...], verb: str
    ) -> Symbol | None:
        """Check that `expr` names a declared symbol of one of `kinds`."""
        expected = " or ".join(kind for kind in kinds)
        if not isinstance(expr, ast.Name):
            self.context.error(
                f"`{verb}` expects the name of a {expected} here",
                expr.span,
                f"declare the {expected} first and use its name",
            )
            return None
        symbol = self.context.lookup(expr.id)
        if symbol is None:
            self.context.undefined(
                expr.id, expr.span, self.context.names_of_kind(*kinds)
            )
            return None
        if symbol.kind not in kinds:
            self.context.error(
                f"`{expr.id}` is {symbol.phrase}, but `{verb}` expects a {expected} here",
                expr.span,
                _declared(self.context, kinds),
            )
            return None
        return symbol

    def _options(
        self, name: str, statement: ast.Compare | ast.Fit | ast.Train | ast.Plot
    ) -> None:
        if not statement.options:
            return
        start = statement.span
        keyword_span = Span(
            start.file,
            start.line,
            start.column,
            start.line,
            start.column + len(name),
            start.start_pos,
            start.start_pos + len(name),
        )
        call = ast.Call(start, name, keyword_span, (), statement.options)
        signature = OPTIONS[name]
        bound = self.calls.bind(call, signature)
        self.calls.arguments(call, signature, bound)


def _declared(context: FileContext, kinds: tuple[str, ...]) -> str:
    names = context.names_of_kind(*kinds)
    if not names:
        return f"no {' or '.join(kinds)} is declared yet"
    return "declared: " + ", ".join(f"`{name}`" for name in names[:5])
