"""Monte Carlo estimates of nonlocal gradients and NNTK matrices.

One batch of perturbations serves every input of a request. For each chunk of
sample units the differences D [N, U] and weights W [U, d] are folded into
float64 sums: the gradient is g / M with g = Σ D W, and kernels are assembled
as described in `gram`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from nntk_lang.errors import ConfigError, ResourceLimitError
from nntk_lang.ir.operators import Operator
from nntk_lang.ir.symbolic import SymbolicModelIR
from nntk_lang.montecarlo.chunking import (
    Chunk,
    ChunkPlan,
    iterate_chunks,
    plan_chunks,
)
from nntk_lang.montecarlo.gram import (
    GroupSums,
    group_slices,
    kernel_by_sample_gram,
    kernel_from_group_sums,
    prefer_sample_gram,
)
from nntk_lang.montecarlo.options import MCOptions, resolve_device
from nntk_lang.montecarlo.torch_lowering import TorchModel, compile_model
from nntk_lang.results import Estimate


def estimate_gradient(
    model: TorchModel | SymbolicModelIR,
    op: Operator,
    theta: np.ndarray,
    xs: np.ndarray,
    options: MCOptions,
) -> Estimate:
    """Estimate op f(x; θ) at every input.

    Args:
        model: the model, lowered or symbolic.
        op: a `Nonlocal` or `Smoothing` operator.
        theta: the parameter point [d].
        xs: inputs [N, n_in]. A model without inputs takes shape [1, 0].
        options: sample count, seed, sampler and resources.

    Returns:
        value and stderr [N, d]. The standard error is the spread over sample
        units divided by sqrt(units), or the jackknife over groups for sobol.
    """
    model, device = _prepare(model, options)
    theta_t, xs_t = _tensors(model, theta, xs, options, device)
    plan = plan_chunks(model, xs_t.shape[0], options, device)
    sums = _accumulate(model, op, theta_t, xs_t, options, plan, with_kernel=False)
    total = float(sums.units.sum())
    g = sums.g.sum(dim=0)
    value = g / total
    if options.sampler == "sobol":
        rest = (g - sums.g) / (total - sums.units)[:, None, None]
        count = rest.shape[0]
        spread = rest - rest.mean(dim=0)
        stderr = torch.sqrt((count - 1) / count * (spread**2).sum(dim=0))
    else:
        stderr = torch.sqrt(sums.spread / (total - 1) / total)
    return _estimate(value, stderr, options, device, plan, _sampler_text(options))


def estimate_kernel(
    model: TorchModel | SymbolicModelIR,
    op: Operator,
    theta: np.ndarray,
    x1: np.ndarray,
    x2: np.ndarray | None,
    options: MCOptions,
) -> Estimate:
    """Estimate the NNTK K(x, x') = ⟨op f(x; θ), op f(x'; θ)⟩ on x1 × x2.

    Both sides share one batch of perturbations: the model is evaluated on the
    distinct rows of x1 and x2 together, so K(xs, xs) is exactly symmetric and,
    with the "psd" estimator, positive semidefinite.

    Args:
        model: the model, lowered or symbolic.
        op: a `Nonlocal` or `Smoothing` operator.
        theta: the parameter point [d].
        x1: row inputs [N1, n_in].
        x2: column inputs [N2, n_in]; None means x1.
        options: sample count, seed, sampler, estimator and resources.

    Returns:
        value and stderr [N1, N2]; the standard error is the jackknife over
        groups of sample units. `estimator` names the U- or V-statistic.
    """
    model, device = _prepare(model, options)
    x2 = x1 if x2 is None else x2
    union, index1, index2 = _union_rows(np.asarray(x1), np.asarray(x2))
    theta_t, xs_t = _tensors(model, theta, union, options, device)
    plan = plan_chunks(model, xs_t.shape[0], options, device)
    _check_jackknife_memory(xs_t.shape[0], model.n_params, plan)
    estimator = options.kernel_estimator
    # The sample Gram needs independent units, all in one chunk, and two [M, M]
    # matrices in memory.
    gram_fits = (
        options.sampler != "sobol"
        and plan.blocks_per_chunk >= options.n_blocks
        and 16 * options.units**2 <= plan.budget_bytes
    )
    if gram_fits and prefer_sample_gram(xs_t.shape[0], options.units, model.n_params):
        (chunk,) = iterate_chunks(model, op, theta_t, xs_t, options, plan)
        value, stderr = kernel_by_sample_gram(
            chunk.differences, chunk.weights, chunk.groups, estimator
        )
        route = "sample Gram"
    else:
        sums = _accumulate(model, op, theta_t, xs_t, options, plan, with_kernel=True)
        value, stderr = kernel_from_group_sums(sums.group_sums(), estimator)
        route = "gradient"
    name = "unbiased U-statistic" if estimator == "unbiased" else "psd V-statistic"
    result = _estimate(
        value, stderr, options, device, plan, f"{_sampler_text(options)}, {name}"
    )
    result.value = result.value[np.ix_(index1, index2)]
    result.stderr = result.stderr[np.ix_(index1, index2)]
    result.info["assembly"] = route
    return result


@dataclass
class _Sums:
    """Float64 sums over sample units.

    `spread` is Σ (D_u w_u − mean)² over units, merged chunk by chunk with
    Chan's pairwise update, which avoids the cancellation of Σ x² − M·mean².
    """

    g: torch.Tensor
    t: torch.Tensor
    units: torch.Tensor
    piece_squares: torch.Tensor
    spread: torch.Tensor
    mean: torch.Tensor
    count: float = 0.0

    def merge_spread(self, products: torch.Tensor) -> None:
        """Fold per-unit estimates [N, U, d] into `mean` and `spread`."""
        count = products.shape[1]
        mean = products.mean(dim=1)
        spread = ((products - mean[:, None, :]) ** 2).sum(dim=1)
        total = self.count + count
        delta = mean - self.mean
        self.spread += spread + delta**2 * (self.count * count / total)
        self.mean += delta * (count / total)
        self.count = total

    def group_sums(self) -> GroupSums:
        return GroupSums(self.g, self.t, self.units, self.piece_squares)


def _accumulate(
    model: TorchModel,
    op: Operator,
    theta: torch.Tensor,
    xs: torch.Tensor,
    options: MCOptions,
    plan: ChunkPlan,
    with_kernel: bool,
) -> _Sums:
    n, d, groups = xs.shape[0], theta.numel(), plan.n_groups
    zeros = {"dtype": torch.float64, "device": theta.device}
    sums = _Sums(
        g=torch.zeros(groups, n, d, **zeros),
        t=torch.zeros(groups, n, n if with_kernel else 0, **zeros),
        units=torch.zeros(groups, **zeros),
        piece_squares=torch.zeros(groups, **zeros),
        spread=torch.zeros(n, d, **zeros),
        mean=torch.zeros(n, d, **zeros),
    )
    for chunk in iterate_chunks(model, op, theta, xs, options, plan):
        if not with_kernel and options.sampler != "sobol":
            sums.merge_spread(chunk.differences[:, :, None] * chunk.weights[None])
        if options.sampler == "sobol":
            _add_blocks(sums, chunk, with_kernel)
        else:
            _add_units(sums, chunk, with_kernel)
    return sums


def _add_units(sums: _Sums, chunk: Chunk, with_kernel: bool) -> None:
    """Add independent units: the dropped kernel terms are the m = m' ones."""
    for j, units in group_slices(chunk.groups):
        d_j, w_j = chunk.differences[:, units], chunk.weights[units]
        sums.g[j] += d_j @ w_j
        sums.units[j] += float(d_j.shape[1])
        sums.piece_squares[j] += float(d_j.shape[1])
        if with_kernel:
            sums.t[j] += (d_j * (w_j**2).sum(dim=1)) @ d_j.T


