"""Tests of the grammar and of `nntk_lang.syntax.parser`."""

from __future__ import annotations

import ast as python_ast
from fractions import Fraction

import pytest

from nntk_lang.errors import SpecError
from nntk_lang.syntax import ast
from nntk_lang.syntax.parser import _lark, is_incomplete, parse

DRAFT = """\
import activations                      # stdlib first, then the spec's folder
let gamma = 0.5
def sawtooth2(t) = t - floor(t + 1/2)
target saw(x) = sawtooth2(3*x)
model neuron(x; w, b) = sign(w*x + b)   # inputs before ';', parameters after
model net = mlp(in=1, width=512, depth=1, act=relu, out=1, param=ntk)
operator G = nonlocal(gaussian(gamma))
operator S = smoothing(sigma=0.1)
operator A = attention(gaussian(0.5), score=output, tau=1.0)
point p0 = {w: 1.0, b: 0.1}
point q0 = init(net, seed=0)
grid xs = linspace(-1, 1, 101)
kernel K  = nntk(neuron, G, at=p0)
kernel K0 = ntk(neuron, at=p0)          # classical NTK, by autodiff
kernel Ki = nntk(net, S, width=inf)     # infinite-width limit

eval grad(neuron, S, at=p0, x=0.3)
eval K(0.3, -0.5)
compare K on xs with samples=100000, seed=0
fit saw with K, K0 on linspace(-1, 1, 32) test linspace(-1, 1, 201)
train net on saw at q0 using G with steps=2000, lr=0.05, samples=256, seed=0
plot K on xs
import "lib/extra.nntk"
point q1 = load("q1.npz")
grid ys = [0.1, 0.2]
fit saw with K on xs test ys ridge=1e-3, lr=0.5
plot saw on [0, 1] with samples=10
"""

STATEMENT_TYPES = [
    ast.Import,
    ast.Let,
    ast.Def,
    ast.Target,
    ast.SymbolicModel,
    ast.NetworkModel,
    ast.OperatorDecl,
    ast.OperatorDecl,
    ast.OperatorDecl,
    ast.PointDecl,
    ast.PointDecl,
    ast.GridDecl,
    ast.KernelDecl,
    ast.KernelDecl,
    ast.KernelDecl,
    ast.Eval,
    ast.Eval,
    ast.Compare,
    ast.Fit,
    ast.Train,
    ast.Plot,
    ast.Import,
    ast.PointDecl,
    ast.GridDecl,
    ast.Fit,
    ast.Plot,
]


def parse_expression(text: str) -> ast.Expr:
    (statement,) = parse(f"eval {text}", "expr.nntk").statements
    return statement.value


def syntax_error(text: str) -> SpecError:
    with pytest.raises(SpecError) as info:
        parse(text, "bad.nntk")
    return info.value


# Statements


def test_parse_draft_statement_types():
    program = parse(DRAFT, "draft.nntk")
    assert [type(statement) for statement in program.statements] == STATEMENT_TYPES


def test_parse_program_keeps_path_and_source():
    program = parse(DRAFT, "draft.nntk")
    assert program.path == "draft.nntk"
    assert program.source == DRAFT


def test_parse_imports():
    module, path = parse('import activations\nimport "lib/a.nntk"', "f").statements
    assert (module.module, module.path) == ("activations", None)
    assert (path.module, path.path) == (None, "lib/a.nntk")


def test_parse_symbolic_model_inputs_and_params():
    (model,) = parse("model m(x, y; w, b) = w*x + b*y", "f").statements
    assert [ident.name for ident in model.inputs] == ["x", "y"]
    assert [ident.name for ident in model.params] == ["w", "b"]
    assert isinstance(model.body, ast.BinOp)


def test_parse_model_without_inputs():
    (model,) = parse("model m(; w) = w", "f").statements
    assert model.inputs == ()
    assert [ident.name for ident in model.params] == ["w"]


def test_parse_def_without_params():
    (definition,) = parse("def one() = 1", "f").statements
    assert definition.params == ()


def test_parse_call_arguments():
    call = parse_expression("grad(m, S, at=p0, x=0.3)")
    assert isinstance(call, ast.Call)
    assert call.func == "grad"
    assert [arg.id for arg in call.args] == ["m", "S"]
    assert [keyword.name for keyword in call.kwargs] == ["at", "x"]
    assert call.keyword("x").value.value == 0.3
    assert call.keyword("missing") is None


