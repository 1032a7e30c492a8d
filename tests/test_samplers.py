"""Perturbation samplers, operator weights and Monte Carlo options."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from nntk_lang.errors import ConfigError, ResourceLimitError
from nntk_lang.ir.operators import Nonlocal, Smoothing
from nntk_lang.montecarlo.options import MCOptions, resolve_device
from nntk_lang.montecarlo.samplers import draw_block, units_in_block

OPERATORS = {
    "gaussian": Nonlocal("gaussian", 0.5),
    "ball": Nonlocal("ball", 0.5),
    "gaussian_density": Nonlocal("gaussian", 0.5, normalize="density"),
    "ball_density": Nonlocal("ball", 0.5, normalize="density"),
    "smoothing": Smoothing(0.3),
}


def _draws(operator, d: int, options: MCOptions) -> tuple[torch.Tensor, torch.Tensor]:
    blocks = [draw_block(operator, d, options, b) for b in range(options.n_blocks)]
    z = torch.cat([block.z for block in blocks])
    weights = torch.cat([block.weights for block in blocks])
    return z, weights


def _assert_mean_within(samples: torch.Tensor, expected: np.ndarray, z_max: float):
    mean = samples.mean(dim=0).numpy()
    stderr = (samples.std(dim=0) / math.sqrt(samples.shape[0])).numpy()
    exact = stderr < 1e-12
    np.testing.assert_allclose(mean[exact], expected[exact], atol=1e-12)
    assert np.all(np.abs(mean - expected)[~exact] < z_max * stderr[~exact])


@pytest.mark.parametrize("d", [1, 2, 3])
@pytest.mark.parametrize("name", ["gaussian", "ball"])
def test_direction_second_moment_matches_refs(name, d, nonlocal_refs):
    (record,) = [
        r
        for r in nonlocal_refs
        if r["operator"] == "normalisation_check"
        and r["kernel"] == name
        and r["params"]["d"] == d
    ]
    options = MCOptions(samples=40_000, seed=3, sampler="iid")
    z, _ = _draws(OPERATORS[name], d, options)
    outer = z[:, :, None] * z[:, None, :] / (z * z).sum(dim=1)[:, None, None]
    _assert_mean_within(outer.reshape(len(z), -1), np.ravel(record["value"]), 4.0)


@pytest.mark.parametrize("d", [1, 2, 3])
@pytest.mark.parametrize("name", sorted(OPERATORS))
def test_weights_times_direction_is_identity(name, d):
    options = MCOptions(samples=40_000, seed=5, sampler="iid")
    operator = OPERATORS[name]
    z, weights = _draws(operator, d, options)
    product = weights[:, :, None] * z[:, None, :]
    expected = np.eye(d) / (d if name.endswith("density") else 1)
    _assert_mean_within(product.reshape(len(z), -1), expected.ravel(), 4.0)


@pytest.mark.parametrize("d", [1, 2, 3])
def test_gaussian_covariance(d):
    gamma = 0.5
    options = MCOptions(samples=40_000, seed=7, sampler="iid")
    z, _ = _draws(Nonlocal("gaussian", gamma), d, options)
    outer = (z[:, :, None] * z[:, None, :]).reshape(len(z), -1)
    _assert_mean_within(outer, gamma**2 / 2 * np.eye(d).ravel(), 4.0)


@pytest.mark.parametrize("d", [1, 2, 3])
def test_ball_radius_distribution(d):
    delta = 0.5
    options = MCOptions(samples=40_000, seed=9, sampler="iid")
    z, _ = _draws(Nonlocal("ball", delta), d, options)
    radius = z.norm(dim=1)
    assert float(radius.max()) <= delta
    # For z uniform in the d-ball, P(‖z‖ <= r) = (r/δ)^d, so E[‖z‖²] = δ² d/(d+2).
    expected = np.array([delta**2 * d / (d + 2)])
    _assert_mean_within((radius**2)[:, None], expected, 4.0)


def test_block_reproducible():
    options = MCOptions(samples=4096, seed=11, sampler="iid", block_size=512)
    first = draw_block(OPERATORS["gaussian"], 2, options, 3)
    again = draw_block(OPERATORS["gaussian"], 2, options, 3)
    other = draw_block(OPERATORS["gaussian"], 2, options, 2)
    assert torch.equal(first.z, again.z)
    assert not torch.equal(first.z, other.z)


def test_last_block_is_prefix_of_full_block():
    short = MCOptions(samples=1500, seed=1, sampler="iid", block_size=1000)
    full = MCOptions(samples=2000, seed=1, sampler="iid", block_size=1000)
    assert units_in_block(short, 1) == 500
    partial = draw_block(OPERATORS["ball"], 3, short, 1)
    whole = draw_block(OPERATORS["ball"], 3, full, 1)
    assert torch.equal(partial.z, whole.z[:500])


def test_antithetic_blocks_hold_pairs():
    options = MCOptions(samples=3000, seed=1, block_size=1000)
    assert options.units == 1500
    assert units_in_block(options, 0) == 500
    assert units_in_block(options, 2) == 500


def test_sobol_blocks_are_distinct_scramblings():
    options = MCOptions(samples=2048, seed=1, sampler="sobol", block_size=1024)
    first = draw_block(OPERATORS["smoothing"], 2, options, 0)
    second = draw_block(OPERATORS["smoothing"], 2, options, 1)
    assert not torch.equal(first.z, second.z)
    assert torch.isfinite(first.z).all()


def test_sobol_mean_beats_iid_spread():
    # A scrambled Sobol block of 1024 points has a much smaller error in the
    # mean of u than iid points, whose standard error is 1/sqrt(1024).
    options = MCOptions(samples=32 * 1024, seed=2, sampler="sobol", block_size=1024)
    means = torch.stack(
        [draw_block(Smoothing(1.0), 2, options, b).z.mean(dim=0) for b in range(32)]
    )
    assert float(means.abs().mean()) < 0.1 / math.sqrt(1024)


def test_sobol_ball_inside_radius():
    options = MCOptions(samples=2048, seed=4, sampler="sobol", block_size=1024)
    block = draw_block(Nonlocal("ball", 0.2), 3, options, 0)
    assert float(block.z.norm(dim=1).max()) <= 0.2


OPTION_ERRORS = {
    "samples": ({"samples": 0}, "`samples` must be a positive integer"),
    "odd_antithetic": ({"samples": 1001}, "`samples` must be even"),
    "odd_block": ({"block_size": 1001}, "`block_size` must be even"),
    "sampler": ({"sampler": "halton"}, "`sampler` must be one of"),
    "estimator": ({"kernel_estimator": "biased"}, "`kernel_estimator` must be"),
    "dtype": ({"dtype": "float16"}, "`dtype` must be one of"),
    "device": ({"device": "tpu"}, "`device` must be one of"),
    "seed": ({"seed": -1}, "`seed` must be an integer >= 0"),
    "groups": ({"groups": 1}, "`groups` must be an integer >= 2"),
    "memory": ({"memory_bytes": 0}, "`memory_bytes` must be a positive integer"),
    "sobol_count": (
        {"sampler": "sobol", "samples": 1500, "block_size": 1000},
        "multiple of `block_size`",
    ),
}


@pytest.mark.parametrize("case", sorted(OPTION_ERRORS))
def test_options_reject_invalid(case):
    fields, message = OPTION_ERRORS[case]
    with pytest.raises(ConfigError, match=message):
        MCOptions(**fields)


def test_options_accept_torch_dtype():
    assert MCOptions(dtype=torch.float32).dtype == "float32"
    assert MCOptions(dtype=torch.float32).torch_dtype == torch.float32
    with pytest.raises(ConfigError, match="`dtype` must be one of"):
        MCOptions(dtype=torch.int64)


def test_options_cap_samples():
    with pytest.raises(ResourceLimitError, match="raise `max_samples`"):
        MCOptions(samples=2000, max_samples=1000)


def test_resolve_device_auto():
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert resolve_device("auto").type == expected
    assert resolve_device("cpu").type == "cpu"


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the missing-CUDA error")
def test_resolve_device_without_cuda():
    with pytest.raises(ConfigError, match="no CUDA device"):
        resolve_device("cuda")
