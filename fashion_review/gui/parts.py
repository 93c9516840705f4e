"""The train / validation / test parts of the model shown, computed in the background, and the
confusion view fed from them (the window's part filter and the confusion matrix use the same).

:class:`Parts` runs :func:`~fashion_review.gui.session.compute_splits` in a worker after a data
set opens, after corrections (debounced) and whenever the model shown changes; each job carries
the session and the model it was started for, and a result for another one is dropped.  A
model switch while a job is in flight therefore never shows the new model with the old model's
parts: until its own parts arrive the confusion view says they are being computed and the
table has no parts.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from PySide6.QtCore import QObject, QTimer

from fashion_review.gui.session import compute_splits, run_split
from fashion_review.gui.workers import SingleJob, Worker
from fashion_review.review.filtering import Filter

#: Filter.part for each part of the confusion view ("all" = every usable product).
CONFUSION_PART = {"all": "usable", "train": "train", "val": "val", "test": "test"}


def splits_job(session: Any, run: Any, effective: pd.DataFrame, task: Any = None) -> dict:  # noqa: ANN401
    """Worker body: the parts of every scheme for ``run`` (its own split file, else the stored splits)."""
    return compute_splits(session.ds, effective, task=task, run_split=run_split(run))


class Parts(QObject):
    """The parts of one window's model shown (``window``: the MainWindow; see the module docstring)."""

    def __init__(self, window: Any) -> None:  # noqa: ANN401
        super().__init__(window)
        self.w = window
        self.splits: dict | None = None
        #: The model (session.run_key) the parts in :attr:`splits` are of.
        self.splits_for: str | None = None
        self.own = False  # whether they are the model's own (its split.csv), not the stored split
        self.done = False
        self._job = SingleJob(self)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(800)
        self._timer.timeout.connect(self.start)
        view = window.confusion
        view.cell_clicked.connect(self.on_cell)
        view.class_clicked.connect(self.on_class)

    @property
    def busy(self) -> bool:
        return self._timer.isActive() or self._job.busy

    def reset(self) -> None:
        """A new data set: nothing known yet; the job starts once the grid has painted (the
        worker would otherwise hold the interpreter lock while the first screen is drawn)."""
        self.splits, self.splits_for, self.own, self.done = None, None, False, False
        self._timer.start(150)

    def update_soon(self) -> None:
        """After corrections: parts and confusion follow, in the background."""
        self.done = False
        self._timer.start(800)

    def model_changed(self) -> None:
        """The model shown changed: its own parts, not the previous model's, from now on."""
        s = self.w.session
        if s is None:
            return
        if self.splits is not None and self.splits_for != s.run_key:
            for scheme in self.splits:  # no part shown in the table until the new model's arrive
                s.table.set_parts(scheme, pd.Series(dtype=object))
            self.w.model.part_model = ""
            self.w.model.refresh()
        self.done = False
        self.start()

    def start(self) -> None:
        self._timer.stop()
        s = self.w.session
        if s is None:
            return
        run, key = s.run, s.run_key
        worker = Worker(splits_job, s, run, s.table.effective.copy())
        self.w.jobs.start(s, worker, name="splits", job=self._job,
                          result=lambda out, key=key: self._on_splits(key, out), errored=self._on_error)

    def _on_error(self, message: str, _traceback: str = "") -> None:
        self.w.statusBar().showMessage(f"Could not compute the splits: {message}", 8000)

    def _on_splits(self, key: str | None, result: dict) -> None:
        s = self.w.session
        if key != s.run_key:
            return  # made for the model shown before: the job started for the new one follows
        self.splits, self.splits_for = result, key
        for scheme, d in result.items():
            s.table.set_parts(scheme, d["split"])
        self.own = run_split(s.run) is not None
        self.w.model.part_model = getattr(s.run, "id", "") if self.own else ""
        self.w.model.refresh()
        self.done = True
        self.update_confusion()
        self.w.schedule_detail()
        self.w.splits_ready.emit()

    # -- the confusion view ----------------------------------------------------------------------

    def update_confusion(self) -> None:
        view, s = self.w.confusion, self.w.session
        if s is None:
            return
        t = s.table
        if t.predictions is None or self.splits is None:
            view.set_data(t.predictions if self.splits is not None else None, {}, {})
            return
        labels = {sc: d["usable"] for sc, d in self.splits.items()}
        current = self.splits_for == s.run_key
        splits = {sc: d["split"] for sc, d in self.splits.items()} if current else None
        source = ("model" if self.own else "stored") if current else "pending"
        view.set_data(t.predictions, labels, splits, parts_source=source)
        if self.w.model.scheme in t.predictions.classes:
            try:
                view.set_scheme(self.w.model.scheme)
            except ValueError:
                pass

    def _part(self) -> str:
        return CONFUSION_PART.get(self.w.confusion.part(), "usable")

    def on_cell(self, scheme: str, given: str, predicted: str) -> None:
        """A cell clicked: the catalog filtered to those products."""
        self.w.filter_bar.set_filter(Filter(scheme=scheme, given=given, predicted=predicted, part=self._part()))
        self.w.set_view("grid")

    def on_class(self, scheme: str, name: str, axis: str = "given") -> None:
        flt = Filter(scheme=scheme, part=self._part(),
                     **({"predicted": name} if axis == "predicted" else {"given": name}))
        self.w.filter_bar.set_filter(flt)
        self.w.set_view("grid")
