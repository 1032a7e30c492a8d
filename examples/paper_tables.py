"""Print the Markdown tables of docs/paper-study.md from a run's results.json.

Usage: python examples/paper_tables.py out/paper/results.json

Every number comes from the file, so the page shows exactly what the run wrote.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def fit_tables(results: list[dict]) -> str:
    """Return one table of test MSE per ridge: a row per kernel, a column per target."""
    by_ridge: dict[float, list[dict]] = {}
    for result in results:
        if result["kind"] == "fit":
            by_ridge.setdefault(result["info"].get("ridge", 0.0), []).append(result)
    sections = []
    for ridge, fits in by_ridge.items():
        targets = [fit["statement"].split()[1] for fit in fits]
        kernels = fits[0]["labels"]["rows"]
        lines = [
            f"Test MSE, ridge {ridge:g}:",
            "",
            "| kernel | " + " | ".join(targets) + " |",
            "|---|" + "---:|" * len(targets),
        ]
        for index, kernel in enumerate(kernels):
            cells = [f"{fit['value'][index][1]:.3g}" for fit in fits]
            lines.append(f"| {kernel} | " + " | ".join(cells) + " |")
        sections.append("\n".join(lines))
    return "\n\n".join(sections)


def kernel_table(results: list[dict]) -> str:
    """Return how each kernel of the first fit was computed."""
    fit = next(result for result in results if result["kind"] == "fit")
    lines = [
        "| kernel | method | samples | seed | estimator |",
        "|---|---|---:|---:|---|",
    ]
    for name, detail in fit["info"]["kernels"].items():
        samples = detail["samples"] if detail["samples"] is not None else ""
        seed = detail["seed"] if detail["seed"] is not None else ""
        lines.append(
            f"| {name} | {detail['method']} | {samples} | {seed} | "
            f"{detail['estimator']} |"
        )
    return "\n".join(lines)


def training_tables(results: list[dict]) -> str:
    """Return the start and final MSE of each training run."""
    sections = []
    for result in results:
        if result["kind"] != "train":
            continue
        lines = [
            f"`{result['statement']}`",
            "",
            "| run | " + " | ".join(result["labels"]["columns"]) + " |",
            "|---|" + "---:|" * len(result["labels"]["columns"]),
        ]
        for row, values in zip(result["labels"]["rows"], result["value"]):
            lines.append(f"| {row} | " + " | ".join(f"{v:.3g}" for v in values) + " |")
        sections.append("\n".join(lines))
    return "\n\n".join(sections)


def main(path: str) -> None:
    results = json.loads(Path(path).read_text(encoding="utf-8"))["results"]
    print(
        fit_tables(results), kernel_table(results), training_tables(results), sep="\n\n"
    )


if __name__ == "__main__":
    main(sys.argv[1])
