"""Layered networks as plain data: dense layers, activations and a parameter layout.

A network maps inputs x ∈ R^{d_in} (a row vector) through dense layers

    h_l = s_w · A_{l-1} W_l + s_b · b_l,    A_l = φ(h_l),    A_0 = x,

with W_l of shape (fan_in, fan_out) and no activation after the last layer. The
scales follow neural-tangents' `stax.Dense`:

- `ntk` parameterisation: W, b ~ N(0, 1), s_w = W_std / √fan_in, s_b = b_std;
- `standard` parameterisation: W ~ N(0, W_std² / fan_in), b ~ N(0, b_std²),
  s_w = s_b = 1.

The flat parameter vector θ lists, for each layer in order, W_l row-major and then
b_l (when the layer has a bias). A 1-512-1 network with biases therefore has
512 + 512 + 512 + 1 = 1,537 parameters, in the order W1, b1, W2, b2.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from nntk_lang.errors import ConfigError

Parameterization = Literal["ntk", "standard"]

ACTIVATIONS: tuple[str, ...] = (
    "relu",
    "sign",
    "step",
    "erf",
    "tanh",
    "abs",
    "sin",
    "cos",
    "identity",
)
"""Activation names a network may use; each is a builtin of the language."""


@dataclass(frozen=True)
class DenseLayer:
    """One dense layer: h = weight_scale · A W + bias_scale · b.

    Attributes:
        fan_in: input width.
        fan_out: output width.
        bias: whether the layer has a bias vector.
        weight_scale: the factor in front of A W in the forward pass.
        bias_scale: the factor in front of b.
        weight_init_std: standard deviation of the stored weights at init.
        bias_init_std: standard deviation of the stored biases at init.
    """

    fan_in: int
    fan_out: int
    bias: bool
    weight_scale: float
    bias_scale: float
    weight_init_std: float
    bias_init_std: float

    @property
    def n_weights(self) -> int:
        return self.fan_in * self.fan_out

    @property
    def n_params(self) -> int:
        return self.n_weights + (self.fan_out if self.bias else 0)


@dataclass(frozen=True)
class NetworkIR:
    """A multilayer perceptron with one activation between dense layers.

    Attributes:
        name: the model's name in the spec.
        layers: dense layers, input first, readout last.
        activation: builtin name applied after every layer but the last.
        param: "ntk" or "standard" parameterisation.
        W_std: weight scale of every layer.
        b_std: bias scale of every layer.
    """

    name: str
    layers: tuple[DenseLayer, ...]
    activation: str
    param: Parameterization
    W_std: float
    b_std: float

    @property
    def n_params(self) -> int:
        return sum(layer.n_params for layer in self.layers)

    @property
    def n_inputs(self) -> int:
        return self.layers[0].fan_in

    @property
    def n_outputs(self) -> int:
        return self.layers[-1].fan_out

    @property
    def depth(self) -> int:
        """Number of hidden layers."""
        return len(self.layers) - 1

    def layer_offsets(self) -> list[int]:
        """Return the offset of each layer's first parameter in θ, plus the total."""
        offsets = [0]
        for layer in self.layers:
            offsets.append(offsets[-1] + layer.n_params)
        return offsets


def mlp(
    *,
    in_features: int,
    width: int,
    depth: int,
    act: str,
    out: int = 1,
    param: Parameterization = "ntk",
    W_std: float = 1.0,
    b_std: float = 1.0,
    bias: bool | str = True,
    name: str = "mlp",
) -> NetworkIR:
    """Build an MLP in_features → width (× depth) → out.

    Args:
        in_features: input dimension (`in=` in the language).
        width: hidden width.
        depth: number of hidden layers, at least 1.
        act: activation name, one of `ACTIVATIONS`.
        out: output dimension.
        param: "ntk" (neural-tangents' default) or "standard".
        W_std: weight scale, as in `stax.Dense`.
        b_std: bias scale, as in `stax.Dense`.
        bias: True or "all" for a bias in every layer, "hidden" for biases in the
            hidden layers only, False or "none" for no biases.
        name: the model's name.

    Raises:
        ConfigError: on a non-positive size, an unknown activation or
            parameterisation, or a negative scale.
    """
    _check_sizes(in_features=in_features, width=width, depth=depth, out=out)
    if act not in ACTIVATIONS:
        raise ConfigError(
            f"unknown activation `{act}`; expected one of {', '.join(ACTIVATIONS)}"
        )
    if param not in ("ntk", "standard"):
        raise ConfigError(f"`param` must be ntk or standard, got {param!r}")
    if W_std < 0 or b_std < 0:
        raise ConfigError(f"`W_std` and `b_std` must be >= 0, got {W_std}, {b_std}")
    hidden_bias, readout_bias = _bias_flags(bias)
    widths = [in_features] + [width] * depth + [out]
    layers = []
    for index in range(depth + 1):
        is_readout = index == depth
        layers.append(
            _dense(
                widths[index],
                widths[index + 1],
                readout_bias if is_readout else hidden_bias,
                param,
                W_std,
                b_std,
            )
        )
    return NetworkIR(name, tuple(layers), act, param, float(W_std), float(b_std))


def _check_sizes(**sizes: int) -> None:
    for key, value in sizes.items():
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ConfigError(f"`{key}` must be a positive integer, got {value!r}")


