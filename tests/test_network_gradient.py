"""Tests of the Monte Carlo nonlocal gradient of a network."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from nntk_lang.analytic.smoothed_network import smoothed_network_nntk
from nntk_lang.ir.network import init, mlp
from nntk_lang.ir.operators import Nonlocal, Smoothing
from nntk_lang.montecarlo.network import network_nntk
from nntk_lang.montecarlo.network_forward import forward
from nntk_lang.montecarlo.network_gradient import network_gradient, neuron_columns

X = np.array([-1.0, 0.3, 1.0])

# A gradient has N × P entries, and batch means over 32 groups have a
# t-distribution with 31 degrees of freedom, so the bound is 5 rather than 4.
Z_BOUND = 5.0


@pytest.fixture(autouse=True)
def _single_thread():
    # Small tensors: torch's intra-op threads only add synchronisation cost.
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.mark.parametrize("blocks", ["all", "layer", "neuron"])
def test_smoothed_gradient_matches_exact(blocks):
    net = mlp(in_features=1, width=8, depth=1, act="sign")
    theta = init(net, seed=1)
    exact = smoothed_network_nntk(net, theta, X, sigma=0.4).info["gradients"]
    operator = Smoothing(0.4)
    if blocks == "layer":
        # With per-layer blocks the readout weights' gradient is s₂ φ(h), not
        # the smoothed s₂ φ_s(h), so only hidden-layer entries have a reference.
        exact = exact[:, : net.layers[0].n_params]
    estimate = network_gradient(
        net, operator, theta, X, samples=4096, seed=2, blocks=blocks, groups=32
    )
    value, stderr = estimate.value, estimate.stderr
    if blocks == "layer":
        value = value[:, : net.layers[0].n_params]
        stderr = stderr[:, : net.layers[0].n_params]
    z = (value - exact) / stderr
    assert np.all(np.abs(z) < Z_BOUND), z


def test_ball_gradient_matches_autodiff_on_quadratic():
    net = mlp(in_features=1, width=6, depth=1, act="relu")
    theta = init(net, seed=4)
    pre = X[:, None] * theta[:6] + theta[6:12]
    radius = 1e-3
    # |Δ(w x + b)| ≤ radius (|x| + 1), so no unit crosses its kink.
    assert np.min(np.abs(pre)) > 2 * radius * (np.max(np.abs(X)) + 1)
    jacobian = torch.func.jacrev(
        lambda p: forward(net, p, torch.tensor(X)[:, None])[:, 0]
    )(torch.tensor(theta)).numpy()
    estimate = network_gradient(
        net, Nonlocal("ball", radius), theta, X, samples=2048, seed=5, groups=32
    )
    z = (estimate.value - jacobian) / estimate.stderr
    assert np.all(np.abs(z) < Z_BOUND), z


@pytest.mark.parametrize("blocks", ["all", "layer", "neuron"])
def test_gradient_gram_equals_psd_kernel(blocks):
    # Same seed, blocks and groups give the same perturbations, so the
    # V-statistic kernel is the Gram of the gradient estimate.
    net = mlp(in_features=1, width=5, depth=1, act="tanh")
    theta = init(net, seed=0)
    options = {"samples": 256, "seed": 3, "blocks": blocks}
    gradient = network_gradient(net, Smoothing(0.2), theta, X, **options)
    kernel = network_nntk(net, Smoothing(0.2), theta, X, statistic="psd", **options)
    np.testing.assert_allclose(gradient.value @ gradient.value.T, kernel.value)


def test_neuron_columns_cover_hidden_and_readout():
    net = mlp(in_features=2, width=3, depth=1, act="relu")
    columns = neuron_columns(net)
    assert columns.shape == (3, 4)
    assert columns[1].tolist() == [1, 4, 7, 10]
    readout_bias = net.n_params - 1
    covered = sorted(columns.reshape(-1).tolist() + [readout_bias])
    assert covered == list(range(net.n_params))
