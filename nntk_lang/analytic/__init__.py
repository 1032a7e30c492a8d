"""The analytic backend: closed forms of nonlocal gradients and kernels.

`closed_form_gradient` proves that a request has a closed form and builds it as
sympy expressions, or raises `NoClosedForm` with a reason. Closed forms are
evaluated by a tree-walking numpy evaluator, never by generated code.
"""

from nntk_lang.analytic.cache import default_cache_dir
from nntk_lang.analytic.classical import classical_gradient, classical_ntk
from nntk_lang.analytic.closed_form import (
    BUILD_STATS,
    ClosedForm,
    ClosedKernel,
    closed_form_gradient,
    closed_form_kernel,
)

__all__ = [
    "BUILD_STATS",
    "ClosedForm",
    "ClosedKernel",
    "classical_gradient",
    "classical_ntk",
    "closed_form_gradient",
    "closed_form_kernel",
    "default_cache_dir",
]
