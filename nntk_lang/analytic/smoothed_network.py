"""Exact NNTK under S of a finite one-hidden-layer network at a parameter point.

For f(x; θ) = s₂ Σⱼ aⱼ φ(hⱼ(x)) + s_b₂ b₂ with hⱼ(x) = s₁ x·wⱼ + s_b bⱼ, smoothing
every parameter with N(0, σ²) adds to hⱼ(x) independent noise of variance
s(x)² = σ² (s₁² ‖x‖² + s_b²) and leaves the terms linear in aⱼ and b₂ unchanged
on average. So S f = ∇θ f_σ with f_σ = s₂ Σⱼ aⱼ φ_s(hⱼ) + s_b₂ b₂ and
φ_s(h) = E φ(h + s ξ), which has a closed form for sign, step, relu and erf:

    sign: erf(h / (s√2)),  step: Φ(h/s),  relu: h Φ(h/s) + s ϕ(h/s),
    erf: erf(h / √(1 + 2 s²)),

where Φ and ϕ are the standard normal CDF and density. Per-neuron blocks give
the same S f, because f is a sum of per-neuron terms.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import special

from nntk_lang.errors import ConfigError, NoClosedForm
from nntk_lang.ir.network import NetworkIR, split_params
from nntk_lang.results import Estimate


def smoothed_activation(
    act: str, h: np.ndarray, s: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Return φ_s(h) = E φ(h + s ξ) and its derivative in h, for s > 0."""
    t = h / s
    density = np.exp(-0.5 * t * t) / math.sqrt(2 * math.pi)
    if act == "sign":
        return special.erf(t / math.sqrt(2)), 2 * density / s
    if act == "step":
        return special.ndtr(t), density / s
    if act == "relu":
        return h * special.ndtr(t) + s * density, special.ndtr(t)
    if act == "erf":
        width = np.sqrt(1 + 2 * s * s)
        value = special.erf(h / width)
        return value, 2 / math.sqrt(math.pi) / width * np.exp(-((h / width) ** 2))
    raise NoClosedForm(f"no closed-form smoothed activation for `{act}`")


_PLAIN_ACTIVATIONS = {
    "sign": np.sign,
    "step": lambda h: (h > 0).astype(float),
    "relu": lambda h: np.maximum(h, 0.0),
    "erf": special.erf,
}


def _smoothed_gradients(
    net: NetworkIR, theta: np.ndarray, x: np.ndarray, sigma: float, blocks: str
) -> np.ndarray:
    """Return S f(x) for every input, shape (N, P), in θ's layout."""
    first, readout = net.layers
    parts = split_params(net, theta)
    weights, readout_weights = parts[0][0], parts[1][0][:, 0]
    pre = first.weight_scale * (x @ weights)
    if first.bias:
        pre = pre + first.bias_scale * parts[0][1]
    variance = first.weight_scale**2 * (x * x).sum(1)
    if first.bias:
        variance = variance + first.bias_scale**2
    s = sigma * np.sqrt(variance)[:, None]
    value, slope = smoothed_activation(net.activation, pre, s)
    back = readout.weight_scale * readout_weights * slope
    columns = [
        first.weight_scale * np.einsum("nk,nj->nkj", x, back).reshape(len(x), -1)
    ]
    if first.bias:
        columns.append(first.bias_scale * back)
    if blocks == "layer":
        # The readout block's noise never reaches the hidden layer.
        value = _PLAIN_ACTIVATIONS[net.activation](pre)
    columns.append(readout.weight_scale * value)
    if readout.bias:
        columns.append(np.full((len(x), 1), readout.bias_scale))
    return np.concatenate(columns, axis=1)


def smoothed_network_nntk(
    net: NetworkIR,
    theta: np.ndarray,
    x1: np.ndarray,
    x2: np.ndarray | None = None,
    *,
    sigma: float,
    blocks: str = "all",
) -> Estimate:
    """Return the exact NNTK under S(σ) of a one-hidden-layer network at θ.

    `blocks` "all" and "neuron" give the same kernel. With "layer" the readout
    weights' gradient uses the plain activation φ(h).

    Raises:
        NoClosedForm: for deeper networks, several outputs or activations other
            than sign, step, relu and erf.
    """
    if net.depth != 1 or net.n_outputs != 1:
        raise NoClosedForm(
            "the exact smoothed NNTK needs one hidden layer and one output"
        )
    if sigma <= 0:
        raise ConfigError(f"smoothing `sigma` must be > 0, got {sigma}")
    theta = np.asarray(theta, dtype=np.float64)
    x1 = _as_matrix(net, x1)
    x2 = x1 if x2 is None else _as_matrix(net, x2)
    if blocks not in ("all", "layer", "neuron"):
        raise ConfigError(f"`blocks` must be all, layer or neuron, got {blocks!r}")
    grad1 = _smoothed_gradients(net, theta, x1, sigma, blocks)
    grad2 = grad1
    if x2 is not x1:
        grad2 = _smoothed_gradients(net, theta, x2, sigma, blocks)
    return Estimate(
        value=grad1 @ grad2.T,
        method="analytic",
        estimator=(
            f"exact smoothing(sigma={sigma}, blocks={blocks}) of a one-hidden-layer "
            "network"
        ),
        info={"gradients": grad1},
    )


def _as_matrix(net: NetworkIR, x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    if x.ndim == 1 and net.n_inputs == 1:
        x = x[:, None]
    if x.ndim != 2 or x.shape[1] != net.n_inputs:
        raise ConfigError(f"inputs have shape {x.shape}, expected (N, {net.n_inputs})")
    return x
