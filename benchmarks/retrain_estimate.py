"""Is the Retrain dialog's time estimate for a full xception-lite retraining within 30 % of the truth?

    .venv/bin/python benchmarks/retrain_estimate.py [--data DIR] [--measured benchmarks/results/cpu-protocol-*.json]

Opens the app's Retrain dialog (offscreen Qt, the real dialog class) on the full shared data set with
no model, on this machine's device, as a curator would see it: full retraining, the default recipe.
Reads the estimate it shows and compares it with the training wall time that
``benchmarks/cpu_protocol.py`` measured for the same recipe on the same data (the newest result
file, or ``--measured``).  Prints both, the ratio and the verdict; writes
``benchmarks/results/retrain_estimate.txt``.  Needs no training of its own (a few seconds).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
RESULTS = ROOT / "benchmarks" / "results"


def _default_data() -> Path:
    return (ROOT / ".." / "shared" / "data" / "fashion-product-images-small").resolve()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=_default_data())
    ap.add_argument("--measured", type=Path, help="a cpu_protocol result .json (default: the newest full one)")
    args = ap.parse_args()
    measured_file = args.measured or max(
        (p for p in RESULTS.glob("cpu-protocol-*.json") if "quick" not in p.name), key=lambda p: p.stat().st_mtime)
    measured = json.loads(measured_file.read_text(encoding="utf-8"))
    os.environ["FASHION_REVIEW_HOME"] = tempfile.mkdtemp(prefix="fr-estimate-")
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

    from PySide6.QtWidgets import QApplication

    from fashion_review.data import open_dataset
    from fashion_review.gui.retrain import RetrainDialog
    from fashion_review.modeling.device import guess_device

    app = QApplication.instance() or QApplication([])
    ds = open_dataset(args.data)
    device = guess_device()
    dialog = RetrainDialog(ds, device=device, ask_to_activate=False)
    dialog.full_radio.setChecked(True)
    recipe = dialog.recipe_combo.currentText()
    estimate = dialog.estimate
    truth = float(measured["wall_s"]["train"])
    ratio = estimate.seconds / truth
    ok = abs(ratio - 1.0) <= 0.30
    lines = [
        f"retrain_estimate: the Retrain dialog on {args.data} ({device}), full retraining, recipe {recipe}; "
        f"{time.strftime('%Y-%m-%d %H:%M')}",
        f"dialog's estimate            {estimate.seconds / 60:6.1f} min   ({estimate.basis})",
        f"measured training wall time  {truth / 60:6.1f} min   ({measured_file.name}: train() of "
        f"{measured['recipe']['name']}, {measured['training']['epochs_run']} epochs, "
        f"{measured['training']['images_per_s']} images/s)",
        f"estimate / measured          {ratio:6.2f}       goal within 30 %: {'OK' if ok else 'NOT MET'}",
    ]
    text = "\n".join(lines) + "\n"
    (RESULTS / "retrain_estimate.txt").write_text(text, encoding="utf-8")
    print(text, end="")
    dialog.close()
    ds.close()
    app.processEvents()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
