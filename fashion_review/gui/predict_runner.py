"""Running the active model over the catalog from the app, off the GUI thread.

:class:`PredictionRunner` runs :func:`fashion_review.training.predict.predict` in a
:class:`~fashion_review.gui.workers.Worker` with a progress dialog (or only signals, for a
status-bar bar) and Cancel; the window keeps responding throughout.  Keras and TensorFlow are
imported inside the worker, never on the GUI thread at start-up; so is
:func:`fashion_review.modeling.describe_device`, whose answer (``"CPU"`` or ``"GPU: <name>"``)
comes back through :attr:`PredictionRunner.device_described` and :func:`describe_device_async`.

    runner = PredictionRunner(window)
    runner.device_described.connect(status_bar.set_device)
    runner.predicted.connect(window.on_predictions)     # (review.predictions.Predictions, owner)
    runner.start(run, ds, owner=session)                # RunInfo, run id or folder; a Dataset

``owner`` (the window's open session) comes back with the result of the very job it was started
with, so a result can be dropped when its data set is no longer the one shown.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QProgressDialog, QWidget

from fashion_review.gui.workers import SingleJob, Worker, long_pool
from fashion_review.tasks import Progress, Task


def _device_name() -> str:
    from fashion_review.modeling import describe_device  # imports Keras and its backend

    return describe_device()


#: ``start(REFERENCE, ds)``: import the reference model shipped with the app into the data set's
#: registry (in the worker: it builds the model) and predict with it.
REFERENCE = "reference"


def predict_job(run: Any, ds: Any, *, limit: int | None = None, task: Task,
                predict_fn: Callable[..., Any] | None = None) -> Any:
    """The worker's function: say which device, then predict (phase ``"predict"`` and whatever
    the prediction function reports).  Plain Python: runs the same without Qt.

    ``run`` may be :data:`REFERENCE`: the reference model is imported first (once per data set).
    """
    task.report("device", None, "Loading Keras ...")
    device = _device_name()
    task.report("device", None, f"Predicting on {device}", device=device)
    task.check()
    if isinstance(run, str) and run == REFERENCE:
        from fashion_review.training.reference import import_reference

        task.report("reference", None, "Importing the reference model into this catalog's models ...")
        run = import_reference(ds)
        task.check()
    if predict_fn is None:
        from fashion_review.training.predict import predict as predict_fn  # noqa: N813
    return predict_fn(run, ds, limit=limit, task=task)


class PredictionRunner(QObject):
    """Predicts a catalog with a model in a worker; one run at a time (a new one cancels the old)."""

    started = Signal()
    #: fashion_review.tasks.Progress, throttled (for a status-bar progress bar).
    progress = Signal(object)
    #: The Predictions (also written to the run folder by ``predict``).
    finished = Signal(object)
    #: The same, with the ``owner`` the job was started with.
    predicted = Signal(object, object)
    failed = Signal(str, str)  # message, traceback
    failed_for = Signal(str, str, object)  # message, traceback, owner
    cancelled = Signal()
    cancelled_for = Signal(object)  # owner
    #: "CPU" or "GPU: <name>", as soon as the worker knows it.
    device_described = Signal(str)

    def __init__(self, parent: QWidget | None = None, *, show_dialog: bool = True,
                 predict_fn: Callable[..., Any] | None = None) -> None:
        super().__init__(parent)
        self._parent_widget = parent
        self.show_dialog = show_dialog
        self.predict_fn = predict_fn
        self._jobs = SingleJob(self, pool=long_pool())
        self.dialog: QProgressDialog | None = None
        self.device = ""
        self.last_progress: Progress | None = None

    @property
    def busy(self) -> bool:
        return self._jobs.busy

    @property
    def worker(self) -> Worker | None:
        return self._jobs.current

    def start(self, run: Any, ds: Any, *, limit: int | None = None, owner: Any = None) -> Worker:
        """Predict with ``run`` (a RunInfo, run id or folder) over ``ds``; returns the worker.
        ``owner`` comes back with the result (:attr:`predicted`, :attr:`failed_for`)."""
        worker = Worker(predict_job, run, ds, limit=limit, predict_fn=self.predict_fn)
        s = worker.signals
        s.started.connect(self.started)
        # After a cancel its reports are old news: queued ones once replaced, in the status bar, what closing
        # its data set said about it
        s.progress.connect(lambda p, w=worker: None if w.is_cancelled else self._on_progress(p))
        s.result.connect(lambda pred, o=owner: self._on_result(pred, o))
        s.errored.connect(lambda message, tb, o=owner: self._on_errored(message, tb, o))
        s.cancelled.connect(lambda o=owner: self._on_cancelled(o))
        s.finished.connect(self._on_finished)
        if self.show_dialog:
            self._open_dialog()
        return self._jobs.start(worker)

    def cancel(self) -> None:
        self._jobs.cancel()
        if self.dialog is not None:
            self.dialog.setLabelText("Cancelling ...")

    # -- slots (GUI thread) ---------------------------------------------------------------

    def _open_dialog(self) -> None:
        if self.dialog is None:
            dlg = QProgressDialog("Starting ...", "Cancel", 0, 1000, self._parent_widget)
            dlg.setWindowTitle("Predicting the catalog")
            dlg.setWindowModality(Qt.WindowModality.NonModal)  # browsing goes on meanwhile
            dlg.setAutoClose(False)
            dlg.setAutoReset(False)
            dlg.setMinimumDuration(0)
            dlg.canceled.connect(self.cancel)
            self.dialog = dlg
        self.dialog.setValue(0)
        self.dialog.setLabelText("Starting ...")
        self.dialog.show()

    def _close_dialog(self) -> None:
        if self.dialog is not None:
            self.dialog.hide()

    def _on_progress(self, p: Progress) -> None:
        self.last_progress = p
        device = p.info.get("device") if p.phase == "device" else None
        if device:
            self.device = str(device)
            self.device_described.emit(self.device)
        self.progress.emit(p)
        if self.dialog is not None and self.dialog.isVisible():
            if p.fraction is None:
                self.dialog.setRange(0, 0)  # busy indicator
            else:
                self.dialog.setRange(0, 1000)
                self.dialog.setValue(int(round(1000 * max(0.0, min(1.0, p.fraction)))))
            if p.message:
                self.dialog.setLabelText(p.message)

    def _on_result(self, predictions: Any, owner: Any = None) -> None:
        self._close_dialog()
        self.predicted.emit(predictions, owner)
        self.finished.emit(predictions)

    def _on_errored(self, message: str, tb: str, owner: Any = None) -> None:
        self._close_dialog()
        self.failed_for.emit(message, tb, owner)
        self.failed.emit(message, tb)

    def _on_cancelled(self, owner: Any = None) -> None:
        self._close_dialog()
        self.cancelled_for.emit(owner)
        self.cancelled.emit()

    def _on_finished(self) -> None:
        if not self.busy:
            self._close_dialog()


def describe_device_async(on_result: Callable[[str], None], pool=None) -> Worker:  # noqa: ANN001
    """Find the device name in a worker (it imports Keras) and hand it to ``on_result`` on the GUI thread."""
    worker = Worker(_device_name, task_arg=None)
    worker.signals.result.connect(on_result)
    return worker.start(pool)
