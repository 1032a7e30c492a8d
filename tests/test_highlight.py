"""The Pygments lexer: token types, no error tokens, and the plugin entry point."""

from __future__ import annotations

import sys
from pathlib import Path

import pygments.lexers
import pytest
from pygments.token import (
    Comment,
    Error,
    Generic,
    Keyword,
    Name,
    Number,
    Operator,
    Punctuation,
    String,
)

from nntk_lang.highlight import KEYWORDS, NntkLexer, NntkReplLexer
from nntk_lang.ir.primitives import BUILTINS

REPO_ROOT = Path(__file__).resolve().parents[1]

# Every statement form of the language, as a spec file would hold them.
LANGUAGE_TOUR = """\
import activations                      # stdlib, then the spec's folder
import "local/helpers.nntk"
let gamma = 0.5
let tiny = 1e-3; let big = 2.5E+4; let half = .5
def sawtooth(t) = t - floor(t + 1/2)
target saw(x) = sawtooth(3*x)
model neuron(x; w, b) = sign(w*x + b)
model net = mlp(in=1, width=512, depth=1, act=relu, out=1, param=ntk)
operator G = nonlocal(gaussian(gamma))
operator B = nonlocal(ball(0.2), normalize=density)
operator S = smoothing(sigma=0.1)
operator A = attention(gaussian(0.5), score=output, tau=1.0)
point p0 = {w: 1.0, b: -0.1}
point q0 = init(net, seed=0)
point q1 = load("weights.npz")
grid xs = linspace(-1, 1, 101)
grid few = [0.1, 0.2, 0.3]
kernel K  = nntk(neuron, G, at=p0)
kernel K0 = ntk(neuron, at=p0)
kernel Ki = nntk(net, S, width=inf)
eval grad(neuron, S, at=p0, x=0.3, method=mc)
eval K(0.3, -0.5)
eval where(x >= 0, x ^ 2, -x) * pi != e
compare K on xs with samples=100000, seed=0
fit saw with K, K0 on linspace(-1, 1, 32) test linspace(-1, 1, 201)
train net on saw at q0 using G with steps=2000, lr=0.05, samples=256, seed=0
plot K on xs
"""

# The lines a package needs in its pyproject.toml to register the lexer.
ENTRY_POINTS = """\
[pygments.lexers]
nntk = nntk_lang.highlight:NntkLexer
"""


def tokens_of(text: str) -> list[tuple[object, str]]:
    return [
        (kind, value) for kind, value in NntkLexer().get_tokens(text) if value.strip()
    ]


def kind_of(text: str, word: str) -> object:
    """Return the token type of the first token equal to `word`."""
    return next(kind for kind, value in tokens_of(text) if value == word)


def spec_files() -> list[Path]:
    folders = [REPO_ROOT / "examples", REPO_ROOT / "stdlib"]
    return sorted(path for folder in folders for path in folder.glob("*.nntk"))


def test_keywords_are_keywords() -> None:
    for keyword in ["eval", "compare", "on", "with", "test", "at", "using", "fit"]:
        assert kind_of(LANGUAGE_TOUR, keyword) in Keyword, keyword
    assert set(KEYWORDS) >= {"import", "let", "def", "plot", "train"}


def test_declarations_name_their_subject() -> None:
    assert kind_of("let gamma = 0.5", "let") in Keyword.Declaration
    assert kind_of("let gamma = 0.5", "gamma") in Name.Variable
    assert kind_of("kernel K = nntk(m, G)", "K") in Name.Function
    assert kind_of("import activations", "activations") in Name.Namespace


def test_builtins_are_builtins() -> None:
    for name in BUILTINS:
        assert kind_of(f"eval {name}(x)", name) in Name.Builtin, name
    assert kind_of("operator G = nonlocal(gaussian(1))", "gaussian") in Name.Builtin
    assert kind_of("eval pi * e", "pi") in Name.Constant


def test_keyword_prefix_is_a_name() -> None:
    assert kind_of("eval kernel_x + letter", "kernel_x") is Name
    assert kind_of("eval kernel_x + letter", "letter") is Name


def test_numbers() -> None:
    for text in ["0.5", "1e-3", "2.5E+4", ".5", "3."]:
        assert tokens_of(f"let a = {text}")[-1] == (Number.Float, text)
    assert tokens_of("let a = 42")[-1] == (Number.Integer, "42")


def test_strings_comments_operators() -> None:
    assert kind_of('import "a b.nntk"', '"a b.nntk"') in String
    assert kind_of("let a = 1 # note ( [", "# note ( [") in Comment
    for operator in ["+", "-", "*", "/", "^", "=", ">=", "!="]:
        assert kind_of(f"eval a {operator} b", operator) in Operator, operator
    for mark in ["(", ")", "[", "]", "{", "}", ",", ";"]:
        assert kind_of(LANGUAGE_TOUR, mark) in Punctuation, mark


def test_keyword_arguments_and_entries() -> None:
    assert kind_of("kernel K = nntk(net, S, width=inf)", "width") in Name.Attribute
    assert kind_of("point p = {w: 1.0}", "w") in Name.Attribute
    assert kind_of("eval a == b", "a") is Name


def test_tokens_cover_the_text() -> None:
    text = "".join(value for _, value in NntkLexer().get_tokens(LANGUAGE_TOUR))
    assert text == LANGUAGE_TOUR


def test_no_error_tokens_in_tour() -> None:
    errors = [value for kind, value in tokens_of(LANGUAGE_TOUR) if kind in Error]
    assert errors == []


@pytest.mark.parametrize("path", spec_files(), ids=lambda path: path.name)
def test_no_error_tokens_in_spec_files(path: Path) -> None:
    errors = [value for kind, value in tokens_of(path.read_text()) if kind in Error]
    assert errors == []


def test_unknown_character_is_error() -> None:
    assert kind_of("let a = 1 $ 2", "$") in Error


def test_repl_lexer_commands() -> None:
    tokens = [
        (kind, value)
        for kind, value in NntkReplLexer().get_tokens(":load my spec.nntk\n1 + 1")
        if value.strip()
    ]
    assert tokens[0] == (Generic.Prompt, ":load")
    assert tokens[1][0] in String
    assert tokens[2] == (Number.Integer, "1")


def test_plugin_entry_point(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # An installed distribution with these entry points, as pip would leave it.
    dist_info = tmp_path / "nntk_plugin_check-0.0.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: nntk-plugin-check\nVersion: 0.0\n"
    )
    (dist_info / "entry_points.txt").write_text(ENTRY_POINTS)
    monkeypatch.syspath_prepend(str(tmp_path))
    assert str(tmp_path) in sys.path
    assert type(pygments.lexers.get_lexer_by_name("nntk")) is NntkLexer
    assert type(pygments.lexers.get_lexer_for_filename("study.nntk")) is NntkLexer
