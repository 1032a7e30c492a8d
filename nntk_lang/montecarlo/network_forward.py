"""Torch forward passes of network IR, plain and batched over parameter samples.

Activations keep the language's values at kinks and jumps: sign(0) = 0,
step(0) = 0 and relu'(0) = step(0) = 0. Derivatives of sign and step are 0,
which is also what torch's autograd returns for them.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch

from nntk_lang.errors import ConfigError
from nntk_lang.ir.network import NetworkIR, split_params

Tensor = torch.Tensor


def _step(h: Tensor) -> Tensor:
    return (h > 0).to(h.dtype)


def _erf_derivative(h: Tensor) -> Tensor:
    return (2.0 / math.sqrt(math.pi)) * torch.exp(-h * h)


def _tanh_derivative(h: Tensor) -> Tensor:
    return 1.0 - torch.tanh(h) ** 2


@dataclass(frozen=True)
class TorchActivation:
    """An activation and its classical derivative as torch functions."""

    value: Callable[[Tensor], Tensor]
    derivative: Callable[[Tensor], Tensor]


TORCH_ACTIVATIONS: dict[str, TorchActivation] = {
    "relu": TorchActivation(torch.relu, _step),
    "sign": TorchActivation(torch.sign, torch.zeros_like),
    "step": TorchActivation(_step, torch.zeros_like),
    "erf": TorchActivation(torch.erf, _erf_derivative),
    "tanh": TorchActivation(torch.tanh, _tanh_derivative),
    "abs": TorchActivation(torch.abs, torch.sign),
    "sin": TorchActivation(torch.sin, torch.cos),
    "cos": TorchActivation(torch.cos, lambda h: -torch.sin(h)),
    "identity": TorchActivation(lambda h: h, torch.ones_like),
}


def torch_activation(name: str) -> TorchActivation:
    """Return the torch activation called `name`."""
    try:
        return TORCH_ACTIVATIONS[name]
    except KeyError:
        raise ConfigError(f"activation `{name}` has no torch lowering") from None


def layer_tensors(net: NetworkIR, theta: Tensor) -> list[tuple[Tensor, ...]]:
    """Split θ (shape (P,)) into per-layer (W,) or (W, b) tensor views."""
    return split_params(net, theta)


def forward(net: NetworkIR, theta: Tensor, x: Tensor) -> Tensor:
    """Evaluate the network at one parameter point.

    Args:
        net: the network.
        theta: parameters, shape (P,).
        x: inputs, shape (N, d_in).

    Returns:
        Outputs of shape (N, out).
    """
    activation = torch_activation(net.activation).value
    hidden = x
    for index, (layer, tensors) in enumerate(
        zip(net.layers, layer_tensors(net, theta))
    ):
        hidden = layer.weight_scale * (hidden @ tensors[0])
        if layer.bias:
            hidden = hidden + layer.bias_scale * tensors[1]
        if index < net.depth:
            hidden = activation(hidden)
    return hidden


def forward_batched(net: NetworkIR, thetas: Tensor, x: Tensor) -> Tensor:
    """Evaluate the network at M parameter points with batched matmuls.

    Args:
        net: the network.
        thetas: parameters, shape (M, P).
        x: inputs, shape (N, d_in).

    Returns:
        Outputs of shape (M, N, out).
    """
    activation = torch_activation(net.activation).value
    count = thetas.shape[0]
    offsets = net.layer_offsets()
    hidden = x.unsqueeze(0)
    for index, layer in enumerate(net.layers):
        start = offsets[index]
        weights = thetas[:, start : start + layer.n_weights]
        weights = weights.reshape(count, layer.fan_in, layer.fan_out)
        hidden = layer.weight_scale * torch.matmul(hidden, weights)
        if layer.bias:
            bias = thetas[:, start + layer.n_weights : start + layer.n_params]
            hidden = hidden + layer.bias_scale * bias.unsqueeze(1)
        if index < net.depth:
            hidden = activation(hidden)
    return hidden


def as_inputs(net: NetworkIR, x: Tensor) -> Tensor:
    """Return `x` as an (N, d_in) tensor; a 1-D x is N scalar inputs when d_in = 1."""
    if x.ndim == 1 and net.n_inputs == 1:
        x = x.unsqueeze(1)
    if x.ndim != 2 or x.shape[1] != net.n_inputs:
        raise ConfigError(
            f"inputs have shape {tuple(x.shape)}, expected (N, {net.n_inputs})"
        )
    return x
