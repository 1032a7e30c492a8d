"""Monte Carlo NNTK of a network at a parameter point under G or S, by blocks.

`blocks` splits θ into independent perturbation blocks, applies the operator's
definition within each block (d = block size in G's factor) and sums the
kernels of the blocks:

- `all`: one block of all P parameters;
- `layer`: one block per dense layer (its W and b);
- `neuron`: for a one-hidden-layer network, one block per hidden neuron (its
  incoming weights, its bias and its readout weight) plus the readout bias.

A one-hidden-layer network is a sum of per-neuron terms, so under S the
per-neuron blocks have the same expectation as the full-parameter estimator,
with far lower variance for wide networks. `neuron_blocks.py` evaluates only
what a neuron's block changes: O(N d) work per neuron and sample instead of a
full forward pass.

Perturbations come from `random_tiles`, so results are seeded and independent of
the chunk sizes. A block's sample-pair sums come from per-group projections
S_b = Σ Dₘ wₘᵀ (N × d per group) or from the M × M Gram of the directions,
accumulated over parameter chunks, whichever needs less memory. Neither path
stores M × P or N × M × P values at once.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

import numpy as np
import torch

from nntk_lang.errors import ConfigError, ResourceLimitError
from nntk_lang.ir.network import NetworkIR
from nntk_lang.ir.operators import Operator
from nntk_lang.montecarlo import random_tiles
from nntk_lang.montecarlo.network_forward import as_inputs, forward, torch_activation
from nntk_lang.montecarlo.neuron_blocks import neuron_sums
from nntk_lang.montecarlo.pair_sums import (
    STATISTIC_NAMES,
    PairSums,
    Statistic,
    group_bounds,
    kernel_with_stderr,
    sums_from_gram,
    sums_from_projections,
)
from nntk_lang.montecarlo.perturbation import Perturbation, check_operator, describe
from nntk_lang.montecarlo.sampling_plan import (
    ASSEMBLY_BUDGET_FACTOR,
    DEFAULT_GROUPS,
    DEFAULT_MEMORY_BYTES,
    MAX_SAMPLES,
    Assembly,
    Inputs,
    SamplingPlan,
)
from nntk_lang.results import Estimate

Tensor = torch.Tensor


def block_outputs(
    net: NetworkIR, theta: Tensor, x: Tensor, start: int, delta: Tensor
) -> Tensor:
    """Evaluate f at θ + δ for M perturbations δ of θ[start : start + d].

    Layers before the block are evaluated once, without the sample axis, and
    layers after it reuse the unperturbed weights through broadcasting.

    Returns:
        Outputs of shape (M, N).
    """
    activation = torch_activation(net.activation).value
    count, stop = delta.shape[0], start + delta.shape[1]
    offsets = net.layer_offsets()
    hidden = x
    for index, layer in enumerate(net.layers):
        low, high = offsets[index], offsets[index + 1]
        params = theta[low:high]
        if low < stop and start < high:
            params = params.expand(count, -1).clone()
            a, b = max(start, low), min(stop, high)
            params[:, a - low : b - low] += delta[:, a - start : b - start]
            weights = params[:, : layer.n_weights]
            weights = weights.reshape(count, layer.fan_in, layer.fan_out)
            bias = params[:, layer.n_weights :].unsqueeze(1)
        else:
            weights = params[: layer.n_weights].reshape(layer.fan_in, layer.fan_out)
            bias = params[layer.n_weights :]
        hidden = layer.weight_scale * torch.matmul(hidden, weights)
        if layer.bias:
            hidden = hidden + layer.bias_scale * bias
        if index < net.depth:
            hidden = activation(hidden)
    return hidden[..., 0]


def _differences(
    net: NetworkIR,
    theta: Tensor,
    x: Tensor,
    baseline: Tensor,
    start: int,
    delta: Tensor,
    antithetic: bool,
) -> Tensor:
    """Return f(θ + δ) − f(θ), or (f(θ + δ) − f(θ − δ))/2 for antithetic pairs."""
    if antithetic:
        plus = block_outputs(net, theta, x, start, delta)
        return (plus - block_outputs(net, theta, x, start, -delta)) / 2
    return block_outputs(net, theta, x, start, delta) - baseline


def block_differences(
    net: NetworkIR,
    theta: Tensor,
    inputs: Inputs,
    start: int,
    perturbation: Perturbation,
    plan: SamplingPlan,
    stream: int,
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Return D1 (N1, M), D2 (N2, M), ‖g‖² (M,) and κ (M,) of one block."""
    size, samples = perturbation.size, plan.samples
    d1 = torch.empty(inputs.x1.shape[0], samples, dtype=torch.float64)
    d2 = d1 if inputs.x2 is inputs.x1 else d1.new_empty(inputs.x2.shape[0], samples)
    squared = torch.empty(samples, dtype=torch.float64)
    kappa = torch.empty(samples, dtype=torch.float64)
    hidden = max(layer.fan_out for layer in net.layers)
    rows = (size + 2 * net.n_params + 4 * hidden * inputs.x1.shape[0]) * 8
    step = plan.samples_per_chunk(rows)
    for low in range(0, samples, step):
        plan.check_cancel()
        chunk = range(low, min(low + step, samples))
        g = random_tiles.normals(plan.seed, stream, size, chunk, range(size))
        norms = (g * g).sum(dim=1)
        uniform = None
        if perturbation.needs_uniform:
            uniform = random_tiles.uniforms(plan.seed, stream, 1, chunk, range(1))
            uniform = uniform[:, 0]
        beta, weight = perturbation.scales(norms, uniform)
        delta = beta[:, None] * g
        d1[:, low : chunk.stop] = _differences(
            net, theta, inputs.x1, inputs.f1, start, delta, plan.antithetic
        ).T
        if inputs.x2 is not inputs.x1:
            d2[:, low : chunk.stop] = _differences(
                net, theta, inputs.x2, inputs.f2, start, delta, plan.antithetic
            ).T
        squared[low : chunk.stop] = norms
        kappa[low : chunk.stop] = weight
    return d1, d2, squared, kappa


