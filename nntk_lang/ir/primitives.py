"""The builtin functions of the language as sympy expressions.

Each builtin has one documented value at every kink and jump, and both backends
follow it:

- sign(0) = 0 and step(0) = 0 (step(t) = 1 for t > 0, else 0);
- relu(t) = max(t, 0), with the classical derivative relu'(0) = step(0) = 0,
  which is also what torch's autograd uses;
- round(t) = floor(t + 1/2), so halves round up (not to even);
- derivatives of sign, step, floor, ceil and round are 0 away from their jumps,
  and the classical NTK uses 0 at the jumps too.

`sign`, `Abs`, `floor`, `ceiling`, `Min`, `Max` and `Piecewise` are sympy's own.
`Step` and `Relu` are defined here because sympy's `Heaviside` differentiates to a
Dirac delta and `Max(0, t)` reorders its arguments.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import sympy
from sympy.core.function import Function


class Step(Function):
    """step(t): 1 for t > 0, else 0."""

    nargs = 1

    @classmethod
    def eval(cls, t):
        if t.is_extended_positive:
            return sympy.S.One
        if t.is_extended_nonpositive:
            return sympy.S.Zero
        return None

    def fdiff(self, argindex=1):
        # Zero away from the jump; the classical NTK also takes 0 at the jump.
        return sympy.S.Zero

    def _eval_is_real(self):
        return True

    def _eval_is_nonnegative(self):
        return True

    def _sympystr(self, printer):
        return f"step({printer._print(self.args[0])})"

    def _latex(self, printer):
        return rf"\operatorname{{step}}\left({printer._print(self.args[0])}\right)"


class Relu(Function):
    """relu(t) = max(t, 0)."""

    nargs = 1

    @classmethod
    def eval(cls, t):
        if t.is_extended_nonnegative:
            return t
        if t.is_extended_nonpositive:
            return sympy.S.Zero
        return None

    def fdiff(self, argindex=1):
        return Step(self.args[0])

    def _eval_is_real(self):
        return self.args[0].is_real

    def _eval_is_nonnegative(self):
        return True

    def _sympystr(self, printer):
        return f"relu({printer._print(self.args[0])})"

    def _latex(self, printer):
        return rf"\operatorname{{relu}}\left({printer._print(self.args[0])}\right)"


@dataclass(frozen=True)
class Builtin:
    """A builtin function: its arity and how it builds a sympy expression."""

    name: str
    arity: int
    build: Callable[..., sympy.Expr]
    doc: str


def _round(t: sympy.Expr) -> sympy.Expr:
    return sympy.floor(t + sympy.Rational(1, 2))


def _clip(t: sympy.Expr, low: sympy.Expr, high: sympy.Expr) -> sympy.Expr:
    return sympy.Min(sympy.Max(t, low), high)


def _where(condition, if_true: sympy.Expr, if_false: sympy.Expr) -> sympy.Expr:
    return sympy.Piecewise((if_true, condition), (if_false, True))


BUILTINS: dict[str, Builtin] = {
    builtin.name: builtin
    for builtin in [
        Builtin("sign", 1, sympy.sign, "sign(t): -1, 0 or 1; sign(0) = 0"),
        Builtin("step", 1, Step, "step(t): 1 for t > 0, else 0; step(0) = 0"),
        Builtin("relu", 1, Relu, "relu(t) = max(t, 0); relu'(0) = 0"),
        Builtin("abs", 1, sympy.Abs, "abs(t) = |t|"),
        Builtin("floor", 1, sympy.floor, "floor(t): largest integer <= t"),
        Builtin("ceil", 1, sympy.ceiling, "ceil(t): smallest integer >= t"),
        Builtin("round", 1, _round, "round(t) = floor(t + 1/2); halves round up"),
        Builtin("min", 2, sympy.Min, "min(a, b)"),
        Builtin("max", 2, sympy.Max, "max(a, b)"),
        Builtin("clip", 3, _clip, "clip(t, low, high) = min(max(t, low), high)"),
        Builtin("where", 3, _where, "where(cond, a, b): a where cond holds, else b"),
        Builtin("exp", 1, sympy.exp, "exp(t)"),
        Builtin("log", 1, sympy.log, "log(t), natural logarithm"),
        Builtin("sqrt", 1, sympy.sqrt, "sqrt(t)"),
        Builtin("sin", 1, sympy.sin, "sin(t)"),
        Builtin("cos", 1, sympy.cos, "cos(t)"),
        Builtin("tanh", 1, sympy.tanh, "tanh(t)"),
        Builtin("erf", 1, sympy.erf, "erf(t)"),
    ]
}

CONSTANTS: dict[str, sympy.Expr] = {"pi": sympy.pi, "e": sympy.E}
