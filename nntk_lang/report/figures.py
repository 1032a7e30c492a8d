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
    figure, axes = plt.subplots(figsize=(6.8, 4.6))
    # On log axes the band cannot start at 0; it starts below every plotted point.
    bottom = (
        min(float(np.min(errors[errors > 0], initial=np.inf)), float(np.min(stderrs)))
        / 4
    )
    axes.fill_between(
        samples,
        bottom,
        2 * stderrs,
        color="tab:blue",
        alpha=0.15,
        label="below 2 × reported standard error",
    )
    axes.plot(
        samples,
        stderrs,
        "s--",
        color="tab:blue",
        alpha=0.6,
        markersize=4,
        label="reported standard error (RMS)",
    )
    axes.plot(
        samples, errors, "o-", color="tab:blue", label="RMS error against closed form"
    )
    reference = stderrs[-1] * np.sqrt(samples[-1] / samples)
    axes.plot(
        samples,
        reference,
        ":",
        color="black",
        label=r"slope $-1/2$ ($\propto 1/\sqrt{M}$)",
    )
    axes.set_ylim(bottom=bottom)
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
    test_mse: dict[str, float] | None = None,
):
    """Plot the target, the training points and each kernel's prediction.

    Each kernel gets its own panel, so that ten predictions stay readable. The
    y-axis spans the target's range with a margin. A prediction that leaves it is
    cut off at the panel's edge, so the test MSE in the panel title shows how far.
    """
    count = max(len(predictions), 1)
    columns = min(count, 5)
    rows = -(-count // columns)
    figure, grid = plt.subplots(
        rows,
        columns,
        figsize=(3.2 * columns, 2.8 * rows + 0.6),
        sharex=True,
        sharey=True,
        squeeze=False,
    )
    span = float(np.max(y_dense) - np.min(y_dense)) or 1.0
    limits = (float(np.min(y_dense)) - 0.5 * span, float(np.max(y_dense)) + 0.5 * span)
    for axes, (name, prediction) in zip(grid.flat, predictions.items()):
        axes.plot(x_dense, y_dense, color="black", linewidth=1.6, label="target")
        axes.plot(
            x_train,
            y_train,
            "o",
            color="black",
            markersize=3,
            label="training points",
            zorder=5,
        )
        axes.plot(
            x_test, prediction, color="tab:red", linewidth=1.3, label="prediction"
        )
        axes.set_ylim(*limits)
        heading = name if test_mse is None else f"{name}: test MSE {test_mse[name]:.3g}"
        axes.set_title(heading, fontsize=10)
        axes.grid(True, alpha=0.3)
    for axes in grid.flat[count:]:
        axes.set_visible(False)
    for axes in grid[-1, :]:
        axes.set_xlabel("x")
    for axes in grid[:, 0]:
        axes.set_ylabel("f(x)")
    handles, labels = grid.flat[0].get_legend_handles_labels()
    figure.legend(
        handles,
        labels,
        loc="lower center",
        ncol=3,
        fontsize=9,
        bbox_to_anchor=(0.5, -0.02),
    )
    figure.suptitle(title)
    figure.tight_layout(rect=(0, 0.05, 1, 1))
    return figure


def target_figure(xs: np.ndarray, ys: np.ndarray, title: str):
    """Plot a one-input target y(x) on its grid."""
    figure, axes = plt.subplots(figsize=(7.2, 4.6))
    axes.plot(xs, ys, color="black", linewidth=1.8)
    axes.set_xlabel("x")
    axes.set_ylabel("y(x)")
    axes.set_title(title)
    axes.grid(True, alpha=0.3)
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


def training_figure(curves: dict, x_test, y_test, snapshots: dict, title: str):
    """Plot loss curves on log axes beside the learned function at a few steps.

    Args:
        curves: label -> (LossCurve, line style); each curve gives train and test.
        x_test, y_test: the test inputs and the target there.
        snapshots: step -> test predictions of the trained model.
    """
    figure, (losses, functions) = plt.subplots(1, 2, figsize=(12, 4.6))
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for index, (label, (curve, style)) in enumerate(curves.items()):
        steps = np.asarray(curve.steps) + 1
        colour = colours[index % len(colours)]
        losses.plot(
            steps, curve.train_mse, style, color=colour, label=f"{label}: train"
        )
        losses.plot(
            steps,
            curve.test_mse,
            style,
            color=colour,
            alpha=0.5,
            label=f"{label}: test",
        )
    losses.set_xscale("log")
    losses.set_yscale("log")
    losses.set_xlabel("step + 1")
    losses.set_ylabel("mean squared error")
    losses.set_title("loss curves")
    losses.grid(True, which="both", alpha=0.3)
    losses.legend(fontsize=8)
    functions.plot(x_test, y_test, color="black", linewidth=2.2, label="target")
    shades = plt.cm.viridis(np.linspace(0.1, 0.9, max(len(snapshots), 1)))
    for shade, (step, prediction) in zip(shades, sorted(snapshots.items())):
        functions.plot(x_test, prediction, color=shade, label=f"step {step}")
    functions.set_xlabel("x")
    functions.set_ylabel("f(x)")
    functions.set_title("the trained model at a few steps")
    functions.grid(True, alpha=0.3)
    functions.legend(fontsize=8)
    figure.suptitle(title)
    return figure
