"""Options of the Monte Carlo backend and the resolution of devices and budgets."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import torch

from nntk_lang.errors import ConfigError, ResourceLimitError

Sampler = Literal["iid", "antithetic", "sobol"]
KernelEstimator = Literal["unbiased", "psd"]
Device = Literal["auto", "cpu", "cuda"]

_DTYPES = {"float32": torch.float32, "float64": torch.float64}

# Shares of free memory that one request may use when `memory_bytes` is None.
_CPU_MEMORY_SHARE = 0.25
_CUDA_MEMORY_SHARE = 0.5


@dataclass(frozen=True)
class MCOptions:
    """Settings of one Monte Carlo request.

    Attributes:
        samples: perturbed evaluations f(θ+z). Antithetic sampling forms
            samples/2 pairs (z, −z) and needs an even count; a pair is one
            sample unit for the standard error.
        seed: seed of the perturbations; sample block b is drawn from (seed, b).
        sampler: "iid", "antithetic" or "sobol" (scrambled Sobol points, one
            independent scrambling per block).
        baseline: smoothing only: subtract f(θ) from every evaluation. Nonlocal
            operators always subtract it.
        kernel_estimator: "unbiased" (U-statistic, drops the m = m' terms) or
            "psd" (V-statistic, positive semidefinite, biased upward by ~1/M).
        dtype: "float32" or "float64" (or the torch dtype), the dtype the
            model is evaluated in. Sums are always accumulated in float64.
        device: "auto" (cuda when available), "cpu" or "cuda".
        memory_bytes: memory budget of one chunk; None takes a share of the
            free memory of the device.
        block_size: perturbed evaluations per seeded block; sobol needs a
            sample count that is a multiple of it, and at least two blocks.
        groups: sample groups (runs of consecutive units; whole blocks for
            sobol) for the jackknife and for block-level standard errors.
        max_samples: cap on `samples`.
        input_chunk: inputs evaluated per model call; None sizes it by the budget.
        chunk_blocks: sample blocks per chunk; None sizes it by the budget.
        progress: called as progress(done, total) in samples after each chunk.
        cancel: called between chunks; it raises (e.g. `Cancelled`) to stop.
    """

    samples: int = 100_000
    seed: int = 0
    sampler: Sampler = "antithetic"
    baseline: bool = False
    kernel_estimator: KernelEstimator = "unbiased"
    dtype: str | torch.dtype = "float64"
    device: Device = "auto"
    memory_bytes: int | None = None
    block_size: int = 4096
    groups: int = 64
    max_samples: int = 100_000_000
    input_chunk: int | None = None
    chunk_blocks: int | None = None
    progress: Callable[[int, int], None] | None = None
    cancel: Callable[[], None] | None = None

    def __post_init__(self) -> None:
        names = {dtype: name for name, dtype in _DTYPES.items()}
        if isinstance(self.dtype, torch.dtype) and self.dtype in names:
            object.__setattr__(self, "dtype", names[self.dtype])
        _check_positive_int("samples", self.samples)
        _check_positive_int("block_size", self.block_size)
        _check_positive_int("max_samples", self.max_samples)
        _check_int_at_least("groups", self.groups, 2)
        for name in ("memory_bytes", "input_chunk", "chunk_blocks"):
            if getattr(self, name) is not None:
                _check_positive_int(name, getattr(self, name))
        if not isinstance(self.seed, int) or self.seed < 0:
            raise ConfigError(f"`seed` must be an integer >= 0, got {self.seed!r}")
        _check_choice("sampler", self.sampler, ("iid", "antithetic", "sobol"))
        _check_choice("kernel_estimator", self.kernel_estimator, ("unbiased", "psd"))
        _check_choice("dtype", self.dtype, tuple(_DTYPES))
        _check_choice("device", self.device, ("auto", "cpu", "cuda"))
        if self.samples > self.max_samples:
            raise ResourceLimitError(
                f"`samples` = {self.samples} exceeds the limit of {self.max_samples}; "
                "raise `max_samples` to allow it"
            )
        self._check_sampler_counts()
        if self.units < 2:
            raise ConfigError(
                f"`samples` = {self.samples} gives {self.units} sample unit(s); "
                "standard errors need at least two"
            )

    def _check_sampler_counts(self) -> None:
        if self.sampler == "antithetic":
            for name in ("samples", "block_size"):
                if getattr(self, name) % 2:
                    raise ConfigError(
                        f"`{name}` must be even with antithetic pairs, got "
                        f"{getattr(self, name)}; each pair costs two evaluations"
                    )
        too_few = self.samples % self.block_size or self.samples < 2 * self.block_size
        if self.sampler == "sobol" and too_few:
            raise ConfigError(
                f"sobol needs `samples` to be a multiple of `block_size` "
                f"({self.block_size}) and at least two blocks, got {self.samples}; "
                "each block is one scrambling and the standard error needs two"
            )

    @property
    def torch_dtype(self) -> torch.dtype:
        """The evaluation dtype as a torch dtype."""
        return _DTYPES[self.dtype]

    @property
    def evaluations_per_unit(self) -> int:
        """Perturbed evaluations per sample unit: 2 for antithetic pairs, else 1."""
        return 2 if self.sampler == "antithetic" else 1

    @property
    def units(self) -> int:
        """Sample units: pairs for antithetic sampling, single samples otherwise."""
        return self.samples // self.evaluations_per_unit

    @property
    def n_blocks(self) -> int:
        """Number of seeded blocks. The last one may be partly used."""
        return -(-self.samples // self.block_size)


def resolve_device(device: str) -> torch.device:
    """Turn "auto", "cpu" or "cuda" into a torch device. "auto" prefers cuda."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device == "cuda" and not torch.cuda.is_available():
        raise ConfigError(
            "`device` is 'cuda' but torch finds no CUDA device; use 'cpu'"
        )
    return torch.device(device)


def memory_budget(options: MCOptions, device: torch.device) -> int:
    """Return the chunk memory budget in bytes: the option, or a share of free memory."""
    if options.memory_bytes is not None:
        return options.memory_bytes
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        return int(free * _CUDA_MEMORY_SHARE)
    return int(_available_host_memory() * _CPU_MEMORY_SHARE)


def _available_host_memory() -> int:
    """Return MemAvailable from /proc/meminfo, or 1 GiB where that file is missing."""
    meminfo = Path("/proc/meminfo")
    if meminfo.is_file():
        for line in meminfo.read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    return 1 << 30


def _check_positive_int(name: str, value: object) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ConfigError(f"`{name}` must be a positive integer, got {value!r}")


def _check_int_at_least(name: str, value: object, low: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < low:
        raise ConfigError(f"`{name}` must be an integer >= {low}, got {value!r}")


def _check_choice(name: str, value: object, choices: tuple[str, ...]) -> None:
    if value not in choices:
        listed = ", ".join(repr(choice) for choice in choices)
        raise ConfigError(f"`{name}` must be one of {listed}, got {value!r}")
