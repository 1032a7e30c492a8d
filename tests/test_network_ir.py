"""Tests of the network IR: shapes, defaults, init and loading points."""

from __future__ import annotations

import math

import numpy as np
import pytest

from nntk_lang.errors import ConfigError
from nntk_lang.ir.network import (
    init,
    load_point,
    mlp,
    mlp_from_options,
    parameter_keys,
    split_params,
)


def test_mlp_defaults_follow_stax_dense():
    net = mlp(in_features=3, width=16, depth=2, act="relu")
    assert net.param == "ntk"
    assert [layer.bias for layer in net.layers] == [True, True, True]
    assert net.layers[0].weight_scale == pytest.approx(1 / math.sqrt(3))
    assert net.layers[1].weight_scale == pytest.approx(1 / math.sqrt(16))
    assert net.layers[2].bias_scale == 1.0
    assert net.n_params == 3 * 16 + 16 + 16 * 16 + 16 + 16 + 1


def test_mlp_standard_moves_scale_into_init():
    net = mlp(in_features=4, width=8, depth=1, act="tanh", param="standard", W_std=2)
    assert net.layers[0].weight_scale == 1.0
    assert net.layers[0].weight_init_std == pytest.approx(2 / math.sqrt(4))


def test_mlp_bias_hidden_drops_readout_bias():
    net = mlp(in_features=1, width=5, depth=1, act="sign", bias="hidden")
    assert net.layers[0].bias
    assert not net.layers[1].bias
    assert net.n_params == 5 + 5 + 5


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"act": "softplus"}, "unknown activation"),
        ({"width": 0}, "`width` must be a positive integer"),
        ({"param": "mup"}, "`param` must be ntk or standard"),
        ({"bias": "some"}, "`bias` must be"),
        ({"W_std": -1.0}, "must be >= 0"),
    ],
)
def test_mlp_rejects_invalid_options(kwargs, match):
    options = {"in_features": 1, "width": 4, "depth": 1, "act": "relu"} | kwargs
    with pytest.raises(ConfigError, match=match):
        mlp(**options)


def test_init_is_seeded_and_has_unit_variance():
    net = mlp(in_features=2, width=2000, depth=1, act="relu")
    first = init(net, seed=3)
    assert first.shape == (net.n_params,)
    assert np.array_equal(first, init(net, seed=3))
    assert not np.array_equal(first, init(net, seed=4))
    # Var of N(0, 1) draws has standard error √(2/n).
    tolerance = 5 * math.sqrt(2 / first.size)
    assert abs(first.var() - 1.0) < tolerance


def test_split_params_follows_documented_order():
    net = mlp(in_features=2, width=3, depth=1, act="relu")
    theta = np.arange(net.n_params, dtype=float)
    (w1, b1), (w2, b2) = split_params(net, theta)
    assert w1.shape == (2, 3)
    assert w1[1, 0] == 3.0
    assert b1.tolist() == [6.0, 7.0, 8.0]
    assert w2.ravel().tolist() == [9.0, 10.0, 11.0]
    assert b2.tolist() == [12.0]


def test_load_point_round_trip(tmp_path):
    net = mlp(in_features=2, width=3, depth=1, act="relu")
    theta = init(net, seed=0)
    arrays = {
        key: part
        for (key, _), part in zip(
            parameter_keys(net),
            [array for layer in split_params(net, theta) for array in layer],
        )
    }
    # neural-tangents stores biases with a leading axis of 1.
    arrays["b1"] = arrays["b1"][None, :]
    path = tmp_path / "point.npz"
    np.savez(path, **arrays)
    assert np.array_equal(load_point(net, path), theta)


def test_load_point_names_missing_key(tmp_path):
    net = mlp(in_features=1, width=3, depth=1, act="relu")
    path = tmp_path / "partial.npz"
    np.savez(path, W1=np.zeros((1, 3)), b1=np.zeros(3), W2=np.zeros((3, 1)))
    with pytest.raises(ConfigError, match=r"partial\.npz: missing array `b2`"):
        load_point(net, path)


def test_load_point_names_wrong_shape(tmp_path):
    net = mlp(in_features=1, width=3, depth=1, act="relu")
    path = tmp_path / "bad.npz"
    arrays = {"W1": np.zeros((1, 4)), "b1": np.zeros(3)}
    np.savez(path, W2=np.zeros((3, 1)), b2=np.zeros(1), **arrays)
    with pytest.raises(ConfigError, match=r"bad\.npz: array `W1` has shape \(1, 4\)"):
        load_point(net, path)


def test_load_point_reports_unreadable_file(tmp_path):
    net = mlp(in_features=1, width=3, depth=1, act="relu")
    path = tmp_path / "missing.npz"
    with pytest.raises(ConfigError, match="cannot read parameter file"):
        load_point(net, path)


def test_mlp_from_options_maps_in():
    net = mlp_from_options("net", {"in": 2, "width": 8, "depth": 2, "act": "erf"})
    assert net.name == "net"
    assert net.n_inputs == 2
    assert net.depth == 2


def test_mlp_from_options_rejects_unknown_and_missing():
    with pytest.raises(ConfigError, match="unknown mlp option"):
        mlp_from_options(
            "net", {"in": 1, "width": 4, "depth": 1, "act": "relu", "lr": 1}
        )
    with pytest.raises(ConfigError, match="mlp needs width"):
        mlp_from_options("net", {"in": 1, "depth": 1, "act": "relu"})
