"""Out-of-sample image probabilities for every product: K-fold cross-validation.

Confident learning needs, for each product, probabilities from a model that never saw its label.
Two ways, both plain functions with a :class:`~fashion_review.tasks.Task`:

* :func:`cv_probabilities` (mode ``cv``): the products a recipe trains on (the effective catalog:
  corrections applied, excluded products and small classes out) are dealt into K folds,
  stratified by articleType; for each fold a model of the recipe (``xception-lite`` by default) is
  trained by :func:`fashion_review.training.train.train` on the other folds (5 % of them held for
  validation) and predicts the fold.  Products outside the training set (excluded, or in no kept
  class) get the mean of the K models.  With ``xception-lite`` on a 2-core CPU that is about K x
  (K - 1) / K of a full training run: the defaults, 4 folds x 8 epochs, take about 40 minutes
  there at 417 images/s, 97 minutes measured at 195 (README, "Label issues").
* :func:`heads_probabilities` (mode ``heads``): minutes.  The active model's backbone features
  (cached, :func:`fashion_review.training.heads.ensure_features`) stay; for each fold fresh heads
  are trained on the other folds and predict the fold.  The backbone itself usually trained on
  most of these labels, so the result is *not* fully out of sample: it is labelled "heads mode"
  wherever it shows, with how many of the labels the backbone trained on
  (:func:`backbone_trained_on`: none for the reference model on the bundled sample, which it was
  trained without).

A cancel raises Cancelled within one batch; the fold models live in a temp folder that is removed
either way, so nothing half-made is left.  A process killed from outside cannot remove it: the next
run removes every such folder whose writer (host and process id in its name) is gone.
"""

from __future__ import annotations

import re
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from fashion_review.errors import ModelError
from fashion_review.fsutil import remove_stale_temp_dirs, temp_name
from fashion_review.review.text_signal import fold_assignment
from fashion_review.tasks import Progress, Task

DEFAULT_FOLDS = 4
DEFAULT_EPOCHS = 8
DEFAULT_RECIPE = "xception-lite"
#: The fold models' work folder under ``<home>/label-issues`` (a :func:`~fashion_review.fsutil.temp_name`).
_WORK_PREFIX = ".cv-"
HEADS_EPOCHS = 6
HEADS_LR = 1e-3
VAL_FRACTION = 0.05
#: The scheme the folds are stratified by (the finest of the paper's).
STRATIFY = "articleType"


@dataclass
class OutOfSample:
    """Image probabilities per scheme for ``ids`` from models that did not train on them."""

    mode: str  # "cv" or "heads"
    ids: np.ndarray  # int64, sorted
    classes: dict[str, list[str]]
    probs: dict[str, np.ndarray]  # float32 (N, C)
    fold: np.ndarray  # fold of each id; -1: outside the training set (mean of the fold models)
    info: dict[str, Any] = field(default_factory=dict)


def backbone_trained_on(run: Any, ids: np.ndarray) -> int | None:
    """How many of ``ids`` ``run`` trained on (its ``split.csv``'s train part; for the reference
    model, the products of this catalog it saw under the same id and name), None when unknown."""
    from fashion_review.training.compare import trained_ids

    seen = trained_ids(run)
    return None if seen is None else int(np.isin(np.asarray(ids, np.int64), seen).sum())


def _folds_of(data: Any, folds: int, seed: int) -> np.ndarray:
    s = STRATIFY if STRATIFY in data.labels else data.schemes[-1]
    return fold_assignment(data.labels[s], folds, seed)


def _fold_parts(ids: np.ndarray, fold: np.ndarray, k: int, seed: int) -> pd.Series:
    """Fold ``k`` is the test part; of the others, a seeded :data:`VAL_FRACTION` validates."""
    rng = np.random.default_rng(seed + 1000 * (k + 1))
    parts = np.where(fold == k, "test", np.where(rng.random(len(ids)) < VAL_FRACTION, "val", "train"))
    return pd.Series(parts, index=pd.Index(ids, name="id"))


class _FoldProgress:
    """Forwards a fold's progress to the job's task as phase "crossval" with an overall ETA."""

    def __init__(self, task: Task, k: int, folds: int, started: float, train_share: float = 0.93) -> None:
        self.task, self.k, self.folds, self.started, self.train_share = task, k, folds, started, train_share
        self.within = 0.0

    def __call__(self, p: Progress) -> None:
        f = p.fraction if p.fraction is not None else 0.0
        if p.phase in ("train", "epoch_end"):
            self.within = max(self.within, self.train_share * f)
        elif p.phase == "predict":
            self.within = max(self.within, self.train_share + (1 - self.train_share) * f)
        overall = (self.k + self.within) / self.folds
        elapsed = time.monotonic() - self.started
        eta = elapsed / overall * (1 - overall) if overall > 0.02 else None
        eta_txt = f" · ETA {clock_text(eta)}" if eta is not None else ""
        message = re.sub(r", ETA [0-9:]+$", "", p.message)
        self.task.report("crossval", overall, f"fold {self.k + 1}/{self.folds}: {message}{eta_txt}",
                         fold=self.k + 1, folds=self.folds, step=p.phase, eta_s=eta, **{
                             k: v for k, v in p.info.items() if k in ("epoch", "epochs", "images_per_s")})


