"""Matplotlib figures, drawn with the Agg backend so no display is needed."""

from __future__ import annotations

import io
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from nntk_lang.report.files import write_atomic  # noqa: E402


def save_figure(figure, path: Path) -> None:
    """Render `figure` to PNG in memory, then write it atomically."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    plt.close(figure)
    write_atomic(path, buffer.getvalue())


def convergence_figure(ladder: list[tuple[int, float, float]], title: str):
    """Plot RMS error against samples on log-log axes with the 1/sqrt(M) line.

    The shaded band is the RMS standard error each run reported; an unbiased
    estimator's error should stay inside it and fall with slope -1/2.
    """
    samples = np.array([row[0] for row in ladder], dtype=float)
    errors = np.array([row[1] for row in ladder])
    stderrs = np.array([row[2] for row in ladder])
    figure, axes = plt.subplots(figsize=(6.4, 4.4))
    floor = np.full_like(stderrs, stderrs.min() * 1e-2)
    axes.fill_between(samples, floor, 2 * stderrs, color="tab:blue", alpha=0.15,
                      label="2 × reported standard error")
    axes.plot(samples, errors, "o-", color="tab:blue", label="RMS error vs closed form")
    reference = stderrs[-1] * np.sqrt(samples[-1] / samples)
    axes.plot(samples, reference, "--", color="black", label=r"$\propto 1/\sqrt{M}$")
    axes.set_xscale("log")
    axes.set_yscale("log")
    axes.set_xlabel("Monte Carlo samples M")
    axes.set_ylabel("RMS error over entries")
    axes.set_title(title)
    axes.grid(True, which="both", alpha=0.3)
    axes.legend()
    return figure


def fit_figure(
    x_dense: np.ndarray,
    y_dense: np.ndarray,
    x_train: np.ndarray,
    y_train: np.ndarray,
    predictions: dict[str, np.ndarray],
    x_test: np.ndarray,
    title: str,
):
    """Plot the target, the training points and each kernel's prediction."""
    figure, axes = plt.subplots(figsize=(7.2, 4.6))
    axes.plot(x_dense, y_dense, color="black", linewidth=2.2, label="target")
    axes.plot(x_train, y_train, "o", color="black", markersize=5, label="training points",
              zorder=5)
    for name, prediction in predictions.items():
        axes.plot(x_test, prediction, linewidth=1.5, label=name)
    axes.set_xlabel("x")
    axes.set_ylabel("f(x)")
    axes.set_title(title)
    axes.grid(True, alpha=0.3)
    axes.legend(fontsize=9)
    return figure


def kernel_figure(xs: np.ndarray, values: np.ndarray, title: str, slices: list[int]):
    """Plot a kernel matrix as a heatmap beside slices K(x, x0) for a few x0."""
    figure, (heat, lines) = plt.subplots(1, 2, figsize=(11, 4.4))
    extent = (xs[0], xs[-1], xs[-1], xs[0])
    image = heat.imshow(values, extent=extent, cmap="viridis", aspect="auto")
    figure.colorbar(image, ax=heat, label="K(x, x')")
    heat.set_xlabel("x'")
    heat.set_ylabel("x")
    heat.set_title("K(x, x')")
    for index in slices:
        lines.plot(xs, values[:, index], label=f"x0 = {xs[index]:.3g}")
    lines.set_xlabel("x")
    lines.set_ylabel("K(x, x0)")
    lines.set_title("slices K(x, x0)")
    lines.grid(True, alpha=0.3)
    lines.legend(fontsize=9)
    figure.suptitle(title)
    return figure
