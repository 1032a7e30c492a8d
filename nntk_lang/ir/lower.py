"""Lower checked syntax to IR: sympy expressions, operators, points and grids.

The runtime fills a `Scope` statement by statement, with `declare` for the
statements whose meaning is fixed by their text and `bind` for values it builds
itself (kernels, networks, points from `init`). Expressions become exact sympy
expressions: integer and decimal literals become Rationals read from their text,
`let` names their exact values, and calls of `def`s and targets are inlined.

The checker uses `ExpressionBuilder` too, to evaluate constant arguments.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import sympy

from nntk_lang.errors import NntkError, ResourceLimitError, Span
from nntk_lang.ir.operators import Attention, Nonlocal, Operator, Smoothing
from nntk_lang.ir.primitives import BUILTINS, CONSTANTS
from nntk_lang.ir.symbolic import SymbolicModelIR, TargetIR, real_symbol
from nntk_lang.signatures import SIGNATURES, Kind, Signature
from nntk_lang.syntax import ast

MAX_EXPRESSION_NODES = 100_000
"""Cap on syntax nodes visited while building one expression, inlined defs included."""

MAX_EXACT_POWER_BITS = 100_000
"""Cap on the size of an exact power of two numbers, such as 10^10^10."""

SCORE_SYMBOLS = {"df": real_symbol("df"), "dist": real_symbol("dist")}
"""Symbols an attention score expression may use: f(θ+z) − f(θ) and ‖z‖."""


class LoweringError(NntkError):
    """A syntax tree that the checker should have rejected reached lowering."""


@dataclass(frozen=True)
class FunctionDef:
    """A `def` or target as the builder inlines it.

    Attributes:
        params: parameter names.
        body: the expression to inline.
        constant, function: name lookups as they were where the function was
            declared, so that a later declaration that shadows a name it uses
            does not change it. None means the builder's own lookups.
    """

    params: tuple[str, ...]
    body: ast.Expr
    constant: Callable[[str], sympy.Expr | None] | None = None
    function: Callable[[str], FunctionDef | None] | None = None


_COMPARISONS = {
    "<": sympy.Lt,
    "<=": sympy.Le,
    ">": sympy.Gt,
    ">=": sympy.Ge,
    "==": sympy.Eq,
    "!=": sympy.Ne,
}


def literal_value(number: ast.Number) -> sympy.Rational:
    """Return the exact value of a numeric literal, read from its text."""
    try:
        return sympy.Rational(number.text)
    except (TypeError, ValueError) as error:
        # Python limits integer conversions to 4300 digits by default.
        raise LoweringError(f"cannot read number `{number.text[:20]}...`") from error


def _check_power(base: sympy.Expr, exponent: sympy.Expr) -> None:
    # An exact power of two numbers can need gigabytes, as 10^10^10 does. So can
    # 1.0000001^10^12, because its numerator and denominator both grow. Estimate
    # the size in bits before sympy computes it.
    if not (base.is_number and exponent.is_number) or base in (0, 1, -1):
        return
    if base.is_Rational:
        bits_per_power = math.log2(abs(base.p)) + math.log2(base.q)
    else:
        # Irrational bases such as sqrt(3) may evaluate to exact integer powers.
        bits_per_power = 1 + abs(math.log2(abs(complex(base.evalf()))))
    bits = abs(complex(exponent.evalf())) * bits_per_power
    if bits > MAX_EXACT_POWER_BITS:
        raise ResourceLimitError(
            f"`{base}^{exponent}` is too large to compute exactly "
            f"(about {bits:.3g} bits, limit {MAX_EXACT_POWER_BITS})"
        )


class ExpressionBuilder:
    """Build sympy expressions from syntax trees.

    Args:
        constant: the exact value of a global name (a `let`), or None.
        function: the definition of a callable name (a `def` or target), or None.
        max_nodes: cap on syntax nodes visited per `build`, inlined bodies included.
    """

    def __init__(
        self,
        constant: Callable[[str], sympy.Expr | None],
        function: Callable[[str], FunctionDef | None],
        max_nodes: int = MAX_EXPRESSION_NODES,
    ) -> None:
        self._constant = constant
        self._function = function
        self._max_nodes = max_nodes
        self._nodes = 0

    def build(self, expr: ast.Expr, env: Mapping[str, sympy.Expr]) -> sympy.Expr:
        """Return `expr` as sympy, with `env` giving the values of local names.

        Raises:
            ResourceLimitError: inlining or exact arithmetic exceeds a cap.
            LoweringError: the tree contains a name or form that is not an
                expression.
        """
        self._nodes = 0
        try:
            return self._build(expr, env)
        except RecursionError:
            # Each def inlined inside another nests its body one level deeper.
            raise ResourceLimitError(
                "expression nests too deeply when its defs are inlined"
            ) from None

    def _build(self, expr: ast.Expr, env: Mapping[str, sympy.Expr]) -> sympy.Expr:
        self._nodes += 1
        if self._nodes > self._max_nodes:
            raise ResourceLimitError(
                f"expression grows beyond {self._max_nodes} nodes when its defs "
                "are inlined"
            )
        if isinstance(expr, ast.Number):
            return literal_value(expr)
        if isinstance(expr, ast.Name):
            return self._name(expr.id, env)
        if isinstance(expr, ast.UnaryOp):
            operand = self._build(expr.operand, env)
            return -operand if expr.op == "-" else operand
        if isinstance(expr, ast.BinOp):
            return self._binary(expr, env)
        if isinstance(expr, ast.Comparison):
            left = self._build(expr.left, env)
            right = self._build(expr.right, env)
            try:
                return _COMPARISONS[expr.op](left, right)
            except TypeError as error:
                # sympy rejects comparisons of non-real values such as sqrt(-1).
                raise LoweringError(f"invalid comparison: {error}") from None
        if isinstance(expr, ast.Call):
            return self._call(expr, env)
        raise LoweringError(f"{type(expr).__name__} at {expr.span} is not a number")

    def _name(self, name: str, env: Mapping[str, sympy.Expr]) -> sympy.Expr:
        if name in env:
            return env[name]
        value = self._constant(name)
        if value is not None:
            return value
        if name in CONSTANTS:
            return CONSTANTS[name]
        raise LoweringError(f"`{name}` is not defined")

    def _binary(self, expr: ast.BinOp, env: Mapping[str, sympy.Expr]) -> sympy.Expr:
        left = self._build(expr.left, env)
        right = self._build(expr.right, env)
        if expr.op == "+":
            return left + right
        if expr.op == "-":
            return left - right
        if expr.op == "*":
            return left * right
        if expr.op == "/":
            return left / right
        _check_power(left, right)
        return left**right

    def _call(self, call: ast.Call, env: Mapping[str, sympy.Expr]) -> sympy.Expr:
        args = [self._build(arg, env) for arg in call.args]
        builtin = BUILTINS.get(call.func)
        if builtin is not None:
            return builtin.build(*args)
        definition = self._function(call.func)
        if definition is None:
            raise LoweringError(f"`{call.func}` is not a function")
        # The body is built with its own parameters only, never the caller's
        # locals, and with the global names visible where it was declared.
        outer = (self._constant, self._function)
        self._constant = definition.constant or self._constant
        self._function = definition.function or self._function
        try:
            return self._build(definition.body, dict(zip(definition.params, args)))
        finally:
            self._constant, self._function = outer


def _choice(expr: ast.Expr) -> str:
    if isinstance(expr, ast.Name):
        return expr.id
    if isinstance(expr, ast.String):
        return expr.value
    raise LoweringError(f"expected a name at {expr.span}")


def bind_arguments(call: ast.Call, signature: Signature) -> dict[str, ast.Expr]:
    """Map a checked call's arguments to parameter names (defaults not included)."""
    bound = {param.name: arg for param, arg in zip(signature.positional, call.args)}
    bound.update({keyword.name: keyword.value for keyword in call.kwargs})
    return bound