def test_parse_point_literal():
    (point,) = parse("point p = {w: 1.0, b: -0.1,}", "f").statements
    assert isinstance(point.value, ast.PointLit)
    assert [entry.name for entry in point.value.entries] == ["w", "b"]
    assert isinstance(point.value.entries[1].value, ast.UnaryOp)


def test_parse_compare_options():
    (compare,) = parse("compare K on xs with samples=10, seed=1", "f").statements
    assert compare.subject == ast.Name(compare.subject.span, "K")
    assert [option.name for option in compare.options] == ["samples", "seed"]


def test_parse_fit_without_options():
    (fit,) = parse("fit y with K1, K2 on xs test ys", "f").statements
    assert [kernel.id for kernel in fit.kernels] == ["K1", "K2"]
    assert fit.options == ()


def test_parse_fit_options_with_and_without_keyword():
    bare, with_keyword = parse(
        "fit y with K on xs test ys ridge=0.1\nfit y with K on xs test ys with ridge=0.1",
        "f",
    ).statements
    assert [option.name for option in bare.options] == ["ridge"]
    assert [option.name for option in with_keyword.options] == ["ridge"]


def test_parse_train_names():
    (train,) = parse("train net on saw at q0 using G", "f").statements
    names = (train.model, train.target, train.point, train.operator)
    assert [name.id for name in names] == ["net", "saw", "q0", "G"]
    assert train.options == ()


def test_parse_string_escapes():
    (statement,) = parse(r'point q = load("a\"b\\c.npz")', "f").statements
    assert statement.value.args[0].value == 'a"b\\c.npz'


# Precedence and associativity, checked against Python's own parser

PRECEDENCE_CASES = [
    "1 - 2 - 3",
    "8 / 2 / 2",
    "2 ^ 3 ^ 2",
    "-2 ^ 2",
    "2 ^ -1",
    "-2 ^ -2",
    "2 * 3 + 4 / 5",
    "2 + 3 * 4 ^ 2",
    "-3 * -2",
    "(1 + 2) * 3",
    "+3 - -2",
    "2 - -2 ^ 2",
    "2 ^ -2 ^ -1",
    "1 / 2 * 3",
    "-(1 - 4) ^ 2",
    "3 * -2 ^ 2",
    "1 - 2 < 3 * 4",
]

_PYTHON_BINARY = {
    python_ast.Add: "+",
    python_ast.Sub: "-",
    python_ast.Mult: "*",
    python_ast.Div: "/",
    python_ast.Pow: "^",
}
_PYTHON_UNARY = {python_ast.USub: "-", python_ast.UAdd: "+"}


def tree_of_python(node: python_ast.AST) -> tuple | Fraction:
    """Return Python's parse of an expression as nested tuples."""
    if isinstance(node, python_ast.Constant):
        return Fraction(node.value)
    if isinstance(node, python_ast.BinOp):
        return (
            _PYTHON_BINARY[type(node.op)],
            tree_of_python(node.left),
            tree_of_python(node.right),
        )
    if isinstance(node, python_ast.UnaryOp):
        return (_PYTHON_UNARY[type(node.op)], tree_of_python(node.operand))
    if isinstance(node, python_ast.Compare):
        assert isinstance(node.ops[0], python_ast.Lt)
        return ("<", tree_of_python(node.left), tree_of_python(node.comparators[0]))
    raise TypeError(type(node))


def tree_of_nntk(expr: ast.Expr) -> tuple | Fraction:
    """Return nntk's parse of an expression as nested tuples."""
    if isinstance(expr, ast.Number):
        return Fraction(expr.text)
    if isinstance(expr, (ast.BinOp, ast.Comparison)):
        return (expr.op, tree_of_nntk(expr.left), tree_of_nntk(expr.right))
    if isinstance(expr, ast.UnaryOp):
        return (expr.op, tree_of_nntk(expr.operand))
    raise TypeError(type(expr))


def value_of(tree: tuple | Fraction) -> Fraction | float | bool:
    if not isinstance(tree, tuple):
        return tree
    if len(tree) == 2:
        operand = value_of(tree[1])
        return -operand if tree[0] == "-" else operand
    op, left, right = tree[0], value_of(tree[1]), value_of(tree[2])
    if op == "^":
        return left**right
    operations = {
        "+": lambda: left + right,
        "-": lambda: left - right,
        "*": lambda: left * right,
        "/": lambda: left / right,
        "<": lambda: left < right,
    }
    return operations[op]()


