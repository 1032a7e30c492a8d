"""Nonlocal operators as plain data. Backends give them meaning.

With θ ∈ R^d and z = θ' − θ:

- `Nonlocal`: G f(θ) = c ∫ (f(θ+z) − f(θ)) z/‖z‖² ρ(z) dz, where ρ is the
  density of N(0, γ²/2 I) (`gaussian`, ρ ∝ exp(−‖z‖²/γ²)) or uniform on the ball
  ‖z‖ ≤ δ (`ball`), and c = d (`consistent`, so that G f = ∇f for affine f) or
  c = 1 (`density`).
- `Smoothing`: S f(θ) = σ⁻¹ E[f(θ + σu) u], u ~ N(0, I), the gradient of f
  convolved with N(0, σ²I).
- `Attention`: d Σₘ αₘ (f(θ+zₘ) − f(θ)) zₘ/‖zₘ‖² with zₘ ~ ρ and
  α = softmax(score/τ) over the samples.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Union

import sympy

KernelKind = Literal["gaussian", "ball"]
Normalize = Literal["consistent", "density"]
Blocks = Literal["all", "layer", "neuron"]


@dataclass(frozen=True)
class Nonlocal:
    kernel: KernelKind
    scale: float
    normalize: Normalize = "consistent"
    blocks: Blocks = "all"


@dataclass(frozen=True)
class Smoothing:
    sigma: float
    blocks: Blocks = "all"


@dataclass(frozen=True)
class Attention:
    """Softmax-weighted G. `score` is "output", "distance" or a sympy expression
    in the symbols `df` (f(θ+z) − f(θ)) and `dist` (‖z‖)."""

    base: Nonlocal
    score: str | sympy.Expr
    tau: float


Operator = Union[Nonlocal, Smoothing, Attention]
