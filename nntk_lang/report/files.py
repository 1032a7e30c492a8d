"""Files in the output folder: atomic writes that never leave the folder."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from nntk_lang.errors import ConfigError


def path_inside(out_dir: Path, name: str) -> Path:
    """Return `out_dir/name`, rejecting any name that would resolve outside it."""
    root = out_dir.resolve()
    target = (root / name).resolve()
    if target != root and root not in target.parents:
        raise ConfigError(
            f"output file `{name}` would be written outside the output folder {root}"
        )
    return target


def write_atomic(path: Path, data: bytes) -> None:
    """Write `data` to `path` whole: a temporary file in the same folder, then rename.

    A reader (or an interrupted run) finds either the old file or the new one, never a
    partial write.

    Raises:
        ConfigError: the folder cannot be created or written, for example
            because a file has its name or it is read-only.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    except OSError as error:
        reason = error.strerror or str(error)
        raise ConfigError(
            f"cannot write `{path}`: {reason} ({error.filename}); "
            "choose another output folder with --out"
        ) from error
    try:
        # mkstemp creates the file with mode 0o600, so set the mode that open()
        # would give it: 0o666 less the process umask.
        os.fchmod(handle, 0o666 & ~_umask())
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _umask() -> int:
    """Return the process umask, which can only be read by setting it."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask
