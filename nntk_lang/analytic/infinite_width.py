"""Infinite-width NNGP, NTK and smoothed NNTK of MLPs in closed form.

The classical kernels follow neural-tangents' recursion for `stax.Dense` in the
NTK parameterisation: a dense layer maps Σ ← W_std² Σ + b_std² and
Θ ← Σ_new + W_std² Θ (Θ = 0 at the input, Σ = x x'ᵀ / d_in), and an activation
maps Σ ← E[φ(u) φ(v)] and Θ ← Θ · E[φ'(u) φ'(v)] with (u, v) ~ N(0, Σ).

Smoothing S with scale σ on every parameter of a one-hidden-layer network only
adds independent Gaussian noise of variance σ² Σ(x, x) to each hidden
pre-activation. So the NNTK limit is the same recursion, with the activation's
Gaussian covariance replaced by Σ + σ² diag(Σ). docs/infinite-width.md derives it.

Angles are computed as atan2 of a sine and a cosine built from unit feature
vectors, never with arccos, so parallel inputs keep their digits and never give
NaN.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from nntk_lang.errors import ConfigError, NoClosedForm
from nntk_lang.ir.network import NetworkIR
from nntk_lang.ir.operators import Operator, Smoothing
from nntk_lang.results import Estimate

CLOSED_FORM_ACTIVATIONS = ("relu", "step", "sign", "abs", "erf", "identity")
"""Activations with closed-form E[φφ] and E[φ'φ'] under a Gaussian."""

# Activations whose derivative at 0 is 0 (relu'(0) = step(0) = 0, sign(0) = 0).
_ZERO_DERIVATIVE_AT_ZERO = ("relu", "step", "sign", "abs")


@dataclass(frozen=True)
class GaussianPair:
    """The law of (u, v) = (h(x1), h(x2)) for every pair of inputs.

    Attributes:
        q1: variances of u, shape (N1,).
        q2: variances of v, shape (N2,).
        cross: covariances, shape (N1, N2).
        sin: sine of the angle between u and v, shape (N1, N2).
        cos: cosine of that angle, shape (N1, N2).
    """

    q1: np.ndarray
    q2: np.ndarray
    cross: np.ndarray
    sin: np.ndarray
    cos: np.ndarray

    @property
    def angle(self) -> np.ndarray:
        return np.arctan2(self.sin, self.cos)

    @property
    def scale(self) -> np.ndarray:
        """√(q1 q2) as an (N1, N2) matrix."""
        return np.sqrt(np.outer(self.q1, self.q2))


@dataclass(frozen=True)
class InfiniteWidthKernels:
    """The infinite-width NNGP and NTK (or smoothed NNTK) matrices."""

    nngp: np.ndarray
    ntk: np.ndarray


def _unit_rows(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    norms = np.linalg.norm(features, axis=1)
    safe = np.where(norms > 0, norms, 1.0)
    return features / safe[:, None], norms


def input_pair(
    features1: np.ndarray, features2: np.ndarray, noise: float = 0.0
) -> GaussianPair:
    """Build the first layer's Gaussian pair from feature vectors, stably.

    The pre-activation of input x is ⟨g(x), w⟩ with w ~ N(0, I), so its
    covariances are inner products of the features g. With unit features û, v̂,
    d = ‖û − v̂‖²/2 = 1 − cos and p = ‖û + v̂‖²/2 = 1 + cos carry full precision
    even for parallel inputs. Independent noise of variance `noise` times each
    variance multiplies the variances by λ = 1 + noise, leaves the covariance,
    and gives sin² = (noise + d)(noise + p)/λ².
    """
    unit1, norms1 = _unit_rows(features1)
    unit2, norms2 = _unit_rows(features2)
    diff = ((unit1[:, None, :] - unit2[None, :, :]) ** 2).sum(-1) / 2
    summ = ((unit1[:, None, :] + unit2[None, :, :]) ** 2).sum(-1) / 2
    scale = 1.0 + noise
    sin = np.sqrt((noise + diff) * (noise + summ)) / scale
    cos = (summ - diff) / 2 / scale
    # A zero feature vector has no direction; its row is zeroed by the callers.
    degenerate = (norms1[:, None] == 0) | (norms2[None, :] == 0)
    sin = np.where(degenerate, 1.0, sin)
    cos = np.where(degenerate, 0.0, cos)
    cross = features1 @ features2.T
    return GaussianPair(scale * norms1**2, scale * norms2**2, cross, sin, cos)


def _pair_from_covariances(
    q1: np.ndarray, q2: np.ndarray, cross: np.ndarray, same: bool
) -> GaussianPair:
    """Build a Gaussian pair from covariances (layers after the first)."""
    scale = np.sqrt(np.outer(q1, q2))
    safe = np.where(scale > 0, scale, 1.0)
    # NOTE: q1 q2 − cross² cancels for nearly parallel inputs, so deep layers
    # lose digits there. The exact diagonal of a symmetric call gets angle 0.
    sin = np.sqrt(np.clip(scale**2 - cross**2, 0.0, None)) / safe
    cos = np.where(scale > 0, cross / safe, 0.0)
    sin = np.where(scale > 0, sin, 1.0)
    if same:
        np.fill_diagonal(sin, 0.0)
        np.fill_diagonal(cos, np.where(np.diag(scale) > 0, 1.0, 0.0))
    return GaussianPair(q1, q2, cross, sin, cos)


def activation_moments(
    act: str, pair: GaussianPair, smoothed: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Return E[φ(u) φ(v)] and E[φ'(u) φ'(v)] for (u, v) ~ `pair`.

    With `smoothed` False, the derivatives of sign and step are the classical 0,
    as in neural-tangents. With `smoothed` True they are Dirac deltas, whose
    moments are finite because smoothing keeps the Gaussian non-degenerate.
    """
    angle = pair.angle
    scale = pair.scale
    alive = (np.outer(pair.q1, pair.q2) > 0).astype(float)
    if act == "relu":
        value = scale / (2 * math.pi) * (pair.sin + (math.pi - angle) * pair.cos)
        derivative = (math.pi - angle) / (2 * math.pi)
    elif act == "abs":
        value = scale / math.pi * (2 * pair.sin + (math.pi - 2 * angle) * pair.cos)
        derivative = 1 - 2 * angle / math.pi
    elif act in ("step", "sign"):
        height = 1.0 if act == "step" else 2.0
        value = (
            (math.pi - angle) / (2 * math.pi)
            if act == "step"
            else 1 - 2 * angle / math.pi
        )
        derivative = np.zeros_like(value)
        if smoothed:
            # E[δ(u) δ(v)] is the density of (u, v) at 0: 1/(2π √det).
            root_det = np.where(alive > 0, scale * pair.sin, 1.0)
            derivative = height**2 / (2 * math.pi * root_det)
    elif act == "erf":
        return _erf_moments(pair)
    elif act == "identity":
        return pair.cross.copy(), np.ones_like(pair.cross)
    else:
        raise NoClosedForm(f"no closed-form Gaussian moments for activation `{act}`")
    return value * alive, derivative * alive


