"""The sampling settings and inputs shared by the network Monte Carlo estimators."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

import torch

from nntk_lang.montecarlo import random_tiles
from nntk_lang.montecarlo.pair_sums import Statistic

Tensor = torch.Tensor
Assembly = Literal["auto", "gram", "projection"]

DEFAULT_MEMORY_BYTES = 32 * 2**20
DEFAULT_GROUPS = 16
MAX_SAMPLES = 2**31
ASSEMBLY_BUDGET_FACTOR = 64
"""The Gram or projections of a block may use this many times `memory_bytes`."""


@dataclass(frozen=True)
class SamplingPlan:
    """Sample count, seed, chunking and statistic of one estimate."""

    samples: int
    seed: int
    groups: int = DEFAULT_GROUPS
    statistic: Statistic = "unbiased"
    chunk_samples: int | None = None
    chunk_params: int | None = None
    memory_bytes: int = DEFAULT_MEMORY_BYTES
    assembly: Assembly = "auto"
    antithetic: bool = False
    # Raises `Cancelled` once the caller requests a stop.
    cancel: Callable[[], None] | None = field(default=None, compare=False)

    def check_cancel(self) -> None:
        """Call `cancel`, which raises `Cancelled` once a stop is requested."""
        if self.cancel is not None:
            self.cancel()

    def samples_per_chunk(self, row_bytes: int) -> int:
        """Return a sample chunk length, a multiple of the tile height if possible."""
        if self.chunk_samples is not None:
            requested = self.chunk_samples
        else:
            requested = self.memory_bytes // max(row_bytes, 1)
        if requested < random_tiles.TILE_SAMPLES:
            # Below a tile height the draws are cut from shared tiles, which
            # costs extra generation but keeps memory within the budget.
            return max(1, requested)
        tiles = requested // random_tiles.TILE_SAMPLES
        return tiles * random_tiles.TILE_SAMPLES

    def params_per_chunk(self, column_bytes: int) -> int:
        if self.chunk_params is not None:
            return max(1, self.chunk_params)
        return max(1, self.memory_bytes // max(column_bytes, 1))


@dataclass(frozen=True)
class Inputs:
    """The two input sets of a kernel and f(θ) at each."""

    x1: Tensor
    x2: Tensor
    f1: Tensor
    f2: Tensor
