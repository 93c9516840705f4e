"""A tiny registry run on the bundled sample, made once per test process.

An untrained model of :func:`tiny_lite_recipe` (:func:`register_untrained_run`) and the
sample's image cache are built once in a template home; :func:`sample_with_tiny_run` copies the
run into the caller's home and links the (read-only) image cache there, so each test module
gets its own registry and corrections without paying for the model build and the image
decoding again.  Imported by name (``tests/`` is on sys.path through its conftest).
"""

from __future__ import annotations

import atexit
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from fashion_review import paths

_TEMPLATE: dict = {}

#: The [network] of :func:`tiny_lite_recipe`.
TINY_NETWORK = {"stem": (8, 8), "entry": (16, 32), "middle_blocks": 1, "exit": (32, 48)}


def tiny_lite_recipe():  # noqa: ANN201 - modeling.recipes.Recipe
    """xception-lite with a few narrow blocks: the lite code path (native 80 x 60, three masked heads,
    one backbone) at a fraction of its build, training and prediction time, for tests whose subject
    is not what the network learns."""
    from fashion_review.modeling import load_recipe
    from fashion_review.modeling.recipes import Network

    return load_recipe("xception-lite").replace(network=Network(**TINY_NETWORK))


def write_tiny_lite_recipe(path: Path) -> Path:
    """:func:`tiny_lite_recipe` as a recipe file (what ``--recipe PATH`` reads); returns ``path``."""
    text = (paths.RECIPES_DIR / "xception-lite.toml").read_text(encoding="utf-8")
    head, _, _ = text.partition("[network]")
    net = "\n".join(f"{k} = {list(v) if isinstance(v, tuple) else v}" for k, v in TINY_NETWORK.items())
    tail = text.partition("[head]")[2]
    path.write_text(f"{head}[network]\n{net}\n\n[head]{tail}", encoding="utf-8")
    return path


def _template(sample_dir: Path) -> dict:
    if _TEMPLATE:
        return _TEMPLATE
    from fashion_review.data import open_dataset
    from fashion_review.training.pipeline import ensure_image_cache

    root = Path(tempfile.mkdtemp(prefix="fr-model-template-"))
    atexit.register(shutil.rmtree, root, True)
    old = os.environ.get(paths.ENV_HOME)
    os.environ[paths.ENV_HOME] = str(root)
    try:
        ds = open_dataset(sample_dir)
        try:
            ensure_image_cache(ds)
            run = register_untrained_run(ds, tiny_lite_recipe(), image_size=None)
            _TEMPLATE.update(cache=ds.home / "image-cache", run=run.path, run_id=run.id)
        finally:
            ds.close()
    finally:
        if old is None:
            os.environ.pop(paths.ENV_HOME, None)
        else:
            os.environ[paths.ENV_HOME] = old
    return _TEMPLATE


def sample_with_tiny_run(sample_dir: Path, activate: bool = True):
    """(Dataset of the sample, RunInfo of the untrained run) in the current home (FASHION_REVIEW_HOME)."""
    from fashion_review.data import open_dataset
    from fashion_review.training import registry

    t = _template(sample_dir)
    ds = open_dataset(sample_dir)
    cache = ds.home / "image-cache"
    if not cache.exists():
        cache.symlink_to(t["cache"], target_is_directory=True)
    target = registry.runs_dir(ds.fingerprint) / t["run_id"]
    if not target.exists():
        shutil.copytree(t["run"], target)
    run = registry.get_run(t["run_id"], ds.fingerprint)
    if activate:
        registry.activate(ds.fingerprint, run.id)
    return ds, run


_LITE: dict = {}


def _lite_template(sample_dir: Path, epochs: int = 1) -> dict:
    """:func:`tiny_lite_recipe` trained for ``epochs`` on the whole sample, once per test process."""
    if _LITE:
        return _LITE
    from fashion_review.data import open_dataset
    from fashion_review.training.train import train

    root = Path(tempfile.mkdtemp(prefix="fr-lite-template-"))
    atexit.register(shutil.rmtree, root, True)
    old = os.environ.get(paths.ENV_HOME)
    os.environ[paths.ENV_HOME] = str(root)
    try:
        ds = open_dataset(sample_dir)
        try:
            run = train(ds, tiny_lite_recipe(), epochs=epochs, seed=0)
            _LITE.update(cache=ds.home / "image-cache", run=run.path, run_id=run.id)
        finally:
            ds.close()
    finally:
        if old is None:
            os.environ.pop(paths.ENV_HOME, None)
        else:
            os.environ[paths.ENV_HOME] = old
    return _LITE


