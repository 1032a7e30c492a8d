"""Tests of the per-layer classical NTK against torch.func and neural-tangents."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from nntk_lang.ir.network import init, mlp
from nntk_lang.montecarlo.empirical_ntk import empirical_ntk, jacobian_ntk
from nntk_lang.montecarlo.network_forward import forward, forward_batched


def nt_relu_point(nt_refs: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return θ in nntk's order, the inputs and the NTK of the stored network."""
    record = nt_refs["empirical"]["relu_width512_seed0"]
    params = record["params"]
    names = ["W1_shape_1x512", "b1_shape_1x512", "W2_shape_512x1", "b2_shape_1x1"]
    theta = np.concatenate([np.ravel(params[name]) for name in names])
    return theta, np.array(nt_refs["inputs"]["x"]), np.array(record["ntk"])


def test_empirical_ntk_matches_neural_tangents(nt_refs):
    theta, x, expected = nt_relu_point(nt_refs)
    net = mlp(in_features=1, width=512, depth=1, act="relu")
    assert theta.shape == (net.n_params,)
    kernel = empirical_ntk(net, torch.tensor(theta), torch.tensor(x))
    np.testing.assert_allclose(kernel.numpy(), expected, rtol=1e-10, atol=1e-10)


def test_sign_empirical_ntk_matches_neural_tangents(nt_refs):
    # neural-tangents drew the sign network's parameters with the same key as
    # the relu network's, and sign' = 0 leaves only the readout layer.
    theta, x, _ = nt_relu_point(nt_refs)
    expected = np.array(nt_refs["empirical"]["sign_width512_seed0"]["ntk"])
    net = mlp(in_features=1, width=512, depth=1, act="sign")
    kernel = empirical_ntk(net, torch.tensor(theta), torch.tensor(x))
    np.testing.assert_allclose(kernel.numpy(), expected, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("act", ["relu", "sign", "step", "erf", "tanh", "abs", "sin"])
@pytest.mark.parametrize("param", ["ntk", "standard"])
def test_empirical_ntk_matches_torch_func(act, param):
    net = mlp(in_features=3, width=24, depth=3, act=act, out=2, param=param, W_std=1.3)
    theta = torch.tensor(init(net, seed=5))
    generator = torch.Generator().manual_seed(0)
    x1 = torch.randn(6, 3, generator=generator)
    x2 = torch.randn(4, 3, generator=generator)
    expected = jacobian_ntk(net, theta, x1, x2)
    kernel = empirical_ntk(net, theta, x1, x2)
    scale = expected.abs().max().item()
    assert torch.allclose(kernel, expected, rtol=1e-6, atol=1e-6 * scale)


def test_empirical_ntk_without_bias():
    net = mlp(in_features=2, width=10, depth=2, act="relu", bias=False)
    theta = torch.tensor(init(net, seed=1))
    x = torch.randn(5, 2, generator=torch.Generator().manual_seed(2))
    assert torch.allclose(empirical_ntk(net, theta, x), jacobian_ntk(net, theta, x))


def test_relu_kink_has_zero_derivative():
    # A pre-activation of exactly 0 must contribute relu'(0) = 0 to K.
    net = mlp(in_features=1, width=1, depth=1, act="relu", bias=False)
    theta = torch.tensor([1.0, 2.0])
    kernel = empirical_ntk(net, theta, torch.tensor([0.0]))
    assert kernel.item() == 0.0
    assert jacobian_ntk(net, theta, torch.tensor([0.0])).item() == 0.0


def test_forward_batched_matches_single_forward():
    net = mlp(in_features=2, width=7, depth=2, act="tanh", out=3)
    generator = torch.Generator().manual_seed(4)
    thetas = torch.randn(5, net.n_params, generator=generator)
    x = torch.randn(6, 2, generator=generator)
    batched = forward_batched(net, thetas, x)
    for index in range(5):
        assert torch.allclose(batched[index], forward(net, thetas[index], x))


def test_sign_and_step_take_zero_at_zero():
    for act, expected in [("sign", 0.0), ("step", 0.0)]:
        net = mlp(in_features=1, width=1, depth=1, act=act, bias=False)
        value = forward(net, torch.tensor([1.0, 1.0]), torch.tensor([[0.0]]))
        assert value.item() == expected
