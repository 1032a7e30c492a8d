"""Benchmark the network kernels; prints ratios measured in one run.

Run from the repository root:

    python -m benchmarks.bench_networks [--quick] [--threads N]

1. Classical NTK of an MLP 1-512-512-1 on N = 256 inputs in float32: the
   per-layer contraction against torch.func's jacrev + vmap Jacobian contraction.
2. The FLOP rate of batched perturbed forward passes as a fraction of the rate
   of one large torch.mm, both measured here.
3. Time to 1% relative error of the NNTK under S of a 1-512-1 sign network:
   full-parameter Monte Carlo, per-neuron blocks and the exact closed form.
   Monte Carlo times are extrapolated from a pilot run, using
   stderr ∝ 1/√M.
4. For a 1-4096-1 sign network under S(0.5): E[D²] of the full-parameter
   differences D = f(θ + σu) − f(θ) and ‖S f‖², which set the samples that
   full-parameter sampling needs (docs/networks.md).
"""

from __future__ import annotations

import argparse
import math
import platform
import time
from collections.abc import Callable

import numpy as np
import torch

from nntk_lang.analytic.smoothed_network import smoothed_network_nntk
from nntk_lang.ir.network import init, mlp
from nntk_lang.ir.operators import Smoothing
from nntk_lang.montecarlo.empirical_ntk import empirical_ntk, jacobian_ntk
from nntk_lang.montecarlo.network import block_outputs, network_nntk
from nntk_lang.montecarlo.network_forward import forward, forward_batched


def best_time(function: Callable[[], object], repeats: int) -> float:
    """Return the fastest of `repeats` wall-clock timings, in seconds."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times)


def bench_classical_ntk(repeats: int) -> None:
    net = mlp(in_features=1, width=512, depth=2, act="relu")
    theta = torch.tensor(init(net, seed=0), dtype=torch.float32)
    x = torch.linspace(-2, 2, 256, dtype=torch.float32)
    fast = empirical_ntk(net, theta, x)
    slow = jacobian_ntk(net, theta, x)
    error = ((fast - slow).abs().max() / slow.abs().max()).item()
    fast_time = best_time(lambda: empirical_ntk(net, theta, x), repeats)
    slow_time = best_time(lambda: jacobian_ntk(net, theta, x), max(1, repeats // 2))
    print("1. classical NTK, MLP 1-512-512-1, N = 256, float32")
    print(f"   per-layer contraction  {fast_time * 1e3:9.2f} ms")
    print(f"   jacrev + vmap          {slow_time * 1e3:9.2f} ms")
    print(f"   speed-up               {slow_time / fast_time:9.1f} x")
    print(f"   max relative difference {error:.2e}")


def bench_forward_rate(repeats: int) -> None:
    net = mlp(in_features=1, width=512, depth=2, act="relu")
    samples, inputs = 64, 64
    theta = torch.tensor(init(net, seed=0), dtype=torch.float32)
    thetas = theta + 0.01 * torch.randn(samples, net.n_params)
    x = torch.linspace(-2, 2, inputs, dtype=torch.float32)[:, None]
    flops = 2 * samples * inputs * sum(layer.n_weights for layer in net.layers)
    forward_time = best_time(lambda: forward_batched(net, thetas, x), repeats)
    size = 2048
    a, b = torch.randn(size, size), torch.randn(size, size)
    mm_time = best_time(lambda: a @ b, repeats)
    forward_rate = flops / forward_time
    mm_rate = 2 * size**3 / mm_time
    print("2. perturbed forward passes, 1-512-512-1, M = 64 samples x N = 64, float32")
    print(f"   batched forward  {forward_rate / 1e9:8.2f} GFLOP/s")
    print(f"   torch.mm 2048^2  {mm_rate / 1e9:8.2f} GFLOP/s")
    print(f"   fraction         {forward_rate / mm_rate:8.2f}")


def time_to_target(
    run: Callable[[int], np.ndarray], pilot: int, target: float
) -> tuple[float, float, float]:
    """Return (seconds to target, pilot relative error, samples needed)."""
    start = time.perf_counter()
    relative = run(pilot)
    elapsed = time.perf_counter() - start
    needed = pilot * (relative / target) ** 2
    return elapsed * needed / pilot, relative, needed


def bench_time_to_accuracy(pilot: int) -> None:
    net = mlp(in_features=1, width=512, depth=1, act="sign")
    theta = init(net, seed=0)
    x = np.array([-1.0, 0.0, 0.5, 1.0])
    sigma, target = 0.5, 0.01
    exact = smoothed_network_nntk(net, theta, x, sigma=sigma).value
    scale = np.abs(exact).max()

    def relative_error(blocks: str) -> Callable[[int], np.ndarray]:
        def run(samples: int) -> float:
            estimate = network_nntk(
                net, Smoothing(sigma), theta, x, samples=samples, seed=1, blocks=blocks
            )
            return float(estimate.stderr.max() / scale)

        return run

    closed_time = best_time(
        lambda: smoothed_network_nntk(net, theta, x, sigma=sigma), 5
    )
    print("3. NNTK under S(0.5) of a 1-512-1 sign network, 4 inputs, to 1% error")
    print("   (max stderr / max |K|; Monte Carlo extrapolated from a pilot run)")
    for blocks in ["all", "neuron"]:
        seconds, relative, needed = time_to_target(
            relative_error(blocks), pilot, target
        )
        print(
            f"   blocks={blocks:6s} pilot M={pilot}: error {relative:.3f}, "
            f"needs M = {needed:,.0f}, about {seconds:,.1f} s"
        )
    print(f"   closed form: {closed_time * 1e3:.2f} ms")


def bench_wide_difference_variance(samples: int) -> None:
    net = mlp(in_features=1, width=4096, depth=1, act="sign")
    theta = init(net, seed=0)
    sigma, x = 0.5, np.array([0.5])
    squared_norm = smoothed_network_nntk(net, theta, x, sigma=sigma).value[0, 0]
    theta_t = torch.tensor(theta)
    x_t = torch.tensor([[0.5]], dtype=torch.float64)
    generator = torch.Generator().manual_seed(0)
    noise = torch.randn(samples, net.n_params, generator=generator, dtype=torch.float64)
    base = forward(net, theta_t, x_t)[0, 0]
    diff = block_outputs(net, theta_t, x_t, 0, sigma * noise)[:, 0] - base
    mean_square = (diff**2).mean().item()
    stderr = (diff**2).std().item() / math.sqrt(samples)
    needed = net.n_params * mean_square / (sigma**2 * squared_norm)
    print("4. 1-4096-1 sign network, S(0.5), x = 0.5, all parameters perturbed")
    print(f"   E[D^2] = {mean_square:.3f} +- {stderr:.3f} ({samples} samples)")
    print(f"   ||S f||^2 = {squared_norm:.3f} (exact)")
    print(f"   samples for gradient error equal to its norm: {needed:,.0f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats")
    parser.add_argument(
        "--threads", type=int, default=0, help="torch intra-op threads (0: default)"
    )
    args = parser.parse_args()
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    repeats = 2 if args.quick else 5
    print(
        f"torch {torch.__version__}, {platform.processor() or platform.machine()}, "
        f"{torch.get_num_threads()} threads"
    )
    bench_classical_ntk(repeats)
    bench_forward_rate(repeats)
    bench_time_to_accuracy(pilot=512 if args.quick else 2048)
    bench_wide_difference_variance(samples=200 if args.quick else 1000)


if __name__ == "__main__":
    main()