def _add_blocks(sums: _Sums, chunk: Chunk, with_kernel: bool) -> None:
    """Add sobol blocks: the dropped kernel terms are all pairs within a block."""
    for _, units in group_slices(chunk.blocks):
        j = int(chunk.groups[units.start])
        g_b = chunk.differences[:, units] @ chunk.weights[units]
        count = float(units.stop - units.start)
        sums.g[j] += g_b
        sums.units[j] += count
        sums.piece_squares[j] += count**2
        if with_kernel:
            sums.t[j] += g_b @ g_b.T


def _check_jackknife_memory(n_inputs: int, d: int, plan: ChunkPlan) -> None:
    """Raise when the per-group kernel sums [G, N, N + d] exceed the budget."""
    needed = 8 * plan.n_groups * n_inputs * (n_inputs + d)
    if needed > plan.budget_bytes:
        raise ResourceLimitError(
            f"the kernel jackknife needs {needed} bytes for {plan.n_groups} groups "
            f"of {n_inputs} inputs, over the memory budget of {plan.budget_bytes} "
            "bytes; lower `groups`, use fewer inputs or raise `memory_bytes`"
        )


def _prepare(
    model: TorchModel | SymbolicModelIR, options: MCOptions
) -> tuple[TorchModel, torch.device]:
    if isinstance(model, SymbolicModelIR):
        model = compile_model(model)
    return model, resolve_device(options.device)


