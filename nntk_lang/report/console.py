"""Rich tables for results on a terminal, and plain values for pipes."""

from __future__ import annotations

import numpy as np
import sympy
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from nntk_lang.results import Result


def format_number(value: float, digits: int = 6) -> str:
    """Format a float with `digits` significant digits (exact zeros stay `0`)."""
    if value == 0:
        return "0"
    return f"{value:.{digits}g}"


def _cell(value: float, stderr: float | None) -> str:
    if stderr is None or not np.isfinite(stderr):
        return format_number(value)
    return f"{format_number(value)} ± {format_number(stderr, 2)}"


def _title(result: Result) -> str:
    estimate = result.estimate
    parts = [f"[bold]line {result.line}:[/bold] {escape(result.statement)}"]
    details = [estimate.method]
    if estimate.samples is not None:
        details.append(f"{estimate.samples} samples, seed {estimate.seed}")
    if estimate.estimator:
        details.append(estimate.estimator)
    if result.wall_time:
        details.append(f"{result.wall_time:.2f} s")
    parts.append(f"[dim]{'; '.join(details)}[/dim]")
    return "\n".join(parts)


def result_table(result: Result) -> Table:
    """Build the table of one result: rows and columns labelled by `result.labels`."""
    estimate = result.estimate
    value = np.atleast_2d(np.asarray(estimate.value, dtype=np.float64))
    if np.ndim(estimate.value) == 1 and "rows" not in result.labels:
        value = value.reshape(1, -1)
    stderr = None
    if estimate.stderr is not None:
        stderr = np.asarray(estimate.stderr, dtype=np.float64).reshape(value.shape)

    rows = result.labels.get("rows", [""] * value.shape[0])
    columns = result.labels.get("columns", [str(j) for j in range(value.shape[1])])
    table = Table()
    if value.shape[1] > _MAX_COLUMNS:
        # Network gradients have thousands of components: show the first few.
        table.caption = (
            f"first {_MAX_COLUMNS} of {value.shape[1]} columns; "
            "results.json has all of them"
        )
        value = value[:, :_MAX_COLUMNS]
        stderr = None if stderr is None else stderr[:, :_MAX_COLUMNS]
        columns = columns[:_MAX_COLUMNS]

    table.add_column(result.labels.get("corner", ""), style="bold")
    for column in columns:
        table.add_column(str(column), justify="right")
    for i, row in enumerate(rows):
        cells = [
            _cell(value[i, j], None if stderr is None else stderr[i, j])
            for j in range(value.shape[1])
        ]
        table.add_row(str(row), *cells)
    return table


_MAX_COMPARE_ROWS = 12
_MAX_COLUMNS = 6


def compare_table(result: Result) -> Table:
    """Build the table of a comparison: one row per entry, worst |z| first when cut."""
    estimate = result.estimate
    exact = np.asarray(estimate.info["exact"], dtype=np.float64)
    sampled = np.asarray(estimate.value, dtype=np.float64)
    stderr = np.asarray(estimate.stderr, dtype=np.float64)
    z = np.asarray(estimate.info["z"], dtype=np.float64)
    relative = np.asarray(estimate.info["relative_error"], dtype=np.float64)

    rows = result.labels.get("rows", [])
    columns = result.labels.get("columns", [])
    entries = list(np.ndindex(exact.shape))
    if len(entries) > _MAX_COMPARE_ROWS:
        entries.sort(
            key=lambda index: -abs(z[index]) if np.isfinite(z[index]) else -np.inf
        )
        entries = entries[:_MAX_COMPARE_ROWS]

    table = Table()
    for name in ("entry", "analytic", "Monte Carlo", "z", "rel. error"):
        table.add_column(name, justify="right" if name != "entry" else "left")
    for index in entries:
        i, j = index if len(index) == 2 else (index[0], 0)
        row_label = rows[i] if i < len(rows) else i
        column_label = columns[j] if j < len(columns) else j
        label = f"{row_label} | {column_label}"
        table.add_row(
            label,
            format_number(exact[index], 10),
            _cell(sampled[index], stderr[index]),
            f"{z[index]:+.2f}",
            format_number(relative[index], 2),
        )

    summary = result.table
    shown = f"{summary['entries']} entries"
    if len(entries) < summary["entries"]:
        shown += f" (the {len(entries)} with the largest |z| shown)"
    table.caption = (
        f"{shown}; max |z| = {summary['max_abs_z']:.2f}; "
        f"within 2 s.e.: {summary['within_2_stderr']:.0%}; "
        f"within 3 s.e.: {summary['within_3_stderr']:.0%}"
    )
    return table


def render_result(result: Result, console: Console) -> None:
    """Print one result: a table, and the closed form when there is one."""
    if result.kind != "value":
        console.print(_title(result))
    if result.kind == "compare":
        console.print(compare_table(result))
        for name in result.files:
            console.print(f"[dim]wrote[/dim] {name}")
        console.print()
        return
    if result.kind == "value":
        console.print(
            f"[bold]line {result.line}:[/bold] {escape(result.statement)} = "
            f"{render_value(result)}"
        )
        return
    # A plot's figure shows its values; its grid is too long for a readable table.
    if not (result.kind == "plot" and result.files):
        console.print(result_table(result))
    _print_closed_form(result, console)
    for name in result.files:
        console.print(f"[dim]wrote[/dim] {name}")
    console.print()


def _print_closed_form(result: Result, console: Console) -> None:
    """Print the closed form: sympy's 2-D layout when the expressions are there."""
    exprs = result.estimate.info.get("closed_form_exprs")
    if not exprs:
        closed_form = result.estimate.info.get("closed_form")
        if closed_form:
            console.print("[dim]closed form:[/dim]", escape(closed_form))
        return
    console.print("[dim]closed form:[/dim]")
    for param, expr in exprs.items():
        equation = sympy.Eq(sympy.Symbol(f"∂/∂{param}"), expr, evaluate=False)
        text = sympy.pretty(equation, use_unicode=True, num_columns=console.width)
        console.print(Text(text), soft_wrap=True)


def render_value(result: Result) -> str:
    """Return the plain text of a result's value, e.g. `2` for `1 + 1`.

    A one-entry vector or matrix, such as the kernel value `K(0.3, -0.5)`,
    prints as its number.
    """
    value = np.asarray(result.estimate.value, dtype=np.float64)
    if value.size == 1:
        value = value.reshape(())
    if value.ndim == 0:
        number = float(value)
        if number.is_integer() and abs(number) < 2**53:
            return str(int(number))
        return repr(number)
    return np.array2string(value, precision=8, separator=", ")
