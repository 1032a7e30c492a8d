"""Recognise ridge functions g(v·θ + c) and separable products of them."""

from __future__ import annotations

from dataclasses import dataclass

import sympy


@dataclass(frozen=True)
class Ridge:
    """f(θ) = g(v·θ + c) with v and c free of θ.

    Attributes:
        coeffs: v, one entry per parameter (zero for parameters f ignores).
        offset: c, an expression in the inputs.
        profile: g(t) in the symbol `t`; free of the parameters.
        t: the symbol that stands for the linear form in `profile`.
    """

    coeffs: tuple[sympy.Expr, ...]
    offset: sympy.Expr
    profile: sympy.Expr
    t: sympy.Symbol

    def form(self, params: tuple[sympy.Symbol, ...]) -> sympy.Expr:
        """Return the linear form v·θ + c."""
        return sum((v * p for v, p in zip(self.coeffs, params)), self.offset)

    def norm(self) -> sympy.Expr:
        """Return ‖v‖."""
        return sympy.sqrt(sum(v**2 for v in self.coeffs))


def affine_coefficients(
    expr: sympy.Expr, params: tuple[sympy.Symbol, ...]
) -> tuple[tuple[sympy.Expr, ...], sympy.Expr] | None:
    """Return (v, c) if `expr` = v·θ + c with v and c free of θ, else None."""
    if not expr.is_polynomial(*params):
        return None
    coeffs = tuple(sympy.diff(expr, p) for p in params)
    if any(c.has(*params) for c in coeffs):
        return None
    offset = sympy.expand(expr - sum(c * p for c, p in zip(coeffs, params)))
    if offset.has(*params):
        return None
    return coeffs, offset


def as_ridge(expr: sympy.Expr, params: tuple[sympy.Symbol, ...]) -> Ridge | None:
    """Write `expr` as g(v·θ + c), or return None when it is not a ridge function."""
    # A Dummy, so that a parameter or input named `t` cannot collide with it.
    t = sympy.Dummy("t", real=True)
    form = _first_linear_form(expr, params)
    if form is None:
        return None
    coeffs, offset = affine_coefficients(form, params)
    pivot = _pivot(coeffs)
    if pivot is None:
        return None
    others = sum(
        (c * p for i, (c, p) in enumerate(zip(coeffs, params)) if i != pivot),
        sympy.S.Zero,
    )
    solved = (t - offset - others) / coeffs[pivot]
    profile = expr.subs(params[pivot], solved)
    if profile.has(*params):
        profile = sympy.expand(profile)
    if profile.has(*params):
        return None
    return Ridge(coeffs, offset, profile, t)


def _first_linear_form(
    expr: sympy.Expr, params: tuple[sympy.Symbol, ...]
) -> sympy.Expr | None:
    # The first maximal subexpression, in preorder, that is affine in θ and
    # depends on it.
    if not expr.has(*params):
        return None
    if affine_coefficients(expr, params) is not None:
        return expr
    for arg in expr.args:
        found = _first_linear_form(arg, params)
        if found is not None:
            return found
    return None


def _pivot(coeffs: tuple[sympy.Expr, ...]) -> int | None:
    # Solve for a parameter whose coefficient is a nonzero number when one exists,
    # so that the substitution never divides by an input that may be 0.
    fallback = None
    for i, c in enumerate(coeffs):
        if c.is_number and c != 0:
            return i
        if fallback is None and c != 0:
            fallback = i
    return fallback


def parameter_groups(
    term: sympy.Expr, params: tuple[sympy.Symbol, ...]
) -> list[tuple[frozenset[sympy.Symbol], sympy.Expr]]:
    """Split a product into factors over disjoint parameter groups.

    Factors that share a parameter are merged. The θ-free factors form a group
    with an empty parameter set.
    """
    groups: list[tuple[set[sympy.Symbol], sympy.Expr]] = []
    constant = sympy.S.One
    for factor in sympy.Mul.make_args(term):
        used = factor.free_symbols & set(params)
        if not used:
            constant *= factor
            continue
        merged_params, merged_expr = set(used), factor
        keep = []
        for group_params, group_expr in groups:
            if group_params & merged_params:
                merged_params |= group_params
                merged_expr *= group_expr
            else:
                keep.append((group_params, group_expr))
        groups = keep + [(merged_params, merged_expr)]
    result = [(frozenset(), constant)]
    result += [(frozenset(p), e) for p, e in groups]
    return result


def split_terms(expr: sympy.Expr, params: tuple[sympy.Symbol, ...]) -> list[sympy.Expr]:
    """Return the terms of `expr`, with c·(t₁ + t₂ + ...) flattened when c is θ-free."""
    terms = []
    for term in sympy.Add.make_args(expr):
        coef, body = term.as_independent(*params, as_Add=False)
        if body.is_Add:
            terms.extend(coef * t for t in split_terms(body, params))
        else:
            terms.append(term)
    return terms
