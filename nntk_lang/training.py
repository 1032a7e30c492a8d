"""Gradient descent with a nonlocal gradient, and what the kernel predicts for it.

The loss is L(θ) = (1/2N) Σᵢ (f(xᵢ; θ) − yᵢ)², so one step is

    θ ← θ − η (1/N) Σᵢ rᵢ 𝒪f(xᵢ; θ),   rᵢ = f(xᵢ; θ) − yᵢ,

with 𝒪 the nonlocal operator (a fresh Monte Carlo estimate each step) or the
ordinary gradient. Linearising f around θ₀ turns this into kernel dynamics with the
NNTK K at θ₀: r_{k+1} = (I − (η/N) K_XX) r_k on the train set and
f_{k+1}(x*) = f_k(x*) − (η/N) K_{x*X} r_k at test inputs. Both have closed forms
through one eigendecomposition of K_XX, which `kernel_prediction` uses.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

Forward = Callable[[np.ndarray, np.ndarray], np.ndarray]
"""f(θ, xs) -> outputs [N]."""
GradientOracle = Callable[[np.ndarray, np.ndarray, int], np.ndarray]
"""(θ, xs, step) -> gradients [N, P]; the step number seeds fresh samples."""


@dataclass
class LossCurve:
    """Train and test MSE at the recorded steps, and test predictions at a few.

    Attributes:
        steps: recorded step numbers (0 is the starting point).
        train_mse, test_mse: mean squared errors at those steps.
        snapshots: step -> test-set predictions, at a few steps.
    """

    steps: list[int] = field(default_factory=list)
    train_mse: list[float] = field(default_factory=list)
    test_mse: list[float] = field(default_factory=list)
    snapshots: dict[int, np.ndarray] = field(default_factory=dict)


def recorded_steps(steps: int, points: int = 60) -> list[int]:
    """Return about `points` step numbers from 0 to `steps`, spaced evenly on a log scale."""
    grid = np.unique(np.round(np.geomspace(1, steps, points)).astype(int))
    return [0, *grid.tolist()]


def snapshot_steps(steps: int) -> list[int]:
    """Return the steps at which the figure shows the learned function."""
    return sorted({0, steps // 10, steps // 3, steps})


def gradient_descent(
    forward: Forward,
    gradient: GradientOracle,
    theta0: np.ndarray,
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_test: np.ndarray,
    y_test: np.ndarray,
    *,
    steps: int,
    lr: float,
    cancel: Callable[[], None] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> LossCurve:
    """Run `steps` steps of gradient descent on the squared loss; record the curve."""
    theta = np.array(theta0, dtype=np.float64)
    record = set(recorded_steps(steps))
    snapshots = set(snapshot_steps(steps))
    curve = LossCurve()
    n_train = len(y_train)
    for step in range(steps + 1):
        train_out = forward(theta, x_train)
        if step in record or step in snapshots:
            test_out = forward(theta, x_test)
            if step in record:
                curve.steps.append(step)
                curve.train_mse.append(float(np.mean((train_out - y_train) ** 2)))
                curve.test_mse.append(float(np.mean((test_out - y_test) ** 2)))
            if step in snapshots:
                curve.snapshots[step] = test_out
        if step == steps:
            break
        if cancel is not None:
            cancel()
        residual = train_out - y_train
        theta = theta - lr * (residual @ gradient(theta, x_train, step)) / n_train
        if progress is not None:
            progress(step + 1, steps)
    return curve


def kernel_prediction(
    k_train: np.ndarray,
    k_test_train: np.ndarray,
    f0_train: np.ndarray,
    f0_test: np.ndarray,
    y_train: np.ndarray,
    y_test: np.ndarray,
    *,
    steps: int,
    lr: float,
) -> LossCurve:
    """Return the loss curve that linearised dynamics with a fixed kernel predict.

    With a = η/N and K_XX = Σ λⱼ vⱼvⱼᵀ: r_k = Σ (1 − aλⱼ)^k (vⱼ·r₀) vⱼ and
    f_k(x*) = f₀(x*) − a K_{x*X} Σⱼ c_k(λⱼ) (vⱼ·r₀) vⱼ with
    c_k(λ) = Σ_{i<k} (1 − aλ)^i = (1 − (1 − aλ)^k) / (aλ), which is k when λ = 0.
    """
    k_train = 0.5 * (np.asarray(k_train, float) + np.asarray(k_train, float).T)
    a = lr / len(y_train)
    eigenvalues, eigenvectors = np.linalg.eigh(k_train)
    r0 = np.asarray(f0_train, float) - np.asarray(y_train, float)
    coordinates = eigenvectors.T @ r0
    factor = 1.0 - a * eigenvalues
    curve = LossCurve()
    record, snapshots = recorded_steps(steps), snapshot_steps(steps)
    for step in sorted(set(record) | set(snapshots)):
        residual = eigenvectors @ (factor**step * coordinates)
        sums = _geometric_sums(factor, a * eigenvalues, step)
        test = f0_test - a * (k_test_train @ (eigenvectors @ (sums * coordinates)))
        if step in record:
            curve.steps.append(step)
            curve.train_mse.append(float(np.mean(residual**2)))
            curve.test_mse.append(float(np.mean((test - y_test) ** 2)))
        if step in snapshots:
            curve.snapshots[step] = test
    return curve


def _geometric_sums(factor: np.ndarray, rate: np.ndarray, k: int) -> np.ndarray:
    """Return Σ_{i<k} factor^i per entry, exactly k where rate = 1 − factor is 0."""
    sums = np.full_like(factor, float(k))
    moving = np.abs(rate) > 1e-14
    sums[moving] = (1.0 - factor[moving] ** k) / rate[moving]
    return sums
