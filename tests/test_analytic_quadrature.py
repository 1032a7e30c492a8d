"""Closed forms against mpmath quadrature of the operators' definitions.

G f(θ) = d ∫ (f(θ+z) − f(θ)) z/‖z‖² ρ(z) dz is integrated in polar coordinates
z = rω: for d = 2 over (r, φ), for d = 3 over (r, cos ψ) with ψ the angle to v
(the surface measure of the sphere is uniform in cos ψ), and for d = 1 over z.
Breakpoints sit where the integrand jumps, so the quadrature error stays far
below the tolerance.
"""

from __future__ import annotations

import itertools
import math
import zlib

import mpmath
import numpy as np
import pytest
import sympy
from analytic_models import THETA, A, B, W, X, neuron_model, scalar_function
from scipy import integrate

from nntk_lang.analytic import closed_form_gradient
from nntk_lang.ir.operators import Nonlocal, Smoothing
from nntk_lang.ir.symbolic import SymbolicModelIR, real_symbol

RTOL = 1e-7
G_FUNCTIONS = [
    "sign",
    "step",
    "relu",
    "abs",
    "sawtooth",
    "round",
    "sin",
    "cos",
    "floor",
]
G_FUNCTIONS += ["cubic", "ceil", "clip", "maxmin", "exp"]
S_FUNCTIONS = [*G_FUNCTIONS, "erf", "relu2"]


_PLAIN = {
    "sign": lambda t: (t > 0) - (t < 0),
    "step": lambda t: 1.0 if t > 0 else 0.0,
    "relu": lambda t: max(t, 0.0),
    "abs": abs,
    "sawtooth": lambda t: t - math.floor(t + 0.5),
    "round": lambda t: math.floor(t + 0.5),
    "sin": math.sin,
    "floor": math.floor,
    "cos": math.cos,
    "exp": math.exp,
    "erf": math.erf,
    "relu2": lambda t: max(t, 0.0) ** 2,
    "cubic": lambda t: t**3 - t,
    "ceil": math.ceil,
    "clip": lambda t: min(max(t, -1.0), 0.5),
    "maxmin": lambda t: max(t, -0.2) + min(2 * t, 0.5),
}


def _numeric(name: str):
    """Return g as a plain float function, independent of the sympy builtins."""
    plain = _PLAIN[name]
    return lambda t: float(plain(float(t)))


def _jumps(name: str, lo: float, hi: float) -> list[float]:
    if name in ("sign", "step", "relu", "abs", "relu2"):
        points = [0.0]
    elif name in ("sawtooth", "round"):
        points = [k + 0.5 for k in range(math.floor(lo) - 1, math.ceil(hi) + 1)]
    elif name in ("floor", "ceil"):
        points = [float(k) for k in range(math.floor(lo) - 1, math.ceil(hi) + 2)]
    elif name == "clip":
        points = [-1.0, 0.5]
    elif name == "maxmin":
        points = [-0.2, 0.25]
    else:
        points = []
    return [p for p in points if lo < p < hi]


def _quad(f, lo: float, hi: float, breaks: list[float]) -> float:
    nodes = [lo, *sorted(breaks), hi]
    return float(mpmath.quad(f, nodes))


def _g_1d(name: str, theta: float, kernel: str, scale: float) -> float:
    g = _numeric(name)
    base = g(theta)
    if kernel == "gaussian":

        def density(z):
            return mpmath.exp(-(z**2) / scale**2) / (scale * mpmath.sqrt(mpmath.pi))

        reach = 12 * scale
    else:

        def density(z):
            return 1 / (2 * scale)

        reach = scale
    breaks = [j - theta for j in _jumps(name, theta - reach, theta + reach)]

    def integrand(z):
        if z == 0:
            return 0
        return (g(theta + z) - base) / z * density(z)

    return _quad(integrand, -reach, reach, [0.0, *breaks])


def _s_1d(name: str, theta: float, sigma: float) -> float:
    g = _numeric(name)
    breaks = [
        (j - theta) / sigma
        for j in _jumps(name, theta - 12 * sigma, theta + 12 * sigma)
    ]

    def integrand(u):
        return g(theta + sigma * u) * u * mpmath.npdf(u)

    return _quad(integrand, -12, 12, breaks) / sigma


