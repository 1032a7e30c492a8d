"""NoClosedForm: requests without a closed form fail with a readable reason."""

from __future__ import annotations

import pytest
import sympy
from analytic_models import A, B, W, X

from nntk_lang.analytic import closed_form_gradient
from nntk_lang.errors import NoClosedForm
from nntk_lang.ir.operators import Attention, Nonlocal, Smoothing
from nntk_lang.ir.primitives import Relu
from nntk_lang.ir.symbolic import SymbolicModelIR, real_symbol


def _model(expr: sympy.Expr, params=(W, B)) -> SymbolicModelIR:
    return SymbolicModelIR("m", (X,), params, expr)


def test_product_of_two_ridges_under_g():
    model = _model(sympy.sign(W * X + B) * sympy.sign(W - B))
    with pytest.raises(NoClosedForm, match="not a ridge function") as info:
        closed_form_gradient(model, Nonlocal("gaussian", 0.5), use_cache=False)
    assert "Monte Carlo is used instead" in info.value.reason


def test_neuron_with_output_weight_under_g():
    model = _model(A * Relu(W * X + B), params=(A, W, B))
    with pytest.raises(NoClosedForm, match="does not reduce to one dimension"):
        closed_form_gradient(model, Nonlocal("ball", 0.5), use_cache=False)


def test_non_separable_under_s():
    model = _model(sympy.sin(W * B))
    with pytest.raises(NoClosedForm, match="not separable"):
        closed_form_gradient(model, Smoothing(0.5), use_cache=False)


def test_unsupported_pieces_name_the_function():
    cases = [
        (sympy.erf(W * X + B), Nonlocal("gaussian", 0.5), "erf under a nonlocal G"),
        (Relu(W * X + B) ** 3, Nonlocal("gaussian", 0.5), "degree above 1"),
        (sympy.tanh(W * X + B), Smoothing(0.5), "`tanh` has no entry"),
        (sympy.sign(W + B) * Relu(W + B), Smoothing(0.5), "two non-polynomial"),
    ]
    for expr, op, reason in cases:
        with pytest.raises(NoClosedForm, match=reason):
            closed_form_gradient(_model(expr), op, use_cache=False)


def test_ball_beyond_three_dimensions():
    params = tuple(real_symbol(f"p{i}") for i in range(4))
    model = SymbolicModelIR("m", (), params, sympy.sign(sum(params)))
    with pytest.raises(NoClosedForm, match="d = 4"):
        closed_form_gradient(model, Nonlocal("ball", 0.5), use_cache=False)


def test_attention_has_no_closed_form():
    op = Attention(Nonlocal("gaussian", 0.5), "output", 1.0)
    with pytest.raises(NoClosedForm, match="attention weights"):
        closed_form_gradient(_model(sympy.sign(W * X + B)), op, use_cache=False)


def test_timeout_names_the_flag():
    model = _model(sympy.sign(W * X + B))
    with pytest.raises(NoClosedForm, match="--symbolic-timeout"):
        closed_form_gradient(model, Smoothing(0.5), timeout=1e-9, use_cache=False)


def test_alarm_interrupts_a_long_sympy_call(monkeypatch):
    # A step that would never return on its own stops at the alarm.
    import time

    from nntk_lang.analytic import builders

    def endless(*args, **kwargs):
        while True:
            time.sleep(0.01)

    monkeypatch.setattr(builders, "_smoothing_gradient", endless)
    model = _model(sympy.sin(W * X + B))
    start = time.monotonic()
    with pytest.raises(NoClosedForm, match="timed out after 0.2 s"):
        closed_form_gradient(model, Smoothing(0.5), timeout=0.2, use_cache=False)
    assert time.monotonic() - start < 5.0


def test_time_limit_keeps_caller_timer():
    import signal

    from nntk_lang.analytic.deadline import time_limit

    fired = []
    previous = signal.signal(signal.SIGALRM, lambda signum, frame: fired.append(1))
    try:
        signal.setitimer(signal.ITIMER_REAL, 30.0)
        with time_limit(5.0) as deadline:
            deadline.check()
        remaining = signal.getitimer(signal.ITIMER_REAL)[0]
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    assert 25.0 < remaining <= 30.0
    assert not fired


def test_periodic_sum_beyond_cap():
    import numpy as np

    from nntk_lang.analytic.special import MAX_PERIODIC_TERMS, PeriodicBallKernelPdf
    from nntk_lang.errors import ResourceLimitError

    width = np.array([2.0 * MAX_PERIODIC_TERMS])
    with pytest.raises(ResourceLimitError, match="use method=mc"):
        PeriodicBallKernelPdf.numpy(1, np.array([0.3]), width)
