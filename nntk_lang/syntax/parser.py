"""Parse `.nntk` text into the syntax tree of `nntk_lang.syntax.ast`.

The grammar lives in `grammar/nntk.lark`. Lark builds the LALR tables once per
process; `parse` converts lark's unexpected-input errors into `SpecError`s whose
hint lists, in words, what the parser expected.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import lru_cache
from typing import Any

from lark import Lark, Token, Transformer, Tree, v_args
from lark.exceptions import (
    UnexpectedCharacters,
    UnexpectedEOF,
    UnexpectedInput,
    UnexpectedToken,
    VisitError,
)
from lark.lexer import PatternStr
from lark.tree import Meta

from nntk_lang.errors import Span, SpecError
from nntk_lang.resources import grammar_path
from nntk_lang.syntax import ast
from nntk_lang.syntax.keywords import STATEMENT_KEYWORDS

_OPEN_BRACKETS = frozenset({"LPAR", "LSQB", "LBRACE"})
_CLOSE_BRACKETS = frozenset({"RPAR", "RSQB", "RBRACE"})


class _Separators:
    """Post-lexer that turns newlines and top-level `;` into statement separators.

    Newlines inside brackets are dropped, `;` inside brackets stays a `_SEMI`, and
    a separator is emitted only after a token that can end a statement, so blank
    lines, comment-only lines and leading separators vanish.
    """

    always_accept = ("_NL", "_SEMI")

    def process(self, stream: Iterator[Token]) -> Iterator[Token]:
        depth = 0
        after_separator = True
        for token in stream:
            is_newline = token.type == "_NL"
            if is_newline or (token.type == "_SEMI" and depth == 0):
                if depth == 0 and not after_separator:
                    after_separator = True
                    yield Token.new_borrow_pos("_SEP", token.value, token)
                continue
            if token.type in _OPEN_BRACKETS:
                depth += 1
            elif token.type in _CLOSE_BRACKETS:
                depth = max(depth - 1, 0)
            after_separator = False
            yield token


@lru_cache(maxsize=1)
def _lark() -> Lark:
    return Lark(
        grammar_path().read_text(encoding="utf-8"),
        parser="lalr",
        lexer="contextual",
        postlex=_Separators(),
        propagate_positions=True,
        maybe_placeholders=True,
    )


def parse(text: str, path: str) -> ast.Program:
    """Parse the text of one `.nntk` file.

    Args:
        text: the source text.
        path: the file name that spans and error messages carry.

    Returns:
        The program with its statements in source order.

    Raises:
        SpecError: the text is not valid nntk syntax.
    """
    parser = _lark()
    try:
        tree = parser.parse(text)
    except UnexpectedInput as error:
        raise _syntax_error(error, text, path) from None
    _check_nesting(tree, text, path)
    try:
        statements = _ToAst(path, text).transform(tree)
    except VisitError as error:
        if isinstance(error.orig_exc, SpecError):
            raise error.orig_exc from None
        raise
    return ast.Program(path=path, source=text, statements=tuple(statements))


def is_incomplete(text: str) -> bool:
    """Return whether `text` is a valid start that only lacks its end.

    A REPL can read another line when this is true. With the final newline
    included, only an unclosed bracket leaves a statement open, because a
    newline outside brackets ends the statement.
    """
    try:
        _lark().parse(text)
    except (UnexpectedToken, UnexpectedEOF) as error:
        return error.token.type == "$END"
    except UnexpectedInput:
        return False
    return False


MAX_NESTING = 200
"""Cap on the depth of the syntax tree, so that recursive passes stay in bounds."""


def _check_nesting(tree: Tree, text: str, path: str) -> None:
    """Raise a SpecError if the tree is deeper than `MAX_NESTING`."""
    depth: dict[int, int] = {}
    # iter_subtrees yields children before their parents, without recursion.
    for subtree in tree.iter_subtrees():
        children = (depth[id(c)] for c in subtree.children if isinstance(c, Tree))
        depth[id(subtree)] = 1 + max(children, default=0)
        if depth[id(subtree)] > MAX_NESTING:
            raise SpecError(
                f"expression nested too deeply (more than {MAX_NESTING} levels)",
                _span_of(path, subtree.meta),
                hint="a chain of more than "
                f"{MAX_NESTING} `+`, `*` or other operators also counts as nesting; "
                "split it into several `let` or `def` statements",
                source=text,
            )


# Building the syntax tree ---------------------------------------------------


def _span_of(path: str, item: Token | Meta) -> Span:
    """Return the span of a lark Token or of a tree node's meta."""
    return Span(
        file=path,
        line=item.line,
        column=item.column,
        end_line=item.end_line,
        end_column=item.end_column,
        start_pos=item.start_pos,
        end_pos=item.end_pos,
    )


