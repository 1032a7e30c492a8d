"""Reading spec files as UTF-8 text, with undecodable bytes reported in place."""

from __future__ import annotations

from pathlib import Path

from nntk_lang.errors import NntkError, Span, SpecError


def read_source(path: Path) -> str:
    """Read a spec file as UTF-8.

    Raises:
        SpecError: the file has a byte that is not valid UTF-8; the error points
            at that byte's line and column.
        NntkError: the file is missing or cannot be read.
    """
    try:
        data = path.read_bytes()
    except OSError as error:
        reason = error.strerror or str(error)
        raise NntkError(f"cannot read spec file {path}: {reason}") from error
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise _decode_error(path, data, error) from error


def _decode_error(path: Path, data: bytes, error: UnicodeDecodeError) -> SpecError:
    before = data[: error.start]
    line = before.count(b"\n") + 1
    line_start = before.rfind(b"\n") + 1
    column = len(data[line_start : error.start].decode("utf-8", errors="replace")) + 1
    span = Span(str(path), line, column, line, column + 1)
    return SpecError(
        f"byte 0x{data[error.start]:02x} is not valid UTF-8",
        span,
        hint="save the file as UTF-8 text",
        source=data.decode("utf-8", errors="replace"),
    )
