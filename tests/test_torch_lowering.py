"""The sympy-to-torch lowering, run against sympy's own numeric evaluation."""

from __future__ import annotations

import numpy as np
import pytest
import sympy
import torch

from nntk_lang.ir.primitives import BUILTINS, Relu, Step
from nntk_lang.ir.symbolic import SymbolicModelIR, real_symbol
from nntk_lang.montecarlo.torch_lowering import compile_model

x = real_symbol("x")
w = real_symbol("w")
b = real_symbol("b")

# Each case is an expression in the input x and the parameters w, b, with the
# range of the random points. Shifts such as w + 3 keep log, sqrt and negative
# powers defined on (-2, 2).
CASES = {
    "sqrt2_constant": (sympy.sqrt(2) * w + sympy.pi - sympy.E * b, (-2, 2)),
    "rational_float": (sympy.Rational(3, 7) * w + sympy.Float(0.25) * x + 5, (-2, 2)),
    "constant_only": (sympy.sqrt(2) + sympy.Rational(1, 3), (-2, 2)),
    "add_mul": (w * x + b - 3 * w * b * x, (-2, 2)),
    "integer_power": (w**3 + (x + b) ** 2, (-2, 2)),
    "negative_power": (1 / (w**2 + 1) + (x + 3) ** -3, (-2, 2)),
    "half_integer_power": (
        (w + 3) ** sympy.Rational(3, 2) + (b + 3) ** -sympy.S.Half,
        (-2, 2),
    ),
    "real_power": (
        (w + 3) ** sympy.Float(0.7) + (b + 3) ** sympy.Rational(1, 3),
        (-2, 2),
    ),
    "symbolic_exponent": ((w + 3) ** (b + 1), (-2, 2)),
    "step": (Step(w * x + b), (-2, 2)),
    "relu": (Relu(w * x + b), (-2, 2)),
    "sign": (sympy.sign(w * x + b), (-2, 2)),
    "abs": (sympy.Abs(w - x), (-2, 2)),
    "floor_ceiling": (sympy.floor(3 * w) + sympy.ceiling(2 * b * x), (-2, 2)),
    "round": (BUILTINS["round"].build(3 * w * x), (-2, 2)),
    "max_zero": (sympy.Max(0, w * x + b), (-2, 2)),
    "min_max_nary": (sympy.Min(w, b, x) + sympy.Max(w, b, x, 0), (-2, 2)),
    "clip": (BUILTINS["clip"].build(w * x, -b, b), (0.1, 2)),
    "heaviside_half": (sympy.Heaviside(w * x + b), (-2, 2)),
    "heaviside_h0": (sympy.Heaviside(w - x, 0) + 2 * sympy.Heaviside(b, 1), (-2, 2)),
    "exp_log": (sympy.exp(-w * x) + sympy.log(b + 3), (-2, 2)),
    "sqrt": (sympy.sqrt(w + 3) * x, (-2, 2)),
    "trig": (sympy.sin(w * x + b) * sympy.cos(b) + sympy.tan(w / 3), (-2, 2)),
    "tanh": (sympy.tanh(w * x - b), (-2, 2)),
    "erf_erfc": (sympy.erf(w * x) + sympy.erfc(b - x), (-2, 2)),
    "piecewise_lt_ge": (
        sympy.Piecewise((w**2, x < b), (sympy.sin(w), x >= b + 1), (b, True)),
        (-2, 2),
    ),
    "piecewise_le_gt": (
        sympy.Piecewise((w, x <= 0), (2 * b, w > 0), (-x, True)),
        (-2, 2),
    ),
    "piecewise_and_or": (
        sympy.Piecewise(
            (1, sympy.And(w > 0, b < 0)), (2, sympy.Or(x > 1, w < -1)), (3, True)
        ),
        (-2, 2),
    ),
    "piecewise_eq_ne": (
        sympy.Piecewise(
            (w, sympy.Eq(sympy.floor(x), 0)), (b, sympy.Ne(x, 5)), (0, True)
        ),
        (-2, 2),
    ),
    "where": (BUILTINS["where"].build(w * x > b, sympy.exp(b), -w), (-2, 2)),
}


def _model(expr: sympy.Expr) -> SymbolicModelIR:
    return SymbolicModelIR("m", (x,), (w, b), expr)


def _sympy_values(expr: sympy.Expr, xs: np.ndarray, params: np.ndarray) -> np.ndarray:
    values = np.empty((len(xs), len(params)))
    for n, x_value in enumerate(xs):
        for m, (w_value, b_value) in enumerate(params):
            point = {
                x: sympy.Float(x_value),
                w: sympy.Float(w_value),
                b: sympy.Float(b_value),
            }
            values[n, m] = float(expr.subs(point).evalf(30))
    return values


