"""The NNTK under attention: products of attention-weighted gradients.

With normalised weights αₙₘ (input n, sample m) and values hₙₘ, the plug-in
kernel ⟨ĝ(xₙ), ĝ(xₙ')⟩ = Σ_{m,m'} αₙₘ αₙ'ₘ' ⟨hₙₘ, hₙ'ₘ'⟩ keeps the m = m' terms
(the PSD V-statistic form). The unbiased form drops them and renormalises:

    K = (Σ_{m≠m'} αₙₘ αₙ'ₘ' ⟨hₙₘ, hₙ'ₘ'⟩) / (1 − Σₘ αₙₘ αₙ'ₘ),

which is the U-statistic when τ = inf. At a finite τ the ratio of weighted sums
is only unbiased as M → ∞, like the gradient itself. The standard error is the
delete-one-group jackknife. Each group keeps its sums relative to its own
maximum logit, and groups are rescaled to a common maximum when combined.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from nntk_lang.errors import ConfigError
from nntk_lang.ir.operators import Attention
from nntk_lang.montecarlo.attention import Evaluate, SampleChunk, sample_chunks
from nntk_lang.montecarlo.pair_sums import STATISTIC_NAMES, Statistic, group_bounds
from nntk_lang.results import Estimate

Tensor = torch.Tensor


@dataclass
class _GroupSums:
    """Weighted sums of every sample group, relative to the group's peak logit.

    Attributes:
        peak: max logit per group and input, shape (G, N).
        weight: Σ w per group and input, shape (G, N).
        weighted: Σ w h, shape (G, N, P).
        pair_weight: Σₘ wₙₘ wₙ'ₘ, shape (G, N, N).
        pair_diagonal: Σₘ wₙₘ wₙ'ₘ ⟨hₙₘ, hₙ'ₘ⟩, shape (G, N, N).
    """

    peak: Tensor
    weight: Tensor
    weighted: Tensor
    pair_weight: Tensor
    pair_diagonal: Tensor

    @classmethod
    def empty(cls, groups: int, inputs: int, params: int) -> _GroupSums:
        def zeros(*shape: int) -> Tensor:
            return torch.zeros(*shape, dtype=torch.float64)

        return cls(
            torch.full((groups, inputs), -math.inf, dtype=torch.float64),
            zeros(groups, inputs),
            zeros(groups, inputs, params),
            zeros(groups, inputs, inputs),
            zeros(groups, inputs, inputs),
        )

    def add(
        self, group: int, logits: Tensor, coefficients: Tensor, directions: Tensor
    ) -> None:
        """Add samples of one group: logits and coefficients (N, m), directions."""
        peak = torch.maximum(self.peak[group], logits.max(dim=1).values)
        rescale = torch.exp(self.peak[group] - peak)
        pair_rescale = rescale[:, None] * rescale[None, :]
        self.peak[group] = peak
        w = torch.exp(logits - peak[:, None])
        weighted_coefficients = w * coefficients
        self.weight[group] = self.weight[group] * rescale + w.sum(dim=1)
        self.weighted[group] = (
            self.weighted[group] * rescale[:, None] + weighted_coefficients @ directions
        )
        self.pair_weight[group] = self.pair_weight[group] * pair_rescale + w @ w.T
        lengths = (directions * directions).sum(dim=1)
        self.pair_diagonal[group] = (
            self.pair_diagonal[group] * pair_rescale
            + (weighted_coefficients * lengths) @ weighted_coefficients.T
        )

    def kernel(self, keep: Tensor, statistic: Statistic) -> Tensor:
        """Return the kernel from the groups where `keep` is True."""
        peak = self.peak[keep].max(dim=0).values
        scale = torch.exp(self.peak[keep] - peak)
        pair_scale = scale[:, :, None] * scale[:, None, :]
        weight = (scale * self.weight[keep]).sum(dim=0)
        weighted = (scale[:, :, None] * self.weighted[keep]).sum(dim=0)
        full = weighted @ weighted.T
        normaliser = weight[:, None] * weight[None, :]
        if statistic == "psd":
            return full / normaliser
        pair_weight = (pair_scale * self.pair_weight[keep]).sum(dim=0)
        pair_diagonal = (pair_scale * self.pair_diagonal[keep]).sum(dim=0)
        return (full - pair_diagonal) / (normaliser - pair_weight)


def attention_nntk(
    evaluate: Evaluate,
    theta: Tensor,
    operator: Attention,
    *,
    samples: int,
    seed: int,
    statistic: Statistic = "unbiased",
    groups: int = 16,
    chunk_samples: int = 4096,
) -> Estimate:
    """Estimate K(x, x') = ⟨A f(x), A f(x')⟩ for the inputs of `evaluate`.

    Args:
        evaluate: maps parameters (M, P) to outputs (N, M).
        theta: the parameter point, shape (P,).
        operator: the attention operator.
        samples: perturbations M, shared by all inputs.
        seed: seed of the perturbations (the same draws as `attention_gradient`).
        statistic: "unbiased" (m = m' terms dropped) or "psd" (kept).
        groups: sample groups of the jackknife.
        chunk_samples: perturbations per call of `evaluate`.

    Returns:
        An Estimate with value and stderr of shape (N, N).
    """
    if statistic not in STATISTIC_NAMES:
        raise ConfigError(f"`statistic` must be unbiased or psd, got {statistic!r}")
    theta = torch.as_tensor(theta, dtype=torch.float64)
    bounds = group_bounds(samples, groups)
    sums = None
    for chunk in sample_chunks(evaluate, theta, operator, samples, seed, chunk_samples):
        if sums is None:
            sums = _GroupSums.empty(len(bounds), chunk.logits.shape[0], theta.shape[0])
        _add_chunk(sums, chunk, bounds)
    everything = torch.ones(len(bounds), dtype=torch.bool)
    value = sums.kernel(everything, statistic)
    leave_outs = []
    for b in range(len(bounds)):
        keep = everything.clone()
        keep[b] = False
        leave_outs.append(sums.kernel(keep, statistic))
    stacked = torch.stack(leave_outs)
    spread = ((stacked - stacked.mean(dim=0)) ** 2).sum(dim=0)
    stderr = torch.sqrt((len(bounds) - 1) / len(bounds) * spread)
    return Estimate(
        value=value.numpy(),
        stderr=stderr.numpy(),
        method="mc",
        samples=samples,
        seed=seed,
        estimator=(
            f"attention, score={operator.score}, tau={operator.tau}: self-normalised "
            f"softmax weights, {STATISTIC_NAMES[statistic]}, jackknife over "
            f"{len(bounds)} sample groups"
        ),
        info={"tau": operator.tau, "statistic": statistic},
    )


def _add_chunk(sums: _GroupSums, chunk: SampleChunk, bounds: list[range]) -> None:
    """Split a chunk at group boundaries and add each part to its group."""
    low = chunk.samples.start
    for b, group in enumerate(bounds):
        first = max(group.start, low) - low
        last = min(group.stop, chunk.samples.stop) - low
        if first >= last:
            continue
        rows = slice(first, last)
        sums.add(
            b,
            chunk.logits[:, rows],
            chunk.coefficients[:, rows],
            chunk.directions[rows],
        )
