"""Tests of `nntk_lang.ir.lower`: exact sympy expressions, operators, grids, points."""

from __future__ import annotations

import math

import numpy as np
import pytest
import sympy

from nntk_lang.check import check
from nntk_lang.errors import ResourceLimitError
from nntk_lang.ir.lower import Scope
from nntk_lang.ir.operators import Attention, Nonlocal, Smoothing
from nntk_lang.ir.primitives import Relu, Step
from nntk_lang.ir.symbolic import SymbolicModelIR, TargetIR, real_symbol
from nntk_lang.signatures import KERNEL_CALL, OPTIONS, SIGNATURES
from nntk_lang.syntax import ast
from nntk_lang.syntax.parser import parse

x, t, w, b = (real_symbol(name) for name in ("x", "t", "w", "b"))
df, dist = real_symbol("df"), real_symbol("dist")

DECLARABLE = (
    ast.Let,
    ast.Def,
    ast.Target,
    ast.SymbolicModel,
    ast.OperatorDecl,
    ast.GridDecl,
)


def scope_of(text: str) -> Scope:
    """Check `text`, then declare its statements in order, as the runtime does."""
    checked = check(parse(text, "spec.nntk"))
    scope = Scope()
    for item in checked.statements:
        statement = item.statement
        is_point_literal = isinstance(statement, ast.PointDecl) and isinstance(
            statement.value, ast.PointLit
        )
        if isinstance(statement, DECLARABLE) or is_point_literal:
            scope.declare(statement)
    return scope


def expression_of(scope: Scope, text: str, **symbols: sympy.Symbol) -> sympy.Expr:
    (statement,) = parse(f"eval {text}", "expr.nntk").statements
    return scope.expression(statement.value, symbols)


# Exact values


def test_let_decimal_is_exact_rational():
    scope = scope_of("let a = 0.1\nlet c = 2.5e-3\nlet d = .5")
    assert scope.get("a") == sympy.Rational(1, 10)
    assert scope.get("c") == sympy.Rational(1, 400)
    assert scope.get("d") == sympy.Rational(1, 2)


def test_let_arithmetic_is_exact():
    scope = scope_of("let a = 0.1 + 0.2\nlet c = a * 10 / 3")
    assert scope.get("a") == sympy.Rational(3, 10)
    assert scope.get("c") == 1


def test_precedence_in_lowering():
    scope = Scope()
    assert expression_of(scope, "-2^2") == -4
    assert expression_of(scope, "2^-1") == sympy.Rational(1, 2)
    assert expression_of(scope, "2^3^2") == 512
    assert expression_of(scope, "1 - 2 - 3") == -4
    assert expression_of(scope, "8 / 2 / 2") == 2


def test_constants():
    scope = Scope()
    assert expression_of(scope, "pi / 2") == sympy.pi / 2
    assert expression_of(scope, "log(e)") == 1


def test_number_of_constant_expression():
    scope = scope_of("let g = 0.5")
    (statement,) = parse("eval 2*g + sqrt(2)", "f").statements
    assert scope.number(statement.value) == pytest.approx(1 + math.sqrt(2), abs=1e-15)


def test_number_of_inf():
    scope = Scope()
    (statement,) = parse("eval inf", "f").statements
    assert scope.number(statement.value) == math.inf


# Builtins, defs and targets


def test_builtins_lower_to_primitives():
    scope = Scope()
    assert expression_of(scope, "relu(x) + step(x)", x=x) == Relu(x) + Step(x)
    assert expression_of(scope, "round(x)", x=x) == sympy.floor(
        x + sympy.Rational(1, 2)
    )
    assert expression_of(scope, "clip(x, -1, 1)", x=x) == sympy.Min(sympy.Max(x, -1), 1)


def test_where_lowers_to_piecewise():
    scope = Scope()
    expr = expression_of(scope, "where(x <= 0, -x, x^2)", x=x)
    assert expr == sympy.Piecewise((-x, x <= 0), (x**2, True))
    assert expr.subs(x, -3) == 3
    assert expr.subs(x, 3) == 9


def test_def_is_inlined():
    scope = scope_of("def saw(t) = t - floor(t + 1/2)\ndef twice(u) = saw(2*u)")
    expr = expression_of(scope, "twice(x)", x=x)
    assert expr == 2 * x - sympy.floor(2 * x + sympy.Rational(1, 2))


