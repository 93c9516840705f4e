"""Find label issues: compute and store what the label-issue queue is ranked from.

:func:`find_label_issues` is what ``fashion-review issues find`` and the app's Review > Find label
issues run: the out-of-sample image probabilities (:mod:`fashion_review.training.crossval`, mode
``cv`` or ``heads``), the cross-validated name probabilities of every scheme
(:mod:`fashion_review.review.text_signal`), the groups of identical photos
(:func:`fashion_review.review.duplicates.exact_groups`), each product's closest look-alikes in
the active model's embedding space (:func:`look_alikes`), in mode cv the active model's own
probabilities (:func:`active_probabilities`), then the queue of each scheme as it
stands, saved in one file under the data set's home (:mod:`fashion_review.review.issues`),
atomically: a cancel or an error leaves the earlier file as it was.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from fashion_review.data.schemes import SCHEMES, scheme_labels
from fashion_review.errors import ModelError
from fashion_review.review.issues import StoredIssues, issues_path, review_marks, save_issues
from fashion_review.tasks import Progress, Task
from fashion_review.training.crossval import (
    DEFAULT_FOLDS,
    DEFAULT_RECIPE,
    clock_text,
    cv_probabilities,
    heads_probabilities,
)

#: Share of the progress bar each step gets, per mode: the image probabilities, the name models, the rest
#: (identical photos, look-alikes, the queues). Heads mode on the full shared data took 53 s, 44 s and 37 s
#: here (its features cached); mode cv spends 50-100 minutes on the image models and the same on the rest.
_SHARES = {"cv": (0.98, 0.01, 0.01), "heads": (0.45, 0.3, 0.25)}


def _eta(started: float, fraction: float | None) -> float | None:
    """Seconds left in the whole job, at its pace so far (the step's own ETA said "0 s left" while
    the name models and the look-alikes, a third of heads mode, were still to come)."""
    if fraction is None or fraction < 0.02:
        return None
    return (time.monotonic() - started) / fraction * (1 - fraction)


class _Scaled:
    """Maps a step's progress into [start, start + share] of the job's, keeping its message; the time
    left is the job's."""

    def __init__(self, task: Task, start: float, share: float, phase: str | None = None,
                 started: float | None = None) -> None:
        self.task, self.start, self.share, self.phase = task, start, share, phase
        self.started = time.monotonic() if started is None else started

    def __call__(self, p: Progress) -> None:
        f = None if p.fraction is None else self.start + self.share * p.fraction
        eta = _eta(self.started, f)
        message = re.sub(r" · ETA [0-9:]+$", "", p.message) + (f" · ETA {clock_text(eta)}" if eta is not None else "")
        self.task.report(self.phase or p.phase, f, message, **{**p.info, "eta_s": eta})


def duplicate_groups(ds: Any, task: Task | None = None) -> pd.Series:
    """Identical-photo groups over the data set's products with a decodable image."""
    from fashion_review.review.duplicates import exact_groups
    from fashion_review.training.pipeline import ensure_image_cache
    from fashion_review.training.predict import prediction_ids

    cache = ensure_image_cache(ds, task)
    ids = prediction_ids(ds, cache)
    return exact_groups(ids, cache.images, cache.index_of(ids))


def _predictions(ds: Any, run: Any = None) -> tuple[Any, Any, str]:
    """(run, its stored predictions, "") of the model ``run`` (default: the active one; or a run
    id), or (run or None, None, why there are none)."""
    from fashion_review.review.predictions import load_predictions
    from fashion_review.training import registry

    if isinstance(run, str):
        run = registry.get_run(run, ds.fingerprint)
    elif run is None:
        run = registry.active_run(ds.fingerprint)
    if run is None:
        return None, None, "no active model"
    if not run.predictions_path.is_file():
        return run, None, f"model {run.id} has not predicted the catalog"
    try:
        return run, load_predictions(run.predictions_path), ""
    except ModelError as exc:  # a damaged file must not throw away an hour of cross-validation
        return run, None, f"model {run.id}'s predictions are unreadable ({exc})"


