"""Kernel estimates from sample-pair sums, with a jackknife over sample groups.

A gradient estimate is ĝ(x) = (1/M) Σₘ Dₘ(x) wₘ, with Dₘ(x) the change of f at
sample m and wₘ its weighted direction. The kernel ⟨ĝ(x), ĝ(x')⟩ is
(1/M²) Σ_{m,m'} Dₘ(x) Dₘ'(x') ⟨wₘ, wₘ'⟩. Its m = m' terms bias it upward by
the estimator's variance:

- the V-statistic keeps them: positive semidefinite, bias O(1/M);
- the U-statistic drops them and divides by M(M − 1): unbiased, not always PSD.

The samples are split into G contiguous groups. `PairSums` stores, per pair of
groups (b, c), the sum over m ∈ b, m' ∈ c of the pair terms, and per group the
m = m' terms, so both statistics and their delete-one-group jackknife follow
without another pass. Sums from independent perturbation blocks add.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch

from nntk_lang.errors import ConfigError

Statistic = Literal["unbiased", "psd"]

STATISTIC_NAMES = {
    "unbiased": "unbiased U-statistic (m = m' terms dropped)",
    "psd": "PSD V-statistic (m = m' terms kept)",
}


def group_bounds(samples: int, groups: int) -> list[range]:
    """Split `samples` into `groups` contiguous ranges of near-equal size."""
    if groups < 2 or samples < 2 * groups:
        raise ConfigError(
            f"need at least 2 jackknife groups of 2 samples, got {samples} samples "
            f"in {groups} groups; raise `samples`"
        )
    edges = np.linspace(0, samples, groups + 1).round().astype(int)
    return [range(int(a), int(b)) for a, b in itertools.pairwise(edges)]


@dataclass
class PairSums:
    """Pair sums per group pair and m = m' sums per group.

    Attributes:
        sizes: samples per group, shape (G,).
        cross: Σ over m ∈ b, m' ∈ c of Dₘ(x) Dₘ'(x') ⟨wₘ, wₘ'⟩, shape (G, G, N1, N2).
        diagonal: Σ over m ∈ b of Dₘ(x) Dₘ(x') ‖wₘ‖², shape (G, N1, N2).
    """

    sizes: np.ndarray
    cross: torch.Tensor
    diagonal: torch.Tensor

    @classmethod
    def zeros(cls, bounds: list[range], n1: int, n2: int) -> PairSums:
        groups = len(bounds)
        return cls(
            np.array([len(bound) for bound in bounds]),
            torch.zeros(groups, groups, n1, n2, dtype=torch.float64),
            torch.zeros(groups, n1, n2, dtype=torch.float64),
        )

    def add(self, other: PairSums) -> None:
        """Add the sums of an independent block with the same groups."""
        self.cross += other.cross
        self.diagonal += other.diagonal


def _statistic(
    total: torch.Tensor, diagonal: torch.Tensor, count: int, statistic: Statistic
) -> torch.Tensor:
    if statistic == "psd":
        return total / count**2
    return (total - diagonal) / (count * (count - 1))


def kernel_with_stderr(
    sums: PairSums, statistic: Statistic
) -> tuple[np.ndarray, np.ndarray]:
    """Return the kernel estimate and its delete-one-group jackknife stderr."""
    if statistic not in STATISTIC_NAMES:
        raise ConfigError(f"`statistic` must be unbiased or psd, got {statistic!r}")
    count = int(sums.sizes.sum())
    total = sums.cross.sum(dim=(0, 1))
    diagonal = sums.diagonal.sum(dim=0)
    value = _statistic(total, diagonal, count, statistic)
    groups = len(sums.sizes)
    leave_outs = []
    for b in range(groups):
        rest = (
            total
            - sums.cross[b].sum(dim=0)
            - sums.cross[:, b].sum(dim=0)
            + sums.cross[b, b]
        )
        rest_count = count - int(sums.sizes[b])
        leave_outs.append(
            _statistic(rest, diagonal - sums.diagonal[b], rest_count, statistic)
        )
    stacked = torch.stack(leave_outs)
    spread = ((stacked - stacked.mean(dim=0)) ** 2).sum(dim=0)
    stderr = torch.sqrt((groups - 1) / groups * spread)
    return value.numpy(), stderr.numpy()


def sums_from_gram(
    d1: torch.Tensor, d2: torch.Tensor, gram: torch.Tensor, bounds: list[range]
) -> PairSums:
    """Build pair sums from differences (N, M) and the weighted Gram (M, M)."""
    sums = PairSums.zeros(bounds, d1.shape[0], d2.shape[0])
    membership = _membership(bounds, gram.dtype)
    for c, cols in enumerate(bounds):
        # Gram columns of group c times its differences: (M, N2).
        right = gram[:, cols.start : cols.stop] @ d2[:, cols.start : cols.stop].T
        sums.cross[:, c] = torch.einsum("mb,nm,mp->bnp", membership, d1, right)
    weighted = d1 * torch.diagonal(gram)
    sums.diagonal[:] = torch.einsum("mb,nm,pm->bnp", membership, weighted, d2)
    return sums


def _membership(bounds: list[range], dtype: torch.dtype) -> torch.Tensor:
    """Return the (M, G) one-hot matrix of sample groups."""
    samples = bounds[-1].stop
    membership = torch.zeros(samples, len(bounds), dtype=dtype)
    for b, rows in enumerate(bounds):
        membership[rows.start : rows.stop, b] = 1.0
    return membership


def sums_from_projections(
    projections1: torch.Tensor,
    projections2: torch.Tensor,
    diagonal: torch.Tensor,
    sizes: np.ndarray,
) -> PairSums:
    """Build pair sums from per-group projections S_b = Σ_{m∈b} Dₘ wₘᵀ.

    Args:
        projections1: shape (G, N1, d), or (G, J, N1, d) for J independent
            blocks whose kernels add.
        projections2: the same for the second inputs.
        diagonal: the m = m' sums per group, shape (G, N1, N2).
        sizes: samples per group.
    """
    if projections1.ndim == 3:
        cross = torch.einsum("bnk,cpk->bcnp", projections1, projections2)
    else:
        cross = torch.einsum("bjnk,cjpk->bcnp", projections1, projections2)
    return PairSums(np.asarray(sizes), cross, diagonal)
