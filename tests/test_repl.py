"""The REPL driven as a user would: pipe input, a real pipe and a pseudo-terminal.

Every test runs the real runtime. Kernel values come from the classical NTK of
the linear model `w*x + b`, which is x*x' + 1 whatever the parameters.
"""

from __future__ import annotations

import _thread
import io
import os
import pty
import select
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from prompt_toolkit.application import create_app_session
from prompt_toolkit.completion import CompleteEvent
from prompt_toolkit.document import Document
from prompt_toolkit.history import FileHistory
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput
from rich.console import Console

from nntk_lang.repl import (
    Repl,
    history_path,
    main_repl,
    make_prompt_session,
    run_interactive,
    run_piped,
    write_atomic,
)
from nntk_lang.repl_complete import NntkCompleter
from nntk_lang.runtime import RunOptions, Runtime

REPO_ROOT = Path(__file__).resolve().parents[1]
REPL_COMMAND = [sys.executable, "-m", "nntk_lang", "repl"]

LINEAR = "model lin(x; w, b) = w*x + b\npoint p0 = {w: 1.0, b: 0.1}\n"
"""A model whose classical NTK is x*x' + 1."""

SIGN_NEURON = (
    "model sign_unit(x; w, b) = sign(w*x + b)\n"
    "operator G = nonlocal(gaussian(0.5))\n"
    "point p0 = {w: 1.0, b: 0.1}\n"
)
# Monte Carlo work of about half a minute on a 2-core CPU, for the Ctrl-C tests.
LONG_MONTE_CARLO = "grad(sign_unit, G, at=p0, x=0.3, samples=100000000, method=mc)"

NETWORK = (
    "model net = mlp(in=1, width=512, depth=1, act=relu, out=1)\n"
    "point q = init(net, seed=0)\n"
    "operator G = nonlocal(gaussian(0.5))\n"
)
# Over two minutes on a 2-core CPU.
LONG_NETWORK_MONTE_CARLO = (
    "grad(net, G, at=q, x=linspace(-1, 1, 8), samples=100000, method=mc)"
)


class Captured:
    """A REPL whose consoles write to strings."""

    def __init__(self, plain: bool):
        self.out = io.StringIO()
        self.err = io.StringIO()
        console = Console(file=self.out, color_system=None, width=100)
        options = RunOptions(print_results=False, quiet=True)
        self.runtime = Runtime(options, console=console)
        self.repl = Repl(
            self.runtime,
            console,
            Console(file=self.err, color_system=None, width=100),
            plain=plain,
        )

    def piped(self, text: str) -> int:
        """Run `text` as piped stdin; return the exit status."""
        return run_piped(self.repl, io.StringIO(text))


@pytest.fixture
def piped() -> Captured:
    captured = Captured(plain=True)
    yield captured
    captured.repl.close()


@pytest.fixture
def interactive() -> Captured:
    captured = Captured(plain=False)
    yield captured
    captured.repl.close()


