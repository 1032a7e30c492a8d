"""Perturbations z of the parameters and the weights w(z) of each operator.

With θ ∈ R^d:

- gaussian(γ): z ~ N(0, γ²/2 I), the density ∝ exp(−‖z‖²/γ²);
- ball(δ): z uniform on ‖z‖ ≤ δ, a normal direction scaled to radius δ·U^(1/d);
- smoothing(σ): z = σu with u ~ N(0, I).

Nonlocal operators weight a difference by w(z) = c·z/‖z‖², with c = d for the
consistent normalisation and c = 1 for the density one; smoothing weights it by
u/σ = z/σ². Then E[w(z) zᵀ] = I for every consistent operator, which is what
makes them exact on affine functions.

Every block of samples is drawn on the CPU in float64 from a generator seeded by
(seed, block index), so that results do not depend on chunking or device.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from nntk_lang.ir.operators import Nonlocal, Operator, Smoothing
from nntk_lang.montecarlo.options import MCOptions

# Sobol points are clamped this far from 0 and 1 before the inverse normal CDF.
_SOBOL_EPS = 1e-12


@dataclass(frozen=True)
class PerturbationBlock:
    """One seeded block of sample units.

    Attributes:
        z: perturbations [U, d]; for antithetic pairs the first member of each pair.
        weights: w(z) [U, d].
    """

    z: torch.Tensor
    weights: torch.Tensor


def block_seed(seed: int, block: int) -> int:
    """Mix (seed, block index) into one 63-bit generator seed."""
    state = np.random.SeedSequence([seed, block]).generate_state(1, np.uint64)[0]
    return int(state) & ((1 << 63) - 1)


def units_in_block(options: MCOptions, block: int) -> int:
    """Return how many sample units of block `block` the request uses."""
    per_block = options.block_size // options.evaluations_per_unit
    return max(0, min(per_block, options.units - block * per_block))


def draw_block(
    operator: Operator, d: int, options: MCOptions, block: int
) -> PerturbationBlock:
    """Draw the used units of block `block` for `operator` on R^d."""
    _check_operator(operator)
    per_block = options.block_size // options.evaluations_per_unit
    seed = block_seed(options.seed, block)
    extra = 1 if _is_ball(operator) else 0
    if options.sampler == "sobol":
        engine = torch.quasirandom.SobolEngine(d + extra, scramble=True, seed=seed)
        uniform = engine.draw(per_block, dtype=torch.float64)
        uniform = uniform.clamp(_SOBOL_EPS, 1.0 - _SOBOL_EPS)
        normal = torch.special.ndtri(uniform[:, :d])
        radius_uniform = uniform[:, d:]
    else:
        generator = torch.Generator().manual_seed(seed)
        normal = torch.randn(per_block, d, generator=generator, dtype=torch.float64)
        radius_uniform = torch.rand(
            per_block, extra, generator=generator, dtype=torch.float64
        )
    used = units_in_block(options, block)
    z = _perturbation(operator, normal[:used], radius_uniform[:used])
    return PerturbationBlock(z=z, weights=weights(operator, z))


def weights(operator: Operator, z: torch.Tensor) -> torch.Tensor:
    """Return w(z) [U, d] for perturbations z [U, d]."""
    if isinstance(operator, Smoothing):
        return z / operator.sigma**2
    factor = z.shape[1] if operator.normalize == "consistent" else 1
    return factor * z / (z * z).sum(dim=1, keepdim=True)


def _perturbation(
    operator: Operator, normal: torch.Tensor, radius_uniform: torch.Tensor
) -> torch.Tensor:
    if isinstance(operator, Smoothing):
        return operator.sigma * normal
    if operator.kernel == "gaussian":
        return operator.scale / 2**0.5 * normal
    d = normal.shape[1]
    direction = normal / normal.norm(dim=1, keepdim=True)
    return direction * operator.scale * radius_uniform ** (1.0 / d)


def _is_ball(operator: Operator) -> bool:
    return isinstance(operator, Nonlocal) and operator.kernel == "ball"


def _check_operator(operator: Operator) -> None:
    if not isinstance(operator, (Nonlocal, Smoothing)):
        raise NotImplementedError(
            f"the Monte Carlo backend has no sampler for `{type(operator).__name__}`"
        )
    if operator.blocks != "all":
        raise NotImplementedError(
            f"operators with blocks={operator.blocks!r} are not supported on "
            "symbolic models; use blocks='all'"
        )
