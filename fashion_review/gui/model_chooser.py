"""Models > Choose model: the trained runs of the open data set, and which one the app shows.

:func:`run_rows` (no Qt) describes each run of the registry as the dialog lists it: recipe, when
it was trained, how many corrections it saw, its accuracy, whether its predictions are stored.
:class:`ChooseModelDialog` lists them; the window activates the one chosen
(``training.registry.activate``) and shows its predictions, or predicts the catalog with it first.

:class:`ActiveRunWatcher` notices when the active run changes behind the app's back
(``fashion-review models activate RUN`` in a terminal): a stat of the registry's ``active``
file every two seconds and whenever the app comes to the front, which costs nothing.

    rows = run_rows(ds.fingerprint)
    dlg = ChooseModelDialog(rows, parent=window)
    if dlg.exec() == QDialog.DialogCode.Accepted:
        registry.activate(ds.fingerprint, dlg.chosen)
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtGui import QFont, QGuiApplication
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from fashion_review.gui.screen import fit_to_screen

# --------------------------------------------------------------------------------------------
# Plain functions (no Qt)


@dataclass
class RunRow:
    """One run as the chooser lists it."""

    id: str
    recipe: str
    trained: str  # local date and time, "" when unknown
    corrections: int | None  # corrections recorded in the data set when it was trained
    #: scheme -> (value, "test" | "val" | "reference": the reference model's own test part, elsewhere)
    accuracy: dict[str, tuple[float, str]] = field(default_factory=dict)
    has_predictions: bool = False
    active: bool = False
    parent: str = ""  # a heads-only run: the run whose backbone it keeps
    untrained: bool = False
    run: Any = None  # training.registry.RunInfo

    def accuracy_text(self, sep: str = " · ") -> str:
        """``gender_master 22.6 % · subCategory 14.3 %`` (test accuracy; "(val)" until evaluated)."""
        if not self.accuracy:
            return "—"
        notes = {"test": "", "val": " (val)", "reference": " (own test)"}
        return sep.join(f"{s} {100 * v:.1f} %{notes.get(which, '')}" for s, (v, which) in self.accuracy.items())


def _local_time(created: str) -> str:
    try:
        t = time.strptime(created, "%Y-%m-%dT%H:%M:%S%z")
    except (TypeError, ValueError):
        return created or ""
    return time.strftime("%Y-%m-%d %H:%M", t)


def run_rows(fingerprint: str) -> list[RunRow]:
    """The data set's runs, newest first, the active one marked (reads run.json files only, no Keras)."""
    from fashion_review.training import registry
    from fashion_review.training.reference import is_reference

    runs = registry.list_runs(fingerprint)
    active = registry.active_run(fingerprint)
    rows = []
    for r in reversed(runs):
        rec = r.record
        data = rec.get("data", {}) if isinstance(rec.get("data"), dict) else {}
        corrections = data.get("corrections", rec.get("corrections"))
        acc: dict[str, tuple[float, str]] = {}
        # the reference model, until evaluated here: its figures on its own test part of the full data
        # set (it has no validation part on this catalog, which it never trained on)
        ref = rec.get("reference", {}).get("reference_metrics", {}) if is_reference(r) else {}
        for s in r.schemes:
            m = r.metrics.get(s, {}) if isinstance(r.metrics.get(s), dict) else {}
            own = ref.get(s, {}) if isinstance(ref, dict) and isinstance(ref.get(s), dict) else {}
            if m.get("test_accuracy") is not None:
                acc[s] = (float(m["test_accuracy"]), "test")
            elif m.get("val_accuracy") is not None:
                acc[s] = (float(m["val_accuracy"]), "val")
            elif own.get("test_accuracy") is not None:
                acc[s] = (float(own["test_accuracy"]), "reference")
        recipe = r.recipe or "?"
        rows.append(RunRow(
            id=r.id, recipe=recipe, trained=_local_time(r.trained) + (" (reference)" if is_reference(r) else ""),
            corrections=int(corrections) if isinstance(corrections, int) else None, accuracy=acc,
            has_predictions=r.predictions_path.is_file(), active=active is not None and active.id == r.id,
            parent=str(rec.get("parent") or ""), untrained=bool(rec.get("untrained")), run=r))
    return rows


# --------------------------------------------------------------------------------------------
# The dialog


