"""The command's entry point as a user meets it: the default command, and files it cannot read or write.

Each error is one line on stderr (no traceback) with exit status 2.
"""

from __future__ import annotations

import errno
import os
import sys
from pathlib import Path

import pytest

from fashion_review.cli import main, with_default_command

COMMANDS = ["stats", "check", "export", "gui", "models", "train"]


@pytest.mark.parametrize(("argv", "expected"), [
    ([], ["gui"]),
    (["--data", "DIR"], ["gui", "--data", "DIR"]),
    (["--home", "H", "--data", "DIR"], ["--home", "H", "gui", "--data", "DIR"]),
    (["--home=H", "--screenshot", "x.png"], ["--home=H", "gui", "--screenshot", "x.png"]),
    (["--home", "H"], ["--home", "H", "gui"]),
    (["stats", "--data", "DIR"], ["stats", "--data", "DIR"]),
    (["--home", "H", "check"], ["--home", "H", "check"]),
    (["--version"], ["--version"]),
    (["-h"], ["-h"]),
    (["nonsense"], ["nonsense"]),  # left for argparse: "invalid choice"
])
def test_the_app_is_the_default_command(argv, expected):
    assert with_default_command(argv, COMMANDS) == expected


def test_data_without_a_subcommand_opens_the_app(monkeypatch, sample_dir):
    import fashion_review.cli.gui_cmds as gui_cmds

    seen = {}
    monkeypatch.setattr(gui_cmds, "cmd_gui", lambda args: seen.update(vars(args)) or 0)
    assert main(["--data", str(sample_dir), "--view", "table"]) == 0
    assert seen["data"] == str(sample_dir) and seen["view"] == "table" and seen["command"] == "gui"


def test_an_unknown_word_is_still_rejected(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["stast"])
    assert exc.value.code == 2
    assert "invalid choice: 'stast'" in capsys.readouterr().err


def _one_clear_line(capsys) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    return lines[0]


def test_export_into_a_folder(sample_dir, tmp_path, capsys):
    assert main(["export", "--data", str(sample_dir), "--out", str(tmp_path)]) == 2
    line = _one_clear_line(capsys)
    assert "is a folder" in line and str(tmp_path) in line


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc is Linux's")
@pytest.mark.parametrize("out", ["/proc/fashion-review-export.csv", "/proc/self/status"])
def test_export_into_proc(sample_dir, capsys, out):
    assert main(["export", "--data", str(sample_dir), "--out", out]) == 2
    line = _one_clear_line(capsys)
    assert line.startswith("fashion-review: error: /proc/") and "cannot write there" in line


def test_export_onto_a_read_only_file_system(sample_dir, tmp_path, capsys, monkeypatch):
    """As on a read-only mount: creating the temp file fails, and so does removing it afterwards."""
    import builtins

    real_open = builtins.open
    target = tmp_path / "corrected.csv"

    def refuse(path, *a, **kw):  # noqa: ANN001, ANN002, ANN003
        if Path(path).parent == tmp_path:
            raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(path))
        return real_open(path, *a, **kw)

    def unlink(self, missing_ok=False):  # noqa: ANN001
        raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(self))

    monkeypatch.setattr(builtins, "open", refuse)
    monkeypatch.setattr(Path, "unlink", unlink)
    assert main(["export", "--data", str(sample_dir), "--out", str(target)]) == 2
    line = _one_clear_line(capsys)
    assert "read-only file system" in line and str(target) in line
    assert not target.exists()


def test_any_os_error_of_a_command_is_one_line(monkeypatch, capsys, sample_dir):
    import fashion_review.cli.data_cmds as data_cmds

    def boom(args):  # noqa: ANN001
        raise PermissionError(errno.EACCES, "Permission denied", "/somewhere/file")

    monkeypatch.setattr(data_cmds, "cmd_stats", boom)
    assert main(["stats", "--data", str(sample_dir)]) == 2
    assert _one_clear_line(capsys) == "fashion-review: error: /somewhere/file: permission denied"


def _catalog(tmp_path: Path, content: bytes) -> Path:
    d = tmp_path / "data"
    (d / "images").mkdir(parents=True)
    (d / "styles.csv").write_bytes(content)
    return d


HEADER = b"id,gender,masterCategory,subCategory,articleType,baseColour,season,year,usage,productDisplayName\n"


def test_a_header_only_catalog_is_said_to_have_no_products(tmp_path, capsys):
    d = _catalog(tmp_path, HEADER)
    assert main(["stats", "--data", str(d)]) == 2
    assert "no products: the file has only its header line" in _one_clear_line(capsys)
    assert main(["check", "--data", str(d)]) == 1
    assert "only its header line" in capsys.readouterr().err


def test_a_catalog_whose_rows_are_all_skipped(tmp_path, capsys):
    d = _catalog(tmp_path, HEADER + b"x,Men,Apparel,Topwear,Tshirts,Red,Summer,2012,Casual,A\n"
                 + b"-3,Men,Apparel,Topwear,Tshirts,Red,Summer,2012,Casual,B\n")
    assert main(["export", "--data", str(d), "--out", str(tmp_path / "o.csv")]) == 2
    line = _one_clear_line(capsys)
    assert "every row was skipped (bad_id: 2)" in line and "fashion-review check" in line


def test_a_binary_catalog_is_reported_in_printable_text(tmp_path, capsys):
    junk = bytes(range(256)) * 2
    d = _catalog(tmp_path, junk)
    assert main(["check", "--data", str(d)]) == 2
    line = _one_clear_line(capsys)
    assert line.isprintable(), repr(line)
    assert "not a text CSV file" in line and "00 01 02 03" in line and len(line) < 400


def test_a_header_with_control_characters_is_shown_escaped(tmp_path, capsys):
    d = _catalog(tmp_path, b"name\x07,colour\x1b[31m,size\nA,red,3\n")
    assert main(["check", "--data", str(d)]) == 2
    line = _one_clear_line(capsys)
    assert line.isprintable(), repr(line)
    assert "\\x07" in line and "\\x1b" in line
