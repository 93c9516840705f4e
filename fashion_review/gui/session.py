"""What the window loads for a data set, as plain functions run in a worker (no Qt here).

:func:`load_session` opens the data set, applies the corrections, finds the active model's
cached predictions (numpy only: no Keras, no TensorFlow) and builds the review table;
:func:`compute_splits` reads (or first computes) each scheme's stored split afterwards, so
the window shows the catalog before the splits are known.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from fashion_review.data.schemes import SCHEME_FIELDS, SCHEMES
from fashion_review.errors import FashionReviewError
from fashion_review.review.predictions import Predictions, load_predictions
from fashion_review.review.table import ReviewTable
from fashion_review.tasks import Task

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
    run: object | None = None  # training.registry.RunInfo of the predictions shown
    #: The store's effective values the table was built from (``CorrectionStore.effective()``).
    loaded_values: dict = field(default_factory=dict)

    def catch_up(self) -> list[int]:
        """Apply what was recorded while the table was built in the worker; the products it touched.

        The load reads the corrections, then builds the table; a correction recorded meanwhile (in
        the window still showing this data set, or another one) would otherwise be missing from
        what is shown, and the next change of that product would be refused as stale.
        """
        now = self.store.effective()
        before = self.loaded_values
        ids = sorted({k[0] for k in set(now) | set(before) if now.get(k) != before.get(k)})
        if ids:
            self.table.apply_corrections(ids, now)
        self.loaded_values = now
        return ids

    @property
    def run_key(self) -> str | None:
        """The id of the model shown (its run, else its predictions' model version), None without one."""
        rid = getattr(self.run, "id", None)
        return rid or (self.table.model_version or None if self.table.predictions is not None else None)

    @property
    def store(self):  # noqa: ANN201
        return self.ds.store

    def close(self) -> None:
        self.ds.close()


def corrected_ids(values: dict[tuple[int, str], str]) -> set[int]:
    """Products with an active correction of a label field (the store's ``effective()``)."""
    return {pid for (pid, fld) in values if fld in LABEL_FIELDS}


def active_run(fingerprint: str):  # noqa: ANN201
    """The data set's active registry run, or None (``training.registry`` imports no Keras)."""
    from fashion_review.training import registry

    try:
        return registry.active_run(fingerprint)
    except (FashionReviewError, OSError, ValueError):
        return None


def run_split(run) -> pd.Series | None:  # noqa: ANN001
    """The active run's own parts (its split.csv), or None when it has none."""
    if run is None or not run.split_path.is_file():
        return None
    from fashion_review.training.registry import read_split

    try:
        return read_split(run)
    except FashionReviewError:
        return None


def run_of(predictions: Predictions | None, fingerprint: str):  # noqa: ANN201 - registry.RunInfo | None
    """The registry run that made ``predictions`` (by their model version), if this data set has it."""
    if predictions is None or not predictions.model_version:
        return None
    from fashion_review.training import registry

    try:
        return registry.get_run(predictions.model_version, fingerprint)
    except (FashionReviewError, OSError, ValueError):
        return None


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
        eff = ds.effective(values)  # the same snapshot: catch_up() compares against it
        pred: Predictions | None = None
        run = active_run(ds.fingerprint)
        pred_path = run.predictions_path if run is not None and run.predictions_path.is_file() else None
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
    return Session(ds, table, Path(data), pred_path if pred is not None else None, cache, warning,
                   run if pred is not None else None, loaded_values=values)


def compute_splits(ds, effective: pd.DataFrame, schemes=SCHEMES, task: Task | None = None,  # noqa: ANN001
                   run_split: pd.Series | None = None, min_images: int | None = None) -> dict:
    """Per scheme: ``{"usable": id -> label, "split": id -> part}`` over ``effective``.

    The one place the app's parts come from (the window's splits job and
    :meth:`~fashion_review.gui.confusion.ConfusionMatrixView.set_dataset` alike).

    Without ``run_split``: each scheme's stored split (computed and stored on first use, then only
    extended) over its usable products; a product outside it (no image, excluded, a class under
    the class filter) has no part.  With ``run_split`` (the shown model's own parts,
    ``registry.read_split``) the parts are the model's, the same in every scheme (a multihead
    model holds each product in one part for all its heads), and only the products it saw have
    one: "test" in the app means the model's test part, the products ``fashion-review evaluate``
    scores, and a product the model never saw is in none of its parts.
    """
    out = {}
    for k, s in enumerate(schemes):
        if task is not None:
            task.check()
            task.report("splits", k / len(schemes), f"Split of {s}")
        usable = ds.usable(s, min_images, effective=effective)
        if run_split is not None:
            split = run_split
        else:
            split = ds.split(s, min_images, effective=effective).reindex(usable.index)
        out[s] = {"usable": usable, "split": split}
    if task is not None:
        task.report("splits", 1.0, "Splits ready")
    return out
