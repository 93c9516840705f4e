"""What the window loads for a data set, as plain functions run in a worker (no Qt here).

:func:`load_session` opens the data set, applies the corrections, finds the active model's
cached predictions (numpy only: no Keras, no TensorFlow) and builds the review table;
:func:`compute_splits` reads (or first computes) each scheme's stored split afterwards, so
the window shows the catalog before the splits are known.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from fashion_review import paths
from fashion_review.data.schemes import SCHEME_FIELDS, SCHEMES
from fashion_review.errors import FashionReviewError
from fashion_review.review.predictions import Predictions, load_predictions
from fashion_review.review.table import ReviewTable
from fashion_review.tasks import Task

PREDICTIONS_FILE = "predictions.npz"
LABEL_FIELDS = frozenset(f for fs in SCHEME_FIELDS.values() for f in fs)


@dataclass
class Session:
    """One open data set with everything the window shows about it."""

    ds: object  # fashion_review.data.dataset.Dataset
    table: ReviewTable
    data_path: Path
    predictions_path: Path | None = None
    image_cache: object | None = None  # data.images.ImageCache
    warning: str = ""  # e.g. a predictions file that could not be read

    @property
    def store(self):  # noqa: ANN201
        return self.ds.store

    def close(self) -> None:
        self.ds.close()


def corrected_ids(values: dict[tuple[int, str], str]) -> set[int]:
    """Products with an active correction of a label field (the store's ``effective()``)."""
    return {pid for (pid, fld) in values if fld in LABEL_FIELDS}


def active_predictions_path(fingerprint: str) -> Path | None:
    """The cached predictions of the data set's active model, or None.

    Asks ``training.registry`` when it is installed; else (or when it names no run) reads the
    documented layout: ``models/<fingerprint>/active`` naming ``runs/<id>/predictions.npz``.
    """
    try:
        from fashion_review.training import registry  # no Keras at module level (ARCHITECTURE.md)
    except ImportError:
        registry = None
    if registry is not None and hasattr(registry, "active_run"):
        try:
            run = registry.active_run(fingerprint)
        except (FashionReviewError, OSError, ValueError):
            run = None
        if run is not None:
            folder = None
            for attr in ("path", "folder", "dir"):
                folder = getattr(run, attr, None)
                if folder is not None:
                    break
            if folder is None and getattr(run, "id", None):
                folder = paths.models_home(fingerprint) / "runs" / str(run.id)
            if folder is not None and (Path(folder) / PREDICTIONS_FILE).is_file():
                return Path(folder) / PREDICTIONS_FILE
    models = paths.home() / "models" / fingerprint
    try:
        run_id = (models / "active").read_text(encoding="utf-8").strip()
    except OSError:
        return None
    if not run_id or os.sep in run_id or run_id in (".", ".."):
        return None
    p = models / "runs" / run_id / PREDICTIONS_FILE
    return p if p.is_file() else None


def load_session(data: str | os.PathLike[str], task: Task | None = None) -> Session:
    """Open ``data`` and build its review table (the worker of File > Open)."""
    from fashion_review.data.dataset import open_dataset
    from fashion_review.data.images import open_image_cache

    if task is not None:
        task.report("open", 0.0, f"Reading {data}")
    ds = open_dataset(data)
    try:
        if task is not None:
            task.check()
            task.report("open", 0.5, "Applying corrections")
        values = ds.store.effective()
        eff = ds.effective()
        pred: Predictions | None = None
        pred_path = active_predictions_path(ds.fingerprint)
        warning = ""
        if pred_path is not None:
            try:
                pred = load_predictions(pred_path)
            except FashionReviewError as exc:
                warning = f"Predictions not shown: {exc}"
                pred = None
        if task is not None:
            task.check()
            task.report("open", 0.8, "Building the review table")
        table = ReviewTable.build(eff, ds.catalog.df, pred, corrected_ids(values))
        cache = open_image_cache(ds.home / "image-cache")
    except BaseException:
        ds.close()
        raise
    if task is not None:
        task.report("open", 1.0, "Ready")
    return Session(ds, table, Path(data), pred_path if pred is not None else None, cache, warning)


def compute_splits(ds, effective: pd.DataFrame, schemes=SCHEMES, task: Task | None = None) -> dict:  # noqa: ANN001
    """Per scheme: ``{"usable": id -> label, "split": id -> part}`` over ``effective``.

    Reads the stored splits (computed and stored on first use, then only extended).
    """
    out = {}
    for k, s in enumerate(schemes):
        if task is not None:
            task.check()
            task.report("splits", k / len(schemes), f"Split of {s}")
        usable = ds.usable(s, effective=effective)
        split = ds.split(s, effective=effective)
        out[s] = {"usable": usable, "split": split.reindex(usable.index)}
    if task is not None:
        task.report("splits", 1.0, "Splits ready")
    return out
