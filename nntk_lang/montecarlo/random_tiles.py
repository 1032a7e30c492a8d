"""Seeded random numbers that any chunking of samples and parameters reproduces.

Draws are made in fixed tiles of `TILE_SAMPLES` samples × `tile_width`
parameters, each from its own torch generator seeded by (seed, stream, tile row,
tile column). Any rectangle of the sample × parameter array is cut from the
tiles that cover it. So a result does not depend on the chunk sizes used to
compute it, and a pass over parameter chunks regenerates exactly the
perturbations that a pass over sample chunks used.
"""

from __future__ import annotations

import numpy as np
import torch

TILE_SAMPLES = 64
MAX_TILE_WIDTH = 4096


def tile_width(width: int) -> int:
    """Return the tile width for a stream of `width` parameters."""
    return max(1, min(width, MAX_TILE_WIDTH))


def _generator(seed: int, stream: int, row: int, column: int) -> torch.Generator:
    state = np.random.SeedSequence([seed, stream, row, column]).generate_state(2)
    return torch.Generator().manual_seed(int(state[0]) << 31 | int(state[1]) >> 1)


def _tiled(
    draw: str, seed: int, stream: int, width: int, samples: range, params: range
) -> torch.Tensor:
    columns = tile_width(width)
    sampler = torch.randn if draw == "normal" else torch.rand
    # Uniform streams use odd tile columns and normal streams even ones.
    parity = 0 if draw == "normal" else 1
    out = torch.empty(len(samples), len(params), dtype=torch.float64)
    first_row, last_row = (
        samples.start // TILE_SAMPLES,
        -(-samples.stop // TILE_SAMPLES),
    )
    first_col, last_col = params.start // columns, -(-params.stop // columns)
    # Each tile is cut to the request before the next is drawn, so memory stays
    # at the request's size plus one tile.
    for row in range(first_row, last_row):
        row_low = max(samples.start, row * TILE_SAMPLES)
        row_high = min(samples.stop, (row + 1) * TILE_SAMPLES)
        for column in range(first_col, last_col):
            col_low = max(params.start, column * columns)
            col_high = min(params.stop, (column + 1) * columns)
            tile = sampler(
                TILE_SAMPLES,
                columns,
                generator=_generator(seed, stream, row, 2 * column + parity),
                dtype=torch.float64,
            )
            out[
                row_low - samples.start : row_high - samples.start,
                col_low - params.start : col_high - params.start,
            ] = tile[
                row_low - row * TILE_SAMPLES : row_high - row * TILE_SAMPLES,
                col_low - column * columns : col_high - column * columns,
            ]
    return out


def normals(
    seed: int, stream: int, width: int, samples: range, params: range
) -> torch.Tensor:
    """Return standard normals for rows `samples` and columns `params` (float64).

    Args:
        seed: the request's seed.
        stream: which independent stream (one per perturbation block).
        width: the stream's full parameter count, which fixes the tile width.
        samples: a range of sample indices.
        params: a range of parameter indices within [0, width).
    """
    return _tiled("normal", seed, stream, width, samples, params)


def uniforms(
    seed: int, stream: int, width: int, samples: range, params: range
) -> torch.Tensor:
    """Return uniforms on [0, 1), laid out and seeded like `normals`."""
    return _tiled("uniform", seed, stream, width, samples, params)
