"""The attention-weighted nonlocal gradient, for any batched model.

With zₘ ~ ρ (gaussian or ball), hₘ = c (f(θ+zₘ) − f(θ)) zₘ/‖zₘ‖² and weights
α = softmax(s/τ) over the M samples, the estimate is Σₘ αₘ hₘ. Scores:

- `output`: sₘ = −(f(θ+zₘ) − f(θ))², separately for every input x, so each
  input has its own weights;
- `distance`: sₘ = −‖zₘ‖², shared by all inputs;
- a sympy expression in the symbols `df` (f(θ+z) − f(θ)) and `dist` (‖z‖).

At a fixed τ the estimate is a self-normalised importance average: as M → ∞ it
converges to E[e^{s/τ} h]/E[e^{s/τ}], which is not G f. As τ → ∞ the weights
become uniform and the estimate tends to the plain Monte Carlo estimate of G f.
Its standard error comes from the delta method for a ratio of means,
se² = Σₘ αₘ² (hₘ − ĝ)², and each result reports the effective sample size
1/Σₘ αₘ² per input in `info["ess"]`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import sympy
import torch

from nntk_lang.errors import ConfigError
from nntk_lang.ir.operators import Attention
from nntk_lang.montecarlo import random_tiles
from nntk_lang.results import Estimate

Tensor = torch.Tensor
Evaluate = Callable[[Tensor], Tensor]
"""A batched model: parameters (M, P) to outputs (N, M)."""

SCORE_SYMBOLS = {"df": sympy.Symbol("df", real=True), "dist": sympy.Symbol("dist")}


def score_values(score: str | sympy.Expr, diff: Tensor, distance: Tensor) -> Tensor:
    """Return the scores sₘ per input, shape (N, M).

    Args:
        score: "output", "distance" or a sympy expression in `df` and `dist`.
        diff: f(θ+zₘ) − f(θ), shape (N, M).
        distance: ‖zₘ‖, shape (M,).
    """
    if isinstance(score, str):
        if score == "output":
            return -(diff**2)
        if score == "distance":
            return (-(distance**2)).expand_as(diff)
        raise ConfigError(
            f"`score` must be output, distance or an expression, got {score!r}"
        )
    if not isinstance(score, sympy.Expr):
        raise ConfigError(
            f"`score` must be a sympy expression, got {type(score).__name__}"
        )
    values = {"df": diff, "dist": distance.expand_as(diff)}
    return _evaluate_expression(score, values).expand_as(diff)


_FUNCTIONS: dict[type, Callable[[Tensor], Tensor]] = {
    sympy.exp: torch.exp,
    sympy.log: torch.log,
    sympy.Abs: torch.abs,
    sympy.tanh: torch.tanh,
    sympy.sin: torch.sin,
    sympy.cos: torch.cos,
}


def _evaluate_expression(expr: sympy.Expr, values: dict[str, Tensor]) -> Tensor:
    """Evaluate a score expression by walking its sympy tree (no code generation)."""
    if expr.is_Symbol:
        if expr.name not in values:
            raise ConfigError(
                f"score expressions may use `df` and `dist`, not `{expr.name}`"
            )
        return values[expr.name]
    if expr.is_Number:
        return torch.tensor(float(expr), dtype=torch.float64)
    args = [_evaluate_expression(arg, values) for arg in expr.args]
    if expr.is_Add:
        return sum(args[1:], args[0])
    if expr.is_Mul:
        product = args[0]
        for arg in args[1:]:
            product = product * arg
        return product
    if expr.is_Pow:
        return args[0] ** args[1]
    function = _FUNCTIONS.get(expr.func)
    if function is None:
        raise ConfigError(f"score expressions do not support `{expr.func}`")
    return function(args[0])


@dataclass
class _RunningSums:
    """Softmax-weighted sums, kept relative to a running maximum logit.

    Sample m of input n has weight wₙₘ = exp(logitₙₘ − peakₙ) and value
    hₙₘ = coefficientₙₘ · directionₘ, so no (N, M, P) array is formed.
    """

    peak: Tensor
    weight: Tensor
    weight_squared: Tensor
    weighted: Tensor
    cross: Tensor
    squared_values: Tensor

    @classmethod
    def empty(cls, inputs: int, params: int) -> _RunningSums:
        def zeros(*shape: int) -> Tensor:
            return torch.zeros(*shape, dtype=torch.float64)

        peak = torch.full((inputs,), -math.inf, dtype=torch.float64)
        return cls(
            peak,
            zeros(inputs),
            zeros(inputs),
            zeros(inputs, params),
            zeros(inputs, params),
            zeros(inputs, params),
        )

    def add(self, logits: Tensor, coefficients: Tensor, directions: Tensor) -> None:
        """Add samples: logits and coefficients (N, M), directions (M, P)."""
        peak = torch.maximum(self.peak, logits.max(dim=1).values)
        rescale = torch.exp(self.peak - peak)
        self.peak = peak
        w = torch.exp(logits - peak[:, None])
        self.weight = self.weight * rescale + w.sum(1)
        self.weight_squared = self.weight_squared * rescale**2 + (w**2).sum(1)
        scale, scale_squared = rescale[:, None], rescale[:, None] ** 2
        self.weighted = self.weighted * scale + (w * coefficients) @ directions
        self.cross = self.cross * scale_squared + (w**2 * coefficients) @ directions
        self.squared_values = self.squared_values * scale_squared + (
            (w * coefficients) ** 2 @ directions**2
        )

    def result(self) -> tuple[Tensor, Tensor, Tensor]:
        """Return the estimate, its delta-method stderr and the ESS per input."""
        estimate = self.weighted / self.weight[:, None]
        spread = (
            self.squared_values
            - 2 * estimate * self.cross
            + estimate**2 * self.weight_squared[:, None]
        )
        stderr = torch.sqrt(torch.clamp(spread, min=0.0)) / self.weight[:, None]
        ess = self.weight**2 / self.weight_squared
        return estimate, stderr, ess


def _check(operator: Attention, samples: int) -> None:
    base = operator.base
    if base.kernel not in ("gaussian", "ball") or base.scale <= 0:
        raise ConfigError(
            f"attention needs gaussian(γ) or ball(δ) with a positive scale, got "
            f"{base.kernel}({base.scale})"
        )
    if base.blocks != "all":
        raise ConfigError("attention supports blocks=all only")
    if not operator.tau > 0:
        raise ConfigError(f"`tau` must be > 0 (inf for plain G), got {operator.tau}")
    if samples < 2:
        raise ConfigError(f"`samples` must be at least 2, got {samples}")


def _perturbations(operator: Attention, seed: int, params: int, chunk: range) -> Tensor:
    """Return zₘ ~ ρ for the samples in `chunk`, shape (len(chunk), P)."""
    g = random_tiles.normals(seed, 0, params, chunk, range(params))
    base = operator.base
    if base.kernel == "gaussian":
        return base.scale / math.sqrt(2) * g
    uniform = random_tiles.uniforms(seed, 0, 1, chunk, range(1))
    radius = base.scale * uniform ** (1.0 / params)
    return radius * g / torch.linalg.norm(g, dim=1, keepdim=True)


@dataclass(frozen=True)
class SampleChunk:
    """One chunk of attention samples.

    Attributes:
        samples: the sample indices of the chunk.
        logits: s/τ per input and sample, shape (N, m); 0 when τ = inf.
        coefficients: c (f(θ+z) − f(θ)), shape (N, m).
        directions: z/‖z‖², shape (m, P).
    """

    samples: range
    logits: Tensor
    coefficients: Tensor
    directions: Tensor


def sample_chunks(
    evaluate: Evaluate,
    theta: Tensor,
    operator: Attention,
    samples: int,
    seed: int,
    chunk_samples: int,
) -> Iterator[SampleChunk]:
    """Draw the perturbations chunk by chunk and evaluate the model on them."""
    _check(operator, samples)
    params = theta.shape[0]
    factor = params if operator.base.normalize == "consistent" else 1.0
    baseline = evaluate(theta[None, :])[:, 0]
    step = max(1, chunk_samples)
    for low in range(0, samples, step):
        chunk = range(low, min(low + step, samples))
        z = _perturbations(operator, seed, params, chunk)
        squared = (z * z).sum(dim=1)
        diff = evaluate(theta + z) - baseline[:, None]
        if math.isinf(operator.tau):
            logits = torch.zeros_like(diff)
        else:
            scores = score_values(operator.score, diff, torch.sqrt(squared))
            logits = scores / operator.tau
        yield SampleChunk(chunk, logits, factor * diff, z / squared[:, None])


def attention_gradient(
    evaluate: Evaluate,
    theta: Tensor,
    operator: Attention,
    *,
    samples: int,
    seed: int,
    chunk_samples: int = 4096,
) -> Estimate:
    """Estimate the attention-weighted nonlocal gradient of a batched model.

    Args:
        evaluate: maps parameters (M, P) to outputs (N, M).
        theta: the parameter point, shape (P,).
        operator: the attention operator; τ = inf gives plain Monte Carlo G.
        samples: perturbations M.
        seed: seed of the perturbations.
        chunk_samples: perturbations per call of `evaluate`.

    Returns:
        An Estimate of shape (N, P) with the delta-method stderr and
        `info["ess"]`, the effective sample size per input.
    """
    theta = torch.as_tensor(theta, dtype=torch.float64)
    sums = None
    for chunk in sample_chunks(evaluate, theta, operator, samples, seed, chunk_samples):
        if sums is None:
            sums = _RunningSums.empty(chunk.logits.shape[0], theta.shape[0])
        sums.add(chunk.logits, chunk.coefficients, chunk.directions)
    estimate, stderr, ess = sums.result()
    return Estimate(
        value=estimate.numpy(),
        stderr=stderr.numpy(),
        method="mc",
        samples=samples,
        seed=seed,
        estimator=(
            f"attention, score={operator.score}, tau={operator.tau}: self-normalised "
            "softmax weights, delta-method stderr"
        ),
        info={"ess": ess.numpy(), "tau": operator.tau},
    )
