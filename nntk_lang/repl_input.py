"""Turn what a user types at the REPL into spec text, and map errors back to it.

Spec files need `eval` before a bare expression and end a statement at every
newline outside brackets. The REPL accepts `K(0.3, -0.5)` on its own and lets a
line that ends with an operator continue on the next line. `prepare_input`
rewrites such input into valid spec text and keeps an offset map, so that an
error in the rewritten text points at the same character of what the user typed.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field, replace

from pygments.token import Comment, Keyword, Operator, Punctuation, Whitespace

from nntk_lang.errors import Span
from nntk_lang.highlight import STATEMENT_KEYWORDS, NntkLexer

EVAL_PREFIX = "eval "

_OPENING = "([{"
_CLOSING = ")]}"
_CONTINUING_OPERATORS = frozenset(["+", "-", "*", "/", "^", ",", "="])

_LEXER = NntkLexer(stripnl=False, ensurenl=False)


@dataclass(frozen=True)
class _Token:
    start: int
    kind: object
    text: str


def _significant_tokens(text: str) -> list[_Token]:
    # Comments and whitespace other than newlines never change a statement's shape.
    tokens = []
    for start, kind, value in _LEXER.get_tokens_unprocessed(text):
        if value == "\n":
            tokens.append(_Token(start, Whitespace, value))
        elif kind in Comment or kind in Whitespace:
            continue
        else:
            tokens.append(_Token(start, kind, value))
    return tokens


def _is_bracket(token: _Token, brackets: str) -> bool:
    return token.kind in Punctuation and token.text in brackets


def _continues(token: _Token) -> bool:
    if token.kind in Operator and token.text in _CONTINUING_OPERATORS:
        return True
    return token.kind in Punctuation and token.text in _OPENING + ","


def needs_more_input(text: str) -> bool:
    """Tell whether `text` is an unfinished statement that continues on the next line.

    It is unfinished while a bracket is open or when its last token, ignoring
    comments, is one of `+ - * / ^ , =` or an opening bracket.
    """
    if text.lstrip().startswith(":"):
        return False
    depth = 0
    last: _Token | None = None
    for token in _significant_tokens(text):
        if token.text == "\n":
            continue
        if _is_bracket(token, _OPENING):
            depth += 1
        elif _is_bracket(token, _CLOSING):
            depth -= 1
        last = token
    if depth > 0:
        return True
    return last is not None and _continues(last)


@dataclass
class PreparedInput:
    """Spec text built from REPL input, with a map back to the input's offsets.

    Attributes:
        original: the text the user typed.
        text: the spec text to execute.
        bare_expression: True when an `eval` was inserted, i.e. the input held a
            bare expression whose value the REPL prints.
    """

    original: str
    text: str = ""
    bare_expression: bool = False
    # Sorted starts of the pieces of `text`, and the input offset each maps to.
    _starts: list[int] = field(default_factory=list)
    _origins: list[int] = field(default_factory=list)
    _inserted: list[bool] = field(default_factory=list)

    def _append(self, piece: str, origin: int, inserted: bool) -> None:
        self._starts.append(len(self.text))
        self._origins.append(origin)
        self._inserted.append(inserted)
        self.text += piece

    def original_offset(self, offset: int) -> int:
        """Map an offset in `text` to the offset of the same character in `original`."""
        index = bisect.bisect_right(self._starts, offset) - 1
        if index < 0:
            return 0
        if self._inserted[index]:
            return self._origins[index]
        return self._origins[index] + offset - self._starts[index]

    def original_position(self, line: int, column: int) -> tuple[int, int]:
        """Map a 1-based line and column of `text` to those of `original`."""
        offset = self.original_offset(_offset_of(self.text, line, column))
        before = self.original[:offset]
        original_line = before.count("\n") + 1
        return original_line, offset - (before.rfind("\n") + 1) + 1


def _offset_of(text: str, line: int, column: int) -> int:
    lines = text.split("\n")
    line = min(max(line, 1), len(lines))
    offset = sum(len(previous) + 1 for previous in lines[: line - 1])
    return offset + min(max(column - 1, 0), len(lines[line - 1]))


def _statement_starts(tokens: list[_Token]) -> list[int]:
    # Indices of tokens that open a statement: the first one, and each one after a
    # `;` or a newline outside brackets, unless the line before ends with an
    # operator that continues it.
    starts: list[int] = []
    depth = 0
    expect_start = True
    previous: _Token | None = None
    for index, token in enumerate(tokens):
        if token.text == "\n":
            if depth <= 0 and (previous is None or not _continues(previous)):
                expect_start = True
            continue
        if expect_start and not (token.kind in Punctuation and token.text == ";"):
            starts.append(index)
            expect_start = False
        if _is_bracket(token, _OPENING):
            depth += 1
        elif _is_bracket(token, _CLOSING):
            depth -= 1
        elif depth <= 0 and token.kind in Punctuation and token.text == ";":
            expect_start = True
        previous = token
    return starts


def _joined_newlines(text: str, tokens: list[_Token]) -> set[int]:
    # Offsets of newlines outside brackets that follow a continuing operator; the
    # parser would end the statement there, so they become spaces.
    joined: set[int] = set()
    depth = 0
    previous: _Token | None = None
    for token in tokens:
        if token.text == "\n":
            if depth <= 0 and previous is not None and _continues(previous):
                joined.add(token.start)
            continue
        if _is_bracket(token, _OPENING):
            depth += 1
        elif _is_bracket(token, _CLOSING):
            depth -= 1
        previous = token
    return joined


def _comment_spans(text: str) -> list[tuple[int, int]]:
    return [
        (start, start + len(value))
        for start, kind, value in _LEXER.get_tokens_unprocessed(text)
        if kind in Comment
    ]


def prepare_input(original: str) -> PreparedInput:
    """Rewrite REPL input into spec text: `eval` before bare expressions, joined lines.

    A newline joined to the line before becomes a space, and a comment on that
    line becomes spaces, so every input character keeps its offset in `text`.
    """
    tokens = _significant_tokens(original)
    eval_at = {
        tokens[index].start
        for index in _statement_starts(tokens)
        if not _opens_statement(tokens[index])
    }
    joined = _joined_newlines(original, tokens)
    blanked = [
        span
        for span in _comment_spans(original)
        if any(span[0] < newline <= span[1] for newline in joined)
    ]
    prepared = PreparedInput(original, bare_expression=bool(eval_at))
    cursor = 0
    for offset in sorted(eval_at | joined | {start for start, _ in blanked}):
        prepared._append(original[cursor:offset], cursor, inserted=False)
        cursor = offset
        if offset in eval_at:
            prepared._append(EVAL_PREFIX, offset, inserted=True)
        elif offset in joined:
            prepared._append(" ", offset, inserted=False)
            cursor = offset + 1
        else:
            end = next(stop for start, stop in blanked if start == offset)
            prepared._append(" " * (end - offset), offset, inserted=False)
            cursor = end
    prepared._append(original[cursor:], cursor, inserted=False)
    return prepared


def _opens_statement(token: _Token) -> bool:
    return token.kind in Keyword and token.text in STATEMENT_KEYWORDS


def map_span(span: Span, prepared: PreparedInput, first_line: int) -> Span:
    """Map a span in the executed text back to the session's input lines.

    Args:
        span: a span whose lines count from `first_line`, as the runtime reports.
        prepared: the input that was executed.
        first_line: the session line of the input's first line.
    """
    line, column = prepared.original_position(span.line - first_line + 1, span.column)
    end_line, end_column = prepared.original_position(
        span.end_line - first_line + 1, span.end_column
    )
    return replace(
        span,
        line=line + first_line - 1,
        column=column,
        end_line=end_line + first_line - 1,
        end_column=end_column,
        start_pos=prepared.original_offset(span.start_pos),
        end_pos=prepared.original_offset(span.end_pos),
    )


def is_blank(text: str) -> bool:
    """Tell whether `text` holds only whitespace and comments."""
    return all(token.text == "\n" for token in _significant_tokens(text))
