"""`nntk repl`: run statements of the nntk language interactively.

On a terminal the REPL reads input with prompt_toolkit (history, completion,
highlighting, multi-line input) and renders results with rich. With stdin from
a file or a pipe it prints no prompts and no escape sequences, writes results to
stdout and errors to stderr, and stops with status 1 at the first error.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import tempfile
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TextIO, TypeVar

from rich.console import Console
from rich.table import Table
from rich.text import Text

from nntk_lang.errors import NntkError, SpecError, SpecErrors
from nntk_lang.repl_help import help_text
from nntk_lang.repl_input import PreparedInput, is_blank, map_span, prepare_input

if TYPE_CHECKING:
    from prompt_toolkit import PromptSession
    from prompt_toolkit.history import History
    from prompt_toolkit.input import Input
    from prompt_toolkit.output import Output

    from nntk_lang.results import Result
    from nntk_lang.runtime import RunOptions

REPL_FILE = "<repl>"
VALUE_KINDS = frozenset({"value", "grad", "kernel"})
"""Result kinds that piped mode prints as a bare value with `render_value`."""

_T = TypeVar("_T")


class ReplRuntime(Protocol):
    """The part of `nntk_lang.runtime.Runtime` that the REPL uses."""

    def execute_text(
        self, text: str, path: str = ..., first_line: int = ...
    ) -> list[Result]: ...
    def run_file(self, path: Path) -> list[Result]: ...
    def names(self) -> dict[str, str]: ...
    def reset(self) -> None: ...
    def accepted_source(self) -> str: ...
    def cancel(self) -> None: ...
    def set_ans(self, value: Any) -> None: ...


class CommandError(NntkError):
    """A REPL command with a missing or invalid argument."""


class Repl:
    """Runs REPL input against a runtime and prints results and errors.

    Args:
        runtime: the session's environment.
        console: where results go.
        error_console: where errors go.
        plain: True without a terminal: bare values print as plain text and
            nothing but results reaches `console`.
    """

    def __init__(
        self,
        runtime: ReplRuntime,
        console: Console,
        error_console: Console,
        *,
        plain: bool = False,
    ):
        self.runtime = runtime
        self.console = console
        self.error_console = error_console
        self.plain = plain
        self.quit_requested = False
        # Every input line of the session, so errors can quote `<repl>:LINE`.
        self.transcript: list[str] = []
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="nntk-repl")

    @property
    def next_line(self) -> int:
        """The session line number that the next input starts on."""
        return len(self.transcript) + 1

    def close(self) -> None:
        """Stop the worker thread."""
        self._worker.shutdown(wait=True)

    def handle(self, text: str) -> bool:
        """Run one input, a command or statements, and return False if it failed."""
        first_line = self.next_line
        self.transcript.extend(text.split("\n"))
        if text.lstrip().startswith(":"):
            return self._report_errors(lambda: self._run_command(text.strip()))
        if is_blank(text):
            return True
        prepared = prepare_input(text)
        return self._report_errors(lambda: self._execute(prepared, first_line))

    def _report_errors(self, action: Callable[[], None]) -> bool:
        try:
            action()
        except NntkError as error:
            self.print_error(error.render())
            return False
        return True

    def _execute(self, prepared: PreparedInput, first_line: int) -> None:
        try:
            results = self.run_cancellable(
                self.runtime.execute_text, prepared.text, REPL_FILE, first_line
            )
        except (SpecError, SpecErrors) as error:
            raise self._in_session_lines(error, prepared, first_line) from None
        if prepared.bare_expression:
            results = [_as_typed(result, prepared.original) for result in results]
        self.show_results(results)

    def _in_session_lines(
        self, error: SpecError | SpecErrors, prepared: PreparedInput, first_line: int
    ) -> NntkError:
        # Point each error at what the user typed, without the inserted `eval`s.
        source = "\n".join(self.transcript)

        def remap(spec_error: SpecError) -> SpecError:
            if spec_error.span.file != REPL_FILE:
                return spec_error
            mapped = _copy_error(spec_error)
            mapped.span = map_span(spec_error.span, prepared, first_line)
            mapped.source = source
            return mapped

        if isinstance(error, SpecError):
            return remap(error)
        mapped_errors = _copy_error(error)
        mapped_errors.errors = [remap(spec_error) for spec_error in error.errors]
        return mapped_errors

    def run_cancellable(self, function: Callable[..., _T], *args: Any) -> _T:
        """Call `function` in the worker thread; Ctrl-C makes the runtime cancel it.

        The worker raises `Cancelled` when it stops, which propagates from here.
        """
        future = self._worker.submit(function, *args)
        while True:
            try:
                return future.result(timeout=0.1)
            except TimeoutError:
                continue
            except KeyboardInterrupt:
                # A request that arrives after the work finished would otherwise
                # linger until the runtime clears it.
                if not future.done():
                    self.runtime.cancel()
                if not self.plain:
                    self.error_console.print("cancelling…", style="yellow")

    def show_results(self, results: Iterable[Result]) -> None:
        """Print results and bind `ans` to the last one."""
        from nntk_lang.report.console import render_result, render_value

        last = None
        for result in results:
            if self.plain and result.kind in VALUE_KINDS:
                self._write_plain(self.console, render_value(result))
            else:
                render_result(result, self.console)
            last = result
        if last is not None:
            self.runtime.set_ans(last.estimate)

    def print_error(self, text: str) -> None:
        """Print an error's rendered text as it is, in red on a terminal."""
        if self.plain:
            self._write_plain(self.error_console, text)
        else:
            self.error_console.print(Text(text, style="red"), soft_wrap=True)

    @staticmethod
    def _write_plain(console: Console, text: str) -> None:
        # Straight to the file: rich would expand tabs and wrap long lines.
        console.file.write(text + "\n")
        console.file.flush()

    def print_note(self, text: str) -> None:
        """Print a status message on a terminal, but not in piped mode."""
        if not self.plain:
            self.console.print(Text(text, style="dim"))

    def _run_command(self, line: str) -> None:
        name, *rest = line.split(maxsplit=1)
        argument = rest[0].strip() if rest else ""
        commands: dict[str, Callable[[str], None]] = {
            ":help": self._help,
            ":load": self._load,
            ":env": self._env,
            ":reset": self._reset,
            ":save": self._save,
            ":quit": self._quit,
            ":q": self._quit,
            ":exit": self._quit,
        }
        command = commands.get(name)
        if command is None:
            raise CommandError(
                f"unknown command `{name}`. `:help commands` lists the commands"
            )
        command(argument)

    def _help(self, topic: str) -> None:
        text = help_text(topic)
        if text is None:
            raise CommandError(f"no help topic `{topic}`. `:help` lists the topics")
        self.console.print(Text(text), soft_wrap=True)

    def _load(self, argument: str) -> None:
        path = _required_path(":load", argument)
        if not path.is_file():
            raise CommandError(f"file not found: {path}")
        self.show_results(self.run_cancellable(self.runtime.run_file, path))
        self.print_note(f"loaded {path}")

    def _env(self, argument: str) -> None:
        names = self.runtime.names()
        if self.plain:
            for name, description in names.items():
                self._write_plain(self.console, f"{name}\t{description}")
            return
        if not names:
            self.print_note("no names in scope")
            return
        table = Table("name", "what it is", box=None, header_style="bold")
        for name, description in names.items():
            table.add_row(Text(name, style="cyan"), Text(description))
        self.console.print(table)

    def _reset(self, argument: str) -> None:
        self.runtime.reset()
        self.print_note("session reset; no names in scope")

    def _save(self, argument: str) -> None:
        path = _required_path(":save", argument)
        try:
            write_atomic(path, self.runtime.accepted_source())
        except OSError as error:
            raise CommandError(f"failed to write {path}: {error.strerror}") from None
        self.print_note(f"saved the session to {path}")

    def _quit(self, argument: str) -> None:
        self.quit_requested = True


