"""Train the reference model shipped with the app: ``resources/reference-model/``.

    .venv/bin/python scripts/train_reference.py [--data ../shared/data/fashion-product-images-small]

1. A copy of the full data set's ``styles.csv`` without the bundled sample's products (its lines
   removed byte for byte, so every quirk of the file stays) beside a link to its ``images/``, in
   a temp folder: the sample's products are held out of training, validation and test, so what
   the app shows on the sample is out of sample.
2. ``xception-lite`` trained on it from scratch through the project's own ``train`` (the stored
   split of that catalog), evaluated with ``evaluate`` on its test part.
3. The model's predictions on the bundled sample's products (never seen) scored per scheme, with
   the float32 model and with the float16 weights that are shipped (they must agree).
4. ``resources/reference-model/``: ``weights.npz`` (float16), ``reference.json`` (recipe, classes,
   metrics, what it was trained on, date, commit), ``seen.csv.gz`` (id, part, name CRC of each
   product it trained or validated on), ``history.json`` and ``MODEL_CARD.md``. At most 10 MB.

Takes about as long as one ``benchmarks/cpu_protocol.py`` run (the recipe's epochs over the full
data). ``--epochs`` overrides the recipe for a quick check (then nothing is written unless
``--out`` is given).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
MAX_BYTES = 10_000_000


def _default_data() -> Path:
    return (ROOT / ".." / "shared" / "data" / "fashion-product-images-small").resolve()


def held_out_copy(data: Path, sample_csv: Path, out: Path) -> tuple[Path, int]:
    """``out/styles.csv`` = ``data/styles.csv`` without the sample's ids; ``out/images`` links to the images."""
    import pandas as pd

    sample_ids = set(pd.read_csv(sample_csv, usecols=["id"], dtype={"id": str})["id"].str.strip())
    raw = (data / "styles.csv").read_bytes()
    lines = raw.splitlines(keepends=True)
    kept = [lines[0]]
    dropped = 0
    for line in lines[1:]:
        first = line.split(b",", 1)[0].decode("utf-8", "replace").strip().strip('"')
        if first in sample_ids:
            dropped += 1
            continue
        kept.append(line)
    out.mkdir(parents=True, exist_ok=True)
    (out / "styles.csv").write_bytes(b"".join(kept))
    (out / "images").symlink_to((data / "images").resolve(), target_is_directory=True)
    return out, dropped