def test_def_body_does_not_see_caller_names():
    # `t` inside `f` is f's own argument, not the caller's symbol `t`.
    scope = scope_of("def f(t) = 2*t")
    assert expression_of(scope, "f(x) + t", x=x, t=t) == 2 * x + t


def test_target_ir():
    scope = scope_of("def saw(t) = t - floor(t + 1/2)\ntarget y(x) = saw(3*x)")
    target = scope.target("y")
    assert isinstance(target, TargetIR)
    assert target.inputs == (x,)
    assert target.expr == 3 * x - sympy.floor(3 * x + sympy.Rational(1, 2))


def test_target_is_callable_in_expressions():
    scope = scope_of("target y(x) = x^2")
    assert expression_of(scope, "y(3)") == 9


def test_symbolic_model_ir():
    scope = scope_of("let c = 0.5\nmodel m(x; w, b) = sign(w*x + b) * c")
    model = scope.model("m")
    assert isinstance(model, SymbolicModelIR)
    assert model.inputs == (x,)
    assert model.params == (w, b)
    assert model.expr == sympy.sign(w * x + b) / 2
    assert model.expr.free_symbols == {x, w, b}


def test_inlining_cap():
    defs = ["def f0(t) = sin(t) + cos(t)"]
    defs += [f"def f{i}(t) = f{i - 1}(t) + f{i - 1}(2*t)" for i in range(1, 20)]
    scope = Scope()
    for statement in parse("\n".join(defs), "f").statements:
        scope.declare(statement)
    with pytest.raises(ResourceLimitError, match="beyond 100000 nodes"):
        expression_of(scope, "f19(x)", x=x)


def test_exact_power_cap():
    with pytest.raises(ResourceLimitError, match="too large to compute exactly"):
        expression_of(Scope(), "7^(10^7)")


# Standard library activations against independent formulas

ACTIVATION_CASES = [
    ("sigmoid", lambda v: 1 / (1 + math.exp(-v))),
    ("softplus", lambda v: math.log1p(math.exp(v))),
    ("silu", lambda v: v / (1 + math.exp(-v))),
    ("gelu", lambda v: 0.5 * v * math.erfc(-v / math.sqrt(2))),
    ("softsign", lambda v: v / (1 + abs(v))),
    ("leaky_relu", lambda v: v if v > 0 else 0.01 * v),
    ("relu6", lambda v: min(max(v, 0.0), 6.0)),
    ("hard_tanh", lambda v: min(max(v, -1.0), 1.0)),
    ("hard_sigmoid", lambda v: min(max((v + 1) / 2, 0.0), 1.0)),
    ("elu", lambda v: v if v > 0 else math.expm1(v)),
    ("heaviside", lambda v: 1.0 if v > 0 else 0.0),
    ("staircase", math.floor),
    ("quantize", lambda v: math.floor(v + 0.5)),
    ("sawtooth", lambda v: v - round(v) if abs(v - round(v)) != 0.5 else -0.5),
    ("square", lambda v: 1.0 if (v % 1.0) < 0.5 else -1.0),
    ("triangle", lambda v: 1 - 4 * abs(v - math.floor(v + 0.5))),
]
ACTIVATION_POINTS = [-7.3, -2.5, -1.0, -0.75, -0.5, -0.2, 0.0, 0.2, 0.5, 0.9, 1.25, 6.5]


@pytest.mark.parametrize("name, reference", ACTIVATION_CASES)
def test_stdlib_activation_values(name, reference):
    scope = scope_of("import activations")
    expr = expression_of(scope, f"{name}(t)", t=t)
    for point in ACTIVATION_POINTS:
        exact = sympy.Rational(str(point))
        value = float(expr.subs(t, exact))
        assert value == pytest.approx(reference(point), rel=1e-12, abs=1e-12), point


def test_stdlib_sawtooth_is_exact():
    scope = scope_of("import activations")
    expr = expression_of(scope, "sawtooth(t)", t=t)
    assert expr.subs(t, sympy.Rational(7, 10)) == sympy.Rational(-3, 10)
    assert expr.subs(t, sympy.Rational(1, 2)) == sympy.Rational(-1, 2)


# Operators


def test_nonlocal_operator_defaults():
    scope = scope_of("let g = 0.5\noperator G = nonlocal(gaussian(g))")
    assert scope.operator("G") == Nonlocal("gaussian", 0.5, "consistent", "all")
    assert SIGNATURES["nonlocal"].keyword("normalize").default == "consistent"