@pytest.mark.parametrize("case", sorted(CASES))
def test_lowering_matches_sympy(case: str, generator: torch.Generator):
    expr, (low, high) = CASES[case]
    xs = low + (high - low) * torch.rand(4, 1, generator=generator)
    params = low + (high - low) * torch.rand(5, 2, generator=generator)
    lowered = compile_model(_model(expr))(xs, params)
    expected = _sympy_values(expr, xs[:, 0].numpy(), params.numpy())
    assert lowered.shape == (4, 5)
    np.testing.assert_allclose(lowered.numpy(), expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("case", sorted(CASES))
def test_lowering_in_float32(case: str, generator: torch.Generator):
    expr, (low, high) = CASES[case]
    xs = low + (high - low) * torch.rand(3, 1, generator=generator)
    params = low + (high - low) * torch.rand(4, 2, generator=generator)
    model = compile_model(_model(expr))
    single = model(xs, params.float())
    assert single.dtype == torch.float32
    double = model(xs, params)
    # Jumps may flip where float32 rounds an argument across them.
    close = torch.isclose(single.double(), double, rtol=1e-4, atol=1e-4)
    assert close.double().mean() >= 0.9


KINKS = {
    "sign": (BUILTINS["sign"].build(w), 0.0),
    "step": (BUILTINS["step"].build(w), 0.0),
    "relu": (BUILTINS["relu"].build(w), 0.0),
    "abs": (BUILTINS["abs"].build(w), 0.0),
    "heaviside": (sympy.Heaviside(w), 0.5),
    "heaviside_h0_zero": (sympy.Heaviside(w, 0), 0.0),
    "round_half": (BUILTINS["round"].build(w - sympy.S.Half), 0.0),
}


@pytest.mark.parametrize("case", sorted(KINKS))
def test_lowering_values_at_kinks(case: str):
    expr, expected = KINKS[case]
    lowered = compile_model(_model(expr))(torch.zeros(1, 1), torch.zeros(1, 2))
    assert float(expr.subs(w, 0)) == expected
    assert lowered.item() == expected


def test_lowering_broadcasts_constants():
    model = compile_model(_model(sympy.sqrt(2) + 0 * w))
    values = model(torch.zeros(3, 1), torch.zeros(7, 2))
    assert values.shape == (3, 7)
    assert torch.all(values == 2**0.5)


def test_lowering_without_inputs():
    model = compile_model(SymbolicModelIR("g", (), (w,), sympy.sin(w)))
    params = torch.tensor([[0.3], [1.1]])
    values = model(torch.zeros(1, 0), params)
    np.testing.assert_allclose(values.numpy(), np.sin(params.numpy().T), rtol=1e-15)


def test_lowering_is_differentiable(generator: torch.Generator):
    expr = sympy.tanh(w * x + b) + sympy.Max(0, w) * sympy.sqrt(b**2 + 1)
    model = compile_model(_model(expr))
    xs = torch.tensor([[0.4], [-1.3]])
    theta = torch.rand(2, generator=generator) + 0.1

    def outputs(point: torch.Tensor) -> torch.Tensor:
        return model(xs, point[None, :])[:, 0]

    jacobian = torch.func.jacrev(outputs)(theta)
    gradient = [sympy.diff(expr, symbol) for symbol in (w, b)]
    for n, x_value in enumerate(xs[:, 0].tolist()):
        point = {x: x_value, w: theta[0].item(), b: theta[1].item()}
        expected = [float(g.subs(point).evalf(30)) for g in gradient]
        np.testing.assert_allclose(jacobian[n].numpy(), expected, rtol=1e-12)


def test_lowering_rejects_unknown_class():
    expr = sympy.gamma(w)
    with pytest.raises(NotImplementedError, match="`gamma`"):
        compile_model(_model(expr))


def test_lowering_rejects_unknown_symbol():
    stray = real_symbol("stray")
    with pytest.raises(ValueError, match="`stray`"):
        compile_model(_model(w + stray))


def test_model_rejects_wrong_shapes():
    model = compile_model(_model(w * x + b))
    with pytest.raises(ValueError, match=r"`params` must have shape \[M, 2\]"):
        model(torch.zeros(2, 1), torch.zeros(3, 3))
    with pytest.raises(ValueError, match=r"`inputs` must have shape \[N, 1\]"):
        model(torch.zeros(2, 2), torch.zeros(3, 2))
