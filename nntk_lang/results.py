"""Results of requests: plain data that the report layer and the JSON writer read."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

Method = Literal["analytic", "mc", "autodiff", "exact"]


@dataclass
class Estimate:
    """A backend's result: a value and, for Monte Carlo, its standard error.

    Attributes:
        value: scalar, vector or matrix as a float64 array.
        stderr: same shape as `value`; None for exact methods.
        method: "analytic", "mc", "autodiff" (classical NTK by torch.func) or
            "exact" (plain arithmetic).
        samples: Monte Carlo sample count (perturbations), None otherwise.
        seed: the seed the samples came from.
        estimator: how the estimate was formed, e.g. "antithetic, unbiased U-statistic".
        device: the torch device the work ran on.
        info: anything else worth reporting (closed form text and LaTeX,
            effective sample size, jitter, ...).
    """

    value: np.ndarray
    stderr: np.ndarray | None = None
    method: Method = "mc"
    samples: int | None = None
    seed: int | None = None
    estimator: str = ""
    device: str = "cpu"
    info: dict[str, Any] = field(default_factory=dict)


@dataclass
class Result:
    """One printed and saved result of a statement.

    Attributes:
        statement: the statement's source text.
        line: its line in the spec file.
        kind: "grad", "kernel", "value", "compare", "fit", "train" or "plot".
        estimate: the computed numbers.
        labels: what the axes of `estimate.value` index, e.g. input values for
            kernel rows, parameter names for gradient components.
        wall_time: seconds spent computing it.
        files: files written for it, relative to the output folder.
        table: extra rows for the report (compare and fit summaries).
    """

    statement: str
    line: int
    kind: str
    estimate: Estimate
    labels: dict[str, list[Any]] = field(default_factory=dict)
    wall_time: float = 0.0
    files: list[str] = field(default_factory=list)
    table: dict[str, Any] = field(default_factory=dict)
