"""What more test-time views buy: a trained run's test accuracy with flips only and with shifted copies too.

    .venv/bin/python benchmarks/test_time_views.py RUN_FOLDER [RUN_FOLDER ...] [--data DIR] [--out FILE]

A tuning experiment of ``xception-lite`` (issue 7), not a shipped setting.  The recipe's
``test_time_flip`` averages each photo and its mirror image.  Here each run (a folder written by
``benchmarks/cpu_protocol.py --keep-run``, or any run of the full shared data) also sees every
photo shifted by 3 pixels up / down / left / right and diagonally (edge pixels repeated, as the
training's ``RandomTranslation(fill_mode="nearest")`` does), each with its mirror image, and the
probabilities of the views are averaged.  Printed per run and part (test, and the small
validation part): accuracy per scheme for the view sets flip (2 views), flip + vertical shifts (6),
flip + horizontal shifts (6), flip + the 4 shifts (10) and flip + the 3 x 3 grid (18).  Each view
costs a forward pass: 18 views predict the catalog 9 times slower than the shipped 2.
"""

from __future__ import annotations

import argparse
import itertools
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SHARED = ROOT.parent / "shared" / "data" / "fashion-product-images-small"

SETS = {"flip": [(0, 0)], "flip+dy": [(0, 0), (3, 0), (-3, 0)], "flip+dx": [(0, 0), (0, 3), (0, -3)],
        "flip+cross": [(0, 0), (3, 0), (-3, 0), (0, 3), (0, -3)],
        "flip+grid9": list(itertools.product((-3, 0, 3), (-3, 0, 3)))}


def shift(images: np.ndarray, dy: int, dx: int) -> np.ndarray:
    """``images`` (B, H, W, 3) moved by (dy, dx) pixels, the edge pixels repeated into the gap."""
    h, w = images.shape[1:3]
    padded = np.pad(images, ((0, 0), (abs(dy), abs(dy)), (abs(dx), abs(dx)), (0, 0)), mode="edge")
    y0, x0 = abs(dy) - dy, abs(dx) - dx
    return np.ascontiguousarray(padded[:, y0:y0 + h, x0:x0 + w])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("runs", nargs="+", type=Path)
    p.add_argument("--data", default=str(SHARED if SHARED.exists() else Path("/work/shared/data/fashion-product-images-small")))
    p.add_argument("--out")
    args = p.parse_args(argv)

    from fashion_review.data import open_dataset
    from fashion_review.training import registry
    from fashion_review.training.pipeline import ensure_image_cache
    from fashion_review.training.predict import infer

    ds = open_dataset(args.data)
    cache = ensure_image_cache(ds)
    lines = [f"test-time views on {args.data}, {time.strftime('%Y-%m-%d %H:%M')}; accuracy in % per scheme "
             "(gender_master / subCategory / articleType) on the run's own split"]
    for folder in args.runs:
        run = registry.read_run(folder)
        split = registry.read_split(run)
        model = registry.load_model(run)
        lines.append(f"\nrun {run.id} ({run.record['training'].get('epochs_run')} epochs; {folder})")
        for part in ("test", "val"):
            ids = np.sort(split.index[split.to_numpy() == part].to_numpy(dtype=np.int64))
            images = np.asarray(cache.images[cache.index_of(ids)])
            given = {s: ds.usable(s, run.record.get("min_images")).reindex(ids).to_numpy(dtype=object)
                     for s in run.schemes}
            views = {}
            for dy, dx in SETS["flip+grid9"]:
                views[(dy, dx)], _ = infer(model, run.schemes, shift(images, dy, dx), np.arange(len(ids)), flip=True)

            def accuracy(keys, scheme, views=views, given=given):  # noqa: ANN001, ANN202
                probs = sum(views[k][scheme] for k in keys)
                known = np.array([isinstance(g, str) and g in run.classes[scheme] for g in given[scheme]])
                pred = np.asarray(run.classes[scheme], dtype=object)[probs.argmax(1)]
                return 100 * float(np.mean(pred[known] == given[scheme][known]))

            cells = [f"{name} ({2 * len(keys)} views) " + " / ".join(f"{accuracy(keys, s):.2f}" for s in run.schemes)
                     for name, keys in SETS.items()]
            lines.append(f"  {part:<5} {len(ids):>5} products: " + " | ".join(cells))
            print(lines[-1], flush=True)
    ds.close()
    text = "\n".join(lines) + "\n"
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
    print(text, end="")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
