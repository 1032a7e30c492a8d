"""Closed forms of nonlocal gradients and kernels: the public API of the backend."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import sympy

from nntk_lang.analytic import cache
from nntk_lang.analytic.builders import build_gradient
from nntk_lang.analytic.deadline import time_limit
from nntk_lang.analytic.numeric import Evaluator
from nntk_lang.ir.operators import Operator
from nntk_lang.ir.symbolic import SymbolicModelIR

# How many gradients were built symbolically (not read from the cache) in this
# process; tests use it to see cache hits.
BUILD_STATS = {"built": 0, "cache_hits": 0}


@dataclass(frozen=True)
class ClosedForm:
    """A gradient (classical or nonlocal) of a model as sympy expressions.

    Attributes:
        exprs: one component per parameter, in the order of `model.params`, as
            expressions in the model's inputs and parameters.
        model: the model the gradient belongs to.
        description: the operator, e.g. "G gaussian(0.5)" or "classical gradient".
    """

    exprs: tuple[sympy.Expr, ...]
    model: SymbolicModelIR
    description: str = ""
    info: dict = field(default_factory=dict, compare=False)

    @property
    def text(self) -> str:
        """The components in sympy's string form, one line each."""
        return "\n".join(
            f"d/d{p}: {sympy.sstr(e)}" for p, e in zip(self.model.params, self.exprs)
        )

    @property
    def latex(self) -> str:
        """The gradient as a LaTeX column vector."""
        return sympy.latex(sympy.Matrix(self.exprs))

    def evaluate(
        self, theta: np.ndarray, xs: np.ndarray, dtype=np.float64
    ) -> np.ndarray:
        """Evaluate the gradient at parameters `theta` [d] for inputs `xs` [N, n_in].

        Returns:
            An [N, d] array in `dtype`.
        """
        theta = np.asarray(theta, dtype=np.float64).reshape(-1)
        xs = np.asarray(xs, dtype=np.float64)
        if xs.ndim == 1:
            xs = xs.reshape(-1, max(self.model.n_inputs, 1))
        n_points = xs.shape[0]
        if theta.shape[0] != self.model.n_params:
            raise ValueError(
                f"`theta` must have {self.model.n_params} entries, got {theta.shape[0]}"
            )
        values: dict[sympy.Symbol, np.ndarray | float] = {}
        values.update(zip(self.model.params, theta))
        for j, symbol in enumerate(self.model.inputs):
            values[symbol] = xs[:, j]
        evaluator = Evaluator(values, dtype)
        out = np.empty((n_points, self.model.n_params), dtype=dtype)
        for i, expr in enumerate(self.exprs):
            out[:, i] = np.broadcast_to(evaluator(expr), (n_points,))
        return out


@dataclass(frozen=True)
class ClosedKernel:
    """K(x, x') = ⟨g(x), g(x')⟩ for a gradient closed form g."""

    gradient: ClosedForm

    def evaluate(
        self, theta: np.ndarray, x1: np.ndarray, x2: np.ndarray, dtype=np.float64
    ) -> np.ndarray:
        """Return the [N1, N2] kernel matrix; gradients first, then one matmul."""
        g1 = self.gradient.evaluate(theta, x1, dtype)
        g2 = self.gradient.evaluate(theta, x2, dtype)
        return g1 @ g2.T

    def expr(self) -> sympy.Expr:
        """Return K as one expression; the second input of `x` is named `x_2`."""
        model = self.gradient.model
        primed = {x: sympy.Symbol(f"{x.name}_2", real=True) for x in model.inputs}
        return sum(
            (e * e.subs(primed, simultaneous=True) for e in self.gradient.exprs),
            sympy.S.Zero,
        )


def closed_form_gradient(
    model: SymbolicModelIR,
    op: Operator,
    *,
    timeout: float = 30.0,
    cache_dir: Path | None = None,
    use_cache: bool = True,
) -> ClosedForm:
    """Build the nonlocal gradient of `model` under `op` in closed form.

    Args:
        model: the symbolic model.
        op: a `Nonlocal` or `Smoothing` operator.
        timeout: seconds of symbolic work allowed (the `--symbolic-timeout` flag).
        cache_dir: where closed forms are cached; defaults to `default_cache_dir()`.
        use_cache: read and write the cache.

    Raises:
        NoClosedForm: with a reason, when no closed form is proved.
    """
    key = cache.cache_key(
        sympy.srepr(model.expr),
        sympy.srepr(model.params),
        sympy.srepr(model.inputs),
        repr(op),
    )
    folder = cache_dir if cache_dir is not None else cache.default_cache_dir()
    description = describe(op)
    if use_cache:
        exprs = cache.load(folder, key)
        if exprs is not None and len(exprs) == model.n_params:
            BUILD_STATS["cache_hits"] += 1
            return ClosedForm(tuple(exprs), model, description, {"cached": True})
    with time_limit(timeout) as deadline:
        exprs = build_gradient(model, op, deadline)
    BUILD_STATS["built"] += 1
    if use_cache:
        cache.store(folder, key, list(exprs), f"{model.name}: {description}")
    return ClosedForm(tuple(exprs), model, description, {"cached": False})


def closed_form_kernel(
    model: SymbolicModelIR,
    op: Operator,
    *,
    timeout: float = 30.0,
    cache_dir: Path | None = None,
    use_cache: bool = True,
) -> ClosedKernel:
    """Build the NNTK of `model` under `op` from its gradient closed form."""
    gradient = closed_form_gradient(
        model, op, timeout=timeout, cache_dir=cache_dir, use_cache=use_cache
    )
    return ClosedKernel(gradient)


def describe(op: Operator) -> str:
    """Return a short description of an operator for reports and cache notes."""
    from nntk_lang.ir.operators import Nonlocal, Smoothing

    if isinstance(op, Nonlocal):
        return f"G {op.kernel}({op.scale:g}), normalize={op.normalize}"
    if isinstance(op, Smoothing):
        return f"S smoothing({op.sigma:g})"
    return type(op).__name__
