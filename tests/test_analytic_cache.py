"""The on-disk cache of closed forms."""

from __future__ import annotations

import json

import numpy as np
import pytest
import sympy
from analytic_models import X, neuron_model

from nntk_lang.analytic import BUILD_STATS, closed_form_gradient
from nntk_lang.analytic.cache import CacheFormatError, default_cache_dir, read_srepr
from nntk_lang.analytic.special import GaussianKernelTail
from nntk_lang.ir.operators import Nonlocal, Smoothing


def _value(closed) -> np.ndarray:
    return closed.evaluate(np.array([0.8, -0.1]), np.array([[0.3], [-1.2]]))


def test_second_call_hits_cache(tmp_path):
    model, op = neuron_model("relu"), Nonlocal("gaussian", 0.5)
    built, hits = BUILD_STATS["built"], BUILD_STATS["cache_hits"]
    first = closed_form_gradient(model, op, cache_dir=tmp_path)
    assert BUILD_STATS["built"] == built + 1
    second = closed_form_gradient(model, op, cache_dir=tmp_path)
    assert BUILD_STATS["built"] == built + 1
    assert BUILD_STATS["cache_hits"] == hits + 1
    assert second.info["cached"] is True
    assert second.exprs == first.exprs
    np.testing.assert_array_equal(_value(second), _value(first))


def test_operators_get_separate_entries(tmp_path):
    model = neuron_model("sign")
    closed_form_gradient(model, Smoothing(0.5), cache_dir=tmp_path)
    closed_form_gradient(model, Smoothing(0.25), cache_dir=tmp_path)
    assert len(list(tmp_path.glob("*.json"))) == 2
    assert not list(tmp_path.glob(".tmp-*"))


def test_entry_is_srepr_json(tmp_path):
    closed_form_gradient(neuron_model("relu"), Smoothing(0.5), cache_dir=tmp_path)
    (entry,) = tmp_path.glob("*.json")
    data = json.loads(entry.read_text())
    assert len(data["exprs"]) == 2
    assert data["exprs"] == [sympy.srepr(e) for e in closed_exprs(tmp_path)]


def closed_exprs(cache_dir) -> tuple[sympy.Expr, ...]:
    return closed_form_gradient(
        neuron_model("relu"), Smoothing(0.5), cache_dir=cache_dir
    ).exprs


def test_corrupt_entry_is_rebuilt(tmp_path):
    model, op = neuron_model("relu"), Smoothing(0.5)
    first = closed_form_gradient(model, op, cache_dir=tmp_path)
    (entry,) = tmp_path.glob("*.json")
    entry.write_text(json.dumps({"exprs": ["__import__('os').system('true')"] * 2}))
    built = BUILD_STATS["built"]
    second = closed_form_gradient(model, op, cache_dir=tmp_path)
    assert BUILD_STATS["built"] == built + 1
    assert second.exprs == first.exprs


def test_reader_rejects_names_outside_whitelist():
    bad = [
        "__import__('os')",
        "Symbol('x').__class__",
        "eval('1')",
        "Function('f')(Symbol('x'))",
        "Symbol('x', evaluate=False)",
        "[Integer(1)]",
        "Integer(" + "9" * 500 + ")",
        "Pow(Integer(10), Integer(1000000000))",
    ]
    for text in bad:
        with pytest.raises(CacheFormatError):
            read_srepr(text)


def test_reader_round_trips_closed_form_nodes():
    t = sympy.Symbol("t", real=True)
    expr = (
        sympy.Rational(-3, 7) * GaussianKernelTail(2, X / sympy.sqrt(X**2 + 1))
        + sympy.Float("0.1") * sympy.erfc(t) * sympy.pi
        + sympy.Piecewise((0, sympy.Eq(X, 0)), (1 / X, True))
    )
    assert read_srepr(sympy.srepr(expr)) == expr


def test_default_dir_follows_xdg(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert default_cache_dir() == tmp_path / "nntk"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert default_cache_dir().parts[-2:] == (".cache", "nntk")
