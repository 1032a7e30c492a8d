"""Build nonlocal gradients term by term from ridge and separable structure.

- Affine in θ: G and S equal the gradient exactly.
- G: G is linear, so a sum of ridge functions g(v·θ + c) is handled term by
  term. On a ridge, G f = (c/d)·v·E g'(t + ‖v‖U) with c the normalisation
  factor (d or 1) and U the one-dimensional law of `laws`; docs/analytic.md
  derives it.
- S: a product of factors over disjoint parameter groups is smoothed factor by
  factor, because N(0, σ²I) factorises over the groups. A ridge factor
  g(v·θ + c) becomes h(t) = E g(t + σ‖v‖Z), and the product rule gives S f.
"""

from __future__ import annotations

import sympy

from nntk_lang.analytic.deadline import Deadline
from nntk_lang.analytic.laws import Law, expect_derivative, smoothed_value
from nntk_lang.analytic.profile import decompose
from nntk_lang.analytic.ridge import (
    Ridge,
    affine_coefficients,
    as_ridge,
    parameter_groups,
    split_terms,
)
from nntk_lang.analytic.simplify import simplify_checked
from nntk_lang.errors import NoClosedForm
from nntk_lang.ir.operators import Attention, Nonlocal, Operator, Smoothing
from nntk_lang.ir.symbolic import SymbolicModelIR

# The ball kernel's one-dimensional law has a table for these dimensions only.
BALL_DIMENSIONS = (1, 2, 3)
# sympy.simplify took over 90% of the build time of a 16-neuron network, so
# larger models (networks written out by hand) keep the unsimplified form.
MAX_SIMPLIFY_PARAMS = 8


def build_gradient(
    model: SymbolicModelIR, op: Operator, deadline: Deadline
) -> tuple[sympy.Expr, ...]:
    """Return the components of op f, one per parameter, or raise NoClosedForm."""
    if isinstance(op, Attention):
        raise NoClosedForm(
            "attention weights depend on the sampled outputs, so the estimator has "
            "no closed form; Monte Carlo is used instead"
        )
    if op.blocks != "all":
        raise NoClosedForm(
            f"blocks={op.blocks} applies to networks, and closed forms cover only "
            "blocks=all"
        )
    params = model.params
    affine = affine_coefficients(model.expr, params)
    if affine is not None:
        return affine[0]
    if isinstance(op, Nonlocal):
        raw = _nonlocal_gradient(model, op, deadline)
    elif isinstance(op, Smoothing):
        raw = _smoothing_gradient(model, op, deadline)
    else:
        raise NoClosedForm(f"the operator {type(op).__name__} has no closed form")
    if len(raw) > MAX_SIMPLIFY_PARAMS:
        return raw
    simplified = []
    for component in raw:
        deadline.check()
        simplified.append(simplify_checked(component))
    return tuple(simplified)


def _nonlocal_gradient(
    model: SymbolicModelIR, op: Nonlocal, deadline: Deadline
) -> tuple[sympy.Expr, ...]:
    params = model.params
    d = len(params)
    if op.kernel == "ball" and d not in BALL_DIMENSIONS:
        raise NoClosedForm(
            f"the ball kernel's one-dimensional law is tabulated for d = 1, 2, 3, but "
            f"the model has d = {d} parameters; Monte Carlo is used instead"
        )
    factor = sympy.S.One if op.normalize == "consistent" else sympy.Rational(1, d)
    scale = sympy.Float(op.scale)
    total = [sympy.S.Zero] * d
    for ridge in _ridge_terms(model.expr, params, deadline):
        deadline.check()
        atoms = decompose(ridge.profile, ridge.t)
        norm = ridge.norm()
        law = Law(op.kernel, norm * scale, d)
        expected = expect_derivative(atoms, law, ridge.t)
        expected = expected.subs(ridge.t, ridge.form(params))
        for i, v in enumerate(ridge.coeffs):
            if v != 0:
                total[i] += _guard_zero(factor * v * expected, norm)
    return tuple(total)


