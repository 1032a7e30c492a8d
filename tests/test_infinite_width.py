"""Tests of the infinite-width NNGP, NTK and smoothed NNTK closed forms."""

from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest
import torch

from nntk_lang.analytic.infinite_width import infinite_width_kernels, nntk, ntk
from nntk_lang.analytic.smoothed_network import (
    smoothed_activation,
    smoothed_network_nntk,
)
from nntk_lang.errors import ConfigError, NoClosedForm
from nntk_lang.ir.network import init, mlp
from nntk_lang.ir.operators import Nonlocal, Smoothing
from nntk_lang.montecarlo.empirical_ntk import empirical_ntk

NT_CASES = [("relu", "relu", 1), ("erf", "erf", 1), ("sign", "sign", 1)]
NT_CASES += [("abs", "abs", 1), ("relu_2hidden", "relu", 2)]


def assert_matches_reference(actual: np.ndarray, expected: np.ndarray) -> None:
    """Off-diagonal entries to 1e-6 relative, the diagonal to 1e-7 absolute."""
    expected = np.asarray(expected)
    off = ~np.eye(len(expected), dtype=bool)
    np.testing.assert_allclose(actual[off], expected[off], rtol=1e-6, atol=0)
    np.testing.assert_allclose(np.diag(actual), np.diag(expected), rtol=0, atol=1e-7)


@pytest.mark.parametrize(("key", "act", "depth"), NT_CASES)
def test_ntk_matches_neural_tangents(nt_refs, key, act, depth):
    net = mlp(in_features=1, width=512, depth=depth, act=act)
    x = np.array(nt_refs["inputs"]["x"])
    result = ntk(net, x)
    assert result.method == "analytic"
    assert_matches_reference(result.value, nt_refs["analytic"][key]["ntk"])
    assert_matches_reference(result.info["nngp"], nt_refs["analytic"][key]["nngp"])


def group_c_network(function: str):
    # f = n^(-1/2) Σ a_i act(w_i x + b_i): hidden biases, no readout bias.
    act = function.removeprefix("two_layer_")
    return mlp(in_features=1, width=1, depth=1, act=act, bias="hidden")


def test_nntk_matches_group_c_pairs(nonlocal_refs):
    records = [r for r in nonlocal_refs if r["operator"] == "NNTK_S_limit"]
    assert len(records) == 30
    for record in records:
        net = group_c_network(record["function"])
        operator = Smoothing(sigma=record["params"]["sigma"])
        x1 = np.array([record["at"]["x"]])
        x2 = np.array([record["at"]["x_prime"]])
        value = nntk(net, operator, x1, x2).value[0, 0]
        assert value == pytest.approx(record["value"], rel=1e-8), record["at"]


def test_nntk_matches_group_c_matrices(nonlocal_refs):
    records = [r for r in nonlocal_refs if r["operator"] == "NNTK_S_limit_matrix"]
    assert {r["function"] for r in records} == {"two_layer_relu", "two_layer_sign"}
    for record in records:
        net = group_c_network(record["function"])
        operator = Smoothing(sigma=record["params"]["sigma"])
        value = nntk(net, operator, np.array(record["at"]["x"])).value
        np.testing.assert_allclose(value, record["value"], rtol=1e-8)


def test_relu_nntk_small_sigma_limit(nonlocal_refs):
    records = [r for r in nonlocal_refs if r["operator"] == "NNTK_S_limit_sigma0"]
    assert len(records) == 15
    net = group_c_network("two_layer_relu")
    for record in records:
        x1 = np.array([record["at"]["x"]])
        x2 = np.array([record["at"]["x_prime"]])
        classical = ntk(net, x1, x2).value[0, 0]
        assert classical == pytest.approx(record["value"], rel=1e-8)
        # On the diagonal the smoothed angle, and so the kernel, moves by O(σ).
        smoothed = nntk(net, Smoothing(sigma=1e-10), x1, x2).value[0, 0]
        assert smoothed == pytest.approx(record["value"], rel=1e-8)
        if "sigma_0_1_value" in record:
            at_tenth = nntk(net, Smoothing(sigma=0.1), x1, x2).value[0, 0]
            assert at_tenth == pytest.approx(record["sigma_0_1_value"], rel=1e-8)