def clock_text(s: float) -> str:
    s = max(0, int(round(s)))
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60}:{s % 60:02d}"


def cv_probabilities(ds: Any, *, folds: int = DEFAULT_FOLDS, epochs: int | None = DEFAULT_EPOCHS,
                     recipe: Any = DEFAULT_RECIPE, batch_size: int | None = None, image_size: int | None = None,
                     min_images: int | None = None, limit: int | None = None, seed: int = 0,
                     task: Task | None = None, run_eagerly: bool = False) -> OutOfSample:
    """K-fold cross-validated probabilities of ``recipe`` (see the module docstring)."""
    from fashion_review.modeling import load_recipe
    from fashion_review.training import registry
    from fashion_review.training.pipeline import ensure_image_cache, labelled_set
    from fashion_review.training.predict import infer, prediction_ids, test_time_flip
    from fashion_review.training.train import apply_overrides, resolve_schemes, train

    if folds < 2:
        raise ModelError(f"cross-validation needs at least 2 folds, got {folds}")
    task = task if task is not None else Task()
    t0 = time.monotonic()
    rec = apply_overrides(load_recipe(recipe), epochs=epochs, batch_size=batch_size, image_size=image_size)
    schemes = resolve_schemes(rec, None if rec.multihead or len(rec.schemes) == 1 else [STRATIFY])
    cache = ensure_image_cache(ds, task)
    task.check()
    eff = ds.effective()
    data = labelled_set(ds, schemes, multihead=rec.multihead, min_images=min_images, limit=limit,
                        cache=cache, effective=eff)
    fold = _folds_of(data, folds, seed)
    all_ids = np.sort(data.ids) if limit is not None else prediction_ids(ds, cache)
    all_ids = np.union1d(all_ids, data.ids)
    outside = np.setdiff1d(all_ids, data.ids)
    row_of = pd.Series(np.arange(len(all_ids)), index=all_ids)
    probs = {s: np.zeros((len(all_ids), len(data.classes[s])), np.float32) for s in schemes}
    fold_of = np.full(len(all_ids), -1, np.int64)
    fold_of[row_of.loc[data.ids].to_numpy()] = fold
    work_parent = Path(ds.home) / "label-issues"
    work_parent.mkdir(parents=True, exist_ok=True)
    # A run killed from outside (SIGTERM, SIGKILL, a crash) never reaches the ``finally`` below:
    # its fold models stay behind, hundreds of MB each.  Sweep what dead processes of this machine
    # left; a live run's folder (another window, another process) is never touched.
    remove_stale_temp_dirs(work_parent, _WORK_PREFIX)
    work = work_parent / temp_name(_WORK_PREFIX)
    work.mkdir()
    fits: list[dict] = []
    try:
        for k in range(folds):
            task.check()
            sub = task.linked(_FoldProgress(task, k, folds, t0))
            parts = _fold_parts(data.ids, fold, k, seed)
            t_fold = time.monotonic()
            run = train(ds, rec, schemes=None if rec.multihead else schemes, parts=parts, out=work / f"fold{k}",
                        task=sub, min_images=data.min_images, seed=seed + k, run_eagerly=run_eagerly)
            if run.classes != data.classes:  # pragma: no cover - labelled_set decides both
                raise ModelError(f"fold {k + 1} trained on other classes than the catalog's")
            model = registry.load_model(run)
            held = data.ids[fold == k]
            want = np.concatenate([held, outside])
            p, _ = infer(model, schemes, cache.images, cache.index_of(want), task=sub, flip=test_time_flip(run))
            for s in schemes:
                probs[s][row_of.loc[held].to_numpy()] = p[s][:len(held)]
                if len(outside):
                    probs[s][row_of.loc[outside].to_numpy()] += p[s][len(held):] / folds
            t = run.record.get("training", {})
            fits.append({"fold": k + 1, "train": int((parts == "train").sum()), "val": int((parts == "val").sum()),
                         "held_out": int(len(held)), "seconds": round(time.monotonic() - t_fold, 1),
                         "images_per_s": t.get("images_per_s"), "epochs_run": t.get("epochs_run"),
                         "val_accuracy": {s: m.get("val_accuracy") for s, m in run.metrics.items()}})
            del model
            shutil.rmtree(work / f"fold{k}", ignore_errors=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    from fashion_review.modeling import describe_device

    task.report("crossval", 1.0, f"{folds} folds done in {clock_text(time.monotonic() - t0)}")
    return OutOfSample("cv", all_ids, {s: list(data.classes[s]) for s in schemes}, probs, fold_of, {
        "recipe": rec.name, "folds": folds, "epochs": rec.epochs, "batch_size": rec.batch_size,
        "min_images": data.min_images, "limit": limit, "seed": seed, "fits": fits,
        "seconds": round(time.monotonic() - t0, 1), "device": describe_device(),
        "trained_products": int(len(data.ids)), "outside_products": int(len(outside))})


def heads_probabilities(ds: Any, *, folds: int = DEFAULT_FOLDS, epochs: int | None = None, run: Any = None,
                        batch_size: int = 256, limit: int | None = None, seed: int = 0,
                        task: Task | None = None) -> OutOfSample:
    """Cross-validated fresh heads on ``run``'s (default: the active run's) cached backbone features."""
    from fashion_review.training import registry
    from fashion_review.training.heads import (
        _min_images,
        build_new_heads,
        ensure_features,
        fit_heads,
        predict_heads,
        split_model,
    )
    from fashion_review.training.pipeline import ensure_image_cache, labelled_set
    from fashion_review.training.predict import prediction_ids

    if folds < 2:
        raise ModelError(f"cross-validation needs at least 2 folds, got {folds}")
    task = task if task is not None else Task()
    t0 = time.monotonic()
    epochs = HEADS_EPOCHS if epochs is None else int(epochs)
    parent = registry.active_run(ds.fingerprint) if run is None else registry.get_run(run, ds.fingerprint)
    if parent is None:
        raise ModelError("heads mode needs an active model for this data set (its backbone features); "
                         "train one first, or use --mode cv")
    images = ensure_image_cache(ds, task)
    task.report("prepare", None, f"loading model {parent.id}")
    model = registry.load_model(parent)
    parts = split_model(model, parent.schemes)
    eff = ds.effective()
    mi = _min_images(ds, parent, None)
    data = labelled_set(ds, parts.schemes, multihead=len(parts.schemes) > 1, min_images=mi, limit=limit,
                        cache=images, effective=eff)
    all_ids = np.sort(data.ids) if limit is not None else np.union1d(prediction_ids(ds, images), data.ids)
    feats_task = task.linked(lambda p: task.report("features", p.fraction, p.message, **p.info))
    feats, fstats = ensure_features(parts, parent.id, images, all_ids, Path(ds.home), task=feats_task)
    fold = _folds_of(data, folds, seed)
    outside = np.setdiff1d(all_ids, data.ids)
    row_of = pd.Series(np.arange(len(all_ids)), index=all_ids)
    probs = {s: np.zeros((len(all_ids), len(data.classes[s])), np.float32) for s in parts.schemes}
    fold_of = np.full(len(all_ids), -1, np.int64)
    fold_of[row_of.loc[data.ids].to_numpy()] = fold
    t_heads = time.monotonic()
    for k in range(folds):
        task.check()
        sub = task.linked(_FoldProgress(task, k, folds, t_heads, train_share=0.97))
        split = _fold_parts(data.ids, fold, k, seed).to_numpy()
        nh = build_new_heads(parts, parent.classes, data.classes, warm_start=False)
        tr, va = split == "train", split == "val"
        fit_heads(nh.head_model, feats, data.ids[tr], {s: v[tr] for s, v in data.labels.items()},
                  data.ids[va], {s: v[va] for s, v in data.labels.items()}, epochs=epochs, batch_size=batch_size,
                  learning_rate=HEADS_LR, task=sub, seed=seed + k)
        held = data.ids[fold == k]
        p = predict_heads(nh.head_model, feats, np.concatenate([held, outside]))
        for s in parts.schemes:
            probs[s][row_of.loc[held].to_numpy()] = p[s][:len(held)]
            if len(outside):
                probs[s][row_of.loc[outside].to_numpy()] += p[s][len(held):] / folds
    task.report("crossval", 1.0, f"{folds} folds of heads done in {clock_text(time.monotonic() - t0)}")
    return OutOfSample("heads", all_ids, {s: list(data.classes[s]) for s in parts.schemes}, probs, fold_of, {
        "run": parent.id, "recipe": (parent.record.get("recipe") or {}).get("name", parent.recipe),
        "folds": folds, "epochs": epochs, "min_images": mi, "limit": limit, "seed": seed,
        "features_computed": fstats.get("computed"), "seconds": round(time.monotonic() - t0, 1),
        "heads_seconds": round(time.monotonic() - t_heads, 1), "trained_products": int(len(data.ids)),
        "outside_products": int(len(outside)), "backbone_trained": backbone_trained_on(parent, data.ids)})