def _ridge_terms(
    expr: sympy.Expr, params: tuple[sympy.Symbol, ...], deadline: Deadline
) -> list[Ridge]:
    ridges = []
    for term in split_terms(expr, params):
        deadline.check()
        if not term.has(*params):
            continue
        ridge = as_ridge(term, params)
        if ridge is not None:
            ridges.append(ridge)
            continue
        expanded = sympy.expand(term)
        parts = sympy.Add.make_args(expanded)
        found = [as_ridge(p, params) for p in parts if p.has(*params)]
        if len(parts) == 1 or any(r is None for r in found):
            raise NoClosedForm(
                f"`{term}` is not a ridge function g(v·θ + c) of the parameters, so "
                "the d-dimensional integral of G does not reduce to one dimension; "
                "Monte Carlo is used instead"
            )
        ridges.extend(found)
    return ridges


def _smoothing_gradient(
    model: SymbolicModelIR, op: Smoothing, deadline: Deadline
) -> tuple[sympy.Expr, ...]:
    params = model.params
    sigma = sympy.Float(op.sigma)
    total = [sympy.S.Zero] * len(params)
    for term in split_terms(model.expr, params):
        deadline.check()
        if not term.has(*params):
            continue
        try:
            parts = [_separable_term(term, params, sigma)]
        except NoClosedForm:
            expanded = sympy.Add.make_args(sympy.expand(term))
            if len(expanded) == 1:
                raise
            parts = [
                _separable_term(p, params, sigma) for p in expanded if p.has(*params)
            ]
        for part in parts:
            for i, component in enumerate(part):
                if component != 0:
                    total[i] += component
    return tuple(total)


def _separable_term(
    term: sympy.Expr, params: tuple[sympy.Symbol, ...], sigma: sympy.Expr
) -> list[sympy.Expr]:
    # S of c·∏_k F_k(θ_k) = c Σ_k (∏_{j≠k} h_j) ∇_{θ_k} h_k.
    constant = sympy.S.One
    smoothed = []  # (group params, h, gradient of h over all params)
    for group, factor in parameter_groups(term, params):
        if not group:
            constant = factor
            continue
        group_params = tuple(p for p in params if p in group)
        ridge = as_ridge(factor, group_params)
        if ridge is None:
            raise NoClosedForm(
                f"`{factor}` is not a function of one linear form of its parameters "
                f"{', '.join(map(str, group_params))}, so `{term}` is not separable and "
                "the Gaussian integral does not factor; Monte Carlo is used instead"
            )
        atoms = decompose(ridge.profile, ridge.t)
        norm = ridge.norm()
        law = Law("normal", sigma * norm)
        form = ridge.form(group_params)
        value = smoothed_value(atoms, law, ridge.t).subs(ridge.t, form)
        if not norm.is_number:
            value = sympy.Piecewise((factor, sympy.Eq(norm**2, 0)), (value, True))
        slope = expect_derivative(atoms, law, ridge.t).subs(ridge.t, form)
        grad = [sympy.S.Zero] * len(params)
        for p, v in zip(group_params, ridge.coeffs):
            if v != 0:
                grad[params.index(p)] = _guard_zero(v * slope, norm)
        smoothed.append((value, grad))
    components = [sympy.S.Zero] * len(params)
    for k, (_, grad) in enumerate(smoothed):
        others = sympy.Mul(*[h for j, (h, _) in enumerate(smoothed) if j != k])
        for i, g in enumerate(grad):
            if g != 0:
                components[i] += constant * others * g
    return components


def _guard_zero(expr: sympy.Expr, norm: sympy.Expr) -> sympy.Expr:
    # Where v = 0 (e.g. x = 0 in w*x) the factor does not depend on θ and its
    # gradient is 0, but the scaled laws would divide 0 by 0.
    if norm.is_number:
        return expr
    return sympy.Piecewise((sympy.S.Zero, sympy.Eq(norm**2, 0)), (expr, True))
