"""The classical (empirical) NTK of a network at a parameter point, by layers.

For a dense layer h_l = s_w A_{l-1} W_l + s_b b_l the gradient of an output with
respect to W_l is s_w A_{l-1}ᵀ Δ_l, where Δ_l = ∂f/∂h_l is the backpropagated
factor. The layer's share of K(x, x') = ⟨∇θ f(x), ∇θ f(x')⟩ is therefore

    s_w² (A_{l-1} A'_{l-1}ᵀ) ⊙ (Δ_l Δ'_lᵀ) + s_b² (Δ_l Δ'_lᵀ),

so K costs a few N × width matrix products per layer and never forms the N × P
Jacobian. For several outputs K is the trace over outputs (the sum of the
per-output kernels), as neural-tangents' `trace_axes=(-1,)` gives.
"""

from __future__ import annotations

import torch

from nntk_lang.ir.network import NetworkIR
from nntk_lang.montecarlo.network_forward import (
    as_inputs,
    layer_tensors,
    torch_activation,
)

Tensor = torch.Tensor


def _forward_cache(
    net: NetworkIR, tensors: list[tuple[Tensor, ...]], x: Tensor
) -> tuple[list[Tensor], list[Tensor]]:
    """Return the inputs A_{l-1} of every layer and the hidden pre-activations."""
    activation = torch_activation(net.activation).value
    inputs, preactivations = [], []
    hidden = x
    for index, (layer, params) in enumerate(zip(net.layers, tensors)):
        inputs.append(hidden)
        hidden = layer.weight_scale * (hidden @ params[0])
        if layer.bias:
            hidden = hidden + layer.bias_scale * params[1]
        if index < net.depth:
            preactivations.append(hidden)
            hidden = activation(hidden)
    return inputs, preactivations


def _backward_factors(
    net: NetworkIR,
    tensors: list[tuple[Tensor, ...]],
    preactivations: list[Tensor],
    count: int,
    dtype: torch.dtype,
) -> list[Tensor]:
    """Return Δ_l = ∂f/∂h_l for every layer, each of shape (out, N, fan_out)."""
    derivative = torch_activation(net.activation).derivative
    outputs = net.n_outputs
    delta = torch.eye(outputs, dtype=dtype).unsqueeze(1).expand(outputs, count, outputs)
    deltas = [delta]
    for index in range(net.depth, 0, -1):
        layer = net.layers[index]
        delta = layer.weight_scale * (delta @ tensors[index][0].T)
        delta = delta * derivative(preactivations[index - 1])
        deltas.append(delta)
    deltas.reverse()
    return deltas


def empirical_ntk(
    net: NetworkIR, theta: Tensor, x1: Tensor, x2: Tensor | None = None
) -> Tensor:
    """Compute the classical NTK of `net` at θ by per-layer contraction.

    Args:
        net: the network.
        theta: parameters, shape (P,).
        x1: inputs, shape (N1, d_in), or (N1,) when d_in = 1.
        x2: inputs, shape (N2, d_in); None means x1.

    Returns:
        K of shape (N1, N2), in the dtype of θ.
    """
    x1 = as_inputs(net, x1).to(theta.dtype)
    x2 = x1 if x2 is None else as_inputs(net, x2).to(theta.dtype)
    tensors = layer_tensors(net, theta)
    inputs1, pre1 = _forward_cache(net, tensors, x1)
    deltas1 = _backward_factors(net, tensors, pre1, x1.shape[0], theta.dtype)
    if x2 is x1:
        inputs2, deltas2 = inputs1, deltas1
    else:
        inputs2, pre2 = _forward_cache(net, tensors, x2)
        deltas2 = _backward_factors(net, tensors, pre2, x2.shape[0], theta.dtype)
    kernel = torch.zeros(x1.shape[0], x2.shape[0], dtype=theta.dtype)
    for layer, a1, a2, d1, d2 in zip(net.layers, inputs1, inputs2, deltas1, deltas2):
        # Sum over outputs of Δ_o Δ'_oᵀ, shape (N1, N2).
        delta_gram = torch.einsum("onk,omk->nm", d1, d2)
        kernel += layer.weight_scale**2 * (a1 @ a2.T) * delta_gram
        if layer.bias:
            kernel += layer.bias_scale**2 * delta_gram
    return kernel


def jacobian_ntk(
    net: NetworkIR, theta: Tensor, x1: Tensor, x2: Tensor | None = None
) -> Tensor:
    """Compute the classical NTK from per-example Jacobians (torch.func).

    This is the slow reference that `empirical_ntk` is tested and benchmarked
    against: it forms the N × out × P Jacobian with `jacrev` and `vmap`.
    """
    from torch.func import jacrev, vmap

    from nntk_lang.montecarlo.network_forward import forward

    x1 = as_inputs(net, x1).to(theta.dtype)
    x2 = x1 if x2 is None else as_inputs(net, x2).to(theta.dtype)

    def single(params: Tensor, x: Tensor) -> Tensor:
        return forward(net, params, x.unsqueeze(0))[0]

    jac = vmap(jacrev(single), in_dims=(None, 0))
    j1 = jac(theta, x1)
    j2 = j1 if x2 is x1 else jac(theta, x2)
    return torch.einsum("nop,mop->nm", j1, j2)