@pytest.mark.parametrize("text", PRECEDENCE_CASES)
def test_precedence_matches_python(text: str):
    python_tree = tree_of_python(
        python_ast.parse(text.replace("^", "**"), mode="eval").body
    )
    nntk_tree = tree_of_nntk(parse_expression(text))
    assert nntk_tree == python_tree
    assert value_of(nntk_tree) == value_of(python_tree)


def test_power_binds_tighter_than_unary_minus():
    assert value_of(tree_of_nntk(parse_expression("-2^2"))) == -4
    assert value_of(tree_of_nntk(parse_expression("2^-1"))) == Fraction(1, 2)
    assert value_of(tree_of_nntk(parse_expression("2^3^2"))) == 512


def test_comparisons_do_not_chain():
    error = syntax_error("eval 1 < 2 < 3")
    assert (error.span.line, error.span.column) == (1, 12)
    assert error.message == "unexpected `<`"


# Numbers


@pytest.mark.parametrize(
    "text, value",
    [
        ("3", 3.0),
        ("0.25", 0.25),
        (".5", 0.5),
        ("1.", 1.0),
        ("1e-3", 0.001),
        ("2.5E+4", 25000.0),
        ("7e2", 700.0),
    ],
)
def test_number_literals(text: str, value: float):
    number = parse_expression(text)
    assert isinstance(number, ast.Number)
    assert number.value == value
    assert number.text == text


def test_number_then_name_is_an_error():
    error = syntax_error("eval 2x")
    assert error.message == "unexpected name `x`"


# Layout: separators, newlines and comments


def test_no_trailing_newline():
    program = parse("let a = 1\nlet b = 2", "f")
    assert len(program.statements) == 2


def test_semicolon_separators():
    program = parse("let a = 1; let b = 2;let c = 3;", "f")
    assert [statement.name.name for statement in program.statements] == [
        "a",
        "b",
        "c",
    ]


def test_blank_and_comment_lines():
    text = "\n\n# header\n  \nlet a = 1  # trailing\n\n# only a comment\n;;\n"
    program = parse(text, "f")
    assert len(program.statements) == 1


def test_empty_file():
    assert parse("", "f").statements == ()
    assert parse("# nothing\n", "f").statements == ()


def test_comment_at_end_without_newline():
    assert len(parse("let a = 1 # done", "f").statements) == 1


def test_crlf_line_endings():
    program = parse("let a = 1\r\nlet b = 2\r\n", "f")
    assert len(program.statements) == 2


def test_multi_line_call():
    text = "kernel K = nntk(\n    neuron,  # the model\n    G,\n\n    at=p0,\n)\neval 1"
    kernel, evaluation = parse(text, "f").statements
    assert [keyword.name for keyword in kernel.value.kwargs] == ["at"]
    assert (kernel.span.line, kernel.span.end_line) == (1, 6)
    assert evaluation.span.line == 7


def test_multi_line_list_and_point():
    text = "grid xs = [\n 0.1,\n 0.2\n]\npoint p = {\n w: 1,\n b: 2\n}"
    grid, point = parse(text, "f").statements
    assert len(grid.value.items) == 2
    assert len(point.value.entries) == 2


def test_newline_ends_a_statement_outside_brackets():
    error = syntax_error("let a = 1 +\n2")
    assert (error.span.line, error.span.column) == (1, 12)
    assert error.message == "unexpected end of line"


# Keywords as names


def test_keywords_inside_names():
    program = parse("let atan2 = 1\nlet test_x = atan2\nlet online = 2", "f")
    assert [statement.name.name for statement in program.statements] == [
        "atan2",
        "test_x",
        "online",
    ]


def test_keywords_as_plain_names():
    program = parse("let at = 1\nlet on = at\neval test + with", "f")
    assert program.statements[1].value.id == "at"
    assert isinstance(program.statements[2].value, ast.BinOp)


def test_keywords_as_keyword_argument_names():
    call = parse_expression("f(at=p0, on=1, test=2, with=3, using=4)")
    assert [keyword.name for keyword in call.kwargs] == [
        "at",
        "on",
        "test",
        "with",
        "using",
    ]