def look_alikes(ds: Any, run: Any = None, k: int | None = None) -> tuple[np.ndarray, np.ndarray, str]:
    """(ids, neighbour ids (N, k), where from) of every product the model ``run`` (default: the
    active one; or a run id) predicted: the cosine-nearest in its heads' embeddings (each scheme's
    normalised, then joined).

    Empty arrays and the reason when there is no such model or it stored no embeddings (a run
    predicted before embeddings were kept): the queue then has no look-alike signal.
    """
    from fashion_review.review.neighbour_signal import K, nearest_neighbours
    from fashion_review.review.similar import normalise

    none = np.zeros(0, np.int64), np.zeros((0, 0), np.int64)
    run, pred, why = _predictions(ds, run)
    if pred is None:
        return (*none, f"{why}: no look-alikes")
    parts = [normalise(np.asarray(pred.embeddings[s], dtype=np.float32))
             for s in pred.schemes if s in pred.embeddings]
    if not parts:
        return (*none, f"model {run.id} stored no embeddings: no look-alikes")
    rows, _ = nearest_neighbours(np.concatenate(parts, axis=1), K if k is None else int(k))
    return pred.ids, np.where(rows >= 0, pred.ids[np.maximum(rows, 0)], -1), f"the embeddings of {run.id}"


def active_probabilities(ds: Any, run: Any = None) -> tuple[np.ndarray, dict, dict, str | None, str]:
    """(ids, classes, probs per scheme, run id, what) of the model ``run`` (default: the active
    one): the probabilities it stored when it predicted the catalog, which mode cv averages into its
    image signal (:meth:`fashion_review.review.issues.StoredIssues.image_witness`).  Empty, with
    the reason, when there is no such model or it has not predicted the catalog."""
    run, pred, why = _predictions(ds, run)
    if pred is None:
        return np.zeros(0, np.int64), {}, {}, None, f"{why}: the image signal is the cross-validation's alone"
    schemes = [s for s in SCHEMES if s in pred.probs]
    classes = {s: list(pred.classes[s]) for s in schemes}
    probs = {s: np.asarray(pred.probs[s], dtype=np.float32) for s in schemes}
    return np.asarray(pred.ids, dtype=np.int64), classes, probs, run.id, f"averaged with the probabilities of {run.id}"


def name_model(effective: pd.DataFrame, *, folds: int = DEFAULT_FOLDS, seed: int = 0,
               task: Task | None = None) -> tuple[np.ndarray, dict, dict, dict]:
    """(ids, classes, probs, words) of the cross-validated name model of every scheme."""
    from fashion_review.review.text_signal import name_probabilities

    ids = effective.index.to_numpy(dtype=np.int64)
    names = effective["productDisplayName"].astype(object).fillna("").to_numpy(dtype=object) \
        if "productDisplayName" in effective else np.full(len(ids), "", dtype=object)
    classes, probs, words = {}, {}, {}
    for k, s in enumerate(SCHEMES):
        sub = task.linked(_Scaled(task, k / len(SCHEMES), 1 / len(SCHEMES))) if task is not None else None
        out = name_probabilities(names, scheme_labels(effective, s).to_numpy(dtype=object), folds=folds, seed=seed,
                                 task=sub, label=f"{s}: ")
        classes[s], probs[s], words[s] = out.classes, out.probs, out.words
    return ids, classes, probs, words


