"""CI runs the README's first paths as written: the quick start's app command and the smoke block."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _readme_paths():
    spec = importlib.util.spec_from_file_location("readme_paths", ROOT / ".ci" / "readme_paths.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_ci_runs_both_paths():
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert "python .ci/readme_paths.py quick-start" in ci
    assert "python .ci/readme_paths.py smoke" in ci


def test_the_paths_are_read_from_the_readme():
    rp = _readme_paths()
    assert rp.quick_start_command() == "pip install -e . && fashion-review"
    cmds = rp.smoke_commands()
    words = [c.split()[:2] for c in cmds]
    assert words == [["fashion-review", "train"], ["fashion-review", "predict"], ["fashion-review", "evaluate"],
                     ["fashion-review", "gui"]], cmds
    assert "--activate" in cmds[0] and "--screenshot" in cmds[-1]
    assert all("RUN" not in c for c in cmds)  # runnable as written: no placeholder to fill in