def _as_typed(result: Result, original: str) -> Result:
    """Return `result` without the `eval ` that the REPL put in front of its text."""
    keyword = "eval "
    statement = result.statement
    if not statement.startswith(keyword) or statement in original:
        return result
    return dataclasses.replace(result, statement=statement[len(keyword) :])


_E = TypeVar("_E", bound=BaseException)


def _copy_error(error: _E) -> _E:
    # `copy.copy` would call the class with `args` alone, which SpecError rejects.
    duplicate = type(error).__new__(type(error))
    duplicate.__dict__.update(error.__dict__)
    duplicate.args = error.args
    return duplicate


def _required_path(command: str, argument: str) -> Path:
    if not argument:
        raise CommandError(f"missing file name. Usage: {command} FILE")
    return Path(argument).expanduser()


def write_atomic(path: Path, text: str) -> None:
    """Write `text` to `path` through a temporary file in the same folder.

    Readers see either the old file or the whole new one, never a partial write.
    """
    folder = path.parent if str(path.parent) else Path(".")
    handle, temporary = tempfile.mkstemp(
        prefix=f".{path.name}.", suffix=".tmp", dir=folder
    )
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(text)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def history_path(environ: dict[str, str] | None = None) -> Path:
    """Return the history file: `$XDG_STATE_HOME/nntk/history`.

    Without XDG_STATE_HOME, or with a relative one (the XDG Base Directory
    Specification requires ignoring it), the state folder is `~/.local/state`.
    """
    environ = dict(os.environ) if environ is None else environ
    state = environ.get("XDG_STATE_HOME", "")
    if not os.path.isabs(state):
        state = os.path.join(os.path.expanduser("~"), ".local", "state")
    return Path(state) / "nntk" / "history"


