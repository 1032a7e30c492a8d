"""Sampling rules of G and S on a block of d parameters, and difference weights.

Every operator draws a standard normal vector gₘ per sample and perturbs the
block by zₘ = βₘ gₘ; the gradient estimate is (1/M) Σₘ Dₘ κₘ gₘ with
Dₘ = f(θ + zₘ) − f(θ):

- nonlocal(gaussian(γ)): β = γ/√2, and κ = c/(β ‖g‖²), so κ g = c z/‖z‖²;
- nonlocal(ball(δ)): z = r g/‖g‖ with r = δ U^{1/d}, uniform in the d-ball,
  so β = r/‖g‖ and again κ g = c z/‖z‖²;
- smoothing(σ): β = σ and κ = 1/σ, so κ g = u/σ with u = g. Subtracting f(θ)
  leaves the expectation unchanged, because E[u] = 0, and removes most of the
  variance for a small σ.

Here c = d for `normalize=consistent` and c = 1 for `density`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from nntk_lang.errors import ConfigError
from nntk_lang.ir.operators import Nonlocal, Operator, Smoothing


@dataclass(frozen=True)
class Perturbation:
    """The sampling rule of one operator on blocks of `size` parameters."""

    operator: Nonlocal | Smoothing
    size: int

    @property
    def needs_uniform(self) -> bool:
        return isinstance(self.operator, Nonlocal) and self.operator.kernel == "ball"

    def scales(
        self, squared_norms: torch.Tensor, uniform: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Return β and κ per sample from ‖gₘ‖² (and U for the ball)."""
        operator = self.operator
        if isinstance(operator, Smoothing):
            beta = torch.full_like(squared_norms, operator.sigma)
            return beta, 1.0 / beta
        factor = self.size if operator.normalize == "consistent" else 1.0
        if operator.kernel == "gaussian":
            beta = torch.full_like(squared_norms, operator.scale / math.sqrt(2))
        else:
            assert uniform is not None
            radius = operator.scale * uniform ** (1.0 / self.size)
            beta = radius / torch.sqrt(squared_norms)
        return beta, factor / (beta * squared_norms)


def check_operator(operator: Operator) -> Nonlocal | Smoothing:
    """Return `operator` if the network estimators support it, else raise."""
    if isinstance(operator, Smoothing):
        if operator.sigma <= 0:
            raise ConfigError(f"smoothing `sigma` must be > 0, got {operator.sigma}")
        return operator
    if isinstance(operator, Nonlocal):
        if operator.scale <= 0:
            raise ConfigError(f"kernel scale must be > 0, got {operator.scale}")
        if operator.kernel not in ("gaussian", "ball"):
            raise ConfigError(f"unknown nonlocal kernel {operator.kernel!r}")
        return operator
    raise ConfigError(
        f"{type(operator).__name__} is not a plain G or S operator; "
        "use nntk_lang.montecarlo.attention for attention"
    )


def describe(operator: Nonlocal | Smoothing) -> str:
    """Return the operator as the language writes it."""
    if isinstance(operator, Smoothing):
        return f"smoothing(sigma={operator.sigma})"
    return (
        f"nonlocal({operator.kernel}({operator.scale}), normalize={operator.normalize})"
    )
