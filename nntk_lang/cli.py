"""The `nntk` command: run, check and explore `.nntk` specs."""

from __future__ import annotations

import argparse
import logging
import re
import sys
from pathlib import Path

from rich.console import Console

from nntk_lang import __version__
from nntk_lang.errors import ConfigError, NntkError

EXIT_OK = 0
EXIT_SPEC_ERROR = 1
EXIT_INTERRUPTED = 130

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?\s*$", re.IGNORECASE)
_SIZE_FACTORS = {"": 1, "k": 2**10, "m": 2**20, "g": 2**30, "t": 2**40}


def parse_memory(text: str) -> int:
    """Parse a memory size such as `512M`, `2G` or `1000000` (bytes)."""
    match = _SIZE.match(text)
    if match is None:
        raise argparse.ArgumentTypeError(
            f"invalid memory size `{text}`; write bytes or a number with K, M, G or T"
        )
    number, unit = match.groups()
    return int(float(number) * _SIZE_FACTORS[unit.lower()])


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got `{text}`")
    return value


def _seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got `{text}`")
    return value


def _add_limits(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--max-samples",
        type=_positive_int,
        default=10**8,
        help="cap on the Monte Carlo samples of one request (default 100000000)",
    )
    parser.add_argument(
        "--max-grid",
        type=_positive_int,
        default=10**6,
        help="cap on the points of one grid (default 1000000)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nntk",
        description="Run, check and explore .nntk specs of nonlocal neural tangent kernels.",
    )
    parser.add_argument("--version", action="version", version=f"nntk {__version__}")
    parser.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=0,
        help="log more (-v: info, -vv: debug)",
    )
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="run a spec and write results.json")
    run.add_argument("file", type=Path, help="the .nntk spec to run")
    run.add_argument(
        "--out",
        type=Path,
        default=None,
        help="output folder (default: out/<spec name>)",
    )
    run.add_argument(
        "--seed",
        type=_seed,
        default=None,
        help="seed of requests that give no seed= (default 0)",
    )
    run.add_argument(
        "--samples",
        type=_positive_int,
        default=None,
        help="Monte Carlo samples of requests that give no samples=",
    )
    run.add_argument(
        "--device",
        choices=["auto", "cpu", "cuda"],
        default="auto",
        help="torch device for Monte Carlo work (auto: cuda when available)",
    )
    run.add_argument(
        "--dtype",
        choices=["float64", "float32"],
        default="float64",
        help="evaluation dtype; sums are always accumulated in float64",
    )
    run.add_argument(
        "--memory",
        type=parse_memory,
        default=None,
        help="memory budget per Monte Carlo chunk, e.g. 2G "
        "(default: a share of the free memory)",
    )
    run.add_argument(
        "--symbolic-timeout",
        type=float,
        default=30.0,
        help="seconds of symbolic work per closed form before Monte Carlo "
        "is used instead (default 30)",
    )
    run.add_argument(
        "--cache-dir",
        type=Path,
        default=None,
        help="closed-form cache (default: $XDG_CACHE_HOME/nntk)",
    )
    run.add_argument("--quiet", action="store_true", help="no progress bars")
    _add_limits(run)

    check = commands.add_parser(
        "check", help="parse and check a spec without running it"
    )
    check.add_argument("file", type=Path, help="the .nntk spec to check")
    _add_limits(check)

    repl = commands.add_parser("repl", help="interactive nntk")
    repl.add_argument(
        "--out",
        type=Path,
        default=None,
        help="output folder for figures of compare, fit and plot",
    )
    repl.add_argument(
        "--seed",
        type=_seed,
        default=None,
        help="seed of requests that give no seed= (default 0)",
    )
    repl.add_argument(
        "--samples",
        type=_positive_int,
        default=None,
        help="Monte Carlo samples of requests that give no samples=",
    )
    repl.add_argument(
        "--device",
        choices=["auto", "cpu", "cuda"],
        default="auto",
        help="torch device for Monte Carlo work",
    )
    return parser


def _configure_logging(verbosity: int) -> None:
    level = {0: logging.WARNING, 1: logging.INFO}.get(verbosity, logging.DEBUG)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")


def _report(error: NntkError) -> int:
    # Plain print: a rich console would wrap long source lines and move the caret.
    print(error.render(), file=sys.stderr)
    return EXIT_SPEC_ERROR


def command_check(args: argparse.Namespace, err: Console) -> int:
    from nntk_lang.check import Limits, check
    from nntk_lang.syntax.parser import parse
    from nntk_lang.syntax.source import read_source

    text = read_source(args.file)
    limits = Limits(max_samples=args.max_samples, max_grid=args.max_grid)
    checked = check(parse(text, str(args.file)), limits)
    print(f"{args.file}: ok ({len(checked.statements)} statements)")
    return EXIT_OK


def _check_device(device: str) -> None:
    """Reject `--device cuda` at start-up when torch finds no CUDA device."""
    if device != "cuda":
        return
    import torch

    if not torch.cuda.is_available():
        raise ConfigError(
            "invalid `--device cuda`: torch finds no CUDA device on this machine; "
            "use `--device auto` (cuda when available) or `--device cpu`"
        )


def command_run(args: argparse.Namespace, err: Console) -> int:
    from nntk_lang.runtime import Runtime, RunOptions

    _check_device(args.device)
    out_dir = args.out if args.out is not None else Path("out") / args.file.stem
    options = RunOptions(
        out_dir=out_dir,
        seed=args.seed,
        samples=args.samples,
        device=args.device,
        dtype=args.dtype,
        memory_bytes=args.memory,
        symbolic_timeout=args.symbolic_timeout,
        cache_dir=args.cache_dir,
        quiet=args.quiet,
        max_samples=args.max_samples,
        max_grid=args.max_grid,
    )
    console = Console()
    runtime = Runtime(options, console=console)
    runtime.run_file(args.file)
    console.print(f"results written to {out_dir / 'results.json'}")
    return EXIT_OK


def command_repl(args: argparse.Namespace, err: Console) -> int:
    from nntk_lang.repl import main_repl
    from nntk_lang.runtime import RunOptions

    _check_device(args.device)
    options = RunOptions(
        out_dir=args.out,
        seed=args.seed,
        samples=args.samples,
        device=args.device,
        quiet=True,
        print_results=False,
    )
    return main_repl(options)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    _configure_logging(args.verbose)
    err = Console(stderr=True)
    commands = {"run": command_run, "check": command_check, "repl": command_repl}
    try:
        return commands[args.command](args, err)
    except (NntkError, ConfigError) as error:
        return _report(error)
    except KeyboardInterrupt:
        err.print("interrupted")
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
