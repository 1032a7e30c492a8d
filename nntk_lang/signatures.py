"""The callable forms of the language beyond the builtins, and statement options.

One table serves the checker, which validates arguments against it, and the
runtime, which reads defaults from it:

    SIGNATURES["grad"].keyword("samples").default      # 10000
    OPTIONS["train"].keyword("steps").default           # 1000
    KERNEL_CALL.keyword("method").choices               # ("auto", "analytic", "mc")

Choice values are the bare names a spec writes (`method=mc`); boolean parameters
take `true` or `false` and their defaults are Python booleans.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Kind(enum.Enum):
    """The kind of value an argument must be; each value is the phrase that
    error messages use."""

    NUMBER = "a number"
    POSITIVE = "a positive number"
    NONNEGATIVE = "a non-negative number"
    POSITIVE_OR_INF = "a positive number or `inf`"
    COUNT = "an integer >= 1"
    SEED = "an integer >= 0"
    WIDTH = "an integer >= 1 or `inf`"
    CHOICE = "one of the listed names"
    BOOLEAN = "`true` or `false`"
    STRING = "a string"
    INPUT = "an input value (a number, or a list with one number per input)"
    MODEL = "a model"
    NETWORK = "a network model built by `mlp`"
    OPERATOR = "an operator"
    POINT = "a point"
    GRID = "a grid (`linspace(a, b, n)`, a list of numbers or a grid name)"
    KERNEL_SHAPE = "`gaussian(gamma)` or `ball(delta)`"
    SCORE = "`output`, `distance` or an expression in `df` and `dist`"
    ACTIVATION = "the name of a one-argument builtin or def"


class _Required:
    """Marker for a parameter without a default."""

    def __repr__(self) -> str:
        return "REQUIRED"


REQUIRED = _Required()

Default = float | int | str | bool | None | _Required


@dataclass(frozen=True)
class Parameter:
    """One parameter of a callable form.

    Attributes:
        name: the parameter name; keyword arguments use it.
        kind: what the argument must be.
        default: the value when the argument is absent. `REQUIRED` marks an
            argument that must be given, and None an argument whose absence has
            a meaning of its own, which `doc` explains.
        choices: the allowed names for `Kind.CHOICE`.
        positional: whether it may also be passed by position (in table order).
        doc: one line for the language reference and hints.
    """

    name: str
    kind: Kind
    default: Default = REQUIRED
    choices: tuple[str, ...] = ()
    positional: bool = False
    doc: str = ""

    @property
    def required(self) -> bool:
        return self.default is REQUIRED

    def describe(self) -> str:
        """Return the phrase for what this argument must be."""
        if self.kind is Kind.CHOICE:
            return "one of " + ", ".join(f"`{choice}`" for choice in self.choices)
        return self.kind.value


@dataclass(frozen=True)
class Signature:
    """A callable form: its parameters in order and the kind of value it builds.

    Attributes:
        name: the name a spec calls it by.
        params: positional parameters first, then keyword-only ones.
        returns: what the call builds ("kernel shape", "operator", "grid",
            "kernel", "network", "point", "value" or "options").
        input_keywords: whether the model's inputs are also accepted as keywords
            (`grad(m, S, at=p, x=0.3)`).
        doc: one line for the language reference.
    """

    name: str
    params: tuple[Parameter, ...]
    returns: str
    input_keywords: bool = False
    doc: str = ""

    @property
    def positional(self) -> tuple[Parameter, ...]:
        return tuple(param for param in self.params if param.positional)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(param.name for param in self.params)

    def parameter(self, name: str) -> Parameter | None:
        """Return the parameter called `name`, or None if there is none."""
        for param in self.params:
            if param.name == name:
                return param
        return None

    def keyword(self, name: str) -> Parameter:
        """Return the parameter called `name`; raise KeyError if there is none."""
        param = self.parameter(name)
        if param is None:
            raise KeyError(f"`{self.name}` has no parameter `{name}`")
        return param

    def defaults(self) -> dict[str, Default]:
        """Return the default of every parameter that has one."""
        return {
            param.name: param.default for param in self.params if not param.required
        }


def _request_options() -> tuple[Parameter, ...]:
    """Return the options every request takes: samples, seed and method."""
    return (
        Parameter("samples", Kind.COUNT, 10_000, doc="Monte Carlo sample count"),
        Parameter("seed", Kind.SEED, 0, doc="seed of the random samples"),
        Parameter(
            "method",
            Kind.CHOICE,
            "auto",
            ("auto", "analytic", "mc"),
            doc="`analytic` needs a closed form; `auto` falls back to Monte Carlo",
        ),
    )


_SAMPLER = Parameter(
    "sampler",
    Kind.CHOICE,
    "antithetic",
    ("iid", "antithetic", "sobol"),
    doc="independent draws, antithetic pairs or scrambled Sobol points",
)
_BASELINE = Parameter(
    "baseline",
    Kind.BOOLEAN,
    True,
    doc="subtract f(θ) from each f(θ+z), as the operator's definition does",
)
_ESTIMATOR = Parameter(
    "estimator",
    Kind.CHOICE,
    "unbiased",
    ("unbiased", "psd"),
    doc="`unbiased` drops the m = m' terms of the sample Gram; `psd` keeps them",
)
_BLOCKS = Parameter(
    "blocks",
    Kind.CHOICE,
    "all",
    ("all", "layer", "neuron"),
    doc="perturb all parameters together, or each layer or neuron separately",
)
_AT = Parameter(
    "at",
    Kind.POINT,
    None,
    doc="the parameter point θ; required unless width=inf",
)
_WIDTH = Parameter(
    "width",
    Kind.WIDTH,
    None,
    doc="hidden width of a network; `inf` takes the infinite-width limit",
)
_MODEL = Parameter("model", Kind.MODEL, positional=True, doc="the model f(x; θ)")
_OPERATOR = Parameter(
    "op", Kind.OPERATOR, positional=True, doc="a declared or inline operator"
)
_KERNEL = Parameter(
    "kernel", Kind.KERNEL_SHAPE, positional=True, doc="the distribution ρ of z"
)


def _table(*signatures: Signature) -> dict[str, Signature]:
    return {signature.name: signature for signature in signatures}


SIGNATURES: dict[str, Signature] = _table(
    Signature(
        "gaussian",
        (Parameter("gamma", Kind.POSITIVE, positional=True, doc="scale γ"),),
        "kernel shape",
        doc="ρ(z) ∝ exp(−‖z‖²/γ²), that is z ~ N(0, γ²/2 I)",
    ),
    Signature(
        "ball",
        (Parameter("delta", Kind.POSITIVE, positional=True, doc="radius δ"),),
        "kernel shape",
        doc="Uniform z on the ball ‖z‖ ≤ δ",
    ),
    Signature(
        "nonlocal",
        (
            _KERNEL,
            Parameter(
                "normalize",
                Kind.CHOICE,
                "consistent",
                ("consistent", "density"),
                doc="`consistent` multiplies by d so that G f = ∇f for affine f",
            ),
            _BLOCKS,
        ),
        "operator",
        doc="The nonlocal gradient G f(θ) = c ∫ (f(θ+z) − f(θ)) z/‖z‖² ρ(z) dz",
    ),
    Signature(
        "smoothing",
        (
            Parameter("sigma", Kind.POSITIVE, positional=True, doc="smoothing scale σ"),
            _BLOCKS,
        ),
        "operator",
        doc="S f(θ) = σ⁻¹ E[f(θ + σu) u], the gradient of f smoothed by N(0, σ²I)",
    ),
    Signature(
        "attention",
        (
            _KERNEL,
            Parameter(
                "score",
                Kind.SCORE,
                "output",
                doc="`output` scores −df², `distance` scores −dist²",
            ),
            Parameter("tau", Kind.POSITIVE, 1.0, doc="softmax temperature"),
        ),
        "operator",
        doc="G with softmax(score/τ) weights over the samples",
    ),
    Signature(
        "linspace",
        (
            Parameter("a", Kind.NUMBER, positional=True, doc="first point"),
            Parameter("b", Kind.NUMBER, positional=True, doc="last point"),
            Parameter("n", Kind.COUNT, positional=True, doc="number of points"),
        ),
        "grid",
        doc="Evenly spaced points from a to b, both included",
    ),
    Signature(
        "nntk",
        (
            _MODEL,
            _OPERATOR,
            _AT,
            _WIDTH,
            *_request_options(),
            _SAMPLER,
            _BASELINE,
            _ESTIMATOR,
        ),
        "kernel",
        doc="the NNTK ⟨op f(x; θ), op f(x'; θ)⟩",
    ),
    Signature(
        "ntk",
        (_MODEL, _AT, _WIDTH, *_request_options()),
        "kernel",
        doc="the classical NTK ⟨∇θ f(x; θ), ∇θ f(x'; θ)⟩",
    ),
    Signature(
        "grad",
        (_MODEL, _OPERATOR, _AT, *_request_options(), _SAMPLER, _BASELINE),
        "value",
        input_keywords=True,
        doc="The operator applied to f at one input, given by keywords named after the inputs",
    ),
    Signature(
        "mlp",
        (
            Parameter("in", Kind.COUNT, 1, doc="input dimension"),
            Parameter("width", Kind.COUNT, doc="hidden width"),
            Parameter("depth", Kind.COUNT, 1, doc="number of hidden layers"),
            Parameter("act", Kind.ACTIVATION, "relu", doc="activation"),
            Parameter("out", Kind.COUNT, 1, doc="output dimension"),
            Parameter(
                "param",
                Kind.CHOICE,
                "ntk",
                ("ntk", "standard"),
                doc="NTK or standard parameterisation",
            ),
            Parameter("W_std", Kind.POSITIVE, 1.0, doc="weight standard deviation"),
            Parameter("b_std", Kind.NONNEGATIVE, 1.0, doc="bias standard deviation"),
            Parameter("bias", Kind.BOOLEAN, True, doc="whether layers have biases"),
        ),
        "network",
        doc="A fully connected network",
    ),
    Signature(
        "init",
        (
            Parameter("net", Kind.NETWORK, positional=True, doc="the network"),
            Parameter("seed", Kind.SEED, 0, doc="seed of the initialisation"),
        ),
        "point",
        doc="A random initialisation of a network's parameters",
    ),
    Signature(
        "load",
        (Parameter("path", Kind.STRING, positional=True, doc="the .npz file"),),
        "point",
        doc="Parameters from an .npz file, relative to the spec's folder",
    ),
)

KERNEL_CALL = Signature(
    "K",
    (
        Parameter("x1", Kind.INPUT, positional=True, doc="first input"),
        Parameter("x2", Kind.INPUT, positional=True, doc="second input"),
        *_request_options(),
    ),
    "value",
    doc="One value K(x1, x2) of a declared kernel",
)

OPTIONS: dict[str, Signature] = _table(
    Signature(
        "compare",
        (*_request_options(), _SAMPLER, _ESTIMATOR),
        "options",
        doc="Options of `compare`: closed form against Monte Carlo on a grid",
    ),
    Signature(
        "plot",
        _request_options(),
        "options",
        doc="Options of `plot`: a kernel or target on a grid",
    ),
    Signature(
        "fit",
        (
            Parameter("ridge", Kind.NONNEGATIVE, 0.0, doc="ridge added to the Gram"),
            Parameter(
                "time",
                Kind.POSITIVE_OR_INF,
                None,
                doc="gradient-flow time; absent means the converged fit",
            ),
            Parameter("lr", Kind.POSITIVE, None, doc="learning rate of the flow"),
            *_request_options(),
        ),
        "options",
        doc="Options of `fit`: kernel regression of a target with each kernel",
    ),
    Signature(
        "train",
        (
            Parameter("steps", Kind.COUNT, 1000, doc="number of training steps"),
            Parameter("lr", Kind.POSITIVE, 0.01, doc="learning rate"),
            Parameter(
                "points",
                Kind.GRID,
                None,
                doc="training inputs (default `linspace(-1, 1, 32)`)",
            ),
            Parameter(
                "test",
                Kind.GRID,
                None,
                doc="test inputs (default `linspace(-1, 1, 201)`)",
            ),
            *_request_options(),
            _SAMPLER,
        ),
        "options",
        doc="Options of `train`: gradient descent with the operator in place of ∇θ",
    ),
)

REQUEST_NAMES = frozenset({"nntk", "ntk", "grad"})


def _default_text(param: Parameter) -> str:
    if param.required:
        return "required"
    if param.default is None:
        return "none"
    if isinstance(param.default, bool):
        return "`true`" if param.default else "`false`"
    return f"`{param.default}`"


def reference_tables() -> str:
    """Return the Markdown tables of every signature, for docs/language.md."""
    sections = []
    for signature in (*SIGNATURES.values(), KERNEL_CALL, *OPTIONS.values()):
        rows = [
            f"### `{signature.name}`",
            "",
            signature.doc + ".",
            "",
            "| parameter | value | default | meaning |",
            "|---|---|---|---|",
        ]
        rows += [
            f"| `{p.name}` | {p.describe()} | {_default_text(p)} | {p.doc} |"
            for p in signature.params
        ]
        sections.append("\n".join(rows))
    return "\n\n".join(sections)
