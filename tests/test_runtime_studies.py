"""Runtime behaviour that examples/paper.nntk relies on: target plots, shared Grams."""

from __future__ import annotations

import numpy as np
import pytest

from nntk_lang.runtime import RunOptions, Runtime

SPEC = """
import targets
model net = mlp(in=1, width=8, depth=1, act=sign, out=1)
point q = init(net, seed=0)
operator G = nonlocal(gaussian(0.3), blocks=neuron)
kernel K = nntk(net, G, at=q, samples=64, seed=0)
kernel K0 = ntk(net, at=q)
grid xs = linspace(-1, 1, 6)
grid ys = linspace(-1, 1, 11)
"""


@pytest.fixture
def runtime(tmp_path) -> Runtime:
    runtime = Runtime(RunOptions(out_dir=tmp_path, quiet=True, print_results=False))
    runtime.execute_text(SPEC)
    return runtime


def test_plot_target_values_and_figure(runtime, tmp_path):
    (result,) = runtime.execute_text("plot sign_target on linspace(-1, 1, 5)")
    np.testing.assert_array_equal(result.estimate.value[:, 0], [-1, -1, 0, 1, 1])
    assert result.kind == "plot"
    assert (tmp_path / result.files[0]).stat().st_size > 0


def test_fits_share_one_gram_per_kernel(runtime, monkeypatch):
    calls = []
    evaluate = runtime.evaluate_kernel

    def counting(spec, x1, x2, request=None):
        calls.append(spec.name)
        return evaluate(spec, x1, x2, request)

    monkeypatch.setattr(runtime, "evaluate_kernel", counting)
    first = runtime.execute_text("fit sign_target with K, K0 on xs test ys")
    second = runtime.execute_text("fit relu_target with K, K0 on xs test ys")
    assert sorted(calls) == ["K", "K0"]
    assert first[0].estimate.info["kernels"]["K"]["samples"] == 64
    assert second[0].estimate.info["kernels"]["K"]["samples"] == 64


def test_fit_with_new_samples_recomputes_gram(runtime, monkeypatch):
    calls = []
    evaluate = runtime.evaluate_kernel

    def counting(spec, x1, x2, request=None):
        calls.append(request.samples)
        return evaluate(spec, x1, x2, request)

    monkeypatch.setattr(runtime, "evaluate_kernel", counting)
    runtime.execute_text("fit sign_target with K on xs test ys")
    runtime.execute_text("fit sign_target with K on xs test ys with samples=32")
    runtime.execute_text("fit sign_target with K on xs test xs")
    assert calls == [64, 32, 64]


def test_reset_forgets_cached_grams(runtime):
    runtime.execute_text("fit sign_target with K on xs test ys")
    runtime.reset()
    assert runtime._gram_cache == {}


def _sawtooth(t: np.ndarray) -> np.ndarray:
    return t - np.floor(t + 0.5)


STDLIB_TARGETS = {
    "sign_target": np.sign,
    "step_target": lambda x: (x > 0).astype(float),
    "relu_target": lambda x: np.maximum(x, 0.0),
    "absolute": np.abs,
    "saw3": lambda x: _sawtooth(3 * x),
    "square2": lambda x: np.where(np.mod(2 * x, 1.0) < 0.5, 1.0, -1.0),
    "triangle2": lambda x: 1 - 4 * np.abs(_sawtooth(2 * x)),
}


@pytest.mark.parametrize("name", sorted(STDLIB_TARGETS))
def test_stdlib_target_values(name):
    runtime = Runtime(RunOptions(quiet=True, print_results=False))
    # Points away from every jump, so both sides agree on the value.
    xs = np.array([-0.9, -0.6, -0.35, -0.1, 0.05, 0.2, 0.4, 0.65, 0.95])
    grid = ", ".join(repr(float(x)) for x in xs)
    (result,) = runtime.execute_text(f"import targets\nplot {name} on [{grid}]")
    np.testing.assert_allclose(
        result.estimate.value[:, 0], STDLIB_TARGETS[name](xs), atol=1e-12
    )
