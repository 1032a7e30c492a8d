"""The symbol table and error list that the checks of one file share."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass

import sympy

from nntk_lang.errors import Span, SpecError
from nntk_lang.ir.primitives import BUILTINS, CONSTANTS
from nntk_lang.signatures import SIGNATURES
from nntk_lang.syntax import ast

RESERVED = frozenset({"inf", "true", "false"})
"""Names with a fixed meaning in arguments (`width=inf`, `bias=false`)."""

KIND_PHRASES = {
    "let": "a constant",
    "def": "a function",
    "target": "a target",
    "model": "a symbolic model",
    "network": "a network model",
    "operator": "an operator",
    "point": "a point",
    "grid": "a grid",
    "kernel": "a kernel",
}


@dataclass
class Symbol:
    """A declared name and what later statements need to know about it.

    Attributes:
        name: the declared name.
        kind: one of the keys of `KIND_PHRASES`.
        span: where the name is declared.
        program: the file that declares it.
        value: the exact value of a `let`; None if it could not be evaluated.
        params: parameters of a def or a model.
        inputs: inputs of a target or a model.
        body: the expression of a def or target, for inlining.
        source: for a kernel, its model; for a point from `init`, its network;
            for a point from `load`, "load".
        entries: the entries of a point literal.
        environment: for a def or target, the symbols visible at its
            declaration, which its body keeps when a later name shadows one.
        imported: whether a file reached by `import` declared it; the
            importing file may declare the name again, which shadows it.
    """

    name: str
    kind: str
    span: Span
    program: ast.Program
    value: sympy.Expr | None = None
    params: tuple[str, ...] = ()
    inputs: tuple[str, ...] = ()
    body: ast.Expr | None = None
    source: str | None = None
    entries: tuple[ast.PointEntry, ...] = ()
    environment: dict[str, Symbol] | None = None
    imported: bool = False

    @property
    def phrase(self) -> str:
        return KIND_PHRASES[self.kind]


def suggestion(name: str, candidates: Iterable[str]) -> str:
    """Return " did you mean `x`?" for the closest candidate, or ""."""
    matches = difflib.get_close_matches(name, sorted(set(candidates)), n=1)
    return f"did you mean `{matches[0]}`?" if matches else ""


class FileContext:
    """The state the checks of one file share: symbols, errors and position.

    Args:
        program: the file being checked.
        symbols: the symbol table, shared with imported files and later calls.
        errors: the list that collects every error.
        imported: whether the file was reached by `import`.
    """

    def __init__(
        self,
        program: ast.Program,
        symbols: dict[str, Symbol],
        errors: list[SpecError],
        imported: bool = False,
    ) -> None:
        self.program = program
        self.imported = imported
        self.symbols = symbols
        self.errors = errors
        self.position = 0
        self._declarations: dict[str, tuple[int, ast.Ident]] = {}
        for index, statement in enumerate(program.statements):
            ident = getattr(statement, "name", None)
            if isinstance(ident, ast.Ident):
                self._declarations.setdefault(ident.name, (index, ident))

    def error(self, message: str, span: Span, hint: str = "") -> None:
        """Record an error at `span` of this file."""
        self.errors.append(SpecError(message, span, hint, self.program.source))

    def error_in(
        self, program: ast.Program | None, message: str, span: Span, hint: str = ""
    ) -> None:
        """Record an error at `span` of `program` (this file when None)."""
        source = (program or self.program).source
        self.errors.append(SpecError(message, span, hint, source))

    def where(self, symbol: Symbol) -> str:
        """Return "line N", adding the file name if it is another file."""
        if symbol.program is self.program:
            return f"line {symbol.span.line}"
        return f"line {symbol.span.line} of {_file_name(symbol.program.path)}"

    def lookup(self, name: str) -> Symbol | None:
        """Return the symbol declared as `name` so far, or None."""
        return self.symbols.get(name)

    def declare(self, symbol: Symbol) -> None:
        """Add a symbol, reporting a duplicate or a reserved name."""
        name = symbol.name
        if name in BUILTINS or name in SIGNATURES or name in CONSTANTS:
            self.error(
                f"`{name}` is a builtin name and cannot be declared again",
                symbol.span,
                "choose another name",
            )
            return
        if name in RESERVED:
            self.error(
                f"`{name}` is a reserved word and cannot be declared",
                symbol.span,
                "choose another name",
            )
            return
        previous = self.symbols.get(name)
        shadows_import = previous is not None and previous.imported
        if shadows_import and previous.program is not self.program:
            previous = None
        if previous is not None:
            self.error(
                f"`{name}` is already declared on {self.where(previous)}",
                symbol.span,
                "choose another name, or remove one of the declarations",
            )
            return
        self.symbols[name] = symbol

    def undefined(
        self, name: str, span: Span, candidates: Iterable[str], noun: str = "name"
    ) -> None:
        """Report an undefined `name`: declared later, or a close match, or none."""
        later = self._declarations.get(name)
        if later is not None and later[0] >= self.position:
            self.error(
                f"`{name}` is used before its declaration on line {later[1].span.line}",
                span,
                "statements run in order; move the declaration above this line",
            )
            return
        hint = suggestion(name, candidates) or (
            f"declare `{name}` before this line, or import the module that does"
        )
        self.error(f"undefined {noun} `{name}`", span, hint)

    def names_of_kind(self, *kinds: str) -> list[str]:
        """Return the declared names of the given kinds."""
        return [name for name, symbol in self.symbols.items() if symbol.kind in kinds]


def _file_name(path: str) -> str:
    return path.replace("\\", "/").rsplit("/", 1)[-1]
