"""Special functions of the closed forms, as sympy functions with stable numerics.

The nonlocal operators reduce, on a ridge function g(v·θ + c), to expectations
E g'(t + a U) over one scalar U. Its law depends on the operator:

- smoothing S: U ~ N(0, 1);
- G with gaussian(γ) in d dimensions: U/γ = sqrt(ν/2) Z with ν ~ Beta(d/2, 1),
  whose density is d/(2√π) E_n(u²) with n = (d + 1)/2 (E_n is the generalised
  exponential integral);
- G with ball(δ) in d dimensions: U/δ = R W with R the radius and W one
  coordinate of a uniform point of the unit d-ball.

docs/analytic.md derives these laws. Each class below stays unevaluated in sympy
and carries a `numpy` method that evaluates it in float64 without overflow,
cancellation at removable singularities, or NaN at the kinks. Integer leading
arguments (the dimension d) are listed in `static_args` and reach `numpy` as
Python ints.
"""

from __future__ import annotations

import math

import numpy as np
import scipy.special as sc
import sympy
from sympy.core.function import Function

from nntk_lang.errors import ResourceLimitError

_SQRT_PI = math.sqrt(math.pi)
# Continued-fraction steps for E_n(x), x ≥ 1: 120 steps give a relative error
# below 1e-14 for orders 1/2 to 11/2 (checked against mpmath at x = 1, 1.2, 2, 5).
_CF_STEPS = 120
# Terms |u| > 40 of a standard normal density are below 1e-340, so they vanish
# in float64. The periodic sums drop the jumps further away than that.
_NORMAL_REACH = 40.0
# E_n(b²) < 1e-340 for |b| > 28, so the gaussian kernel sums drop those terms.
_GAUSSIAN_KERNEL_REACH = 28.0
# Cap on the number of jumps a periodic sum visits for one batch.
MAX_PERIODIC_TERMS = 200_000


def expint_scaled(nu: float, x: np.ndarray) -> np.ndarray:
    """Return e^x E_ν(x) for ν ∈ {1/2, 1, 3/2, ...} and x ≥ 0.

    Integer orders use scipy's `expn`, which is accurate in the tails; other orders
    use upward recurrence from E_{1/2} for x ≤ 1 and a continued fraction above.
    """
    x = np.asarray(x, dtype=np.float64)
    if float(nu).is_integer():
        with np.errstate(over="ignore", invalid="ignore"):
            small = sc.expn(int(nu), x) * np.exp(np.minimum(x, 700.0))
        big = _expint_cf_scaled(nu, np.maximum(x, 1.0))
        return np.where(x <= 1.0, small, big)
    small = _expint_recurrence_scaled(nu, np.minimum(x, 1.0))
    big = _expint_cf_scaled(nu, np.maximum(x, 1.0))
    return np.where(x <= 1.0, small, big)


def _expint_recurrence_scaled(nu: float, x: np.ndarray) -> np.ndarray:
    # E_{k+1}(x) = (e^{-x} - x E_k(x)) / k, started at E_{1/2}(x) = sqrt(π/x) erfc(√x).
    with np.errstate(divide="ignore", invalid="ignore"):
        value = np.sqrt(np.pi / x) * sc.erfc(np.sqrt(x))
        order = 0.5
        while order < nu:
            value = (np.exp(-x) - x * value) / order
            order += 1.0
        value = value * np.exp(x)
    at_zero = np.inf if nu <= 1 else 1.0 / (nu - 1.0)
    return np.where(x == 0.0, at_zero, value)


def _expint_cf_scaled(nu: float, x: np.ndarray) -> np.ndarray:
    # Modified Lentz evaluation of the continued fraction for e^x E_ν(x).
    tiny = 1e-300
    b = x + nu
    c = np.full_like(x, 1.0 / tiny)
    d = 1.0 / b
    h = d.copy()
    for i in range(1, _CF_STEPS):
        an = -i * (nu - 1.0 + i)
        b = b + 2.0
        d = 1.0 / (an * d + b)
        c = b + an / c
        h = h * c * d
    return h


def _normal_pdf(u: np.ndarray) -> np.ndarray:
    return np.exp(-0.5 * u * u) / math.sqrt(2.0 * math.pi)


def _normal_cdf(u: np.ndarray) -> np.ndarray:
    return 0.5 * sc.erfc(-u / math.sqrt(2.0))


class _Special(Function):
    """Base class: real-valued, unevaluated in sympy, evaluated by `numpy`."""

    static_args = 0

    @classmethod
    def eval(cls, *args):
        return None

    def _eval_is_real(self):
        return True

    @classmethod
    def numpy(cls, *args):
        raise NotImplementedError


