"""Review > Find label issues…: choose the mode, folds and epochs, see the cost, run with progress,
ETA and Cancel.  The work is :func:`fashion_review.training.issue_finder.find_label_issues` in a
worker on the long-job pool (Keras is imported there, never at start-up); a cancel stops within
one batch and keeps the earlier stored issues as they were.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from fashion_review.gui.workers import SingleJob, Worker, long_pool


def typical_rate(gpu: bool) -> float:
    """xception-lite's training images/s where no run here measured it: the Retrain dialog's figure
    (``training.compare.RATES``: a quiet 2-core CPU; on a GPU an order-of-magnitude guess)."""
    from fashion_review.training.compare import rates_for

    return rates_for("GPU" if gpu else "CPU", "xception-lite", None)["train"]


def find_job(ds: Any, *, mode: str, folds: int, epochs: int, task: Any = None) -> Any:
    """Worker body: find and store the label issues (imports Keras here, in the worker)."""
    from fashion_review.training.issue_finder import find_label_issues

    return find_label_issues(ds, mode=mode, folds=folds, epochs=epochs, task=task)


def cv_estimate_s(n_products: int, folds: int, epochs: int, rate: float) -> float:
    """Seconds of a cross-validation run: K models, each ``epochs`` passes over (K - 1) / K of the products
    (95 % of them train), plus about 8 % for validation, prediction and the name models."""
    train_images = folds * epochs * n_products * (folds - 1) / folds * 0.95
    return 1.08 * train_images / rate


class FindIssuesDialog(QDialog):
    """See the module docstring; ``found`` carries the stored issues."""

    found = Signal(object)  # review.issues.StoredIssues
    #: The search started in this worker (the window counts it as a job of the open data set).
    job_started = Signal(object)

    def __init__(self, ds: Any, parent: QWidget | None = None, *, device: str | None = None,
                 job=None) -> None:  # noqa: ANN001 - job replaces find_job (tests)
        super().__init__(parent)
        from fashion_review.training.crossval import DEFAULT_EPOCHS, DEFAULT_FOLDS, HEADS_EPOCHS

        self.setWindowTitle("Find label issues")
        self.ds = ds
        self.device = device or ""
        self.job_fn = job  # None: find_job
        self._job = SingleJob(self, pool=long_pool())
        self._defaults = {"cv": DEFAULT_EPOCHS, "heads": HEADS_EPOCHS}
        lay = QVBoxLayout(self)
        intro = QLabel(
            "Ranks the products whose labels are in doubt, from signals that fail independently: an image model's "
            "<b>out-of-sample</b> probabilities (each product scored by a model that never saw its label), the "
            "product's name, the label hierarchy, identical photos and the model's heads against each other.")
        intro.setWordWrap(True)
        lay.addWidget(intro)
        form = QFormLayout()
        self.mode = QComboBox()
        self.mode.addItem("Cross-validation (cv): K models of xception-lite", "cv")
        self.mode.addItem("Heads mode: K sets of heads on the active model's backbone (minutes)", "heads")
        form.addRow("Mode", self.mode)
        self.folds = QSpinBox()
        self.folds.setRange(2, 10)
        self.folds.setValue(DEFAULT_FOLDS)
        form.addRow("Folds (K)", self.folds)
        self.epochs = QSpinBox()
        self.epochs.setRange(1, 100)
        self.epochs.setValue(DEFAULT_EPOCHS)
        form.addRow("Epochs per fold", self.epochs)
        lay.addLayout(form)
        self.estimate = QLabel()
        self.estimate.setWordWrap(True)
        lay.addWidget(self.estimate)
        self.bar = QProgressBar()
        self.bar.setRange(0, 1000)
        self.bar.setValue(0)
        lay.addWidget(self.bar)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        lay.addWidget(self.status)
        self.eta = QLabel("")
        self.eta.setWordWrap(True)  # after a search it holds the long description of what was found
        lay.addWidget(self.eta)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        self.start_button = QPushButton("Find")
        self.start_button.setDefault(True)
        self.cancel_button = QPushButton("Cancel")
        self.close_button = QPushButton("Close")
        buttons.addWidget(self.start_button)
        buttons.addWidget(self.cancel_button)
        buttons.addWidget(self.close_button)
        lay.addLayout(buttons)
        self.cancel_button.setEnabled(False)
        self.start_button.clicked.connect(self.start)
        self.cancel_button.clicked.connect(self.cancel)
        self.close_button.clicked.connect(self.close)
        self.mode.currentIndexChanged.connect(self._on_mode)
        self.folds.valueChanged.connect(lambda _v: self._update_estimate())
        self.epochs.valueChanged.connect(lambda _v: self._update_estimate())
        self._ids = self._usable_ids()
        self._n_products = len(self._ids)
        self._update_estimate()
        self.resize(560, 320)

    def _usable_ids(self) -> np.ndarray:
        """The products a search scores (with an image, not excluded): counted for the estimate, and
        for heads mode, how many of them the backbone trained on."""
        try:
            eff = self.ds.effective()
            return eff.index[(eff["has_image"] & ~eff["excluded"]).to_numpy()].to_numpy()
        except Exception:  # noqa: BLE001 - only for the estimate
            return np.zeros(0, np.int64)

    def _on_mode(self, _i: int) -> None:
        self.epochs.setValue(self._defaults[self.mode.currentData()])
        self._update_estimate()

    def _update_estimate(self) -> None:
        folds, epochs = self.folds.value(), self.epochs.value()
        if self.mode.currentData() == "heads":
            self._heads_estimate()
            return
        self.start_button.setEnabled(not self.busy)
        gpu = self.device.upper().startswith("GPU")
        measured = self._measured_rate()
        rate = measured or typical_rate(gpu)
        from fashion_review.gui.retrain import format_duration

        secs = cv_estimate_s(self._n_products, folds, epochs, rate)
        other = cv_estimate_s(self._n_products, folds, epochs, typical_rate(not gpu))
        # the 2-core machines here trained at 350-420 images/s when quiet and 100-220 with the cores shared
        how = ("measured in an earlier training here" if measured else "a guess" if gpu
               else "typical of a quiet 2-core CPU; a busy one has taken twice as long")
        self.estimate.setText(
            f"{folds} models × {epochs} epochs over {self._n_products:,} products: about "
            f"<b>{format_duration(secs)}</b> on this {'GPU' if gpu else 'CPU'} (at {rate:,.0f} images/s, {how}), "
            f"about {format_duration(other)} on {'a 2-core CPU' if gpu else 'one GPU (a guess, not measured)'}. "
            + self._active_note())

    def _measured_rate(self) -> float | None:
        """xception-lite's training images/s in this catalog's newest full run on this kind of device (not
        an imported one): the quiet machine's rate made a 97-minute search (195/s that day) read 38 min."""
        from fashion_review.training import registry
        from fashion_review.training.compare import measured_train_rate

        try:
            return measured_train_rate(registry.list_runs(self.ds.fingerprint), "xception-lite", None,
                                       self.device or "CPU")
        except Exception:  # noqa: BLE001 - only for the estimate
            return None

    def _heads_estimate(self) -> None:
        """Heads mode stands on the active model: say how out of sample it is, or that there is none."""
        from fashion_review.review.issues import heads_caveat
        from fashion_review.training import registry
        from fashion_review.training.crossval import backbone_trained_on

        try:
            run = registry.active_run(self.ds.fingerprint)
        except Exception:  # noqa: BLE001 - said in the dialog; find says why again if it matters
            run = None
        if run is None:
            self.estimate.setText(
                "<b>Heads mode needs a model of this catalog</b> (its backbone's features): predict with the "
                "reference model (Models menu) or train one first, or use cross-validation.")
            self.start_button.setEnabled(False)
            return
        try:
            caveat = heads_caveat(backbone_trained_on(run, self._ids), len(self._ids))
        except Exception:  # noqa: BLE001 - only for the note
            caveat = heads_caveat(None, None)
        self.estimate.setText(
            f"Heads mode: minutes, on the backbone of {run.id} (its features are computed once and cached). "
            f"<i>{caveat[0].upper() + caveat[1:]}; its results say “heads mode”.</i>")
        self.start_button.setEnabled(not self.busy)

    def _active_note(self) -> str:
        """What mode cv averages its image probabilities with (see review.issues.StoredIssues.image_witness)."""
        from fashion_review.training import registry

        try:
            run = registry.active_run(self.ds.fingerprint)
        except Exception:  # noqa: BLE001 - only for the note; find says why again if it matters
            run = None
        if run is None or not run.predictions_path.is_file():
            return "No active model with predictions: the image signal will be the folds' alone."
        return (f"The folds' image probabilities are then averaged with those of the active model, {run.id} "
                "(better than either alone on planted errors).")

    @property
    def busy(self) -> bool:
        return self._job.busy

    def start(self) -> None:
        if self.busy:
            return
        self.bar.setValue(0)
        self.status.setText("Starting (loading Keras) …")
        self.eta.setText("")
        worker = Worker(self.job_fn or find_job, self.ds, mode=self.mode.currentData(), folds=self.folds.value(),
                        epochs=self.epochs.value(), min_interval=0.2)
        worker.signals.progress.connect(self._on_progress)
        worker.signals.result.connect(self._on_result)
        worker.signals.errored.connect(self._on_error)
        worker.signals.cancelled.connect(self._on_cancelled)
        worker.signals.finished.connect(self._on_finished)
        self._job.start(worker)
        self.job_started.emit(worker)
        for w in (self.mode, self.folds, self.epochs, self.start_button):
            w.setEnabled(False)
        self.cancel_button.setEnabled(True)

    def cancel(self) -> None:
        if self.busy:
            self._job.cancel()
            self.status.setText("Cancelling after the current batch …")

    def _on_progress(self, p) -> None:  # noqa: ANN001 - tasks.Progress
        if p.fraction is None:
            self.bar.setRange(0, 0)
        else:
            self.bar.setRange(0, 1000)
            self.bar.setValue(int(1000 * max(0.0, min(1.0, p.fraction))))
        if p.message:
            self.status.setText(p.message)
        from fashion_review.gui.retrain import format_duration

        eta = p.info.get("eta_s")  # the whole job's (none yet: nothing stale stays)
        self.eta.setText(f"About {format_duration(eta)} left" if eta is not None else "")

    def _on_result(self, stored) -> None:  # noqa: ANN001
        self.bar.setRange(0, 1000)
        self.bar.setValue(1000)
        n = {s: len(v) for s, v in stored.initial.items()}
        self.status.setText("Done: " + ", ".join(f"{s} {c:,}" for s, c in n.items()) + " flagged.")
        self.eta.setText(stored.label)
        self.found.emit(stored)

    def _on_error(self, message: str, _tb: str = "") -> None:
        self.status.setText(f"<b>Failed:</b> {message}")

    def _on_cancelled(self) -> None:
        self.bar.setRange(0, 1000)
        self.bar.setValue(0)
        self.status.setText("Cancelled: nothing was written; the label issues found before are kept.")
        self.eta.setText("")

    def _on_finished(self) -> None:
        for w in (self.mode, self.folds, self.epochs, self.start_button):
            w.setEnabled(True)
        self.cancel_button.setEnabled(False)
        self._update_estimate()  # heads mode may have no model to stand on

    def changeEvent(self, event) -> None:  # noqa: ANN001, N802
        # Coming back to the dialog (say after predicting with the reference model from the banner):
        # what heads mode stands on may have changed.
        if event.type() == QEvent.Type.ActivationChange and self.isActiveWindow() and not self.busy:
            self._update_estimate()
        super().changeEvent(event)

    def close_with_dataset(self) -> str:
        """Its data set is closing: stop the search (waiting for it), close the dialog, say what became of it."""
        from fashion_review.gui.jobs import CLOSE_WAIT_S

        worker = self._job.current
        running = worker is not None and not worker.is_done
        if running:
            self._job.cancel()
            worker.wait(CLOSE_WAIT_S)
        self.close()
        if not running:
            return ""
        if worker.outcome == "result":
            return "Find label issues closed with its data set: the search had finished; its label issues are stored"
        if worker.is_done:
            return ("Find label issues closed with its data set: the search was cancelled (the label issues found "
                    "before are kept)")
        return "Find label issues closed with its data set: the search is stopping (nothing half-written is kept)"

    def closeEvent(self, event) -> None:  # noqa: ANN001, N802
        if self.busy:
            self._job.cancel()
        super().closeEvent(event)

    def keyPressEvent(self, event) -> None:  # noqa: ANN001, N802
        if event.key() == Qt.Key.Key_Escape and self.busy:
            self.cancel()
            return
        super().keyPressEvent(event)
