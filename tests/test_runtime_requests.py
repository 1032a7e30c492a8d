"""Requests through the `nntk run` command that used to crash the runtime."""

import json
from pathlib import Path

import numpy as np
import pytest

from nntk_lang.cli import main
from nntk_lang.ir import network
from nntk_lang.runtime import RunOptions, Runtime
from nntk_lang.signatures import SIGNATURES

AFFINE_INLINE = """\
model line(x; a, b) = 3*a*x - 2*b
point p = {a: 0.5, b: -1.0}
eval grad(line, smoothing(0.2), at=p, x=0.4)
eval grad(line, nonlocal(ball(0.3)), at=p, x=0.4, method=mc, samples=1000)
kernel K = nntk(line, nonlocal(gaussian(0.5)), at=p)
eval K(0.4, -0.5)
compare grad(line, smoothing(0.1), at=p) on [0.4] with samples=1000
"""


def _run(tmp_path: Path, text: str) -> list[dict]:
    spec = tmp_path / "spec.nntk"
    spec.write_text(text)
    out = tmp_path / "out"
    assert main(["run", str(spec), "--out", str(out), "--quiet"]) == 0
    return json.loads((out / "results.json").read_text())["results"]


def test_inline_operator_runs_in_every_request(tmp_path):
    x, x2 = 0.4, -0.5
    # Every operator reproduces the gradient of an affine model exactly.
    exact = np.array([3 * x, -2.0])
    records = _run(tmp_path, AFFINE_INLINE)
    assert len(records) == 4
    smoothing_grad, ball_grad, kernel, _ = records
    np.testing.assert_allclose(np.array(smoothing_grad["value"])[0], exact)
    z = (np.array(ball_grad["value"])[0] - exact) / np.array(ball_grad["stderr"])[0]
    assert np.all(np.abs(z) < 5), z
    expected_kernel = 3 * x * 3 * x2 + 4.0
    np.testing.assert_allclose(np.array(kernel["value"]).item(), expected_kernel)


def test_plot_of_target_writes_values_and_figure(tmp_path):
    grid = np.linspace(-1, 1, 9)
    records = _run(
        tmp_path,
        "target bump(x) = exp(-x^2) + 2*x\nplot bump on linspace(-1, 1, 9)\n",
    )
    (record,) = records
    assert record["kind"] == "plot"
    values = np.array(record["value"]).reshape(-1)
    np.testing.assert_allclose(values, np.exp(-(grid**2)) + 2 * grid, rtol=1e-12)
    assert (tmp_path / "out" / "plot_line2_bump.png").stat().st_size > 0


LOAD_POINT = """\
model net = mlp(width=4)
point q = load("q.npz")
kernel K = ntk(net, at=q)
eval K(0.1, 0.2)
"""


@pytest.mark.parametrize(
    "content, message",
    [
        (b"not a zip archive", "it is not an .npz archive"),
        (None, "No such file or directory"),
    ],
)
def test_unreadable_point_file_points_at_load(tmp_path, capsys, content, message):
    if content is not None:
        (tmp_path / "q.npz").write_bytes(content)
    spec = tmp_path / "spec.nntk"
    spec.write_text(LOAD_POINT)
    assert main(["run", str(spec), "--out", str(tmp_path / "out"), "--quiet"]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"{spec}:2:11: ")
    assert message in err
    assert "hint: save W1, b1" in err
    assert "Traceback" not in err


def test_memory_error_reports_statement(tmp_path, capsys, monkeypatch):
    def exhausted(*args, **kwargs):
        raise MemoryError

    monkeypatch.setattr(network, "init", exhausted)
    spec = tmp_path / "spec.nntk"
    spec.write_text("model net = mlp(width=4)\npoint q = init(net, seed=0)\n")
    assert main(["run", str(spec), "--out", str(tmp_path / "out"), "--quiet"]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"{spec}:2:1: ran out of memory")
    assert "hint: use a smaller network" in err


@pytest.mark.parametrize(
    "request_line",
    [
        "eval grad(m, smoothing(0.5), at=p, x=0.3, samples=100)",
        "kernel K = ntk(m, at=p)\neval K(0.3, -0.2)",
    ],
)
def test_nan_result_is_an_error(tmp_path, capsys, request_line):
    # sqrt(w) is NaN for every w < 0, so the request has no finite value.
    spec = tmp_path / "spec.nntk"
    spec.write_text(
        "model m(x; w) = sqrt(w)*x\npoint p = {w: -1.0}\n" + request_line + "\n"
    )
    assert main(["run", str(spec), "--out", str(tmp_path / "out"), "--quiet"]) == 1
    err = capsys.readouterr().err
    last_line = 2 + request_line.count("\n") + 1
    assert err.startswith(f"{spec}:{last_line}:1: ")
    assert "are NaN or infinite" in err
    assert "hint: the model is undefined" in err


def test_ans_binds_kernel_value_and_gradient():
    runtime = Runtime(RunOptions(quiet=True, print_results=False))
    runtime.execute_text(
        "model line(x; a, b) = 3*a*x - 2*b\npoint p = {a: 0.5, b: -1.0}\n"
        "kernel K = ntk(line, at=p)\n"
    )
    (kernel,) = runtime.execute_text("eval K(0.4, -0.5)")
    runtime.set_ans(kernel.estimate)
    (doubled,) = runtime.execute_text("eval 2 * ans")
    # The classical NTK of an affine model is the product of its input features.
    expected_kernel = (3 * 0.4) * (3 * -0.5) + (-2) * (-2)
    assert float(doubled.estimate.value) == pytest.approx(2 * expected_kernel)
    (gradient,) = runtime.execute_text("eval grad(line, smoothing(0.1), at=p, x=0.4)")
    runtime.set_ans(gradient.estimate)
    runtime.execute_text("grid g = ans")
    np.testing.assert_allclose(runtime.scope.grid("g"), [3 * 0.4, -2.0])


def test_output_folder_that_is_a_file(tmp_path, capsys):
    spec = tmp_path / "spec.nntk"
    spec.write_text("let a = 1\n")
    blocked = tmp_path / "taken"
    blocked.write_text("a file, not a folder")
    assert main(["run", str(spec), "--out", str(blocked), "--quiet"]) == 1
    err = capsys.readouterr().err
    assert f"cannot write `{blocked / 'results.json'}`" in err
    assert "choose another output folder with --out" in err
    assert "Traceback" not in err


def test_request_defaults_follow_signatures(tmp_path):
    grad = SIGNATURES["grad"]
    sampler = grad.keyword("sampler").default
    baseline = "true" if grad.keyword("baseline").default else "false"
    request = "grad(m, smoothing(0.5), at=p, x=0.3, samples=200, method=mc"
    records = _run(
        tmp_path,
        "model m(x; w) = sign(w*x - 0.2)\npoint p = {w: 1.0}\n"
        f"eval {request})\n"
        f"eval {request}, sampler={sampler}, baseline={baseline})\n",
    )
    implicit, explicit = records
    assert implicit["estimator"] == explicit["estimator"]
    assert implicit["value"] == explicit["value"]
