"""Expectations E g(t + U) and E g'(t + U) over the scalar laws of the operators.

A `Law` is the distribution of U = λ·U₁, with U₁ one of the unit laws of
`special`: N(0, 1) for smoothing, the gaussian or ball kernel law for G. Each
law supplies its density, upper tail, even moments, characteristic function and
periodic density (for floor), and `expect_derivative` combines them atom by
atom. All laws here are symmetric about 0.
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy

from nntk_lang.analytic import special
from nntk_lang.analytic.profile import Atom, FloorAtom, PolyAtom, SmoothAtom, StepAtom
from nntk_lang.errors import NoClosedForm


@dataclass(frozen=True)
class Law:
    """U = scale·U₁ with U₁ of the given kind ("normal", "gaussian" or "ball").

    Attributes:
        kind: which unit law.
        scale: λ > 0, a sympy expression in the inputs.
        dim: the parameter dimension d of the G kernels; unused for "normal".
    """

    kind: str
    scale: sympy.Expr
    dim: int = 1

    def pdf(self, u: sympy.Expr) -> sympy.Expr:
        b = u / self.scale
        if self.kind == "normal":
            return sympy.exp(-(b**2) / 2) / (sympy.sqrt(2 * sympy.pi) * self.scale)
        if self.kind == "gaussian":
            return special.GaussianKernelPdf(self.dim, b) / self.scale
        return special.BallKernelPdf(self.dim, b) / self.scale

    def tail(self, u: sympy.Expr) -> sympy.Expr:
        """P(U > u)."""
        b = u / self.scale
        if self.kind == "normal":
            return special.NormalCdf(-b)
        if self.kind == "gaussian":
            return special.GaussianKernelTail(self.dim, b)
        return special.BallKernelTail(self.dim, b)

    def first_moment(self, u: sympy.Expr) -> sympy.Expr:
        """E[U 1{U > u}] for the G kernels."""
        if self.kind == "gaussian":
            return self.scale * special.GaussianKernelFirstMoment(
                self.dim, u / self.scale
            )
        return self.scale * special.BallKernelFirstMoment(self.dim, u / self.scale)

    def even_moment(self, order: int) -> sympy.Expr:
        """E U^order for an even order."""
        m = order // 2
        d = sympy.Integer(self.dim)
        if self.kind == "normal":
            unit = sympy.factorial2(order - 1) if m else sympy.S.One
        elif self.kind == "gaussian":
            # U₁² = ν Z²/2 with ν ~ Beta(d/2, 1), so E ν^m = (d/2)/(d/2 + m).
            double_fact = sympy.factorial2(order - 1) if m else sympy.S.One
            unit = double_fact / 2**m * (d / 2) / (d / 2 + m)
        else:
            # U₁ = R W: E R^{2m} = d/(d + 2m) and W is a coordinate of the d-ball.
            w_moment = (
                sympy.gamma(m + sympy.S.Half)
                * sympy.gamma(d / 2 + 1)
                / (sympy.sqrt(sympy.pi) * sympy.gamma(d / 2 + m + 1))
            )
            unit = d / (d + 2 * m) * w_moment
        return sympy.nsimplify(unit) * self.scale**order

    def cosine(self, w: sympy.Expr) -> sympy.Expr:
        """E cos(w U)."""
        if self.kind == "normal":
            return sympy.exp(-(w**2) * self.scale**2 / 2)
        if self.kind == "gaussian":
            return special.GaussianKernelCF(self.dim, w * self.scale)
        return special.BallKernelCF(self.dim, w * self.scale)

    def exp_moment(self, w: sympy.Expr) -> sympy.Expr:
        """E exp(w U)."""
        if self.kind == "normal":
            return sympy.exp(w**2 * self.scale**2 / 2)
        if self.kind == "gaussian":
            return special.GaussianKernelMGF(self.dim, w * self.scale)
        return special.BallKernelMGF(self.dim, w * self.scale)

    def periodic_pdf(self, y: sympy.Expr, spacing: sympy.Expr) -> sympy.Expr:
        """Σ_k density of (spacing·U) at y − k, the expected derivative of floor."""
        width = sympy.Abs(spacing) * self.scale
        if self.kind == "normal":
            return special.PeriodicNormalPdf(y, width)
        if self.kind == "gaussian":
            return special.PeriodicGaussianKernelPdf(self.dim, y, width)
        return special.PeriodicBallKernelPdf(self.dim, y, width)


def expect_derivative(atoms: list[Atom], law: Law, t: sympy.Symbol) -> sympy.Expr:
    """Return E g'(t + U) for g the sum of `atoms`."""
    total = sympy.S.Zero
    for atom in atoms:
        total += _atom_derivative(atom, law, t)
    return total


