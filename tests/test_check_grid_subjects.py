"""`compare` and `plot` evaluate on a grid of numbers, so they need one input."""

import pytest

from nntk_lang.check import check
from nntk_lang.errors import SpecErrors
from nntk_lang.syntax.parser import parse

TWO_INPUTS = """\
model m(x1, x2; w, b) = sign(w*x1 + x2 + b)
model net = mlp(in=2, width=4)
point p = {w: 1.0, b: 0.1}
point q = init(net, seed=0)
kernel K = nntk(m, smoothing(0.3), at=p)
target y(a, b) = a*b
"""


@pytest.mark.parametrize(
    "statement, name",
    [
        ("plot K on linspace(-1, 1, 6)", "K"),
        ("compare K on linspace(-1, 1, 6)", "K"),
        ("plot y on [1, 2]", "y"),
        ("compare ntk(net, at=q) on [0.1, 0.2]", "net"),
        ("compare grad(m, smoothing(0.3), at=p, x2=0.1) on [0.1, 0.2]", "m"),
    ],
)
def test_grid_subject_with_two_inputs_is_rejected(statement, name):
    with pytest.raises(SpecErrors) as caught:
        check(parse(TWO_INPUTS + statement + "\n", "spec.nntk"))
    (error,) = caught.value.errors
    assert error.span.line == 7
    assert f"`{name}` takes 2" in error.message
    assert "eval K(" in error.hint


def test_grid_subject_with_one_input_is_accepted():
    text = """\
model m(x; w) = sign(w*x)
point p = {w: 1.0}
kernel K = nntk(m, smoothing(0.3), at=p)
target y(x) = x
plot K on [0.1, 0.2]
plot y on [0.1, 0.2]
compare K on [0.1, 0.2]
"""
    check(parse(text, "spec.nntk"))
