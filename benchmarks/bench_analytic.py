"""Closed forms: compile time (cold and cached) and kernel-grid time against Monte Carlo.

Run with `.venv/bin/python benchmarks/bench_analytic.py`. Every ratio is measured in this run,
on this machine: nothing is compared with numbers from elsewhere.

1. For each example model and operator: the time to build the closed form with an
   empty cache (cold) and with the cache from the first build (cached), as a ratio.
2. For the sign neuron under smoothing, the time to evaluate the closed-form NNTK on
   a 1000 x 1000 grid, against the Monte Carlo time to reach a given relative
   accuracy on the same grid. Monte Carlo is run once at M samples, and its standard
   error falls as 1/sqrt(M), so the time to reach accuracy ε is extrapolated as
   t_M (s_M / ε)², where s_M is the RMS standard error at M divided by the RMS
   kernel value.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from nntk_lang.analytic import closed_form_gradient
from nntk_lang.check import check
from nntk_lang.ir.lower import Scope
from nntk_lang.montecarlo.estimators import estimate_kernel
from nntk_lang.montecarlo.options import MCOptions
from nntk_lang.syntax.parser import parse

SPEC = """
import activations
model sign_unit(x; w, b) = sign(w*x + b)
model step_unit(x; w, b) = step(w*x + b)
model relu_unit(x; w, b) = relu(w*x + b)
model saw_unit(x; w, b) = sawtooth(w*x + b)
operator S = smoothing(sigma=0.5)
operator G = nonlocal(gaussian(0.5))
operator B = nonlocal(ball(0.5))
"""


def _scope() -> Scope:
    checked = check(parse(SPEC, "<bench>"))
    scope = Scope()
    for item in checked.statements:
        scope.declare(item.statement)
    return scope


def _timed(function):
    started = time.perf_counter()
    value = function()
    return value, time.perf_counter() - started


def compile_times(scope: Scope) -> None:
    print("closed-form compile time, cold (empty cache) and cached")
    print(f"{'model':<10} {'op':<3} {'cold s':>9} {'cached s':>9} {'cold/cached':>12}")
    for model_name in ("sign_unit", "step_unit", "relu_unit", "saw_unit"):
        for op_name in ("S", "G", "B"):
            model, op = scope.model(model_name), scope.operator(op_name)
            with tempfile.TemporaryDirectory() as folder:
                cache_dir = Path(folder)
                _, cold = _timed(
                    lambda: closed_form_gradient(model, op, cache_dir=cache_dir)
                )
                _, cached = _timed(
                    lambda: closed_form_gradient(model, op, cache_dir=cache_dir)
                )
            print(
                f"{model_name:<10} {op_name:<3} {cold:9.4f} {cached:9.4f} "
                f"{cold / cached:12.1f}"
            )


def grid_against_mc(
    scope: Scope, n_grid: int, samples: int, accuracies: list[float]
) -> None:
    model, op = scope.model("sign_unit"), scope.operator("S")
    theta = np.array([1.0, 0.1])
    xs = np.linspace(-1, 1, n_grid).reshape(-1, 1)
    form = closed_form_gradient(model, op)

    def closed_grid():
        gradients = form.evaluate(theta, xs)
        return gradients @ gradients.T

    exact, closed_seconds = _timed(closed_grid)
    options = MCOptions(samples=samples, seed=0)
    estimate, mc_seconds = _timed(
        lambda: estimate_kernel(model, op, theta, xs, xs, options)
    )
    # Relative to the kernel's RMS size: entries near zero would make a per-entry
    # relative error meaningless.
    stderr = np.asarray(estimate.stderr)
    rms_relative = float(np.sqrt(np.mean(stderr**2)) / np.sqrt(np.mean(exact**2)))
    print(f"\n{n_grid} x {n_grid} NNTK of sign(w x + b) under smoothing(0.5)")
    print(f"closed form: {closed_seconds:.3f} s")
    print(
        f"Monte Carlo: {mc_seconds:.3f} s at M = {samples}, "
        f"RMS relative standard error {rms_relative:.3g}"
    )
    for accuracy in accuracies:
        needed = mc_seconds * (rms_relative / accuracy) ** 2
        print(
            f"  to reach {accuracy:g} relative: about {needed:.3g} s "
            f"(Monte Carlo / closed form = {needed / closed_seconds:.3g})"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grid", type=int, default=1000, help="grid points per axis")
    parser.add_argument("--samples", type=int, default=4096, help="Monte Carlo samples")
    args = parser.parse_args()
    scope = _scope()
    compile_times(scope)
    grid_against_mc(scope, args.grid, args.samples, [1e-2, 1e-3, 1e-12])


if __name__ == "__main__":
    main()
