"""A one-variable function g(t) split into pieces that have Gaussian and ball tables.

`decompose(g, t)` writes g as a sum of atoms:

- `PolyAtom`: a polynomial p(t);
- `StepAtom`: p(t)·1{t > a}, from sign, step, relu, abs, max and min;
- `SmoothAtom`: c·h(αt + β) for h in sin, cos, exp, erf;
- `FloorAtom`: c·floor(αt + β), with ceil(y) = −floor(−y).

Values at the jumps follow the builtins, but the operators integrate over a
neighbourhood, so they never depend on them.
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy

from nntk_lang.errors import NoClosedForm
from nntk_lang.ir.primitives import Relu, Step


@dataclass(frozen=True)
class PolyAtom:
    poly: sympy.Expr


@dataclass(frozen=True)
class StepAtom:
    poly: sympy.Expr
    at: sympy.Expr


@dataclass(frozen=True)
class SmoothAtom:
    kind: str
    alpha: sympy.Expr
    beta: sympy.Expr
    coef: sympy.Expr


@dataclass(frozen=True)
class FloorAtom:
    alpha: sympy.Expr
    beta: sympy.Expr
    coef: sympy.Expr


Atom = PolyAtom | StepAtom | SmoothAtom | FloorAtom

_SMOOTH = {sympy.sin: "sin", sympy.cos: "cos", sympy.exp: "exp", sympy.erf: "erf"}


def decompose(g: sympy.Expr, t: sympy.Symbol) -> list[Atom]:
    """Split g(t) into atoms, or raise NoClosedForm naming the unsupported part."""
    atoms: list[Atom] = []
    for term in sympy.Add.make_args(sympy.expand(_rewrite(g), trig=False)):
        atoms.extend(_term_atoms(term, t))
    return atoms


def _rewrite(g: sympy.Expr) -> sympy.Expr:
    # Express max and min through relu so that only one table entry handles kinks.
    def max_to_relu(*args):
        if len(args) != 2:
            return sympy.Max(*args)
        return args[1] + Relu(args[0] - args[1])

    def min_to_relu(*args):
        if len(args) != 2:
            return sympy.Min(*args)
        return args[0] - Relu(args[0] - args[1])

    g = g.replace(_is_clip, _clip_to_relu)
    g = g.replace(sympy.Max, max_to_relu).replace(sympy.Min, min_to_relu)
    return g.replace(_is_kink_power, _expand_kink_power)


def _is_clip(e: sympy.Expr) -> bool:
    if not isinstance(e, sympy.Min) or len(e.args) != 2:
        return False
    return any(isinstance(a, sympy.Max) and len(a.args) == 2 for a in e.args)


def _clip_to_relu(e: sympy.Min) -> sympy.Expr:
    # clip(y, low, high) = min(max(y, low), high) = low + relu(y − low) − relu(y − high)
    # when low ≤ high; other orders keep the nested form.
    inner, high = e.args if isinstance(e.args[0], sympy.Max) else e.args[::-1]
    for y, low in (inner.args, inner.args[::-1]):
        if (high - low).is_nonnegative and not low.free_symbols & y.free_symbols:
            return low + Relu(y - low) - Relu(y - high)
    return e


def _is_kink_power(e: sympy.Expr) -> bool:
    return (
        e.is_Pow
        and e.exp.is_Integer
        and e.exp > 1
        and isinstance(e.base, (Relu, Step, sympy.sign, sympy.Abs))
    )


def _expand_kink_power(e: sympy.Pow) -> sympy.Expr:
    # Powers of kinked builtins, written with one kink so the table applies;
    # equal to the power away from the kink.
    base, n = e.base, int(e.exp)
    y = base.args[0]
    if isinstance(base, Relu):
        return y**n * Step(y)
    if isinstance(base, Step):
        return base
    if isinstance(base, sympy.Abs):
        return y**n if n % 2 == 0 else y ** (n - 1) * base
    return base if n % 2 else sympy.S.One


def _term_atoms(term: sympy.Expr, t: sympy.Symbol) -> list[Atom]:
    poly = sympy.S.One
    special: list[sympy.Expr] = []
    for factor in sympy.Mul.make_args(term):
        if not factor.has(t) or factor.is_polynomial(t):
            poly = poly * factor
        else:
            special.append(factor)
    if not special:
        return [PolyAtom(poly)]
    if len(special) > 1:
        shown = " * ".join(str(f) for f in special)
        raise NoClosedForm(
            f"the product {shown} of two non-polynomial functions of one linear form "
            "has no closed form in the table"
        )
    return _special_atoms(special[0], poly, t)


def _special_atoms(factor: sympy.Expr, poly: sympy.Expr, t: sympy.Symbol) -> list[Atom]:
    if not isinstance(factor, sympy.Function) or len(factor.args) != 1:
        raise NoClosedForm(f"`{factor}` is not a builtin function of a linear form")
    alpha, beta = _affine(factor.args[0], t)
    head = factor.func
    if head in _SMOOTH:
        _require_constant(poly, t, factor)
        return [SmoothAtom(_SMOOTH[head], alpha, beta, poly)]
    if head is sympy.floor:
        _require_constant(poly, t, factor)
        return [FloorAtom(alpha, beta, poly)]
    if head is sympy.ceiling:
        _require_constant(poly, t, factor)
        return [FloorAtom(-alpha, -beta, -poly)]
    y = alpha * t + beta
    if head is sympy.sign:
        return [PolyAtom(-poly), *_indicator(2 * poly, alpha, beta, t)]
    if head in (Step, sympy.Heaviside):
        return _indicator(poly, alpha, beta, t)
    if head is Relu:
        return _indicator(sympy.expand(poly * y), alpha, beta, t)
    if head is sympy.Abs:
        return [
            PolyAtom(-poly * y),
            *_indicator(sympy.expand(2 * poly * y), alpha, beta, t),
        ]
    raise NoClosedForm(f"`{head.__name__}` has no entry in the closed-form table")


def _affine(arg: sympy.Expr, t: sympy.Symbol) -> tuple[sympy.Expr, sympy.Expr]:
    alpha = sympy.diff(arg, t)
    beta = sympy.expand(arg - alpha * t)
    if alpha.has(t) or beta.has(t):
        raise NoClosedForm(f"`{arg}` is not affine in the linear form")
    if alpha == 0:
        raise NoClosedForm(f"`{arg}` does not depend on the linear form")
    return alpha, beta


def _require_constant(poly: sympy.Expr, t: sympy.Symbol, factor: sympy.Expr) -> None:
    if poly.has(t):
        raise NoClosedForm(
            f"`{factor}` times the polynomial `{poly}` has no entry in the closed-form "
            "table"
        )


def _indicator(
    poly: sympy.Expr, alpha: sympy.Expr, beta: sympy.Expr, t: sympy.Symbol
) -> list[Atom]:
    """Return atoms for poly(t)·1{αt + β > 0}."""
    at = -beta / alpha
    if alpha.is_positive:
        return [StepAtom(poly, at)]
    if alpha.is_negative:
        # 1{t < a} = 1 − 1{t > a} away from t = a.
        return [PolyAtom(poly), StepAtom(-poly, at)]
    raise NoClosedForm(
        f"the sign of the slope `{alpha}` is unknown, so the side of the jump is too"
    )
