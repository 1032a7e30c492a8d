"""Closed forms in float64 and float32: tails, removable singularities, far arguments."""

from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest
from analytic_models import scalar_model

from nntk_lang.analytic import closed_form_gradient, special
from nntk_lang.ir.operators import Nonlocal, Smoothing

DTYPES = [np.float64, np.float32]
# float32 keeps about 7 digits, and its arguments are rounded before evaluation.
RTOL = {np.float64: 1e-10, np.float32: 2e-5}


def _scalar(name: str, op, theta: float, dtype) -> float:
    closed = closed_form_gradient(scalar_model(name), op, use_cache=False)
    value = closed.evaluate(np.array([theta]), np.zeros((1, 0)), dtype=dtype)
    assert value.dtype == dtype
    return float(value[0, 0])


def _g_relu_gaussian_1d(theta: float, gamma: float) -> float:
    # G relu(θ) = P(θ + U > 0) with U/γ of density E1(u²)/(2√π), by mpmath at 50
    # digits: the tail ∫_b^∞ E1(u²) du/(2√π) with b = −θ/γ.
    with mpmath.workdps(50):
        b = -mpmath.mpf(theta) / gamma
        tail = mpmath.quad(lambda u: mpmath.e1(u**2), [b, b + 2, b + 10, mpmath.inf])
        return float(tail / (2 * mpmath.sqrt(mpmath.pi)))


@pytest.mark.parametrize("dtype", DTYPES)
def test_g_relu_far_tail_positive(dtype):
    value = _scalar("relu", Nonlocal("gaussian", 0.1), -0.7, dtype)
    expected = _g_relu_gaussian_1d(-0.7, 0.1)
    assert expected == pytest.approx(2.05e-25, rel=0.01)
    assert value > 0
    assert value == pytest.approx(expected, rel=RTOL[dtype])


@pytest.mark.parametrize("dtype", DTYPES)
def test_s_sign_at_jump_is_finite(dtype):
    sigma = 0.3
    value = _scalar("sign", Smoothing(sigma), 0.0, dtype)
    assert value == pytest.approx(math.sqrt(2 / math.pi) / sigma, rel=RTOL[dtype])


@pytest.mark.parametrize("dtype", DTYPES)
def test_far_arguments_do_not_overflow(dtype):
    cases = [
        ("sign", Nonlocal("gaussian", 0.1), 40.0, 0.0),
        ("relu", Nonlocal("gaussian", 0.1), 40.0, 1.0),
        ("relu", Nonlocal("gaussian", 0.1), -40.0, 0.0),
        ("sign", Smoothing(0.1), -50.0, 0.0),
        ("relu", Smoothing(0.1), 50.0, 1.0),
        ("abs", Smoothing(0.1), -50.0, -1.0),
        ("sawtooth", Smoothing(0.05), 1e4 + 0.2, 1.0),
        ("sign", Nonlocal("ball", 0.2), 5.0, 0.0),
    ]
    for name, op, theta, expected in cases:
        value = _scalar(name, op, theta, dtype)
        assert np.isfinite(value), (name, op, theta)
        assert value == pytest.approx(expected, abs=1e-6), (name, op, theta)


def test_g_sign_far_tail_float64_and_float32():
    gamma, theta = 0.1, 1.2
    # G sign = 2 q(θ) with q = E1(θ²/γ²)/(2γ√π) the d = 1 kernel density.
    with mpmath.workdps(30):
        expected = float(
            mpmath.e1((mpmath.mpf(theta) / gamma) ** 2)
            / (gamma * mpmath.sqrt(mpmath.pi))
        )
    value64 = _scalar("sign", Nonlocal("gaussian", gamma), theta, np.float64)
    assert value64 == pytest.approx(expected, rel=1e-12)
    value32 = _scalar("sign", Nonlocal("gaussian", gamma), theta, np.float32)
    # 1e-64 is below float32's smallest subnormal, so 0 is the correct float32 value.
    assert value32 == 0.0


@pytest.mark.parametrize("nu", [0.5, 1.0, 1.5, 2.0, 2.5, 3.5])
def test_expint_scaled_against_mpmath(nu):
    xs = np.array([0.0, 1e-8, 0.3, 0.999, 1.0, 1.001, 2.5, 10.0, 144.0, 900.0, 1e5])
    value = special.expint_scaled(nu, xs)
    with mpmath.workdps(40):
        expected = []
        for x in xs:
            if x == 0:
                expected.append(math.inf if nu <= 1 else 1 / (nu - 1))
            else:
                e = mpmath.expint(nu, x) * mpmath.exp(x)
                expected.append(float(e))
    np.testing.assert_allclose(value, expected, rtol=1e-12)