def run_subprocess(stdin: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    environment = dict(os.environ, XDG_STATE_HOME=str(tmp_path / "state"))
    return subprocess.run(
        REPL_COMMAND,
        input=stdin,
        check=False,
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        env=environment,
        timeout=60,
    )


# Piped mode --------------------------------------------------------------


def test_piped_eval_prints_value_only(piped: Captured) -> None:
    status = piped.piped("let a = 1\neval a + 1\n")
    assert status == 0
    assert piped.out.getvalue() == "2\n"
    assert piped.err.getvalue() == ""


def test_piped_bare_expression_prints_value(piped: Captured) -> None:
    assert piped.piped("let a = 2\na * 3\n") == 0
    assert piped.out.getvalue() == "6\n"


def test_piped_ans_holds_last_value(piped: Captured) -> None:
    assert piped.piped("1 + 1\nans * 5\n") == 0
    assert piped.out.getvalue().split() == ["2", "10"]


def test_piped_statement_spans_bracket_lines(piped: Captured) -> None:
    script = LINEAR + "kernel K = ntk(lin,\n   at=p0)\nK(0.5,\n  -4)\n"
    assert piped.piped(script) == 0
    assert float(piped.out.getvalue()) == pytest.approx(0.5 * -4 + 1)


def test_piped_trailing_operator_continues(piped: Captured) -> None:
    assert piped.piped("let a = 1 +  # more below\n  2\na\n") == 0
    assert piped.out.getvalue() == "3\n"


def test_piped_semicolon_statements(piped: Captured) -> None:
    assert piped.piped("let a = 4; a / 2; a * 2\n") == 0
    assert piped.out.getvalue().split() == ["2", "8"]


def test_piped_stops_at_first_error(piped: Captured) -> None:
    status = piped.piped("let a = 1\n1 + zz\na\n")
    assert status == 1
    assert piped.out.getvalue() == ""
    lines = piped.err.getvalue().splitlines()
    assert lines[0] == "<repl>:2:5: undefined name `zz`"
    assert lines[1] == "  1 + zz"
    assert lines[2] == "      ^"


def test_piped_error_in_joined_line(piped: Captured) -> None:
    assert piped.piped("let a = 1\nlet b = a +\n   zz\n") == 1
    lines = piped.err.getvalue().splitlines()
    assert lines[0] == "<repl>:3:4: undefined name `zz`"
    assert lines[1] == "     zz"
    assert lines[2] == "     ^"


def test_piped_error_after_semicolon(piped: Captured) -> None:
    assert piped.piped("let a = 1; a + q\n") == 1
    assert piped.err.getvalue().splitlines()[0] == "<repl>:1:16: undefined name `q`"


def test_piped_error_keeps_nothing(piped: Captured) -> None:
    assert piped.piped("let a = 1; let b = zz\n") == 1
    assert "a" not in piped.runtime.names()


def test_piped_unknown_command_fails(piped: Captured) -> None:
    assert piped.piped(":frobnicate\n1\n") == 1
    assert "unknown command `:frobnicate`" in piped.err.getvalue()
    assert piped.out.getvalue() == ""


def test_piped_quit_stops_reading(piped: Captured) -> None:
    assert piped.piped("1\n:quit\n2\n") == 0
    assert piped.out.getvalue() == "1\n"


def test_piped_unfinished_input_at_end(piped: Captured) -> None:
    assert piped.piped("let a = (1 +\n") == 1
    assert piped.err.getvalue().startswith("<repl>:")


def test_piped_comments_and_blank_lines(piped: Captured) -> None:
    assert piped.piped("# a comment\n\n   \n2 * 2\n") == 0
    assert piped.out.getvalue() == "4\n"


# Commands ----------------------------------------------------------------


def test_env_lists_names(piped: Captured) -> None:
    script = "let a = 1\n" + LINEAR + "kernel K = ntk(lin, at=p0)\n:env\n"
    assert piped.piped(script) == 0
    lines = piped.out.getvalue().splitlines()
    assert lines == [
        "a\tlet a = 1",
        "lin\tmodel lin(x; w, b)",
        "p0\tpoint p0",
        "K\tkernel K(x)",
    ]


def test_env_table_on_terminal(interactive: Captured) -> None:
    assert interactive.repl.handle("let gamma = 0.5")
    assert interactive.repl.handle(":env")
    assert "gamma" in interactive.out.getvalue()
    # The checker stores `let` values as exact rationals, so 0.5 shows as 1/2.
    assert "let gamma = 1/2" in interactive.out.getvalue()


def test_reset_forgets_names(piped: Captured) -> None:
    assert piped.piped("let a = 1\n:reset\na\n") == 1
    assert "undefined name `a`" in piped.err.getvalue()


def test_save_writes_accepted_source(piped: Captured, tmp_path: Path) -> None:
    target = tmp_path / "session.nntk"
    target.write_text("old contents\n")
    script = "let a = 2\n1 + zz\n"
    assert piped.piped(script) == 1
    assert piped.piped(f"a * 3\n:save {target}\n") == 0
    assert target.read_text() == piped.runtime.accepted_source()
    assert target.read_text() == "let a = 2\neval a * 3\n"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["session.nntk"]


def test_kernel_value_binds_ans(piped: Captured) -> None:
    script = LINEAR + "kernel K = ntk(lin, at=p0)\nK(0.5, -4)\nans * 2\n"
    assert piped.piped(script) == 0
    printed = [float(word) for word in piped.out.getvalue().split()]
    assert printed[0] == pytest.approx(0.5 * -4 + 1)
    assert printed[1] == pytest.approx((0.5 * -4 + 1) * 2)


def test_matrix_result_leaves_ans_undefined(piped: Captured) -> None:
    script = "1 + 1\n" + LINEAR + "kernel K = ntk(lin, at=p0)\n"
    script += "K([1, 2], [3, 4])\nans\n"
    assert piped.piped(script) == 1
    assert "undefined name `ans`" in piped.err.getvalue()


def test_save_declares_ans_it_reads(piped: Captured, tmp_path: Path) -> None:
    target = tmp_path / "session.nntk"
    script = "1 + 1\nans * 3\nans + ans\n" + LINEAR
    script += f"kernel K = ntk(lin, at=p0)\nK([1, 2], 3)\nK(ans, 1)\n:save {target}\n"
    assert piped.piped(script) == 0
    saved = target.read_text().splitlines()
    assert saved[:5] == [
        "eval 1 + 1",
        "let ans_1 = 2.0",
        "eval ans_1 * 3",
        "let ans_2 = 6.0",
        "eval ans_2 + ans_2",
    ]
    assert saved[-2:] == ["grid ans_4 = [4.0, 7.0]", "eval K(ans_4, 1)"]


def test_saved_ans_session_runs(tmp_path: Path) -> None:
    target = tmp_path / "session.nntk"
    first = Captured(plain=True)
    script = "1 + 1\nans * 3\n" + LINEAR + "kernel K = ntk(lin, at=p0)\n"
    script += f"K([1, 2], 3)\nK(ans, 1)\n:save {target}\n"
    assert first.piped(script) == 0
    first.repl.close()
    second = Captured(plain=True)
    assert second.piped(f":load {target}\n") == 0
    second.repl.close()
    assert second.out.getvalue() == first.out.getvalue()
    assert second.err.getvalue() == ""


def test_saved_session_loads_again(piped: Captured, tmp_path: Path) -> None:
    target = tmp_path / "session.nntk"
    assert piped.piped(f"let a = 2\na + 1\n:save {target}\n:reset\n") == 0
    assert piped.piped(f":load {target}\na\n") == 0
    assert piped.out.getvalue().split() == ["3", "3", "2"]


def test_save_into_missing_folder_fails(piped: Captured, tmp_path: Path) -> None:
    target = tmp_path / "missing" / "session.nntk"
    assert piped.piped(f"let a = 1\n:save {target}\n") == 1
    assert f"failed to write {target}" in piped.err.getvalue()


def test_save_without_file_name_fails(piped: Captured) -> None:
    assert piped.piped(":save\n") == 1
    assert "Usage: :save FILE" in piped.err.getvalue()


def test_load_missing_file_fails(piped: Captured, tmp_path: Path) -> None:
    assert piped.piped(f":load {tmp_path / 'nope.nntk'}\n") == 1
    assert "file not found" in piped.err.getvalue()


def test_load_error_names_the_file(piped: Captured, tmp_path: Path) -> None:
    spec = tmp_path / "broken.nntk"
    spec.write_text("let a = 1\nlet b = a + zz\n")
    assert piped.piped(f":load {spec}\n") == 1
    assert piped.err.getvalue().startswith(f"{spec}:2:13: undefined name `zz`")


def test_help_topics(interactive: Captured) -> None:
    assert interactive.repl.handle(":help")
    assert ":save FILE" in interactive.out.getvalue()
    assert interactive.repl.handle(":help relu")
    assert "relu(t) = max(t, 0)" in interactive.out.getvalue()
    assert interactive.repl.handle(":help kernel")
    assert "nntk(neuron, G, at=p0)" in interactive.out.getvalue()


def test_help_unknown_topic_fails(interactive: Captured) -> None:
    assert not interactive.repl.handle(":help nothing_like_this")
    assert "no help topic `nothing_like_this`" in interactive.err.getvalue()


def test_write_atomic_replaces_file(tmp_path: Path) -> None:
    target = tmp_path / "out.nntk"
    target.write_text("old\n")
    write_atomic(target, "new\n")
    assert target.read_text() == "new\n"
    assert [path.name for path in tmp_path.iterdir()] == ["out.nntk"]


def test_write_atomic_keeps_old_file_on_error(tmp_path: Path) -> None:
    target = tmp_path / "folder"
    target.mkdir()
    with pytest.raises(OSError):
        write_atomic(target, "new\n")
    assert target.is_dir()
    assert [path.name for path in tmp_path.iterdir()] == ["folder"]


# Terminal mode -----------------------------------------------------------


def test_error_then_session_goes_on(interactive: Captured) -> None:
    assert not interactive.repl.handle("1 + zz")
    assert interactive.repl.handle("2 + 2")
    assert "<repl>:1:5: undefined name `zz`" in interactive.err.getvalue()
    assert "line 2: 2 + 2 = 4" in interactive.out.getvalue()


def test_result_shows_input_as_typed(interactive: Captured) -> None:
    assert interactive.repl.handle("let a = 3; a * 2")
    assert interactive.repl.handle("eval a + 1")
    lines = interactive.out.getvalue().splitlines()
    assert lines == ["line 1: a * 2 = 6", "line 2: eval a + 1 = 4"]


def test_error_line_counts_session_lines(interactive: Captured) -> None:
    assert interactive.repl.handle("let a = (1 +\n 2)")
    assert interactive.repl.handle("")
    assert not interactive.repl.handle("a +\n  zz")
    # Lines 1-2 hold the `let`, line 3 is the empty input, `zz` is on line 5.
    assert "<repl>:5:3: undefined name `zz`" in interactive.err.getvalue()


def test_closed_form_pretty_printed(interactive: Captured) -> None:
    model = "model m(x; w, b) = w^2 * x / 3 + b\npoint p0 = {w: 1.0, b: 0.1}\n"
    assert interactive.repl.handle(model + "kernel K = ntk(m, at=p0)\nK(1, 2)")
    lines = interactive.out.getvalue().splitlines()
    row = next(i for i, line in enumerate(lines) if line.startswith("∂/∂w = "))
    # sympy's 2-D layout: numerator above the bar, denominator below it.
    assert "2⋅w⋅x" in lines[row - 1]
    assert "─────" in lines[row]
    assert lines[row + 1].strip() == "3"
    assert "∂/∂b = 1" in lines[row + 2]


@pytest.mark.parametrize(
    ("setup", "request_text"),
    [(SIGN_NEURON, LONG_MONTE_CARLO), (NETWORK, LONG_NETWORK_MONTE_CARLO)],
    ids=["symbolic", "network"],
)
def test_ctrl_c_cancels_computation(
    interactive: Captured, setup: str, request_text: str
) -> None:
    assert interactive.repl.handle(setup)
    interrupted: list[float] = []

    def interrupt() -> None:
        # interrupt_main raises KeyboardInterrupt in the main thread, as Ctrl-C does.
        interrupted.append(time.monotonic())
        _thread.interrupt_main()

    timer = threading.Timer(1.0, interrupt)
    timer.start()
    ok = interactive.repl.handle(request_text)
    stopped = time.monotonic()
    timer.cancel()
    timer.join()
    assert interrupted, "the Monte Carlo request ended before Ctrl-C"
    assert not ok
    assert stopped - interrupted[0] < 1.5
    assert "computation cancelled" in interactive.err.getvalue()
    assert interactive.repl.handle("1 + 1")
    assert "= 2" in interactive.out.getvalue()


def send_to_prompt(captured: Captured, keys: str, history: Path) -> int:
    """Type `keys` into a prompt_toolkit session and run the REPL loop on it."""
    with (
        create_pipe_input() as pipe_input,
        create_app_session(input=pipe_input, output=DummyOutput()),
    ):
        session = make_prompt_session(
            captured.repl,
            FileHistory(str(history)),
            input=pipe_input,
            output=DummyOutput(),
        )
        pipe_input.send_text(keys)
        return run_interactive(captured.repl, session)


def test_prompt_multiline_and_ctrl_d(interactive: Captured, tmp_path: Path) -> None:
    history = tmp_path / "history"
    keys = "let a = (1 +\r2)\ra * 10\r\x04"
    assert send_to_prompt(interactive, keys, history) == 0
    assert "line 3: a * 10 = 30" in interactive.out.getvalue()
    assert interactive.err.getvalue() == ""
    assert "let a = (1 +\n+2)" in history.read_text()


def test_prompt_ctrl_c_discards_line(interactive: Captured, tmp_path: Path) -> None:
    keys = "1 + zz\x03" + "2 * 4\r\x04"
    assert send_to_prompt(interactive, keys, tmp_path / "history") == 0
    assert interactive.err.getvalue() == ""
    # The discarded line never ran, so it takes no session line.
    assert "line 1: 2 * 4 = 8" in interactive.out.getvalue()


def test_prompt_quit_command(interactive: Captured, tmp_path: Path) -> None:
    keys = ":quit\r" + "5\r"
    assert send_to_prompt(interactive, keys, tmp_path / "history") == 0
    assert interactive.out.getvalue() == ""


def test_prompt_second_enter_runs_unfinished(
    interactive: Captured, tmp_path: Path
) -> None:
    keys = "let a = (1 +\r\r" + "\x04"
    assert send_to_prompt(interactive, keys, tmp_path / "history") == 0
    assert interactive.err.getvalue().startswith("<repl>:")


def test_history_path_follows_xdg(tmp_path: Path) -> None:
    state = str(tmp_path / "state")
    assert history_path({"XDG_STATE_HOME": state}) == Path(state, "nntk", "history")
    home = Path(os.path.expanduser("~"))
    default = home / ".local" / "state" / "nntk" / "history"
    assert history_path({}) == default
    assert history_path({"XDG_STATE_HOME": "relative/dir"}) == default


def test_main_repl_reads_piped_stdin(capsys: pytest.CaptureFixture[str]) -> None:
    status = main_repl(stdin=io.StringIO("let a = 1\neval a + 1\n"))
    captured = capsys.readouterr()
    assert status == 0
    assert captured.out == "2\n"
    assert captured.err == ""


# Real pipe and pseudo-terminal -------------------------------------------


def test_subprocess_pipe_prints_value(tmp_path: Path) -> None:
    completed = run_subprocess("let a = 1\neval a + 1\n", tmp_path)
    assert completed.returncode == 0
    assert completed.stdout == "2\n"
    assert completed.stderr == ""


def test_subprocess_pipe_error_status(tmp_path: Path) -> None:
    completed = run_subprocess("let a = (1 +\n  2)\na + zz\na\n", tmp_path)
    assert completed.returncode == 1
    assert completed.stdout == ""
    assert completed.stderr.splitlines()[0] == "<repl>:3:5: undefined name `zz`"
    assert "\x1b" not in completed.stderr


# Starts a new session with the pseudo-terminal on stdin as its controlling
# terminal, then runs the REPL, so that Ctrl-C there sends SIGINT to the REPL as
# a real terminal does.
TAKE_TERMINAL = (
    "import fcntl, os, sys, termios; os.setsid(); "
    "fcntl.ioctl(0, termios.TIOCSCTTY, 0); os.execv(sys.argv[1], sys.argv[1:])"
)


class Terminal:
    """The REPL in a subprocess on a pseudo-terminal."""

    def __init__(self, tmp_path: Path):
        self.fd, child = pty.openpty()
        environment = dict(
            os.environ,
            XDG_STATE_HOME=str(tmp_path / "state"),
            TERM="xterm",
            # The test reads the output but never replies to cursor position requests.
            PROMPT_TOOLKIT_NO_CPR="1",
        )
        self.process = subprocess.Popen(
            [sys.executable, "-c", TAKE_TERMINAL, *REPL_COMMAND],
            stdin=child,
            stdout=child,
            stderr=child,
            cwd=REPO_ROOT,
            env=environment,
        )
        os.close(child)
        self.output = b""
        self.cursor = 0

    def send(self, text: str) -> None:
        os.write(self.fd, text.encode())

    def wait_for(self, expected: str, timeout: float = 20.0) -> float:
        """Read until `expected` appears after the last match; return the seconds."""
        started = time.monotonic()
        while (found := self.output.find(expected.encode(), self.cursor)) < 0:
            remaining = started + timeout - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"{expected!r} not in {self.output[-500:]!r}")
            ready, _, _ = select.select([self.fd], [], [], remaining)
            if ready:
                try:
                    self.output += os.read(self.fd, 4096)
                except OSError as error:
                    # Linux reports EIO once the child has closed the terminal.
                    raise AssertionError(f"{expected!r} never came: {error}") from None
        self.cursor = found + len(expected)
        return time.monotonic() - started

    def close(self) -> int:
        status = self.process.wait(timeout=20)
        os.close(self.fd)
        return status


