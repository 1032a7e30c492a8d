"""Closed forms against the independent reference values (groups A and B)."""

from __future__ import annotations

import numpy as np
import pytest
from analytic_models import neuron_model, reference_operator, scalar_model

from nntk_lang.analytic import closed_form_gradient, closed_form_kernel

RTOL = 1e-8
DIAGONAL_ATOL = 1e-7


def _records(refs: list[dict], group: str) -> list[dict]:
    return [
        r
        for r in refs
        if r["group"] == group and r["operator"] != "normalisation_check"
    ]


def test_group_a_scalar_functions(nonlocal_refs, tmp_path):
    records = _records(nonlocal_refs, "A")
    assert len(records) == 126
    for record in records:
        model = scalar_model(record["function"])
        closed = closed_form_gradient(
            model, reference_operator(record), cache_dir=tmp_path
        )
        value = closed.evaluate(np.array([record["at"]]), np.zeros((1, 0)))[0, 0]
        expected = record["value"]
        label = f"{record['operator']} {record['kernel']} {record['params']} "
        label += f"{record['function']} at {record['at']}"
        assert value == pytest.approx(expected, rel=RTOL, abs=0.0), label


def test_group_b_neuron_gradients(nonlocal_refs, tmp_path):
    records = [r for r in _records(nonlocal_refs, "B") if "NNTK" not in r["operator"]]
    assert len(records) == 25
    for record in records:
        model = neuron_model(record["function"].removeprefix("neuron_"))
        closed = closed_form_gradient(
            model, reference_operator(record), cache_dir=tmp_path
        )
        at = record["at"]
        theta = np.array([at["w"], at["b"]])
        value = closed.evaluate(theta, np.array([[at["x"]]]))[0]
        label = f"{record['operator']} {record['function']} at {at}"
        np.testing.assert_allclose(
            value, record["value"], rtol=RTOL, atol=0, err_msg=label
        )


def test_group_b_gradients_float32(nonlocal_refs, tmp_path):
    records = [r for r in _records(nonlocal_refs, "B") if "NNTK" not in r["operator"]]
    for record in records:
        model = neuron_model(record["function"].removeprefix("neuron_"))
        closed = closed_form_gradient(
            model, reference_operator(record), cache_dir=tmp_path
        )
        at = record["at"]
        theta = np.array([at["w"], at["b"]])
        value = closed.evaluate(theta, np.array([[at["x"]]]), dtype=np.float32)[0]
        assert value.dtype == np.float32
        # float32 rounds θ and x to 24 bits before evaluation.
        np.testing.assert_allclose(value, record["value"], rtol=2e-5, atol=1e-7)


def test_group_b_kernel_matrices(nonlocal_refs, tmp_path):
    records = [r for r in _records(nonlocal_refs, "B") if "NNTK" in r["operator"]]
    assert len(records) == 6
    for record in records:
        model = neuron_model(record["function"].removeprefix("neuron_"))
        kernel = closed_form_kernel(
            model, reference_operator(record), cache_dir=tmp_path
        )
        at = record["at"]
        xs = np.array(at["x"])[:, None]
        value = kernel.evaluate(np.array([at["w"], at["b"]]), xs, xs)
        expected = np.array(record["value"])
        label = f"{record['operator']} {record['function']}"
        np.testing.assert_allclose(
            np.diag(value), np.diag(expected), rtol=0, atol=DIAGONAL_ATOL, err_msg=label
        )
        # Entries that vanish exactly in theory come out near 1e-17 in float64.
        np.testing.assert_allclose(
            value, expected, rtol=RTOL, atol=1e-14, err_msg=label
        )


def test_kernel_is_gram_of_gradients(tmp_path):
    model = neuron_model("sign")
    op = reference_operator({"operator": "S", "kernel": "", "params": {"sigma": 0.3}})
    gradient = closed_form_gradient(model, op, cache_dir=tmp_path)
    kernel = closed_form_kernel(model, op, cache_dir=tmp_path)
    theta = np.array([0.7, -0.2])
    x1 = np.array([[-1.0], [0.25], [1.5]])
    x2 = np.array([[0.5], [-2.0]])
    expected = gradient.evaluate(theta, x1) @ gradient.evaluate(theta, x2).T
    np.testing.assert_allclose(kernel.evaluate(theta, x1, x2), expected, rtol=1e-15)