def _atom_derivative(atom: Atom, law: Law, t: sympy.Symbol) -> sympy.Expr:
    if isinstance(atom, PolyAtom):
        return _poly_expectation(sympy.diff(atom.poly, t), law, t)
    if isinstance(atom, StepAtom):
        # g = p·1{t > a}, so g' = p'·1{t > a} + p(a) δ(t − a).
        slope = sympy.diff(atom.poly, t)
        jump = atom.poly.subs(t, atom.at) * law.pdf(atom.at - t)
        if not slope.has(t):
            return slope * law.tail(atom.at - t) + jump
        if law.kind == "normal":
            return _normal_step_value(StepAtom(slope, atom.at), law.scale, t) + jump
        if sympy.degree(slope, t) == 1:
            # E[(c₀ + c₁(t + U)) 1{U > a − t}] = slope(t)·P(U > a − t) + c₁ E[U 1{...}].
            c1 = sympy.diff(slope, t)
            moment = law.first_moment(atom.at - t)
            return slope * law.tail(atom.at - t) + c1 * moment + jump
        raise NoClosedForm(
            f"`{atom.poly}` above a kink has a derivative of degree above 1, and only "
            "smoothing has higher incomplete moments in the table"
        )
    if isinstance(atom, SmoothAtom):
        return _smooth_derivative(atom, law, t)
    if isinstance(atom, FloorAtom):
        y = atom.alpha * t + atom.beta
        return atom.coef * atom.alpha * law.periodic_pdf(y, atom.alpha)
    raise TypeError(f"unknown atom {atom!r}")


def _poly_expectation(poly: sympy.Expr, law: Law, t: sympy.Symbol) -> sympy.Expr:
    # E p(t + U) = Σ_m p^{(2m)}(t) E U^{2m} / (2m)! for a symmetric U.
    degree = sympy.Poly(poly, t).degree() if poly.has(t) else 0
    total = sympy.S.Zero
    for order in range(0, degree + 1, 2):
        term = sympy.diff(poly, t, order) if order else poly
        total += term * law.even_moment(order) / sympy.factorial(order)
    return total


def _smooth_derivative(atom: SmoothAtom, law: Law, t: sympy.Symbol) -> sympy.Expr:
    y = atom.alpha * t + atom.beta
    scale = atom.coef * atom.alpha
    if atom.kind == "sin":
        return scale * sympy.cos(y) * law.cosine(atom.alpha)
    if atom.kind == "cos":
        return -scale * sympy.sin(y) * law.cosine(atom.alpha)
    if atom.kind == "exp":
        return scale * sympy.exp(y) * law.exp_moment(atom.alpha)
    if law.kind != "normal":
        raise NoClosedForm(
            f"{atom.kind} under a nonlocal G kernel has no entry in the closed-form "
            "table"
        )
    return sympy.diff(smoothed_value([atom], law, t), t)


def smoothed_value(atoms: list[Atom], law: Law, t: sympy.Symbol) -> sympy.Expr:
    """Return E g(t + sZ), Z ~ N(0, 1), for g the sum of `atoms` (law "normal")."""
    s = law.scale
    total = sympy.S.Zero
    for atom in atoms:
        if isinstance(atom, PolyAtom):
            total += _poly_expectation(atom.poly, law, t)
        elif isinstance(atom, StepAtom):
            total += _normal_step_value(atom, s, t)
        elif isinstance(atom, SmoothAtom):
            total += _normal_smooth_value(atom, s, t)
        else:
            y = atom.alpha * t + atom.beta
            total += atom.coef * special.SmoothedFloor(y, sympy.Abs(atom.alpha) * s)
    return total


def _normal_step_value(atom: StepAtom, s: sympy.Expr, t: sympy.Symbol) -> sympy.Expr:
    # E p(t + sZ) 1{Z > α} with α = (a − t)/s, from the tail moments
    # I_k = ∫_α^∞ z^k φ(z) dz: I_0 = Φ(−α), I_1 = φ(α), I_k = α^{k−1}φ(α) + (k−1)I_{k−2}.
    z = sympy.Dummy("z", real=True)
    alpha = (atom.at - t) / s
    density = sympy.exp(-(alpha**2) / 2) / sympy.sqrt(2 * sympy.pi)
    moments = [special.NormalCdf(-alpha), density]
    shifted = sympy.Poly(sympy.expand(atom.poly.subs(t, t + s * z)), z)
    degree = shifted.degree()
    for k in range(2, degree + 1):
        moments.append(alpha ** (k - 1) * density + (k - 1) * moments[k - 2])
    total = sympy.S.Zero
    for (k,), coef in shifted.terms():
        total += coef * moments[k]
    return total


def _normal_smooth_value(
    atom: SmoothAtom, s: sympy.Expr, t: sympy.Symbol
) -> sympy.Expr:
    y = atom.alpha * t + atom.beta
    spread = atom.alpha**2 * s**2
    if atom.kind == "sin":
        return atom.coef * sympy.sin(y) * sympy.exp(-spread / 2)
    if atom.kind == "cos":
        return atom.coef * sympy.cos(y) * sympy.exp(-spread / 2)
    if atom.kind == "exp":
        return atom.coef * sympy.exp(y + spread / 2)
    # E erf(y + αsZ) = erf(y / sqrt(1 + 2α²s²)).
    return atom.coef * sympy.erf(y / sympy.sqrt(1 + 2 * spread))