def sample_with_lite_run(sample_dir: Path, activate: bool = True):
    """(Dataset of the sample, RunInfo) with a real small model (tiny xception-lite, 1 epoch, no predictions
    stored yet) in the current home (FASHION_REVIEW_HOME); the image cache is linked, not rebuilt."""
    from fashion_review.data import open_dataset
    from fashion_review.training import registry

    t = _lite_template(sample_dir)
    ds = open_dataset(sample_dir)
    cache = ds.home / "image-cache"
    if not cache.exists():
        cache.symlink_to(t["cache"], target_is_directory=True)
    target = registry.runs_dir(ds.fingerprint) / t["run_id"]
    if not target.exists():
        shutil.copytree(t["run"], target)
    run = registry.get_run(t["run_id"], ds.fingerprint)
    if activate:
        registry.activate(ds.fingerprint, run.id)
    return ds, run


#: When the test reference model says it was trained (before any import of it).
REFERENCE_TRAINED = "2026-12-02T02:20:30+0000"


def make_reference_folder(folder, ds, *, seen_ids=(), wrong_name_id=None, min_images=None):  # noqa: ANN001, ANN202
    """A small reference folder as scripts/train_reference.py writes it, from an untrained model."""
    from fashion_review.modeling import make_model
    from fashion_review.training import reference

    recipe = tiny_lite_recipe()
    classes = {s: sorted(ds.usable(s, min_images).unique().tolist()) for s in recipe.schemes}
    model = make_model(recipe, {s: len(c) for s, c in classes.items()})
    folder.mkdir(parents=True)
    reference.write_weights(folder / reference.WEIGHTS_FILE, model)
    record = {"id": "test-lite", "recipe": recipe.to_dict(), "schemes": list(recipe.schemes), "classes": classes,
              "image_size": None, "metrics": {"articleType": {"test_accuracy": 0.9}},
              "trained_on": {"data_set": "a test"}, "created": REFERENCE_TRAINED}
    (folder / reference.REFERENCE_FILE).write_text(json.dumps(record), encoding="utf-8")
    seen_ids = list(seen_ids)
    names = ds.catalog.df.loc[seen_ids, "productDisplayName"].to_numpy(dtype=object).copy()
    if wrong_name_id is not None:
        names[list(seen_ids).index(wrong_name_id)] = "another product under the same id"
    reference.write_seen(folder / reference.SEEN_FILE, np.asarray(seen_ids), np.array(["train"] * len(seen_ids)),
                         names)
    return model


def register_untrained_run(ds: Any, recipe: str = "xception-multihead", *, image_size: int = 71,
                           min_images: int | None = None, seed: int = 0) -> Any:
    """A registry run holding the recipe's model with random weights (not activated).

    For smoke tests and benchmarks on a machine where no model was trained yet: it has the
    layout of a trained run (model.keras, run.json, split.csv), so prediction and ``retrain_heads`` work.
    """
    import time

    import keras

    from fashion_review.modeling import load_recipe, make_model
    from fashion_review.training import registry
    from fashion_review.training.pipeline import labelled_set

    rec = load_recipe(recipe)
    mi = int(ds.default_min_images if min_images is None else min_images)
    eff = ds.effective()
    classes = {s: list(ds.class_filter(s, mi, effective=eff).kept) for s in rec.schemes}
    keras.utils.set_random_seed(seed)
    if rec.multihead:
        model = make_model(rec, {s: len(c) for s, c in classes.items()}, image_size=image_size)
    else:
        s = rec.schemes[-1]
        classes = {s: classes[s]}
        model = make_model(rec, len(classes[s]), scheme=s, image_size=image_size)
    record = {
        "format": registry.RUN_FORMAT, "recipe": rec.to_dict(), "schemes": list(classes),
        "classes": classes, "image_size": image_size, "min_images": mi,
        "data": {"fingerprint": ds.fingerprint, "min_images": mi},
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "corrections": int(ds.store.count()),
        "metrics": {}, "untrained": True,
    }
    # The split a trained run records: which products its (here: untrained) backbone "trained" on.
    data = labelled_set(ds, list(classes), multihead=rec.multihead, min_images=mi, effective=eff)
    with registry.RunWriter(ds.fingerprint, registry.new_run_id(f"{rec.name}-untrained", list(classes))) as w:
        model.save(w.path / registry.MODEL_FILE)
        registry.write_json(w.path / registry.HISTORY_FILE, {})
        data.split_frame().to_csv(w.path / registry.SPLIT_FILE, index=False)
        return w.commit(record)
