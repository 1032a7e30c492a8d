"""Help texts of the REPL's `:help` command."""

from __future__ import annotations

from nntk_lang.ir.primitives import BUILTINS

COMMANDS: dict[str, str] = {
    ":help": ":help [TOPIC]  show help; topics: commands, statements, builtins, "
    "operators, or any keyword or builtin name",
    ":load": ":load FILE  run a spec file in this session",
    ":env": ":env  list the names in scope and what they are",
    ":reset": ":reset  forget every name of this session",
    ":save": ":save FILE  write the accepted statements as a spec file",
    ":quit": ":quit  leave the REPL (Ctrl-D on an empty line does the same)",
}

STATEMENTS: dict[str, str] = {
    "import": "import activations  load stdlib/activations.nntk, then the spec's "
    'folder; import "file.nntk" loads a file',
    "let": "let gamma = 0.5  bind a number",
    "def": "def sawtooth(t) = t - floor(t + 1/2)  a function of its arguments",
    "target": "target saw(x) = sawtooth(3*x)  a function of inputs to fit",
    "model": "model neuron(x; w, b) = sign(w*x + b)  inputs before ';', parameters "
    "after; or model net = mlp(in=1, width=512, depth=1, act=relu, out=1)",
    "operator": "operator G = nonlocal(gaussian(0.5))  also nonlocal(ball(d)), "
    "smoothing(sigma=0.1), attention(gaussian(0.5), score=output, tau=1.0)",
    "point": "point p0 = {w: 1.0, b: 0.1}  or point q0 = init(net, seed=0)",
    "grid": "grid xs = linspace(-1, 1, 101)  or grid xs = [0.1, 0.2]",
    "kernel": "kernel K = nntk(neuron, G, at=p0)  or ntk(neuron, at=p0) for the "
    "classical NTK, or nntk(net, S, width=inf) for the infinite-width limit",
    "eval": "eval K(0.3, -0.5)  print a value; at the REPL the `eval` is optional",
    "compare": "compare K on xs with samples=100000, seed=0  analytic against "
    "Monte Carlo",
    "fit": "fit saw with K, K0 on linspace(-1, 1, 32) test linspace(-1, 1, 201)",
    "train": "train net on saw at q0 using G with steps=2000, lr=0.05, samples=256",
    "plot": "plot K on xs",
}

OPERATORS = """\
nonlocal(gaussian(gamma))  G f(θ) = d ∫ (f(θ+z) − f(θ)) z/‖z‖² ρ(z) dz, ρ ∝ exp(−‖z‖²/γ²)
nonlocal(ball(delta))      the same with ρ uniform on ‖z‖ ≤ δ
smoothing(sigma)           S f(θ) = σ⁻¹ E[f(θ + σu) u], u ~ N(0, I)
attention(rho, score=…, tau=τ)  softmax(score/τ)-weighted finite differences
Every request takes method=auto|analytic|mc; auto uses a closed form when one is
proved and Monte Carlo otherwise."""

INTRO = """\
Type statements of the nntk language, or a bare expression such as K(0.3, -0.5)
or 1 + 1 to print its value; `ans` holds the last value. Input continues on the
next line while a bracket is open or a line ends with an operator. Ctrl-C
cancels a running computation or the current input; Ctrl-D on an empty line
leaves. Topics: commands, statements, builtins, operators, or a name."""


def help_text(topic: str = "") -> str | None:
    """Return the help text of `topic`, or None when there is no such topic."""
    topic = topic.strip()
    if not topic:
        return INTRO + "\n\n" + "\n".join(COMMANDS.values())
    tables = {
        "commands": COMMANDS,
        "statements": STATEMENTS,
        "builtins": {name: builtin.doc for name, builtin in BUILTINS.items()},
    }
    if topic in tables:
        return "\n".join(tables[topic].values())
    if topic == "operators":
        return OPERATORS
    command = topic if topic.startswith(":") else ":" + topic
    if topic in STATEMENTS:
        return STATEMENTS[topic]
    if topic in BUILTINS:
        return BUILTINS[topic].doc
    if command in COMMANDS:
        return COMMANDS[command]
    return None


def help_topics() -> list[str]:
    """Return every topic that `help_text` accepts, for completion."""
    topics = ["commands", "statements", "builtins", "operators"]
    return topics + list(STATEMENTS) + list(BUILTINS) + [c[1:] for c in COMMANDS]
