"""Tests of `nntk_lang.signatures` and of the reference that documents it."""

from __future__ import annotations

from pathlib import Path

from nntk_lang.check import check
from nntk_lang.errors import SpecErrors
from nntk_lang.ir.primitives import BUILTINS
from nntk_lang.resources import stdlib_dir
from nntk_lang.signatures import (
    KERNEL_CALL,
    OPTIONS,
    REQUIRED,
    SIGNATURES,
    Kind,
    reference_tables,
)
from nntk_lang.syntax.parser import parse

LANGUAGE_DOC = Path(__file__).resolve().parents[1] / "docs" / "language.md"


def test_reference_tables_match_signatures():
    text = LANGUAGE_DOC.read_text(encoding="utf-8")
    begin, end = "<!-- signatures:begin -->", "<!-- signatures:end -->"
    generated = text[text.index(begin) + len(begin) : text.index(end)].strip()
    assert generated == reference_tables()


def test_reference_lists_every_builtin():
    text = LANGUAGE_DOC.read_text(encoding="utf-8")
    for name in BUILTINS:
        assert f"`{name}" in text, name


def test_reference_lists_every_stdlib_name():
    text = LANGUAGE_DOC.read_text(encoding="utf-8")
    for module in ("activations", "targets"):
        source = (stdlib_dir() / f"{module}.nntk").read_text()
        for statement in parse(source, module).statements:
            if hasattr(statement, "name"):
                assert f"`{statement.name.name}" in text, statement.name.name


def test_choice_parameters_have_a_valid_default():
    signatures = (*SIGNATURES.values(), KERNEL_CALL, *OPTIONS.values())
    for signature in signatures:
        for param in signature.params:
            if param.kind is Kind.CHOICE:
                assert param.default in param.choices, (signature.name, param.name)
            else:
                assert param.choices == (), (signature.name, param.name)


def test_positional_parameters_come_first():
    for signature in (*SIGNATURES.values(), KERNEL_CALL):
        flags = [param.positional for param in signature.params]
        assert flags == sorted(flags, reverse=True), signature.name


def test_required_marker():
    assert SIGNATURES["linspace"].keyword("n").default is REQUIRED
    assert SIGNATURES["linspace"].keyword("n").required
    assert not SIGNATURES["nntk"].keyword("at").required


def test_defaults_pass_the_checker():
    # Writing every default explicitly must be accepted, so that the table and
    # the checker agree on what is valid.
    for name in ("compare", "plot", "fit", "train"):
        options = ", ".join(
            f"{param.name}={_spelled(param.default)}"
            for param in OPTIONS[name].params
            if param.default is not None
        )
        check(parse(_statement(name) + f" with {options}", "spec.nntk"))


def _spelled(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _statement(name: str) -> str:
    prelude = (
        "model m(x; w) = w*x\noperator G = smoothing(0.1)\npoint p = {w: 1}\n"
        "kernel K = ntk(m, at=p)\ntarget y(x) = x\n"
    )
    forms = {
        "compare": "compare K on [0, 1]",
        "plot": "plot K on [0, 1]",
        "fit": "fit y with K on [0, 1] test [0.5]",
        "train": "train m on y at p using G",
    }
    return prelude + forms[name]


def test_request_defaults_pass_the_checker():
    for name in ("nntk", "grad"):
        signature = SIGNATURES[name]
        options = ", ".join(
            f"{param.name}={_spelled(param.default)}"
            for param in signature.params
            if not param.required and param.default is not None
        )
        text = (
            "model m(x; w) = w*x\noperator G = smoothing(0.1)\npoint p = {w: 1}\n"
            f"eval grad(m, G, at=p, x=0, {options})"
            if name == "grad"
            else "model m(x; w) = w*x\noperator G = smoothing(0.1)\n"
            f"point p = {{w: 1}}\nkernel K = nntk(m, G, at=p, {options})"
        )
        try:
            check(parse(text, "spec.nntk"))
        except SpecErrors as error:
            raise AssertionError(error.render()) from None
