"""Run the README's first paths literally, as a new user would, and check what they lead to.

    python .ci/readme_paths.py quick-start   # the quick start's first command, with --screenshot
    python .ci/readme_paths.py smoke         # the smoke-training block: train, predict, evaluate, app

Each runs in a fresh home folder (``FASHION_REVIEW_HOME``), offscreen.  ``quick-start`` checks that
the app opened on the bundled sample with the reference model's predictions and wrote a real PNG;
``smoke`` runs the block's lines one by
one (a failing line stops it) and checks, from the app's ``--json`` report, that the app showed the
predictions of the model the block trained.  The commands are read from README.md, so what CI runs
is what the README says.  Exit status 0 when all is well.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
PNG = b"\x89PNG\r\n\x1a\n"
#: A screenshot of the 1440 x 900 window with thumbnails is well over this; an empty one is not.
MIN_PNG_BYTES = 40_000
SAMPLE_PRODUCTS = 1052


def _blocks(section: str) -> list[list[str]]:
    """The command lines of each fenced block of the README section whose heading starts with ``section``."""
    text = README.read_text(encoding="utf-8")
    body = text.split(f"\n## {section}", 1)[1].split("\n## ", 1)[0]
    out = []
    for k, chunk in enumerate(body.split("```")):
        if k % 2 == 1:
            lines = chunk.splitlines()[1:]
            out.append([ln.split("  #")[0].strip() for ln in lines if ln.strip() and not ln.lstrip().startswith("#")])
    return out


def quick_start_command() -> str:
    """The quick start's first command (install and open the app)."""
    return _blocks("Quick start")[0][0]


def smoke_commands() -> list[str]:
    """The README's smoke-training block: the block of "Training, evaluating and using models" that
    goes from ``fashion-review train`` to ``fashion-review gui --screenshot``."""
    for block in _blocks("Training, evaluating and using models"):
        if block and block[0].startswith("fashion-review train") and "--screenshot" in block[-1]:
            return block
    raise SystemExit("readme_paths: the README has no smoke block (fashion-review train ... gui --screenshot)")


def _env(home: Path) -> dict:
    return {**os.environ, "FASHION_REVIEW_HOME": str(home), "QT_QPA_PLATFORM": "offscreen"}


def _run(cmd: str, cwd: Path, env: dict) -> subprocess.CompletedProcess:
    print(f"$ {cmd}", flush=True)
    res = subprocess.run(["bash", "-c", cmd], cwd=cwd, env=env, text=True, capture_output=True)
    sys.stdout.write(res.stdout[-3000:])
    sys.stderr.write(res.stderr[-3000:])
    if res.returncode != 0:
        raise SystemExit(f"readme_paths: `{cmd}` exited {res.returncode}")
    return res


def _check_png(path: Path) -> None:
    if not path.is_file():
        raise SystemExit(f"readme_paths: no screenshot at {path}")
    data = path.read_bytes()
    if not data.startswith(PNG) or len(data) < MIN_PNG_BYTES:
        raise SystemExit(f"readme_paths: {path} is not a real screenshot ({len(data):,} bytes)")
    print(f"screenshot {path}: {len(data):,} bytes")


def _report(res: subprocess.CompletedProcess) -> dict:
    lines = [ln for ln in res.stdout.splitlines() if ln.startswith("{")]
    if not lines:
        raise SystemExit("readme_paths: the app printed no --json report")
    return json.loads(lines[-1])


def quick_start(work: Path) -> None:
    shot = work / "quick-start.png"
    res = _run(f"{quick_start_command()} --screenshot {shot} --json", ROOT, _env(work / "home"))
    _check_png(shot)
    shown = _report(res)
    if shown["products"] != SAMPLE_PRODUCTS or not shown["settled"]:
        raise SystemExit(f"readme_paths: the app did not open on the bundled sample: {shown}")
    # a newcomer's first window shows real predictions: the reference model's, made on first open
    if not str(shown.get("model") or "").startswith("reference-") or shown["predicted"] < 1000:
        raise SystemExit(f"readme_paths: the sample did not open with the reference model's predictions: {shown}")
    print(f"quick start: the app opened on {shown['products']:,} products with {shown['predicted']:,} "
          f"predictions of {shown['model']}")


def smoke(work: Path) -> None:
    cmds = smoke_commands()
    kinds = [c.split()[1] if len(c.split()) > 1 else "" for c in cmds]
    if kinds[:1] != ["train"] or "gui" not in kinds or "--screenshot" not in cmds[-1]:
        raise SystemExit(f"readme_paths: the README's smoke block is not train ... gui --screenshot: {cmds}")
    env = _env(work / "home")
    res = None
    for cmd in cmds:
        res = _run(cmd + (" --json" if cmd is cmds[-1] else ""), work, env)
    shot = work / cmds[-1].split("--screenshot", 1)[1].split()[0]
    _check_png(shot)
    shown = _report(res)
    models = _run("fashion-review models --json", work, env)
    active = json.loads(models.stdout)["active"]
    if not active or shown["model"] != active or shown["predicted"] < 1000:
        raise SystemExit(f"readme_paths: the app did not show the trained model's predictions: {shown}, "
                         f"active model {active}")
    print(f"smoke: the app showed {shown['predicted']:,} predictions of {active}")


def main(argv: list[str]) -> int:
    what = argv[1] if len(argv) > 1 else ""
    if what not in ("quick-start", "smoke"):
        print(__doc__, file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="readme-paths-") as tmp:
        (quick_start if what == "quick-start" else smoke)(Path(tmp))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
