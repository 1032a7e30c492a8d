"""Per-neuron perturbation blocks of a one-hidden-layer network.

Block j contains hidden neuron j's incoming weights, its bias and its readout
weight. Perturbing it changes only neuron j's pre-activation and readout term,
so the differences for all n blocks cost O(M N n d) together, not n full
forward passes.
"""

from __future__ import annotations

import numpy as np
import torch

from nntk_lang.errors import ConfigError
from nntk_lang.ir.network import NetworkIR
from nntk_lang.ir.operators import Nonlocal, Smoothing
from nntk_lang.montecarlo import random_tiles
from nntk_lang.montecarlo.network_forward import torch_activation
from nntk_lang.montecarlo.pair_sums import PairSums, group_bounds, sums_from_projections
from nntk_lang.montecarlo.perturbation import Perturbation
from nntk_lang.montecarlo.sampling_plan import Inputs, SamplingPlan

Tensor = torch.Tensor


def neuron_layout(net: NetworkIR) -> tuple[int, int]:
    """Return (hidden width, parameters per neuron block) of a 1-hidden-layer net."""
    if net.depth != 1:
        raise ConfigError(
            f"blocks=neuron needs a one-hidden-layer network; `{net.name}` has "
            f"{net.depth} hidden layers, so use blocks=layer or blocks=all"
        )
    hidden = net.layers[0]
    return hidden.fan_out, hidden.fan_in + int(hidden.bias) + 1


def neuron_differences(
    net: NetworkIR, theta: Tensor, x: Tensor, delta: Tensor, antithetic: bool
) -> Tensor:
    """Return f(θ + δ_j) − f(θ) for every neuron block j, shape (M, N, n).

    Only neuron j's pre-activation and readout term change, so this costs
    O(M N n d) instead of n full forward passes. Antithetic pairs return
    (f(θ + δ_j) − f(θ − δ_j))/2.
    """
    first, readout = net.layers
    width, fan_in = first.fan_out, first.fan_in
    activation = torch_activation(net.activation).value
    weights = theta[: first.n_weights].reshape(fan_in, width)
    pre = first.weight_scale * (x @ weights)
    if first.bias:
        pre = pre + first.bias_scale * theta[first.n_weights : first.n_params]
    readout_weights = theta[first.n_params : first.n_params + width]
    shift = first.weight_scale * torch.einsum("ik,mjk->mij", x, delta[..., :fan_in])
    if first.bias:
        shift = shift + first.bias_scale * delta[:, None, :, fan_in]
    readout_shift = delta[:, None, :, -1]
    plus = (readout_weights + readout_shift) * activation(pre + shift)
    if antithetic:
        minus = (readout_weights - readout_shift) * activation(pre - shift)
        return readout.weight_scale * (plus - minus) / 2
    return readout.weight_scale * (plus - readout_weights * activation(pre))


def neuron_projections(
    net: NetworkIR,
    theta: Tensor,
    inputs: Inputs,
    operator: Nonlocal | Smoothing,
    plan: SamplingPlan,
    stream: int,
) -> tuple[Tensor, Tensor, Tensor]:
    """Return per-group projections (G, N, n, d) of both input sets and the
    m = m' sums (G, N1, N2) of all hidden-neuron blocks."""
    width, size = neuron_layout(net)
    perturbation = Perturbation(operator, size)
    bounds = group_bounds(plan.samples, plan.groups)
    n1, n2 = inputs.x1.shape[0], inputs.x2.shape[0]
    projections1 = torch.zeros(len(bounds), n1, width, size, dtype=torch.float64)
    projections2 = projections1
    if inputs.x2 is not inputs.x1:
        projections2 = torch.zeros(len(bounds), n2, width, size, dtype=torch.float64)
    diagonal = torch.zeros(len(bounds), n1, n2, dtype=torch.float64)
    step = plan.samples_per_chunk(8 * width * (3 * size + (3 + size) * (n1 + n2)))
    columns = range(width * size)

    for low in range(0, plan.samples, step):
        plan.check_cancel()
        chunk = range(low, min(low + step, plan.samples))
        g = random_tiles.normals(plan.seed, stream, width * size, chunk, columns)
        g = g.reshape(len(chunk), width, size)
        norms = (g * g).sum(dim=-1)
        uniform = None
        if perturbation.needs_uniform:
            uniform = random_tiles.uniforms(
                plan.seed, stream, width, chunk, range(width)
            )
        beta, kappa = perturbation.scales(norms, uniform)
        delta = beta[..., None] * g

        diff1 = neuron_differences(net, theta, inputs.x1, delta, plan.antithetic)
        diff2 = diff1
        if inputs.x2 is not inputs.x1:
            diff2 = neuron_differences(net, theta, inputs.x2, delta, plan.antithetic)
        weighted = kappa[..., None] * g
        diagonal_weight = kappa**2 * norms

        # Split the chunk at group boundaries for the jackknife.
        for b, group in enumerate(bounds):
            first, last = max(group.start, low) - low, min(group.stop, chunk.stop) - low
            if first >= last:
                continue
            rows = slice(first, last)
            part = weighted[rows].unsqueeze(1)
            projections1[b] += (diff1[rows].unsqueeze(-1) * part).sum(dim=0)
            if inputs.x2 is not inputs.x1:
                projections2[b] += (diff2[rows].unsqueeze(-1) * part).sum(dim=0)
            left = diff1[rows] * diagonal_weight[rows].unsqueeze(1)
            diagonal[b] += _flatten_inputs(left) @ _flatten_inputs(diff2[rows]).T

    return projections1, projections2, diagonal


def neuron_sums(
    net: NetworkIR,
    theta: Tensor,
    inputs: Inputs,
    operator: Nonlocal | Smoothing,
    plan: SamplingPlan,
    stream: int,
) -> PairSums:
    """Pair sums of all hidden-neuron blocks of a one-hidden-layer network."""
    projections1, projections2, diagonal = neuron_projections(
        net, theta, inputs, operator, plan, stream
    )
    bounds = group_bounds(plan.samples, plan.groups)
    sizes = np.array([len(group) for group in bounds])
    return sums_from_projections(
        projections1.transpose(1, 2), projections2.transpose(1, 2), diagonal, sizes
    )


def _flatten_inputs(differences: Tensor) -> Tensor:
    """Reshape (M, N, n) differences to (N, M n) for one matmul over samples."""
    return differences.transpose(0, 1).reshape(differences.shape[1], -1)