def test_zero_input_gives_zero_row():
    net = mlp(in_features=2, width=4, depth=2, act="relu", bias=False)
    x = np.array([[0.0, 0.0], [1.0, 0.5], [-0.3, 2.0]])
    kernels = infinite_width_kernels(net, x)
    assert np.all(np.isfinite(kernels.ntk))
    assert np.all(kernels.ntk[0] == 0.0)
    assert np.all(kernels.ntk[:, 0] == 0.0)
    assert np.all(kernels.ntk[1:, 1:] != 0.0)


@pytest.mark.parametrize("act", ["relu", "sign", "step", "abs", "erf"])
def test_zero_input_under_smoothing_is_finite(act):
    net = mlp(in_features=1, width=4, depth=1, act=act, bias="none")
    kernels = infinite_width_kernels(net, np.array([0.0, 1.0]), sigma=0.3)
    assert np.all(np.isfinite(kernels.ntk))
    assert kernels.nngp[0, 0] == 0.0


def mp_relu_ntk(u: np.ndarray, v: np.ndarray) -> float:
    """The one-hidden-layer relu NTK without readout bias in 50-digit arithmetic."""
    mpmath.mp.dps = 50
    u = [mpmath.mpf(float(value)) for value in u]
    v = [mpmath.mpf(float(value)) for value in v]
    dot = mpmath.fsum(a * b for a, b in zip(u, v))
    nu = mpmath.sqrt(mpmath.fsum(a * a for a in u))
    nv = mpmath.sqrt(mpmath.fsum(b * b for b in v))
    angle = mpmath.acos(min(dot / (nu * nv), mpmath.mpf(1)))
    value = (
        nu
        * nv
        / (2 * mpmath.pi)
        * (mpmath.sin(angle) + (mpmath.pi - angle) * mpmath.cos(angle))
    )
    derivative = (mpmath.pi - angle) / (2 * mpmath.pi)
    return float(value + dot * derivative)


def test_parallel_float32_inputs_keep_digits():
    net = mlp(in_features=2, width=4, depth=1, act="relu", bias="hidden")
    x = np.array([[1.0, 2.0], [1.0000001, 2.0000002], [3.0, 6.0]], dtype=np.float32)
    kernel = ntk(net, x).value
    assert np.all(np.isfinite(kernel))
    features = np.concatenate([x.astype(np.float64) / math.sqrt(2), np.ones((3, 1))], 1)
    for i in range(3):
        for j in range(3):
            expected = mp_relu_ntk(features[i], features[j])
            assert kernel[i, j] == pytest.approx(expected, rel=1e-14), (i, j)


def test_rejects_what_has_no_closed_form():
    with pytest.raises(NoClosedForm, match="activation `tanh`"):
        ntk(mlp(in_features=1, width=4, depth=1, act="tanh"), np.zeros(2))
    with pytest.raises(NoClosedForm, match="ntk parameterisation"):
        ntk(mlp(in_features=1, width=4, depth=1, act="relu", param="standard"), [0.0])
    deep = mlp(in_features=1, width=4, depth=2, act="relu")
    with pytest.raises(NoClosedForm, match="one hidden layer"):
        nntk(deep, Smoothing(sigma=0.1), np.zeros(2))
    shallow = mlp(in_features=1, width=4, depth=1, act="relu")
    with pytest.raises(NoClosedForm, match="under smoothing only"):
        nntk(shallow, Nonlocal("gaussian", 0.5), np.zeros(2))
    with pytest.raises(ConfigError, match="width=inf only"):
        ntk(shallow, np.zeros(2), width=512)


