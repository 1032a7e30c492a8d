"""Kernel assembly from differences D [N, M] and weights W [M, d], with jackknife.

With g = D W (the summed estimates of op f at each input) the V-statistic is
K_V = g gᵀ / M², positive semidefinite but biased upward by the m = m' terms
T = D diag(‖w‖²) Dᵀ. The U-statistic drops them:
K_U = (g gᵀ − T) / (M (M − 1)).

Scrambled Sobol points of one block are dependent, so for sobol the dropped
terms are the pairs within a block: T = Σ_b g_b g_bᵀ over blocks b, and
K_U = (g gᵀ − T) / (M² − Σ_b n_b²). With blocks of one unit this is the
formula above, so `piece_squares` (Σ n_b²) covers both cases.

Standard errors come from the jackknife over groups of consecutive sample
units (whole blocks for sobol): each group j is left out in turn, giving
K_(−j), and var = (G − 1)/G · Σⱼ (K_(−j) − mean)².
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass
class GroupSums:
    """Per-group sufficient statistics of the gradient route, float64.

    Attributes:
        g: [G, N, d] sums of D W over the units of each group.
        t: [G, N, N] sums of the dropped terms over each group.
        units: [G] sample units in each group.
        piece_squares: [G] sums of squared sizes of the independent pieces
            (units, or sobol blocks) in each group.
    """

    g: torch.Tensor
    t: torch.Tensor
    units: torch.Tensor
    piece_squares: torch.Tensor


def kernel_value(
    v_sum: torch.Tensor,
    t_sum: torch.Tensor,
    units: float,
    piece_squares: float,
    estimator: str,
) -> torch.Tensor:
    """Return K_V (estimator "psd") or K_U ("unbiased") from g gᵀ and T sums."""
    if estimator == "psd":
        return v_sum / units**2
    return (v_sum - t_sum) / (units**2 - piece_squares)


def kernel_from_group_sums(
    sums: GroupSums, estimator: str
) -> tuple[torch.Tensor, torch.Tensor]:
    """Assemble K and its jackknife standard error by the gradient route."""
    g = sums.g.sum(dim=0)
    t = sums.t.sum(dim=0)
    total = float(sums.units.sum())
    squares = float(sums.piece_squares.sum())
    value = kernel_value(g @ g.T, t, total, squares, estimator)
    leave_out = []
    for j in range(sums.g.shape[0]):
        rest = g - sums.g[j]
        leave_out.append(
            kernel_value(
                rest @ rest.T,
                t - sums.t[j],
                total - float(sums.units[j]),
                squares - float(sums.piece_squares[j]),
                estimator,
            )
        )
    return _symmetric(value), _symmetric(_jackknife_stderr(torch.stack(leave_out)))


def kernel_by_sample_gram(
    differences: torch.Tensor,
    weights: torch.Tensor,
    groups: torch.Tensor,
    estimator: str,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Assemble K and its jackknife standard error through C = W Wᵀ [M, M].

    Needs every sample unit at once, and units that are independent (not sobol). With E = C Dᵀ, g gᵀ = D E, and leaving
    group j out gives g gᵀ − D_j E_j − (D_j E_j)ᵀ + D_j C_jj D_jᵀ.
    """
    gram = weights @ weights.T
    projected = gram @ differences.T
    v_sum = differences @ projected
    norms = torch.diagonal(gram)
    t_sum = (differences * norms) @ differences.T
    total = float(differences.shape[1])
    value = kernel_value(v_sum, t_sum, total, total, estimator)
    leave_out = []
    for _, mask in group_slices(groups):
        d_j = differences[:, mask]
        cross = d_j @ projected[mask]
        inner = d_j @ (gram[mask][:, mask] @ d_j.T)
        t_j = (d_j * norms[mask]) @ d_j.T
        v_rest = v_sum - cross - cross.T + inner
        count = total - float(d_j.shape[1])
        leave_out.append(kernel_value(v_rest, t_sum - t_j, count, count, estimator))
    return _symmetric(value), _symmetric(_jackknife_stderr(torch.stack(leave_out)))


def group_slices(groups: torch.Tensor) -> list[tuple[int, slice]]:
    """Return (group, slice of units) for each run of a non-decreasing group index."""
    values, counts = torch.unique_consecutive(groups, return_counts=True)
    runs, start = [], 0
    for value, count in zip(values.tolist(), counts.tolist()):
        runs.append((value, slice(start, start + count)))
        start += count
    return runs


def prefer_sample_gram(n_inputs: int, units: int, d: int) -> bool:
    """Choose the cheaper assembly order by counting multiply-adds.

    Gradient route: g = D W costs N·M·d and g gᵀ costs N²·d. Sample-Gram route:
    C = W Wᵀ costs M²·d, C Dᵀ costs N·M² and D (C Dᵀ) costs N²·M. The sample
    Gram wins when d is large against M and M² < N·M + N², so M < 1.6·N.
    """
    gradient_route = n_inputs * units * d + n_inputs**2 * d
    sample_gram_route = units**2 * d + n_inputs * units**2 + n_inputs**2 * units
    return sample_gram_route < gradient_route


def _jackknife_stderr(leave_out: torch.Tensor) -> torch.Tensor:
    count = leave_out.shape[0]
    spread = leave_out - leave_out.mean(dim=0)
    return torch.sqrt((count - 1) / count * (spread**2).sum(dim=0))


def _symmetric(matrix: torch.Tensor) -> torch.Tensor:
    return (matrix + matrix.T) / 2