def _closed_scalar(name: str, op, theta: float) -> float:
    model = SymbolicModelIR(name, (), (THETA,), scalar_function(name))
    if name == "floor":
        model = SymbolicModelIR(name, (), (THETA,), sympy.floor(THETA))
    closed = closed_form_gradient(model, op, use_cache=False)
    return float(closed.evaluate(np.array([theta]), np.zeros((1, 0)))[0, 0])


@pytest.mark.parametrize("name", [*G_FUNCTIONS, "relu2"])
def test_scalar_g_against_quadrature(name):
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    for kernel in ("gaussian", "ball"):
        for theta, scale in zip(rng.uniform(-1.5, 1.5, 2), rng.uniform(0.2, 1.2, 2)):
            closed = _closed_scalar(name, Nonlocal(kernel, float(scale)), float(theta))
            expected = _g_1d(name, float(theta), kernel, float(scale))
            assert closed == pytest.approx(expected, rel=RTOL, abs=1e-12), (
                kernel,
                theta,
                scale,
            )


@pytest.mark.parametrize("name", S_FUNCTIONS)
def test_scalar_s_against_quadrature(name):
    rng = np.random.default_rng(zlib.crc32(name.encode()) + 1)
    for theta, sigma in zip(rng.uniform(-1.5, 1.5, 2), rng.uniform(0.1, 1.5, 2)):
        closed = _closed_scalar(name, Smoothing(float(sigma)), float(theta))
        expected = _s_1d(name, float(theta), float(sigma))
        assert closed == pytest.approx(expected, rel=RTOL, abs=1e-12), (theta, sigma)


def _radial_density(kernel: str, scale: float, d: int):
    """Return p(r), the density of ‖z‖, and its cutoff."""
    if kernel == "ball":
        return (lambda r: d * r ** (d - 1) / scale**d), scale
    sphere = 2 * mpmath.pi ** (d / 2) / mpmath.gamma(d / 2)

    def density(r):
        return (
            sphere
            * r ** (d - 1)
            * mpmath.exp(-(r**2) / scale**2)
            / (mpmath.pi * scale**2) ** (d / 2)
        )

    # e^(−6.5²) < 1e-18, far below the test tolerance.
    return density, 6.5 * scale


def _ridge_g_along_v(
    name: str, t: float, norm: float, kernel: str, scale: float, d: int
):
    """Return the component of G f along v̂ for f(θ) = g(v·θ + c), by quadrature."""
    p, cutoff = _radial_density(kernel, scale, d)
    g = _numeric(name)
    base = g(t)
    reach = cutoff * norm
    jumps = [j - t for j in _jumps(name, t - reach, t + reach)]

    def sphere_average(r):
        # E_ω[(g(t + r‖v‖ω₁) − g(t)) ω₁] over the unit sphere of R^d.
        a = r * norm

        def h(c):
            return (g(t + a * c) - base) * c

        breaks = sorted(j / a for j in jumps if abs(j) < a)
        if d == 1:
            return (h(1.0) + h(-1.0)) / 2
        if d == 2:
            # φ and 2π − φ give the same ω₁, so average over [0, π]. scipy's
            # adaptive quad keeps this inner integral fast; the jumps are nodes.
            a = float(a)
            nodes = [0.0, *sorted(math.acos(c) for c in breaks), math.pi]
            pieces = [
                integrate.quad(
                    lambda q: h(math.cos(q)), lo, hi, epsabs=1e-13, epsrel=1e-11
                )[0]
                for lo, hi in itertools.pairwise(nodes)
            ]
            return sum(pieces) / math.pi
        return mpmath.quad(h, [-1.0, *breaks, 1.0]) / 2

    radial_breaks = sorted({abs(j) / norm for j in jumps if 0 < abs(j) / norm < cutoff})
    integral = mpmath.quad(
        lambda r: p(r) * sphere_average(r) / r, [0, *radial_breaks, cutoff]
    )
    return d * float(integral)


@pytest.mark.parametrize("kernel", ["gaussian", "ball"])
@pytest.mark.parametrize("d", [1, 2, 3])
@pytest.mark.parametrize("activation", ["sign", "relu", "sin", "sawtooth"])
def test_ridge_reduction_against_quadrature(kernel, d, activation):
    _check_ridge_reduction(kernel, d, activation)


