"""A stand-in runtime and console renderer for the REPL tests.

The real `nntk_lang.runtime` and `nntk_lang.report.console` arrive from other
branches. `install()` registers these fakes under those module names. The fake
language is a tiny subset: `let NAME = EXPR`, `eval EXPR` with + - * / ^,
brackets, numbers and names, declarations that only record a name, kernel calls
`K(a, b)` worth a * b, and `slow(SECONDS)`, which runs until cancelled.

Set NNTK_REPL_REAL_RUNTIME=1 to make `install()` do nothing, so the same tests
run against the real modules.
"""

from __future__ import annotations

import os
import re
import sys
import threading
import time
import types
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nntk_lang.errors import Cancelled, Span, SpecError, SpecErrors
from nntk_lang.results import Estimate, Result

USE_REAL_RUNTIME = os.environ.get("NNTK_REPL_REAL_RUNTIME") == "1"

_TOKEN = re.compile(r"\s*(?:(\d+\.?\d*(?:[eE][+-]?\d+)?)|([A-Za-z_]\w*)|(\S))")
_DECLARATIONS = ("def", "target", "model", "operator", "point", "grid", "kernel")


@dataclass
class RunOptions:
    """The fields of the real `RunOptions` that the REPL sets."""

    out_dir: Path | None = None
    seed: int | None = None
    samples: int | None = None
    device: str = "auto"
    quiet: bool = True


class _Source:
    """Error positions for one executed text."""

    def __init__(self, text: str, path: str, first_line: int):
        self.text = text
        self.path = path
        self.first_line = first_line

    def error(self, message: str, offset: int) -> SpecError:
        before = self.text[:offset]
        line = before.count("\n") + self.first_line
        column = offset - (before.rfind("\n") + 1) + 1
        span = Span(self.path, line, column, line, column + 1, offset, offset + 1)
        return SpecError(message, span, hint="a hint from the fake runtime")


class _Expression:
    """A recursive-descent evaluator over the tokens of one expression."""

    def __init__(self, runtime: FakeRuntime, source: _Source, start: int, end: int):
        self.runtime = runtime
        self.source = source
        self.tokens = [
            (
                match.start(match.lastindex),
                match.group(match.lastindex),
                match.lastindex,
            )
            for match in _TOKEN.finditer(source.text, start, end)
            if match.lastindex is not None
        ]
        self.end = end
        self.index = 0

    def _peek(self) -> tuple[int, str, int] | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def _take(self, text: str | None = None) -> tuple[int, str, int]:
        token = self._peek()
        if token is None:
            raise self.source.error("unexpected end of input", self.end)
        if text is not None and token[1] != text:
            raise self.source.error(f"expected `{text}`, found `{token[1]}`", token[0])
        self.index += 1
        return token

    def evaluate(self) -> float:
        value = self._sum()
        token = self._peek()
        if token is not None:
            raise self.source.error(f"unexpected `{token[1]}`", token[0])
        return value

    def _sum(self) -> float:
        value = self._product()
        while (token := self._peek()) is not None and token[1] in "+-":
            self._take()
            right = self._product()
            value = value + right if token[1] == "+" else value - right
        return value

    def _product(self) -> float:
        value = self._power()
        while (token := self._peek()) is not None and token[1] in "*/":
            self._take()
            right = self._power()
            value = value * right if token[1] == "*" else value / right
        return value

    def _power(self) -> float:
        value = self._unary()
        if (token := self._peek()) is not None and token[1] == "^":
            self._take()
            return value ** self._power()
        return value

    def _unary(self) -> float:
        token = self._peek()
        if token is not None and token[1] in "+-":
            self._take()
            operand = self._unary()
            return -operand if token[1] == "-" else operand
        return self._atom()

    def _atom(self) -> float:
        offset, text, group = self._take()
        if group == 1:
            return float(text)
        if text == "(":
            value = self._sum()
            self._take(")")
            return value
        if group != 2:
            raise self.source.error(f"unexpected `{text}`", offset)
        if (token := self._peek()) is not None and token[1] == "(":
            return self._call(text, offset)
        value = self.runtime.values.get(text)
        if value is None:
            raise self.source.error(f"unknown name `{text}`", offset)
        return value

    def _call(self, name: str, offset: int) -> float:
        self._take("(")
        arguments = [self._sum()]
        while self._peek() is not None and self._peek()[1] == ",":
            self._take()
            arguments.append(self._sum())
        self._take(")")
        if name == "slow":
            return self.runtime.wait_cancellable(arguments[0])
        if name in self.runtime.kernels and len(arguments) == 2:
            return arguments[0] * arguments[1]
        raise self.source.error(f"`{name}` is not a kernel", offset)


