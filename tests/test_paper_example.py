"""Run a reduced copy of examples/paper.nntk end to end through the runtime."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pytest

from nntk_lang.runtime import RunOptions, Runtime

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "paper.nntk"

# Each pattern must occur in the example. The reduction keeps every statement and
# shrinks only widths, sample counts, steps and grids.
REDUCTIONS = {
    r"width=128": "width=16",
    r"samples=\d+": "samples=64",
    r"steps=\d+": "steps=4",
    r"linspace\(-1, 1, 201\)": "linspace(-1, 1, 41)",
    r"linspace\(-1, 1, 101\)": "linspace(-1, 1, 21)",
}


def reduced_spec() -> str:
    """Return the example's text with the reductions applied."""
    text = EXAMPLE.read_text(encoding="utf-8")
    for pattern, replacement in REDUCTIONS.items():
        text, count = re.subn(pattern, replacement, text)
        assert count > 0, f"paper.nntk no longer contains {pattern!r}"
    return text


@pytest.fixture(scope="module")
def paper_run(tmp_path_factory) -> tuple[Path, dict]:
    folder = tmp_path_factory.mktemp("paper")
    spec = folder / "paper.nntk"
    spec.write_text(reduced_spec(), encoding="utf-8")
    out = folder / "out"
    runtime = Runtime(RunOptions(out_dir=out, quiet=True, print_results=False))
    runtime.run_file(spec)
    return out, json.loads((out / "results.json").read_text(encoding="utf-8"))


def test_paper_writes_results_and_figures(paper_run):
    out, results = paper_run
    files = [name for result in results["results"] for name in result["files"]]
    assert len(files) == len(results["results"])
    for name in files:
        assert (out / name).stat().st_size > 0, name


def test_paper_runs_every_study(paper_run):
    _, results = paper_run
    kinds = [result["kind"] for result in results["results"]]
    assert kinds.count("fit") == 6
    assert kinds.count("train") == 2
    assert kinds.count("plot") == 6


def test_paper_fit_errors_are_finite(paper_run):
    _, results = paper_run
    for result in results["results"]:
        if result["kind"] != "fit":
            continue
        assert len(result["labels"]["rows"]) == 10
        for row, (train_mse, test_mse) in zip(
            result["labels"]["rows"], result["value"]
        ):
            assert math.isfinite(train_mse), (result["statement"], row)
            assert math.isfinite(test_mse), (result["statement"], row)


def test_paper_training_curves_are_finite(paper_run):
    _, results = paper_run
    for result in results["results"]:
        if result["kind"] != "train":
            continue
        for label, curve in result["info"]["curves"].items():
            assert all(math.isfinite(v) for v in curve["test_mse"]), label