class ChooseModelDialog(QDialog):
    """Lists the runs (:func:`run_rows`); Activate (or Enter, or a double click) chooses one."""

    COLUMNS = ("Run", "Recipe", "Trained", "Corrections seen", "Accuracy", "Predictions")

    def __init__(self, rows: Sequence[RunRow], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Choose the model the app shows")
        self.rows = list(rows)
        #: The run id chosen (after Activate).
        self.chosen: str | None = None

        intro = QLabel(
            "The app shows the predictions of the <b>active</b> model. Choose one of this data set's "
            "trained runs; one without stored predictions predicts the catalog first (in the background, "
            "with progress). Accuracy: on the run's test part (\"val\": its validation part, until "
            "<code>fashion-review evaluate</code> has run; \"own test\": the reference model's test part "
            "of the full data set, until evaluated on this catalog)."
            if self.rows else
            "No trained model for this data set yet. Models &gt; Retrain… trains one here; on the command "
            "line, <code>fashion-review train --activate</code>, then <code>fashion-review predict</code>.")
        intro.setWordWrap(True)
        intro.setTextFormat(Qt.TextFormat.RichText)

        t = QTableWidget(len(self.rows), len(self.COLUMNS))
        t.setObjectName("runs")
        t.setHorizontalHeaderLabels(list(self.COLUMNS))
        t.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        t.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        t.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        t.verticalHeader().setVisible(False)
        t.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        t.horizontalHeader().setStretchLastSection(False)
        t.setWordWrap(False)
        bold = QFont(t.font())
        bold.setBold(True)
        for i, r in enumerate(self.rows):
            recipe = r.recipe + (", heads retrained" if r.parent else "") + (" (untrained)" if r.untrained else "")
            values = [("● " if r.active else "") + r.id, recipe, r.trained,
                      "—" if r.corrections is None else f"{r.corrections:,}", r.accuracy_text("\n"),
                      "stored" if r.has_predictions else "not yet (predicts when chosen)"]
            for j, v in enumerate(values):
                item = QTableWidgetItem(v)
                if r.active:
                    item.setFont(bold)
                    item.setToolTip("The active model: the one the app shows")
                elif j == 1 and r.parent:
                    item.setToolTip(f"Keeps the backbone of {r.parent} and retrained only its heads")
                t.setItem(i, j, item)
        t.resizeRowsToContents()
        self.table = t

        buttons = QDialogButtonBox()
        self.activate_button = buttons.addButton("Activate", QDialogButtonBox.ButtonRole.AcceptRole)
        self.activate_button.setDefault(True)
        buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self._on_activate)
        buttons.rejected.connect(self.reject)
        t.itemDoubleClicked.connect(lambda _item: self._on_activate())
        t.itemSelectionChanged.connect(self._update_buttons)

        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(t, 1)
        layout.addWidget(buttons)
        fit_to_screen(self, t.horizontalHeader().length() + 60, 460)  # every column, where the screen has room
        active = next((i for i, r in enumerate(self.rows) if r.active), 0)
        if self.rows:
            t.selectRow(active)
        t.setFocus()
        self._update_buttons()

    def selected(self) -> RunRow | None:
        rows = self.table.selectionModel().selectedRows()
        return self.rows[rows[0].row()] if rows else None

    def select(self, run_id: str) -> None:
        """Select the row of ``run_id`` (as a click would)."""
        for i, r in enumerate(self.rows):
            if r.id == run_id:
                self.table.selectRow(i)
                return
        raise KeyError(run_id)

    def _update_buttons(self) -> None:
        self.activate_button.setEnabled(self.selected() is not None)

    def _on_activate(self) -> None:
        row = self.selected()
        if row is None:
            return
        self.chosen = row.id
        self.accept()


# --------------------------------------------------------------------------------------------
# Noticing `fashion-review models activate` from elsewhere


class ActiveRunWatcher(QObject):
    """Emits :attr:`changed` (the new active run id, "" for none) when the registry's pointer changes.

    Polls one ``stat`` of ``HOME/models/<fingerprint>/active`` every ``interval_ms`` and when the
    application becomes active: a QFileSystemWatcher loses a file that is replaced by a rename
    (which is how the registry writes it), and a poll this cheap needs no watcher.
    """

    changed = Signal(str)

    def __init__(self, parent: QObject | None = None, interval_ms: int = 2000) -> None:
        super().__init__(parent)
        self.path: Path | None = None
        self._stamp: tuple | None = None
        self.run_id = ""
        self._timer = QTimer(self)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self.check)
        app = QGuiApplication.instance()
        if app is not None:
            app.applicationStateChanged.connect(self._on_app_state)

    def watch(self, fingerprint: str | None) -> None:
        """Watch the pointer of the data set ``fingerprint`` (None: stop)."""
        from fashion_review import paths
        from fashion_review.training.registry import ACTIVE

        if fingerprint is None:
            self.path = None
            self._timer.stop()
            return
        self.path = paths.models_home(fingerprint) / ACTIVE
        self.sync()
        self._timer.start()

    def sync(self) -> None:
        """Take the pointer as it is now as known (after the app changed it itself)."""
        self._stamp, self.run_id = self._read()

    def _read(self) -> tuple[tuple | None, str]:
        if self.path is None:
            return None, ""
        try:
            st = os.stat(self.path)
        except OSError:
            return None, ""
        stamp = (st.st_ino, st.st_mtime_ns, st.st_size)
        if stamp == self._stamp:
            return stamp, self.run_id
        try:
            return stamp, self.path.read_text(encoding="utf-8").strip()
        except OSError:
            return None, ""

    def check(self) -> bool:
        """Look now; True (and :attr:`changed` emitted) when the active run is another one."""
        stamp, run_id = self._read()
        self._stamp = stamp
        if run_id == self.run_id:
            return False
        self.run_id = run_id
        self.changed.emit(run_id)
        return True

    def _on_app_state(self, state: Qt.ApplicationState) -> None:
        if state == Qt.ApplicationState.ApplicationActive and self.path is not None:
            self.check()


__all__ = ["ActiveRunWatcher", "ChooseModelDialog", "RunRow", "run_rows"]
