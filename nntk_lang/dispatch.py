"""Method choice: a closed form when one is proven, Monte Carlo otherwise.

Every request carries `method=auto|analytic|mc`. `auto` tries the analytic backend
first and falls back to Monte Carlo, keeping the reason in `Estimate.info`.
`analytic` raises `NoClosedForm` with that reason instead of falling back.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Literal

import numpy as np

from nntk_lang.errors import NoClosedForm
from nntk_lang.ir.operators import Attention, Operator
from nntk_lang.ir.symbolic import SymbolicModelIR
from nntk_lang.results import Estimate

logger = logging.getLogger("nntk")

MethodChoice = Literal["auto", "analytic", "mc"]


@dataclass(frozen=True)
class RequestOptions:
    """The options every request statement takes (`samples=`, `seed=`, ...)."""

    samples: int = 100_000
    seed: int = 0
    method: MethodChoice = "auto"
    sampler: str = "antithetic"
    baseline: bool = False
    estimator: str = "unbiased"


@dataclass
class BackendContext:
    """Settings of one run that every backend call shares."""

    device: str = "auto"
    dtype: str = "float64"
    memory_bytes: int | None = None
    symbolic_timeout: float = 30.0
    cache_dir: Path | None = None
    progress: Callable[[int, int], None] | None = None
    cancel: Callable[[], None] | None = None
    max_samples: int = 10**8
    extra: dict = field(default_factory=dict)


def _mc_options(request: RequestOptions, context: BackendContext):
    from nntk_lang.montecarlo.options import MCOptions

    return MCOptions(
        samples=request.samples,
        seed=request.seed,
        sampler=request.sampler,
        baseline=request.baseline,
        kernel_estimator=request.estimator,
        dtype=context.dtype,
        device=context.device,
        memory_bytes=context.memory_bytes,
        progress=context.progress,
        cancel=context.cancel,
        max_samples=context.max_samples,
    )


def _closed_form_gradient(model, op, request, context):
    """Return the closed form, None when `auto` must fall back, or raise."""
    from nntk_lang.analytic import closed_form_gradient

    if request.method == "mc":
        return None, "method=mc was requested"
    if isinstance(op, Attention):
        reason = "attention weights depend on the samples, so no closed form exists"
        if request.method == "analytic":
            raise NoClosedForm(reason)
        return None, reason
    try:
        form = closed_form_gradient(
            model, op, timeout=context.symbolic_timeout, cache_dir=context.cache_dir
        )
    except NoClosedForm as exc:
        if request.method == "analytic":
            raise
        logger.info("no closed form for %s: %s", model.name, exc.reason)
        return None, exc.reason
    return form, ""


def _analytic_info(form) -> dict:
    # `closed_form_exprs` keeps the sympy expressions for pretty-printing; the
    # JSON writer leaves them out because `closed_form` has the same text.
    exprs = {str(param): expr for param, expr in zip(form.model.params, form.exprs)}
    return {"closed_form": form.text, "latex": form.latex, "closed_form_exprs": exprs}


def _closed_form_gram(form, theta: np.ndarray, x1: np.ndarray, x2: np.ndarray):
    """Evaluate K(x1, x2) = ⟨g(x1), g(x2)⟩ for a gradient closed form g."""
    from nntk_lang.analytic import ClosedKernel

    value = ClosedKernel(form).evaluate(theta, x1, x2)
    return Estimate(value=value, method="analytic", info=_analytic_info(form))


def gradient(
    model: SymbolicModelIR,
    op: Operator,
    theta: np.ndarray,
    xs: np.ndarray,
    request: RequestOptions,
    context: BackendContext,
) -> Estimate:
    """Estimate the nonlocal gradient of `model` at `theta` for each row of `xs`."""
    form, reason = _closed_form_gradient(model, op, request, context)
    if form is not None:
        value = form.evaluate(theta, xs)
        return Estimate(value=value, method="analytic", info=_analytic_info(form))
    estimate = _mc_gradient(model, op, theta, xs, request, context)
    estimate.info["why_mc"] = reason
    return estimate


def _batched(model: SymbolicModelIR, xs: np.ndarray, cancel=None):
    """Return f as a map from parameter points [M, d] to outputs [N, M].

    The attention estimators call it once per chunk of samples, so `cancel` (when
    given) stops them within one chunk.
    """
    import torch

    from nntk_lang.montecarlo.torch_lowering import compile_model

    compiled = compile_model(model)
    inputs = torch.as_tensor(np.asarray(xs, dtype=np.float64))

    def evaluate(thetas):
        if cancel is not None:
            cancel()
        return compiled(inputs, thetas)

    return evaluate


def attention_kernel(
    evaluate, theta: np.ndarray, op: Attention, n1: int, request: RequestOptions
) -> Estimate:
    """Estimate an attention NNTK on the union of two input sets; keep the x1 x x2 block.

    `evaluate` maps parameter points [M, d] to outputs on all inputs [N1 + N2, M],
    so both sides share one batch of perturbations.
    """
    import torch

    from nntk_lang.montecarlo.attention_kernel import attention_nntk

    estimate = attention_nntk(
        evaluate,
        torch.as_tensor(theta),
        op,
        samples=request.samples,
        seed=request.seed,
        statistic=request.estimator,
    )
    estimate.value = np.asarray(estimate.value)[:n1, n1:]
    estimate.stderr = np.asarray(estimate.stderr)[:n1, n1:]
    return estimate


def attention_gradient(
    evaluate, theta: np.ndarray, op: Attention, request: RequestOptions
) -> Estimate:
    """Estimate the attention-weighted gradient of a batched model at `theta`.

    `evaluate` maps parameter points [M, d] to outputs [N, M].
    """
    import torch

    from nntk_lang.montecarlo.attention import attention_gradient as estimate

    return estimate(
        evaluate,
        torch.as_tensor(theta),
        op,
        samples=request.samples,
        seed=request.seed,
    )


def _mc_gradient(model, op, theta, xs, request, context) -> Estimate:
    options = _mc_options(request, context)
    if isinstance(op, Attention):
        evaluate = _batched(model, xs, context.cancel)
        return attention_gradient(evaluate, theta, op, request)
    from nntk_lang.montecarlo.estimators import estimate_gradient

    return estimate_gradient(model, op, theta, xs, options)


def kernel(
    model: SymbolicModelIR,
    op: Operator,
    theta: np.ndarray,
    x1: np.ndarray,
    x2: np.ndarray,
    request: RequestOptions,
    context: BackendContext,
) -> Estimate:
    """Estimate the NNTK K(x1, x2) = ⟨op f(x1), op f(x2)⟩ at `theta`."""
    form, reason = _closed_form_gradient(model, op, request, context)
    if form is not None:
        return _closed_form_gram(form, theta, x1, x2)
    if isinstance(op, Attention):
        union = np.concatenate([x1, x2])
        evaluate = _batched(model, union, context.cancel)
        estimate = attention_kernel(evaluate, theta, op, len(x1), request)
    else:
        from nntk_lang.montecarlo.estimators import estimate_kernel

        estimate = estimate_kernel(
            model, op, theta, x1, x2, _mc_options(request, context)
        )
    estimate.info["why_mc"] = reason
    return estimate


def classical_ntk(
    model: SymbolicModelIR,
    theta: np.ndarray,
    x1: np.ndarray,
    x2: np.ndarray,
    request: RequestOptions,
    context: BackendContext,
) -> Estimate:
    """Compute the classical NTK: symbolic derivatives when proven, torch.func otherwise."""
    if request.method != "mc":
        try:
            from nntk_lang.analytic import classical_gradient

            form = classical_gradient(model)
        except NoClosedForm as exc:
            if request.method == "analytic":
                raise
            logger.info("no symbolic derivative for %s: %s", model.name, exc.reason)
        else:
            return _closed_form_gram(form, theta, x1, x2)
    from nntk_lang.montecarlo.classical import classical_ntk as autodiff_ntk

    return autodiff_ntk(model, theta, x1, x2)


def classical_gradient(
    model: SymbolicModelIR,
    theta: np.ndarray,
    xs: np.ndarray,
    request: RequestOptions,
    context: BackendContext,
) -> Estimate:
    """Compute the ordinary gradient ∇θ f by torch.func."""
    from nntk_lang.montecarlo.classical import classical_gradient as autodiff_gradient

    return autodiff_gradient(model, theta, xs)


def evaluate_target(target, xs: np.ndarray) -> np.ndarray:
    """Evaluate a target y(x) at each row of `xs` (through the torch lowering)."""
    import torch

    from nntk_lang.montecarlo.torch_lowering import compile_model

    model = SymbolicModelIR(target.name, target.inputs, (), target.expr)
    compiled = compile_model(model)
    inputs = torch.as_tensor(np.asarray(xs, dtype=np.float64).reshape(len(xs), -1))
    values = compiled(inputs, torch.zeros((1, 0), dtype=torch.float64))
    return values[:, 0].detach().cpu().numpy().astype(np.float64)


def evaluate_model(
    model: SymbolicModelIR, theta: np.ndarray, xs: np.ndarray
) -> np.ndarray:
    """Evaluate f(x; θ) at one parameter point for each row of `xs`: shape [N]."""
    import torch

    from nntk_lang.montecarlo.torch_lowering import compile_model

    compiled = compile_model(model)
    inputs = torch.as_tensor(np.asarray(xs, dtype=np.float64).reshape(len(xs), -1))
    params = torch.as_tensor(np.asarray(theta, dtype=np.float64)).reshape(1, -1)
    return compiled(inputs, params)[:, 0].detach().cpu().numpy()
