"""Rewriting REPL input into spec text, and mapping error positions back."""

from __future__ import annotations

import pytest

from nntk_lang.errors import Span
from nntk_lang.repl_input import (
    EVAL_PREFIX,
    is_blank,
    map_span,
    needs_more_input,
    prepare_input,
)
from nntk_lang.repl_keys import submits


@pytest.mark.parametrize(
    "text",
    [
        "kernel K = nntk(neuron,",
        "let a = (1 +",
        "grid xs = [0.1,",
        "point p = {w: 1.0",
        "let a = 1 +",
        "let a = 1 -",
        "let a = 2 *",
        "let a = 2 /",
        "let a = 2 ^",
        "let a =",
        "eval f(",
        "let a = 1 +   # the rest follows",
        "let a = f(1,\n  2,",
    ],
)
def test_needs_more_input_unfinished(text: str) -> None:
    assert needs_more_input(text)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "let a = 1",
        "K(0.3, -0.5)",
        "let a = f(1,\n  2)",
        "let a = 1  # a comment with ( and +",
        'import "odd(name.nntk"',
        ":load file(",
        "let a = (1))",
        "eval -1",
    ],
)
def test_needs_more_input_complete(text: str) -> None:
    assert not needs_more_input(text)


def test_bare_expression_gets_eval() -> None:
    prepared = prepare_input("K(0.3, -0.5)")
    assert prepared.text == "eval K(0.3, -0.5)"
    assert prepared.bare_expression


def test_statement_keeps_its_text() -> None:
    for text in [
        "let a = 1",
        "eval 1 + 1",
        "  kernel K = ntk(m, at=p)",
        "plot K on xs",
    ]:
        prepared = prepare_input(text)
        assert prepared.text == text
        assert not prepared.bare_expression


def test_keyword_prefix_name_is_expression() -> None:
    assert prepare_input("kernel_x + 1").text == "eval kernel_x + 1"


def test_each_statement_checked() -> None:
    prepared = prepare_input("let a = 1; a + 1;b\nlet c = (a +\n  1)\nc")
    expected = "let a = 1; eval a + 1;eval b\nlet c = (a +\n  1)\neval c"
    assert prepared.text == expected


def test_continued_line_joined() -> None:
    prepared = prepare_input("let a = 1 +  # more\n  2")
    assert prepared.text == "let a = 1 +           2"
    assert len(prepared.text) == len(prepared.original)


def test_newline_inside_brackets_kept() -> None:
    assert prepare_input("let a = (1 +\n 2)").text == "let a = (1 +\n 2)"


def test_comment_only_input() -> None:
    assert prepare_input("# nothing here").text == "# nothing here"
    assert is_blank("# nothing here\n   \n")
    assert not is_blank("# note\n1")


def test_position_after_inserted_eval() -> None:
    prepared = prepare_input("let a = 1; zz + 1")
    column = prepared.text.index("zz") + 1
    assert prepared.original_position(1, column) == (1, 12)


def test_position_on_inserted_eval() -> None:
    # An error on the inserted keyword points at the expression it precedes.
    prepared = prepare_input("  1 +* 2")
    assert prepared.original_position(1, 3) == (1, 3)


def test_position_on_joined_line() -> None:
    prepared = prepare_input("a +  # c\n  zz")
    column = prepared.text.index("zz") + 1
    assert prepared.original_position(1, column) == (2, 3)


def test_map_span_counts_session_lines() -> None:
    prepared = prepare_input("let b = 1\nb +\n  zz")
    line = 10
    local_column = prepared.text.split("\n")[1].index("zz") + 1
    span = Span("<repl>", line + 1, local_column, line + 1, local_column + 2)
    mapped = map_span(span, prepared, first_line=line)
    assert (mapped.line, mapped.column) == (line + 2, 3)
    assert (mapped.end_line, mapped.end_column) == (line + 2, 5)
    assert mapped.file == "<repl>"


def test_offsets_map_back() -> None:
    prepared = prepare_input("x; y")
    assert prepared.text == "eval x; eval y"
    for original_offset, char in enumerate(prepared.original):
        if char.strip():
            offset = prepared.text.index(char)
            assert prepared.original_offset(offset) == original_offset
    assert prepared.original_offset(0) == 0
    assert prepared.original_offset(len(EVAL_PREFIX) - 1) == 0


def test_enter_submits_complete_input() -> None:
    assert submits("1 + 1")
    assert not submits("let a = (1 +")
    assert not submits("let a = (1 +\n  2,")
    assert submits("let a = (1 +\n")
    assert submits("let a = (1 +\n   ")
