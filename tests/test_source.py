"""Spec files that are not valid UTF-8, read directly or through an import."""

from pathlib import Path

import pytest

from nntk_lang.cli import main
from nntk_lang.errors import NntkError, SpecError
from nntk_lang.syntax.source import read_source

BAD_SECOND_LINE = b"let a = 1\nlet b = \xff\xfe 2\n"


def _write(folder: Path, name: str, data: bytes) -> Path:
    path = folder / name
    path.write_bytes(data)
    return path


def test_read_source_points_at_bad_byte(tmp_path):
    path = _write(tmp_path, "bad.nntk", BAD_SECOND_LINE)
    with pytest.raises(SpecError, match="0xff is not valid UTF-8") as caught:
        read_source(path)
    assert caught.value.span.line == 2
    assert caught.value.span.column == len("let b = ") + 1


def test_read_source_counts_characters_not_bytes(tmp_path):
    path = _write(tmp_path, "bad.nntk", "let é = 1 #".encode() + b"\xe9\n")
    with pytest.raises(SpecError) as caught:
        read_source(path)
    assert caught.value.span.column == len("let é = 1 #") + 1


def test_read_source_missing_file(tmp_path):
    with pytest.raises(NntkError, match="cannot read spec file"):
        read_source(tmp_path / "absent.nntk")


@pytest.mark.parametrize("command", ["check", "run"])
def test_cli_reports_bad_byte_with_caret(tmp_path, capsys, command):
    spec = _write(tmp_path, "bad.nntk", BAD_SECOND_LINE)
    arguments = [command, str(spec)]
    if command == "run":
        arguments += ["--out", str(tmp_path / "out"), "--quiet"]
    assert main(arguments) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"{spec}:2:9: ")
    assert "\n          ^\n" in err
    assert "hint: save the file as UTF-8" in err
    assert "Traceback" not in err


def test_import_of_bad_file_names_that_file(tmp_path, capsys):
    imported = _write(tmp_path, "lib.nntk", BAD_SECOND_LINE)
    spec = _write(tmp_path, "main.nntk", b'import "lib.nntk"\n')
    assert main(["check", str(spec)]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"{imported}:2:9: ")
    assert "hint: save the file as UTF-8" in err