def test_pty_session(tmp_path: Path) -> None:
    terminal = Terminal(tmp_path)
    try:
        terminal.wait_for("nntk>")
        terminal.send("let a = 7\r")
        terminal.send("a * 6\r")
        terminal.wait_for("42")
        for line in SIGN_NEURON.splitlines():
            terminal.send(line + "\r")
        # A short request first, so that torch is loaded before the timed one.
        terminal.send(LONG_MONTE_CARLO.replace("100000000", "10000") + "\r")
        terminal.wait_for("∂/∂b")
        terminal.send(LONG_MONTE_CARLO + "\r")
        time.sleep(1.5)
        terminal.send("\x03")
        assert terminal.wait_for("computation cancelled", timeout=10.0) < 1.5
        terminal.wait_for("nntk>")
        terminal.send("\x04")
        assert terminal.close() == 0
    finally:
        if terminal.process.poll() is None:
            terminal.process.kill()
            terminal.process.wait()
    history = tmp_path / "state" / "nntk" / "history"
    assert "+a * 6" in history.read_text()


# Completion --------------------------------------------------------------


def completions(text: str, names: dict[str, str] | None = None) -> list[str]:
    completer = NntkCompleter(lambda: names or {})
    document = Document(text)
    return [
        completion.text
        for completion in completer.get_completions(document, CompleteEvent())
    ]


