"""Tests of the attention-weighted nonlocal gradient."""

from __future__ import annotations

import math

import numpy as np
import pytest
import sympy
import torch
from scipy import integrate

from nntk_lang.errors import ConfigError
from nntk_lang.ir.network import init, mlp
from nntk_lang.ir.operators import Attention, Nonlocal
from nntk_lang.montecarlo.attention import attention_gradient
from nntk_lang.montecarlo.attention_kernel import attention_nntk
from nntk_lang.montecarlo.empirical_ntk import empirical_ntk
from nntk_lang.montecarlo.network_forward import forward, forward_batched

THETA = torch.tensor([0.3], dtype=torch.float64)


@pytest.fixture(autouse=True)
def _single_thread():
    # Small tensors: torch's intra-op threads only add synchronisation cost.
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def sine(params: torch.Tensor) -> torch.Tensor:
    return torch.sin(params[:, 0])[None, :]


def attention(score, tau: float, gamma: float = 0.5) -> Attention:
    return Attention(Nonlocal("gaussian", gamma), score, tau)


def self_normalised_limit(score, tau: float, gamma: float = 0.5) -> float:
    """E[e^{s/τ} h]/E[e^{s/τ}] for f = sin at 0.3 by quadrature."""

    def parts(z: float) -> tuple[float, float]:
        diff = math.sin(0.3 + z) - math.sin(0.3)
        s = score(diff, z)
        density = math.exp(-(z**2) / gamma**2 + s / tau)
        # diff/z tends to cos(0.3) at z = 0, where quad may evaluate.
        ratio = diff / z if z != 0 else math.cos(0.3)
        return density * ratio, density

    top = integrate.quad(lambda z: parts(z)[0], -10 * gamma, 10 * gamma, points=[0])
    bottom = integrate.quad(lambda z: parts(z)[1], -10 * gamma, 10 * gamma)
    return top[0] / bottom[0]


def test_group_d_limits(nonlocal_refs):
    records = [r for r in nonlocal_refs if r["group"] == "D"]
    assert len(records) == 7
    for record in records:
        tau = float(record["params"]["tau"])
        estimate = attention_gradient(
            sine, THETA, attention("output", tau), samples=200_000, seed=11
        )
        z = (estimate.value[0, 0] - record["value"]) / estimate.stderr[0, 0]
        assert abs(z) < 4, (tau, z)
        assert estimate.info["ess"].shape == (1,)


def test_fixed_tau_is_not_g(nonlocal_refs):
    record = next(
        r for r in nonlocal_refs if r["group"] == "D" and r["params"]["tau"] == 1.0
    )
    estimate = attention_gradient(
        sine, THETA, attention("output", 1.0), samples=400_000, seed=12
    )
    z_to_g = (estimate.value[0, 0] - record["G_reference"]) / estimate.stderr[0, 0]
    assert abs(z_to_g) > 6


def test_distance_score_matches_quadrature():
    tau, samples = 0.05, 200_000
    expected = self_normalised_limit(lambda diff, z: -(z**2), tau)
    estimate = attention_gradient(
        sine, THETA, attention("distance", tau), samples=samples, seed=13
    )
    z = (estimate.value[0, 0] - expected) / estimate.stderr[0, 0]
    assert abs(z) < 4, z
    # With z ~ N(0, v) and w = exp(−z²/τ), ESS/M → (E w)²/E w², a ratio of
    # Gaussian integrals; the sample ratio is within a few percent at this M.
    v = 0.5**2 / 2
    ess_fraction = math.sqrt(1 + 4 * v / tau) / (1 + 2 * v / tau)
    assert estimate.info["ess"][0] / samples == pytest.approx(ess_fraction, rel=0.02)


def test_expression_score_equals_output_score():
    df = sympy.Symbol("df", real=True)
    options = {"samples": 5000, "seed": 14}
    named = attention_gradient(sine, THETA, attention("output", 0.5), **options)
    written = attention_gradient(sine, THETA, attention(-(df**2), 0.5), **options)
    np.testing.assert_allclose(written.value, named.value, rtol=1e-14)


def test_distance_expression_matches_quadrature():
    dist = sympy.Symbol("dist")
    expected = self_normalised_limit(lambda diff, z: -abs(z), 0.3)
    estimate = attention_gradient(
        sine, THETA, attention(-dist, 0.3), samples=200_000, seed=15
    )
    z = (estimate.value[0, 0] - expected) / estimate.stderr[0, 0]
    assert abs(z) < 4, z


def test_infinite_tau_has_full_ess():
    estimate = attention_gradient(
        sine, THETA, attention("output", math.inf), samples=1000, seed=0
    )
    assert estimate.info["ess"][0] == pytest.approx(1000)


def test_result_is_chunk_size_invariant():
    options = {"samples": 10_000, "seed": 16}
    first = attention_gradient(
        sine, THETA, attention("output", 0.1), chunk_samples=64, **options
    )
    second = attention_gradient(
        sine, THETA, attention("output", 0.1), chunk_samples=10_000, **options
    )
    np.testing.assert_allclose(first.value, second.value, rtol=1e-12)
    np.testing.assert_allclose(first.stderr, second.stderr, rtol=1e-10)


