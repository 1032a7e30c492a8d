"""Declared kernels, and helpers that read the syntax of request calls."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from nntk_lang import dispatch
from nntk_lang.results import Estimate
from nntk_lang.syntax import ast


@dataclass(frozen=True)
class KernelSpec:
    """A declared kernel: `nntk(model, op, at=p, ...)` or `ntk(model, at=p, ...)`."""

    name: str
    kind: str
    model: Any
    operator: Any
    theta: np.ndarray
    request: dispatch.RequestOptions
    width: float | None = None

    def describe(self) -> str:
        kind = "classical NTK" if self.kind == "ntk" else "NNTK"
        width = (
            ", infinite width"
            if self.width is not None and np.isinf(self.width)
            else ""
        )
        return f"{self.name}: {kind} of {self.model.name}{width}"


def fill_provenance(estimate: Estimate, request: dispatch.RequestOptions) -> None:
    if estimate.method == "mc":
        estimate.samples = estimate.samples or request.samples
        estimate.seed = request.seed if estimate.seed is None else estimate.seed


def provenance(estimate: Estimate) -> str:
    """Return the method of an estimate, with its sample count and seed if sampled."""
    if estimate.samples is None:
        return estimate.method
    return f"{estimate.method}, {estimate.samples} samples, seed {estimate.seed}"


def row_label(row: np.ndarray) -> str:
    return ", ".join(format(float(v), "g") for v in row)


def name_of(expr: ast.Expr) -> str:
    assert isinstance(expr, ast.Name), "the checker guarantees a name here"
    return expr.id


def name_arg(call: ast.Call, index: int) -> str:
    return name_of(call.args[index])


def word(expr: ast.Expr) -> str:
    """Return an enum-like keyword value (`method=mc`, `baseline=true`) as text."""
    if isinstance(expr, ast.Name):
        return expr.id
    if isinstance(expr, ast.String):
        return expr.value
    raise TypeError(f"expected a word, got {type(expr).__name__}")


def input_names(model) -> list[str]:
    from nntk_lang.ir.network import NetworkIR

    if isinstance(model, NetworkIR):
        if model.n_inputs == 1:
            return ["x"]
        return [f"x{i + 1}" for i in range(model.n_inputs)]
    return [symbol.name for symbol in model.inputs]


def n_inputs(model) -> int:
    return len(input_names(model))


def parameter_labels(model, estimate: Estimate) -> list[str]:
    from nntk_lang.ir.network import NetworkIR

    if isinstance(model, NetworkIR):
        return [f"θ{j}" for j in range(np.shape(estimate.value)[1])]
    return [f"∂/∂{p.name}" for p in model.params]
