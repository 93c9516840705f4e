"""The CPU protocol: train ``xception-lite`` from scratch on the full shared data, evaluate, report.

    .venv/bin/python benchmarks/cpu_protocol.py                       # the shipped recipe
    .venv/bin/python benchmarks/cpu_protocol.py --set epochs=6 --set label_smoothing=0.1
    .venv/bin/python benchmarks/cpu_protocol.py --quick               # a smoke run on the sample

Everything goes through the project's own :func:`~fashion_review.training.train.train` and
:func:`~fashion_review.training.evaluate.evaluate` (the stored split; the test part of the
multihead run, which takes every product's part from the gender_master split).  Prints per scheme
the test accuracy, macro F1 and the recall of Flats, Heels and Sandals (articleType) or of the
weakest three classes (the other schemes), beside the paper's figures; images/s, minutes per epoch
and the wall time of each step.  Also scores the same model on the test part with and without
test-time flips, so what the flip buys is measured on one model.  Writes
``benchmarks/results/cpu-protocol-<date>[-<tag>].json`` and ``.txt``.

``--set key=value`` changes the recipe for an experiment (JSON values: ``--set network.entry=[64,128,256]``,
``--set schedule='"cosine"'``); the shipped recipe stays as it is.  Do not time this while tests or
other benchmarks run: the two cores are shared.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

RESULTS = ROOT / "benchmarks" / "results"
PAPER = {"articleType": 0.9193, "subCategory": 0.9804, "gender_master": 0.9172}
GOAL = {"articleType": 0.930, "subCategory": 0.985, "gender_master": 0.930}
WATCH = {"articleType": ("Flats", "Heels", "Sandals")}


def _default_data() -> Path:
    for p in (ROOT / ".." / "shared" / "data" / "fashion-product-images-small",
              ROOT / "shared" / "data" / "fashion-product-images-small"):
        if (p / "styles.csv").exists():
            return p.resolve()
    return (ROOT / ".." / "shared" / "data" / "fashion-product-images-small").resolve()


def _apply_sets(recipe, sets: list[str]):  # noqa: ANN001, ANN201
    d = recipe.to_dict()
    for item in sets:
        key, _, raw = item.partition("=")
        try:
            value = json.loads(raw)
        except json.JSONDecodeError:
            value = raw
        target = d
        *path, last = key.split(".")
        for p in path:
            target = target.setdefault(p, {})
        target[last] = value
    from fashion_review.modeling.recipes import Recipe

    return Recipe.from_dict(d, source=recipe.source, where="recipe (--set)")


def _weakest(report: dict, classes: list[str], scheme: str) -> dict[str, float]:
    per = {c: report[c]["recall"] for c in classes if isinstance(report.get(c), dict)}
    names = [c for c in WATCH.get(scheme, ()) if c in per]
    if not names:
        names = sorted(per, key=per.get)[:3]
    return {c: round(per[c], 4) for c in names}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=_default_data())
    ap.add_argument("--recipe", default="xception-lite")
    ap.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=VALUE")
    ap.add_argument("--quick", action="store_true", help="the bundled sample, 1 epoch (a smoke run)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--tag", default="", help="added to the result file names")
    ap.add_argument("--home", type=Path, help="FASHION_REVIEW_HOME (default: $FASHION_REVIEW_HOME or a temp folder)")
    ap.add_argument("--keep-run", type=Path, help="also copy the trained run folder here")
    ap.add_argument("--out-dir", type=Path, default=RESULTS)
    args = ap.parse_args()
    t_start = time.perf_counter()
    if args.home:
        os.environ["FASHION_REVIEW_HOME"] = str(args.home)
    elif "FASHION_REVIEW_HOME" not in os.environ:
        os.environ["FASHION_REVIEW_HOME"] = tempfile.mkdtemp(prefix="fr-cpu-")

    import keras
    import numpy as np

    from fashion_review.data import open_dataset
    from fashion_review.modeling import describe_device, load_recipe
    from fashion_review.paths import SAMPLE_CATALOG
    from fashion_review.review import metrics
    from fashion_review.tasks import ConsoleProgress, Task
    from fashion_review.training import registry
    from fashion_review.training.evaluate import evaluate
    from fashion_review.training.pipeline import ensure_image_cache
    from fashion_review.training.predict import infer
    from fashion_review.training.train import train

    recipe = _apply_sets(load_recipe(args.recipe), args.sets)
    if args.quick:
        recipe = recipe.replace(epochs=1)
    data = SAMPLE_CATALOG if args.quick else args.data
    task = Task(ConsoleProgress(min_interval=5.0))
    ds = open_dataset(data)
    t = time.perf_counter()
    cache = ensure_image_cache(ds, task)
    cache_s = time.perf_counter() - t

    t = time.perf_counter()
    run = train(ds, recipe, weights="none", task=task, seed=args.seed,
                out=Path(tempfile.mkdtemp(prefix="fr-cpu-run-")) / "run")
    train_s = time.perf_counter() - t
    t = time.perf_counter()
    summary = evaluate(run, ds, task=task)
    eval_s = time.perf_counter() - t

    # The same model on the test part with the other flip setting: what test-time flips buy.
    split = registry.read_split(run)
    test_ids = np.sort(split.index[split.to_numpy() == "test"].to_numpy(dtype=np.int64))
    model = registry.load_model(run)
    usable = {s: ds.usable(s, run.record.get("min_images")) for s in run.schemes}
    flip_cmp = {}
    for flip in (False, True):
        probs, _ = infer(model, run.schemes, cache.images, cache.index_of(test_ids), flip=flip)
        for s in run.schemes:
            given = usable[s].reindex(test_ids).to_numpy(dtype=object)
            known = np.array([isinstance(g, str) and g in set(run.classes[s]) for g in given])
            pred = np.asarray(run.classes[s], dtype=object)[probs[s].argmax(1)]
            flip_cmp.setdefault(s, {})["with_flip" if flip else "without_flip"] = round(
                metrics.accuracy(given[known], pred[known]), 5)
    ds.close()

    tr = run.record["training"]
    epochs_run = tr["epochs_run"]
    per_epoch_min = tr["fit_seconds"] / max(1, epochs_run) / 60
    schemes = {}
    for s, m in summary["schemes"].items():
        report = json.loads((run.eval_dir / s / "report.json").read_text(encoding="utf-8"))
        schemes[s] = {
            "test_accuracy": m["test_accuracy"], "val_accuracy": m["val_accuracy"],
            "train_accuracy": m["train_accuracy"], "macro_f1": m["macro_f1"], "classes": m["classes"],
            "test_products": m["products"]["test"], "paper": PAPER.get(s), "goal": GOAL.get(s),
            "recall": _weakest(report, run.classes[s], s), "test_time_flip": flip_cmp.get(s),
        }
    result = {
        "benchmark": "cpu_protocol", "mode": "quick" if args.quick else "full",
        "date": time.strftime("%Y-%m-%d %H:%M:%S%z"), "device": describe_device(),
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count()},
        "backend": keras.backend.backend(), "keras": keras.__version__,
        "recipe": run.record["recipe"], "sets": args.sets, "seed": args.seed,
        "data": {"path": str(data), **{k: run.record["data"][k] for k in ("products", "labelled", "part_scheme")}},
        "training": {k: tr.get(k) for k in ("epochs", "epochs_run", "best_epoch", "images_per_s", "fit_seconds",
                                             "precision", "pipeline")},
        "minutes_per_epoch": round(per_epoch_min, 2),
        "wall_s": {"image_cache": round(cache_s, 1), "train": round(train_s, 1), "evaluate": round(eval_s, 1),
                   "total": round(time.perf_counter() - t_start, 1)},
        "schemes": schemes,
        "notes": ["trained from scratch (no pretrained weights); the paper started from ImageNet weights on a GPU",
                  "the shared copy of the data set lacks ~2,400 images: Flats falls under 500 images there, so "
                  "articleType keeps 22 classes (the paper 23), gender_master 11 (12), subCategory 14 (15)"],
    }
    lines = [f"cpu_protocol: {recipe.name} {' '.join(args.sets)} on {data} ({result['device']}, "
             f"{keras.backend.backend()}), {result['date']}",
             f"{'scheme':<15}{'test':>8}{'goal':>8}{'paper':>8}{'macroF1':>9}{'no flip':>9}{'flip':>8}  recall",
             ]
    for s, m in schemes.items():
        fc = m["test_time_flip"] or {}
        lines.append(f"{s:<15}{100 * m['test_accuracy']:7.2f}%{100 * (m['goal'] or 0):7.1f}%"
                     f"{100 * (m['paper'] or 0):7.2f}%{m['macro_f1']:9.4f}{100 * fc.get('without_flip', 0):8.2f}%"
                     f"{100 * fc.get('with_flip', 0):7.2f}%  "
                     + ", ".join(f"{c} {v:.2f}" for c, v in m["recall"].items()))
    # Met or not on the exact figures (the table rounds: 6,035 of 6,127 prints 98.50 % and is 98.498 %).
    lines.append("goals: " + "; ".join(
        f"{s} {round(m['test_accuracy'] * m['test_products']):,} of {m['test_products']:,} right = "
        f"{100 * m['test_accuracy']:.3f}%: {'met' if m['test_accuracy'] >= m['goal'] else 'NOT met'}"
        for s, m in schemes.items() if m.get("goal")))
    lines.append("classes: " + ", ".join(f"{s} {m['classes']}" for s, m in schemes.items())
                 + " (shared copy; the paper: 12 / 15 / 23)")
    lines.append(f"training: {epochs_run} epochs, best {tr['best_epoch']}, {tr.get('images_per_s') or 0:.0f} images/s, "
                 f"{per_epoch_min:.2f} min/epoch; wall {result['wall_s']}")
    text = "\n".join(lines) + "\n"
    args.out_dir.mkdir(parents=True, exist_ok=True)
    stem = f"cpu-protocol-{time.strftime('%Y%m%d-%H%M')}{'-quick' if args.quick else ''}{'-' + args.tag if args.tag else ''}"
    (args.out_dir / f"{stem}.json").write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    (args.out_dir / f"{stem}.txt").write_text(text, encoding="utf-8")
    if args.keep_run:
        import shutil

        shutil.copytree(run.path, args.keep_run, dirs_exist_ok=True)
    print(text, end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