def _commit() -> str:
    try:
        return subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def sample_accuracy(model, ds, run, classes, schemes) -> dict:  # noqa: ANN001
    """Accuracy per scheme of ``model`` on the sample's products whose label the model knows."""
    import numpy as np

    from fashion_review.review import metrics
    from fashion_review.training.pipeline import ensure_image_cache
    from fashion_review.training.predict import infer, prediction_ids

    cache = ensure_image_cache(ds)
    ids = np.sort(prediction_ids(ds, cache))
    flip = bool(run.record["recipe"].get("test_time_flip"))
    probs, _ = infer(model, schemes, cache.images, cache.index_of(ids), flip=flip)
    out = {}
    for s in schemes:
        given = ds.usable(s).reindex(ids).to_numpy(dtype=object)
        known = np.array([isinstance(g, str) and g in set(classes[s]) for g in given])
        pred = np.asarray(classes[s], dtype=object)[probs[s].argmax(1)]
        out[s] = {"accuracy": round(metrics.accuracy(given[known], pred[known]), 5), "products": int(known.sum()),
                  "unknown_class": int(sum(isinstance(g, str) and g not in set(classes[s]) for g in given))}
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=_default_data())
    ap.add_argument("--recipe", default="xception-lite")
    ap.add_argument("--epochs", type=int, help="override the recipe (a quick check)")
    ap.add_argument("--out", type=Path, help="write here instead of resources/reference-model")
    ap.add_argument("--home", type=Path, help="FASHION_REVIEW_HOME for the work (default: a temp folder)")
    args = ap.parse_args()
    t0 = time.perf_counter()
    os.environ["FASHION_REVIEW_HOME"] = str(args.home or tempfile.mkdtemp(prefix="fr-reference-"))

    import keras

    from fashion_review.data import open_dataset
    from fashion_review.data.schemes import thresholds_keeping
    from fashion_review.errors import DataError
    from fashion_review.modeling import describe_device, load_recipe
    from fashion_review.paths import REFERENCE_MODEL, SAMPLE_CATALOG
    from fashion_review.tasks import ConsoleProgress, Task
    from fashion_review.training import reference, registry
    from fashion_review.training.evaluate import evaluate
    from fashion_review.training.train import train

    out = args.out or (REFERENCE_MODEL if args.epochs is None else None)
    work = Path(tempfile.mkdtemp(prefix="fr-reference-data-"))
    data_dir, dropped = held_out_copy(args.data, SAMPLE_CATALOG / "styles.csv", work / "data")
    print(f"held out {dropped:,} rows of the bundled sample; training catalog {data_dir}")
    task = Task(ConsoleProgress(min_interval=5.0))
    ds = open_dataset(data_dir)
    recipe = load_recipe(args.recipe)
    full = open_dataset(args.data)
    # Holding the sample out takes Shorts and Trousers (about 540 products each) under 500 images:
    # the classes are the full catalog's decision (data.schemes.thresholds_keeping).
    want = {s: full.class_filter(s, full.default_min_images).kept for s in recipe.schemes}
    try:
        min_images = thresholds_keeping(ds, want, full.default_min_images)
    except DataError as exc:
        raise SystemExit(f"the held-out copy cannot keep the full catalog's classes: {exc}") from None
    full_min = full.default_min_images
    full.close()
    held = ", ".join(f"{s} >= {t}" for s, t in min_images.items())
    print(f"class filter: the full catalog's classes (>= {full_min} images there), which on the held-out copy "
          f"means {held}")
    run = train(ds, recipe, epochs=args.epochs, weights="none", task=task, out=work / "run", min_images=min_images)
    summary = evaluate(run, ds, task=task)
    split = registry.read_split(run)
    names = ds.catalog.df["productDisplayName"].reindex(split.index).fillna("").to_numpy()
    seen_mask = split.to_numpy() != "test"
    ds.close()

    model = registry.load_model(run)
    sample = open_dataset(SAMPLE_CATALOG)
    acc32 = sample_accuracy(model, sample, run, run.classes, run.schemes)
    tmp16 = work / "w16"
    tmp16.mkdir()
    reference.write_weights(tmp16 / reference.WEIGHTS_FILE, model)
    ref_record = {
        "id": f"{time.strftime('%Y%m%d')}-{recipe.name}", "recipe": run.record["recipe"], "schemes": run.schemes,
        "classes": run.classes, "image_size": run.record.get("image_size"), "input_shape": [80, 60, 3],
    }
    (tmp16 / reference.REFERENCE_FILE).write_text(json.dumps(ref_record), encoding="utf-8")
    acc16 = sample_accuracy(reference.build_model(ref_record, tmp16), sample, run, run.classes, run.schemes)
    sample.close()
    tr = run.record["training"]
    record = {
        **ref_record,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "commit": _commit(),
        "trained_on": {
            "data_set": "Fashion Product Images (Small), the shared copy (42,072 images)",
            "held_out": f"the {dropped:,} products of the bundled sample catalog (resources/sample-catalog)",
            "fingerprint": run.fingerprint, "products": run.record["data"]["products"],
            "split": "the stored, stratified split of that catalog (its test part held out of training)",
            "classes": f"those the full catalog keeps (>= {full_min} images there; on the held-out copy {held})",
        },
        "metrics": {s: {k: m.get(k) for k in ("test_accuracy", "val_accuracy", "macro_f1")}
                    for s, m in summary["schemes"].items()},
        "sample_accuracy": acc16, "sample_accuracy_float32": acc32,
        "training": {k: tr.get(k) for k in ("epochs_run", "images_per_s", "fit_seconds", "device", "backend")},
        "versions": run.record.get("versions", {}),
    }
    print(json.dumps({"test": record["metrics"], "sample (held out), float16": acc16, "float32": acc32}, indent=1))
    if out is None:
        print("--epochs given without --out: nothing written")
        return 0
    out.mkdir(parents=True, exist_ok=True)
    (out / reference.WEIGHTS_FILE).write_bytes((tmp16 / reference.WEIGHTS_FILE).read_bytes())
    (out / reference.REFERENCE_FILE).write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")
    (out / registry.HISTORY_FILE).write_text(json.dumps(run.history()) + "\n", encoding="utf-8")
    reference.write_seen(out / reference.SEEN_FILE, split.index.to_numpy()[seen_mask],
                         split.to_numpy(dtype=object)[seen_mask], names[seen_mask])
    (out / reference.CARD_FILE).write_text(model_card(record, summary), encoding="utf-8")
    size = sum(p.stat().st_size for p in out.iterdir())
    print(f"written to {out}: {size / 1e6:.2f} MB (limit {MAX_BYTES / 1e6:.0f} MB), "
          f"{(time.perf_counter() - t0) / 60:.1f} min in all, {keras.backend.backend()} on {describe_device()}")
    return 0 if size <= MAX_BYTES else 1


def model_card(record: dict, summary: dict) -> str:
    rows = []
    for s, m in summary["schemes"].items():
        sa = record["sample_accuracy"].get(s, {})
        rows.append(f"| {s} | {m['classes']} | {100 * m['test_accuracy']:.2f} % ({m['products']['test']:,}) | "
                    f"{m['macro_f1']:.4f} | {100 * sa.get('accuracy', 0):.2f} % ({sa.get('products', 0):,}) |")
    r = record["recipe"]
    return f"""# Reference model: {r['name']}

Shipped with the app so that a catalog with no model of its own gets real predictions at once
(File > open a data set: "predict with the reference model"; `fashion-review predict --data DIR`).
Imported into a data set's registry it is a run marked "{'reference, not trained on this catalog'}".

- **Data**: {record['trained_on']['data_set']}, with {record['trained_on']['held_out']} held out of
  training, validation and test (so what the app shows on the sample is out of sample).
- **Split**: {record['trained_on']['split']}; products {record['trained_on']['products']}.
- **Recipe**: `{r['name']}` (models/README.md), from scratch, {record['training'].get('epochs_run')} epochs,
  {record['training'].get('images_per_s')} images/s on {record['training'].get('device')}
  ({record['training'].get('backend')}); test-time flips: {r.get('test_time_flip')}.
- **Created** {record['created']} from commit {record['commit']} by `scripts/train_reference.py`.
- **Weights** stored in float16 (`weights.npz`, rebuilt into a float32 model on import); the
  sample accuracy below is that of the float16 weights (float32: {json.dumps({s: v['accuracy'] for s, v in record['sample_accuracy_float32'].items()})}).

| scheme | classes | test accuracy (products) | test macro F1 | bundled sample, held out (products) |
|---|---|---|---|---|
{chr(10).join(rows)}

**Classes**: {record['trained_on'].get('classes', '')}. The shared copy of the data set lacks about
2,400 images of the original: Flats falls under the 500-image class filter there, so the model knows
{', '.join(f"{len(c)} {s}" for s, c in record['classes'].items())} classes (the paper: 12 gender_master,
15 subCategory, 23 articleType). A catalog label the model does not know is counted apart wherever
accuracy is shown.
"""


if __name__ == "__main__":
    sys.exit(main())
