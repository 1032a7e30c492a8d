"""`ans` in saved REPL sessions: a declaration per result and renamed references.

`ans` exists only in a REPL session, and a spec file may declare a name once. So
`:save` writes each result that later input used as `let ans_N = VALUE` (or
`grid ans_N = [...]`) and renames the references to `ans_N`.

NOTE: a session that declares its own `ans_N` saves a file that declares the
name twice, which `nntk run` rejects.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import numpy as np

from nntk_lang.syntax import ast

ANS = "ans"


def ans_declaration(name: str, value: np.ndarray) -> str | None:
    """Return the spec text that declares `name` as `value`; None if it has none.

    Values with NaN or infinities have no literal in the language, so they get
    no declaration.
    """
    if not np.all(np.isfinite(value)):
        return None
    if value.ndim == 0:
        return f"let {name} = {float(value)!r}"
    items = ", ".join(repr(float(item)) for item in value)
    return f"grid {name} = [{items}]"


def ans_references(statement: ast.Statement) -> list[ast.Name]:
    """Return the `ans` names that `statement` reads, in source order."""
    found = [node for node in _walk(statement) if isinstance(node, ast.Name)]
    names = [node for node in found if node.id == ANS]
    return sorted(names, key=lambda node: node.span.start_pos)


def _walk(node: object) -> Iterator[object]:
    yield node
    if isinstance(node, (tuple, list)):
        for item in node:
            yield from _walk(item)
    elif dataclasses.is_dataclass(node) and not isinstance(node, type):
        for field in dataclasses.fields(node):
            if field.name != "span":
                yield from _walk(getattr(node, field.name))


def renamed_text(program: ast.Program, statement: ast.Statement, name: str) -> str:
    """Return the statement's text with each `ans` it reads renamed to `name`."""
    start = statement.span.start_pos
    text = program.text_of(statement.span)
    for reference in reversed(ans_references(statement)):
        begin = reference.span.start_pos - start
        end = reference.span.end_pos - start
        text = text[:begin] + name + text[end:]
    return text