def test_stderr_matches_spread_over_seeds():
    estimates, stderrs = [], []
    for seed in range(12):
        estimate = attention_gradient(
            sine, THETA, attention("output", 0.05), samples=4000, seed=seed
        )
        estimates.append(estimate.value[0, 0])
        stderrs.append(estimate.stderr[0, 0])
    ratio = np.std(estimates, ddof=1) / np.mean(stderrs)
    # With 12 seeds the sample std has about 20% relative error.
    assert 0.5 < ratio < 2.0, ratio


def test_network_gradient_with_infinite_tau():
    # Away from relu kinks the network is quadratic within the ball, so plain
    # G on the ball has the exact gradient as its expectation.
    net = mlp(in_features=1, width=6, depth=1, act="relu")
    theta = torch.tensor(init(net, seed=4))
    x = torch.tensor([[0.5], [-1.0]])
    pre = x * theta[:6] + theta[6:12]
    radius = 1e-3
    assert pre.abs().min() > 4 * radius

    def evaluate(params: torch.Tensor) -> torch.Tensor:
        return forward_batched(net, params, x)[..., 0].T

    operator = Attention(Nonlocal("ball", radius), "output", math.inf)
    estimate = attention_gradient(evaluate, theta, operator, samples=20_000, seed=17)
    jacobian = torch.func.jacrev(lambda p: forward(net, p, x)[:, 0])(theta).numpy()
    z = (estimate.value - jacobian) / estimate.stderr
    assert np.all(np.abs(z) < 4), z


@pytest.mark.parametrize(
    ("operator", "match"),
    [
        (attention("output", 0.0), "`tau` must be > 0"),
        (attention("energy", 1.0), "`score` must be output, distance"),
        (attention(sympy.Symbol("q"), 1.0), "not `q`"),
        (
            Attention(Nonlocal("gaussian", 0.5, blocks="neuron"), "output", 1.0),
            "blocks",
        ),
    ],
)
def test_rejects_invalid_operators(operator, match):
    with pytest.raises(ConfigError, match=match):
        attention_gradient(sine, THETA, operator, samples=100, seed=0)


def group_d_record(nonlocal_refs, tau: float) -> dict:
    return next(
        r
        for r in nonlocal_refs
        if r["group"] == "D" and float(r["params"]["tau"]) == tau
    )


@pytest.mark.parametrize("tau", [1.0, math.inf])
def test_kernel_matches_squared_limit(nonlocal_refs, tau):
    # For one input the kernel is the square of the gradient's M → ∞ limit.
    record = group_d_record(nonlocal_refs, tau)
    estimate = attention_nntk(
        sine, THETA, attention("output", tau), samples=200_000, seed=18
    )
    z = (estimate.value[0, 0] - record["value"] ** 2) / estimate.stderr[0, 0]
    assert abs(z) < 4, z
    assert "unbiased" in estimate.estimator


def test_kernel_on_network_matches_classical_ntk():
    net = mlp(in_features=1, width=6, depth=1, act="relu")
    theta = torch.tensor(init(net, seed=4))
    x = torch.tensor([[0.5], [-1.0], [0.2]])
    radius = 1e-3
    pre = x * theta[:6] + theta[6:12]
    assert pre.abs().min() > 4 * radius

    def evaluate(params: torch.Tensor) -> torch.Tensor:
        return forward_batched(net, params, x)[..., 0].T

    operator = Attention(Nonlocal("ball", radius), "output", math.inf)
    estimate = attention_nntk(evaluate, theta, operator, samples=4096, seed=19)
    classical = empirical_ntk(net, theta, x).numpy()
    z = (estimate.value - classical) / estimate.stderr
    assert np.all(np.abs(z) < 4), z


def test_kernel_psd_statistic_is_psd():
    def evaluate(params: torch.Tensor) -> torch.Tensor:
        inputs = torch.linspace(-1, 1, 6, dtype=torch.float64)[:, None]
        return torch.sin(inputs * params[:, 0] + params[:, 1])

    theta = torch.tensor([0.7, -0.2], dtype=torch.float64)
    estimate = attention_nntk(
        evaluate, theta, attention("output", 0.3), samples=64, seed=0, statistic="psd"
    )
    assert np.linalg.eigvalsh(estimate.value).min() > -1e-12


def test_kernel_is_chunk_size_invariant():
    options = {"samples": 4000, "seed": 20}
    first = attention_nntk(
        sine, THETA, attention("output", 0.1), chunk_samples=100, **options
    )
    second = attention_nntk(
        sine, THETA, attention("output", 0.1), chunk_samples=4000, **options
    )
    np.testing.assert_allclose(first.value, second.value, rtol=1e-12)
    np.testing.assert_allclose(first.stderr, second.stderr, rtol=1e-9)
