"""Models and operators shared by the analytic backend tests."""

from __future__ import annotations

import sympy

from nntk_lang.ir.operators import Nonlocal, Operator, Smoothing
from nntk_lang.ir.primitives import BUILTINS
from nntk_lang.ir.symbolic import SymbolicModelIR, real_symbol

THETA = real_symbol("theta")
X, W, B, A = (real_symbol(name) for name in ("x", "w", "b", "a"))
HALF = sympy.Rational(1, 2)


def scalar_function(name: str, t: sympy.Expr = THETA) -> sympy.Expr:
    """Return a group A function of `t` by its reference name."""
    build = {name: b.build for name, b in BUILTINS.items()}
    if name == "sawtooth":
        return t - sympy.floor(t + HALF)
    if name == "relu2":
        return build["relu"](t) ** 2
    if name == "cubic":
        return t**3 - t
    if name == "clip":
        return build["clip"](t, sympy.Integer(-1), HALF)
    if name == "maxmin":
        return build["max"](t, sympy.Rational(-1, 5)) + build["min"](2 * t, HALF)
    return build[name](t)


def scalar_model(name: str) -> SymbolicModelIR:
    """Return g(θ) with one parameter θ and no inputs."""
    return SymbolicModelIR(name, (), (THETA,), scalar_function(name))


def neuron_model(activation: str) -> SymbolicModelIR:
    """Return f(x; w, b) = act(w x + b)."""
    return SymbolicModelIR(
        f"neuron_{activation}", (X,), (W, B), scalar_function(activation, W * X + B)
    )


def reference_operator(record: dict) -> Operator:
    """Return the operator of a reference record."""
    params = record["params"]
    if record["operator"].endswith("S"):
        return Smoothing(params["sigma"])
    normalize = "density" if "density" in record["operator"] else "consistent"
    if record["kernel"] == "ball":
        return Nonlocal("ball", params["delta"], normalize)
    return Nonlocal("gaussian", params["gamma"], normalize)
