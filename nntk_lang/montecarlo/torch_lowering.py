"""Lowering of symbolic models from sympy to torch.

The lowering walks the sympy tree once and returns nested Python closures over
torch operations; it never generates or executes source text. Each closure maps
`(inputs [N, n_in], params [M, d])` to a tensor of shape [N, M]. Every leaf,
constants included, is broadcast to [N, M], so every node gets the same shape.

Dispatch goes by sympy class: a `_lower_<ClassName>` method where a node needs
its own rule, and `FUNCTIONS` for plain elementwise functions.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable

import sympy
import torch

from nntk_lang.ir.primitives import Relu, Step
from nntk_lang.ir.symbolic import SymbolicModelIR

Lowered = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
"""A lowered node: (inputs [N, n_in], params [M, d]) -> values [N, M]."""


def _step(t: torch.Tensor) -> torch.Tensor:
    return (t > 0).to(t.dtype)


FUNCTIONS: dict[type, Callable[[torch.Tensor], torch.Tensor]] = {
    sympy.exp: torch.exp,
    sympy.log: torch.log,
    sympy.sin: torch.sin,
    sympy.cos: torch.cos,
    sympy.tan: torch.tan,
    sympy.tanh: torch.tanh,
    sympy.erf: torch.erf,
    sympy.erfc: torch.special.erfc,
    sympy.sign: torch.sign,
    sympy.Abs: torch.abs,
    sympy.floor: torch.floor,
    sympy.ceiling: torch.ceil,
    Step: _step,
    # torch.relu has derivative 0 at 0, which matches relu'(0) = step(0) = 0.
    Relu: torch.relu,
}
"""Elementwise sympy functions of one argument and the torch call for each."""

_COMPARISONS: dict[str, Callable[[torch.Tensor, torch.Tensor], torch.Tensor]] = {
    "StrictLessThan": torch.lt,
    "LessThan": torch.le,
    "StrictGreaterThan": torch.gt,
    "GreaterThan": torch.ge,
    "Equality": torch.eq,
    "Unequality": torch.ne,
}


class TorchModel:
    """A symbolic model lowered to torch.

    Call it as `model(inputs, params)` with inputs [N, n_in] and params [M, d];
    it returns f(x_n; θ_m) as a tensor [N, M] in the dtype of `params`. It is
    differentiable wherever the torch operations are, so torch.func applies.
    """

    def __init__(self, ir: SymbolicModelIR, lowered: Lowered):
        self.ir = ir
        self._lowered = lowered

    @property
    def n_inputs(self) -> int:
        return self.ir.n_inputs

    @property
    def n_params(self) -> int:
        return self.ir.n_params

    def __call__(self, inputs: torch.Tensor, params: torch.Tensor) -> torch.Tensor:
        if inputs.ndim != 2 or inputs.shape[1] != self.n_inputs:
            raise ValueError(
                f"`inputs` must have shape [N, {self.n_inputs}], got "
                f"{tuple(inputs.shape)}"
            )
        if params.ndim != 2 or params.shape[1] != self.n_params:
            raise ValueError(
                f"`params` must have shape [M, {self.n_params}], got "
                f"{tuple(params.shape)}"
            )
        return self._lowered(inputs.to(params.dtype), params)


def compile_model(model: SymbolicModelIR) -> TorchModel:
    """Lower `model.expr` to a `TorchModel`.

    Raises:
        NotImplementedError: the expression contains a sympy class that has no
            torch lowering; the message names the class.
    """
    lowering = TorchLowering(model.inputs, model.params)
    return TorchModel(model, lowering.lower(model.expr))


def _shape(inputs: torch.Tensor, params: torch.Tensor) -> tuple[int, int]:
    return inputs.shape[0], params.shape[0]


class TorchLowering:
    """Turns a sympy expression into a closure over torch operations."""

    def __init__(
        self, inputs: tuple[sympy.Symbol, ...], params: tuple[sympy.Symbol, ...]
    ):
        self.inputs = {symbol: index for index, symbol in enumerate(inputs)}
        self.params = {symbol: index for index, symbol in enumerate(params)}

    def lower(self, expr: sympy.Basic) -> Lowered:
        """Lower one node and, recursively, its arguments."""
        if isinstance(expr, sympy.Expr) and not expr.free_symbols:
            return self._lower_constant(expr)
        method = getattr(self, f"_lower_{type(expr).__name__}", None)
        if method is not None:
            return method(expr)
        function = FUNCTIONS.get(type(expr))
        if function is not None:
            (argument,) = [self.lower(arg) for arg in expr.args]
            return lambda inputs, params: function(argument(inputs, params))
        raise NotImplementedError(
            f"no torch lowering for sympy class `{type(expr).__name__}` (in `{expr}`)"
        )

    def _lower_constant(self, expr: sympy.Expr) -> Lowered:
        value = complex(expr.evalf(30))
        if value.imag != 0 or value.real != value.real:
            raise ValueError(f"constant `{expr}` is not a real number")

        def constant(inputs: torch.Tensor, params: torch.Tensor) -> torch.Tensor:
            return torch.full(
                _shape(inputs, params),
                value.real,
                dtype=params.dtype,
                device=params.device,
            )

        return constant

    def _lower_Symbol(self, expr: sympy.Symbol) -> Lowered:
        if expr in self.inputs:
            index = self.inputs[expr]
            return lambda inputs, params: inputs[:, index, None].expand(
                _shape(inputs, params)
            )
        if expr in self.params:
            index = self.params[expr]
            return lambda inputs, params: params[None, :, index].expand(
                _shape(inputs, params)
            )
        raise ValueError(f"symbol `{expr}` is neither an input nor a parameter")

    def _lower_Add(self, expr: sympy.Add) -> Lowered:
        terms = [self.lower(arg) for arg in expr.args]
        return lambda inputs, params: functools.reduce(
            operator.add, [term(inputs, params) for term in terms]
        )

    def _lower_Mul(self, expr: sympy.Mul) -> Lowered:
        factors = [self.lower(arg) for arg in expr.args]
        return lambda inputs, params: functools.reduce(
            operator.mul, [factor(inputs, params) for factor in factors]
        )

    def _lower_Pow(self, expr: sympy.Pow) -> Lowered:
        base = self.lower(expr.base)
        exponent = expr.exp
        if exponent.free_symbols:
            power = self.lower(exponent)
            return lambda inputs, params: torch.pow(
                base(inputs, params), power(inputs, params)
            )
        if exponent.is_Integer:
            count = int(exponent)
            if count >= 0:
                return lambda inputs, params: base(inputs, params) ** count
            return lambda inputs, params: 1.0 / base(inputs, params) ** (-count)
        if exponent.is_Rational and exponent.q == 2:
            # Half-integer powers go through sqrt, so negative bases give NaN
            # as sympy's real branch would be undefined, and x**(1/2) = sqrt(x).
            count = int(exponent.p)
            if count > 0:
                return lambda inputs, params: torch.sqrt(base(inputs, params)) ** count
            return lambda inputs, params: (
                1.0 / torch.sqrt(base(inputs, params)) ** (-count)
            )
        value = float(exponent)
        return lambda inputs, params: torch.pow(base(inputs, params), value)

    def _lower_Min(self, expr: sympy.Min) -> Lowered:
        return self._reduce(expr, torch.minimum)

    def _lower_Max(self, expr: sympy.Max) -> Lowered:
        return self._reduce(expr, torch.maximum)

    def _reduce(
        self,
        expr: sympy.Basic,
        pair: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    ) -> Lowered:
        arguments = [self.lower(arg) for arg in expr.args]
        return lambda inputs, params: functools.reduce(
            pair, [argument(inputs, params) for argument in arguments]
        )

    def _lower_Heaviside(self, expr: sympy.Heaviside) -> Lowered:
        argument = self.lower(expr.args[0])
        # sympy 1.14 stores H0 = 1/2 when Heaviside(x) is built with one argument.
        at_zero = self.lower(expr.args[1] if len(expr.args) > 1 else sympy.S.Half)

        def heaviside(inputs: torch.Tensor, params: torch.Tensor) -> torch.Tensor:
            # torch.heaviside has no derivative in torch 2.13, but the where form
            # has derivative 0, as the classical NTK takes for jumps.
            t = argument(inputs, params)
            jump = torch.where(t == 0, at_zero(inputs, params), torch.zeros_like(t))
            return torch.where(t > 0, torch.ones_like(t), jump)

        return heaviside

    def _lower_Piecewise(self, expr: sympy.Piecewise) -> Lowered:
        branches = [(self.lower(e), self.lower_condition(c)) for e, c in expr.args]

        def piecewise(inputs: torch.Tensor, params: torch.Tensor) -> torch.Tensor:
            # The first true condition wins, so fold from the last branch back.
            # NOTE: autodiff through torch.where gives NaN where an unselected
            # branch has an infinite or NaN derivative (sqrt of t <= 0, log at 0).
            # Where no condition is true the value is NaN, as sympy leaves it undefined.
            result = torch.full(
                _shape(inputs, params),
                float("nan"),
                dtype=params.dtype,
                device=params.device,
            )
            for value, condition in reversed(branches):
                result = torch.where(
                    condition(inputs, params), value(inputs, params), result
                )
            return result

        return piecewise

    def lower_condition(self, condition: sympy.Basic) -> Lowered:
        """Lower a boolean condition to a closure returning a bool tensor [N, M]."""
        if condition is sympy.true or condition is sympy.false:
            truth = bool(condition)
            return lambda inputs, params: torch.full(
                _shape(inputs, params), truth, dtype=torch.bool, device=params.device
            )
        name = type(condition).__name__
        if name in _COMPARISONS:
            compare = _COMPARISONS[name]
            left, right = (self.lower(arg) for arg in condition.args)
            return lambda inputs, params: compare(
                left(inputs, params), right(inputs, params)
            )
        if name in ("And", "Or"):
            combine = torch.logical_and if name == "And" else torch.logical_or
            parts = [self.lower_condition(arg) for arg in condition.args]
            return lambda inputs, params: functools.reduce(
                combine, [part(inputs, params) for part in parts]
            )
        if name == "Not":
            (inner,) = [self.lower_condition(arg) for arg in condition.args]
            return lambda inputs, params: torch.logical_not(inner(inputs, params))
        raise NotImplementedError(
            f"no torch lowering for sympy condition class `{name}` (in `{condition}`)"
        )
