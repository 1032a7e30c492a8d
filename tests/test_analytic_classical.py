"""The classical gradient and NTK by symbolic differentiation."""

from __future__ import annotations

import numpy as np
import pytest
import sympy
from analytic_models import B, W, X, neuron_model, scalar_model

from nntk_lang.analytic import classical_gradient, classical_ntk
from nntk_lang.analytic.numeric import evaluate
from nntk_lang.ir.primitives import Relu
from nntk_lang.ir.symbolic import SymbolicModelIR, real_symbol


def _at(closed, theta, x=None) -> np.ndarray:
    xs = np.zeros((1, 0)) if x is None else np.array([[x]])
    return closed.evaluate(np.atleast_1d(theta), xs)[0]


def test_relu_derivative_at_kink_is_zero():
    closed = classical_gradient(scalar_model("relu"))
    assert _at(closed, 0.0)[0] == 0.0
    assert _at(closed, 0.3)[0] == 1.0
    assert _at(closed, -0.3)[0] == 0.0


@pytest.mark.parametrize("name", ["sign", "step", "round", "floor"])
def test_piecewise_constant_derivative_is_zero(name):
    closed = classical_gradient(scalar_model(name))
    assert closed.exprs[0] == 0
    for theta in (-0.5, 0.0, 0.5, 1.0):
        assert _at(closed, theta)[0] == 0.0


def test_sawtooth_and_abs_derivatives():
    assert _at(classical_gradient(scalar_model("sawtooth")), 0.7)[0] == 1.0
    abs_grad = classical_gradient(scalar_model("abs"))
    assert _at(abs_grad, -0.7)[0] == -1.0
    assert _at(abs_grad, 0.0)[0] == 0.0


def test_smooth_neuron_against_central_differences():
    model = SymbolicModelIR("neuron", (X,), (W, B), sympy.sin(W * X + B) * sympy.exp(B))
    closed = classical_gradient(model)
    theta, x, h = np.array([0.4, -0.3]), 0.9, 1e-6

    def f(th):
        return np.sin(th[0] * x + th[1]) * np.exp(th[1])

    steps = np.eye(2) * h
    expected = [(f(theta + e) - f(theta - e)) / (2 * h) for e in steps]
    np.testing.assert_allclose(_at(closed, theta, x), expected, rtol=1e-8)


def test_width_512_relu_network_matches_neural_tangents(nt_refs):
    # f = Σᵢ w2ᵢ relu(w1ᵢ x + b1ᵢ)/sqrt(512) + b2 in the NTK parameterisation.
    empirical = nt_refs["empirical"]["relu_width512_seed0"]
    stored = empirical["params"]
    width = 512
    w1, b1, w2 = (
        [real_symbol(f"{name}_{i}") for i in range(width)]
        for name in ("w1", "b1", "w2")
    )
    b2 = real_symbol("b2")
    hidden = sympy.Add(*[w2[i] * Relu(w1[i] * X + b1[i]) for i in range(width)])
    model = SymbolicModelIR(
        "net", (X,), (*w1, *b1, *w2, b2), hidden / sympy.sqrt(width) + b2
    )
    theta = np.concatenate(
        [
            np.ravel(stored["W1_shape_1x512"]),
            np.ravel(stored["b1_shape_1x512"]),
            np.ravel(stored["W2_shape_512x1"]),
            np.ravel(stored["b2_shape_1x1"]),
        ]
    )
    xs = np.array(nt_refs["inputs"]["x"])[:, None]
    kernel = classical_ntk(model).evaluate(theta, xs, xs)
    np.testing.assert_allclose(kernel, empirical["ntk"], rtol=1e-10, atol=1e-12)


def test_classical_ntk_of_neuron():
    model = neuron_model("relu")
    kernel = classical_ntk(model)
    theta = np.array([1.0, 0.1])
    xs = np.array([[-1.0], [0.5], [2.0]])
    # ∇ relu(wx + b) = step(wx + b)·(x, 1).
    active = (xs[:, 0] * theta[0] + theta[1] > 0).astype(float)
    grads = np.stack([active * xs[:, 0], active], axis=1)
    np.testing.assert_allclose(kernel.evaluate(theta, xs, xs), grads @ grads.T)
    symbolic = kernel.expr()
    x2 = real_symbol("x_2")
    values = {W: theta[0], B: theta[1], X: 0.5, x2: 2.0}
    assert float(evaluate(symbolic, values)) == pytest.approx(grads[1] @ grads[2])
