"""A Pygments lexer for the nntk language, used by the REPL and by other tools.

Installed as a Pygments plugin (entry point group `pygments.lexers`), it lets
`pygmentize` and documentation tools highlight `*.nntk` files by the alias `nntk`.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pygments.lexer import RegexLexer, bygroups, inherit, words
from pygments.token import (
    Comment,
    Generic,
    Keyword,
    Name,
    Number,
    Operator,
    Punctuation,
    String,
    Whitespace,
)

from nntk_lang.ir.primitives import BUILTINS, CONSTANTS
from nntk_lang.syntax.keywords import STATEMENT_KEYWORDS

CLAUSE_KEYWORDS: tuple[str, ...] = ("on", "with", "test", "at", "using")
"""Keywords inside `compare`, `fit`, `train` and `plot` statements."""

KEYWORDS: tuple[str, ...] = STATEMENT_KEYWORDS + CLAUSE_KEYWORDS

LANGUAGE_FUNCTIONS: tuple[str, ...] = (
    "nntk",
    "ntk",
    "grad",
    "nonlocal",
    "gaussian",
    "ball",
    "smoothing",
    "attention",
    "mlp",
    "init",
    "load",
    "linspace",
)
"""Calls that build kernels, operators, models, points and grids.

NOTE: taken from the language draft, not from the grammar. A call that the grammar
adds later is lexed as a plain name until it is listed here.
"""

CONSTANT_NAMES: tuple[str, ...] = tuple(CONSTANTS) + ("inf",)

_DECLARING_KEYWORDS = ("let", "def", "target", "model", "operator", "point", "grid")
_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
_EXPONENT = r"[eE][+-]?[0-9]+"


class NntkLexer(RegexLexer):
    """Lexer for `.nntk` specification files."""

    name = "nntk"
    aliases: ClassVar[list[str]] = ["nntk"]
    filenames: ClassVar[list[str]] = ["*.nntk"]
    mimetypes: ClassVar[list[str]] = ["text/x-nntk"]

    tokens: ClassVar[dict[str, list[Any]]] = {
        "root": [
            (r"\n", Whitespace),
            (r"[ \t\r\f]+", Whitespace),
            (r"#.*?$", Comment.Single),
            (
                rf"(import)([ \t]+)({_NAME})\b",
                bygroups(Keyword.Namespace, Whitespace, Name.Namespace),
            ),
            (
                rf"(kernel)([ \t]+)({_NAME})\b",
                bygroups(Keyword.Declaration, Whitespace, Name.Function),
            ),
            (
                rf"({'|'.join(_DECLARING_KEYWORDS)})([ \t]+)({_NAME})\b",
                bygroups(Keyword.Declaration, Whitespace, Name.Variable),
            ),
            (words(KEYWORDS, suffix=r"\b"), Keyword),
            (words(tuple(BUILTINS), suffix=r"\b"), Name.Builtin),
            (words(LANGUAGE_FUNCTIONS, suffix=r"\b"), Name.Builtin),
            (words(CONSTANT_NAMES, suffix=r"\b"), Name.Constant),
            # Keyword arguments (`at=p0`) and point entries (`{w: 1.0}`).
            (
                rf"({_NAME})([ \t]*)(=)(?!=)",
                bygroups(Name.Attribute, Whitespace, Operator),
            ),
            (
                rf"({_NAME})([ \t]*)(:)",
                bygroups(Name.Attribute, Whitespace, Punctuation),
            ),
            (_NAME, Name),
            (rf"([0-9]+\.[0-9]*|\.[0-9]+)({_EXPONENT})?", Number.Float),
            (rf"[0-9]+{_EXPONENT}", Number.Float),
            (r"[0-9]+", Number.Integer),
            (r'"(\\\\|\\"|[^"\\\n])*"', String.Double),
            (r"'(\\\\|\\'|[^'\\\n])*'", String.Single),
            (r"==|!=|<=|>=|[-+*/^<>=]", Operator),
            (r"[()\[\]{},;:]", Punctuation),
        ],
    }


class NntkReplLexer(NntkLexer):
    """The nntk lexer plus the REPL's `:command` lines."""

    name = "nntk REPL"
    aliases: ClassVar[list[str]] = ["nntk-repl"]
    filenames: ClassVar[list[str]] = []
    mimetypes: ClassVar[list[str]] = []

    tokens: ClassVar[dict[str, list[Any]]] = {
        "root": [
            (
                r"^([ \t]*)(:[A-Za-z]+)(.*?)$",
                bygroups(Whitespace, Generic.Prompt, String),
            ),
            inherit,
        ],
    }