class NormalCdf(_Special):
    """Φ(x), the standard normal distribution function.

    sympy 1.14 rewrites erfc(−x) as 2 − erfc(x), and the difference loses relative
    precision in float64 (4e-5 for Φ(−7), all of it beyond Φ(−8.3)). This
    function keeps its argument as given and evaluates with scipy's ndtr.
    """

    nargs = 1

    def fdiff(self, argindex=1):
        x = self.args[0]
        return sympy.exp(-(x**2) / 2) / sympy.sqrt(2 * sympy.pi)

    def _latex(self, printer):
        return rf"\Phi\left({printer._print(self.args[0])}\right)"

    @classmethod
    def numpy(cls, x: np.ndarray) -> np.ndarray:
        return sc.ndtr(x)


class GaussianKernelPdf(_Special):
    """Density of U/γ for G with gaussian(γ) in d dimensions: d/(2√π) E_n(b²)."""

    nargs = 2
    static_args = 1

    @classmethod
    def numpy(cls, d: int, b: np.ndarray) -> np.ndarray:
        x = b * b
        with np.errstate(over="ignore", invalid="ignore"):
            scale = np.exp(-x)
        return d / (2.0 * _SQRT_PI) * expint_scaled((d + 1) / 2, x) * scale


class GaussianKernelTail(_Special):
    """P(U/γ > b) for G with gaussian(γ): erfc(b)/2 − b E_n(b²)/(2√π) for b ≥ 0."""

    nargs = 2
    static_args = 1

    @classmethod
    def numpy(cls, d: int, b: np.ndarray) -> np.ndarray:
        a = np.abs(b)
        x = a * a
        # Both terms carry the factor e^{-b²}, so subtracting the scaled terms keeps
        # tiny tails (such as 1e-25) positive. NOTE: the difference is about
        # d/(2b²) of either term, so about log10(2b²/d) digits cancel (3 at b = 25).
        with np.errstate(invalid="ignore"):
            # b E_1(b²) → 0 as b → 0, although E_1(0) is infinite.
            product = np.where(a > 0, a * expint_scaled((d + 1) / 2, x), 0.0)
        scaled = 0.5 * sc.erfcx(a) - product / (2 * _SQRT_PI)
        upper = scaled * np.exp(-x)
        return np.where(b >= 0, upper, 1.0 - upper)


class GaussianKernelFirstMoment(_Special):
    """E[U₁ 1{U₁ > b}] for U₁ = U/γ of G with gaussian(γ): d/(4√π) E_{n+1}(b²).

    The integrand u·q_d(u) is odd, so the value is even in b.
    """

    nargs = 2
    static_args = 1

    @classmethod
    def numpy(cls, d: int, b: np.ndarray) -> np.ndarray:
        x = b * b
        return d / (4.0 * _SQRT_PI) * expint_scaled((d + 3) / 2, x) * np.exp(-x)


class GaussianKernelCF(_Special):
    """E cos(w U/γ) for G with gaussian(γ): 1F1(d/2; d/2 + 1; −w²/4)."""

    nargs = 2
    static_args = 1

    @classmethod
    def numpy(cls, d: int, w: np.ndarray) -> np.ndarray:
        return sc.hyp1f1(d / 2.0, d / 2.0 + 1.0, -0.25 * w * w)


class GaussianKernelMGF(_Special):
    """E exp(w U/γ) for G with gaussian(γ): 1F1(d/2; d/2 + 1; w²/4)."""

    nargs = 2
    static_args = 1

    @classmethod
    def numpy(cls, d: int, w: np.ndarray) -> np.ndarray:
        return sc.hyp1f1(d / 2.0, d / 2.0 + 1.0, 0.25 * w * w)


