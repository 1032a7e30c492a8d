"""An on-disk cache of closed forms, stored as `sympy.srepr` text in JSON.

Entries are read back by `read_srepr`, which parses the text with Python's `ast`
module (parsing only, nothing is executed) and rebuilds the expression from a
whitelist of sympy classes. A file that does not parse, or names anything outside
the whitelist, is ignored and rebuilt. Writes go to a temporary file first and
are moved into place with `os.replace`, so a reader never sees half an entry.
"""

from __future__ import annotations

import ast
import hashlib
import json
import logging
import os
import tempfile
from pathlib import Path

import sympy
from sympy.functions.elementary.piecewise import ExprCondPair

from nntk_lang.analytic.special import SPECIAL_FUNCTIONS
from nntk_lang.ir.primitives import Relu, Step

logger = logging.getLogger("nntk")

# Bump when the closed forms change, so that old entries are not reused.
CACHE_VERSION = 2

_CLASSES: dict[str, object] = {
    "Symbol": sympy.Symbol,
    "Integer": sympy.Integer,
    "Rational": sympy.Rational,
    "Float": sympy.Float,
    "Add": sympy.Add,
    "Mul": sympy.Mul,
    "Pow": sympy.Pow,
    "exp": sympy.exp,
    "log": sympy.log,
    "sin": sympy.sin,
    "cos": sympy.cos,
    "tan": sympy.tan,
    "tanh": sympy.tanh,
    "erf": sympy.erf,
    "erfc": sympy.erfc,
    "sign": sympy.sign,
    "Abs": sympy.Abs,
    "floor": sympy.floor,
    "ceiling": sympy.ceiling,
    "Heaviside": sympy.Heaviside,
    "Max": sympy.Max,
    "Piecewise": sympy.Piecewise,
    "ExprCondPair": ExprCondPair,
    "Equality": sympy.Eq,
    "Unequality": sympy.Ne,
    "StrictGreaterThan": sympy.Gt,
    "StrictLessThan": sympy.Lt,
    "GreaterThan": sympy.Ge,
    "LessThan": sympy.Le,
    "Min": sympy.Min,
    "Step": Step,
    "Relu": Relu,
    **SPECIAL_FUNCTIONS,
}
_CONSTANTS: dict[str, sympy.Expr] = {
    "pi": sympy.pi,
    "E": sympy.E,
    "oo": sympy.oo,
    "zoo": sympy.zoo,
    "nan": sympy.nan,
    "true": sympy.true,
    "false": sympy.false,
}
_MAX_EXPONENT = 1000
_MAX_LITERAL = 400
_KEYWORDS = {"real", "positive", "nonnegative", "precision", "integer"}


class CacheFormatError(ValueError):
    """A cache entry that is not valid srepr text over the whitelist."""


def default_cache_dir() -> Path:
    """Return $XDG_CACHE_HOME/nntk, or ~/.cache/nntk when the variable is unset."""
    base = os.environ.get("XDG_CACHE_HOME")
    root = Path(base) if base else Path.home() / ".cache"
    return root / "nntk"


def cache_key(*parts: str) -> str:
    """Return a hex SHA-256 of the version and `parts`."""
    digest = hashlib.sha256(f"nntk-closed-form-v{CACHE_VERSION}".encode())
    for part in parts:
        digest.update(b"\0")
        digest.update(part.encode())
    return digest.hexdigest()


def load(cache_dir: Path, key: str) -> list[sympy.Expr] | None:
    """Return the cached expressions for `key`, or None if absent or invalid."""
    path = cache_dir / f"{key}.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return [read_srepr(text) for text in data["exprs"]]
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError, RecursionError) as error:
        logger.warning("ignoring the invalid cache entry %s: %s", path, error)
        return None


def store(cache_dir: Path, key: str, exprs: list[sympy.Expr], note: str) -> None:
    """Write `exprs` for `key` atomically; `note` is a readable description."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    payload = {"note": note, "exprs": [sympy.srepr(e) for e in exprs]}
    fd, temp = tempfile.mkstemp(dir=cache_dir, prefix=".tmp-", suffix=".json")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(payload, handle)
        os.replace(temp, cache_dir / f"{key}.json")
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def read_srepr(text: str) -> sympy.Expr:
    """Rebuild an expression from `sympy.srepr` text using only whitelisted classes."""
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as error:
        raise CacheFormatError(f"not srepr text: {error}") from None
    return _build(tree.body)


def _build(node: ast.AST):
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, str, bool)):
        if isinstance(node.value, (int, str)) and len(str(node.value)) > _MAX_LITERAL:
            raise CacheFormatError(
                f"a literal is longer than {_MAX_LITERAL} characters"
            )
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        value = _build(node.operand)
        if isinstance(value, int) and not isinstance(value, bool):
            return -value
    if isinstance(node, ast.Name) and node.id in _CONSTANTS:
        return _CONSTANTS[node.id]
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        cls = _CLASSES.get(node.func.id)
        if cls is None:
            raise CacheFormatError(f"`{node.func.id}` is not an allowed sympy class")
        args = [_build(a) for a in node.args]
        kwargs = {}
        if cls is sympy.Pow and _is_huge_power(args):
            # Evaluating a crafted Pow(Integer(10), Integer(10**9)) would take
            # minutes; closed forms never contain such powers.
            raise CacheFormatError("a numeric power is too large")
        for keyword in node.keywords:
            if keyword.arg not in _KEYWORDS:
                raise CacheFormatError(f"the keyword `{keyword.arg}` is not allowed")
            kwargs[keyword.arg] = _build(keyword.value)
        return cls(*args, **kwargs)
    raise CacheFormatError(f"unexpected syntax `{ast.dump(node)[:60]}`")


def _is_huge_power(args: list) -> bool:
    if len(args) != 2:
        return False
    exponent = args[1]
    return bool(
        getattr(exponent, "is_Integer", False) and abs(exponent) > _MAX_EXPONENT
    )