def _unescape(quoted: str) -> str:
    escapes = {"n": "\n", "t": "\t"}
    return re.sub(r"\\(.)", lambda match: escapes.get(match[1], match[1]), quoted[1:-1])


def _present(items: list[Any] | None) -> list[Any]:
    """Return the children of an optional `[rule]`, which lark gives as None."""
    return [] if items is None else list(items)


@v_args(meta=True)
class _ToAst(Transformer):
    """Build `ast` nodes; each method is named after a grammar alias or rule."""

    def __init__(self, path: str, source: str) -> None:
        super().__init__()
        self.path = path
        self.source = source

    def _span(self, item: Token | Meta) -> Span:
        return _span_of(self.path, item)

    # Lists and helpers

    def start(self, meta: Meta, children: list[Any]) -> list[ast.Statement]:
        return children

    def idents(self, meta: Meta, children: list[Any]) -> list[Any]:
        return [child for child in children if child is not None]

    items = entries = names = idents

    def ident(self, meta: Meta, children: list[Any]) -> ast.Ident:
        return ast.Ident(self._span(meta), str(children[0]))

    def name(self, meta: Meta, children: list[Any]) -> ast.Name:
        return ast.Name(self._span(meta), str(children[0]))

    def keyword(self, meta: Meta, children: list[Any]) -> ast.Keyword:
        name, value = children
        return ast.Keyword(self._span(meta), str(name), value)

    def options(self, meta: Meta, children: list[Any]) -> tuple[ast.Keyword, ...]:
        return tuple(child for child in children if child is not None)

    def entry(self, meta: Meta, children: list[Any]) -> ast.PointEntry:
        name, value = children
        return ast.PointEntry(self._span(meta), str(name), value)

    def arguments(
        self, meta: Meta, children: list[Any]
    ) -> tuple[tuple[ast.Expr, ...], tuple[ast.Keyword, ...]]:
        args: list[ast.Expr] = []
        kwargs: list[ast.Keyword] = []
        for child in children:
            if child is None:
                continue
            if isinstance(child, ast.Keyword):
                kwargs.append(child)
            elif kwargs:
                raise SpecError(
                    f"positional argument after keyword argument `{kwargs[-1].name}=`",
                    child.span,
                    hint="put positional arguments before keyword arguments",
                    source=self.source,
                )
            else:
                args.append(child)
        return tuple(args), tuple(kwargs)

    # Expressions

    def number(self, meta: Meta, children: list[Any]) -> ast.Number:
        (token,) = children
        return ast.Number(self._span(token), float(token), str(token))

    def string(self, meta: Meta, children: list[Any]) -> ast.String:
        (token,) = children
        return ast.String(self._span(token), _unescape(str(token)))

    def variable(self, meta: Meta, children: list[Any]) -> ast.Name:
        (token,) = children
        return ast.Name(self._span(token), str(token))

    def call(self, meta: Meta, children: list[Any]) -> ast.Call:
        func, arguments = children
        args, kwargs = arguments if arguments is not None else ((), ())
        return ast.Call(self._span(meta), str(func), self._span(func), args, kwargs)

    def list(self, meta: Meta, children: list[Any]) -> ast.ListLit:
        return ast.ListLit(self._span(meta), tuple(_present(children[0])))

    def point(self, meta: Meta, children: list[Any]) -> ast.PointLit:
        return ast.PointLit(self._span(meta), tuple(_present(children[0])))

    def _binary(self, meta: Meta, children: list[Any], op: str) -> ast.BinOp:
        left, right = children
        return ast.BinOp(self._span(meta), op, left, right)

    def add(self, meta: Meta, children: list[Any]) -> ast.BinOp:
        return self._binary(meta, children, "+")

    def sub(self, meta: Meta, children: list[Any]) -> ast.BinOp:
        return self._binary(meta, children, "-")

    def mul(self, meta: Meta, children: list[Any]) -> ast.BinOp:
        return self._binary(meta, children, "*")

    def div(self, meta: Meta, children: list[Any]) -> ast.BinOp:
        return self._binary(meta, children, "/")

    def pow(self, meta: Meta, children: list[Any]) -> ast.BinOp:
        return self._binary(meta, children, "^")

    def neg(self, meta: Meta, children: list[Any]) -> ast.UnaryOp:
        return ast.UnaryOp(self._span(meta), "-", children[0])

    def pos(self, meta: Meta, children: list[Any]) -> ast.UnaryOp:
        return ast.UnaryOp(self._span(meta), "+", children[0])

    def _comparison(self, meta: Meta, children: list[Any], op: str) -> ast.Comparison:
        left, right = children
        return ast.Comparison(self._span(meta), op, left, right)

    def lt(self, meta: Meta, children: list[Any]) -> ast.Comparison:
        return self._comparison(meta, children, "<")

    def le(self, meta: Meta, children: list[Any]) -> ast.Comparison:
        return self._comparison(meta, children, "<=")

    def gt(self, meta: Meta, children: list[Any]) -> ast.Comparison:
        return self._comparison(meta, children, ">")

    def ge(self, meta: Meta, children: list[Any]) -> ast.Comparison:
        return self._comparison(meta, children, ">=")

    def eq(self, meta: Meta, children: list[Any]) -> ast.Comparison:
        return self._comparison(meta, children, "==")

    def ne(self, meta: Meta, children: list[Any]) -> ast.Comparison:
        return self._comparison(meta, children, "!=")

    # Statements

    def import_module(self, meta: Meta, children: list[Any]) -> ast.Import:
        return ast.Import(self._span(meta), module=str(children[0]), path=None)

    def import_path(self, meta: Meta, children: list[Any]) -> ast.Import:
        return ast.Import(self._span(meta), module=None, path=_unescape(children[0]))

    def let(self, meta: Meta, children: list[Any]) -> ast.Let:
        name, value = children
        return ast.Let(self._span(meta), name, value)

    def definition(self, meta: Meta, children: list[Any]) -> ast.Def:
        name, params, body = children
        return ast.Def(self._span(meta), name, tuple(_present(params)), body)

    def target(self, meta: Meta, children: list[Any]) -> ast.Target:
        name, inputs, body = children
        return ast.Target(self._span(meta), name, tuple(_present(inputs)), body)

    def symbolic_model(self, meta: Meta, children: list[Any]) -> ast.SymbolicModel:
        name, inputs, params, body = children
        return ast.SymbolicModel(
            self._span(meta),
            name,
            tuple(_present(inputs)),
            tuple(_present(params)),
            body,
        )

    def network_model(self, meta: Meta, children: list[Any]) -> ast.NetworkModel:
        name, value = children
        return ast.NetworkModel(self._span(meta), name, value)

    def operator_decl(self, meta: Meta, children: list[Any]) -> ast.OperatorDecl:
        name, value = children
        return ast.OperatorDecl(self._span(meta), name, value)

    def point_decl(self, meta: Meta, children: list[Any]) -> ast.PointDecl:
        name, value = children
        return ast.PointDecl(self._span(meta), name, value)

    def grid_decl(self, meta: Meta, children: list[Any]) -> ast.GridDecl:
        name, value = children
        return ast.GridDecl(self._span(meta), name, value)

    def kernel_decl(self, meta: Meta, children: list[Any]) -> ast.KernelDecl:
        name, value = children
        return ast.KernelDecl(self._span(meta), name, value)

    def eval(self, meta: Meta, children: list[Any]) -> ast.Eval:
        return ast.Eval(self._span(meta), children[0])

    def compare(self, meta: Meta, children: list[Any]) -> ast.Compare:
        subject, grid, options = children
        return ast.Compare(self._span(meta), subject, grid, options or ())

    def fit(self, meta: Meta, children: list[Any]) -> ast.Fit:
        target, kernels, train, test, options = children
        return ast.Fit(
            self._span(meta), target, tuple(kernels), train, test, options or ()
        )

    def train(self, meta: Meta, children: list[Any]) -> ast.Train:
        model, target, point, operator, options = children
        return ast.Train(
            self._span(meta), model, target, point, operator, options or ()
        )

    def plot(self, meta: Meta, children: list[Any]) -> ast.Plot:
        subject, grid, options = children
        return ast.Plot(self._span(meta), subject, grid, options or ())