def _statement_ranges(text: str) -> list[tuple[int, int]]:
    # Statements end at `;` or a newline outside brackets.
    ranges = []
    depth = 0
    start = 0
    for offset, char in enumerate(text + "\n"):
        if char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
        elif char in ";\n" and depth <= 0:
            if text[start:offset].strip():
                ranges.append((start, offset))
            start = offset + 1
    if start < len(text) and text[start:].strip():
        ranges.append((start, len(text)))
    return ranges


class FakeRuntime:
    """Executes the fake subset; the interface follows `nntk_lang.runtime.Runtime`."""

    def __init__(self, options: RunOptions | None = None):
        self.options = options or RunOptions()
        self._cancel = threading.Event()
        self.reset()

    def reset(self) -> None:
        self.values: dict[str, float] = {}
        self.kernels: set[str] = set()
        self.descriptions: dict[str, str] = {}
        self.accepted: list[str] = []

    def names(self) -> dict[str, str]:
        return dict(self.descriptions)

    def accepted_source(self) -> str:
        return "".join(statement + "\n" for statement in self.accepted)

    def cancel(self) -> None:
        self._cancel.set()

    def set_ans(self, value: Estimate) -> None:
        self.values["ans"] = float(value.value)
        self.descriptions["ans"] = "the last value"

    def wait_cancellable(self, seconds: float) -> float:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self._cancel.wait(0.01):
                raise Cancelled("cancelled")
        return seconds

    def run_file(self, path: Path) -> list[Result]:
        return self.execute_text(path.read_text(), str(path), 1)

    def execute_text(
        self, text: str, path: str = "<repl>", first_line: int = 1
    ) -> list[Result]:
        self._cancel.clear()
        # Comments become spaces, so offsets stay those of `text`.
        text = re.sub(r"#[^\n]*", lambda match: " " * len(match.group()), text)
        source = _Source(text, path, first_line)
        saved = (dict(self.values), set(self.kernels), dict(self.descriptions))
        results: list[Result] = []
        try:
            for start, end in _statement_ranges(text):
                result = self._statement(source, start, end)
                if result is not None:
                    results.append(result)
        except SpecError as error:
            self.values, self.kernels, self.descriptions = saved
            raise SpecErrors([error]) from None
        except Cancelled:
            self.values, self.kernels, self.descriptions = saved
            raise
        self.accepted.extend(
            text[start:end].strip() for start, end in _statement_ranges(text)
        )
        return results

    def _statement(self, source: _Source, start: int, end: int) -> Result | None:
        text = source.text[start:end]
        keyword, _, rest = text.strip().partition(" ")
        lead = start + len(text) - len(text.lstrip())
        if keyword == "let":
            name, equals, _ = rest.partition("=")
            if not equals:
                raise source.error("expected `=` after the name", end)
            value_start = source.text.index("=", lead) + 1
            value = _Expression(self, source, value_start, end).evaluate()
            self.values[name.strip()] = value
            self.descriptions[name.strip()] = f"let {name.strip()} = {value:g}"
            return None
        if keyword == "eval":
            value = _Expression(self, source, lead + len("eval"), end).evaluate()
            line = source.text[:lead].count("\n") + source.first_line
            estimate = Estimate(np.array(value), method="exact")
            return Result(
                statement=text.strip(), line=line, kind="value", estimate=estimate
            )
        if keyword in _DECLARATIONS or keyword == "import":
            name = re.match(r"\s*(\w+)", rest)
            if name is not None:
                self.descriptions[name.group(1)] = f"{keyword} {rest.strip()}"
                if keyword == "kernel":
                    self.kernels.add(name.group(1))
            return None
        raise source.error(f"expected a statement, found `{keyword}`", lead)


def render_result(result: Result, console) -> None:
    """Print a result as `KIND = VALUE`."""
    console.print(f"{result.kind} = {render_value(result)}")


def render_value(result: Result) -> str:
    """Return the value alone, `2` for 2.0."""
    return format(float(result.estimate.value), "g")


def fake_modules() -> dict[str, types.ModuleType]:
    """Return the fakes by the module names they stand in for; empty for real ones."""
    if USE_REAL_RUNTIME:
        return {}
    runtime = types.ModuleType("nntk_lang.runtime")
    runtime.Runtime = FakeRuntime
    runtime.RunOptions = RunOptions
    console = types.ModuleType("nntk_lang.report.console")
    console.render_result = render_result
    console.render_value = render_value
    return {"nntk_lang.runtime": runtime, "nntk_lang.report.console": console}


def install() -> None:
    """Register the fakes in `sys.modules`, for a process that runs the REPL."""
    sys.modules.update(fake_modules())