class BallKernelPdf(_Special):
    """Density of U/δ for G with ball(δ) in d ∈ {1, 2, 3} dimensions."""

    nargs = 2
    static_args = 1

    @classmethod
    def numpy(cls, d: int, s: np.ndarray) -> np.ndarray:
        _check_ball_dimension(d)
        a = np.minimum(np.abs(s), 1.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            if d == 1:
                value = -0.5 * np.log(a)
            elif d == 2:
                value = 4.0 / np.pi * (np.sqrt(1.0 - a * a) - a * np.arccos(a))
            else:
                log_term = np.where(a > 0, a * a * np.log(a), 0.0)
                value = 2.25 * (0.5 * (1.0 - a * a) + log_term)
        return np.where(np.abs(s) < 1.0, value, 0.0)


class BallKernelTail(_Special):
    """P(U/δ > s) for G with ball(δ) in d ∈ {1, 2, 3} dimensions."""

    nargs = 2
    static_args = 1

    @classmethod
    def numpy(cls, d: int, s: np.ndarray) -> np.ndarray:
        _check_ball_dimension(d)
        a = np.minimum(np.abs(s), 1.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            a_log_a = np.where(a > 0, a * np.log(a), 0.0)
        if d == 1:
            upper = 0.5 * (1.0 - a + a_log_a)
        elif d == 2:
            root = np.sqrt(1.0 - a * a)
            primitive = (
                0.75 * a * root + 0.25 * np.arcsin(a) - 0.5 * a * a * np.arccos(a)
            )
            upper = 0.5 - 4.0 / np.pi * primitive
        else:
            primitive = a / 2.0 - 5.0 / 18.0 * a**3 + a * a * a_log_a / 3.0
            upper = 0.5 - 2.25 * primitive
        upper = np.maximum(upper, 0.0)
        return np.where(s >= 0, upper, 1.0 - upper)


class BallKernelFirstMoment(_Special):
    """E[U₁ 1{U₁ > s}] for U₁ = U/δ of G with ball(δ) in d ∈ {1, 2, 3} dimensions.

    The integrand u·q(u) is odd, so the value is even in s.
    """

    nargs = 2
    static_args = 1

    @classmethod
    def numpy(cls, d: int, s: np.ndarray) -> np.ndarray:
        _check_ball_dimension(d)
        a = np.minimum(np.abs(s), 1.0)
        a2 = a * a
        with np.errstate(divide="ignore", invalid="ignore"):
            log_a = np.where(a > 0, np.log(a), 0.0)
        if d == 1:
            value = 0.125 + a2 * log_a / 4.0 - a2 / 8.0
        elif d == 2:
            root = np.sqrt(1.0 - a2)
            primitive = (
                -(root**3) / 3.0
                - a2 * a * np.arccos(a) / 3.0
                + root / 3.0
                - root**3 / 9.0
            )
            value = -4.0 / np.pi * primitive
        else:
            primitive = a2 / 4.0 - a2 * a2 * 3.0 / 16.0 + a2 * a2 * log_a / 4.0
            value = 2.25 * (1.0 / 16.0 - primitive)
        return np.maximum(value, 0.0)


class BallKernelCF(_Special):
    """E cos(w U/δ) for G with ball(δ) in d ∈ {1, 2, 3} dimensions."""

    nargs = 2
    static_args = 1

    @classmethod
    def numpy(cls, d: int, w: np.ndarray) -> np.ndarray:
        _check_ball_dimension(d)
        w = np.abs(w)
        near = np.minimum(w, 2.0)
        series = _ball_cf_series(d, near)
        far = np.maximum(w, 2.0)
        if d == 1:
            direct = sc.sici(far)[0] / far
        elif d == 2:
            direct = 4.0 * (1.0 - sc.j0(far)) / far**2
        else:
            direct = 9.0 * (sc.sici(far)[0] - np.sin(far)) / far**3
        return np.where(w < 2.0, series, direct)


class BallKernelMGF(_Special):
    """E exp(w U/δ) = E cosh(w U/δ) for G with ball(δ) in d ∈ {1, 2, 3} dimensions."""

    nargs = 2
    static_args = 1

    @classmethod
    def numpy(cls, d: int, w: np.ndarray) -> np.ndarray:
        _check_ball_dimension(d)
        w = np.abs(w)
        series = _ball_cf_series(d, np.minimum(w, 2.0), sign=1)
        far = np.maximum(w, 2.0)
        with np.errstate(over="ignore"):
            if d == 1:
                direct = sc.shichi(far)[0] / far
            elif d == 2:
                direct = 4.0 * (sc.i0(far) - 1.0) / far**2
            else:
                direct = 9.0 * (np.sinh(far) - sc.shichi(far)[0]) / far**3
        return np.where(w < 2.0, series, direct)


def _check_ball_dimension(d: int) -> None:
    if d not in (1, 2, 3):
        raise ValueError(f"the ball kernel law is tabulated for d = 1, 2, 3, got {d}")


def _ball_cf_series(d: int, w: np.ndarray, sign: int = -1) -> np.ndarray:
    # Power series about w = 0, where the direct formulas cancel; 16 terms reach
    # double precision for |w| < 2. sign = −1 gives E cos(wU), +1 gives E cosh(wU).
    total = np.zeros_like(w)
    w2 = w * w
    for k in range(16):
        if d == 1:
            coef = (-1) ** k / ((2 * k + 1) * math.factorial(2 * k + 1))
        elif d == 2:
            coef = (-1) ** k / (4.0**k * math.factorial(k + 1) ** 2)
        else:
            j = k + 1
            coef = (
                9 * (-1) ** (j + 1) * 2 * j / ((2 * j + 1) * math.factorial(2 * j + 1))
            )
        if sign > 0:
            coef = abs(coef)
        total = total + coef * w2**k
    return total


class PeriodicNormalPdf(_Special):
    """Σ_k φ((y − k)/s)/s over all integers k: the smoothed derivative of floor."""

    nargs = 2

    @classmethod
    def numpy(cls, y: np.ndarray, s: np.ndarray) -> np.ndarray:
        y, s = np.broadcast_arrays(np.asarray(y, float), np.asarray(s, float))
        narrow = np.minimum(s, 1.0)
        direct = _periodic_sum(y, narrow, _NORMAL_REACH, lambda u: _normal_pdf(u))
        wide = np.maximum(s, 1.0)
        # Poisson summation: the Fourier series converges in 4 terms for s ≥ 1.
        fourier = np.ones_like(y)
        for m in range(1, 5):
            fourier = fourier + 2 * np.exp(-2 * (np.pi * m * wide) ** 2) * np.cos(
                2 * np.pi * m * y
            )
        return np.where(s <= 1.0, direct, fourier)


class SmoothedFloor(_Special):
    """E floor(y + s Z) for Z ~ N(0, 1)."""

    nargs = 2

    @classmethod
    def numpy(cls, y: np.ndarray, s: np.ndarray) -> np.ndarray:
        y, s = np.broadcast_arrays(np.asarray(y, float), np.asarray(s, float))
        n = np.floor(y)
        f = y - n
        narrow = np.minimum(s, 1.0)
        reach = (math.ceil(_NORMAL_REACH * float(np.max(narrow, initial=0.0)))) + 2
        direct = n.copy()
        for j in range(1, reach + 1):
            direct = direct + _normal_cdf((f - j) / narrow)
            direct = direct - _normal_cdf((1 - j - f) / narrow)
        wide = np.maximum(s, 1.0)
        fourier = y - 0.5
        for m in range(1, 5):
            damping = np.exp(-2 * (np.pi * m * wide) ** 2)
            fourier = fourier + damping * np.sin(2 * np.pi * m * y) / (np.pi * m)
        return np.where(s <= 1.0, direct, fourier)


class PeriodicGaussianKernelPdf(_Special):
    """Σ_k p((y − k)/A)/A with p the density of `GaussianKernelPdf`."""

    nargs = 3
    static_args = 1

    @classmethod
    def numpy(cls, d: int, y: np.ndarray, a: np.ndarray) -> np.ndarray:
        y, a = np.broadcast_arrays(np.asarray(y, float), np.asarray(a, float))
        return _periodic_sum(
            y, a, _GAUSSIAN_KERNEL_REACH, lambda u: GaussianKernelPdf.numpy(d, u)
        )


class PeriodicBallKernelPdf(_Special):
    """Σ_k p((y − k)/A)/A with p the density of `BallKernelPdf`; a finite sum."""

    nargs = 3
    static_args = 1

    @classmethod
    def numpy(cls, d: int, y: np.ndarray, a: np.ndarray) -> np.ndarray:
        y, a = np.broadcast_arrays(np.asarray(y, float), np.asarray(a, float))
        return _periodic_sum(y, a, 1.0, lambda u: BallKernelPdf.numpy(d, u))


def _periodic_sum(y: np.ndarray, scale: np.ndarray, reach: float, pdf) -> np.ndarray:
    # Only the jumps k with |y − k| <= reach·scale contribute; the rest are below
    # the smallest float64.
    count = (math.ceil(reach * float(np.max(scale, initial=0.0)))) + 2
    if count > MAX_PERIODIC_TERMS:
        raise ResourceLimitError(
            f"the sum over the jumps of floor needs {count} terms, more than the "
            f"limit of {MAX_PERIODIC_TERMS}, because the kernel scale is large "
            "against the jump spacing; use method=mc"
        )
    n = np.floor(y)
    total = np.zeros_like(y)
    with np.errstate(divide="ignore", invalid="ignore"):
        for j in range(-count, count + 1):
            total = total + pdf((y - (n + j)) / scale) / scale
    return total


SPECIAL_FUNCTIONS: dict[str, type[_Special]] = {
    cls.__name__: cls
    for cls in [
        NormalCdf,
        GaussianKernelPdf,
        GaussianKernelTail,
        GaussianKernelFirstMoment,
        GaussianKernelCF,
        GaussianKernelMGF,
        BallKernelPdf,
        BallKernelTail,
        BallKernelFirstMoment,
        BallKernelCF,
        BallKernelMGF,
        PeriodicNormalPdf,
        SmoothedFloor,
        PeriodicGaussianKernelPdf,
        PeriodicBallKernelPdf,
    ]
}


def is_special(expr: sympy.Basic) -> bool:
    """Return whether `expr` is an application of one of the functions above."""
    return isinstance(expr, _Special)