def _erf_moments(pair: GaussianPair) -> tuple[np.ndarray, np.ndarray]:
    q1, q2 = pair.q1[:, None], pair.q2[None, :]
    # (1 + 2 q1)(1 + 2 q2) − 4 Σ12², written without cancellation.
    gap = 1 + 2 * q1 + 2 * q2 + 4 * (pair.scale * pair.sin) ** 2
    value = (2 / math.pi) * np.arctan2(2 * pair.cross, np.sqrt(gap))
    derivative = (4 / math.pi) / np.sqrt(gap)
    return value, derivative


def _diagonal_moment(act: str, q: np.ndarray) -> np.ndarray:
    """Return E[φ(u)²] for u ~ N(0, q)."""
    table = {
        "relu": q / 2,
        "abs": q,
        "identity": q,
        "step": np.where(q > 0, 0.5, 0.0),
        "sign": np.where(q > 0, 1.0, 0.0),
    }
    if act == "erf":
        return (2 / math.pi) * np.arcsin(2 * q / (1 + 2 * q))
    return table[act]


def _check_network(net: NetworkIR) -> None:
    if net.param != "ntk":
        raise NoClosedForm(
            "infinite-width kernels need the ntk parameterisation; "
            f"`{net.name}` uses {net.param}"
        )
    if net.activation not in CLOSED_FORM_ACTIVATIONS:
        raise NoClosedForm(
            f"no infinite-width closed form for activation `{net.activation}`; "
            f"closed forms exist for {', '.join(CLOSED_FORM_ACTIVATIONS)}"
        )
    if net.n_outputs != 1:
        raise NoClosedForm("infinite-width kernels are implemented for out=1 only")


def _as_features(net: NetworkIR, x: np.ndarray) -> np.ndarray:
    """Return first-layer features g(x) with ⟨g(x), g(x')⟩ = Σ1(x, x')."""
    x = np.asarray(x, dtype=np.float64)
    if x.ndim == 1 and net.n_inputs == 1:
        x = x[:, None]
    if x.ndim != 2 or x.shape[1] != net.n_inputs:
        raise ConfigError(f"inputs have shape {x.shape}, expected (N, {net.n_inputs})")
    first = net.layers[0]
    columns = [net.W_std / math.sqrt(net.n_inputs) * x]
    if first.bias:
        columns.append(np.full((x.shape[0], 1), net.b_std))
    return np.concatenate(columns, axis=1)


