"""Classical gradients and NTKs by torch.func on lowered models."""

from __future__ import annotations

import numpy as np
import pytest
import sympy

from nntk_lang.ir.operators import Nonlocal, Smoothing
from nntk_lang.ir.primitives import BUILTINS
from nntk_lang.ir.symbolic import SymbolicModelIR, real_symbol
from nntk_lang.montecarlo.classical import classical_gradient, classical_ntk
from nntk_lang.montecarlo.estimators import estimate_kernel
from nntk_lang.montecarlo.options import MCOptions

x = real_symbol("x")
w = real_symbol("w")
b = real_symbol("b")


def test_gradient_matches_sympy(generator):
    expr = sympy.sin(w * x + b) * sympy.exp(-(w**2)) + sympy.sqrt(b**2 + 1) * x
    model = SymbolicModelIR("smooth", (x,), (w, b), expr)
    xs = np.array([[-1.2], [0.0], [0.7]])
    theta = np.array([0.4, -0.3])
    estimate = classical_gradient(model, theta, xs)
    assert estimate.method == "autodiff"
    for n, x_value in enumerate(xs[:, 0]):
        point = {x: x_value, w: theta[0], b: theta[1]}
        expected = [float(sympy.diff(expr, s).subs(point).evalf(30)) for s in (w, b)]
        np.testing.assert_allclose(estimate.value[n], expected, rtol=1e-12)


@pytest.mark.parametrize("name", ["sign", "step", "relu", "abs", "round", "floor"])
def test_gradient_is_zero_at_kinks(name):
    # round and floor jump at w x + b = 0 after the shift below; sign, step,
    # relu and abs have their kink there.
    t = w * x + b
    shift = sympy.S.Half if name == "round" else 0
    model = SymbolicModelIR(name, (x,), (w, b), BUILTINS[name].build(t - shift))
    theta = (
        np.array([1.0, -0.5 + float(shift)])
        if name == "round"
        else np.array([1.0, -0.5])
    )
    estimate = classical_gradient(model, theta, np.array([[0.5]]))
    np.testing.assert_array_equal(estimate.value, [[0.0, 0.0]])


def _width512_network(
    params: dict, activation: str
) -> tuple[SymbolicModelIR, np.ndarray]:
    """f(x) = W2 · act(W1 x + b1) / sqrt(512) + b2, the NTK parameterisation."""
    width = 512
    w1 = [real_symbol(f"w1_{i}") for i in range(width)]
    b1 = [real_symbol(f"b1_{i}") for i in range(width)]
    w2 = [real_symbol(f"w2_{i}") for i in range(width)]
    b2 = real_symbol("b2")
    act = BUILTINS[activation].build
    hidden = sympy.Add(*[w2[i] * act(w1[i] * x + b1[i]) for i in range(width)])
    expr = hidden / sympy.sqrt(width) + b2
    theta = np.concatenate(
        [
            np.ravel(params["W1_shape_1x512"]),
            np.ravel(params["b1_shape_1x512"]),
            np.ravel(params["W2_shape_512x1"]),
            np.ravel(params["b2_shape_1x1"]),
        ]
    )
    model = SymbolicModelIR("net", (x,), (*w1, *b1, *w2, b2), expr)
    return model, theta


@pytest.mark.parametrize("activation", ["relu", "sign"])
def test_ntk_matches_neural_tangents_empirical(nt_refs, activation):
    empirical = nt_refs["empirical"]
    params = empirical["relu_width512_seed0"]["params"]
    model, theta = _width512_network(params, activation)
    xs = np.array(nt_refs["inputs"]["x"])[:, None]
    estimate = classical_ntk(model, theta, xs)
    expected = np.array(empirical[f"{activation}_width512_seed0"]["ntk"])
    assert estimate.method == "autodiff"
    np.testing.assert_allclose(estimate.value, expected, rtol=1e-12, atol=1e-12)


def test_cross_ntk_is_jacobian_product():
    model = SymbolicModelIR("neuron", (x,), (w, b), sympy.tanh(w * x + b))
    theta = np.array([0.8, 0.2])
    x1 = np.array([[-1.0], [0.5]])
    x2 = np.array([[0.3], [2.0], [-0.4]])
    left = classical_gradient(model, theta, x1).value
    right = classical_gradient(model, theta, x2).value
    cross = classical_ntk(model, theta, x1, x2)
    assert cross.value.shape == (2, 3)
    np.testing.assert_allclose(cross.value, left @ right.T, rtol=1e-14)


@pytest.mark.parametrize("operator", [Nonlocal("gaussian", 0.05), Smoothing(0.05)])
def test_nntk_tends_to_classical_ntk(operator):
    model = SymbolicModelIR("neuron", (x,), (w, b), sympy.sin(w * x + b))
    theta = np.array([1.0, 0.1])
    xs = np.array([[-1.0], [0.3], [2.0]])
    exact = classical_ntk(model, theta, xs).value
    gradient_norm = np.sqrt(np.diagonal(exact))
    options = MCOptions(samples=2**18, seed=11)
    estimate = estimate_kernel(model, operator, theta, xs, None, options)
    # f = sin(v·θ) with |v| <= sqrt(5) here: |op f − ∇f| <= eps, where eps comes
    # from the third-derivative bound |v|³ and E‖z‖² (see test_estimators).
    v_cubed = np.sqrt(5.0) ** 3
    if isinstance(operator, Smoothing):
        eps = v_cubed * 2 * operator.sigma**2 / 2
    else:
        eps = 2 * v_cubed * (2 * operator.scale**2 / 2) / 6
    bias = eps * (gradient_norm[:, None] + gradient_norm[None, :]) + eps**2
    assert np.all(np.abs(estimate.value - exact) <= bias + 4 * estimate.stderr)