class Scope:
    """The values of declared names, filled by the runtime in statement order."""

    def __init__(self) -> None:
        self._values: dict[str, object] = {}
        self._lets: dict[str, sympy.Expr] = {}
        self._functions: dict[str, FunctionDef] = {}
        self._builder = ExpressionBuilder(self._lets.get, self._functions.get)

    # Filling the scope

    def declare(self, statement: ast.Statement) -> None:
        """Lower a declaration whose value its text fixes and store it.

        Raises:
            TypeError: the statement is a request, an import or a declaration
                whose value the runtime builds (`model = mlp(...)`, `kernel`,
                `point = init(...)`); use `bind` for those.
        """
        if isinstance(statement, ast.Let):
            value = self._builder.build(statement.value, {})
            self._lets[statement.name.name] = value
            self._values[statement.name.name] = value
        elif isinstance(statement, ast.Def):
            self._declare_function(
                statement.name.name, statement.params, statement.body
            )
        elif isinstance(statement, ast.Target):
            self._declare_function(
                statement.name.name, statement.inputs, statement.body
            )
            self._values[statement.name.name] = self._target_ir(statement)
        elif isinstance(statement, ast.SymbolicModel):
            self._values[statement.name.name] = self._model_ir(statement)
        elif isinstance(statement, ast.OperatorDecl):
            self._values[statement.name.name] = self.operator_value(statement.value)
        elif isinstance(statement, ast.PointDecl) and isinstance(
            statement.value, ast.PointLit
        ):
            self._values[statement.name.name] = self.point_value(statement.value)
        elif isinstance(statement, ast.GridDecl):
            self._values[statement.name.name] = self.grid_value(statement.value)
        else:
            raise TypeError(
                f"{type(statement).__name__} at {statement.span} has no value that "
                "its text fixes; build it in the runtime and call Scope.bind"
            )

    def bind_let(self, name: str, value: float) -> None:
        """Store a number the session sets itself (such as `ans`) as a `let`."""
        exact = sympy.Float(value, 17)
        self._lets[name] = exact
        self._values[name] = exact

    def bind(self, name: str, value: object) -> None:
        """Store a value the runtime built (a kernel, network or initial point)."""
        self._values[name] = value

    def forget(self, name: str) -> None:
        """Remove a name the session set itself (such as `ans`); absent names are fine."""
        self._values.pop(name, None)
        self._lets.pop(name, None)

    def _declare_function(
        self, name: str, params: tuple[ast.Ident, ...], body: ast.Expr
    ) -> None:
        names = tuple(param.name for param in params)
        lets, functions = dict(self._lets), dict(self._functions)
        self._functions[name] = FunctionDef(names, body, lets.get, functions.get)
        self._values[name] = self._functions[name]

    def _target_ir(self, target: ast.Target) -> TargetIR:
        inputs = tuple(real_symbol(ident.name) for ident in target.inputs)
        expr = self.expression(target.body, {s.name: s for s in inputs})
        return TargetIR(target.name.name, inputs, expr)

    def _model_ir(self, model: ast.SymbolicModel) -> SymbolicModelIR:
        inputs = tuple(real_symbol(ident.name) for ident in model.inputs)
        params = tuple(real_symbol(ident.name) for ident in model.params)
        symbols = {symbol.name: symbol for symbol in (*inputs, *params)}
        expr = self.expression(model.body, symbols)
        return SymbolicModelIR(model.name.name, inputs, params, expr)

    # Lookups

    def __contains__(self, name: str) -> bool:
        return name in self._values

    def get(self, name: str) -> object:
        """Return the value of `name`; raise KeyError if it has none yet."""
        try:
            return self._values[name]
        except KeyError:
            raise KeyError(f"`{name}` has no value in this scope") from None

    def _typed(
        self, name: str, expected: type | tuple[type, ...], description: str
    ) -> Any:
        value = self.get(name)
        if not isinstance(value, expected):
            raise TypeError(f"`{name}` is not {description}: {type(value).__name__}")
        return value

    def model(self, name: str) -> SymbolicModelIR:
        """Return the symbolic model `name`."""
        return self._typed(name, SymbolicModelIR, "a symbolic model")

    def target(self, name: str) -> TargetIR:
        """Return the target `name`."""
        return self._typed(name, TargetIR, "a target")

    def operator(self, name: str) -> Operator:
        """Return the operator `name`."""
        return self._typed(name, (Nonlocal, Smoothing, Attention), "an operator")

    def point(self, name: str) -> dict[str, float]:
        """Return the point `name` as parameter name to value."""
        return self._typed(name, dict, "a point of named parameters")

    def grid(self, name: str) -> np.ndarray:
        """Return the grid `name` as a float64 array."""
        return self._typed(name, np.ndarray, "a grid")

    # Values of request arguments

    def expression(
        self, expr: ast.Expr, symbols: Mapping[str, sympy.Expr] | None = None
    ) -> sympy.Expr:
        """Return `expr` as an exact sympy expression; `symbols` binds local names."""
        return self._builder.build(expr, dict(symbols or {}))

    def number(self, expr: ast.Expr) -> float:
        """Return the value of a constant expression; the name `inf` gives inf."""
        if isinstance(expr, ast.Name) and expr.id == "inf":
            return math.inf
        value = self.expression(expr)
        if not value.is_number:
            raise LoweringError(f"`{value}` at {expr.span} is not a constant")
        return float(value)

    def choice(self, expr: ast.Expr) -> str:
        """Return the name written for a choice or boolean argument."""
        return _choice(expr)

    def grid_value(self, expr: ast.Expr) -> np.ndarray:
        """Return the points of `linspace(a, b, n)`, a list or a grid name."""
        if isinstance(expr, ast.Name):
            return self.grid(expr.id)
        if isinstance(expr, ast.ListLit):
            return np.array([self.number(item) for item in expr.items], dtype=float)
        if isinstance(expr, ast.Call) and expr.func == "linspace":
            bound = bind_arguments(expr, SIGNATURES["linspace"])
            start, stop = self.number(bound["a"]), self.number(bound["b"])
            return np.linspace(start, stop, int(self.number(bound["n"])))
        raise LoweringError(f"{type(expr).__name__} at {expr.span} is not a grid")

    def activation(self, name: str) -> sympy.Lambda:
        """Return a one-argument builtin or def, such as `act=` names, as a Lambda."""
        argument = real_symbol("t")
        if name in BUILTINS:
            return sympy.Lambda(argument, BUILTINS[name].build(argument))
        definition = self._functions.get(name)
        if definition is None or len(definition.params) != 1:
            raise LoweringError(f"`{name}` is not a one-argument builtin or def")
        body = self._builder.build(definition.body, {definition.params[0]: argument})
        return sympy.Lambda(argument, body)

    def point_value(self, point: ast.PointLit) -> dict[str, float]:
        """Return a point literal as parameter name to value."""
        return {entry.name: self.number(entry.value) for entry in point.entries}

    def operator_value(self, call: ast.Call) -> Operator:
        """Return the operator that `nonlocal`, `smoothing` or `attention` builds."""
        if call.func not in ("nonlocal", "smoothing", "attention"):
            raise LoweringError(f"`{call.func}` at {call.span} is not an operator")
        options = self.arguments(call, SIGNATURES[call.func])
        if call.func == "smoothing":
            return Smoothing(sigma=options["sigma"], blocks=options["blocks"])
        kind, scale = options["kernel"]
        if call.func == "nonlocal":
            return Nonlocal(kind, scale, options["normalize"], options["blocks"])
        return Attention(Nonlocal(kind, scale), options["score"], options["tau"])

    # Arguments of requests and statement options

    def arguments(self, call: ast.Call, signature: Signature) -> dict[str, object]:
        """Return every argument of a checked call, defaults included.

        Numbers become floats (`inf` becomes math.inf), counts and seeds ints,
        choices their name and booleans bools. A model, operator or point name
        becomes its value in this scope, and an inline operator or point literal
        its lowered value. An inline `init(...)` or `load(...)` stays an
        `ast.Call`, because the runtime builds it. Keywords outside the
        signature, such as the inputs of `grad`, become input values.
        """
        values = signature.defaults()
        for name, expr in bind_arguments(call, signature).items():
            param = signature.parameter(name)
            if param is None:
                values[name] = self._input_value(expr)
            else:
                values[name] = self._argument_value(param.kind, expr)
        return values

    def options(
        self, keywords: tuple[ast.Keyword, ...], signature: Signature
    ) -> dict[str, object]:
        """Return the options of a statement (`with k=v, ...`), defaults included."""
        span = keywords[0].span if keywords else Span(signature.name, 1, 1, 1, 1)
        call = ast.Call(span, signature.name, span, (), keywords)
        return self.arguments(call, signature)

    def _argument_value(self, kind: Kind, expr: ast.Expr) -> object:
        if kind in (Kind.CHOICE, Kind.STRING, Kind.ACTIVATION):
            return _choice(expr)
        if kind is Kind.BOOLEAN:
            return _choice(expr) == "true"
        if kind in (Kind.COUNT, Kind.SEED):
            return int(self.number(expr))
        if kind is Kind.WIDTH:
            width = self.number(expr)
            return width if math.isinf(width) else int(width)
        if kind is Kind.INPUT:
            return self._input_value(expr)
        if kind is Kind.GRID:
            return self.grid_value(expr)
        if kind is Kind.KERNEL_SHAPE:
            return self._kernel_shape(expr)
        if kind is Kind.SCORE:
            if isinstance(expr, ast.Name) and expr.id in ("output", "distance"):
                return expr.id
            return self.expression(expr, SCORE_SYMBOLS)
        if kind in (Kind.MODEL, Kind.NETWORK, Kind.OPERATOR, Kind.POINT):
            return self._named_value(expr)
        return self.number(expr)

    def _named_value(self, expr: ast.Expr) -> object:
        if isinstance(expr, ast.Name):
            return self.get(expr.id)
        if isinstance(expr, ast.PointLit):
            return self.point_value(expr)
        if isinstance(expr, ast.Call) and expr.func in ("init", "load"):
            return expr
        if isinstance(expr, ast.Call):
            return self.operator_value(expr)
        raise LoweringError(f"{type(expr).__name__} at {expr.span} is not a name")

    def _input_value(self, expr: ast.Expr) -> float | tuple[float, ...]:
        if isinstance(expr, ast.ListLit):
            return tuple(self.number(item) for item in expr.items)
        return self.number(expr)

    def _kernel_shape(self, expr: ast.Expr) -> tuple[str, float]:
        if not (isinstance(expr, ast.Call) and expr.func in ("gaussian", "ball")):
            raise LoweringError(f"expected gaussian(...) or ball(...) at {expr.span}")
        bound = bind_arguments(expr, SIGNATURES[expr.func])
        scale = bound["gamma" if expr.func == "gaussian" else "delta"]
        return expr.func, self.number(scale)
