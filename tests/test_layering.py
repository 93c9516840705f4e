"""The package's layers (shared/STYLE.md): only gui imports Qt; data and review stay free of
TensorFlow/Keras; nothing on the start-up path imports TensorFlow at module level."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1] / "fashion_review"
QT = ("PySide6", "pyqtgraph", "shiboken6", "PyQt5", "PyQt6")
TF = ("tensorflow", "keras", "tf_keras", "torch", "jax")


def imports(path: Path, module_level_only: bool = False) -> list[tuple[str, int]]:
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    nodes = tree.body if module_level_only else ast.walk(tree)
    found = []
    for node in nodes:
        if isinstance(node, ast.Import):
            found += [(a.name, node.lineno) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.module, node.lineno))
    return found


def offenders(subpackage: str, banned: tuple[str, ...], module_level_only: bool = False) -> list[str]:
    out = []
    root = PKG / subpackage if subpackage else PKG
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(PKG.parent)
        if not subpackage and rel.parts[1] == "gui":
            continue
        for name, line in imports(path, module_level_only):
            if name.split(".")[0] in banned:
                out.append(f"{rel}:{line}: imports {name}")
    return out


def test_only_gui_imports_qt():
    assert offenders("", QT) == []


@pytest.mark.parametrize("sub", ["data", "review"])
def test_core_has_no_tensorflow(sub):
    if not (PKG / sub).exists():
        pytest.skip(f"{sub} not written yet")
    assert offenders(sub, TF) == []


@pytest.mark.parametrize("sub", ["gui", "cli", "data"])
def test_startup_path_imports_no_tensorflow_at_module_level(sub):
    assert offenders(sub, TF, module_level_only=True) == []


def test_walker_sees_violations(tmp_path):
    bad = tmp_path / "m.py"
    bad.write_text("import os\nfrom PySide6 import QtCore\ndef f():\n    import tensorflow as tf\n")
    assert ("PySide6", 2) in imports(bad)
    assert ("tensorflow", 4) in imports(bad)
    assert ("tensorflow", 4) not in imports(bad, module_level_only=True)


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