def find_label_issues(ds: Any, *, mode: str = "cv", folds: int = DEFAULT_FOLDS, epochs: int | None = None,
                      recipe: Any = DEFAULT_RECIPE, limit: int | None = None, seed: int = 0,
                      batch_size: int | None = None, image_size: int | None = None, task: Task | None = None,
                      out: Path | None = None, run_eagerly: bool = False) -> StoredIssues:
    """Compute and store the label issues of ``ds`` (see the module docstring); returns what was stored.

    ``mode``: "cv" (``recipe`` trained ``folds`` times, ``epochs`` each) or "heads" (fresh heads
    on the active model's backbone, ``epochs`` each).  ``limit``: the first N trainable products
    only (smoke runs).  ``out``: write there instead of the data set's home.  Raises Cancelled.
    """
    from fashion_review.review.queue import build_queue

    if mode not in ("cv", "heads"):
        raise ValueError(f"unknown mode {mode!r}; choose cv or heads")
    task = task if task is not None else Task()
    t0 = time.monotonic()
    n_corrections, last_seq = ds.store.count(), ds.store.last_seq()
    img_share, name_share, _ = _SHARES[mode]
    seconds: dict[str, float] = {}

    t = time.monotonic()
    sub = task.linked(_Scaled(task, 0.0, img_share, started=t0))
    if mode == "cv":
        oos = cv_probabilities(ds, folds=folds, epochs=epochs, recipe=recipe, limit=limit, seed=seed,
                               batch_size=batch_size, image_size=image_size, task=sub, run_eagerly=run_eagerly)
    else:
        oos = heads_probabilities(ds, folds=folds, epochs=epochs, limit=limit, seed=seed, task=sub)
    seconds["image"] = time.monotonic() - t
    task.check()

    t = time.monotonic()
    eff = ds.effective()
    sub = task.linked(_Scaled(task, img_share, name_share, phase="names", started=t0))
    name_ids, name_classes, name_probs, name_words = name_model(eff, folds=folds, seed=seed, task=sub)
    seconds["names"] = time.monotonic() - t
    task.check()

    t = time.monotonic()
    rest = img_share + name_share
    task.report("duplicates", rest, "identical photos", eta_s=_eta(t0, rest))
    groups = duplicate_groups(ds, task.linked(None))
    seconds["duplicates"] = time.monotonic() - t
    task.check()

    t = time.monotonic()
    f = rest + 0.05 * (1 - rest)
    task.report("look-alikes", f, "closest look-alikes", eta_s=_eta(t0, f))
    nb_ids, neighbours, nb_from = look_alikes(ds, oos.info.get("run") if mode == "heads" else None)
    seconds["look-alikes"] = time.monotonic() - t
    task.check()

    act_ids, act_classes, act_probs, act_run, act_from = np.zeros(0, np.int64), {}, {}, None, None
    if mode == "cv":  # heads mode stands on the active model's backbone already
        act_ids, act_classes, act_probs, act_run, act_from = active_probabilities(ds)

    meta = {"mode": mode, "folds": folds, "epochs": oos.info.get("epochs"), "recipe": oos.info.get("recipe"),
            "run": oos.info.get("run"), "corrections": n_corrections, "last_seq": last_seq,
            "created": time.strftime("%Y-%m-%d %H:%M"), "limit": limit, "seed": seed,
            "image": oos.info, "look_alikes": nb_from, "active_run": act_run, "active": act_from, "seconds": {}}
    stored = StoredIssues(mode, oos.ids, oos.classes, oos.probs, name_ids, name_classes, name_probs, name_words,
                          groups, {}, meta, nb_ids, neighbours, act_ids, act_classes, act_probs)
    t = time.monotonic()
    for s in SCHEMES:
        q = build_queue(stored, eff, s, review_marks(ds.store, s, last_seq))
        stored.initial[s] = q.entries().index.to_numpy(dtype=np.int64)
    seconds["queue"] = time.monotonic() - t
    seconds["total"] = time.monotonic() - t0
    meta["seconds"] = {k: round(v, 1) for k, v in seconds.items()}
    task.check()
    path = Path(out) if out is not None else issues_path(ds.home, mode)
    save_issues(stored, path)
    n = {s: len(v) for s, v in stored.initial.items()}
    task.report("done", 1.0, "label issues found: " + ", ".join(f"{s} {c:,}" for s, c in n.items()), path=str(path))
    return stored
