"""Tests of the Monte Carlo network NNTK against exact values."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from nntk_lang.analytic.infinite_width import nntk as limit_nntk
from nntk_lang.analytic.smoothed_network import smoothed_network_nntk
from nntk_lang.errors import ConfigError, ResourceLimitError
from nntk_lang.ir.network import init, mlp
from nntk_lang.ir.operators import Attention, Nonlocal, Smoothing
from nntk_lang.montecarlo import random_tiles
from nntk_lang.montecarlo.empirical_ntk import empirical_ntk
from nntk_lang.montecarlo.network import block_outputs, network_nntk
from nntk_lang.montecarlo.network_forward import forward_batched

X = np.array([-1.0, 0.3, 1.0])


@pytest.fixture(autouse=True)
def _single_thread():
    # These tensors are small, so torch's intra-op threads only add
    # synchronisation cost, which grows sharply on a loaded 2-core machine.
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def assert_z_below(estimate, reference, bound: float = 4.0) -> None:
    z = (estimate.value - reference) / estimate.stderr
    assert np.all(np.abs(z) < bound), z


@pytest.mark.parametrize("blocks", ["all", "neuron"])
@pytest.mark.parametrize("act", ["sign", "relu", "erf"])
def test_smoothing_matches_exact_finite_width(act, blocks):
    net = mlp(in_features=1, width=24, depth=1, act=act)
    theta = init(net, seed=1)
    exact = smoothed_network_nntk(net, theta, X, sigma=0.3).value
    estimate = network_nntk(
        net, Smoothing(0.3), theta, X, samples=2048, seed=7, blocks=blocks
    )
    assert estimate.method == "mc"
    assert "unbiased" in estimate.estimator
    assert_z_below(estimate, exact)


def test_neuron_blocks_cut_variance_under_smoothing():
    # f is a sum of per-neuron terms, so both estimators have the exact
    # expectation; the per-neuron one has a much smaller standard error.
    net = mlp(in_features=1, width=256, depth=1, act="sign")
    theta = init(net, seed=2)
    exact = smoothed_network_nntk(net, theta, X, sigma=0.5).value
    options = {"samples": 2048, "seed": 3}
    full = network_nntk(net, Smoothing(0.5), theta, X, blocks="all", **options)
    neuron = network_nntk(net, Smoothing(0.5), theta, X, blocks="neuron", **options)
    assert_z_below(full, exact)
    assert_z_below(neuron, exact)
    variance_ratio = (full.stderr / neuron.stderr) ** 2
    assert np.all(variance_ratio > 5), variance_ratio


def relu_point_away_from_kinks(radius: float):
    """A relu network whose pre-activations stay clear of 0 within `radius`."""
    net = mlp(in_features=1, width=12, depth=1, act="relu")
    theta = init(net, seed=4)
    first = net.layers[0]
    pre = X[:, None] * theta[:12] + theta[12:24]
    # A perturbation of norm ≤ radius moves w x + b by at most radius (|x| + 1).
    assert np.min(np.abs(pre)) > 2 * radius * (np.max(np.abs(X)) + 1)
    assert first.weight_scale == 1.0
    return net, theta


@pytest.mark.parametrize("blocks", ["all", "layer", "neuron"])
def test_ball_g_exact_on_quadratic(blocks):
    # Within the ball the network is a quadratic in θ, and G of a quadratic
    # is its gradient for a symmetric kernel, so E[K̂] is the classical NTK.
    net, theta = relu_point_away_from_kinks(radius=1e-3)
    classical = empirical_ntk(net, torch.tensor(theta), torch.tensor(X)).numpy()
    operator = Nonlocal("ball", 1e-3)
    estimate = network_nntk(
        net, operator, theta, X, samples=1024, seed=5, blocks=blocks
    )
    assert_z_below(estimate, classical)


def test_density_divides_by_block_size():
    net, theta = relu_point_away_from_kinks(radius=1e-3)
    options = {"samples": 512, "seed": 6, "blocks": "all"}
    consistent = network_nntk(net, Nonlocal("ball", 1e-3), theta, X, **options)
    density = network_nntk(
        net, Nonlocal("ball", 1e-3, normalize="density"), theta, X, **options
    )
    np.testing.assert_allclose(density.value * net.n_params**2, consistent.value)


def test_result_is_chunk_size_invariant():
    net = mlp(in_features=2, width=10, depth=2, act="tanh")
    theta = init(net, seed=0)
    x = np.array([[0.1, -0.4], [1.0, 2.0]])
    reference = network_nntk(net, Smoothing(0.2), theta, x, samples=640, seed=1)
    for options in [
        {"chunk_samples": 64, "chunk_params": 7, "assembly": "gram"},
        {"chunk_samples": 320, "chunk_params": 50, "assembly": "projection"},
        {"memory_bytes": 10_000},
    ]:
        other = network_nntk(
            net, Smoothing(0.2), theta, x, samples=640, seed=1, **options
        )
        np.testing.assert_allclose(other.value, reference.value, rtol=1e-12)
        np.testing.assert_allclose(other.stderr, reference.stderr, rtol=1e-10)


def test_neuron_path_is_chunk_size_invariant():
    net = mlp(in_features=1, width=40, depth=1, act="sign")
    theta = init(net, seed=0)
    first = network_nntk(
        net, Nonlocal("ball", 0.2), theta, X, samples=384, seed=2, blocks="neuron"
    )
    second = network_nntk(
        net,
        Nonlocal("ball", 0.2),
        theta,
        X,
        samples=384,
        seed=2,
        blocks="neuron",
        chunk_samples=64,
    )
    np.testing.assert_allclose(second.value, first.value, rtol=1e-12)


def test_seed_reproduces_and_changes_result():
    net = mlp(in_features=1, width=8, depth=1, act="relu")
    theta = init(net, seed=0)
    first = network_nntk(net, Smoothing(0.1), theta, X, samples=256, seed=9)
    again = network_nntk(net, Smoothing(0.1), theta, X, samples=256, seed=9)
    other = network_nntk(net, Smoothing(0.1), theta, X, samples=256, seed=10)
    assert np.array_equal(first.value, again.value)
    assert not np.array_equal(first.value, other.value)


def test_psd_statistic_is_positive_semidefinite():
    net = mlp(in_features=1, width=8, depth=1, act="sign")
    theta = init(net, seed=0)
    x = np.linspace(-2, 2, 9)
    unbiased = network_nntk(net, Smoothing(0.2), theta, x, samples=64, seed=0)
    psd = network_nntk(
        net, Smoothing(0.2), theta, x, samples=64, seed=0, statistic="psd"
    )
    assert "PSD V-statistic" in psd.estimator
    assert np.linalg.eigvalsh(psd.value).min() > -1e-10
    # The kept m = m' terms add a positive diagonal bias.
    assert np.all(np.diag(psd.value) > np.diag(unbiased.value))


def test_block_outputs_match_full_forward():
    net = mlp(in_features=2, width=6, depth=2, act="erf")
    theta = torch.tensor(init(net, seed=0))
    x = torch.tensor([[0.5, -1.0], [2.0, 0.1], [0.0, 0.0]])
    generator = torch.Generator().manual_seed(0)
    offsets = net.layer_offsets()
    for start, stop in [(0, net.n_params), (offsets[1], offsets[2]), (30, 45)]:
        delta = torch.randn(5, stop - start, generator=generator)
        full = theta.expand(5, -1).clone()
        full[:, start:stop] += delta
        expected = forward_batched(net, full, x)[..., 0]
        assert torch.allclose(block_outputs(net, theta, x, start, delta), expected)


def test_rejects_unsupported_requests():
    net = mlp(in_features=1, width=4, depth=2, act="relu")
    theta = init(net, seed=0)
    with pytest.raises(ConfigError, match="blocks=neuron needs a one-hidden-layer"):
        network_nntk(net, Smoothing(0.1), theta, X, samples=64, seed=0, blocks="neuron")
    attention = Attention(Nonlocal("gaussian", 0.5), "output", 1.0)
    with pytest.raises(ConfigError, match="not a plain G or S operator"):
        network_nntk(net, attention, theta, X, samples=64, seed=0)
    with pytest.raises(ConfigError, match="jackknife groups"):
        network_nntk(net, Smoothing(0.1), theta, X, samples=8, seed=0)
    wide_out = mlp(in_features=1, width=4, depth=1, act="relu", out=2)
    with pytest.raises(ConfigError, match="out=1"):
        network_nntk(wide_out, Smoothing(0.1), init(wide_out, 0), X, samples=64, seed=0)


@pytest.mark.slow
def test_wide_sign_network_matches_limit():
    # K at a random init has mean equal to the limit (one hidden layer), so the
    # spread over seeds, which includes the Monte Carlo noise, gives the stderr.
    net = mlp(in_features=1, width=4096, depth=1, act="sign", bias="hidden")
    x = np.array([-2.0, 0.0, 1.0])
    limit = limit_nntk(net, Smoothing(0.5), x).value
    estimates = np.stack(
        [
            network_nntk(
                net,
                Smoothing(0.5, blocks="neuron"),
                init(net, seed),
                x,
                samples=128,
                seed=100 + seed,
            ).value
            for seed in range(20)
        ]
    )
    stderr = estimates.std(0, ddof=1) / math.sqrt(len(estimates))
    z = (estimates.mean(0) - limit) / stderr
    assert np.all(np.abs(z) < 4), z


@pytest.mark.parametrize("blocks", ["all", "neuron"])
@pytest.mark.parametrize("act", ["sign", "erf"])
def test_antithetic_pairs_keep_expectation(act, blocks):
    net = mlp(in_features=1, width=16, depth=1, act=act)
    theta = init(net, seed=3)
    exact = smoothed_network_nntk(net, theta, X, sigma=0.3).value
    estimate = network_nntk(
        net,
        Smoothing(0.3),
        theta,
        X,
        samples=1024,
        seed=8,
        blocks=blocks,
        antithetic=True,
    )
    assert "antithetic pairs" in estimate.estimator
    assert estimate.info["antithetic"]
    assert_z_below(estimate, exact)


def test_oversized_assembly_raises_resource_limit():
    net = mlp(in_features=1, width=64, depth=1, act="relu")
    theta = init(net, seed=0)
    with pytest.raises(ResourceLimitError, match="raise `memory_bytes`"):
        network_nntk(
            net,
            Smoothing(0.1),
            theta,
            X,
            samples=1024,
            seed=0,
            assembly="gram",
            memory_bytes=100_000,
        )


def test_layer_blocks_match_exact_layer_kernel():
    net = mlp(in_features=1, width=24, depth=1, act="sign")
    theta = init(net, seed=1)
    exact = smoothed_network_nntk(net, theta, X, sigma=0.3, blocks="layer").value
    everything = smoothed_network_nntk(net, theta, X, sigma=0.3).value
    estimate = network_nntk(
        net, Smoothing(0.3), theta, X, samples=4096, seed=9, blocks="layer"
    )
    assert_z_below(estimate, exact)
    # The readout weights see sign(h)² = 1 in place of φ_s(h)² < 1, so the
    # per-layer diagonal is larger than the all-parameter one.
    assert np.all(np.diag(exact) > np.diag(everything))


def test_random_tiles_match_any_rectangle():
    full = random_tiles.normals(3, 1, 5000, range(200), range(5000))
    part = random_tiles.normals(3, 1, 5000, range(70, 131), range(4090, 4200))
    assert torch.equal(part, full[70:131, 4090:4200])
    other_stream = random_tiles.normals(3, 2, 5000, range(200), range(5000))
    assert not torch.equal(full, other_stream)


def test_chunks_below_tile_height_give_same_result():
    net = mlp(in_features=1, width=6, depth=1, act="relu")
    theta = init(net, seed=0)
    options = {"samples": 160, "seed": 4, "blocks": "all"}
    reference = network_nntk(net, Smoothing(0.1), theta, X, **options)
    small = network_nntk(net, Smoothing(0.1), theta, X, chunk_samples=7, **options)
    np.testing.assert_allclose(small.value, reference.value, rtol=1e-12)


@pytest.mark.parametrize("blocks", ["all", "neuron"])
def test_jackknife_stderr_is_calibrated(blocks):
    # Over independent seeds the z-scores against the exact kernel must have
    # a spread near 1. The 6 entries are strongly correlated, so the 30 seeds
    # pin the spread to about ±15%. Below about 1000 samples the z-scores get
    # heavier tails, because a kernel estimate and its stderr are correlated.
    net = mlp(in_features=1, width=12, depth=1, act="relu")
    theta = init(net, seed=6)
    exact = smoothed_network_nntk(net, theta, X, sigma=0.4).value
    rows, cols = np.triu_indices(len(X))
    scores = []
    for seed in range(30):
        estimate = network_nntk(
            net, Smoothing(0.4), theta, X, samples=1024, seed=seed, blocks=blocks
        )
        scores.append(((estimate.value - exact) / estimate.stderr)[rows, cols])
    spread = np.std(scores)
    assert 0.7 < spread < 1.4, spread
    assert abs(np.mean(scores)) < 0.5
