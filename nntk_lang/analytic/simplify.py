"""sympy simplification, kept only when it provably leaves values unchanged.

`sympy.simplify` has introduced spurious terms in sympy 1.14, so every simplified
expression is evaluated against the original at random points before use.
"""

from __future__ import annotations

import numpy as np
import sympy

from nntk_lang.analytic.numeric import evaluate

# Larger expressions are left alone: simplify's cost grows quickly with size.
MAX_OPS = 60
CHECK_POINTS = 16
CHECK_RTOL = 1e-9


def simplify_checked(expr: sympy.Expr, seed: int = 0) -> sympy.Expr:
    """Return a simpler expression with the same values as `expr`, or `expr`."""
    if sympy.count_ops(expr) > MAX_OPS:
        return expr
    simpler = sympy.simplify(expr)
    if simpler == expr or sympy.count_ops(simpler) >= sympy.count_ops(expr):
        return expr
    return simpler if same_values(expr, simpler, seed) else expr


def same_values(first: sympy.Expr, second: sympy.Expr, seed: int = 0) -> bool:
    """Return whether two expressions agree at random points of their symbols."""
    symbols = sorted(first.free_symbols | second.free_symbols, key=str)
    if not symbols:
        points = {}
    else:
        rng = np.random.default_rng(seed)
        points = {s: rng.uniform(-2.0, 2.0, CHECK_POINTS) for s in symbols}
    with np.errstate(all="ignore"):
        a = np.broadcast_to(evaluate(first, points), (CHECK_POINTS,))
        b = np.broadcast_to(evaluate(second, points), (CHECK_POINTS,))
    finite = np.isfinite(a) & np.isfinite(b)
    if not np.array_equal(np.isfinite(a), np.isfinite(b)) or not finite.any():
        return False
    scale = np.maximum(np.abs(a[finite]), 1e-300)
    return bool(np.all(np.abs(a[finite] - b[finite]) <= CHECK_RTOL * scale + 1e-300))