def open_history(path: Path, error_console: Console) -> History:
    """Return a file history at `path`, or one in memory if it cannot be created."""
    from prompt_toolkit.history import FileHistory, InMemoryHistory

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(exist_ok=True)
    except OSError as error:
        error_console.print(
            f"history is not saved: cannot create {path} ({error.strerror})",
            style="yellow",
        )
        return InMemoryHistory()
    return FileHistory(str(path))


def run_interactive(repl: Repl, session: PromptSession[str]) -> int:
    """Read and run inputs from a prompt until `:quit` or Ctrl-D, then return 0."""
    while not repl.quit_requested:
        try:
            text = session.prompt()
        except KeyboardInterrupt:
            continue
        except EOFError:
            break
        try:
            repl.handle(text)
        except KeyboardInterrupt:
            # Ctrl-C outside a computation, e.g. while a result prints.
            repl.print_error("interrupted")
    return 0


def run_piped(repl: Repl, stream: TextIO) -> int:
    """Run inputs from a non-terminal stream, and return 1 at the first error."""
    from nntk_lang.repl_input import needs_more_input

    pending: list[str] = []
    for raw_line in stream:
        pending.append(raw_line.rstrip("\r\n"))
        text = "\n".join(pending)
        if needs_more_input(text):
            continue
        pending = []
        if not repl.handle(text):
            return 1
        if repl.quit_requested:
            return 0
    if pending and not repl.handle("\n".join(pending)):
        return 1
    return 0


def make_prompt_session(
    repl: Repl,
    history: History,
    *,
    input: Input | None = None,
    output: Output | None = None,
) -> PromptSession[str]:
    """Build the prompt: multi-line input, highlighting, completion and history."""
    from prompt_toolkit import PromptSession
    from prompt_toolkit.lexers import PygmentsLexer

    from nntk_lang.highlight import NntkReplLexer
    from nntk_lang.repl_complete import NntkCompleter
    from nntk_lang.repl_keys import prompt_key_bindings

    return PromptSession(
        message="nntk> ",
        multiline=True,
        prompt_continuation=lambda width, line_number, wrap_count: "...> ".rjust(width),
        key_bindings=prompt_key_bindings(),
        lexer=PygmentsLexer(NntkReplLexer),
        completer=NntkCompleter(repl.runtime.names),
        complete_while_typing=False,
        history=history,
        input=input,
        output=output,
    )


def main_repl(
    options: RunOptions | None = None,
    *,
    runtime: ReplRuntime | None = None,
    stdin: TextIO | None = None,
) -> int:
    """Run the REPL on the terminal or the standard streams; return the exit status.

    Args:
        options: run options for a new runtime; ignored when `runtime` is given.
        runtime: an existing runtime to use.
        stdin: the input stream; `sys.stdin` by default.
    """
    stdin = sys.stdin if stdin is None else stdin
    plain = not stdin.isatty()
    console = _console(sys.stdout, plain)
    error_console = _console(sys.stderr, plain)
    if runtime is None:
        from nntk_lang.runtime import RunOptions, Runtime

        options = options if options is not None else RunOptions()
        # The REPL prints results itself, and progress bars only on a terminal.
        options = dataclasses.replace(
            options, print_results=False, quiet=options.quiet or plain
        )
        runtime = Runtime(options, console=console)
    repl = Repl(runtime, console, error_console, plain=plain)
    try:
        if plain:
            return run_piped(repl, stdin)
        history = open_history(history_path(), error_console)
        return run_interactive(repl, make_prompt_session(repl, history))
    except KeyboardInterrupt:
        return 130
    finally:
        repl.close()


def _console(file: TextIO, plain: bool) -> Console:
    if plain:
        return Console(file=file, color_system=None, force_terminal=False)
    return Console(file=file)


def _parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m nntk_lang.repl", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--out", type=Path, help="folder for files that results write")
    parser.add_argument("--seed", type=int, help="default Monte Carlo seed")
    parser.add_argument("--samples", type=int, help="default Monte Carlo sample count")
    parser.add_argument(
        "--device", default="auto", help="torch device: auto, cpu or cuda"
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Parse the flags of `python -m nntk_lang.repl` and run the REPL."""
    arguments = _parse_arguments(argv)
    from nntk_lang.runtime import RunOptions

    options = RunOptions(
        out_dir=arguments.out,
        seed=arguments.seed,
        samples=arguments.samples,
        device=arguments.device,
        quiet=True,
    )
    return main_repl(options)


if __name__ == "__main__":
    sys.exit(main())
