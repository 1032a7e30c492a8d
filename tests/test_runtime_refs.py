"""Closed forms through the language, against the group A reference values.

The references are one-parameter functions g(θ). Running them as specs checks the
whole path (parser, lowering, dispatch, analytic backend) and that the name a user
gives the parameter does not matter: an internal symbol once collided with `t`.
"""

import numpy as np
import pytest

from nntk_lang.runtime import Runtime, RunOptions

FUNCTIONS = {
    "sign": "sign(P)",
    "step": "step(P)",
    "relu": "relu(P)",
    "abs": "abs(P)",
    "sawtooth": "P - floor(P + 1/2)",
    "round": "floor(P + 1/2)",
    "sin": "sin(P)",
}


def _operator(record) -> str:
    params = record["params"]
    if record["operator"] == "S":
        return f"smoothing(sigma={params['sigma']})"
    if record["kernel"] == "ball":
        return f"nonlocal(ball({params['delta']}))"
    return f"nonlocal(gaussian({params['gamma']}))"


def _group_a(nonlocal_refs):
    return [r for r in nonlocal_refs if r["group"] == "A"]


@pytest.mark.parametrize("name", ["t", "x", "theta"])
def test_group_a_closed_forms_through_specs(nonlocal_refs, name, tmp_path):
    records = _group_a(nonlocal_refs)
    assert len(records) >= 100
    lines = []
    for index, record in enumerate(records):
        body = FUNCTIONS[record["function"]].replace("P", name)
        lines += [
            f"model g{index}(; {name}) = {body}",
            f"operator O{index} = {_operator(record)}",
            f"eval grad(g{index}, O{index}, at={{{name}: {record['at']!r}}}, "
            "method=analytic)",
        ]
    runtime = Runtime(RunOptions(print_results=False, quiet=True, cache_dir=tmp_path))
    results = runtime.execute_text("\n".join(lines) + "\n", "<refs>")
    assert len(results) == len(records)
    for record, result in zip(records, results):
        value = float(np.asarray(result.estimate.value).reshape(-1)[0])
        expected = record["value"]
        assert result.estimate.method == "analytic"
        assert value == pytest.approx(expected, rel=1e-8, abs=1e-300), record
