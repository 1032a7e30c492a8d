"""nntk: a specification language and toolkit for nonlocal neural tangent kernels."""

__version__ = "0.1.0"