def infinite_width_kernels(
    net: NetworkIR,
    x1: np.ndarray,
    x2: np.ndarray | None = None,
    sigma: float = 0.0,
    smooth_readout: bool = True,
) -> InfiniteWidthKernels:
    """Compute the infinite-width NNGP and NTK of `net` (NNTK under S when σ > 0).

    Args:
        net: an MLP in the ntk parameterisation with one output.
        x1: inputs, shape (N1, d_in), or (N1,) when d_in = 1.
        x2: inputs, shape (N2, d_in); None means x1.
        sigma: smoothing scale σ of S on all parameters; 0 gives the classical
            NTK. σ > 0 needs a one-hidden-layer network.
        smooth_readout: whether the readout weights' gradient uses the smoothed
            activation E φ(h + noise) (S on all parameters, or on per-neuron
            blocks) or the plain φ(h) (S on per-layer blocks, where the
            readout block's noise never reaches the hidden layer).

    Raises:
        NoClosedForm: for other parameterisations, activations, several outputs,
            or smoothing of a deeper network.
    """
    _check_network(net)
    if sigma < 0:
        raise ConfigError(f"`sigma` must be >= 0, got {sigma}")
    if sigma > 0 and net.depth != 1:
        raise NoClosedForm(
            "the smoothed infinite-width NNTK has a closed form for one hidden "
            f"layer only; `{net.name}` has {net.depth}"
        )
    same = x2 is None
    features1 = _as_features(net, x1)
    features2 = features1 if same else _as_features(net, x2)
    pair = input_pair(features1, features2, noise=sigma**2)
    plain_pair = pair if smooth_readout else input_pair(features1, features2)
    nngp = features1 @ features2.T
    ntk = nngp.copy()
    for layer in net.layers[1:]:
        _, derivative = activation_moments(net.activation, pair, sigma > 0)
        value, _ = activation_moments(net.activation, plain_pair, sigma > 0)
        bias = net.b_std**2 if layer.bias else 0.0
        nngp = net.W_std**2 * value + bias
        ntk = nngp + net.W_std**2 * ntk * derivative
        if layer is not net.layers[-1]:
            q1 = net.W_std**2 * _diagonal_moment(net.activation, pair.q1) + bias
            q2 = net.W_std**2 * _diagonal_moment(net.activation, pair.q2) + bias
            pair = _pair_from_covariances(q1, q2, nngp, same)
            plain_pair = pair
    return InfiniteWidthKernels(nngp, ntk)


def _check_width(width: float) -> None:
    if width != math.inf:
        raise ConfigError(
            f"closed forms exist for width=inf only, got width={width}; "
            "use method=mc for a finite network"
        )


def ntk(
    net: NetworkIR,
    x1: np.ndarray,
    x2: np.ndarray | None = None,
    *,
    width: float = math.inf,
) -> Estimate:
    """Return the classical infinite-width NTK; `info["nngp"]` contains the NNGP."""
    _check_width(width)
    kernels = infinite_width_kernels(net, x1, x2)
    return Estimate(
        value=kernels.ntk,
        method="analytic",
        estimator="infinite-width NTK recursion",
        info={"nngp": kernels.nngp},
    )


def nntk(
    net: NetworkIR,
    operator: Operator,
    x1: np.ndarray,
    x2: np.ndarray | None = None,
    *,
    width: float = math.inf,
) -> Estimate:
    """Return the infinite-width NNTK of `net` under a smoothing operator S.

    A one-hidden-layer network is a sum of per-neuron terms, so S on per-neuron
    blocks has the same value as S on all parameters. With per-layer blocks the
    readout weights see the unsmoothed activation.

    Raises:
        NoClosedForm: for operators other than smoothing, and the cases listed
            in `infinite_width_kernels`.
    """
    _check_width(width)
    if not isinstance(operator, Smoothing):
        raise NoClosedForm(
            f"the infinite-width NNTK has a closed form under smoothing only, "
            f"not {type(operator).__name__.lower()}"
        )
    if operator.sigma <= 0:
        raise ConfigError(f"smoothing `sigma` must be > 0, got {operator.sigma}")
    smooth_readout = operator.blocks != "layer"
    kernels = infinite_width_kernels(
        net, x1, x2, sigma=operator.sigma, smooth_readout=smooth_readout
    )
    return Estimate(
        value=kernels.ntk,
        method="analytic",
        estimator=(
            f"infinite-width NNTK under smoothing(sigma={operator.sigma}, "
            f"blocks={operator.blocks})"
        ),
        info={"nngp_smoothed": kernels.nngp},
    )