@pytest.mark.slow
@pytest.mark.parametrize("act", ["relu", "erf"])
def test_wide_network_ntk_matches_limit(act):
    # For one hidden layer, E over init of the empirical NTK equals the limit
    # exactly, so the mean over seeds must agree within its standard error.
    net = mlp(in_features=1, width=4096, depth=1, act=act)
    x = torch.tensor([-2.0, -0.5, 0.0, 0.3, 1.0])
    samples = torch.stack(
        [empirical_ntk(net, torch.tensor(init(net, seed)), x) for seed in range(40)]
    ).numpy()
    mean = samples.mean(0)
    stderr = samples.std(0, ddof=1) / math.sqrt(len(samples))
    limit = ntk(net, x.numpy()).value
    z = (mean - limit) / stderr
    assert np.all(np.abs(z) < 4), z


@pytest.mark.slow
@pytest.mark.parametrize("blocks", ["all", "layer"])
def test_smoothed_limit_matches_wide_exact_kernels(blocks):
    # The exact finite-width kernel averaged over initialisations equals the
    # limit for one hidden layer, for both block layouts.
    net = mlp(in_features=1, width=4096, depth=1, act="relu", bias="hidden")
    x = np.array([-2.0, 0.0, 1.0])
    samples = np.stack(
        [
            smoothed_network_nntk(
                net, init(net, seed), x, sigma=0.5, blocks=blocks
            ).value
            for seed in range(40)
        ]
    )
    stderr = samples.std(0, ddof=1) / math.sqrt(len(samples))
    limit = nntk(net, Smoothing(0.5, blocks=blocks), x).value
    z = (samples.mean(0) - limit) / stderr
    assert np.all(np.abs(z) < 4), z


def quadrature_smoothed_limit(act: str, x1: float, x2: float, sigma: float) -> float:
    """The smoothed NNTK limit by 2-D Gauss-Hermite quadrature over (u, v).

    K = E[φ_s(u) φ_s'(v)] + Σ₁₂ E[φ_s'(u) φ_s''(v)] for the network of group C
    (hidden biases, no readout bias), with (u, v) ~ N(0, Σ) for
    Σ = [[x1² + 1, x1 x2 + 1], [x1 x2 + 1, x2² + 1]], and φ_s the smoothed
    activation of the finite-width closed form.
    """
    nodes, weights = np.polynomial.hermite_e.hermegauss(120)
    weights = weights / weights.sum()
    cov = np.array([[x1 * x1 + 1, x1 * x2 + 1], [x1 * x2 + 1, x2 * x2 + 1]])
    # Cholesky factor written out, because Σ is singular when x1 = x2.
    first = math.sqrt(cov[0, 0])
    coupling = cov[0, 1] / first
    rest = math.sqrt(max(cov[1, 1] - coupling**2, 0.0))
    a, b = np.meshgrid(nodes, nodes, indexing="ij")
    u = first * a
    v = coupling * a + rest * b
    mass = np.outer(weights, weights)
    s1 = sigma * math.sqrt(cov[0, 0])
    s2 = sigma * math.sqrt(cov[1, 1])
    value_u, slope_u = smoothed_activation(act, u, s1)
    value_v, slope_v = smoothed_activation(act, v, s2)
    return float((mass * (value_u * value_v + cov[0, 1] * slope_u * slope_v)).sum())


@pytest.mark.parametrize("act", ["relu", "sign", "step", "erf"])
def test_smoothed_limit_matches_quadrature(act):
    net = mlp(in_features=1, width=1, depth=1, act=act, bias="hidden")
    for x1, x2 in [(-2.0, -0.5), (0.3, 1.0), (0.5, 0.5)]:
        value = nntk(net, Smoothing(0.5), np.array([x1]), np.array([x2])).value
        expected = quadrature_smoothed_limit(act, x1, x2, 0.5)
        assert value[0, 0] == pytest.approx(expected, rel=1e-7), (x1, x2)
