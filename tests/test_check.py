"""Tests of `nntk_lang.check`: names, arity, argument ranges and imports."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from nntk_lang.check import Checker, Limits, check
from nntk_lang.errors import SpecError, SpecErrors
from nntk_lang.syntax import ast
from nntk_lang.syntax.parser import parse

PRELUDE = """\
let g = 0.5
model m(x; w, b) = sign(w*x + b)
model two(x, y; w) = w*x*y
model net = mlp(width=16)
operator G = nonlocal(gaussian(g))
operator S = smoothing(sigma=0.1)
point p = {w: 1.0, b: 0.1}
point q = init(net, seed=0)
grid xs = linspace(-1, 1, 11)
target y(x) = x^2
kernel K = nntk(m, G, at=p)
"""
PRELUDE_LINES = PRELUDE.count("\n")

GOOD = (
    PRELUDE
    + """\
import activations
def f(t) = sawtooth(t) + g
target saw(x) = f(3*x)
model net2 = mlp(in=2, width=8, depth=2, act=sigmoid, param=standard, bias=false)
operator A = attention(ball(2*g), score=-df^2 / dist, tau=0.5)
operator N = nonlocal(gaussian(0.1), normalize=density, blocks=neuron)
point p2 = {w: 2}
point loaded = load("weights.npz")
grid ys = [0, 0.5, 1]
kernel K0 = ntk(m, at=p)
kernel Ki = nntk(net, S, width=inf, samples=1e5, sampler=sobol, estimator=psd)
kernel Kq = nntk(net, smoothing(0.2), at=q, baseline=false)
kernel Kl = ntk(net, at=loaded)
kernel K2 = nntk(two, G, at=p2, method=mc)
eval grad(m, S, at=p, x=0.3, samples=1000, seed=3)
eval grad(two, G, at={w: 1}, x=1, y=2)
eval grad(net2, S, at=init(net2), x1=0.5, x2=1)
eval K(0.3, -0.5)
eval K2([0.1, 0.2], [0.3, 0.4], samples=10)
eval where(g < 1, 1, 2) + sqrt(2) * pi - e
compare K on xs with samples=100000, seed=0
compare ntk(m, at=p) on [0, 1]
fit saw with K, K0 on linspace(-1, 1, 32) test ys ridge=1e-3
train net on y at q using G with steps=20, lr=0.05, samples=256, seed=0
train m on saw at p using S
plot K on xs with method=analytic
plot saw on ys
"""
)


def check_text(text: str, path: str = "spec.nntk", **kwargs):
    return check(parse(text, path), **kwargs)


def errors_of(text: str, path: str = "spec.nntk", **kwargs) -> list[tuple]:
    """Return (line, column, message) of every error in `text`."""
    with pytest.raises(SpecErrors) as info:
        check_text(text, path, **kwargs)
    return [(e.span.line, e.span.column, e.message) for e in info.value.errors]


def error_of(text: str) -> tuple:
    """Return (line, column, message, hint) of the single error of `text`."""
    with pytest.raises(SpecErrors) as info:
        check_text(text)
    errors = info.value.errors
    assert len(errors) == 1, [str(error) for error in errors]
    (error,) = errors
    return (error.span.line, error.span.column, error.message, error.hint)


def prelude_error(text: str) -> tuple:
    """Return the single error of `text` after the prelude, with local lines."""
    line, column, message, hint = error_of(PRELUDE + text)
    return (line - PRELUDE_LINES, column, message, hint)


# Good programs


def test_check_good_program():
    checked = check_text(GOOD)
    assert len(checked.statements) > 40
    assert checked.symbols["net2"].inputs == ("x1", "x2")
    assert checked.symbols["K"].source == "m"
    assert checked.symbols["q"].source == "net"


def test_checked_statements_include_imports():
    checked = check_text("import activations\neval sawtooth(0.2)")
    files = {Path(item.program.path).name for item in checked.statements}
    assert files == {"activations.nntk", "spec.nntk"}
    last = checked.statements[-1]
    assert last.program.text_of(last.statement.span) == "eval sawtooth(0.2)"
    assert isinstance(checked.statements[0].statement, ast.Def)


def test_let_value_is_exact():
    checked = check_text("let a = 0.1\nlet b = 3*a + 1/3")
    assert str(checked.symbols["b"].value) == "19/30"


def test_constant_arguments_are_evaluated():
    line, column, message, hint = error_of(
        "let g = 0.5\nlet h = 1 - 2*g\noperator G = nonlocal(gaussian(h))"
    )
    assert (line, column) == (3, 32)
    assert message == "invalid `gamma` of `gaussian`: `h` is not positive"
    assert hint == "`gamma` must be a positive number"


def test_keywords_do_not_block_names():
    check_text("let at = 1\nlet test_x = at + 1\neval test_x")


# Names


def test_undefined_name_suggests_close_match():
    assert error_of("let gamma = 1\neval gamme + 1") == (
        2,
        6,
        "undefined name `gamme`",
        "did you mean `gamma`?",
    )


def test_undefined_function():
    line, column, message, _ = error_of("eval mean(3)")
    assert (line, column, message) == (1, 6, "undefined function `mean`")


def test_forward_reference():
    line, column, message, hint = error_of("eval a + 1\nlet a = 2")
    assert (line, column) == (1, 6)
    assert message == "`a` is used before its declaration on line 2"
    assert hint == "statements run in order; move the declaration above this line"


def test_duplicate_name_points_at_second():
    line, column, message, hint = error_of("let g = 1\n\nlet g = 2")
    assert (line, column) == (3, 5)
    assert message == "`g` is already declared on line 1"
    assert hint == "choose another name, or remove one of the declarations"


def test_builtin_name_cannot_be_declared():
    line, column, message, _ = error_of("def sin(t) = t")
    assert (line, column) == (1, 5)
    assert message == "`sin` is a builtin name and cannot be declared again"


def test_reserved_word_cannot_be_declared():
    _, _, message, _ = error_of("let inf = 1")
    assert message == "`inf` is a reserved word and cannot be declared"


def test_wrong_kind_of_name():
    assert prelude_error("kernel K3 = nntk(m, p, at=p)")[:3] == (
        1,
        21,
        "`p` is a point, but `op` of `nntk` must be an operator",
    )


def test_kernel_is_not_a_number():
    assert prelude_error("eval K + 1")[:3] == (1, 6, "`K` is a kernel, not a number")


# Defs and recursion


def test_def_calling_itself():
    line, column, message, hint = error_of("def f(t) = f(t - 1) + 1")
    assert (line, column, message) == (1, 12, "`f` calls itself")
    assert "earlier defs" in hint


def test_def_calling_a_later_def():
    line, column, message, _ = error_of("def f(t) = g(t)\ndef g(t) = t")
    assert (line, column) == (1, 12)
    assert message == "`g` is used before its declaration on line 2"


def test_def_using_a_free_name():
    _, column, message, _ = error_of("def f(t) = t + u")
    assert (column, message) == (16, "undefined name `u`")


def test_def_duplicate_argument():
    line, column, message, _ = error_of("def f(t, t) = t")
    assert (line, column, message) == (1, 10, "argument `t` appears twice")


# Arity and keywords


def test_builtin_arity():
    assert error_of("eval min(1)")[:3] == (1, 6, "`min` takes 2 argument(s), got 1")


def test_def_arity():
    assert error_of("def f(t) = t\neval f(1, 2)")[:3] == (
        2,
        6,
        "`f` takes 1 argument(s), got 2",
    )


def test_signature_arity():
    assert error_of("operator G = nonlocal(gaussian(1, 2))")[:3] == (
        1,
        35,
        "`gaussian` takes 1 positional argument(s), got 2",
    )


def test_unknown_keyword_suggests_close_match():
    line, column, message, hint = prelude_error(
        "kernel K3 = nntk(m, G, at=p, samplez=3)"
    )
    assert (line, column, message) == (1, 30, "`nntk` has no argument `samplez`")
    assert hint == "did you mean `samples`?"


def test_unknown_statement_option():
    line, column, message, hint = prelude_error("compare K on xs with sed=1")
    assert (line, column, message) == (1, 22, "`compare` has no argument `sed`")
    assert hint == "did you mean `seed`?"


def test_missing_required_argument():
    line, column, message, _ = error_of("grid xs = linspace(0, 1)")
    assert (line, column, message) == (1, 11, "`linspace` is missing the argument `n`")


def test_missing_point():
    line, column, message, _ = prelude_error("kernel K3 = nntk(m, G)")
    assert (line, column, message) == (1, 13, "`nntk` is missing the argument `at`")


def test_duplicate_keyword():
    message = prelude_error("kernel K3 = ntk(m, at=p, at=p)")[2]
    assert message == "`ntk` got two values for `at`"


def test_builtin_takes_no_keywords():
    assert error_of("eval sin(t=1)")[2] == "`sin` takes no keyword arguments"


# Inputs and parameters


def test_parameter_given_as_input():
    line, column, message, hint = prelude_error("eval grad(m, S, at=p, x=1, w=0.3)")
    assert (line, column) == (1, 28)
    assert message == "`w` is a parameter of model `m`, not an input"
    assert hint == "parameters take their values from the point `at=`"


def test_missing_input():
    line, column, message, hint = prelude_error("eval grad(m, S, at=p)")
    assert (line, column) == (1, 6)
    assert message == "`grad` is missing a value for input `x` of model `m`"
    assert hint == "add `x=...`"


def test_point_missing_a_parameter():
    line, column, message, _ = prelude_error(
        "point pw = {w: 1}\nkernel K3 = nntk(m, G, at=pw)"
    )
    assert (line, column) == (2, 27)
    assert message == "point `pw` has no value for `b` of model `m`"


def test_point_naming_an_input():
    errors = errors_of(
        PRELUDE + "point px = {w: 1, b: 2, x: 3}\neval grad(m, G, at=px, x=1)"
    )
    assert errors == [
        (PRELUDE_LINES + 1, 25, "point `px` sets `x`, an input of model `m`")
    ]


def test_point_naming_an_unknown_name():
    errors = errors_of(
        PRELUDE + "point pc = {w: 1, b: 2, c: 3}\nkernel K3 = ntk(m, at=pc)"
    )
    assert errors == [
        (PRELUDE_LINES + 1, 25, "point `pc` sets `c`, not a parameter of model `m`")
    ]


def test_init_point_for_a_symbolic_model():
    message = prelude_error("kernel K3 = ntk(m, at=q)")[2]
    assert message == (
        "point `q` comes from init(`net`), which fits only network `net`, not model `m`"
    )


def test_named_point_for_a_network():
    message = prelude_error("kernel K3 = ntk(net, at=p)")[2]
    assert message == (
        "point `p` names parameters, but network `net` takes a point from init() "
        "or load()"
    )


def test_width_on_a_symbolic_model():
    line, column, message, _ = prelude_error("kernel K3 = ntk(m, at=p, width=inf)")
    assert (line, column) == (1, 32)
    assert message == (
        "`width=` applies only to network models, and `m` is a symbolic model"
    )


def test_kernel_call_input_count():
    line, column, message, _ = prelude_error(
        "kernel K2 = ntk(two, at={w: 1})\neval K2(0.1, [0.2, 0.3])"
    )
    assert (line, column) == (2, 9)
    assert message == "`0.1` gives 1 input value(s), but the model has 2 input(s)"


# Comparisons


def test_comparison_outside_where():
    line, column, message, hint = error_of("target t(x) = (x < 0) + 1")
    assert (line, column) == (1, 16)
    assert message == "comparison `x < 0` outside where()"
    assert hint.startswith("comparisons are allowed only as the first argument")


def test_comparison_in_where_second_argument():
    assert error_of("target t(x) = where(x < 0, x > 1, 0)")[:2] == (1, 28)


def test_comparison_inside_where_condition_arithmetic():
    check_text("target t(x) = where(x^2 - 1 <= 0, -x, x)")


# Ranges, choices and caps


@pytest.mark.parametrize(
    "text, column, message",
    [
        (
            "operator G = nonlocal(ball(0))",
            28,
            "invalid `delta` of `ball`: `0` is not positive",
        ),
        (
            "operator S = smoothing(sigma=-1)",
            30,
            "invalid `sigma` of `smoothing`: `-1` is not positive",
        ),
        (
            "operator A = attention(gaussian(1), tau=0)",
            41,
            "invalid `tau` of `attention`: `0` is not positive",
        ),
        (
            "grid xs = linspace(0, 1, 2.5)",
            26,
            "invalid `n` of `linspace`: `2.5` is not an integer",
        ),
        (
            "grid xs = linspace(0, 1, 0)",
            26,
            "invalid `n` of `linspace`: `0` is less than 1",
        ),
        ("model n = mlp(width=0)", 21, "invalid `width` of `mlp`: `0` is less than 1"),
        (
            "model n = mlp(width=1.5)",
            21,
            "invalid `width` of `mlp`: `1.5` is not an integer",
        ),
        ("model n = mlp(width=4, depth=inf)", 30, "invalid `depth` of `mlp`: `inf`"),
    ],
)
def test_out_of_range_arguments(text: str, column: int, message: str):
    assert error_of(text)[1:3] == (column, message)


@pytest.mark.parametrize(
    "option, message",
    [
        ("samples=0", "invalid `samples` of `ntk`: `0` is less than 1"),
        ("seed=-1", "invalid `seed` of `ntk`: `-1` is less than 0"),
        ("seed=0.5", "invalid `seed` of `ntk`: `0.5` is not an integer"),
        (
            "method=fast",
            "invalid `method` of `ntk`: `fast` is not one of `auto`, `analytic`, `mc`",
        ),
    ],
)
def test_request_options(option: str, message: str):
    assert prelude_error(f"kernel K3 = ntk(m, at=p, {option})")[2] == message


def test_choice_suggests_close_match():
    hint = prelude_error("kernel K3 = nntk(m, G, at=p, sampler=sobel)")[3]
    assert hint == "did you mean `sobol`?"


def test_boolean_choice():
    message = error_of("model n = mlp(width=4, bias=yes)")[2]
    assert message == "invalid `bias` of `mlp`: `yes` is not one of `true`, `false`"


def test_samples_cap_names_the_limit():
    line, column, message, hint = prelude_error("eval K(0, 1, samples=2e8)")
    assert (line, column) == (1, 22)
    assert message == "`samples=2e8` exceeds the limit of 100000000 samples"
    assert "--max-samples" in hint


def test_samples_cap_is_configurable():
    errors = errors_of(
        PRELUDE + "eval K(0, 1, samples=2000)", limits=Limits(max_samples=1000)
    )
    assert errors[0][2] == "`samples=2000` exceeds the limit of 1000 samples"


def test_grid_cap_names_the_limit():
    line, column, message, hint = error_of("grid xs = linspace(0, 1, 10^6 + 1)")
    assert (line, column) == (1, 11)
    assert message == "grid of 1000001 points exceeds the limit of 1000000 points"
    assert "--max-grid" in hint


def test_exact_power_cap():
    message = error_of("let big = 10^10^10")[2]
    assert message.startswith("`10^10000000000` is too large to compute exactly")


def test_inlining_cap():
    defs = ["def f0(t) = sin(t) + cos(t)"]
    defs += [f"def f{i}(t) = f{i - 1}(t) + f{i - 1}(t + 1)" for i in range(1, 20)]
    message = error_of("\n".join(defs) + "\nlet big = f19(1)")[2]
    assert message == "expression grows beyond 100000 nodes when its defs are inlined"


def test_division_by_zero():
    message = error_of("let a = 1/0")[2]
    assert message == "`1/0` is not a finite real number (it evaluates to `zoo`)"


def test_number_too_large():
    assert error_of("let a = 1e999")[2] == "number `1e999` is too large"


# Several errors at once


def test_all_errors_reported_in_order():
    text = (
        "let g = 1\n"
        "let g = 2\n"
        "operator G = nonlocal(gaussian(-1))\n"
        "eval undefined_thing\n"
        "eval sin(1, 2)\n"
    )
    assert errors_of(text) == [
        (2, 5, "`g` is already declared on line 1"),
        (3, 32, "invalid `gamma` of `gaussian`: `-1` is not positive"),
        (4, 6, "undefined name `undefined_thing`"),
        (5, 6, "`sin` takes 1 argument(s), got 2"),
    ]


def test_rendered_errors():
    with pytest.raises(SpecErrors) as info:
        check_text("let a = 1\neval a + bb\neval sqrt(a, 2)")
    assert info.value.render() == (
        "spec.nntk:2:10: undefined name `bb`\n"
        "  eval a + bb\n"
        "           ^\n"
        "hint: declare `bb` before this line, or import the module that does\n"
        "\n"
        "spec.nntk:3:6: `sqrt` takes 1 argument(s), got 2\n"
        "  eval sqrt(a, 2)\n"
        "       ^\n"
        "hint: call it as `sqrt(...)`"
    )


# Imports


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def check_file(path: Path, **kwargs):
    return check(parse(path.read_text(), str(path)), **kwargs)


def test_import_relative_path(tmp_path: Path):
    write(tmp_path, "lib/shapes.nntk", "def bump(t) = relu(1 - abs(t))")
    main = write(tmp_path, "main.nntk", 'import "lib/shapes.nntk"\neval bump(0.5)')
    checked = check_file(main)
    assert [type(item.statement) for item in checked.statements] == [ast.Def, ast.Eval]


def test_import_relative_to_importing_file(tmp_path: Path):
    write(tmp_path, "lib/a.nntk", 'import "b.nntk"\ndef a(t) = b(t)')
    write(tmp_path, "lib/b.nntk", "def b(t) = t")
    main = write(tmp_path, "main.nntk", 'import "lib/a.nntk"\neval a(1)')
    assert len(check_file(main).statements) == 3


def test_import_module_from_spec_folder(tmp_path: Path):
    write(tmp_path, "mine.nntk", "let k = 2")
    main = write(tmp_path, "main.nntk", "import mine\neval k")
    assert len(check_file(main, stdlib=tmp_path / "no-stdlib").statements) == 2


def test_import_each_file_once(tmp_path: Path):
    write(tmp_path, "a.nntk", "let a = 1")
    write(tmp_path, "b.nntk", 'import "a.nntk"\nlet b = a')
    main = write(tmp_path, "main.nntk", 'import "a.nntk"\nimport "b.nntk"\neval a + b')
    checked = check_file(main)
    assert [item.program.path.rsplit("/", 1)[-1] for item in checked.statements] == [
        "a.nntk",
        "b.nntk",
        "main.nntk",
    ]


def test_import_cycle(tmp_path: Path):
    write(tmp_path, "a.nntk", 'import "b.nntk"\nlet a = 1')
    write(tmp_path, "b.nntk", 'import "a.nntk"\nlet b = 1')
    with pytest.raises(SpecErrors) as info:
        check_file(tmp_path / "a.nntk")
    (error,) = info.value.errors
    assert error.span.file == str(tmp_path / "b.nntk")
    assert (error.span.line, error.span.column) == (1, 1)
    assert error.message == "import cycle: a.nntk -> b.nntk -> a.nntk"


def test_import_missing_module(tmp_path: Path):
    main = write(tmp_path, "main.nntk", "let a = 1\nimport nothing_here")
    with pytest.raises(SpecErrors) as info:
        check_file(main)
    (error,) = info.value.errors
    assert (error.span.line, error.span.column) == (2, 1)
    assert error.message == "module `nothing_here` not found"
    assert "`activations`" in error.hint


def test_import_missing_file(tmp_path: Path):
    main = write(tmp_path, "main.nntk", 'import "gone.nntk"')
    with pytest.raises(SpecErrors) as info:
        check_file(main)
    assert info.value.errors[0].message == "file `gone.nntk` not found"


def test_import_rejects_other_files(tmp_path: Path):
    write(tmp_path, "secret.txt", "password")
    main = write(tmp_path, "main.nntk", 'import "secret.txt"')
    with pytest.raises(SpecErrors) as info:
        check_file(main)
    message = info.value.errors[0].message
    assert message == "cannot import `secret.txt`: only .nntk files can be imported"


def test_errors_of_imported_file_carry_its_name(tmp_path: Path):
    write(tmp_path, "lib.nntk", "let a = 1\nlet b = a + c\n")
    main = write(tmp_path, "main.nntk", 'import "lib.nntk"\neval zz')
    with pytest.raises(SpecErrors) as info:
        check_file(main)
    first, second = info.value.errors
    assert str(first) == f"{tmp_path / 'lib.nntk'}:2:13: undefined name `c`"
    assert "let b = a + c" in first.render()
    assert str(second) == f"{main}:2:6: undefined name `zz`"


def test_syntax_error_in_imported_file(tmp_path: Path):
    write(tmp_path, "lib.nntk", "let a = (\n")
    main = write(tmp_path, "main.nntk", 'import "lib.nntk"')
    with pytest.raises(SpecErrors) as info:
        check_file(main)
    assert info.value.errors[0].span.file == str(tmp_path / "lib.nntk")


def test_names_from_imports_are_in_scope():
    check_text("import activations\ntarget t(x) = square(x) * triangle(x)")


# Incremental checking


def test_checker_keeps_symbols_between_calls():
    checker = Checker()
    checker.check_statements(parse("let a = 2", "<repl>"))
    checked = checker.check_statements(parse("eval a + 1", "<repl>"))
    assert len(checked.statements) == 1
    assert "a" in checked.symbols


def test_checker_rolls_back_after_an_error():
    checker = Checker()
    with pytest.raises(SpecErrors):
        checker.check_statements(parse("let a = 1\neval b", "<repl>"))
    assert "a" not in checker.symbols
    checker.check_statements(parse("let a = 3", "<repl>"))
    assert str(checker.symbols["a"].value) == "3"


def test_checker_reports_duplicates_across_calls():
    checker = Checker()
    checker.check_statements(parse("let a = 1", "<repl>"))
    with pytest.raises(SpecErrors) as info:
        checker.check_statements(parse("let a = 2", "<repl>"))
    message = info.value.errors[0].message
    assert message == "`a` is already declared on line 1 of <repl>"


def test_inlining_depth_cap():
    defs = ["def f0(t) = t"] + [
        f"def f{i}(t) = f{i - 1}(t + 1) * 2" for i in range(1, 400)
    ]
    message = error_of("\n".join(defs) + "\neval f399(1)")[2]
    assert message == "expression nests too deeply when its defs are inlined"


def test_model_body_division_by_zero():
    line, column, message, hint = error_of("model m(x; w) = w*x / (1 - 1)")
    assert (line, column) == (1, 17)
    assert (
        message
        == "`w*x / (1 - 1)` is undefined or infinite (it evaluates to `zoo*w*x`)"
    )
    assert hint == "check for division by zero and log of zero"


def test_target_body_exact_power_cap():
    message = error_of("target y(x) = x + 3^(10^8)")[2]
    assert message.startswith("`3^100000000` is too large to compute exactly")


def test_calling_a_model_is_an_error():
    line, column, message, hint = error_of("model m(x; w) = w*x\neval m(1)")
    assert (line, column, message) == (2, 6, "`m` is a symbolic model, not a function")
    assert hint == "only builtins, defs and targets can be called"


# Shadowing imported names


def test_declaration_shadows_imported_name():
    checked = check_text(
        "import activations\ndef sawtooth(t) = t - floor(t + 1/2)\neval sawtooth(0.7)"
    )
    assert checked.symbols["sawtooth"].program.path == "spec.nntk"


def test_shadowing_keeps_earlier_bodies():
    # `triangle` was declared with the stdlib `sawtooth`; a later `sawtooth` of
    # two arguments must not change it.
    checked = check_text(
        "import activations\ndef sawtooth(t, u) = t + u\nlet v = triangle(0.25)"
    )
    assert checked.symbols["v"].value == 0


def test_duplicate_inside_imported_file(tmp_path: Path):
    write(tmp_path, "lib.nntk", "let a = 1\nlet a = 2")
    main = write(tmp_path, "main.nntk", 'import "lib.nntk"')
    with pytest.raises(SpecErrors) as info:
        check_file(main)
    (error,) = info.value.errors
    assert (
        str(error) == f"{tmp_path / 'lib.nntk'}:2:5: `a` is already declared on line 1"
    )


def test_later_import_shadows_earlier_import(tmp_path: Path):
    write(tmp_path, "one.nntk", "let a = 1")
    write(tmp_path, "two.nntk", "let a = 2")
    main = write(
        tmp_path, "main.nntk", 'import "one.nntk"\nimport "two.nntk"\nlet b = a'
    )
    assert check_file(main).symbols["b"].value == 2


DESIGN_DRAFT = """\
import activations                      # stdlib/activations.nntk, then the spec's own folder
let gamma = 0.5
def sawtooth(t) = t - floor(t + 1/2)
target saw(x) = sawtooth(3*x)
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
"""


def test_design_draft_checks():
    checked = check_text(DESIGN_DRAFT)
    own = [item for item in checked.statements if item.program.path == "spec.nntk"]
    assert len(own) == 20


def test_reference_example_checks():
    text = (Path(__file__).resolve().parents[1] / "docs" / "language.md").read_text()
    example = text.split("```\n", 2)[1]
    assert example.startswith("import activations")
    check_text(example)


def test_grid_of_wrong_kind():
    line, column, message, hint = prelude_error("compare K on K")
    assert (line, column, message) == (1, 14, "`K` is a kernel, not a grid")
    assert hint == "declared names of the right kind: `xs`"


def test_empty_grid():
    assert prelude_error("plot K on []")[2] == "empty grid"


def test_where_condition_must_be_a_comparison():
    line, column, message, _ = error_of("target t(x) = where(x, 1, 0)")
    assert (line, column) == (1, 21)
    assert message == "the first argument of where() must be a comparison, got `x`"


def test_comparison_of_complex_values():
    message = error_of("let a = where(sqrt(-1) < 0, 1, 2)")[2]
    assert message == "invalid comparison: Invalid comparison of non-real I"


def test_import_of_itself(tmp_path: Path):
    main = write(tmp_path, "main.nntk", 'let a = 1\nimport "main.nntk"')
    with pytest.raises(SpecErrors) as info:
        check_file(main)
    assert info.value.errors[0].message == "import cycle: main.nntk -> main.nntk"


MUTATION_PIECES = [
    *'()[]{},;=+-*/^<>!:."#\n 0123456789eExyzwK_',
    "at",
    "on",
    "with",
    "test",
    "inf",
    "1e999",
    "where(",
    "grad(",
    "K(",
    "samples=",
    "^10^10",
]


def test_mutated_programs_give_only_spec_errors():
    # Random edits of a valid program must end in SpecErrors, never in another
    # exception, because a spec is untrusted input.
    rng = random.Random(20261204)
    for _ in range(150):
        text = list(GOOD)
        for _ in range(rng.randint(1, 4)):
            position = rng.randrange(len(text))
            edit = rng.random()
            if edit < 0.4:
                del text[position]
            elif edit < 0.8:
                text.insert(position, rng.choice(MUTATION_PIECES))
            else:
                text[position] = rng.choice(MUTATION_PIECES)
        source = "".join(text)
        try:
            check_text(source)
        except (SpecError, SpecErrors) as error:
            assert error.render()


def test_input_given_to_a_kernel():
    line, column, message, hint = prelude_error("kernel K3 = ntk(m, at=p, x=0.3)")
    assert (line, column) == (1, 26)
    assert message == (
        "`x` is an input of model `m`, but `ntk` builds a kernel of all inputs"
    )
    assert hint == "give inputs when evaluating the kernel, as in `eval K(0.3, 0.5)`"


def test_parameter_given_to_a_kernel():
    message = prelude_error("kernel K3 = nntk(m, G, at=p, b=0.3)")[2]
    assert message == "`b` is a parameter of model `m`, not an input"


def test_load_needs_an_npz_file():
    line, column, message, _ = error_of('point q = load("/etc/passwd")')
    assert (line, column) == (1, 16)
    assert message == "cannot load `/etc/passwd`: only .npz files can be loaded"


@pytest.mark.parametrize("digits", ["1." + "0" * 5000 + "1", "0" * 5000 + "1"])
def test_number_with_too_many_digits(digits: str):
    message = error_of(f"let a = {digits}")[2]
    assert message == f"number `{digits[:20]}...` has more than 100 characters"