def test_nonlocal_operator_options():
    scope = scope_of(
        "operator B = nonlocal(ball(0.25), normalize=density, blocks=layer)"
    )
    assert scope.operator("B") == Nonlocal("ball", 0.25, "density", "layer")


def test_smoothing_operator_by_keyword_and_position():
    scope = scope_of(
        "operator S = smoothing(sigma=0.1)\noperator T = smoothing(0.2, blocks=neuron)"
    )
    assert scope.operator("S") == Smoothing(0.1, "all")
    assert scope.operator("T") == Smoothing(0.2, "neuron")


def test_attention_operator_named_score():
    scope = scope_of("operator A = attention(gaussian(0.5), score=output, tau=1.0)")
    assert scope.operator("A") == Attention(Nonlocal("gaussian", 0.5), "output", 1.0)


def test_attention_operator_expression_score():
    scope = scope_of("operator A = attention(ball(1), score=-df^2 / dist)")
    operator = scope.operator("A")
    assert operator.base == Nonlocal("ball", 1.0)
    assert operator.score == -(df**2) / dist
    assert operator.tau == SIGNATURES["attention"].keyword("tau").default


def test_operator_value_of_inline_call():
    (statement,) = parse("eval smoothing(0.3)", "f").statements
    assert Scope().operator_value(statement.value) == Smoothing(0.3)


# Grids and points


def test_grid_from_linspace():
    scope = scope_of("grid xs = linspace(-1, 1, 5)")
    np.testing.assert_array_equal(scope.grid("xs"), [-1.0, -0.5, 0.0, 0.5, 1.0])


def test_grid_from_list_and_name():
    scope = scope_of("let h = 0.5\ngrid xs = [0, h, 2*h]\ngrid ys = xs")
    np.testing.assert_array_equal(scope.grid("ys"), [0.0, 0.5, 1.0])
    assert scope.grid("xs").dtype == np.float64


def test_point_literal():
    scope = scope_of("let s = 0.1\npoint p = {w: 1.0, b: -s}")
    assert scope.point("p") == {"w": 1.0, "b": -0.1}


# Scope behaviour


def test_bind_and_get():
    scope = Scope()
    scope.bind("K", {"kernel": "object"})
    assert "K" in scope
    assert scope.get("K") == {"kernel": "object"}


def test_get_unknown_name():
    with pytest.raises(KeyError, match="`nope` has no value"):
        Scope().get("nope")


def test_lookup_of_wrong_type():
    scope = scope_of("let a = 1")
    with pytest.raises(TypeError, match="`a` is not a symbolic model"):
        scope.model("a")


def test_declare_rejects_runtime_values():
    (statement,) = parse("kernel K = ntk(m, at=p)", "f").statements
    with pytest.raises(TypeError, match="call Scope.bind"):
        Scope().declare(statement)


def test_defaults_are_readable():
    assert SIGNATURES["grad"].keyword("samples").default == 10_000
    assert SIGNATURES["nntk"].keyword("sampler").choices == (
        "iid",
        "antithetic",
        "sobol",
    )
    assert OPTIONS["train"].keyword("steps").default == 1000
    assert KERNEL_CALL.keyword("method").default == "auto"
    with pytest.raises(KeyError, match="`grad` has no parameter `nope`"):
        SIGNATURES["grad"].keyword("nope")


def test_every_request_takes_samples_seed_and_method():
    for name in ("nntk", "ntk", "grad"):
        names = SIGNATURES[name].names
        assert {"samples", "seed", "method"} <= set(names), name


@pytest.mark.parametrize("text", ["1.0000001^(10^12)", "sqrt(3)^(10^9)", "0.5^-(10^8)"])
def test_exact_power_cap_other_bases(text: str):
    with pytest.raises(ResourceLimitError, match="too large to compute exactly"):
        expression_of(Scope(), text)


def test_small_exact_powers_are_computed():
    assert expression_of(Scope(), "sqrt(2)^10") == 32
    assert expression_of(Scope(), "0.5^-10") == 1024


def test_activation_of_builtin_and_def():
    scope = scope_of("import activations")
    relu = scope.activation("relu")
    assert relu(x) == Relu(x)
    sigmoid = scope.activation("sigmoid")
    assert float(sigmoid(sympy.Rational(3, 10))) == pytest.approx(
        1 / (1 + math.exp(-0.3)), rel=1e-14
    )


def test_shadowing_keeps_earlier_bodies():
    scope = scope_of("import activations\ndef sawtooth(t) = 2*t")
    assert expression_of(scope, "sawtooth(0.25)") == sympy.Rational(1, 2)
    assert expression_of(scope, "triangle(0.25)") == 0


