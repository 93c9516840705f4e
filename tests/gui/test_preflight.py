"""On a minimal Linux the app names the system library Qt lacks instead of letting Qt abort."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from fashion_review.gui import preflight

ROOT = Path(__file__).resolve().parents[2]
linux = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Qt's xcb plugin is Linux's")


def fake_ldd(tmp_path: Path, missing: list[str]) -> Path:
    """A `ldd` first on PATH that reports ``missing`` as not found (as on a fresh Debian)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    lines = "".join(f"echo '\t{lib} => not found'\n" for lib in missing)
    script = bin_dir / "ldd"
    script.write_text("#!/bin/sh\necho '\tlibc.so.6 => /lib/libc.so.6 (0x0)'\n" + lines, encoding="utf-8")
    script.chmod(0o755)
    return bin_dir


@pytest.mark.parametrize(("env", "platform", "name"), [
    ({}, "linux", "xcb"),
    ({"QT_QPA_PLATFORM": "offscreen"}, "linux", "offscreen"),
    ({"QT_QPA_PLATFORM": "wayland;xcb"}, "linux", "wayland"),
    ({"WAYLAND_DISPLAY": "wayland-0", "XDG_SESSION_TYPE": "wayland"}, "linux", "wayland"),
    ({}, "darwin", ""),
])
def test_the_platform_qt_will_try(env, platform, name):
    assert preflight.platform_name(env, platform) == name


@linux
def test_missing_xcb_libraries_are_named_with_their_packages(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", f"{fake_ldd(tmp_path, ['libxcb-cursor.so.0', 'libxcb-icccm.so.4'])}:{os.environ['PATH']}")
    msg = preflight.problem({"DISPLAY": ":0"})
    assert msg is not None and "libxcb-cursor.so.0, libxcb-icccm.so.4" in msg
    assert "sudo apt-get install libxcb-cursor0 libxcb-icccm4" in msg
    assert preflight.problem({"DISPLAY": ":0", "QT_QPA_PLATFORM": "offscreen"}) is None


@linux
def test_no_display_is_one_clear_line():
    msg = preflight.problem({})
    assert msg is not None and "no display" in msg and "--screenshot" in msg


def test_a_gui_library_that_does_not_import_is_named():
    exc = ImportError("libEGL.so.1: cannot open shared object file: No such file or directory")
    assert "sudo apt-get install libegl1" in preflight.import_problem(exc)


@linux
def test_the_command_says_which_library_before_qt_could_abort(tmp_path):
    """The user's path: `fashion-review` on a machine without libxcb-cursor0."""
    env = {k: v for k, v in os.environ.items() if k != "QT_QPA_PLATFORM"}
    env.update(DISPLAY=":0", PATH=f"{fake_ldd(tmp_path, ['libxcb-cursor.so.0'])}:{env['PATH']}",
               FASHION_REVIEW_HOME=str(tmp_path / "home"))
    res = subprocess.run([sys.executable, "-m", "fashion_review"], capture_output=True, text=True, env=env,
                         timeout=120)
    assert res.returncode == 2, res.stderr
    lines = [line for line in res.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "libxcb-cursor.so.0" in lines[0] and "apt-get install libxcb-cursor0" in lines[0]


def test_the_readme_names_the_system_packages():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    apt = next(line for line in text.splitlines() if "apt-get install" in line and "libxcb-cursor0" in line)
    words = apt.replace("`", " ").rstrip(".").split()
    assert all(pkg in words for pkg in preflight.README_PACKAGES), apt
