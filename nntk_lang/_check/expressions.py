"""Checks of arithmetic expressions and evaluation of constant arguments."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from functools import partial

import sympy

from nntk_lang._check.context import FileContext, Symbol
from nntk_lang.errors import ResourceLimitError
from nntk_lang.ir.lower import ExpressionBuilder, FunctionDef, LoweringError
from nntk_lang.ir.primitives import BUILTINS, CONSTANTS
from nntk_lang.ir.symbolic import real_symbol
from nntk_lang.signatures import REQUEST_NAMES, SIGNATURES
from nntk_lang.syntax import ast

_FUNCTION_KINDS = ("def", "target")
MAX_LITERAL_LENGTH = 100


class _Unevaluated(Exception):
    """A `let` whose own value had an error; its users report nothing more."""


class ExpressionChecker:
    """Check arithmetic expressions and evaluate constant ones with sympy."""

    def __init__(self, context: FileContext) -> None:
        self.context = context
        self.builder = ExpressionBuilder(self._let_value, self._function)

    def _let_value(self, name: str) -> sympy.Expr | None:
        return _let_in(self.context.symbols, name)

    def _function(self, name: str) -> FunctionDef | None:
        return _function_in(self.context.symbols, name)

    # Arithmetic

    def arithmetic(
        self,
        expr: ast.Expr,
        local: Mapping[str, str] | None = None,
        defining: str | None = None,
    ) -> bool:
        """Check an arithmetic expression; return whether it had no errors.

        Args:
            expr: the expression.
            local: names of inputs, parameters or arguments, mapped to their role
                ("an input", "a parameter", ...).
            defining: the def or target whose body this is, to catch recursion.
        """
        before = len(self.context.errors)
        self._walk(expr, local or {}, defining, comparison_allowed=False)
        return len(self.context.errors) == before

    def _walk(
        self,
        expr: ast.Expr,
        local: Mapping[str, str],
        defining: str | None,
        comparison_allowed: bool,
    ) -> None:
        context = self.context
        if isinstance(expr, ast.Number):
            self._number(expr)
        elif isinstance(expr, ast.Name):
            self._name(expr, local)
        elif isinstance(expr, ast.UnaryOp):
            self._walk(expr.operand, local, defining, False)
        elif isinstance(expr, (ast.BinOp, ast.Comparison)):
            if isinstance(expr, ast.Comparison) and not comparison_allowed:
                context.error(
                    f"comparison `{context.program.text_of(expr.span)}` outside "
                    "where()",
                    expr.span,
                    "comparisons are allowed only as the first argument of "
                    "where(cond, a, b)",
                )
            self._walk(expr.left, local, defining, False)
            self._walk(expr.right, local, defining, False)
        elif isinstance(expr, ast.Call):
            self._call(expr, local, defining)
        elif isinstance(expr, ast.String):
            context.error(
                f"unexpected string `{context.program.text_of(expr.span)}` in an "
                "arithmetic expression",
                expr.span,
                'strings are only file paths, as in `import "lib.nntk"`',
            )
        elif isinstance(expr, ast.ListLit):
            context.error(
                "a list is not a number",
                expr.span,
                "lists are grids or multi-input values, as in `compare K on [0, 1]`",
            )
        elif isinstance(expr, ast.PointLit):
            context.error(
                "a point literal is not a number",
                expr.span,
                "declare it with `point p = {...}` and pass it as `at=p`",
            )

    def _number(self, number: ast.Number) -> None:
        mantissa = re.split("[eE]", number.text)[0]
        if len(number.text) > MAX_LITERAL_LENGTH:
            self.context.error(
                f"number `{number.text[:20]}...` has more than {MAX_LITERAL_LENGTH} "
                "characters",
                number.span,
                "a 64-bit float keeps about 17 significant digits; shorten it",
            )
        elif not math.isfinite(number.value):
            self.context.error(
                f"number `{number.text}` is too large",
                number.span,
                "numbers must fit a 64-bit float (at most about 1.8e308)",
            )
        elif number.value == 0 and mantissa.strip("0.") != "":
            self.context.error(
                f"number `{number.text}` is too small and rounds to 0",
                number.span,
                "numbers must fit a 64-bit float (at least about 5e-324)",
            )

    def _name(self, name: ast.Name, local: Mapping[str, str]) -> None:
        context = self.context
        if name.id in local or name.id in CONSTANTS:
            return
        symbol = context.lookup(name.id)
        if symbol is not None:
            if symbol.kind != "let":
                context.error(
                    f"`{name.id}` is {symbol.phrase}, not a number",
                    name.span,
                    _misuse_hint(symbol.kind, name.id),
                )
            return
        if name.id == "inf":
            context.error(
                "`inf` is not a number in arithmetic",
                name.span,
                "`inf` is allowed only as the value of `width=` or `time=`",
            )
        elif name.id in BUILTINS or name.id in SIGNATURES:
            context.error(
                f"`{name.id}` is a function, not a number",
                name.span,
                f"call it: `{name.id}(...)`",
            )
        else:
            candidates = [*local, *context.names_of_kind("let"), *CONSTANTS]
            context.undefined(name.id, name.span, candidates)

    def _call(
        self, call: ast.Call, local: Mapping[str, str], defining: str | None
    ) -> None:
        for index, arg in enumerate(call.args):
            allowed = call.func == "where" and index == 0
            self._walk(arg, local, defining, comparison_allowed=allowed)
        if call.func == "where" and call.args:
            self._where_condition(call.args[0])
        for keyword in call.kwargs:
            self._walk(keyword.value, local, defining, False)
        arity = self._callee_arity(call, local, defining)
        if arity is None:
            return
        if call.kwargs:
            self.context.error(
                f"`{call.func}` takes no keyword arguments",
                call.kwargs[0].span,
                f"pass its {arity} argument(s) by position",
            )
        elif len(call.args) != arity:
            self.context.error(
                f"`{call.func}` takes {arity} argument(s), got {len(call.args)}",
                call.func_span,
                f"call it as `{call.func}({_placeholders(call.func, arity)})`",
            )

    def _where_condition(self, condition: ast.Expr) -> None:
        if not isinstance(condition, ast.Comparison):
            self.context.error(
                "the first argument of where() must be a comparison, got "
                f"`{self.context.program.text_of(condition.span)}`",
                condition.span,
                "write a condition such as `x < 0` or `t == 1`",
            )

    def _callee_arity(
        self, call: ast.Call, local: Mapping[str, str], defining: str | None
    ) -> int | None:
        """Return the arity of an arithmetic callee; report an error and return None
        if the name cannot be called here."""
        context = self.context
        name = call.func
        if name in local:
            context.error(
                f"`{name}` is {local[name]}, not a function",
                call.func_span,
                "only builtins, defs and targets can be called here",
            )
            return None
        if name in BUILTINS:
            return BUILTINS[name].arity
        if name == defining:
            context.error(
                f"`{name}` calls itself",
                call.func_span,
                "a def may call only builtins and earlier defs; recursion is "
                "not allowed",
            )
            return None
        symbol = context.lookup(name)
        if symbol is not None and symbol.kind in _FUNCTION_KINDS:
            return len(symbol.params or symbol.inputs)
        if (symbol is not None and symbol.kind == "kernel") or name in REQUEST_NAMES:
            context.error(
                f"request `{name}(...)` inside an arithmetic expression",
                call.func_span,
                "a request must be the whole expression of `eval`, as in "
                f"`eval {name}(...)`",
            )
        elif symbol is not None:
            context.error(
                f"`{name}` is {symbol.phrase}, not a function",
                call.func_span,
                "only builtins, defs and targets can be called",
            )
        elif name in SIGNATURES:
            context.error(
                f"`{name}(...)` builds a {SIGNATURES[name].returns}, not a number",
                call.func_span,
                "use it where a statement or argument expects a "
                f"{SIGNATURES[name].returns}",
            )
        else:
            functions = [*BUILTINS, *context.names_of_kind(*_FUNCTION_KINDS)]
            context.undefined(name, call.func_span, functions, noun="function")
        return None

    def body(
        self,
        expr: ast.Expr,
        local: Mapping[str, str],
        defining: str,
    ) -> None:
        """Check the body of a def, target or model, then build it symbolically.

        Building catches what only appears once defs are inlined: exact powers
        or expressions beyond the caps, and division by zero (sympy's `zoo`).
        """
        if not self.arithmetic(expr, local, defining):
            return
        symbols = {name: real_symbol(name) for name in local}
        try:
            value = self.builder.build(expr, symbols)
        except _Unevaluated:
            return
        except (ResourceLimitError, LoweringError) as error:
            self.context.error(str(error), expr.span, _hint_for(error))
            return
        if value.has(sympy.zoo, sympy.nan, sympy.oo, -sympy.oo):
            self.context.error(
                f"`{self.context.program.text_of(expr.span)}` is undefined or "
                f"infinite (it evaluates to `{value}`)",
                expr.span,
                "check for division by zero and log of zero",
            )

    # Constants

    def constant(self, expr: ast.Expr) -> sympy.Expr | None:
        """Check and evaluate a constant expression; None if it has an error."""
        if not self.arithmetic(expr):
            return None
        try:
            value = self.builder.build(expr, {})
        except _Unevaluated:
            return None
        except (ResourceLimitError, LoweringError) as error:
            self.context.error(str(error), expr.span, _hint_for(error))
            return None
        if not _is_finite_real(value):
            self.context.error(
                f"`{self.context.program.text_of(expr.span)}` is not a finite real "
                f"number (it evaluates to `{value}`)",
                expr.span,
                "check for division by zero, log of zero or roots of negatives",
            )
            return None
        return value


def _let_in(symbols: Mapping[str, Symbol], name: str) -> sympy.Expr | None:
    symbol = symbols.get(name)
    if symbol is None or symbol.kind != "let":
        return None
    if symbol.value is None:
        raise _Unevaluated(name)
    return symbol.value


def _function_in(symbols: Mapping[str, Symbol], name: str) -> FunctionDef | None:
    symbol = symbols.get(name)
    if symbol is None or symbol.kind not in _FUNCTION_KINDS:
        return None
    # Inline with the symbols visible where the function was declared.
    environment = symbol.environment if symbol.environment is not None else symbols
    return FunctionDef(
        symbol.params or symbol.inputs,
        symbol.body,
        partial(_let_in, environment),
        partial(_function_in, environment),
    )


def _hint_for(error: Exception) -> str:
    if isinstance(error, ResourceLimitError):
        return "simplify the expression"
    return "compare real numbers only"


def _is_finite_real(value: sympy.Expr) -> bool:
    if not value.is_number:
        return False
    number = value.evalf()
    return bool(number.is_real) and bool(number.is_finite)


def _placeholders(name: str, arity: int) -> str:
    return ", ".join(["..."] * arity) if arity else ""


def _misuse_hint(kind: str, name: str) -> str:
    hints = {
        "def": f"call it: `{name}(...)`",
        "target": f"call it: `{name}(...)`",
        "kernel": f"evaluate it with `eval {name}(x1, x2)`",
        "grid": "grids are used by `compare`, `plot` and `fit`",
        "point": "points are passed as `at=` of a request",
    }
    return hints.get(kind, "only constants declared with `let` are numbers")