def _tensors(
    model: TorchModel,
    theta: np.ndarray,
    xs: np.ndarray,
    options: MCOptions,
    device: torch.device,
) -> tuple[torch.Tensor, torch.Tensor]:
    theta = np.asarray(theta, dtype=np.float64)
    xs = np.asarray(xs, dtype=np.float64)
    if theta.shape != (model.n_params,):
        raise ConfigError(
            f"`theta` must have shape ({model.n_params},) for model "
            f"`{model.ir.name}`, got {theta.shape}"
        )
    if xs.ndim != 2 or xs.shape[1] != model.n_inputs or xs.shape[0] == 0:
        raise ConfigError(
            f"inputs must have shape [N, {model.n_inputs}] with N >= 1 for model "
            f"`{model.ir.name}`, got {xs.shape}"
        )
    theta_t = torch.from_numpy(theta).to(device)
    xs_t = torch.from_numpy(xs).to(device=device, dtype=options.torch_dtype)
    return theta_t, xs_t


def _union_rows(
    x1: np.ndarray, x2: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return the distinct rows of x1 and x2 and where each row of x1, x2 sits."""
    stacked = np.concatenate([x1, x2]).astype(np.float64)
    if stacked.shape[1] == 0:
        inverse = np.zeros(stacked.shape[0], dtype=np.int64)
        return stacked[:1], inverse[: len(x1)], inverse[len(x1) :]
    union, inverse = np.unique(stacked, axis=0, return_inverse=True)
    inverse = inverse.reshape(-1)
    return union, inverse[: len(x1)], inverse[len(x1) :]


def _sampler_text(options: MCOptions) -> str:
    text = {"iid": "iid", "antithetic": "antithetic pairs", "sobol": "scrambled Sobol"}
    return text[options.sampler] + (", baseline" if options.baseline else "")


def _estimate(
    value: torch.Tensor,
    stderr: torch.Tensor,
    options: MCOptions,
    device: torch.device,
    plan: ChunkPlan,
    estimator: str,
) -> Estimate:
    return Estimate(
        value=value.cpu().numpy(),
        stderr=stderr.cpu().numpy(),
        method="mc",
        samples=options.samples,
        seed=options.seed,
        estimator=estimator,
        device=str(device),
        info={
            "units": options.units,
            "groups": plan.n_groups,
            "blocks_per_chunk": plan.blocks_per_chunk,
            "input_chunk": plan.input_chunk,
        },
    )
