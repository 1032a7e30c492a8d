"""The classical gradient and NTK by symbolic differentiation.

Derivatives are taken almost everywhere: sign, step, floor, ceil and round have
derivative 0 (also at their jumps), relu' = step so relu'(0) = 0, and abs' = sign.
"""

from __future__ import annotations

import sympy

from nntk_lang.analytic.closed_form import ClosedForm, ClosedKernel
from nntk_lang.analytic.ridge import split_terms
from nntk_lang.ir.primitives import Step
from nntk_lang.ir.symbolic import SymbolicModelIR


def classical_gradient(model: SymbolicModelIR) -> ClosedForm:
    """Return ∇θ f with the almost-everywhere derivatives of the builtins."""
    # Differentiate only the terms that contain each parameter: a width-n network
    # has O(n) terms and O(n) parameters, and sympy's diff would visit every term
    # for every parameter.
    terms = split_terms(_freeze(model.expr), model.params)
    terms_of: dict[sympy.Symbol, list[sympy.Expr]] = {p: [] for p in model.params}
    for term in terms:
        for symbol in term.free_symbols:
            if symbol in terms_of:
                terms_of[symbol].append(term)
    return ClosedForm(
        tuple(_derivative(sympy.Add(*terms_of[p]), p) for p in model.params),
        model,
        "classical gradient",
    )


def classical_ntk(model: SymbolicModelIR) -> ClosedKernel:
    """Return the classical NTK K(x, x') = ⟨∇θ f(x), ∇θ f(x')⟩."""
    return ClosedKernel(classical_gradient(model))


def _freeze(expr: sympy.Expr) -> sympy.Expr:
    # sympy differentiates floor to an unevaluated Derivative and sign to a Dirac
    # delta; both are 0 almost everywhere, so they become constant placeholders.
    return expr.replace(
        lambda e: isinstance(e, (sympy.floor, sympy.ceiling, sympy.sign)),
        lambda e: _Constant(e.args[0], sympy.Symbol(e.func.__name__)),
    )


def _derivative(frozen: sympy.Expr, param: sympy.Symbol) -> sympy.Expr:
    result = sympy.diff(frozen, param)
    # Max and Min give Heaviside, which becomes step so that the value at a tie
    # follows step(0) = 0.
    result = result.replace(sympy.Heaviside, lambda *args: Step(args[0]))
    return result.replace(lambda e: isinstance(e, _Constant), _restore)


class _Constant(sympy.Function):
    """A placeholder for a piecewise-constant builtin: derivative 0 everywhere."""

    nargs = 2

    def fdiff(self, argindex=1):
        return sympy.S.Zero


def _restore(placeholder: sympy.Expr) -> sympy.Expr:
    arg, name = placeholder.args
    return {"floor": sympy.floor, "ceiling": sympy.ceiling, "sign": sympy.sign}[
        str(name)
    ](arg)
