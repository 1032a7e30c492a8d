"""Chunked evaluation of the finite differences D [N, U] of a request.

A chunk is a run of consecutive seeded sample blocks. Each chunk goes through
the model in one batched call per input chunk, with all its perturbed parameter
points on the sample axis, so there is no Python loop over samples.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import sympy
import torch

from nntk_lang.ir.operators import Nonlocal, Operator
from nntk_lang.montecarlo.options import MCOptions, memory_budget
from nntk_lang.montecarlo.samplers import draw_block
from nntk_lang.montecarlo.torch_lowering import TorchModel


@dataclass(frozen=True)
class Chunk:
    """Differences and weights of one chunk of sample units, in float64.

    Attributes:
        differences: D [N, U]: f(θ+z) − f(θ), (f(θ+z) − f(θ−z))/2 for antithetic
            pairs, or f(θ+z) for smoothing without a baseline.
        weights: W [U, d], the weights w(z).
        groups: [U] jackknife group of each unit, non-decreasing.
        blocks: [U] seeded block of each unit, non-decreasing.
    """

    differences: torch.Tensor
    weights: torch.Tensor
    groups: torch.Tensor
    blocks: torch.Tensor


@dataclass(frozen=True)
class ChunkPlan:
    """The cut of a request: sample blocks per chunk and inputs per model call."""

    blocks_per_chunk: int
    input_chunk: int
    n_groups: int
    budget_bytes: int

    def groups_of(
        self, first_unit: int, count: int, options: MCOptions
    ) -> torch.Tensor:
        """Return the jackknife group of units first_unit .. first_unit + count − 1.

        Groups are runs of consecutive units of near-equal size. Sobol groups
        hold whole blocks, because the points of one scrambling are dependent.
        """
        units = torch.arange(first_unit, first_unit + count)
        if options.sampler == "sobol":
            per_block = options.block_size // options.evaluations_per_unit
            return (units // per_block) * self.n_groups // options.n_blocks
        return units * self.n_groups // options.units


# Model evaluations (perturbations times inputs) per chunk at most, whatever the
# memory budget allows. The cancel check runs between chunks, so this bounds how
# long Ctrl-C waits. Measured on a 2-core CPU with a sign neuron at one input: a
# chunk of 2**21 takes 0.3-0.5 s, where the 15 million that a 5.8 GB budget
# allowed took 3 s.
MAX_CHUNK_EVALUATIONS = 1 << 21


def plan_chunks(
    model: TorchModel, n_inputs: int, options: MCOptions, device: torch.device
) -> ChunkPlan:
    """Size chunks so that one chunk stays within the memory budget.

    The estimate counts one [inputs, evaluations] tensor per node of the
    expression plus the float64 differences, points and weights of the chunk.
    """
    budget = memory_budget(options, device)
    itemsize = torch.empty((), dtype=options.torch_dtype).element_size()
    nodes = sum(1 for _ in sympy.preorder_traversal(model.ir.expr))
    cell_bytes = itemsize * (nodes + 2)
    # Per sample unit: differences, points, weights and per-unit gradients.
    sample_bytes = 8 * (
        2 * n_inputs + 4 * model.n_params + 2 + 2 * n_inputs * model.n_params
    )
    rows = min(n_inputs, 64)
    evaluations = budget // (2 * (sample_bytes + cell_bytes * rows))
    evaluations = min(evaluations, MAX_CHUNK_EVALUATIONS // max(rows, 1))
    blocks = options.chunk_blocks or max(1, evaluations // options.block_size)
    blocks = min(blocks, options.n_blocks)
    per_call = blocks * options.block_size
    input_chunk = options.input_chunk or max(
        1, (budget // 2) // (cell_bytes * per_call)
    )
    return ChunkPlan(
        blocks_per_chunk=blocks,
        input_chunk=min(input_chunk, n_inputs),
        n_groups=min(options.groups, _replicates(options)),
        budget_bytes=budget,
    )


def iterate_chunks(
    model: TorchModel,
    operator: Operator,
    theta: torch.Tensor,
    xs: torch.Tensor,
    options: MCOptions,
    plan: ChunkPlan,
) -> Iterator[Chunk]:
    """Yield the chunks of a request in block order, calling progress and cancel."""
    subtract = isinstance(operator, Nonlocal) or options.baseline
    base = None
    if subtract and options.sampler != "antithetic":
        base = _evaluate(model, xs, theta[None, :], options, plan.input_chunk)
    n_blocks = options.n_blocks
    for start in range(0, n_blocks, plan.blocks_per_chunk):
        if options.cancel is not None:
            options.cancel()
        stop = min(start + plan.blocks_per_chunk, n_blocks)
        draws = [
            draw_block(operator, theta.numel(), options, b) for b in range(start, stop)
        ]
        z = torch.cat([draw.z for draw in draws]).to(theta.device)
        weights = torch.cat([draw.weights for draw in draws]).to(theta.device)
        first_unit = start * (options.block_size // options.evaluations_per_unit)
        groups = plan.groups_of(first_unit, z.shape[0], options).to(theta.device)
        blocks = torch.cat(
            [
                torch.full((len(draw.z),), b)
                for b, draw in zip(range(start, stop), draws)
            ]
        ).to(theta.device)
        differences = _differences(model, xs, theta, z, options, plan, base)
        yield Chunk(differences, weights, groups, blocks)
        if options.progress is not None:
            done = min(stop * options.block_size, options.samples)
            options.progress(done, options.samples)


def _replicates(options: MCOptions) -> int:
    """Return the independent pieces a jackknife group can be made of."""
    return options.n_blocks if options.sampler == "sobol" else options.units


def _differences(
    model: TorchModel,
    xs: torch.Tensor,
    theta: torch.Tensor,
    z: torch.Tensor,
    options: MCOptions,
    plan: ChunkPlan,
    base: torch.Tensor | None,
) -> torch.Tensor:
    if options.sampler == "antithetic":
        points = torch.cat([theta + z, theta - z])
        values = _evaluate(model, xs, points, options, plan.input_chunk)
        plus, minus = values.split(z.shape[0], dim=1)
        return (plus - minus) / 2
    values = _evaluate(model, xs, theta + z, options, plan.input_chunk)
    return values if base is None else values - base


def _evaluate(
    model: TorchModel,
    xs: torch.Tensor,
    points: torch.Tensor,
    options: MCOptions,
    input_chunk: int,
) -> torch.Tensor:
    """Evaluate f at every input and parameter point as float64 [N, P]."""
    points = points.to(options.torch_dtype)
    out = torch.full(
        (xs.shape[0], points.shape[0]),
        float("nan"),
        dtype=torch.float64,
        device=points.device,
    )
    with torch.no_grad():
        for start in range(0, xs.shape[0], input_chunk):
            rows = slice(start, start + input_chunk)
            out[rows] = model(xs[rows], points).to(torch.float64)
    return out
