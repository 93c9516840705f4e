"""The package's layers (shared/STYLE.md, docs/ARCHITECTURE.md), as import-linter contracts
(``[tool.importlinter]`` in pyproject.toml): only gui imports Qt, data and review stay free of
TensorFlow/Keras, data uses scikit-learn only for the split, and each layer imports only the
layers below it.  And the start-up path: nothing the window or the command line needs before a
model runs imports TensorFlow, Keras or torch."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / "fashion_review"
CONFIG = ROOT / "pyproject.toml"
CONTRACTS = 5


def _lint_imports(cwd: Path, pythonpath: Path) -> subprocess.CompletedProcess:
    exe = Path(sys.executable).with_name("lint-imports")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "importlinter.cli"]
    env = {**os.environ, "PYTHONPATH": str(pythonpath)}
    return subprocess.run([*cmd, "--config", str(CONFIG), "--no-cache"], cwd=cwd, capture_output=True, text=True,
                          env=env, timeout=240)


def test_import_contracts_are_kept():
    res = _lint_imports(ROOT, ROOT)
    assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-2000:]
    assert f"Contracts: {CONTRACTS} kept, 0 broken." in res.stdout


def test_the_contracts_catch_a_violation(tmp_path):
    """The same contracts on a copy of the package with one forbidden import break, naming it."""
    copy = tmp_path / "fashion_review"
    shutil.copytree(PKG, copy, ignore=shutil.ignore_patterns("__pycache__"))
    (copy / "data" / "sneaky.py").write_text("def f():\n    from PySide6 import QtCore\n    import keras\n")
    (copy / "review" / "upward.py").write_text("from fashion_review.training import registry\n")
    res = _lint_imports(tmp_path, tmp_path)
    assert res.returncode != 0
    out = res.stdout
    assert re.search(r"Only gui imports Qt BROKEN", out) and "fashion_review.data.sneaky -> PySide6" in out
    assert "data and review run without TensorFlow, Keras or torch BROKEN" in out
    assert "fashion_review.review.upward -> fashion_review.training.registry" in out
    assert f"Contracts: {CONTRACTS - 3} kept, 3 broken." in out


def test_startup_path_imports_no_tensorflow():
    """Importing every module of gui, cli, data and review (what the window and the command line load
    before a model runs) imports no ML framework: Keras loads only inside the functions that run one."""
    mods = sorted(
        ".".join(p.relative_to(ROOT).with_suffix("").parts)
        for sub in ("gui", "cli", "data", "review")
        for p in (PKG / sub).rglob("*.py")
    )
    code = (
        "import importlib, sys\n"
        f"for m in {mods!r}:\n"
        "    importlib.import_module(m.removesuffix('.__init__'))\n"
        "print(','.join(m for m in ('tensorflow', 'keras', 'torch', 'jax') if m in sys.modules))\n"
    )
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env, timeout=240)
    assert len(mods) > 30
    assert out.stdout.strip() == ""


def test_cli_help_does_not_import_tensorflow_or_qt():
    code = (
        "import sys, contextlib, io\n"
        "from fashion_review.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    try:\n        main(['--help'])\n    except SystemExit:\n        pass\n"
        "heavy = [m for m in ('tensorflow', 'keras', 'PySide6', 'torch') if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
