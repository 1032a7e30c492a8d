"""Kernel regression: what gradient flow on the squared loss predicts with a kernel.

For a kernel K with train Gram matrix K_XX = Σ λᵢ vᵢvᵢᵀ, targets y and initial
function f₀, gradient flow with learning rate η for time t gives on the train set

    f_t(X) = y + exp(−η K_XX t) (f₀(X) − y)

and at test inputs x*

    f_t(x*) = f₀(x*) + K_{x*X} Σᵢ φ(λᵢ) vᵢvᵢᵀ (y − f₀(X)),
    φ(λ) = (1 − exp(−η λ t)) / λ   (→ η t as λ → 0).

As t → ∞, φ(λ) → 1/λ and the prediction is the minimum-norm interpolant; a ridge
λ_r > 0 replaces 1/λ by 1/(λ + λ_r). Everything goes through one symmetric
eigendecomposition; no matrix is inverted explicitly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Eigenvalues below this fraction of the largest are treated as zero when forming the
# minimum-norm interpolant (the pseudo-inverse's cut-off, as in numpy.linalg.pinv).
DEFAULT_RCOND = 1e-10


@dataclass
class RegressionFit:
    """Predictions of one kernel on the train and test inputs.

    Attributes:
        train_prediction: f(X), shape [N].
        test_prediction: f(x*), shape [N*].
        dropped_eigenvalues: how many eigenvalues fell below the cut-off
            (the interpolant ignores those directions).
        cutoff: the absolute eigenvalue cut-off that was applied.
        min_eigenvalue: the smallest eigenvalue of the symmetrised train Gram.
    """

    train_prediction: np.ndarray
    test_prediction: np.ndarray
    dropped_eigenvalues: int
    cutoff: float
    min_eigenvalue: float


def _spectral_weights(
    eigenvalues: np.ndarray, ridge: float, time: float | None, lr: float, rcond: float
) -> tuple[np.ndarray, int, float]:
    """Return φ(λ) per eigenvalue, the count of dropped ones and the cut-off."""
    scale = max(float(np.max(np.abs(eigenvalues))), np.finfo(float).tiny)
    cutoff = rcond * scale
    weights = np.zeros_like(eigenvalues)
    if time is None:
        # Negative eigenvalues (Monte Carlo noise in an unbiased Gram) count as 0,
        # as in the flow below, so that λ + ridge near 0 cannot blow up.
        shifted = np.clip(eigenvalues, 0.0, None) + ridge
        keep = shifted > cutoff
        weights[keep] = 1.0 / shifted[keep]
        return weights, int(np.count_nonzero(~keep)), cutoff
    rate = lr * time
    positive = np.clip(eigenvalues, 0.0, None) + ridge
    # -expm1(-x)/λ keeps full precision when η λ t is small.
    small = positive * rate < 1e-12
    weights[~small] = -np.expm1(-rate * positive[~small]) / positive[~small]
    weights[small] = rate
    return weights, 0, cutoff


def kernel_regression(
    k_train: np.ndarray,
    k_test_train: np.ndarray,
    y: np.ndarray,
    *,
    f0_train: np.ndarray | None = None,
    f0_test: np.ndarray | None = None,
    ridge: float = 0.0,
    time: float | None = None,
    lr: float = 1.0,
    rcond: float = DEFAULT_RCOND,
) -> RegressionFit:
    """Predict with a kernel after gradient flow for `time` (None: infinite time).

    Args:
        k_train: K(X, X), shape [N, N]; symmetrised before use.
        k_test_train: K(x*, X), shape [N*, N].
        y: train targets, shape [N].
        f0_train, f0_test: the initial function on train and test inputs (default 0).
        ridge: λ_r >= 0 added to the eigenvalues.
        time: gradient-flow time t; None means t → ∞.
        lr: learning rate η.
        rcond: relative eigenvalue cut-off of the minimum-norm interpolant.
    """
    if ridge < 0:
        raise ValueError(f"`ridge` must be >= 0, got {ridge}")
    k_train = 0.5 * (np.asarray(k_train, float) + np.asarray(k_train, float).T)
    y = np.asarray(y, float)
    f0_train = np.zeros_like(y) if f0_train is None else np.asarray(f0_train, float)
    n_test = np.asarray(k_test_train).shape[0]
    f0_test = np.zeros(n_test) if f0_test is None else np.asarray(f0_test, float)
    eigenvalues, eigenvectors = np.linalg.eigh(k_train)
    weights, dropped, cutoff = _spectral_weights(eigenvalues, ridge, time, lr, rcond)
    residual = y - f0_train
    coefficients = eigenvectors @ (weights * (eigenvectors.T @ residual))
    test_prediction = f0_test + np.asarray(k_test_train, float) @ coefficients
    train_prediction = f0_train + k_train @ coefficients
    return RegressionFit(
        train_prediction=train_prediction,
        test_prediction=test_prediction,
        dropped_eigenvalues=dropped,
        cutoff=cutoff,
        min_eigenvalue=float(eigenvalues.min()),
    )


def mse(prediction: np.ndarray, target: np.ndarray) -> float:
    """Return the mean squared error."""
    return float(np.mean((np.asarray(prediction) - np.asarray(target)) ** 2))
