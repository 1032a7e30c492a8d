"""Network statements through the language, against neural-tangents references."""

import numpy as np
import pytest

from nntk_lang.errors import SpecError, SpecErrors
from nntk_lang.runtime import Runtime, RunOptions

INPUTS = "[-2, -1, -0.5, 0, 0.3, 1, 2]"


def _run(text: str, tmp_path, name: str = "spec.nntk"):
    spec = tmp_path / name
    spec.write_text(text)
    runtime = Runtime(RunOptions(print_results=False, quiet=True, cache_dir=tmp_path))
    return runtime.run_file(spec)


def _write_npz(path, params: dict) -> None:
    arrays = {}
    for key, values in params.items():
        if key == "note":
            continue
        name, shape = key.split("_shape_")
        rows, columns = (int(n) for n in shape.split("x"))
        arrays[name] = np.asarray(values, dtype=np.float64).reshape(rows, columns)
    arrays["b1"] = arrays["b1"].reshape(-1)
    arrays["b2"] = arrays["b2"].reshape(-1)
    np.savez(path, **arrays)


@pytest.mark.parametrize(
    "act, key", [("relu", "relu"), ("erf", "erf"), ("sign", "sign")]
)
def test_infinite_width_ntk_matches_neural_tangents(tmp_path, nt_refs, act, key):
    (result,) = _run(
        f"model net = mlp(in=1, width=512, depth=1, act={act})\n"
        f"kernel K = ntk(net, width=inf)\n"
        f"eval K({INPUTS}, {INPUTS})\n",
        tmp_path,
    )
    expected = np.array(nt_refs["analytic"][key]["ntk"])
    value = np.asarray(result.estimate.value)
    np.testing.assert_allclose(value, expected, rtol=1e-6, atol=1e-7)
    assert result.estimate.method == "analytic"


def test_loaded_point_gives_empirical_ntk(tmp_path, nt_refs):
    reference = nt_refs["empirical"]["relu_width512_seed0"]
    _write_npz(tmp_path / "params.npz", reference["params"])
    (result,) = _run(
        "model net = mlp(in=1, width=512, depth=1, act=relu)\n"
        'point q = load("params.npz")\n'
        "kernel K = ntk(net, at=q)\n"
        f"eval K({INPUTS}, {INPUTS})\n",
        tmp_path,
    )
    np.testing.assert_allclose(
        np.asarray(result.estimate.value),
        np.array(reference["ntk"]),
        rtol=1e-6,
        atol=1e-9,
    )


def test_load_outside_spec_folder_is_rejected(tmp_path):
    inner = tmp_path / "inner"
    inner.mkdir()
    with pytest.raises(SpecError, match="outside the spec's folder"):
        _run(
            "model net = mlp(in=1, width=4, depth=1, act=relu)\n"
            'point q = load("../params.npz")\n'
            "kernel K = ntk(net, at=q)\n"
            "eval K(0.5, 0.5)\n",
            inner,
        )


def test_smoothed_network_kernel_closed_form_against_sampling(tmp_path):
    # The closed form (auto) and per-neuron Monte Carlo (mc) of one network's
    # smoothed NNTK must agree within the sampler's standard errors.
    exact, sampled = _run(
        "model net = mlp(in=1, width=32, depth=1, act=sign)\n"
        "point q = init(net, seed=3)\n"
        "operator S = smoothing(sigma=0.5, blocks=neuron)\n"
        "kernel Ka = nntk(net, S, at=q)\n"
        "kernel Km = nntk(net, S, at=q, method=mc, samples=8192, seed=1)\n"
        "eval Ka([-1, 0.2, 0.9], [-1, 0.2, 0.9])\n"
        "eval Km([-1, 0.2, 0.9], [-1, 0.2, 0.9])\n",
        tmp_path,
    )
    assert exact.estimate.method == "analytic"
    assert sampled.estimate.method == "mc"
    z = (
        np.asarray(sampled.estimate.value) - np.asarray(exact.estimate.value)
    ) / np.asarray(sampled.estimate.stderr)
    assert np.all(np.abs(z) < 4.5), z


def test_network_point_of_wrong_size_is_reported(tmp_path):
    with pytest.raises(SpecErrors, match="comes from init"):
        _run(
            "model small = mlp(in=1, width=4, depth=1, act=relu)\n"
            "model big = mlp(in=1, width=8, depth=1, act=relu)\n"
            "point q = init(small, seed=0)\n"
            "kernel K = ntk(big, at=q)\n"
            "eval K(0.5, 0.5)\n",
            tmp_path,
        )
