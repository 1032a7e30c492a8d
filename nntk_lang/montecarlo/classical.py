"""The classical gradient and NTK of a lowered model by torch.func."""

from __future__ import annotations

import numpy as np
import torch
from torch.func import jacrev

from nntk_lang.errors import ConfigError
from nntk_lang.ir.symbolic import SymbolicModelIR
from nntk_lang.montecarlo.torch_lowering import TorchModel, compile_model
from nntk_lang.results import Estimate


def classical_gradient(
    model: TorchModel | SymbolicModelIR, theta: np.ndarray, xs: np.ndarray
) -> Estimate:
    """Return ∇θ f(x; θ) [N, d] at every input by reverse-mode autodiff.

    At kinks and jumps the value is torch's derivative there: 0 for sign,
    step, floor and ceil, and relu'(0) = 0.
    """
    jacobian = _jacobian(_lowered(model), theta, xs)
    return Estimate(value=jacobian.numpy(), method="autodiff", estimator="jacrev")


def classical_ntk(
    model: TorchModel | SymbolicModelIR,
    theta: np.ndarray,
    x1: np.ndarray,
    x2: np.ndarray | None = None,
) -> Estimate:
    """Return the classical NTK K(x, x') = ⟨∇θ f(x; θ), ∇θ f(x'; θ)⟩ [N1, N2]."""
    lowered = _lowered(model)
    left = _jacobian(lowered, theta, x1)
    right = left if x2 is None else _jacobian(lowered, theta, x2)
    return Estimate(
        value=(left @ right.T).numpy(), method="autodiff", estimator="jacrev"
    )


def _lowered(model: TorchModel | SymbolicModelIR) -> TorchModel:
    return compile_model(model) if isinstance(model, SymbolicModelIR) else model


def _jacobian(model: TorchModel, theta: np.ndarray, xs: np.ndarray) -> torch.Tensor:
    theta_t = torch.as_tensor(np.asarray(theta, dtype=np.float64))
    xs_t = torch.as_tensor(np.asarray(xs, dtype=np.float64))
    if theta_t.shape != (model.n_params,):
        raise ConfigError(
            f"`theta` must have shape ({model.n_params},), got {tuple(theta_t.shape)}"
        )
    if xs_t.ndim != 2 or xs_t.shape[1] != model.n_inputs:
        raise ConfigError(
            f"inputs must have shape [N, {model.n_inputs}], got {tuple(xs_t.shape)}"
        )

    def outputs(point: torch.Tensor) -> torch.Tensor:
        return model(xs_t, point[None, :])[:, 0]

    return jacrev(outputs)(theta_t).detach()
