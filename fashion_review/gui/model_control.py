"""The window's models: which one is shown, predicting the catalog, choosing, retraining.

:class:`Models` owns the Models menu's work: the status-bar line of the model shown (and what
to do without one), the prediction runner (:mod:`fashion_review.gui.predict_runner`), the
Choose model dialog, the retrain dialog (:mod:`fashion_review.gui.retrain`) and the watcher that
notices ``fashion-review models activate`` from a terminal.  Every job it starts carries the
session it was started on (:mod:`fashion_review.gui.jobs`): a prediction that ends after another
data set was opened is dropped, never shown on the wrong catalog, and the retrain dialog closes
with its data set.  No Keras here: the registry is read without it, the jobs import it.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject, Qt

from fashion_review.errors import FashionReviewError
from fashion_review.review.predictions import Predictions
from fashion_review.text import plural


class Models(QObject):
    """The model plumbing of one window (``window``: the MainWindow; see the module docstring)."""

    def __init__(self, window: Any) -> None:  # noqa: ANN401
        super().__init__(window)
        self.w = window
        self.runner = None  # gui.predict_runner.PredictionRunner, made on first use
        self.retrain_dialog = None
        self._device_asked = False
        from fashion_review.gui.model_chooser import ActiveRunWatcher

        #: Notices `fashion-review models activate` done outside the app.
        self.active_watcher = ActiveRunWatcher(self)
        self.active_watcher.changed.connect(self.on_active_changed_elsewhere)

    # -- the model shown ---------------------------------------------------------------------

    def active_run(self):  # noqa: ANN201 - training.registry.RunInfo | None
        if self.w.session is None:
            return None
        from fashion_review.training import registry  # no Keras at module level

        return registry.active_run(self.w.session.ds.fingerprint)

    def set_predictions(self, pred: Predictions | None) -> None:
        """Show ``pred`` (e.g. just computed) instead of the cached predictions."""
        w = self.w
        if w.session is None:
            raise RuntimeError("no data set open")
        from fashion_review.gui.session import run_of

        current, selected = w.current_pid(), w.selected_pids()
        before = w.session.run_key
        w.session.run = run_of(pred, w.session.ds.fingerprint)
        w.session.table.set_predictions(pred)
        w.model.set_table(w.session.table)
        w.picks.restore(current, selected)
        w.update_classes()
        self.update_label()
        if w.session.run_key != before:
            w.parts.model_changed()  # the parts the new model held out, never the old model's
        w.parts.update_confusion()
        w.schedule_detail()

    def update_label(self) -> None:
        text, hint = self.state()
        self.update_actions()
        self.w.model_label.setText(text)
        self.w.model_label.setToolTip(hint or "The model whose predictions are shown")
        self.w.confusion.set_empty_hint(hint)

    def state(self) -> tuple[str, str]:
        """(status-bar text, what to do when no predictions are shown: for the confusion view too)."""
        s = self.w.session
        if s is None:
            return "No model predictions", "Open a data set (File > Open data set…)."
        from fashion_review.training import registry

        fp = s.ds.fingerprint
        try:
            active, runs = registry.active_run(fp), registry.list_runs(fp)
        except (FashionReviewError, OSError, ValueError):
            active, runs = None, []
        t = s.table
        if t.predictions is not None:
            shown = t.model_version or "unnamed"
            if active is not None and active.id != shown:
                return (f"Model: {shown} (the active model {active.id} has no predictions yet)",
                        f"Models > Predict the catalog predicts with the active model {active.id}.")
            return f"Model: {shown}", ""
        if active is not None:
            return (f"Model {active.id}: no predictions yet",
                    f"The active model {active.id} has not predicted this catalog yet: Models > Predict the "
                    "catalog (Ctrl+Shift+P), or “fashion-review predict” on the command line.")
        if runs:
            return (f"No active model ({plural(len(runs), 'trained run')}: Models > Choose model)",
                    f"No active model: Models > Choose model… (Ctrl+Shift+M) picks one of the "
                    f"{plural(len(runs), 'trained run')} of this data set (it predicts the catalog if it "
                    "has not yet), or “fashion-review models activate RUN”.")
        return ("No model yet",
                "No model has been trained on this data set yet: Models > Retrain… trains one, or on the command "
                "line “fashion-review train --activate”, then “fashion-review predict”.")

    def update_actions(self) -> None:
        """Enable the Models actions for the data set's state (its active run, a data set at all)."""
        w = self.w
        has = w.session is not None
        try:
            run = self.active_run() if has else None
        except (FashionReviewError, OSError, ValueError):
            run = None
        w.act_predict.setEnabled(run is not None)
        w.act_predict.setStatusTip("Run the active model over every product" if run is not None
                                   else "No active model yet: Models > Choose model, or Models > Retrain")
        w.act_retrain.setEnabled(has)
        w.act_choose.setEnabled(has)

    # -- the device ---------------------------------------------------------------------------

    def on_menu(self) -> None:
        """The Models menu opens: its actions for the state now; the device confirmed (once)."""
        self.update_actions()
        if self.w.session is not None and not self._device_asked:
            from fashion_review.gui.predict_runner import describe_device_async

            self._device_asked = True
            describe_device_async(self.set_device)

    def set_device(self, name: str) -> None:
        self.w.device_label.setText(f"Device: {name}")

    def device_name(self) -> str | None:
        text = self.w.device_label.text()
        return text.removeprefix("Device: ") if text.startswith("Device: ") and "…" not in text else None

    # -- predicting ---------------------------------------------------------------------------

    @property
    def busy(self) -> bool:
        return self.runner is not None and self.runner.busy

    def predict_catalog(self) -> bool:
        """Models > Predict the catalog: the active model in a worker; the result replaces the
        cached predictions."""
        if self.w.session is None:
            return False
        run = self.active_run()
        if run is None:
            self.w.statusBar().showMessage("No active model yet: choose one (Models > Choose model) or train one "
                                           "(Models > Retrain).", 6000)
            return False
        return self.predict_with(run)

    def predict_with(self, run: Any) -> bool:  # noqa: ANN401 - a RunInfo, or predict_runner.REFERENCE
        """Predict the catalog with ``run`` in the worker (progress in the status bar and a dialog)."""
        w = self.w
        if w.session is None:
            return False
        from fashion_review.gui.predict_runner import PredictionRunner

        if self.busy:
            w.statusBar().showMessage("The catalog is being predicted already (Cancel in its progress dialog "
                                      "stops it).", 5000)
            return False
        if self.runner is None:
            self.runner = PredictionRunner(w, predict_fn=w.predict_fn)
            self.runner.device_described.connect(self.set_device)
            self.runner.progress.connect(w.on_job_progress)
            self.runner.predicted.connect(self._on_predicted)
            self.runner.failed_for.connect(self._on_failed)
            self.runner.cancelled_for.connect(self._on_cancelled)
        else:
            self.runner.predict_fn = w.predict_fn
        w.progress.setRange(0, 1000)
        w.progress.show()
        session = w.session
        w.jobs.track(session, self.runner.start(run, session.ds, owner=session), "prediction")
        return True

    def _on_predicted(self, pred: Predictions, owner: Any) -> None:  # noqa: ANN401
        self.w.progress.hide()
        if not self.w.jobs.is_current(owner):
            self.w.jobs.dropped.emit("prediction")
            self.w.statusBar().showMessage(f"The predictions of {pred.model_version} belong to a data set that is "
                                           "closed now: not shown.", 8000)
            return
        self.set_predictions(pred)
        self.w.statusBar().showMessage(f"Predictions of {pred.model_version} for {plural(len(pred), 'product')}.",
                                       8000)

    def _on_cancelled(self, owner: Any) -> None:  # noqa: ANN401
        # A prediction of a data set closed since was cancelled by the closing, which said so in its
        # own message (jobs.SAID_WHEN_CLOSED); this one would only cover it.
        if self.w.jobs.is_current(owner):
            self.w.progress.hide()
            self.w.statusBar().showMessage("Prediction cancelled; the earlier predictions are unchanged.", 5000)

    def _on_failed(self, message: str, _tb: str, owner: Any) -> None:  # noqa: ANN401
        self.w.progress.hide()
        if self.w.jobs.is_current(owner):
            self.w.error("Prediction failed", message)

    # -- choosing and retraining -------------------------------------------------------------------

    def open_retrain(self):  # noqa: ANN201 - the dialog
        """The one-click retrain dialog (non-modal), bound to the open data set: closed with it."""
        w = self.w
        if w.session is None:
            return None
        from fashion_review.gui.retrain import RetrainDialog

        session = w.session
        dlg = RetrainDialog(session.ds, w, effective=session.table.effective.copy(), device=self.device_name())
        dlg.activated.connect(w.jobs.guard(session, self.on_run_activated, "retrain"))
        dlg.job_started.connect(lambda worker, s=session: w.jobs.track(s, worker, "retrain"))
        dlg.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        w.jobs.attach_dialog(session, dlg)
        dlg.show()
        dlg.raise_()
        dlg.activateWindow()  # its Enter (Start) must not reach the window behind (accept a prediction)
        self.retrain_dialog = dlg
        dlg.destroyed.connect(lambda *_: setattr(self, "retrain_dialog", None))
        return dlg

    def choose_model(self):  # noqa: ANN201 - training.registry.RunInfo | None
        """Models > Choose model: list the runs, activate the one chosen, show (or first make) its predictions."""
        w = self.w
        if w.session is None:
            return None
        from PySide6.QtWidgets import QDialog

        from fashion_review.gui.model_chooser import ChooseModelDialog, run_rows
        from fashion_review.training import registry

        fp = w.session.ds.fingerprint
        dlg = ChooseModelDialog(run_rows(fp), w)
        if dlg.exec() != QDialog.DialogCode.Accepted or not dlg.chosen:
            return None
        try:
            run = registry.activate(fp, dlg.chosen)
        except (FashionReviewError, OSError) as exc:
            w.error("The model was not activated", str(exc))
            return None
        self.on_run_activated(run)
        return run

    def on_run_activated(self, run: Any, *, elsewhere: bool = False) -> None:  # noqa: ANN401 - registry.RunInfo
        """``run`` became the active model: show its stored predictions, else predict the catalog
        with it (only when the app activated it: an activation from the command line only says so)."""
        from fashion_review.review.predictions import load_predictions

        w = self.w
        self.active_watcher.sync()
        where = " (activated outside the app)" if elsewhere else ""
        path = getattr(run, "predictions_path", None)
        if path is not None and path.is_file():
            try:
                pred = load_predictions(path)
            except FashionReviewError as exc:
                w.error(f"The predictions of {run.id} cannot be read", str(exc))
                return
            self.set_predictions(pred)
            w.statusBar().showMessage(f"Model {run.id} is active{where}; its predictions are shown.", 8000)
        elif elsewhere:
            self.update_label()
            w.statusBar().showMessage(f"Model {run.id} is active{where}; it has no predictions yet: "
                                      "Models > Predict the catalog.", 10000)
        else:
            w.statusBar().showMessage(f"Model {run.id} is active; predicting the catalog with it …")
            self.predict_catalog()

    def on_active_changed_elsewhere(self, run_id: str) -> None:
        """The registry's active pointer changed outside the app (``fashion-review models activate``)."""
        s = self.w.session
        if s is None:
            return
        if run_id and run_id == s.run_key:
            return
        from fashion_review.training import registry

        run = registry.active_run(s.ds.fingerprint)
        if run is None:
            self.update_label()
            return
        self.on_run_activated(run, elsewhere=True)

    def on_opened(self) -> None:
        """A data set was opened: its model shown, its registry watched."""
        self.update_label()
        self.active_watcher.watch(self.w.session.ds.fingerprint)

    def shutdown(self) -> None:
        if self.runner is not None:
            self.runner.cancel()