TARGET_CASES = [
    ("sine", lambda v: math.sin(math.pi * v)),
    ("gaussian_bump", lambda v: math.exp(-8 * v * v)),
    ("absolute", abs),
    ("tent", lambda v: max(1 - abs(2 * v), 0.0)),
    ("sign_target", lambda v: float((v > 0) - (v < 0))),
    ("step_target", lambda v: 1.0 if v > 0 else 0.0),
    ("stairs", lambda v: math.floor(4 * v) / 4),
    ("saw3", lambda v: 3 * v - math.floor(3 * v + 0.5)),
    ("square2", lambda v: 1.0 if (2 * v) % 1.0 < 0.5 else -1.0),
]
TARGET_POINTS = [-1.0, -0.55, -0.3, -0.1, 0.0, 0.05, 0.2, 0.45, 0.7, 1.0]


@pytest.mark.parametrize("name, reference", TARGET_CASES)
def test_stdlib_target_values(name, reference):
    target = scope_of("import targets").target(name)
    (symbol,) = target.inputs
    for point in TARGET_POINTS:
        value = float(target.expr.subs(symbol, sympy.Rational(str(point))))
        assert value == pytest.approx(reference(point), rel=1e-12, abs=1e-12), point


# Arguments of requests

REQUESTS = """\
model m(x; w, b) = relu(w*x + b)
operator G = nonlocal(gaussian(0.5))
point p = {w: 1.0, b: 0.1}
"""


def call_of(text: str) -> ast.Call:
    (statement,) = parse(f"eval {text}", "call.nntk").statements
    return statement.value


def test_arguments_with_defaults():
    scope = scope_of(REQUESTS)
    values = scope.arguments(
        call_of("nntk(m, G, at=p, samples=1e3)"), SIGNATURES["nntk"]
    )
    assert values["model"] == scope.model("m")
    assert values["op"] == Nonlocal("gaussian", 0.5)
    assert values["at"] == {"w": 1.0, "b": 0.1}
    assert values["samples"] == 1000
    assert isinstance(values["samples"], int)
    assert values["seed"] == SIGNATURES["nntk"].keyword("seed").default
    assert values["baseline"] is True
    assert values["width"] is None


def test_arguments_inline_values_and_inputs():
    scope = scope_of(REQUESTS)
    call = call_of("grad(m, smoothing(0.2), at={w: 2, b: 0}, x=0.5, baseline=false)")
    values = scope.arguments(call, SIGNATURES["grad"])
    assert values["op"] == Smoothing(0.2)
    assert values["at"] == {"w": 2.0, "b": 0.0}
    assert values["x"] == 0.5
    assert values["baseline"] is False


def test_arguments_width_inf_and_init():
    scope = Scope()
    scope.bind("net", "network object")
    values = scope.arguments(
        call_of("nntk(net, smoothing(0.1), width=inf)"), SIGNATURES["nntk"]
    )
    assert values["width"] == math.inf
    values = scope.arguments(
        call_of("ntk(net, at=init(net, seed=2))"), SIGNATURES["ntk"]
    )
    assert isinstance(values["at"], ast.Call)
    assert values["at"].func == "init"


def test_arguments_of_kernel_call():
    values = Scope().arguments(call_of("K([0.1, 0.2], 0.3, method=mc)"), KERNEL_CALL)
    assert values["x1"] == (0.1, 0.2)
    assert values["x2"] == 0.3
    assert values["method"] == "mc"


def test_arguments_of_mlp():
    values = Scope().arguments(
        call_of("mlp(width=64, act=sigmoid, bias=false)"), SIGNATURES["mlp"]
    )
    assert values["width"] == 64
    assert values["act"] == "sigmoid"
    assert values["bias"] is False
    assert values["depth"] == SIGNATURES["mlp"].keyword("depth").default


def test_statement_options():
    (compare,) = parse("compare K on xs with seed=4, estimator=psd", "f").statements
    values = Scope().options(compare.options, OPTIONS["compare"])
    assert values["seed"] == 4
    assert values["estimator"] == "psd"
    assert values["samples"] == OPTIONS["compare"].keyword("samples").default


def test_statement_options_empty():
    (plot,) = parse("plot K on xs", "f").statements
    assert Scope().options(plot.options, OPTIONS["plot"]) == OPTIONS["plot"].defaults()