def _generic_block_sums(
    net: NetworkIR,
    theta: Tensor,
    inputs: Inputs,
    start: int,
    perturbation: Perturbation,
    plan: SamplingPlan,
    stream: int,
) -> PairSums:
    """Pair sums of one contiguous block θ[start : start + d]."""
    d1, d2, squared, kappa = block_differences(
        net, theta, inputs, start, perturbation, plan, stream
    )
    bounds = group_bounds(plan.samples, plan.groups)
    # The Gram needs M² values, the projections G (N1 + N2) d.
    gram_size = plan.samples**2
    projection_size = len(bounds) * (d1.shape[0] + d2.shape[0]) * perturbation.size
    assembly = plan.assembly
    if assembly == "auto":
        assembly = "gram" if gram_size < projection_size else "projection"
    needed = 8 * (gram_size if assembly == "gram" else projection_size)
    if needed > ASSEMBLY_BUDGET_FACTOR * plan.memory_bytes:
        raise ResourceLimitError(
            f"assembling a block of {perturbation.size} parameters from "
            f"{plan.samples} samples needs {needed / 2**30:.1f} GiB, over "
            f"{ASSEMBLY_BUDGET_FACTOR} x memory_bytes; use fewer samples, "
            "smaller blocks (blocks=neuron or layer) or raise `memory_bytes`"
        )

    if assembly == "gram":
        gram = _direction_gram(perturbation.size, plan, stream)
        weighted_gram = kappa[:, None] * kappa[None, :] * gram
        return sums_from_gram(d1, d2, weighted_gram, bounds)

    projections1, projections2 = block_projections(
        d1, d2, kappa, perturbation.size, plan, stream, bounds
    )
    diagonal_weight = kappa**2 * squared
    diagonal = torch.stack(
        [
            (d1[:, r.start : r.stop] * diagonal_weight[r.start : r.stop])
            @ d2[:, r.start : r.stop].T
            for r in bounds
        ]
    )
    sizes = np.array([len(r) for r in bounds])
    return sums_from_projections(projections1, projections2, diagonal, sizes)


def _direction_gram(size: int, plan: SamplingPlan, stream: int) -> Tensor:
    """Return Σ over parameter chunks of g gᵀ, the (M, M) Gram of the normals."""
    samples = plan.samples
    step = plan.params_per_chunk(samples * 8 * 2)
    gram = torch.zeros(samples, samples, dtype=torch.float64)
    for low in range(0, size, step):
        plan.check_cancel()
        columns = range(low, min(low + step, size))
        g = random_tiles.normals(plan.seed, stream, size, range(samples), columns)
        gram += g @ g.T
    return gram


def block_projections(
    d1: Tensor,
    d2: Tensor,
    kappa: Tensor,
    size: int,
    plan: SamplingPlan,
    stream: int,
    bounds: list[range],
) -> tuple[Tensor, Tensor]:
    """Return S_b = Σ_{m∈b} Dₘ κₘ gₘᵀ per group, shapes (G, N1, d) and (G, N2, d)."""
    samples = plan.samples
    step = plan.params_per_chunk(samples * 8 * 2)
    projections1 = torch.zeros(len(bounds), d1.shape[0], size, dtype=torch.float64)
    projections2 = projections1
    if d2 is not d1:
        projections2 = torch.zeros(len(bounds), d2.shape[0], size, dtype=torch.float64)
    for low in range(0, size, step):
        plan.check_cancel()
        columns = range(low, min(low + step, size))
        g = random_tiles.normals(plan.seed, stream, size, range(samples), columns)
        weighted = kappa[:, None] * g
        for b, rows in enumerate(bounds):
            part = weighted[rows.start : rows.stop]
            block = slice(low, columns.stop)
            projections1[b, :, block] = d1[:, rows.start : rows.stop] @ part
            if d2 is not d1:
                projections2[b, :, block] = d2[:, rows.start : rows.stop] @ part
    return projections1, projections2


