"""results.json: every result of a run with its provenance, written atomically."""

from __future__ import annotations

import json
import math
import platform
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from nntk_lang.report.files import path_inside, write_atomic
from nntk_lang.results import Result

_LIBRARIES = ("torch", "sympy", "numpy", "lark", "scipy", "rich")


def library_versions() -> dict[str, str]:
    """Return the versions of nntk, Python and the numeric libraries in use."""
    versions = {"python": platform.python_version()}
    for name in ("nntk", *_LIBRARIES):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def to_jsonable(value: Any) -> Any:
    """Convert arrays and numpy scalars to lists and floats; NaN and ±inf to strings."""
    if isinstance(value, np.ndarray):
        return to_jsonable(value.tolist())
    if isinstance(value, (list, tuple)):
        return [to_jsonable(item) for item in value]
    if isinstance(value, dict):
        return {str(key): to_jsonable(item) for key, item in value.items()}
    if isinstance(value, (np.floating, float)):
        number = float(value)
        return number if math.isfinite(number) else str(number)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    return value


def result_record(result: Result) -> dict[str, Any]:
    """Return the JSON record of one result."""
    estimate = result.estimate
    record: dict[str, Any] = {
        "statement": result.statement,
        "line": result.line,
        "kind": result.kind,
        "method": estimate.method,
        "value": estimate.value,
        "stderr": estimate.stderr,
        "samples": estimate.samples,
        "seed": estimate.seed,
        "estimator": estimate.estimator,
        "device": estimate.device,
        "wall_time": result.wall_time,
        "labels": result.labels,
    }
    if result.files:
        record["files"] = result.files
    if result.table:
        record["table"] = result.table
    info = {
        key: item for key, item in estimate.info.items() if key != "closed_form_exprs"
    }
    if info:
        record["info"] = info
    return to_jsonable(record)


class ResultsFile:
    """`DIR/results.json`, rewritten whole after every result of a run."""

    def __init__(self, out_dir: Path, spec: str):
        self.path = path_inside(out_dir, "results.json")
        self._header = {
            "spec": spec,
            "started": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "versions": library_versions(),
        }
        self._records: list[dict[str, Any]] = []

    def add(self, result: Result) -> None:
        self._records.append(result_record(result))
        self.write()

    def write(self) -> None:
        document = {**self._header, "results": self._records}
        text = json.dumps(document, indent=1, allow_nan=False) + "\n"
        write_atomic(self.path, text.encode())
