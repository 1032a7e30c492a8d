"""Characters the lexer rejects are shown so that a reader can see them."""

import pytest

from nntk_lang.errors import SpecError
from nntk_lang.syntax.parser import parse


@pytest.mark.parametrize(
    "char, shown",
    [("\x01", "U+0001"), ("\u200b", "U+200B"), ("±", "±"), ("$", "$")],
)
def test_unexpected_character_is_visible(char, shown):
    with pytest.raises(SpecError) as caught:
        parse(f"let a = 1{char}\n", "spec.nntk")
    assert caught.value.message == f"unexpected character `{shown}`"
    assert caught.value.span.column == len("let a = 1") + 1
