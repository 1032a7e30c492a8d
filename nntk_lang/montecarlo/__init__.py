"""Monte Carlo backend: nonlocal gradients and NNTK matrices by sampling."""

from nntk_lang.montecarlo.classical import classical_gradient, classical_ntk
from nntk_lang.montecarlo.estimators import estimate_gradient, estimate_kernel
from nntk_lang.montecarlo.options import MCOptions, resolve_device
from nntk_lang.montecarlo.torch_lowering import TorchModel, compile_model

__all__ = [
    "MCOptions",
    "TorchModel",
    "classical_gradient",
    "classical_ntk",
    "compile_model",
    "estimate_gradient",
    "estimate_kernel",
    "resolve_device",
]