@pytest.mark.parametrize("kernel", ["gaussian", "ball"])
@pytest.mark.parametrize("d", [2, 3])
def test_ridge_relu_squared(kernel, d):
    _check_ridge_reduction(kernel, d, "relu2")


def _check_ridge_reduction(kernel: str, d: int, activation: str) -> None:
    # f(θ) = act(v·θ + c) with θ ∈ R^d and v = (x, 1, 1, ...)[:d].
    params = [real_symbol(f"p{i}") for i in range(d)]
    x_value, scale = 0.8, 0.6
    coeffs = [x_value, 1.0, -0.5][:d]
    theta = np.array([0.3, -0.4, 0.2][:d])
    form = sum(c * p for c, p in zip(coeffs, params))
    model = SymbolicModelIR(
        "ridge", (), tuple(params), scalar_function(activation, form)
    )
    closed = closed_form_gradient(model, Nonlocal(kernel, scale), use_cache=False)
    value = closed.evaluate(theta, np.zeros((1, 0)))[0]

    v = np.array(coeffs)
    norm = float(np.linalg.norm(v))
    along = _ridge_g_along_v(activation, float(v @ theta), norm, kernel, scale, d)
    np.testing.assert_allclose(value, along * v / norm, rtol=RTOL, atol=1e-12)


def test_neuron_s_against_2d_quadrature():
    # S of sign(w x + b) straight from σ⁻¹ E[f(θ + σu) u], u ~ N(0, I₂).
    sigma, x_value, theta = 0.4, -0.7, (0.9, 0.3)
    closed = closed_form_gradient(
        neuron_model("sign"), Smoothing(sigma), use_cache=False
    )
    value = closed.evaluate(np.array(theta), np.array([[x_value]]))[0]

    def f(u1, u2):
        return _PLAIN["sign"]((theta[0] + sigma * u1) * x_value + theta[1] + sigma * u2)

    def pdf(u):
        return math.exp(-0.5 * float(u) ** 2) / math.sqrt(2 * math.pi)

    def component(k):
        def inner(u1):
            # The jump in u2 for fixed u1.
            jump = -((theta[0] + sigma * u1) * x_value + theta[1]) / sigma
            # scipy's adaptive quad keeps the inner integral fast; the jump is a
            # breakpoint, so each piece is smooth.
            u1 = float(u1)
            total = 0.0
            nodes = [-9, jump, 9] if -9 < jump < 9 else [-9, 9]
            for lo, hi in itertools.pairwise(nodes):
                total += integrate.quad(
                    lambda u2: f(u1, u2) * (u1, u2)[k] * pdf(u2),
                    lo,
                    hi,
                    epsabs=1e-14,
                    epsrel=1e-12,
                )[0]
            return total * pdf(u1)

        return float(mpmath.quad(inner, [-9, 9])) / sigma

    np.testing.assert_allclose(value, [component(0), component(1)], rtol=RTOL)


def test_separable_product_s_against_quadrature():
    # f = a·relu(w x + b): S_a = E relu(·), S_w and S_b = a σ⁻¹ E[relu(·) u].
    sigma, x_value, theta = 0.5, 1.3, (0.7, -0.4, 0.2)
    model = SymbolicModelIR(
        "neuron", (X,), (A, W, B), A * scalar_function("relu", W * X + B)
    )
    closed = closed_form_gradient(model, Smoothing(sigma), use_cache=False)
    value = closed.evaluate(np.array(theta), np.array([[x_value]]))[0]

    a, w, b = theta
    norm = math.hypot(x_value, 1.0)
    t = w * x_value + b

    # The smoothed ridge factor depends on u only through v·u/‖v‖ ~ N(0, 1).
    def expect(weight):
        lo = -t / (sigma * norm)
        return float(
            mpmath.quad(
                lambda z: max(t + sigma * norm * z, 0) * weight(z) * mpmath.npdf(z),
                [-12, lo, 12] if -12 < lo < 12 else [-12, 12],
            )
        )

    s_a = expect(lambda z: 1)
    along = a * expect(lambda z: z) / sigma
    expected = [s_a, along * x_value / norm, along / norm]
    np.testing.assert_allclose(value, expected, rtol=RTOL)
