"""Analytic against sampled values: z-scores, relative errors and convergence.

A comparison evaluates the closed form once and the Monte Carlo estimator at a
geometric ladder of sample counts ending at the requested count. The z-score of an
entry is (mc − exact) / stderr. For an unbiased estimator it is roughly standard
normal, so about 95% of entries fall within 2 standard errors and 99.7% within 3.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from nntk_lang.results import Estimate

# Each step of the convergence ladder divides the sample count by this factor.
_LADDER_FACTOR = 4
_LADDER_STEPS = 4
_MIN_LADDER_SAMPLES = 256


@dataclass
class Comparison:
    """The outcome of one `compare` statement.

    Attributes:
        exact: the closed-form values.
        sampled: the Monte Carlo estimate at the requested sample count.
        z: (sampled − exact) / stderr per entry; 0 where both agree with no spread.
        relative_error: |sampled − exact| / |exact| per entry (inf where exact is 0
            and sampled is not).
        ladder: (samples, rms error, rms stderr) per rung of the convergence ladder.
    """

    exact: np.ndarray
    sampled: Estimate
    z: np.ndarray
    relative_error: np.ndarray
    ladder: list[tuple[int, float, float]]

    @property
    def max_abs_z(self) -> float:
        finite = np.abs(self.z[np.isfinite(self.z)])
        if finite.size < self.z.size:
            return float("inf")
        return float(finite.max()) if finite.size else 0.0

    def fraction_within(self, k: float) -> float:
        """Return the fraction of entries whose |z| is at most `k`."""
        return float(np.mean(np.abs(self.z) <= k))

    def summary(self) -> dict[str, float]:
        return {
            "max_abs_z": self.max_abs_z,
            "within_2_stderr": self.fraction_within(2.0),
            "within_3_stderr": self.fraction_within(3.0),
            "max_relative_error": float(np.max(self.relative_error)),
            "entries": int(self.z.size),
        }


def z_scores(sampled: np.ndarray, stderr: np.ndarray, exact: np.ndarray) -> np.ndarray:
    """Return (sampled − exact) / stderr, with 0 where both agree and stderr is 0."""
    difference = sampled - exact
    with np.errstate(divide="ignore", invalid="ignore"):
        z = difference / stderr
    agree = (stderr == 0) & np.isclose(sampled, exact, rtol=1e-12, atol=1e-300)
    z[agree] = 0.0
    z[(stderr == 0) & ~agree] = np.inf
    return z


def relative_errors(sampled: np.ndarray, exact: np.ndarray) -> np.ndarray:
    difference = np.abs(sampled - exact)
    with np.errstate(divide="ignore", invalid="ignore"):
        relative = difference / np.abs(exact)
    relative[(exact == 0) & (difference == 0)] = 0.0
    return relative


def ladder_samples(samples: int) -> list[int]:
    """Return the sample counts of the convergence ladder, ending at `samples`."""
    counts = [samples]
    for _ in range(_LADDER_STEPS):
        smaller = counts[-1] // _LADDER_FACTOR
        if smaller < _MIN_LADDER_SAMPLES:
            break
        counts.append(smaller)
    return sorted(counts)


def compare(
    exact: np.ndarray,
    sample: Callable[[int], Estimate],
    samples: int,
) -> Comparison:
    """Compare `exact` with `sample(M)` at `samples` and along the ladder.

    Args:
        exact: closed-form values.
        sample: runs the Monte Carlo estimator with M samples.
        samples: the requested sample count (the last rung).
    """
    exact = np.asarray(exact, dtype=np.float64)
    ladder = []
    final = None
    for count in ladder_samples(samples):
        estimate = sample(count)
        value = np.asarray(estimate.value, dtype=np.float64)
        stderr = np.asarray(estimate.stderr, dtype=np.float64)
        rms_error = float(np.sqrt(np.mean((value - exact) ** 2)))
        rms_stderr = float(np.sqrt(np.mean(stderr**2)))
        ladder.append((count, rms_error, rms_stderr))
        final = estimate
    value = np.asarray(final.value, dtype=np.float64)
    stderr = np.asarray(final.stderr, dtype=np.float64)
    return Comparison(
        exact=exact,
        sampled=final,
        z=z_scores(value, stderr, exact),
        relative_error=relative_errors(value, exact),
        ladder=ladder,
    )
