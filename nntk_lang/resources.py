"""Locate the files that ship beside the code: the grammar and the stdlib."""

from __future__ import annotations

from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent


def _data_dir(name: str) -> Path:
    # An installed wheel maps `grammar/` and `stdlib/` into the package; a source
    # checkout (or an editable install) keeps them at the repository root.
    installed = _PACKAGE_DIR / name
    if installed.is_dir():
        return installed
    return _PACKAGE_DIR.parent / name


def grammar_path() -> Path:
    """Return the path of `nntk.lark`."""
    return _data_dir("grammar") / "nntk.lark"


def stdlib_dir() -> Path:
    """Return the folder that contains the standard library's `.nntk` modules."""
    return _data_dir("stdlib")