# Syntax errors ----------------------------------------------------------------

_TERMINAL_WORDS = {"NAME": "a name", "NUMBER": "a number", "STRING": "a string"}
# A newline, a top-level `;` and the end of the file all end a statement.
_STATEMENT_ENDS = frozenset({"_SEP", "_NL", "_SEMI", "$END"})
_EXPRESSION_STARTS = frozenset(
    {"NAME", "NUMBER", "STRING", "LPAR", "LSQB", "LBRACE", "MINUS", "PLUS"}
)


def _terminal_text(name: str) -> str | None:
    """Return the literal text of an anonymous terminal, or None for a pattern."""
    for terminal in _lark().terminals:
        if terminal.name == name and isinstance(terminal.pattern, PatternStr):
            return terminal.pattern.value
    return None


def describe_expected(expected: set[str]) -> str:
    """Describe a set of lark terminal names in words, for an error hint."""
    remaining = set(expected)
    words: list[str] = []
    keywords = {_terminal_text(name): name for name in remaining}
    statement_keywords = [word for word in STATEMENT_KEYWORDS if word in keywords]
    if len(statement_keywords) > 3:
        remaining -= {keywords[word] for word in statement_keywords}
        listed = ", ".join(f"`{word}`" for word in statement_keywords)
        words.append(f"a statement ({listed})")
    if {"NAME", "NUMBER"} <= remaining:
        remaining -= _EXPRESSION_STARTS
        words.append("an expression")
    operators = {name for name in remaining if _is_operator(name)}
    if len(operators) > 3:
        remaining -= operators
        words.append("an operator")
    ends = remaining & _STATEMENT_ENDS
    remaining -= _STATEMENT_ENDS
    for name in sorted(remaining, key=_expected_order):
        text = _terminal_text(name)
        words.append(f"`{text}`" if text is not None else _TERMINAL_WORDS[name])
    if ends and not statement_keywords:
        words.append("the end of the statement")
    if len(words) == 1:
        return words[0]
    return ", ".join(words[:-1]) + " or " + words[-1]


