"""Build the wheel, install it into a fresh virtual environment outside the checkout, and use it.

    python .ci/wheel_check.py

What a user of ``pip install fashion-review`` (or a non-editable ``pip install .``) gets must work
without the repository: the recipes, the bundled sample and the reference model travel inside the
wheel (``fashion_review/recipes``, ``fashion_review/resources``).  From a temporary folder, with a
fresh home, this runs ``fashion-review model recipes`` (the recipes are found) and ``fashion-review
gui --screenshot`` on the bundled sample (the app opens on it and shows the reference model's
predictions), and checks what they printed.  Exit status 0 when all is well.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
import tempfile
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SAMPLE_PRODUCTS = 1052
MIN_PNG_BYTES = 40_000


def run(cmd: list[str], **kw) -> subprocess.CompletedProcess:  # noqa: ANN003
    print("+", " ".join(cmd), flush=True)
    res = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if res.returncode != 0:
        sys.stdout.write(res.stdout[-4000:])
        sys.stderr.write(res.stderr[-4000:])
        raise SystemExit(f"wheel_check: {cmd[0]} exited {res.returncode}")
    return res


def main() -> int:
    work = Path(tempfile.mkdtemp(prefix="fr-wheel-"))
    dist = work / "dist"
    run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(dist), str(ROOT)])
    (wheel,) = dist.glob("fashion_review-*.whl")
    env_dir = work / "venv"
    venv.create(env_dir, with_pip=True)
    py = env_dir / "bin" / "python"
    # The wheel itself goes in without its dependencies, which the new environment borrows from this
    # one (a .pth line naming its site-packages): what is checked is what the wheel carries, and CI
    # saves reinstalling TensorFlow and Qt (minutes of its 15).  A .pth line only adds the folder, so
    # this environment's editable fashion_review (a finder hooked in by its own .pth) stays out.
    purelib = Path(sysconfig.get_paths()["purelib"])
    new_site = Path(run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]).stdout.strip())
    (new_site / "zz-borrowed-dependencies.pth").write_text(f"{purelib}\n", encoding="utf-8")
    run([str(py), "-m", "pip", "install", "-q", "--no-deps", str(wheel)])
    exe = str(env_dir / "bin" / "fashion-review")
    cwd = work / "elsewhere"  # not the checkout: nothing may be found through the current folder
    cwd.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env.update(FASHION_REVIEW_HOME=str(work / "home"), QT_QPA_PLATFORM="offscreen", TF_CPP_MIN_LOG_LEVEL="2")

    where = run([str(py), "-c", "import fashion_review.paths as p; print(p.RECIPES_DIR); print(p.SAMPLE_CATALOG); "
                 "print(p.REFERENCE_MODEL)"], cwd=cwd, env=env).stdout.split()
    found = run([str(py), "-c", "import fashion_review; print(fashion_review.__file__)"], cwd=cwd, env=env).stdout.strip()
    if not found.startswith(str(new_site)):
        raise SystemExit(f"wheel_check: fashion_review imported from {found}, not from the installed wheel")
    for p in where:
        if str(ROOT) in p:
            raise SystemExit(f"wheel_check: the installed package reads {p} from the checkout")
    recipes = run([exe, "model", "recipes"], cwd=cwd, env=env).stdout
    for name in ("xception-lite", "xception-multihead", "xception-paper"):
        if name not in recipes:
            raise SystemExit(f"wheel_check: `fashion-review model recipes` does not list {name}:\n{recipes}")
    shot = cwd / "sample.png"
    out = run([exe, "gui", "--screenshot", str(shot), "--json"], cwd=cwd, env=env).stdout
    shown = json.loads(out.strip().splitlines()[-1])
    problems = []
    if shown.get("products") != SAMPLE_PRODUCTS:
        problems.append(f"{shown.get('products')} products shown, expected the sample's {SAMPLE_PRODUCTS}")
    if not str(shown.get("model") or "").startswith("reference-"):
        problems.append(f"the app shows model {shown.get('model')!r}, not the reference model's predictions")
    if not shot.is_file() or shot.stat().st_size < MIN_PNG_BYTES:
        problems.append(f"{shot} missing or too small to be a real screenshot")
    if problems:
        raise SystemExit("wheel_check: " + "; ".join(problems))
    print(f"wheel_check: {wheel.name} installed outside the checkout: recipes listed, the sample opened with "
          f"{shown['predicted']:,} reference predictions ({shown['model']}), screenshot {shot.stat().st_size:,} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