def test_complete_names_in_scope() -> None:
    names = {"neuron": "model neuron(x; w, b)", "net": "model net = mlp(...)"}
    assert completions("eval ne", names)[:2] == ["neuron", "net"]


def test_complete_keywords_and_builtins() -> None:
    assert "kernel" in completions("ker")
    assert "relu" in completions("eval re")
    assert "linspace" in completions("grid xs = lin")
    assert "ans" in completions("an")


def test_complete_only_matching_words() -> None:
    found = completions("eval tan")
    assert found == ["tanh"]
    assert completions("eval 1 + ") == []


def test_complete_commands_and_help_topics() -> None:
    assert completions(":lo") == [":load"]
    assert completions(":help bui") == ["builtins"]
    assert "relu" in completions(":help rel")


def test_complete_paths_after_load(tmp_path: Path) -> None:
    (tmp_path / "study.nntk").write_text("let a = 1\n")
    assert completions(f":load {tmp_path}/stu") == ["dy.nntk"]


def test_tab_completes_at_prompt(interactive: Captured, tmp_path: Path) -> None:
    assert interactive.repl.handle("let neuronal = 3")
    with (
        create_pipe_input() as pipe_input,
        create_app_session(input=pipe_input, output=DummyOutput()),
    ):
        session = make_prompt_session(
            interactive.repl,
            FileHistory(str(tmp_path / "history")),
            input=pipe_input,
            output=DummyOutput(),
        )

        def type_keys() -> None:
            # Completion runs in the background, so wait for it before Enter.
            pipe_input.send_text("neuro\t")
            deadline = time.monotonic() + 10
            while session.default_buffer.text != "neuronal":
                if time.monotonic() > deadline:
                    break
                time.sleep(0.01)
            pipe_input.send_text(" * 2\r")

        typist = threading.Thread(target=type_keys)
        typist.start()
        text = session.prompt()
        typist.join()
    assert text == "neuronal * 2"


def test_module_help_lists_flags() -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "nntk_lang.repl", "--help"],
        check=False,
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        timeout=60,
    )
    assert completed.returncode == 0
    for flag in ["--out", "--seed", "--samples", "--device"]:
        assert flag in completed.stdout


def test_command_argument_after_tab(piped: Captured, tmp_path: Path) -> None:
    spec = tmp_path / "one.nntk"
    spec.write_text("let a = 5\n")
    assert piped.piped(f":load\t{spec}\na\n") == 0
    assert piped.out.getvalue() == "5\n"
