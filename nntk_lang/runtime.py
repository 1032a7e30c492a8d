"""Execute checked statements in order, holding the names they declare.

The runtime reads syntax, gets lowered values from `ir.lower.Scope`, and hands
requests to `dispatch`, which picks a backend. It never builds sympy or torch objects
itself.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import sympy
from rich.console import Console

from nntk_lang import dispatch
from nntk_lang.errors import (
    Cancelled,
    ConfigError,
    NoClosedForm,
    ResourceLimitError,
    SpecError,
)
from nntk_lang.report.console import render_result
from nntk_lang.report.json_out import ResultsFile
from nntk_lang.report.progress import DelayedProgress
from nntk_lang.requests import (
    KernelSpec,
    fill_provenance,
    input_names,
    n_inputs,
    name_arg,
    name_of,
    parameter_labels,
    row_label,
    word,
)
from nntk_lang.results import Estimate, Result
from nntk_lang.studies import StudyStatements
from nntk_lang.signatures import SIGNATURES
from nntk_lang.syntax import ast

logger = logging.getLogger("nntk")

# The language's default sample count, from the one table of call signatures.
_DEFAULT_SAMPLES = int(SIGNATURES["grad"].keyword("samples").default)
# Defaults come from the signatures, which the reference and the help print.
_DEFAULT_SAMPLER = str(SIGNATURES["grad"].keyword("sampler").default)
_DEFAULT_BASELINE = bool(SIGNATURES["grad"].keyword("baseline").default)


@dataclass
class RunOptions:
    """Settings of a run that the command line sets.

    Attributes:
        out_dir: folder for results.json and figures; None writes nothing.
        seed: default seed of requests that give no `seed=`.
        samples: default sample count of requests that give no `samples=`.
        device: "auto", "cpu" or "cuda".
        dtype: evaluation dtype of Monte Carlo work ("float64" or "float32").
        memory_bytes: memory budget for Monte Carlo chunks; None = from free memory.
        symbolic_timeout: seconds of symbolic work per closed form.
        cache_dir: closed-form cache; None = the default under XDG_CACHE_HOME.
        quiet: no progress bars.
        print_results: print a table per result on `console`.
    """

    out_dir: Path | None = None
    seed: int | None = None
    samples: int | None = None
    device: str = "auto"
    dtype: str = "float64"
    memory_bytes: int | None = None
    symbolic_timeout: float = 30.0
    cache_dir: Path | None = None
    quiet: bool = False
    print_results: bool = True
    max_samples: int = 10**8
    max_grid: int = 10**6


@dataclass
class _Session:
    results: list[Result] = field(default_factory=list)
    accepted: list[str] = field(default_factory=list)
    # `ans` as `accepted` names it (`ans_1`, ...) and its declaration, which
    # goes into `accepted` before the first statement that reads it.
    ans_count: int = 0
    ans_name: str | None = None
    ans_declaration: str | None = None


class Runtime(StudyStatements):
    """Runs spec files or REPL input against one environment of names."""

    def __init__(
        self, options: RunOptions | None = None, console: Console | None = None
    ):
        self.options = options or RunOptions()
        self.console = console or Console()
        self._cancel_event = threading.Event()
        self._results_file: ResultsFile | None = None
        self.reset()

    # Session ---------------------------------------------------------------

    def reset(self) -> None:
        """Forget every name and result of the session."""
        from nntk_lang.check import Checker, Limits
        from nntk_lang.ir.lower import Scope

        self.checker = Checker(
            Limits(max_samples=self.options.max_samples, max_grid=self.options.max_grid)
        )
        self.scope = Scope()
        self.session = _Session()
        self._gram_cache: dict[tuple, tuple[KernelSpec, Estimate]] = {}
        self._current_source: ast.Program | None = None

    def set_ans(self, estimate: Estimate) -> None:
        """Bind `ans` to the last result: a number as a `let`, a vector as a grid.

        One-entry results (`K(0.3, -0.5)` is a 1 x 1 matrix) become numbers and
        one-row or one-column matrices become grids. The language has no matrix
        values, so after any other matrix `ans` is undefined.
        """
        from nntk_lang.session_ans import ans_declaration

        value = np.squeeze(np.asarray(estimate.value, dtype=np.float64))
        self.scope.forget("ans")
        if value.ndim == 0:
            self.scope.bind_let("ans", float(value))
            self.checker.bind_session_name("ans", "let", sympy.Float(float(value), 17))
        elif value.ndim == 1:
            self.scope.bind("ans", value)
            self.checker.bind_session_name("ans", "grid")
        else:
            self.checker.symbols.pop("ans", None)
        session = self.session
        session.ans_count += 1
        session.ans_name = f"ans_{session.ans_count}"
        session.ans_declaration = (
            ans_declaration(session.ans_name, value) if value.ndim <= 1 else None
        )

    def cancel(self) -> None:
        """Ask the running computation to stop; it raises `Cancelled` within a chunk."""
        self._cancel_event.set()

    def _check_cancel(self) -> None:
        if self._cancel_event.is_set():
            self._cancel_event.clear()
            raise Cancelled("computation cancelled")

    def names(self) -> dict[str, str]:
        """Return each name in scope with a short description of what it is."""
        described = {}
        for name, symbol in self.checker.symbols.items():
            detail = ""
            if symbol.kind == "def":
                detail = f"({', '.join(symbol.params)})"
            elif symbol.params:
                detail = f"({', '.join(symbol.inputs)}; {', '.join(symbol.params)})"
            elif symbol.inputs:
                detail = f"({', '.join(symbol.inputs)})"
            elif symbol.kind == "let" and symbol.value is not None:
                detail = f" = {_let_text(symbol.value)}"
            described[name] = f"{symbol.kind} {name}{detail}"
        return described

    def accepted_source(self) -> str:
        """Return the accepted statements of the session as spec text."""
        return "".join(
            text if text.endswith("\n") else text + "\n"
            for text in self.session.accepted
        )

    # Entry points ----------------------------------------------------------

    def run_file(self, path: Path) -> list[Result]:
        """Parse, check and run a spec file; write results.json when out_dir is set."""
        from nntk_lang.syntax.parser import parse
        from nntk_lang.syntax.source import read_source

        path = Path(path)
        text = read_source(path)
        program = parse(text, str(path))
        if self.options.out_dir is not None:
            self._results_file = ResultsFile(self.options.out_dir, str(path))
            self._results_file.write()
        return self._run_program(program)

    def execute_text(
        self, text: str, path: str = "<repl>", first_line: int = 1
    ) -> list[Result]:
        """Parse, check and run `text` in the current session (the REPL's entry)."""
        from nntk_lang.syntax.parser import parse

        # Blank lines in front make spans count the session's lines, not the chunk's.
        program = parse("\n" * (first_line - 1) + text, path)
        return self._run_program(program)

    def _run_program(self, program: ast.Program) -> list[Result]:
        # A cancel request that arrived after the previous statement ended is stale.
        self._cancel_event.clear()
        checked = self.checker.check_statements(program)
        results: list[Result] = []
        for item in checked.statements:
            results.extend(self._run_statement(item.statement, item.program))
            if item.program is program:
                self._accept(item.statement, program)
        return results

    def _accept(self, statement: ast.Statement, program: ast.Program) -> None:
        """Record a statement for `accepted_source`, with `ans` renamed to `ans_N`."""
        from nntk_lang.session_ans import ans_references, renamed_text

        session = self.session
        if session.ans_name is None or not ans_references(statement):
            session.accepted.append(program.text_of(statement.span))
            return
        if session.ans_declaration is not None:
            session.accepted.append(session.ans_declaration)
            session.ans_declaration = None
        session.accepted.append(renamed_text(program, statement, session.ans_name))

    # Statements ------------------------------------------------------------

    def _run_statement(
        self, statement: ast.Statement, source: ast.Program
    ) -> list[Result]:
        handler = getattr(self, f"_run_{type(statement).__name__}", None)
        if handler is None:
            raise SpecError(
                f"`{_keyword_of(statement)}` statements are not supported yet",
                statement.span,
                hint="remove the statement; this version of nntk cannot run it",
                source=source.source,
            )
        started = time.perf_counter()
        self._current_source = source
        try:
            # Non-finite values are reported once, by _require_finite, not as
            # numpy warnings from the closed-form evaluation.
            with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
                produced = handler(statement, source)
        except NoClosedForm as exc:
            raise SpecError(
                f"no closed form for this request: {exc.reason}",
                statement.span,
                hint="use method=auto to fall back to Monte Carlo, or method=mc",
                source=source.source,
            ) from exc
        except MemoryError as exc:
            raise SpecError(
                "ran out of memory while running this statement",
                statement.span,
                hint="use a smaller network, fewer samples or a coarser grid",
                source=source.source,
            ) from exc
        except (ConfigError, ResourceLimitError) as exc:
            # Backends raise these without a span, so they get the statement's span.
            raise SpecError(
                str(exc),
                statement.span,
                hint="change the value the message names",
                source=source.source,
            ) from exc
        if produced is None:
            return []
        results = produced if isinstance(produced, list) else [produced]
        for result in results:
            _require_finite(result, statement, source)
        elapsed = time.perf_counter() - started
        for result in results:
            result.wall_time = result.wall_time or elapsed
            self._publish(result)
        return results

    def _publish(self, result: Result) -> None:
        self.session.results.append(result)
        if self._results_file is not None:
            self._results_file.add(result)
        if self.options.print_results:
            render_result(result, self.console)

    def _declare(self, statement, source) -> None:
        self.scope.declare(statement)

    _run_Let = _declare
    _run_Def = _declare
    _run_Target = _declare
    _run_SymbolicModel = _declare
    _run_OperatorDecl = _declare
    _run_GridDecl = _declare

    def _run_Import(self, statement, source) -> None:
        # The checker has already inlined the imported statements.
        return None

    def _run_PointDecl(self, statement: ast.PointDecl, source) -> None:
        if isinstance(statement.value, ast.PointLit):
            self.scope.declare(statement)
            return
        self.scope.bind(statement.name.name, self._built_point(statement.value, source))

    def _run_NetworkModel(self, statement: ast.NetworkModel, source) -> None:
        from nntk_lang.ir.network import mlp_from_options
        from nntk_lang.signatures import SIGNATURES

        options = self.scope.arguments(statement.value, SIGNATURES["mlp"])
        options = {key: value for key, value in options.items() if value is not None}
        self.scope.bind(
            statement.name.name, mlp_from_options(statement.name.name, options)
        )

    def _built_point(self, call: ast.Call, source: ast.Program):
        """Return the parameters that `init(net, seed=)` or `load("file.npz")` give."""
        from nntk_lang.ir.network import init
        from nntk_lang.signatures import SIGNATURES

        arguments = self.scope.arguments(call, SIGNATURES[call.func])
        if call.func == "init":
            return init(arguments["net"], int(arguments["seed"]))
        return _LoadedPoint(
            _spec_relative(source, call, arguments["path"]), call, source
        )

    def _run_KernelDecl(self, statement: ast.KernelDecl, source) -> None:
        spec = self._kernel_spec(statement.value, statement.name.name)
        self.scope.bind(statement.name.name, spec)

    def _kernel_spec(self, call: ast.Call, name: str) -> KernelSpec:
        """Build the kernel that `nntk(...)` or `ntk(...)` describes."""
        model = self._model(name_arg(call, 0))
        theta = self._theta(model, call)
        request = self._request_options(call)
        operator = None
        if call.func == "nntk":
            operator = self._operator_arg(call, 1)
        width_kw = call.keyword("width")
        width = self.scope.number(width_kw.value) if width_kw else None
        return KernelSpec(name, call.func, model, operator, theta, request, width)

    def _subject_kernel(self, subject: ast.Expr, text: str) -> KernelSpec:
        """Return the kernel a `compare`/`plot`/`fit` names or writes inline."""
        if isinstance(subject, ast.Name):
            return self.scope.get(subject.id)
        return self._kernel_spec(subject, text)

    def _run_Eval(self, statement: ast.Eval, source) -> Result:
        value = statement.value
        text = source.text_of(statement.span)
        if isinstance(value, ast.Call) and value.func == "grad":
            return self._grad(value, text, statement.span.line)
        if isinstance(value, ast.Call) and isinstance(
            self.scope.get(value.func), KernelSpec
        ):
            return self._kernel_value(value, text, statement.span.line)
        number = self.scope.number(value)
        return Result(
            text,
            statement.span.line,
            "value",
            Estimate(value=np.asarray(number, dtype=np.float64), method="exact"),
        )

    # Requests --------------------------------------------------------------

    def _context(
        self, description: str, enabled: bool = True
    ) -> tuple[dispatch.BackendContext, DelayedProgress]:
        progress = DelayedProgress(
            self.console, description, enabled=enabled and not self.options.quiet
        )
        context = dispatch.BackendContext(
            device=self.options.device,
            dtype=self.options.dtype,
            memory_bytes=self.options.memory_bytes,
            symbolic_timeout=self.options.symbolic_timeout,
            cache_dir=self.options.cache_dir,
            progress=progress,
            cancel=self._check_cancel,
            max_samples=self.options.max_samples,
        )
        return context, progress

    def _request_options(
        self, keywords, base: dispatch.RequestOptions | None = None
    ) -> dispatch.RequestOptions:
        """Read `samples=`, `seed=`, `method=`, ... from keywords over `base`."""
        if isinstance(keywords, ast.Call):
            keywords = keywords.kwargs
        by_name = {keyword.name: keyword for keyword in keywords}
        request = base or dispatch.RequestOptions(
            samples=self.options.samples or _DEFAULT_SAMPLES,
            seed=self.options.seed if self.options.seed is not None else 0,
            sampler=_DEFAULT_SAMPLER,
            baseline=_DEFAULT_BASELINE,
        )
        changes: dict[str, Any] = {}
        for name in ("samples", "seed"):
            keyword = by_name.get(name)
            if keyword is not None:
                changes[name] = int(self.scope.number(keyword.value))
        for name in ("method", "sampler", "estimator"):
            keyword = by_name.get(name)
            if keyword is not None:
                changes[name] = word(keyword.value)
        keyword = by_name.get("baseline")
        if keyword is not None:
            changes["baseline"] = word(keyword.value) == "true"
        return replace(request, **changes)

    def _model(self, name: str):
        """Return the symbolic model or network called `name`."""
        from nntk_lang.ir.network import NetworkIR

        value = self.scope.get(name)
        if isinstance(value, NetworkIR):
            return value
        return self.scope.model(name)

    def _theta(self, model, call: ast.Call) -> np.ndarray | None:
        """Return the parameter vector that `at=` gives, in the model's order."""
        from nntk_lang.ir.network import NetworkIR, load_point

        keyword = call.keyword("at")
        if keyword is None:
            return None  # width=inf kernels need no point
        expr = keyword.value
        if isinstance(expr, ast.PointLit):
            value = self.scope.point_value(expr)
        elif isinstance(expr, ast.Call):
            value = self._built_point(expr, self._current_source)
        else:
            value = self.scope.get(name_of(expr))
        if isinstance(value, _LoadedPoint):
            if not isinstance(model, NetworkIR):
                raise value.error("an .npz point needs a network model")
            try:
                value = load_point(model, value.path)
            except ConfigError as exc:
                hint = (
                    "save W1, b1, W2, ... with numpy.savez, shaped as init() makes them"
                )
                raise value.error(str(exc), hint) from exc
        if isinstance(model, NetworkIR):
            if isinstance(value, dict):
                raise SpecError(
                    f"network `{model.name}` takes a point from init() or load(), "
                    "not a literal",
                    expr.span,
                    hint=f"write `point q = init({model.name}, seed=0)`",
                    source=self._current_source.source,
                )
            theta = np.asarray(value, dtype=np.float64).reshape(-1)
            if theta.shape[0] != model.n_params:
                raise SpecError(
                    f"the point has {theta.shape[0]} parameters but network "
                    f"`{model.name}` has {model.n_params}",
                    expr.span,
                    hint=f"initialise the point from `{model.name}` itself",
                    source=self._current_source.source,
                )
            return theta
        return np.array(
            [value[symbol.name] for symbol in model.params], dtype=np.float64
        )

    def _operator_arg(self, call: ast.Call, index: int) -> Any:
        """Return the operator argument of `call`, declared by name or written inline."""
        expr = call.args[index]
        if isinstance(expr, ast.Call):
            return self.scope.operator_value(expr)
        return self.scope.operator(name_of(expr))

    def _grad(self, call: ast.Call, text: str, line: int) -> Result:
        model = self._model(name_arg(call, 0))
        operator = self._operator_arg(call, 1)
        theta = self._theta(model, call)
        xs, rows = self._inputs_from_keywords(model, call)
        request = self._request_options(call)
        estimate = self._gradient(model, operator, theta, xs, request)
        labels = {
            "rows": rows,
            "columns": parameter_labels(model, estimate),
            "corner": ", ".join(input_names(model)),
        }
        return Result(text, line, "grad", estimate, labels)

    def _gradient(
        self, model, operator, theta, xs, request, quiet: bool = False
    ) -> Estimate:
        from nntk_lang import dispatch_network
        from nntk_lang.ir.network import NetworkIR

        context, progress = self._context(f"grad {model.name}", enabled=not quiet)
        try:
            if isinstance(model, NetworkIR):
                estimate = dispatch_network.network_gradient(
                    model, operator, theta, xs, request, context
                )
            else:
                estimate = dispatch.gradient(
                    model, operator, theta, xs, request, context
                )
        finally:
            progress.close()
        fill_provenance(estimate, request)
        return estimate

    def _inputs_from_keywords(
        self, model, call: ast.Call
    ) -> tuple[np.ndarray, list[str]]:
        columns = []
        for name in input_names(model):
            keyword = call.keyword(name)
            columns.append(self._points(keyword.value))
        if not columns:
            return np.zeros((1, 0)), [""]
        length = max(len(column) for column in columns)
        columns = [np.broadcast_to(column, (length,)) for column in columns]
        xs = np.stack(columns, axis=1)
        rows = [", ".join(format(v, "g") for v in row) for row in xs]
        return xs, rows

    def _points(self, expr: ast.Expr) -> np.ndarray:
        """Return a number, a list, `linspace(...)` or a grid name as a 1-D array."""
        is_grid = (
            isinstance(expr, ast.ListLit)
            or (isinstance(expr, ast.Call) and expr.func == "linspace")
            or (
                isinstance(expr, ast.Name)
                and isinstance(self.scope.get(expr.id), np.ndarray)
                if isinstance(expr, ast.Name) and expr.id in self.scope
                else False
            )
        )
        if is_grid:
            return np.atleast_1d(
                np.asarray(self.scope.grid_value(expr), dtype=np.float64)
            )
        return np.array([self.scope.number(expr)], dtype=np.float64)

    def _kernel_points(self, expr: ast.Expr, n_inputs: int) -> np.ndarray:
        values = self._points(expr)
        if n_inputs <= 1:
            return (
                values.reshape(-1, n_inputs if n_inputs else 0)
                if n_inputs
                else np.zeros((1, 0))
            )
        return values.reshape(-1, n_inputs)

    def _kernel_value(self, call: ast.Call, text: str, line: int) -> Result:
        spec: KernelSpec = self.scope.get(call.func)
        request = self._request_options(call, base=spec.request)
        n_in = n_inputs(spec.model)
        x1 = self._kernel_points(call.args[0], n_in)
        x2 = self._kernel_points(call.args[1], n_in)
        estimate = self.evaluate_kernel(spec, x1, x2, request)
        labels = {
            "rows": [row_label(r) for r in x1],
            "columns": [row_label(r) for r in x2],
            "corner": "x \\ x'",
        }
        return Result(text, line, "kernel", estimate, labels)

    def evaluate_kernel(
        self,
        spec: KernelSpec,
        x1: np.ndarray,
        x2: np.ndarray,
        request: dispatch.RequestOptions | None = None,
    ) -> Estimate:
        """Evaluate a declared kernel on two sets of inputs."""
        request = request or spec.request
        from nntk_lang import dispatch_network
        from nntk_lang.ir.network import NetworkIR

        context, progress = self._context(f"kernel {spec.name}")
        try:
            if isinstance(spec.model, NetworkIR) and spec.kind == "ntk":
                estimate = dispatch_network.network_classical_ntk(
                    spec.model, spec.theta, x1, x2, request, spec.width
                )
            elif isinstance(spec.model, NetworkIR):
                estimate = dispatch_network.network_kernel(
                    spec.model,
                    spec.operator,
                    spec.theta,
                    x1,
                    x2,
                    request,
                    context,
                    spec.width,
                )
            elif spec.kind == "ntk":
                estimate = dispatch.classical_ntk(
                    spec.model, spec.theta, x1, x2, request, context
                )
            else:
                estimate = dispatch.kernel(
                    spec.model, spec.operator, spec.theta, x1, x2, request, context
                )
        finally:
            progress.close()
        fill_provenance(estimate, request)
        return estimate


def _require_finite(result: Result, statement: ast.Statement, source) -> None:
    """Raise when a gradient or kernel value is NaN or infinite."""
    if result.kind not in ("grad", "kernel", "plot"):
        return
    value = np.asarray(result.estimate.value, dtype=np.float64)
    bad = int(np.count_nonzero(~np.isfinite(value)))
    if bad == 0:
        return
    raise SpecError(
        f"{bad} of {value.size} values of this {result.kind} are NaN or infinite",
        statement.span,
        hint="the model is undefined or overflows near the point (log or sqrt of a "
        "negative number, exp of a large one); change the point, the scale or "
        "the model",
        source=source.source,
    )


def _let_text(value: sympy.Expr) -> str:
    """Return a `let` value as `:env` shows it: exact, or a float to 15 digits."""
    if isinstance(value, sympy.Float):
        return format(float(value), ".15g")
    return sympy.sstr(value)


def _keyword_of(statement) -> str:
    return type(statement).__name__.lower()


@dataclass(frozen=True)
class _LoadedPoint:
    """`load("file.npz")`: read when a network request names it."""

    path: Path
    call: ast.Call
    source: ast.Program

    def error(self, message: str, hint: str = "use load() with a network") -> SpecError:
        return SpecError(message, self.call.span, hint=hint, source=self.source.source)


def _spec_relative(source: ast.Program, call: ast.Call, name: str) -> Path:
    """Resolve `name` against the spec's folder, rejecting paths that leave it."""
    folder = (
        Path(source.path).resolve().parent
        if Path(source.path).is_file()
        else Path.cwd().resolve()
    )
    path = (folder / name).resolve()
    if folder not in path.parents:
        raise SpecError(
            f"`{name}` is outside the spec's folder {folder}",
            call.span,
            hint="copy the .npz file next to the spec and load it by its name",
            source=source.source,
        )
    return path
