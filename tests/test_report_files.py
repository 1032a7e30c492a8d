"""Files that the report layer writes into the output folder."""

from __future__ import annotations

import os
import stat

from nntk_lang.report.files import write_atomic


def test_write_atomic_follows_umask(tmp_path):
    previous = os.umask(0o022)
    try:
        write_atomic(tmp_path / "figure.png", b"data")
    finally:
        os.umask(previous)
    mode = stat.S_IMODE((tmp_path / "figure.png").stat().st_mode)
    assert mode == 0o644


def test_write_atomic_replaces_whole_file(tmp_path):
    path = tmp_path / "results.json"
    write_atomic(path, b"old contents")
    write_atomic(path, b"new")
    assert path.read_bytes() == b"new"
    assert [p.name for p in tmp_path.iterdir()] == ["results.json"]
