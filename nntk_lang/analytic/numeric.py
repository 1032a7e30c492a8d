"""Evaluate closed forms on numpy arrays by walking the sympy tree.

No code is generated or executed: each node maps to a numpy or scipy.special
call. Elementary functions run in the requested dtype; the special functions of
`special` compute in float64 and the result is cast to the requested dtype.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import scipy.special as sc
import sympy

from nntk_lang.analytic.special import is_special
from nntk_lang.ir.primitives import Relu, Step

Array = np.ndarray


def _sign(a: Array) -> Array:
    return np.sign(a)


def _step(a: Array) -> Array:
    return np.where(a > 0, 1.0, 0.0).astype(a.dtype)


def _heaviside(a: Array) -> Array:
    return np.heaviside(a, 0.5).astype(a.dtype)


_UNARY: dict[type, Callable[[Array], Array]] = {
    sympy.exp: np.exp,
    sympy.log: np.log,
    sympy.sin: np.sin,
    sympy.cos: np.cos,
    sympy.tan: np.tan,
    sympy.tanh: np.tanh,
    sympy.asin: np.arcsin,
    sympy.acos: np.arccos,
    sympy.erf: sc.erf,
    sympy.erfc: sc.erfc,
    sympy.Abs: np.abs,
    sympy.sign: _sign,
    sympy.floor: np.floor,
    sympy.ceiling: np.ceil,
    Step: _step,
    Relu: lambda a: np.maximum(a, 0),
    sympy.Heaviside: _heaviside,
    sympy.DiracDelta: lambda a: np.where(a == 0, np.inf, 0.0).astype(a.dtype),
}


class Evaluator:
    """Evaluates sympy expressions with symbols bound to arrays.

    Args:
        values: the array (or scalar) of each free symbol.
        dtype: the floating dtype of the result, float64 or float32.
    """

    def __init__(self, values: dict[sympy.Symbol, Array | float], dtype=np.float64):
        self.dtype = np.dtype(dtype)
        self.values = {k: np.asarray(v, dtype=self.dtype) for k, v in values.items()}
        self._memo: dict[sympy.Basic, Array] = {}

    def __call__(self, expr: sympy.Basic) -> Array:
        cached = self._memo.get(expr)
        if cached is None:
            with np.errstate(over="ignore", under="ignore"):
                cached = self._eval(expr)
            self._memo[expr] = cached
        return cached

    def _const(self, value: float) -> Array:
        return np.asarray(value, dtype=self.dtype)

    def _eval(self, expr: sympy.Basic) -> Array:
        if expr is sympy.true or expr is sympy.false:
            return np.asarray(expr is sympy.true)
        if expr.is_Symbol:
            if expr not in self.values:
                raise KeyError(f"no value for the symbol `{expr}`")
            return self.values[expr]
        if expr.is_Number or expr.is_NumberSymbol:
            return self._const(float(expr))
        if expr.is_Add:
            return _reduce(np.add, [self(a) for a in expr.args])
        if expr.is_Mul:
            return _reduce(np.multiply, [self(a) for a in expr.args])
        if expr.is_Pow:
            return self._pow(expr)
        if is_special(expr):
            return self._special(expr)
        if isinstance(expr, sympy.Piecewise):
            return self._piecewise(expr)
        if isinstance(expr, (sympy.Max, sympy.Min)):
            op = np.maximum if isinstance(expr, sympy.Max) else np.minimum
            return _reduce(op, [self(a) for a in expr.args])
        func = _UNARY.get(expr.func)
        if func is not None and len(expr.args) == 1:
            return np.asarray(func(self(expr.args[0])), dtype=self.dtype)
        if expr.is_Relational:
            return self._relational(expr)
        raise TypeError(f"cannot evaluate `{expr}` numerically ({expr.func.__name__})")

    def _pow(self, expr: sympy.Pow) -> Array:
        base, exponent = expr.args
        b = self(base)
        if exponent == sympy.S.Half:
            return np.sqrt(b)
        if exponent == -sympy.S.Half:
            return 1 / np.sqrt(b)
        if exponent.is_Integer:
            with np.errstate(divide="ignore"):
                return np.power(b, self._const(float(exponent)))
        return np.power(b, self(exponent))

    def _special(self, expr: sympy.Function) -> Array:
        n_static = type(expr).static_args
        static = [int(a) for a in expr.args[:n_static]]
        arrays = [np.asarray(self(a), dtype=np.float64) for a in expr.args[n_static:]]
        arrays = list(np.broadcast_arrays(*arrays))
        return np.asarray(type(expr).numpy(*static, *arrays), dtype=self.dtype)

    def _piecewise(self, expr: sympy.Piecewise) -> Array:
        result = None
        taken = None
        for value, condition in expr.args:
            cond = np.asarray(self(condition), dtype=bool)
            # Every branch is evaluated everywhere; a branch may divide by zero
            # where its condition fails, and np.where then drops that value.
            with np.errstate(divide="ignore", invalid="ignore"):
                current = self(value)
            if result is None:
                result = np.where(cond, current, np.nan).astype(self.dtype)
                taken = cond
            else:
                result = np.where(~taken & cond, current, result)
                taken = taken | cond
        return result

    def _relational(self, expr: sympy.Basic) -> Array:
        ops = {
            sympy.StrictGreaterThan: np.greater,
            sympy.GreaterThan: np.greater_equal,
            sympy.StrictLessThan: np.less,
            sympy.LessThan: np.less_equal,
            sympy.Equality: np.equal,
            sympy.Unequality: np.not_equal,
        }
        op = ops.get(type(expr))
        if op is None:
            raise TypeError(f"cannot evaluate the condition `{expr}`")
        return op(self(expr.lhs), self(expr.rhs))


def _reduce(op, arrays: list[Array]) -> Array:
    result = arrays[0]
    for a in arrays[1:]:
        result = op(result, a)
    return result


def evaluate(
    expr: sympy.Basic, values: dict[sympy.Symbol, Array | float], dtype=np.float64
) -> Array:
    """Evaluate `expr` with each free symbol bound to an array or scalar."""
    return Evaluator(values, dtype)(expr)