def block_ranges(net: NetworkIR, blocks: str) -> list[tuple[int, int]]:
    """Return the contiguous generic blocks (start, stop) for `blocks`."""
    offsets = net.layer_offsets()
    if blocks == "all":
        return [(0, net.n_params)]
    if blocks == "layer":
        return list(itertools.pairwise(offsets))
    if blocks == "neuron":
        readout = net.layers[-1]
        if readout.bias:
            return [(net.n_params - readout.fan_out, net.n_params)]
        return []
    raise ConfigError(f"`blocks` must be all, layer or neuron, got {blocks!r}")


def network_nntk(
    net: NetworkIR,
    operator: Operator,
    theta: Tensor | np.ndarray,
    x1: Tensor | np.ndarray,
    x2: Tensor | np.ndarray | None = None,
    *,
    samples: int,
    seed: int,
    blocks: str | None = None,
    statistic: Statistic = "unbiased",
    groups: int = DEFAULT_GROUPS,
    chunk_samples: int | None = None,
    chunk_params: int | None = None,
    memory_bytes: int = DEFAULT_MEMORY_BYTES,
    assembly: Assembly = "auto",
    antithetic: bool = False,
    cancel: Callable[[], None] | None = None,
) -> Estimate:
    """Estimate the NNTK K(x, x') = Σ_blocks ⟨𝒪 f(x), 𝒪 f(x')⟩ of a network.

    Args:
        net: the network; it must have one output.
        operator: a `Nonlocal` (G) or `Smoothing` (S) operator.
        theta: the parameter point, shape (P,).
        x1: inputs, shape (N1, d_in), or (N1,) when d_in = 1.
        x2: inputs, shape (N2, d_in); None means x1.
        samples: perturbations M per block.
        seed: seed of the perturbations.
        blocks: all, layer or neuron; None takes `operator.blocks`.
        statistic: "unbiased" (U-statistic, the default) or "psd" (V-statistic).
        groups: sample groups of the delete-one-group jackknife.
        chunk_samples: samples per forward chunk; None sizes it by memory.
        chunk_params: parameters per Gram or projection chunk.
        memory_bytes: budget for one chunk's perturbations and activations.
        assembly: "gram", "projection" or "auto" (the one with less memory).
        antithetic: use pairs ±zₘ, each counted as one of the M samples and
            costing two evaluations. The expectation is unchanged because ρ
            is symmetric, and the even-order terms of f cancel.
        cancel: called between chunks; it raises `Cancelled` to stop the work.

    Returns:
        An Estimate with value and stderr of shape (N1, N2).
    """
    operator = check_operator(operator)
    blocks = operator.blocks if blocks is None else blocks
    if net.n_outputs != 1:
        raise ConfigError("Monte Carlo network kernels need out=1")
    if samples > MAX_SAMPLES:
        raise ResourceLimitError(
            f"`samples` must be at most {MAX_SAMPLES} per block, got {samples}"
        )
    plan = SamplingPlan(
        samples,
        seed,
        groups,
        statistic,
        chunk_samples,
        chunk_params,
        memory_bytes,
        assembly,
        antithetic,
        cancel,
    )
    theta = torch.as_tensor(theta, dtype=torch.float64)
    inputs = prepare_inputs(net, theta, x1, x2)
    ranges = block_ranges(net, blocks)
    total = PairSums.zeros(
        group_bounds(samples, groups), len(inputs.x1), len(inputs.x2)
    )
    stream = 0
    if blocks == "neuron":
        total.add(neuron_sums(net, theta, inputs, operator, plan, stream))
        stream += 1
    for start, stop in ranges:
        perturbation = Perturbation(operator, stop - start)
        total.add(
            _generic_block_sums(net, theta, inputs, start, perturbation, plan, stream)
        )
        stream += 1
    value, stderr = kernel_with_stderr(total, statistic)
    return Estimate(
        value=value,
        stderr=stderr,
        method="mc",
        samples=samples,
        seed=seed,
        estimator=(
            f"{describe(operator)}, blocks={blocks}, {samples} "
            f"{'antithetic pairs' if antithetic else 'samples'} per block, "
            f"{STATISTIC_NAMES[statistic]}, jackknife over {groups} sample groups"
        ),
        info={"blocks": blocks, "statistic": statistic, "antithetic": antithetic},
    )


def prepare_inputs(
    net: NetworkIR,
    theta: Tensor,
    x1: Tensor | np.ndarray,
    x2: Tensor | np.ndarray | None,
) -> Inputs:
    x1 = as_inputs(net, torch.as_tensor(x1, dtype=torch.float64))
    f1 = forward(net, theta, x1)[:, 0]
    if x2 is None:
        return Inputs(x1, x1, f1, f1)
    x2 = as_inputs(net, torch.as_tensor(x2, dtype=torch.float64))
    return Inputs(x1, x2, f1, forward(net, theta, x2)[:, 0])
