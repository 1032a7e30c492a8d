"""Method choice for network models: closed forms where proven, Monte Carlo otherwise.

- Infinite width (`width=inf`): the classical NTK and the NNTK under smoothing of
  one-hidden-layer networks have closed forms. Nothing else does, and Monte Carlo
  cannot stand in for a limit.
- Finite width: S on a one-hidden-layer network has an exact kernel (a sum over
  neurons of smoothed-unit products); everything else is sampled, per block.
- The classical NTK at a point is the layer-wise structured contraction.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from nntk_lang.dispatch import (
    BackendContext,
    RequestOptions,
    attention_gradient,
    attention_kernel,
)
from nntk_lang.errors import NoClosedForm
from nntk_lang.ir.network import NetworkIR
from nntk_lang.ir.operators import Attention, Operator, Smoothing
from nntk_lang.results import Estimate


def _evaluate(net: NetworkIR, xs: np.ndarray, cancel=None):
    from nntk_lang.montecarlo.network_forward import forward_batched

    inputs = torch.as_tensor(np.asarray(xs, dtype=np.float64))

    def evaluate(thetas: torch.Tensor) -> torch.Tensor:
        # The attention estimators call this once per chunk of samples, so a
        # cancel request stops them within one chunk.
        if cancel is not None:
            cancel()
        # forward_batched returns (M, N, out); attention wants (N, M).
        return forward_batched(net, thetas, inputs)[:, :, 0].T

    return evaluate


def _is_infinite(width: float | None) -> bool:
    return width is not None and math.isinf(width)


def network_kernel(
    net: NetworkIR,
    op: Operator,
    theta: np.ndarray | None,
    x1: np.ndarray,
    x2: np.ndarray,
    request: RequestOptions,
    context: BackendContext,
    width: float | None = None,
) -> Estimate:
    """Compute the NNTK of a network at `theta`, or its infinite-width limit."""
    if _is_infinite(width):
        from nntk_lang.analytic.infinite_width import nntk

        if request.method == "mc":
            raise NoClosedForm("width=inf is a limit, which Monte Carlo cannot sample")
        return nntk(net, op, x1, x2)
    if isinstance(op, Smoothing) and request.method != "mc":
        from nntk_lang.analytic.smoothed_network import smoothed_network_nntk

        try:
            return smoothed_network_nntk(
                net, theta, x1, x2, sigma=op.sigma, blocks=op.blocks
            )
        except NoClosedForm:
            if request.method == "analytic":
                raise
    elif request.method == "analytic":
        raise NoClosedForm(
            "closed forms of network kernels exist only for smoothing of "
            "one-hidden-layer networks"
        )
    if isinstance(op, Attention):
        union = np.concatenate([x1, x2])
        evaluate = _evaluate(net, union, context.cancel)
        return attention_kernel(evaluate, theta, op, len(x1), request)
    from nntk_lang.montecarlo.network import network_nntk

    return network_nntk(
        net,
        op,
        theta,
        x1,
        x2,
        samples=request.samples,
        seed=request.seed,
        statistic=request.estimator,
        antithetic=request.sampler == "antithetic",
        cancel=context.cancel,
    )


def network_gradient(
    net: NetworkIR,
    op: Operator,
    theta: np.ndarray,
    xs: np.ndarray,
    request: RequestOptions,
    context: BackendContext,
) -> Estimate:
    """Estimate the nonlocal gradient of a network's output at each input."""
    if request.method == "analytic":
        raise NoClosedForm("gradients of networks are estimated by Monte Carlo only")
    if isinstance(op, Attention):
        evaluate = _evaluate(net, xs, context.cancel)
        return attention_gradient(evaluate, theta, op, request)
    from nntk_lang.montecarlo.network_gradient import network_gradient as estimate

    return estimate(
        net,
        op,
        theta,
        xs,
        samples=request.samples,
        seed=request.seed,
        antithetic=request.sampler == "antithetic",
        cancel=context.cancel,
    )


def network_classical_ntk(
    net: NetworkIR,
    theta: np.ndarray | None,
    x1: np.ndarray,
    x2: np.ndarray,
    request: RequestOptions,
    width: float | None = None,
) -> Estimate:
    """Compute the classical NTK of a network at `theta`, or its infinite-width limit."""
    if _is_infinite(width):
        from nntk_lang.analytic.infinite_width import ntk

        return ntk(net, x1, x2)
    from nntk_lang.montecarlo.empirical_ntk import empirical_ntk

    value = empirical_ntk(
        net,
        torch.as_tensor(np.asarray(theta, dtype=np.float64)),
        torch.as_tensor(x1),
        torch.as_tensor(x2),
    )
    return Estimate(
        value=value.numpy(),
        method="autodiff",
        estimator="layer-wise structured contraction",
    )


def network_outputs(net: NetworkIR, theta: np.ndarray, xs: np.ndarray) -> np.ndarray:
    """Evaluate the network at one parameter point: shape [N]."""
    from nntk_lang.montecarlo.network_forward import forward_batched

    thetas = torch.as_tensor(np.asarray(theta, dtype=np.float64)).reshape(1, -1)
    inputs = torch.as_tensor(np.asarray(xs, dtype=np.float64))
    return forward_batched(net, thetas, inputs)[0, :, 0].numpy()


def network_jacobian(net: NetworkIR, theta: np.ndarray, xs: np.ndarray) -> np.ndarray:
    """Compute the ordinary gradient ∇θ f(x; θ) at each input by autograd: [N, P]."""
    from torch.func import jacrev

    from nntk_lang.montecarlo.network_forward import forward

    inputs = torch.as_tensor(np.asarray(xs, dtype=np.float64))
    point = torch.as_tensor(np.asarray(theta, dtype=np.float64))
    jacobian = jacrev(lambda t: forward(net, t, inputs)[:, 0])(point)
    return jacobian.detach().numpy()
