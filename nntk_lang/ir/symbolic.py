"""Symbolic models and targets: sympy expressions in named inputs and parameters."""

from __future__ import annotations

from dataclasses import dataclass

import sympy


def real_symbol(name: str) -> sympy.Symbol:
    """Return the real sympy symbol nntk uses for an input or parameter `name`."""
    return sympy.Symbol(name, real=True)


@dataclass(frozen=True)
class SymbolicModelIR:
    """f(x; θ) as a sympy expression.

    Attributes:
        name: the model's name in the spec.
        inputs: input symbols, in declaration order.
        params: parameter symbols, in declaration order; θ ∈ R^d with d = len(params).
        expr: the model's value; it contains no other free symbols.
    """

    name: str
    inputs: tuple[sympy.Symbol, ...]
    params: tuple[sympy.Symbol, ...]
    expr: sympy.Expr

    @property
    def n_params(self) -> int:
        return len(self.params)

    @property
    def n_inputs(self) -> int:
        return len(self.inputs)


@dataclass(frozen=True)
class TargetIR:
    """A target function y(x) as a sympy expression in its inputs."""

    name: str
    inputs: tuple[sympy.Symbol, ...]
    expr: sympy.Expr