def _is_operator(name: str) -> bool:
    text = _terminal_text(name)
    return text in {"+", "-", "*", "/", "^", "<", "<=", ">", ">=", "==", "!="}


def _expected_order(name: str) -> tuple[int, str]:
    # Punctuation first, then keywords and kinds of token.
    text = _terminal_text(name)
    return (0 if text is not None and not text.isalpha() else 1, text or name)


def _describe_token(token: Token) -> str:
    if token.type == "$END":
        return "end of file"
    if token.type == "_SEP":
        return "end of line" if token.value != ";" else "`;`"
    if token.type == "NAME":
        return f"name `{token.value}`"
    if token.type == "NUMBER":
        return f"number `{token.value}`"
    return f"`{token.value}`"


def _accepted(error: UnexpectedToken | UnexpectedEOF) -> set[str]:
    # LALR merges states, so `expected` may list terminals that cannot follow here;
    # the interactive parser tries each one and keeps those that the parser accepts.
    interactive = getattr(error, "interactive_parser", None)
    if interactive is not None:
        return set(interactive.accepts())
    return set(error.expected)


def _end_position(text: str) -> tuple[int, int, int]:
    """Return line, column and offset just after the last non-blank character."""
    position = len(text.rstrip())
    line_start = text.rfind("\n", 0, position) + 1
    return text.count("\n", 0, position) + 1, position - line_start + 1, position


def _syntax_error(error: UnexpectedInput, text: str, path: str) -> SpecError:
    line, column = error.line, error.column
    if isinstance(error, UnexpectedCharacters):
        char = text[error.pos_in_stream]
        # Control and invisible characters are shown by their code point.
        shown = char if char.isprintable() else f"U+{ord(char):04X}"
        message = f"unexpected character `{shown}`"
        if char == '"':
            message = "unterminated string"
            hint = 'close the string with `"` on the same line'
        else:
            hint = f"expected {describe_expected(set(error.allowed or ()))}"
        position = error.pos_in_stream
    elif isinstance(error, (UnexpectedToken, UnexpectedEOF)):
        token = error.token
        if token.type == "$END" or not isinstance(line, int) or line < 1:
            line, column, position = _end_position(text)
        else:
            position = token.start_pos or 0
        message = f"unexpected {_describe_token(token)}"
        hint = f"expected {describe_expected(_accepted(error))}"
    else:
        raise error
    span = Span(path, line, column, line, column + 1, position, position + 1)
    return SpecError(message, span, hint=hint, source=text)
