"""Rendering of spec errors whose source line is very long."""

from nntk_lang.errors import MAX_SHOWN_COLUMNS, Span, SpecError


def _render(line: str, column: int) -> list[str]:
    span = Span("spec.nntk", 1, column, 1, column + 1)
    error = SpecError("bad token", span, hint="fix it", source=line + "\n")
    return error.render().splitlines()


def test_long_line_is_clipped_around_caret():
    line = "a" * 5000 + "X" + "b" * 5000
    column = 5001
    _, shown, caret, _ = _render(line, column)
    assert len(shown) <= MAX_SHOWN_COLUMNS + 2 + 6
    assert shown.startswith("  ...")
    assert shown.endswith("...")
    assert shown[caret.index("^")] == "X"


def test_long_line_start_keeps_its_beginning():
    line = "let a = " + "1" * 300
    _, shown, caret, _ = _render(line, 9)
    assert shown.startswith("  let a = 1")
    assert shown.endswith("...")
    assert caret == "  " + " " * 8 + "^"


def test_short_line_is_unchanged():
    line = "let a = 1 +* 2"
    _, shown, caret, _ = _render(line, 12)
    assert shown == "  " + line
    assert caret.index("^") == 2 + 11
