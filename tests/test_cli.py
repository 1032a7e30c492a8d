"""The `nntk` command end to end: exit codes, error format, results.json."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from nntk_lang.cli import main, parse_memory

NEURON = """\
model neuron(x; w, b) = sign(w*x + b)
operator G = nonlocal(gaussian(0.5))
point p0 = {w: 1.0, b: 0.1}
eval grad(neuron, G, at=p0, x=0.3, samples=200000, seed=3, method=mc)
"""


def _write(folder: Path, text: str, name: str = "spec.nntk") -> Path:
    path = folder / name
    path.write_text(text)
    return path


def test_check_accepts_good_spec(tmp_path, capsys):
    assert main(["check", str(_write(tmp_path, NEURON))]) == 0
    assert "ok" in capsys.readouterr().out


def test_check_reports_line_column_and_caret(tmp_path, capsys):
    spec = _write(tmp_path, "let a = 1\nlet b = a +* 2\n")
    assert main(["check", str(spec)]) == 1
    err = capsys.readouterr().err
    first = err.splitlines()[0]
    assert first.startswith(f"{spec}:2:")
    assert "^" in err
    assert "Traceback" not in err


def test_check_reports_every_error(tmp_path, capsys):
    spec = _write(tmp_path, "eval undefined_a + 1\neval undefined_b\n")
    assert main(["check", str(spec)]) == 1
    err = capsys.readouterr().err
    assert f"{spec}:1:6:" in err
    assert f"{spec}:2:6:" in err


def test_run_writes_results_matching_reference(tmp_path, nonlocal_refs):
    out = tmp_path / "out"
    assert (
        main(["run", str(_write(tmp_path, NEURON)), "--out", str(out), "--quiet"]) == 0
    )
    document = json.loads((out / "results.json").read_text())
    assert document["versions"]["torch"]
    (record,) = document["results"]
    for field in (
        "statement",
        "line",
        "kind",
        "method",
        "value",
        "stderr",
        "samples",
        "seed",
        "estimator",
        "device",
        "wall_time",
    ):
        assert field in record
    assert record["method"] == "mc"
    assert record["line"] == 4
    reference = next(
        r
        for r in nonlocal_refs
        if r["group"] == "B"
        and r["operator"] == "G"
        and r["function"] == "neuron_sign"
        and r["at"] == {"w": 1.0, "b": 0.1, "x": 0.3}
    )
    value = np.array(record["value"][0])
    stderr = np.array(record["stderr"][0])
    z = (value - np.array(reference["value"])) / stderr
    assert np.all(np.abs(z) < 4), z


def test_run_keeps_results_before_a_failure(tmp_path, capsys):
    spec = NEURON + (
        "model odd(x; w, b) = sign(w*x + b) * sign(w - b)\n"
        "eval grad(odd, G, at=p0, x=0.3, method=analytic)\n"
    )
    out = tmp_path / "out"
    assert main(["run", str(_write(tmp_path, spec)), "--out", str(out), "--quiet"]) == 1
    err = capsys.readouterr().err
    assert ":6:" in err
    assert "Traceback" not in err
    document = json.loads((out / "results.json").read_text())
    assert len(document["results"]) == 1


def test_run_same_seed_is_reproducible(tmp_path):
    spec = _write(tmp_path, NEURON)
    values = []
    for name in ("a", "b"):
        main(["run", str(spec), "--out", str(tmp_path / name), "--quiet"])
        values.append(json.loads((tmp_path / name / "results.json").read_text()))
    assert values[0]["results"][0]["value"] == values[1]["results"][0]["value"]


def test_missing_file_is_reported(tmp_path, capsys):
    assert main(["check", str(tmp_path / "absent.nntk")]) == 1
    assert "absent.nntk" in capsys.readouterr().err


def test_console_script_exit_codes(tmp_path):
    bad = _write(tmp_path, "model m(x; w) = w*x\neval grad(m, nope, at=p, x=1)\n")
    result = subprocess.run(
        [sys.executable, "-m", "nntk_lang", "check", str(bad)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert f"{bad}:2:" in result.stderr


@pytest.mark.parametrize(
    "text, expected",
    [("512M", 512 * 2**20), ("2G", 2 * 2**30), ("1000", 1000), ("1.5k", 1536)],
)
def test_parse_memory(text, expected):
    assert parse_memory(text) == expected


def test_cuda_without_device_rejected_at_start(tmp_path, capsys, monkeypatch):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    spec = _write(tmp_path, NEURON)
    out = tmp_path / "out"
    assert main(["run", str(spec), "--device", "cuda", "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert "--device cuda" in err
    assert not (out / "results.json").exists()
