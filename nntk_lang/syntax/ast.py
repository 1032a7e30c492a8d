"""The syntax tree of an `.nntk` file: frozen dataclasses that carry source spans.

Node names follow the aliases in `grammar/nntk.lark`. Expressions are pure data;
statements keep their span so that results and errors can point back to the text.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Union

from nntk_lang.errors import Span

# Expressions ---------------------------------------------------------------


@dataclass(frozen=True)
class Number:
    """A numeric literal; `text` is kept so closed forms can use exact rationals."""

    span: Span
    value: float
    text: str


@dataclass(frozen=True)
class String:
    span: Span
    value: str


@dataclass(frozen=True)
class Name:
    span: Span
    id: str


@dataclass(frozen=True)
class BinOp:
    """`left op right` with op one of `+ - * / ^`."""

    span: Span
    op: str
    left: Expr
    right: Expr


@dataclass(frozen=True)
class UnaryOp:
    """`-operand` or `+operand`."""

    span: Span
    op: str
    operand: Expr


@dataclass(frozen=True)
class Comparison:
    """`left op right` with op one of `< <= > >= == !=`; valid only inside where()."""

    span: Span
    op: str
    left: Expr
    right: Expr


@dataclass(frozen=True)
class Keyword:
    span: Span
    name: str
    value: Expr


@dataclass(frozen=True)
class Call:
    """`func(args..., name=value...)`; `func_span` covers the callee's name."""

    span: Span
    func: str
    func_span: Span
    args: tuple[Expr, ...]
    kwargs: tuple[Keyword, ...]

    def keyword(self, name: str) -> Keyword | None:
        for keyword in self.kwargs:
            if keyword.name == name:
                return keyword
        return None


@dataclass(frozen=True)
class ListLit:
    """`[a, b, ...]`."""

    span: Span
    items: tuple[Expr, ...]


@dataclass(frozen=True)
class PointEntry:
    span: Span
    name: str
    value: Expr


@dataclass(frozen=True)
class PointLit:
    """`{w: 1.0, b: 0.1}`."""

    span: Span
    entries: tuple[PointEntry, ...]


Expr = Union[Number, String, Name, BinOp, UnaryOp, Comparison, Call, ListLit, PointLit]


# Statements ----------------------------------------------------------------


@dataclass(frozen=True)
class Ident:
    """A declared name with its own span (for duplicate and unused-name errors)."""

    span: Span
    name: str


@dataclass(frozen=True)
class Import:
    """`import module` (a stdlib module) or `import "path.nntk"` (relative to the file)."""

    span: Span
    module: str | None
    path: str | None


@dataclass(frozen=True)
class Let:
    span: Span
    name: Ident
    value: Expr


@dataclass(frozen=True)
class Def:
    """`def f(t, u) = expr`: a pure function of its arguments."""

    span: Span
    name: Ident
    params: tuple[Ident, ...]
    body: Expr


@dataclass(frozen=True)
class Target:
    """`target f(x) = expr`: a function of inputs only."""

    span: Span
    name: Ident
    inputs: tuple[Ident, ...]
    body: Expr


@dataclass(frozen=True)
class SymbolicModel:
    """`model m(x; w, b) = expr`: inputs before `;`, parameters after."""

    span: Span
    name: Ident
    inputs: tuple[Ident, ...]
    params: tuple[Ident, ...]
    body: Expr


@dataclass(frozen=True)
class NetworkModel:
    """`model net = mlp(...)`: a model built by an architecture call."""

    span: Span
    name: Ident
    value: Call


@dataclass(frozen=True)
class OperatorDecl:
    """`operator G = nonlocal(gaussian(0.5))`, `smoothing(sigma=0.1)`, ..."""

    span: Span
    name: Ident
    value: Call


@dataclass(frozen=True)
class PointDecl:
    """`point p = {w: 1.0}` or `point q = init(net, seed=0)` or `load("p.npz")`."""

    span: Span
    name: Ident
    value: PointLit | Call


@dataclass(frozen=True)
class GridDecl:
    """`grid xs = linspace(-1, 1, 101)` or `grid xs = [0.1, 0.2]`."""

    span: Span
    name: Ident
    value: Expr


@dataclass(frozen=True)
class KernelDecl:
    """`kernel K = nntk(model, op, at=p)` or `kernel K0 = ntk(model, at=p)`."""

    span: Span
    name: Ident
    value: Call


@dataclass(frozen=True)
class Eval:
    """`eval expr`: a gradient request, a kernel value or plain arithmetic."""

    span: Span
    value: Expr


@dataclass(frozen=True)
class Compare:
    """`compare K on xs with samples=N, seed=S`."""

    span: Span
    subject: Expr
    grid: Expr
    options: tuple[Keyword, ...]


@dataclass(frozen=True)
class Fit:
    """`fit target with K1, K2 on TRAIN test TEST [ridge=..] [time=..] [lr=..]`."""

    span: Span
    target: Name
    kernels: tuple[Name, ...]
    train: Expr
    test: Expr
    options: tuple[Keyword, ...]


@dataclass(frozen=True)
class Train:
    """`train net on target at q0 using G with steps=.., lr=.., samples=.., seed=..`."""

    span: Span
    model: Name
    target: Name
    point: Name
    operator: Name
    options: tuple[Keyword, ...]


@dataclass(frozen=True)
class Plot:
    """`plot K on xs`."""

    span: Span
    subject: Name
    grid: Expr
    options: tuple[Keyword, ...]


Statement = Union[
    Import,
    Let,
    Def,
    Target,
    SymbolicModel,
    NetworkModel,
    OperatorDecl,
    PointDecl,
    GridDecl,
    KernelDecl,
    Eval,
    Compare,
    Fit,
    Train,
    Plot,
]


@dataclass(frozen=True)
class Program:
    """A parsed file: its path, its whole text and its statements in order."""

    path: str
    source: str
    statements: tuple[Statement, ...]

    def text_of(self, span: Span) -> str:
        """Return the source text that `span` covers."""
        return self.source[span.start_pos : span.end_pos]
