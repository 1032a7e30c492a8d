"""The error hierarchy that the CLI and the REPL catch and print.

Every error a user can cause by writing a spec is an `NntkError`. Errors tied to
a place in a source text are `SpecError`s and render as

    FILE:LINE:COL: message
      the source line
            ^
    hint: what to do
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Span:
    """A region of a source text; lines and columns count from 1."""

    file: str
    line: int
    column: int
    end_line: int
    end_column: int
    start_pos: int = 0
    end_pos: int = 0

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


class NntkError(Exception):
    """Base class of every error that nntk reports to a user without a traceback."""

    def render(self) -> str:
        return str(self)


class ConfigError(NntkError, ValueError):
    """An invalid option or flag value, not tied to a place in a spec."""


class SpecError(NntkError):
    """A mistake at a known place in a spec file.

    Args:
        message: what is wrong, naming the offending value.
        span: where it is.
        hint: how to fix it; empty when the message already tells the fix.
        source: the text of the file, used to print the offending line.
    """

    def __init__(self, message: str, span: Span, hint: str = "", source: str = ""):
        super().__init__(message)
        self.message = message
        self.span = span
        self.hint = hint
        self.source = source

    def render(self) -> str:
        lines = [f"{self.span}: {self.message}"]
        source_line = _line_of(self.source, self.span.line)
        if source_line is not None:
            source_line, column = _clip(source_line, self.span.column)
            lines.append(f"  {source_line}")
            # Tabs keep their width in the caret line so the caret stays aligned.
            prefix = "".join(
                ch if ch == "\t" else " " for ch in source_line[: column - 1]
            )
            lines.append(f"  {prefix}^")
        if self.hint:
            lines.append(f"hint: {self.hint}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return f"{self.span}: {self.message}"


class SpecErrors(NntkError):
    """Several spec errors of one file, reported together."""

    def __init__(self, errors: list[SpecError]):
        super().__init__(f"{len(errors)} error(s)")
        self.errors = errors

    def render(self) -> str:
        return "\n\n".join(error.render() for error in self.errors)

    def __str__(self) -> str:
        return "\n".join(str(error) for error in self.errors)


class NoClosedForm(NntkError):
    """The analytic backend found no closed form. `reason` explains why."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class ResourceLimitError(NntkError):
    """A request exceeds a cap on samples, grid size, memory or symbolic time."""


class Cancelled(NntkError):
    """The user interrupted a running computation."""


def _line_of(source: str, line: int) -> str | None:
    if not source:
        return None
    lines = source.splitlines()
    if 1 <= line <= len(lines):
        return lines[line - 1]
    return None


MAX_SHOWN_COLUMNS = 120


def _clip(line: str, column: int) -> tuple[str, int]:
    """Return at most MAX_SHOWN_COLUMNS of `line` around `column`, and its new column.

    Cut ends are marked with `...`, so a generated line of thousands of
    characters does not flood the terminal.
    """
    if len(line) <= MAX_SHOWN_COLUMNS:
        return line, column
    start = max(
        0, min(column - 1 - MAX_SHOWN_COLUMNS // 2, len(line) - MAX_SHOWN_COLUMNS)
    )
    end = start + MAX_SHOWN_COLUMNS
    prefix = "..." if start > 0 else ""
    suffix = "..." if end < len(line) else ""
    return prefix + line[start:end] + suffix, column - start + len(prefix)
