"""Check a parsed program: names, arity, argument ranges, imports.

`check` reports every error of a file at once as `SpecErrors`. Each error points
at the offending token, names the value in backticks and gives a hint. A
`Checker` keeps its symbol table between calls, so the REPL can check one input
at a time against what earlier inputs declared.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import sympy

from nntk_lang._check.context import FileContext, Symbol
from nntk_lang._check.statements import StatementChecker
from nntk_lang.errors import NntkError, Span, SpecError, SpecErrors
from nntk_lang.resources import stdlib_dir
from nntk_lang.syntax import ast
from nntk_lang.syntax.parser import parse
from nntk_lang.syntax.source import read_source


@dataclass(frozen=True)
class Limits:
    """Caps on what one spec may request; `--max-samples` and `--max-grid` set them."""

    max_samples: int = 10**8
    max_grid: int = 10**6


@dataclass(frozen=True)
class CheckedStatement:
    """A statement that passed the checks, with the program it came from."""

    statement: ast.Statement
    program: ast.Program


@dataclass(frozen=True)
class CheckedProgram:
    """The statements to run in order, those of imported files included.

    Attributes:
        statements: every statement, an imported file's at its `import`.
        symbols: every declared name after the last statement.
    """

    statements: tuple[CheckedStatement, ...]
    symbols: dict[str, Symbol] = field(default_factory=dict)


class Checker:
    """Check programs against a symbol table that persists between calls.

    Args:
        limits: caps on samples and grid sizes.
        stdlib: the folder `import name` searches first; the package's by default.
    """

    def __init__(
        self, limits: Limits | None = None, stdlib: Path | None = None
    ) -> None:
        self.limits = limits or Limits()
        self.stdlib = stdlib if stdlib is not None else stdlib_dir()
        self.symbols: dict[str, Symbol] = {}
        self._imported: set[Path] = set()

    def bind_session_name(
        self, name: str, kind: str, value: sympy.Expr | None = None
    ) -> None:
        """Declare (or redeclare) a name the session sets itself, such as `ans`."""
        program = ast.Program("<session>", "", ())
        span = Span("<session>", 1, 1, 1, 1)
        self.symbols[name] = Symbol(name, kind, span, program, value=value)

    def check_statements(self, program: ast.Program) -> CheckedProgram:
        """Check `program` and add its declarations to the symbol table.

        Raises:
            SpecErrors: every error found, in this file and in its imports. The
                symbol table is then left as it was before the call.
        """
        saved = (dict(self.symbols), set(self._imported))
        errors: list[SpecError] = []
        statements: list[CheckedStatement] = []
        root = _file_key(program.path)
        stack = [root] if root else []
        self._check_file(program, errors, statements, stack, imported=False)
        if errors:
            self.symbols, self._imported = saved
            raise SpecErrors(errors)
        return CheckedProgram(tuple(statements), dict(self.symbols))

    def _check_file(
        self,
        program: ast.Program,
        errors: list[SpecError],
        out: list[CheckedStatement],
        stack: list[Path],
        imported: bool,
    ) -> None:
        context = FileContext(program, self.symbols, errors, imported)
        checker = StatementChecker(
            context, self.limits.max_samples, self.limits.max_grid
        )
        for index, statement in enumerate(program.statements):
            context.position = index
            if isinstance(statement, ast.Import):
                self._import(statement, context, errors, out, stack)
                continue
            checker.statement(statement)
            out.append(CheckedStatement(statement, program))

    # Imports

    def _import(
        self,
        statement: ast.Import,
        context: FileContext,
        errors: list[SpecError],
        out: list[CheckedStatement],
        stack: list[Path],
    ) -> None:
        path = self._resolve(statement, context)
        if path is None:
            return
        if path in stack:
            cycle = " -> ".join(p.name for p in [*stack[stack.index(path) :], path])
            context.error(
                f"import cycle: {cycle}",
                statement.span,
                "move the shared declarations into a module that both import",
            )
            return
        if path in self._imported:
            return
        self._imported.add(path)
        try:
            text = read_source(path)
        except SpecError as error:
            errors.append(error)
            return
        except NntkError as error:
            context.error(str(error), statement.span, "check the file")
            return
        try:
            module = parse(text, str(path))
        except SpecError as error:
            errors.append(error)
            return
        self._check_file(module, errors, out, [*stack, path], imported=True)

    def _resolve(self, statement: ast.Import, context: FileContext) -> Path | None:
        folder = Path(context.program.path).parent
        if statement.module is not None:
            candidates = [
                self.stdlib / f"{statement.module}.nntk",
                folder / f"{statement.module}.nntk",
            ]
            for candidate in candidates:
                if candidate.is_file():
                    return candidate.resolve()
            searched = " and ".join(f"`{candidate}`" for candidate in candidates)
            context.error(
                f"module `{statement.module}` not found",
                statement.span,
                f"searched {searched}; "
                f"available stdlib modules: {_stdlib_modules(self.stdlib)}",
            )
            return None
        path = folder / statement.path
        if path.suffix != ".nntk":
            context.error(
                f"cannot import `{statement.path}`: only .nntk files can be imported",
                statement.span,
                "name a file that ends in .nntk",
            )
            return None
        if not path.is_file():
            context.error(
                f"file `{statement.path}` not found",
                statement.span,
                f"the path is relative to the importing file; looked for `{path}`",
            )
            return None
        return path.resolve()


def check(
    program: ast.Program, limits: Limits | None = None, stdlib: Path | None = None
) -> CheckedProgram:
    """Check a whole program with a fresh symbol table.

    Raises:
        SpecErrors: every error of the file and of the files it imports.
    """
    return Checker(limits, stdlib).check_statements(program)


def _file_key(path: str) -> Path | None:
    candidate = Path(path)
    return candidate.resolve() if candidate.is_file() else None


def _stdlib_modules(folder: Path) -> str:
    names = sorted(path.stem for path in folder.glob("*.nntk"))
    return ", ".join(f"`{name}`" for name in names) or "none"
