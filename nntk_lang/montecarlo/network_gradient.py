"""Monte Carlo nonlocal gradient 𝒪 f(x; θ) of a network at a point, by blocks.

The estimate uses the same perturbations as `network_nntk` with the same seed,
blocks and groups. So the V-statistic kernel from `network_nntk` equals ĝ ĝᵀ
from this module. The standard error comes from batch means over the sample
groups.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import torch

from nntk_lang.ir.network import NetworkIR
from nntk_lang.ir.operators import Operator
from nntk_lang.montecarlo.network import (
    block_differences,
    block_projections,
    block_ranges,
    prepare_inputs,
)
from nntk_lang.montecarlo.neuron_blocks import neuron_layout, neuron_projections
from nntk_lang.montecarlo.pair_sums import group_bounds
from nntk_lang.montecarlo.perturbation import Perturbation, check_operator, describe
from nntk_lang.montecarlo.sampling_plan import (
    DEFAULT_GROUPS,
    DEFAULT_MEMORY_BYTES,
    SamplingPlan,
)
from nntk_lang.results import Estimate

Tensor = torch.Tensor


def neuron_columns(net: NetworkIR) -> Tensor:
    """Return the θ index of each (neuron j, block entry k), shape (n, d).

    A neuron block lists the neuron's incoming weights, its bias (if any) and
    its readout weight, in that order.
    """
    width, _ = neuron_layout(net)
    first = net.layers[0]
    neurons = torch.arange(width)
    columns = [k * width + neurons for k in range(first.fan_in)]
    if first.bias:
        columns.append(first.n_weights + neurons)
    columns.append(first.n_params + neurons)
    return torch.stack(columns, dim=1)


def network_gradient(
    net: NetworkIR,
    operator: Operator,
    theta: Tensor | np.ndarray,
    x: Tensor | np.ndarray,
    *,
    samples: int,
    seed: int,
    blocks: str | None = None,
    groups: int = DEFAULT_GROUPS,
    chunk_samples: int | None = None,
    chunk_params: int | None = None,
    memory_bytes: int = DEFAULT_MEMORY_BYTES,
    antithetic: bool = False,
    cancel: Callable[[], None] | None = None,
) -> Estimate:
    """Estimate 𝒪 f(x; θ) under G or S for every input, block by block.

    Args are those of `network_nntk`, with one input set `x`.

    Returns:
        An Estimate with value and stderr of shape (N, P), in θ's layout.
    """
    operator = check_operator(operator)
    blocks = operator.blocks if blocks is None else blocks
    plan = SamplingPlan(
        samples,
        seed,
        groups,
        "psd",
        chunk_samples,
        chunk_params,
        memory_bytes,
        antithetic=antithetic,
        cancel=cancel,
    )
    theta = torch.as_tensor(theta, dtype=torch.float64)
    inputs = prepare_inputs(net, theta, x, None)
    bounds = group_bounds(samples, groups)
    totals = torch.zeros(len(bounds), len(inputs.x1), net.n_params, dtype=torch.float64)
    ranges = block_ranges(net, blocks)
    stream = 0
    if blocks == "neuron":
        projections, _, _ = neuron_projections(
            net, theta, inputs, operator, plan, stream
        )
        columns = neuron_columns(net).reshape(-1)
        totals[:, :, columns] = projections.reshape(len(bounds), len(inputs.x1), -1)
        stream += 1
    for start, stop in ranges:
        perturbation = Perturbation(operator, stop - start)
        d1, _, _, kappa = block_differences(
            net, theta, inputs, start, perturbation, plan, stream
        )
        projections, _ = block_projections(
            d1, d1, kappa, stop - start, plan, stream, bounds
        )
        totals[:, :, start:stop] = projections
        stream += 1

    sizes = torch.tensor([len(bound) for bound in bounds], dtype=torch.float64)
    group_means = totals / sizes[:, None, None]
    stderr = group_means.std(dim=0, unbiased=True) / math.sqrt(len(bounds))
    return Estimate(
        value=(totals.sum(dim=0) / samples).numpy(),
        stderr=stderr.numpy(),
        method="mc",
        samples=samples,
        seed=seed,
        estimator=(
            f"{describe(operator)}, blocks={blocks}, {samples} "
            f"{'antithetic pairs' if antithetic else 'samples'} per block, "
            f"batch means over {len(bounds)} sample groups"
        ),
        info={"blocks": blocks, "antithetic": antithetic},
    )
