"""Retrain heads: the everyday loop's fast path after a round of corrections.

Keep the active model's backbone, compute its features once for every product with an image
(:mod:`fashion_review.training.features`: cached on disk under the data set's home, keyed by the
run that holds the backbone), then train only the heads (pooling, Dense, Dropout, ..., softmax: one
per scheme) on the cached features with the *corrected* labels, and store a new registry run that
keeps only those heads (``heads.keras``) and names the run whose ``model.keras`` holds the backbone
(``run.json``: ``backbone``): no copy of the backbone per run.
:func:`fashion_review.training.registry.load_model` composes the two
(:func:`fashion_review.modeling.surgery.compose`), so prediction and evaluation work on it
unchanged; heads retrained from a heads run share the same backbone run, and the same feature
cache.  The graph surgery is in :mod:`fashion_review.modeling.surgery`.

Backend-neutral Keras; no Qt.  The long steps take a :class:`~fashion_review.tasks.Task`:
feature extraction reports phase ``"features"``, head training ``"train"`` and ``"epoch_end"``
(the same info as :func:`fashion_review.training.train.train`, so the app's curves draw either).

The parts (train / validation / test) are the parent run's own, from its ``split.csv``: the
backbone trained on the parent's training products, so those must never land in the heads' test
part, whatever the stored splits of this home say (a copied run, another home, deleted split
files).  Products the parent never saw take the stored split's part (for the reference model, whose
split says "test" for every product it never saw, that is every "test" of its split).

Every name of the feature cache and of the surgery is importable from here as before
(``heads.split_model``, ``heads.ensure_features``, ``heads.FeatureCache`` ...).
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import keras
import numpy as np

from fashion_review.errors import ModelError
from fashion_review.modeling.losses import IGNORE_LABEL  # noqa: F401 (re-exported)
from fashion_review.modeling.surgery import (  # noqa: F401 (re-exported)
    POOLINGS,
    ModelParts,
    NewHeads,
    build_new_heads,
    compose,
    inference_model,
    old_head_model,
    split_model,
)
from fashion_review.tasks import Cancelled, Task
from fashion_review.training.features import (  # noqa: F401 (re-exported)
    FEATURES_VERSION,
    FLOAT32_MAX_DIM,
    FeatureCache,
    FeatureWriter,
    ensure_features,
    extract_features,
    feature_dtype,
    features_dir,
    open_feature_cache,
)

# --------------------------------------------------------------------------------------------
# Training the heads


class _Batches(keras.utils.PyDataset):
    """Shuffled batches of cached features with one label array per head (-1 = masked)."""

    def __init__(self, cache: FeatureCache, rows: np.ndarray, labels: dict[str, np.ndarray],
                 batch_size: int, shuffle: bool, seed: int = 0) -> None:
        super().__init__()
        self.cache = cache
        self.rows = np.asarray(rows)
        self.labels = labels
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.rng = np.random.default_rng(seed)
        self.order = np.arange(len(self.rows))
        if shuffle:
            self.rng.shuffle(self.order)

    def __len__(self) -> int:
        return math.ceil(len(self.rows) / self.batch_size)

    def __getitem__(self, i: int):  # noqa: ANN204
        sel = np.sort(self.order[i * self.batch_size:(i + 1) * self.batch_size])
        pos = self.rows[sel]
        x = np.asarray(self.cache.features[pos], dtype=np.float32)
        return x, {s: lab[sel] for s, lab in self.labels.items()}

    def on_epoch_end(self) -> None:
        if self.shuffle:
            self.rng.shuffle(self.order)


def heads_recipe(recipe: Mapping[str, Any] | Any = None) -> Any:
    """The recipe head training compiles with: the model's own (its optimizer, label smoothing,
    weight decay) with sparse labels (class indices, -1 masked, as the batches give them) and a
    constant learning rate; the multihead recipe's when the run's record holds none readable."""
    from fashion_review.modeling.recipes import Recipe, load_recipe

    base = None
    if isinstance(recipe, Recipe):
        base = recipe
    elif isinstance(recipe, Mapping) and recipe:
        try:
            base = Recipe.from_dict(recipe, where="the run's recipe")
        except ModelError:
            base = None
    if base is None:
        base = load_recipe("xception-multihead")
    return base.replace(loss="sparse_categorical_crossentropy", schedule="constant")


def fit_heads(head_model: keras.Model, cache: FeatureCache, train_ids: np.ndarray, train_labels: dict[str, np.ndarray],
              val_ids: np.ndarray | None = None, val_labels: dict[str, np.ndarray] | None = None, *,
              epochs: int, batch_size: int, learning_rate: float, task: Task | None = None,
              seed: int = 0, recipe: Any = None) -> dict[str, list[float]]:
    """Train ``head_model`` on cached features; returns the Keras history.  Raises Cancelled.

    Compiled by :func:`fashion_review.modeling.losses.compile_model` with :func:`heads_recipe`
    (``recipe``: a Recipe or a run record's recipe dict), at ``learning_rate``.
    """
    from fashion_review.modeling.losses import compile_model
    from fashion_review.training.callbacks import TaskProgress

    keras.utils.set_random_seed(seed)
    compile_model(head_model, heads_recipe(recipe), learning_rate=learning_rate)
    train = _Batches(cache, cache.index_of(train_ids), train_labels, batch_size, shuffle=True, seed=seed)
    val = None
    if val_ids is not None and len(val_ids):
        val = _Batches(cache, cache.index_of(val_ids), val_labels or {}, max(batch_size, 256), shuffle=False)
    cb = TaskProgress(task, epochs=epochs, batches=len(train), samples=len(train.rows), batch_size=batch_size,
                      val_batches=len(val) if val is not None else 0)
    hist = head_model.fit(train, validation_data=val, epochs=epochs, verbose=0, callbacks=[cb])
    if task is not None and task.cancelled:
        raise Cancelled()
    return {k: [float(v) for v in vs] for k, vs in hist.history.items()}


def predict_heads(head_model: keras.Model, cache: FeatureCache, ids: np.ndarray,
                  batch_size: int = 1024) -> dict[str, np.ndarray]:
    """Class probabilities per scheme for ``ids`` from cached features."""
    pos = cache.index_of(ids)
    outs: dict[str, list[np.ndarray]] = {}
    for start in range(0, len(pos), batch_size):
        x = np.asarray(cache.features[pos[start:start + batch_size]], dtype=np.float32)
        y = head_model.predict_on_batch(x)
        if not isinstance(y, dict):
            y = {head_model.output_names[0]: y}
        for s, v in y.items():
            outs.setdefault(s, []).append(np.asarray(keras.ops.convert_to_numpy(v), dtype=np.float32))
    if not outs:  # no ids: empty arrays of the right width
        return {s: np.zeros((0, int(t.shape[-1])), np.float32)
                for s, t in zip(head_model.output_names, head_model.outputs)}
    return {s: np.concatenate(v) for s, v in outs.items()}


# --------------------------------------------------------------------------------------------
# The whole fast path: registry run in, registry run out

#: Head training defaults: warm-started heads need few epochs; large batches use the CPU better.
DEFAULT_EPOCHS = 2
DEFAULT_BATCH_SIZE = 256


@dataclass
class HeadsResult:
    """What :func:`retrain_heads` did: the new run and the numbers the retrain dialog shows."""

    run: Any  # training.registry.RunInfo
    parent: Any  # the run whose backbone was kept
    before: dict[str, Any]  # scheme -> review.metrics.ClassReport of the old heads (test part, current labels)
    after: dict[str, Any]  # scheme -> ClassReport of the new heads, same products
    history: dict[str, list[float]]
    timings: dict[str, float]  # image_cache_s, load_s, features_s, train_s, predict_s, save_s, total_s
    feature_stats: dict[str, Any]
    comparison: Any = None  # training.compare.Comparison: on how many products, what was not counted
    parts: dict[str, int] = field(default_factory=dict)  # products per part, and how many the parent placed


def _min_images(ds: Any, run: Any, min_images: int | None) -> int | dict:
    """The class threshold(s) of a run: given, else recorded (one number, or one per scheme)."""
    if min_images is not None:
        return dict(min_images) if isinstance(min_images, dict) else int(min_images)
    rec = run.record
    for where in (rec, rec.get("data", {})):
        if isinstance(where, dict) and where.get("min_images") is not None:
            m = where["min_images"]
            return {str(k): int(v) for k, v in m.items()} if isinstance(m, dict) else int(m)
    return int(ds.default_min_images)


def parts_from_parent(data: Any, parent: Any) -> int:
    """Give ``data`` (a LabelledSet) the parent run's recorded part for every product the parent saw.

    Returns how many products took the parent's part.  ModelError when the parent has no split
    file: then which products its backbone trained on is unknown, and no test part would be honest.
    """
    from fashion_review.data.splits import PARTS
    from fashion_review.training.reference import parts_kept_from
    from fashion_review.training.registry import read_split

    try:
        recorded = read_split(parent)
    except ModelError as exc:
        raise ModelError(f"{exc}. Retraining its heads needs it: it says which products the backbone "
                         "trained on, which must stay out of the test part; train a full model instead") from None
    given = recorded.reindex(data.ids).to_numpy(dtype=object)
    takes = parts_kept_from(parent)  # the reference's "test" means "never saw it": the stored split decides
    have = np.array([p in takes for p in given], dtype=bool)
    parts = np.asarray(data.parts, dtype=object).astype(str).copy()
    parts[have] = given[have].astype(str)
    data.parts = parts
    data.part_scheme = f"run:{parent.id}"
    data.counts = {p: int((parts == p).sum()) for p in PARTS}
    return int(have.sum())


def _label_names(labels: np.ndarray, classes: Sequence[str]) -> np.ndarray:
    names = np.asarray(list(classes) + [""], dtype=object)
    return names[labels]  # -1 picks the trailing "" (not usable)


def retrain_heads(
    ds: Any,
    run: Any = None,
    *,
    epochs: int | None = None,
    batch_size: int | None = None,
    lr: float | None = None,
    min_images: int | None = None,
    warm_start: bool = True,
    limit: int | None = None,
    feature_batch_size: int = 128,
    task: Task | None = None,
    seed: int = 0,
) -> HeadsResult:
    """Keep ``run``'s backbone (default: the active run), retrain its heads on the corrected labels.

    The products and labels are those :func:`~fashion_review.training.train.train` would use now
    (:func:`~fashion_review.training.pipeline.labelled_set`: corrections applied, excluded
    products dropped, the class filter redone); their parts are the parent's recorded ones
    (:func:`parts_from_parent`).  Writes a new registry run (not activated:
    :func:`~fashion_review.training.registry.activate` is the caller's choice) with the model,
    ``run.json`` (``parent`` = the old run id, ``training.heads_only`` = true), ``history.json``,
    ``split.csv`` and ``predictions.npz`` for every product with an image, computed from the cached
    features at no extra backbone cost, all before the run is renamed into the registry.
    ``limit`` keeps the first N usable products (smoke runs, tests) and computes features for
    those only.  A cancel (phases ``"cache"``, ``"features"``, ``"train"``, ``"predict"``,
    ``"save"``) raises Cancelled and leaves the registry as it was; the features computed so far
    stay cached for the next try.
    """
    from fashion_review.review.predictions import Predictions, save_predictions
    from fashion_review.training import registry
    from fashion_review.training.compare import Comparison, compare_reports
    from fashion_review.training.pipeline import ensure_image_cache, labelled_set

    task = task if task is not None else Task()
    t_start = time.perf_counter()
    timings: dict[str, float] = {}
    parent = registry.active_run(ds.fingerprint) if run is None else registry.get_run(run, ds.fingerprint)
    if parent is None:
        raise ModelError("no active model for this data set: train one first (retraining the heads "
                         "keeps a model's backbone)")

    t = time.perf_counter()
    images = ensure_image_cache(ds, task)
    timings["image_cache_s"] = time.perf_counter() - t
    task.check()

    t = time.perf_counter()
    task.report("prepare", None, f"loading model {parent.id}")
    model = registry.load_model(parent)
    parts = split_model(model, parent.schemes)
    timings["load_s"] = time.perf_counter() - t
    recipe_data = parent.record.get("recipe", {}) if isinstance(parent.record.get("recipe"), dict) else {}
    epochs = DEFAULT_EPOCHS if epochs is None else int(epochs)
    batch_size = DEFAULT_BATCH_SIZE if batch_size is None else int(batch_size)
    lr = float(recipe_data.get("learning_rate", 1e-4)) if lr is None else float(lr)
    mi = _min_images(ds, parent, min_images)

    task.report("prepare", None, "labels from the effective catalog")
    eff = ds.effective()
    data = labelled_set(ds, parts.schemes, multihead=recipe_data.get("kind") == "multihead" or len(parts.schemes) > 1,
                        min_images=mi, limit=limit, cache=images, effective=eff)
    from_parent = parts_from_parent(data, parent)
    new_classes = data.classes
    if limit is None:  # the whole catalog: predictions for every product with an image
        with_image = eff.index[eff["has_image"].to_numpy()].to_numpy(np.int64)
        ok, _ = images.readable(with_image)
        feature_ids = np.union1d(with_image[ok], data.ids)
    else:
        feature_ids = np.sort(data.ids)
    task.check()

    t = time.perf_counter()
    cache, fstats = ensure_features(parts, parent.backbone_id, images, feature_ids, Path(ds.home),
                                    batch_size=feature_batch_size, task=task)
    timings["features_s"] = time.perf_counter() - t

    train_ids, train_labels = data.part("train")
    val_ids, val_labels = data.part("val")
    test_ids, test_labels = data.part("test")
    if len(train_ids) == 0:
        raise ModelError("no product with a usable label in the train part: nothing to train")

    nh = build_new_heads(parts, parent.classes, new_classes, warm_start=warm_start)
    t = time.perf_counter()
    history = fit_heads(nh.head_model, cache, train_ids, train_labels, val_ids, val_labels,
                        epochs=epochs, batch_size=batch_size, learning_rate=lr, task=task, seed=seed,
                        recipe=recipe_data)
    timings["train_s"] = time.perf_counter() - t
    task.check()

    task.report("predict", None, f"predicting {len(feature_ids):,} products from the cached features")
    t = time.perf_counter()
    inference = inference_model({s: (c[1:] if parts.pooled else c) for s, c in nh.chains.items()}, parts.feature_shape)
    out = predict_heads(inference, cache, feature_ids)
    probs = {s: out[s] for s in parts.schemes}
    embeddings = {s: out[f"emb__{s}"] for s in parts.schemes if f"emb__{s}" in out}
    timings["predict_s"] = time.perf_counter() - t
    row = np.searchsorted(feature_ids, data.ids)
    test_rows = row[data.mask("test")]
    # Before / after on the test part: none of it trained the parent (its parts are the parent's).
    given = {s: _label_names(test_labels[s], new_classes[s]) for s in parts.schemes}
    old_probs = predict_heads(old_head_model(parts), cache, test_ids)
    before, after, not_counted = compare_reports(given, {s: p[test_rows] for s, p in probs.items()}, new_classes,
                                                 old_probs, parent.classes)
    comparison = Comparison(before, after, int(len(test_ids)), {"trained_by_parent": 0}, not_counted)
    scheme_metrics: dict[str, dict[str, Any]] = {}
    for s in parts.schemes:
        m: dict[str, Any] = {}
        for part in ("train", "val", "test"):
            lab = data.labels[s][data.mask(part)]
            keep = lab >= 0
            if keep.any():
                pred = probs[s][row[data.mask(part)]][keep].argmax(axis=1)
                m[f"{part}_accuracy"] = float((pred == lab[keep]).mean())
        m["test_accuracy_before"] = before[s].accuracy
        m["not_counted_before"] = not_counted[s].get("unknown_to_parent", 0)
        scheme_metrics[s] = m
    task.check()

    t = time.perf_counter()
    task.report("save", None, "saving the model")
    record = dict(parent.record)
    record.pop("id", None)
    # trained here (its heads), not the imported reference model its backbone may come from: it must not
    # be taken for the reference (its trained date, "(reference)" in Choose model, find_imported)
    record.pop("reference", None)
    data_rec = dict(record.get("data", {})) if isinstance(record.get("data"), dict) else {}
    data_rec.update({"fingerprint": ds.fingerprint, "split_fingerprint": data.split_fingerprint,
                     "part_scheme": data.part_scheme, "parts_from_parent": from_parent,
                     "corrections": int(ds.store.count()),
                     "excluded": int(eff["excluded"].sum()), "products": data.counts, "limit": data.limit,
                     "unreadable_images": data.unreadable})
    # this run's training, not the parent's: it inherited "imported" and the reference's 335 images/s
    # (another machine's full training), which the estimates of the next retrain would have read
    from fashion_review.modeling import describe_device

    training_rec = {"device": describe_device()}
    training_rec.update({
        "heads_only": True, "epochs": epochs, "epochs_run": len(history.get("loss", [])), "batch_size": batch_size,
        "learning_rate": lr, "warm_start": warm_start, "backend": keras.backend.backend(),
        "feature_cache": str(cache.path), "features_pooled": parts.pooled,
    })
    record.update({
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "parent": parent.id,
        # the backbone is shared, not copied: load_model composes it with this run's heads.keras
        "backbone": {"run": parent.backbone_id, "file": registry.MODEL_FILE},
        "classes": {s: list(new_classes[s]) for s in parts.schemes},
        "min_images": data.min_images,
        "data": data_rec,
        "training": training_rec,
        "metrics": scheme_metrics,
    })
    record.pop("untrained", None)
    run_id = registry.new_run_id(f"{recipe_data.get('name', 'model')}-heads", parts.schemes)
    classes = {s: list(new_classes[s]) for s in parts.schemes}
    emb16 = {s: v.astype(np.float16) for s, v in embeddings.items()}

    def write_predictions(final_id: str) -> None:  # in the run folder before it is renamed into place
        save_predictions(Predictions(ids=feature_ids, classes=classes, probs=probs, model_version=final_id,
                                     embeddings=emb16), w.path / registry.PREDICTIONS_FILE)
        task.check()

    with registry.RunWriter(ds.fingerprint, run_id) as w:
        # the heads only (a third of the multihead model, a tenth of xception-lite's), without the
        # optimizer state compile_heads gave head_model: a plain graph over the same layers
        keras.Model(nh.head_model.inputs, nh.head_model.outputs, name="heads").save(w.path / registry.HEADS_FILE)
        registry.write_json(w.path / registry.HISTORY_FILE, history)
        data.split_frame().to_csv(w.path / registry.SPLIT_FILE, index=False)
        task.check()
        timings["save_s"] = time.perf_counter() - t
        timings["total_s"] = time.perf_counter() - t_start
        record["training"]["seconds"] = {k: round(v, 2) for k, v in timings.items()}
        new_run = w.commit(record, before_rename=write_predictions)
    task.report("done", 1.0, f"new run {new_run.id} in {timings['total_s']:.0f} s")
    return HeadsResult(new_run, parent, before, after, history, timings, fstats, comparison,
                       {**data.counts, "from_parent": from_parent})
