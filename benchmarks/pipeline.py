"""Is the input pipeline fast enough to keep the model busy?  Training steps per second, one model.

    .venv/bin/python benchmarks/pipeline.py [--data DIR] [--image-size 71] [--steps 8] [--out FILE]
    KERAS_BACKEND=torch python benchmarks/pipeline.py ...      (the GPU machines: no TensorFlow)

Three feeders train the same compiled model (the paper's recipe, articleType) in one process:

* ours: :func:`fashion_review.training.pipeline.make_batches` over the image cache, shuffled
  (``tf.data`` under TensorFlow, the prefetching ``PyDataset`` elsewhere), as ``train`` uses it;
* ceiling: one batch of synthetic tensors already in memory, repeated (no data work at all);
* jpeg: a loader that opens and decodes each batch's JPEGs from disk with Pillow every epoch,
  in the training thread, as the published notebooks on this data set do with
  ``ImageDataGenerator.flow_from_dataframe`` (Keras 2; written here as a ``PyDataset``).

Each feeder first runs ``--warmup`` steps (tracing, compilation, caches), then ``--steps`` timed
steps; the three are measured ``--repeats`` times in rotating order and the median is kept, so a
busy neighbour slows all of them alike.  Prints steps/s and images/s of each and the two ratios
ours / ceiling (goal >= 0.95) and ours / jpeg.

Then each feeder alone, without a model (``--feed-batches`` batches): the images per second it
can deliver at most, which says whether it could keep a faster accelerator busy.
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

DEFAULT_DATA = ROOT / ".." / "shared" / "data" / "fashion-product-images-small"
GOAL = 0.95


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--home", type=Path, help="FASHION_REVIEW_HOME for the image cache (default: a temp folder "
                    "unless FASHION_REVIEW_HOME is set)")
    ap.add_argument("--recipe", default="xception-paper")
    ap.add_argument("--scheme", default="articleType")
    ap.add_argument("--image-size", type=int, help="default: the recipe's (96)")
    ap.add_argument("--batch-size", type=int, help="default: the recipe's (32)")
    ap.add_argument("--steps", type=int, default=50, help="timed steps per feeder and repeat")
    ap.add_argument("--warmup", type=int, default=3, help="untimed steps before each feeder's first measurement")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--feed-batches", type=int, default=300, help="batches per feeder in the model-free measurement")
    ap.add_argument("--out", type=Path, help="also write the report to this file")
    args = ap.parse_args()

    if args.home:
        os.environ["FASHION_REVIEW_HOME"] = str(args.home)
    elif "FASHION_REVIEW_HOME" not in os.environ:
        os.environ["FASHION_REVIEW_HOME"] = tempfile.mkdtemp(prefix="fr-bench-")

    import keras
    import numpy as np
    from PIL import Image

    from fashion_review.data import open_dataset
    from fashion_review.modeling import compile_model, configure_precision, describe_device, load_recipe, make_model
    from fashion_review.training.pipeline import ensure_image_cache, labelled_set, make_batches
    from fashion_review.training.train import apply_overrides

    lines: list[str] = []

    def say(s: str = "") -> None:
        print(s, flush=True)
        lines.append(s)

    t = time.perf_counter()
    ds = open_dataset(args.data)
    cache = ensure_image_cache(ds)
    cache_s = time.perf_counter() - t
    data = labelled_set(ds, [args.scheme], cache=cache)
    ids, labels = data.part("train")
    y = labels[args.scheme]
    n_classes = len(data.classes[args.scheme])
    recipe = apply_overrides(load_recipe(args.recipe), image_size=args.image_size, batch_size=args.batch_size)
    bs = recipe.batch_size
    need = (args.warmup + args.steps) * bs
    if len(ids) < need:
        raise SystemExit(f"only {len(ids)} training images; lower --steps")
    policy = configure_precision(recipe)
    model = make_model(recipe, n_classes, scheme=args.scheme, weights="none")
    compile_model(model, recipe)
    one_hot = None if recipe.sparse_labels else {args.scheme: n_classes}

    def targets(k: np.ndarray) -> np.ndarray:
        return np.eye(n_classes, dtype=np.float32)[k] if one_hot else k

    # ours: exactly what train() builds
    train_x = cache.get(ids)
    ours = make_batches(train_x, np.arange(len(ids)), {args.scheme: y}, bs, shuffle=True, seed=0, one_hot=one_hot)

    # ceiling: one batch, in memory, repeated
    x0, y0 = train_x[:bs].copy(), targets(y[:bs])
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        ceiling_data = tf.data.Dataset.from_tensors((x0, y0)).repeat()
    else:
        class Same(keras.utils.PyDataset):
            def __len__(self) -> int:
                return 10**6

            def __getitem__(self, i: int):
                return x0, y0

        ceiling_data = Same()

    # jpeg: decode from disk every batch, in the training thread (flow_from_dataframe's way)
    images_dir = Path(ds.catalog.images_dir)
    order = np.random.default_rng(0).permutation(len(ids))

    class JpegLoader(keras.utils.PyDataset):
        def __len__(self) -> int:
            return math.ceil(len(ids) / bs)

        def __getitem__(self, i: int):
            sel = order[i * bs:(i + 1) * bs]
            batch = np.empty((len(sel), 80, 60, 3), np.uint8)
            for j, k in enumerate(sel):
                with Image.open(images_dir / f"{ids[k]}.jpg") as im:
                    im = im.convert("RGB")
                    if im.size != (60, 80):
                        im = im.resize((60, 80), Image.Resampling.BILINEAR)
                    batch[j] = np.asarray(im)
            return batch, targets(y[sel])

    feeders = {"ours": ours.data, "ceiling": ceiling_data, "jpeg": JpegLoader()}
    for name, feed in feeders.items():  # tracing / compilation / first-touch, untimed
        model.fit(feed, epochs=1, steps_per_epoch=args.warmup, verbose=0, shuffle=False)
    times: dict[str, list[float]] = {k: [] for k in feeders}
    names = list(feeders)
    for r in range(args.repeats):
        for name in names[r % len(names):] + names[:r % len(names)]:
            t = time.perf_counter()
            model.fit(feeders[name], epochs=1, steps_per_epoch=args.steps, verbose=0, shuffle=False)
            times[name].append(args.steps / (time.perf_counter() - t))
    rate = {k: statistics.median(v) for k, v in times.items()}

    # each feeder alone: what it can deliver with no model to feed
    alone = {}
    for name, feed in feeders.items():
        nb = args.feed_batches if name != "jpeg" else max(10, args.feed_batches // 10)
        t = time.perf_counter()
        if hasattr(feed, "take"):  # tf.data
            for _ in feed.take(nb):
                pass
        else:
            for i in range(nb):
                feed[i % len(feed)]
        alone[name] = nb * bs / (time.perf_counter() - t)
    ours.close()

    say(f"pipeline benchmark, {time.strftime('%Y-%m-%d %H:%M')}")
    say(f"machine: {platform.machine()}, {os.cpu_count()} CPU cores, {describe_device()}; "
        f"Keras {keras.__version__} on {keras.backend.backend()}, policy {policy}, pipeline {ours.kind}")
    say(f"model: {recipe.name} ({args.scheme}, {n_classes} classes) at {recipe.image_size} x {recipe.image_size}, "
        f"batch {bs}, weights none")
    say(f"data: {args.data} ({len(cache):,} images in the image cache, ready in {cache_s:.1f} s; "
        f"{len(ids):,} training images)")
    say(f"steps: {args.warmup} warm-up, then {args.steps} timed per feeder, {args.repeats} repeats "
        "(rotating order, median)")
    say("")
    say(f"{'feeder':<10}{'steps/s':>10}{'images/s':>11}   each repeat (steps/s)")
    for k in names:
        say(f"{k:<10}{rate[k]:>10.3f}{rate[k] * bs:>11.1f}   {', '.join(f'{v:.3f}' for v in times[k])}")
    say("")
    r1 = rate["ours"] / rate["ceiling"]
    r2 = rate["ours"] / rate["jpeg"]
    say(f"ours / ceiling = {r1:.3f}   (goal >= {GOAL}: {'met' if r1 >= GOAL else 'NOT met'})")
    say(f"ours / jpeg    = {r2:.3f}   (speed-up over decoding JPEGs every epoch)")
    say("")
    say("each feeder alone, no model (images/s it can deliver): "
        + ", ".join(f"{k} {v:,.0f}" for k, v in alone.items()))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    ds.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
