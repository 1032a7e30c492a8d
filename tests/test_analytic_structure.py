"""Structural cases: affine models, sums, separable products, limits, simplify."""

from __future__ import annotations

import numpy as np
import pytest
import sympy
from analytic_models import A, B, W, X

from nntk_lang.analytic import classical_gradient, closed_form_gradient, simplify
from nntk_lang.ir.operators import Nonlocal, Smoothing
from nntk_lang.ir.primitives import Relu
from nntk_lang.ir.symbolic import SymbolicModelIR, real_symbol


def _grad(model, op, theta, xs) -> np.ndarray:
    closed = closed_form_gradient(model, op, use_cache=False)
    return closed.evaluate(np.asarray(theta, float), np.asarray(xs, float))


@pytest.mark.parametrize(
    "op",
    [Nonlocal("gaussian", 0.7), Nonlocal("ball", 0.7, "consistent"), Smoothing(0.7)],
)
def test_affine_model_gives_exact_gradient(op):
    params = tuple(real_symbol(f"p{i}") for i in range(5))
    expr = sum((i + 1) * X**i * p for i, p in enumerate(params)) + sympy.sin(X)
    model = SymbolicModelIR("affine", (X,), params, expr)
    xs = np.array([[-1.5], [0.2], [2.0]])
    value = _grad(model, op, np.arange(5.0), xs)
    expected = np.stack([(i + 1) * xs[:, 0] ** i for i in range(5)], axis=1)
    np.testing.assert_allclose(value, expected, rtol=1e-15)


def test_g_of_sum_is_sum_of_g():
    op = Nonlocal("gaussian", 0.4)
    parts = [sympy.sign(W * X + B), Relu(W - 2 * B), sympy.sin(3 * W)]
    xs = np.array([[0.5], [-1.3]])
    theta = [0.3, -0.2]
    total = _grad(SymbolicModelIR("sum", (X,), (W, B), sum(parts)), op, theta, xs)
    separate = sum(
        _grad(SymbolicModelIR("part", (X,), (W, B), p), op, theta, xs) for p in parts
    )
    np.testing.assert_allclose(total, separate, rtol=1e-13)


def test_s_of_network_sums_neurons():
    a2, w2, b2 = (real_symbol(n) for n in ("a2", "w2", "b2"))
    params = (A, W, B, a2, w2, b2)
    neuron1 = A * sympy.sign(W * X + B)
    neuron2 = a2 * Relu(w2 * X + b2)
    net = SymbolicModelIR("net", (X,), params, (neuron1 + neuron2) / sympy.sqrt(2))
    theta = [0.5, 1.0, 0.1, -0.3, 0.7, -0.4]
    xs = np.array([[0.3], [-2.0]])
    value = _grad(net, Smoothing(0.3), theta, xs)
    first = _grad(
        SymbolicModelIR("n1", (X,), params, neuron1), Smoothing(0.3), theta, xs
    )
    second = _grad(
        SymbolicModelIR("n2", (X,), params, neuron2), Smoothing(0.3), theta, xs
    )
    np.testing.assert_allclose(value, (first + second) / np.sqrt(2), rtol=1e-13)


def test_zero_direction_gives_zero_not_nan():
    # sign(w x) ignores w at x = 0, where the scale σ|x| of the law vanishes.
    model = SymbolicModelIR("m", (X,), (W,), sympy.sign(W * X))
    for op in (Smoothing(0.5), Nonlocal("gaussian", 0.5), Nonlocal("ball", 0.5)):
        value = _grad(model, op, [0.4], [[0.0], [1.0]])
        assert value[0, 0] == 0.0, op
        assert np.isfinite(value[1, 0]), op


@pytest.mark.parametrize(
    "op_of_scale",
    [Smoothing, lambda s: Nonlocal("gaussian", s), lambda s: Nonlocal("ball", s)],
)
def test_small_scale_tends_to_classical_gradient(op_of_scale):
    model = SymbolicModelIR("m", (X,), (W, B), sympy.sin(W * X + B) + Relu(W - B))
    theta, xs = [0.9, 0.2], np.array([[0.4], [-1.1]])
    classical = classical_gradient(model).evaluate(np.array(theta), xs)
    errors = []
    for scale in (1e-1, 1e-2, 1e-3):
        value = _grad(model, op_of_scale(scale), theta, xs)
        errors.append(np.max(np.abs(value - classical)))
    # O(scale²) for the smooth part away from the kink of relu.
    assert errors[1] < errors[0] / 50
    assert errors[2] < 1e-5


def test_simplify_rejects_a_changed_value(monkeypatch):
    t = real_symbol("t")
    expr = sympy.exp(t) * sympy.exp(-t) + sympy.sin(t) ** 2 + sympy.cos(t) ** 2
    assert simplify.simplify_checked(expr) == 2
    monkeypatch.setattr(simplify.sympy, "simplify", lambda e: sympy.Integer(3))
    assert simplify.simplify_checked(expr) == expr


def test_same_values_detects_a_spurious_term():
    t = real_symbol("t")
    assert simplify.same_values(sympy.sin(2 * t), 2 * sympy.sin(t) * sympy.cos(t))
    assert not simplify.same_values(sympy.sin(t), sympy.sin(t) + 1e-6 * t)


def test_text_and_latex_name_the_parameters():
    model = SymbolicModelIR("neuron", (X,), (W, B), Relu(W * X + B))
    closed = closed_form_gradient(model, Smoothing(0.5), use_cache=False)
    lines = closed.text.splitlines()
    assert lines[0].startswith("d/dw: ")
    assert lines[1].startswith("d/db: ")
    assert "NormalCdf" in closed.text
    assert r"\Phi" in closed.latex
