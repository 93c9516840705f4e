"""The app as a command: the headless screenshot, no TensorFlow before the first paint, settings."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
from PIL import Image

from fashion_review import paths
from fashion_review.gui.settings import SCHEMA_VERSION, AppSettings

from _gui_helpers import write_active_run

SCRIPT = """
import sys
from fashion_review.cli import main
rc = main(sys.argv[1:])
heavy = sorted(m for m in ("tensorflow", "keras", "torch", "jax") if m in sys.modules)
print("HEAVY=" + ",".join(heavy))
sys.exit(rc)
"""


def run_cli(args, home, timeout=120):
    env = dict(os.environ, FASHION_REVIEW_HOME=str(home), QT_QPA_PLATFORM="offscreen")
    return subprocess.run([sys.executable, "-c", SCRIPT, *args], capture_output=True, text=True, env=env,
                          timeout=timeout)


def test_screenshot_command_writes_the_window_without_importing_tensorflow(tmp_path, home_dir):
    view = "grid"
    write_active_run()
    out = tmp_path / f"{view}.png"
    res = run_cli(["gui", "--data", str(paths.SAMPLE_CATALOG), "--screenshot", str(out), "--view", view], home_dir)
    assert res.returncode == 0, res.stderr
    # The window was shown, loaded everything and painted, and TensorFlow/Keras never came in.
    assert "HEAVY=\n" in res.stdout or res.stdout.rstrip().endswith("HEAVY=")
    img = Image.open(out)
    assert img.size == (1440, 900)  # the window's size in screenshot mode
    a = np.asarray(img.convert("RGB"))
    assert a.std() > 25 and len(np.unique(a.reshape(-1, 3), axis=0)) > 2000  # not blank
    s = AppSettings.load()
    assert s.last_data == str(paths.SAMPLE_CATALOG.resolve())


def test_screenshot_of_a_missing_data_set_fails_cleanly(tmp_path, home_dir):
    res = run_cli(["gui", "--data", str(tmp_path / "nowhere"), "--screenshot", str(tmp_path / "x.png")], home_dir)
    assert res.returncode != 0
    assert "styles.csv" in res.stderr


def test_settings_roundtrip_and_tolerance(home_dir):
    s = AppSettings.load()
    assert s.schema_version == SCHEMA_VERSION and s.last_data is None and s.view == "grid"
    s.remember(paths.SAMPLE_CATALOG)
    s.remember(home_dir)
    s.scheme = "subCategory"
    assert s.save()
    raw = json.loads((home_dir / "settings.json").read_text())
    assert raw["schema_version"] == SCHEMA_VERSION and raw["recent"][0] == str(home_dir.resolve())
    back = AppSettings.load()
    assert back.recent == [str(home_dir.resolve()), str(paths.SAMPLE_CATALOG.resolve())]
    assert back.scheme == "subCategory" and back.last_data == str(home_dir.resolve())
    # Bad fields fall back to their defaults; a damaged file gives the defaults.
    (home_dir / "settings.json").write_text(json.dumps({"schema_version": 1, "view": "spiral", "recent": [3],
                                                        "advance": "yes", "scheme": "articleType"}))
    bad = AppSettings.load()
    assert bad.view == "grid" and bad.recent == [] and bad.advance is True
    (home_dir / "settings.json").write_text("{not json")
    assert AppSettings.load().last_data is None
    # A file from a newer version is read but never written over.
    (home_dir / "settings.json").write_text(json.dumps({"schema_version": SCHEMA_VERSION + 1, "view": "table"}))
    newer = AppSettings.load()
    assert newer.view == "table" and not newer.save()
    assert json.loads((home_dir / "settings.json").read_text())["schema_version"] == SCHEMA_VERSION + 1


def test_gui_is_the_default_command():
    from fashion_review.cli import build_parser

    args = build_parser().parse_args(["gui", "--view", "confusion", "--screenshot", "a.png"])
    assert args.view == "confusion" and args.screenshot == "a.png" and args.data is None


def test_none_survives_many_qt_calls():
    """PySide6-Essentials 6.12.0 on Python < 3.12 drops a reference to None per void Qt call and to
    True per signal emitted, and a long session aborts (none_dealloc). pyproject.toml keeps PySide6
    below 6.12; this guards that pin (and any later release with the same bug)."""
    code = (
        "import sys\n"
        "import fashion_review.gui\n"
        "from PySide6.QtWidgets import QApplication, QWidget\n"
        "app = QApplication([])\n"
        "w = QWidget()\n"
        "before = sys.getrefcount(None)\n"
        "from PySide6.QtCore import QObject, Signal\n"
        "class O(QObject):\n"
        "    fired = Signal(object)\n"
        "o = O()\n"
        "for _ in range(300_000):\n"
        "    w.update()\n"
        "    o.fired.emit(None)\n"
        "print('alive')\n"
    )
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert res.returncode == 0 and res.stdout.strip() == "alive", res.stderr[-2000:]