def test_keyword_option_names_in_statements():
    (fit,) = parse("fit y with K on xs test ys with test=1, at=2", "f").statements
    assert [option.name for option in fit.options] == ["test", "at"]


# Spans


def test_spans_are_one_based():
    program = parse("let a = 1\n  eval  foo(2)", "f.nntk")
    evaluation = program.statements[1]
    assert evaluation.span == ast.Span("f.nntk", 2, 3, 2, 15, 12, 24)
    call = evaluation.value
    assert (call.func_span.line, call.func_span.column) == (2, 9)
    assert (call.func_span.end_column) == 12


def test_text_of_span():
    program = parse("let a = 1\nkernel K = nntk(m, G, at=p)  # note", "f")
    kernel = program.statements[1]
    assert program.text_of(kernel.span) == "kernel K = nntk(m, G, at=p)"
    assert program.text_of(kernel.value.kwargs[0].span) == "at=p"


def test_number_span():
    number = parse_expression("  2.5e3")
    assert (number.span.column, number.span.end_column) == (8, 13)


# Errors


def test_error_unknown_statement():
    error = syntax_error("let a = 1\nx = 1")
    assert (error.span.file, error.span.line, error.span.column) == ("bad.nntk", 2, 1)
    assert error.message == "unexpected name `x`"
    assert error.hint.startswith("expected a statement (`import`, `let`, `def`")


def test_error_missing_expression_at_end_of_file():
    error = syntax_error("let a = (1 + ")
    assert (error.span.line, error.span.column) == (1, 13)
    assert error.message == "unexpected end of file"
    assert error.hint == "expected an expression"


def test_error_missing_name():
    error = syntax_error("let = 2")
    assert (error.span.line, error.span.column) == (1, 5)
    assert error.message == "unexpected `=`"
    assert error.hint == "expected a name"


def test_error_two_numbers():
    error = syntax_error("let a = 1 2")
    assert (error.span.line, error.span.column) == (1, 11)
    assert error.message == "unexpected number `2`"
    assert error.hint == "expected an operator or the end of the statement"


def test_error_missing_comma():
    error = syntax_error("kernel K = nntk(m, G at=p)")
    assert (error.span.line, error.span.column) == (1, 22)
    assert error.message == "unexpected `at`"


def test_error_bad_character():
    error = syntax_error("let a = 3 $ 4")
    assert (error.span.line, error.span.column) == (1, 11)
    assert error.message == "unexpected character `$`"


def test_error_unterminated_string():
    error = syntax_error('import "lib.nntk\nlet a = 1')
    assert (error.span.line, error.span.column) == (1, 8)
    assert error.message == "unterminated string"


def test_error_positional_after_keyword():
    error = syntax_error("eval f(a=1, 2)")
    assert (error.span.line, error.span.column) == (1, 13)
    assert error.message == "positional argument after keyword argument `a=`"


def test_error_unclosed_bracket():
    error = syntax_error("kernel K = nntk(m, G,\n  at=p\n")
    assert error.message == "unexpected end of file"
    assert (error.span.line, error.span.column) == (2, 7)
    assert error.render().splitlines()[1:3] == ["    at=p", "        ^"]


def test_rendered_error_has_caret():
    error = syntax_error("let a = 1\nlet b = 2 +* 3\n")
    assert error.render() == (
        "bad.nntk:2:12: unexpected `*`\n"
        "  let b = 2 +* 3\n"
        "             ^\n"
        "hint: expected an expression"
    )


def test_parser_is_built_once():
    assert _lark() is _lark()


def test_deep_nesting_is_an_error():
    error = syntax_error("let a = 1\neval " + "-" * 1000 + "1")
    assert error.message == "expression nested too deeply (more than 200 levels)"
    assert error.span.line == 2


def test_long_flat_list_is_not_nesting():
    items = ", ".join(f"-{i}" for i in range(5000))
    (grid,) = parse(f"grid xs = [{items}]", "f").statements
    assert len(grid.value.items) == 5000


@pytest.mark.parametrize(
    "text, expected",
    [
        ("kernel K = nntk(m,\n", True),
        ("grid xs = [0, 1,\n", True),
        ("let a = 1\n", False),
        ("let a = 1 +\n", False),
        ("let a = )\n", False),
        ("let a = $\n", False),
    ],
)
def test_is_incomplete(text: str, expected: bool):
    assert is_incomplete(text) is expected