@pytest.mark.parametrize("d", [1, 2, 3, 4])
def test_gaussian_kernel_tail_against_mpmath(d):
    bs = np.array([-3.0, -0.2, 0.0, 0.2, 1.0, 3.0, 7.0, 25.0])
    value = special.GaussianKernelTail.numpy(d, bs)
    n = (d + 1) / 2
    with mpmath.workdps(60):
        expected = []
        for b in bs:
            if b == 0:
                # U is symmetric about 0.
                expected.append(0.5)
                continue
            a = mpmath.mpf(abs(b))
            upper = mpmath.erfc(a) / 2 - a * mpmath.expint(n, a**2) / (
                2 * mpmath.sqrt(mpmath.pi)
            )
            expected.append(float(upper if b >= 0 else 1 - upper))
    np.testing.assert_allclose(value, expected, rtol=1e-11)
    assert np.all(value > 0)


@pytest.mark.parametrize("d", [1, 2, 3, 5])
def test_gaussian_kernel_cf_against_mpmath(d):
    ws = np.array([0.0, 1e-6, 0.5, 2.0, 8.0, 30.0])
    value = special.GaussianKernelCF.numpy(d, ws)
    expected = [float(mpmath.hyp1f1(d / 2, d / 2 + 1, -(w**2) / 4)) for w in ws]
    np.testing.assert_allclose(value, expected, rtol=1e-12)


@pytest.mark.parametrize("d", [1, 2, 3])
def test_ball_kernel_cf_against_quadrature(d):
    # E cos(w R W) with R the radius (density d r^(d-1)) and W one coordinate
    # (density ∝ (1 − x²)^((d−1)/2)) of a uniform point of the unit d-ball.
    ws = [0.0, 1e-7, 0.3, 1.999, 2.0, 2.001, 9.0]
    value = special.BallKernelCF.numpy(d, np.array(ws))
    norm = mpmath.quad(lambda x: (1 - x**2) ** ((d - 1) / 2), [-1, 1])
    for w, got in zip(ws, value):

        def integrand(r, x, w=w):
            weight = d * r ** (d - 1) * (1 - x**2) ** ((d - 1) / 2) / norm
            return mpmath.cos(w * r * x) * weight

        expected = mpmath.quad(integrand, [0, 1], [-1, 1])
        assert got == pytest.approx(float(expected), rel=1e-10, abs=1e-14), w


@pytest.mark.parametrize("d", [1, 2, 3])
def test_ball_kernel_mgf_against_quadrature(d):
    ws = [0.0, 1e-7, 0.3, 1.999, 2.0, 2.001, 9.0]
    value = special.BallKernelMGF.numpy(d, np.array(ws))
    norm = mpmath.quad(lambda x: (1 - x**2) ** ((d - 1) / 2), [-1, 1])
    for w, got in zip(ws, value):

        def integrand(r, x, w=w):
            weight = d * r ** (d - 1) * (1 - x**2) ** ((d - 1) / 2) / norm
            return mpmath.exp(w * r * x) * weight

        expected = mpmath.quad(integrand, [0, 1], [-1, 1])
        assert got == pytest.approx(float(expected), rel=1e-10), w


@pytest.mark.parametrize("d", [1, 2, 3, 5])
def test_gaussian_kernel_mgf_against_mpmath(d):
    ws = np.array([0.0, 1e-6, 0.5, 2.0, 8.0])
    value = special.GaussianKernelMGF.numpy(d, ws)
    expected = [float(mpmath.hyp1f1(d / 2, d / 2 + 1, w**2 / 4)) for w in ws]
    np.testing.assert_allclose(value, expected, rtol=1e-12)


@pytest.mark.parametrize("d", [1, 2, 3])
def test_ball_kernel_pdf_and_tail_edges(d):
    s = np.array([-1.5, -1.0, 0.0, 1.0, 1.5])
    tail = special.BallKernelTail.numpy(d, s)
    np.testing.assert_allclose(tail, [1.0, 1.0, 0.5, 0.0, 0.0], atol=1e-15)
    pdf = special.BallKernelPdf.numpy(d, s)
    # The density vanishes on and outside the boundary |s| = 1.
    for index in (0, 1, 3, 4):
        assert pdf[index] == 0.0, s[index]
    # The d = 1 density has a log singularity at 0; d = 2 and 3 are finite there.
    assert np.isinf(pdf[2]) if d == 1 else np.isfinite(pdf[2])


@pytest.mark.parametrize("scale", [0.05, 0.4, 0.999, 1.0, 1.7])
def test_periodic_normal_sums_against_mpmath(scale):
    ys = np.array([-2.3, 0.0, 0.49, 0.5, 3.75])
    pdf = special.PeriodicNormalPdf.numpy(ys, np.full_like(ys, scale))
    floor = special.SmoothedFloor.numpy(ys, np.full_like(ys, scale))
    for y, got_pdf, got_floor in zip(ys, pdf, floor):
        ks = range(math.floor(y) - 60, math.floor(y) + 61)
        expected_pdf = sum(mpmath.npdf((y - k) / scale) / scale for k in ks)
        # E floor(y + sZ) = Σ_k k P(k ≤ y + sZ < k + 1).
        expected_floor = sum(
            k * (mpmath.ncdf((k + 1 - y) / scale) - mpmath.ncdf((k - y) / scale))
            for k in ks
        )
        assert got_pdf == pytest.approx(float(expected_pdf), rel=1e-12)
        assert got_floor == pytest.approx(float(expected_floor), rel=1e-12, abs=1e-14)