def _bias_flags(bias: bool | str) -> tuple[bool, bool]:
    """Return (hidden layers have biases, readout has a bias)."""
    table = {"all": (True, True), "hidden": (True, False), "none": (False, False)}
    if isinstance(bias, bool):
        return (bias, bias)
    if bias in table:
        return table[bias]
    raise ConfigError(f"`bias` must be true, false, all, hidden or none, got {bias!r}")


def _dense(
    fan_in: int,
    fan_out: int,
    bias: bool,
    param: Parameterization,
    W_std: float,
    b_std: float,
) -> DenseLayer:
    if param == "ntk":
        return DenseLayer(
            fan_in, fan_out, bias, W_std / math.sqrt(fan_in), b_std, 1.0, 1.0
        )
    return DenseLayer(fan_in, fan_out, bias, 1.0, 1.0, W_std / math.sqrt(fan_in), b_std)


def init(net: NetworkIR, seed: int) -> np.ndarray:
    """Draw an initial parameter vector θ (float64, layout in the module docstring).

    Each layer draws its weights and then its biases from one numpy Generator
    seeded with `seed`, as standard normals times the layer's init std.
    """
    rng = np.random.default_rng(seed)
    chunks = []
    for layer in net.layers:
        weights = rng.standard_normal((layer.fan_in, layer.fan_out))
        chunks.append(layer.weight_init_std * weights.ravel())
        if layer.bias:
            chunks.append(layer.bias_init_std * rng.standard_normal(layer.fan_out))
    return np.concatenate(chunks)


def parameter_keys(net: NetworkIR) -> list[tuple[str, tuple[int, ...]]]:
    """Return the `.npz` key and shape of each parameter array, in θ order."""
    keys = []
    for index, layer in enumerate(net.layers, start=1):
        keys.append((f"W{index}", (layer.fan_in, layer.fan_out)))
        if layer.bias:
            keys.append((f"b{index}", (layer.fan_out,)))
    return keys


def load_point(net: NetworkIR, path: str | Path) -> np.ndarray:
    """Load θ from an `.npz` file with arrays W1, b1, W2, ... (see `parameter_keys`).

    A bias may also be stored with shape (1, fan_out), as neural-tangents does.

    Raises:
        ConfigError: when the file is missing or unreadable, a key is missing or
            a shape does not match, naming the file and the key.
    """
    path = Path(path)
    try:
        archive = np.load(path, allow_pickle=False)
    except OSError as error:
        reason = error.strerror or str(error)
        raise ConfigError(f"cannot read parameter file {path}: {reason}") from error
    except ValueError as error:
        # numpy reports any file that is not .npy or .npz as pickled data.
        raise ConfigError(
            f"cannot read parameter file {path}: it is not an .npz archive"
        ) from error
    with archive:
        chunks = []
        for key, shape in parameter_keys(net):
            if key not in archive.files:
                raise ConfigError(
                    f"{path}: missing array `{key}` of shape {shape}; "
                    f"the file has {', '.join(archive.files) or 'no arrays'}"
                )
            array = np.asarray(archive[key], dtype=np.float64)
            if array.shape != shape and array.shape != (1, *shape):
                raise ConfigError(
                    f"{path}: array `{key}` has shape {array.shape}, "
                    f"expected {shape} for network `{net.name}`"
                )
            chunks.append(array.ravel())
    return np.concatenate(chunks)


def split_params(net: NetworkIR, theta: np.ndarray) -> list[tuple[np.ndarray, ...]]:
    """Split θ into per-layer (W,) or (W, b) arrays (views, no copies)."""
    if theta.shape != (net.n_params,):
        raise ConfigError(
            f"parameter vector has shape {theta.shape}, expected ({net.n_params},)"
        )
    offsets = net.layer_offsets()
    parts = []
    for layer, start in zip(net.layers, offsets):
        weights = theta[start : start + layer.n_weights]
        weights = weights.reshape(layer.fan_in, layer.fan_out)
        if layer.bias:
            end = start + layer.n_params
            parts.append((weights, theta[start + layer.n_weights : end]))
        else:
            parts.append((weights,))
    return parts


MLP_OPTIONS = ("in", "width", "depth", "act", "out", "param", "W_std", "b_std", "bias")
"""Keyword arguments of `mlp(...)` in the language, where the input size is `in`."""


def mlp_from_options(name: str, options: dict[str, object]) -> NetworkIR:
    """Build an MLP from the language's `mlp(in=..., width=..., ...)` arguments.

    Raises:
        ConfigError: on an unknown or missing option, naming the allowed ones.
    """
    unknown = sorted(set(options) - set(MLP_OPTIONS))
    if unknown:
        raise ConfigError(
            f"unknown mlp option(s) {', '.join(unknown)}; "
            f"expected {', '.join(MLP_OPTIONS)}"
        )
    missing = [key for key in ("in", "width", "depth", "act") if key not in options]
    if missing:
        raise ConfigError(
            f"mlp needs {', '.join(missing)}, e.g. mlp(in=1, width=512, depth=1, act=relu)"
        )
    arguments = dict(options)
    arguments["in_features"] = arguments.pop("in")
    return mlp(name=name, **arguments)  # type: ignore[arg-type]
