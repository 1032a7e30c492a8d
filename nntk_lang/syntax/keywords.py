"""Statement keywords of the language, shared by the parser, the lexer and the REPL."""

STATEMENT_KEYWORDS: tuple[str, ...] = (
    "import",
    "let",
    "def",
    "target",
    "model",
    "operator",
    "point",
    "grid",
    "kernel",
    "eval",
    "compare",
    "fit",
    "train",
    "plot",
)
"""Keywords that open a statement. Any other input line is an expression."""
