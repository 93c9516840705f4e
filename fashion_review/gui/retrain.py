"""One-click retrain: a dialog that retrains the model on the corrected labels.

It shows what the class filter keeps and drops with today's corrections, the recipe and epochs,
and an estimate of the time; trains in a worker with live loss and accuracy curves and Cancel;
then shows before / after accuracy per scheme and the classes whose recall changed most, and asks
whether to activate the new model.  Two ways to train:

* **Retrain heads only (fast)**, the default when an active model exists:
  :func:`fashion_review.training.heads.retrain_heads` keeps its backbone and trains the heads on
  cached backbone features (minutes on a CPU once the features are cached);
* **Full retraining**: :func:`fashion_review.training.train.train` with the chosen recipe (hours
  on a CPU: a GPU is recommended).

The jobs (:func:`~fashion_review.gui.retrain_jobs.heads_job`, :func:`~fashion_review.gui.retrain_jobs.full_job`)
are plain functions with a task handle; Keras is imported inside them, on the worker's thread; the
curves are :mod:`fashion_review.gui.retrain_curves`.  The dialog says truthfully what the registry
holds after a job: the new run, whole, or (cancelled, failed) nothing new, as it checks the
registry's folders rather than assuming it; and what the comparison counted (how many products
were scored, which were left out and why, which were not counted because their class is one a
model does not know).  Opened from the window, it is bound to the open data set and closes with
it (:meth:`RetrainDialog.close_with_dataset`).

    dlg = RetrainDialog(ds, window, effective=eff)
    dlg.activated.connect(window.on_model_activated)      # a training.registry.RunInfo
    dlg.show()
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QProgressBar,
    QPushButton,
    QRadioButton,
    QSpinBox,
    QSplitter,
    QTabWidget,
    QTableWidget,
    QTableWidgetItem,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from fashion_review.gui import dialogs
from fashion_review.gui.retrain_curves import TrainingCurves
from fashion_review.gui.retrain_jobs import (
    FULL,
    HEADS,
    RetrainOutcome,
    estimate_retrain,
    full_job,
    heads_job,
    missing_parts,
    nothing_to_train,
    registry_runs,
    weaker_note,
)
from fashion_review.gui.screen import fit_to_screen
from fashion_review.tasks import Cancelled, Progress
from fashion_review.text import plural
from fashion_review.training.compare import (  # noqa: F401 (re-exported: the dialog's headless parts)
    RATES,
    Estimate,
    FilterSummary,
    cached_features,
    compare_on_test,
    estimate_full,
    estimate_heads,
    filter_summaries,
    format_duration,
    measured_train_rate,
    rates_for,
    size_text,
)

#: The before / after tab's name; what its figures count is RESULTS_NOTE, in a label that wraps (the
#: whole text was once a group box's title, which does not wrap: the dialog grew to 1,639 pixels after
#: a retraining, its buttons off a laptop screen).
RESULTS_TITLE = "Before / after"
#: What the before / after figures count, in the words the confusion view and `evaluate` use.
RESULTS_NOTE = ("Accuracy on the new model's test part, today's labels, over the products neither model trained on "
                "(both scored on the same ones, so the earlier model's figure can differ from what "
                "\"fashion-review evaluate\" reports for it: that counts its own test part).")
#: The progress phases of train / retrain_heads / evaluate, as the status line names them.
PHASE_WORDS = {"prepare": "Preparing", "build": "Building the model", "cache": "Image cache",
               "features": "Backbone features", "train": "Training", "epoch_end": "Training", "predict": "Predicting",
               "evaluate": "Scoring", "save": "Saving", "done": "Done"}
#: ``training.heads.DEFAULT_EPOCHS``, repeated here so the dialog opens without importing Keras.
HEADS_DEFAULT_EPOCHS = 2
_UNSET = object()


class RetrainDialog(QDialog):
    """The one-click retrain dialog (see the module docstring)."""

    #: A new registry run was written (RunInfo), before any activation.
    run_created = Signal(object)
    #: The new run was made the data set's active model (RunInfo).
    activated = Signal(object)
    #: The job ended: "finished", "cancelled" or "failed".
    ended = Signal(str)
    #: The job started in this worker (the window counts it as a job of the open data set).
    job_started = Signal(object)

    def __init__(self, ds: Any, parent: QWidget | None = None, *, active_run: Any = _UNSET,
                 effective: pd.DataFrame | None = None, min_images: int | None = None,
                 limit: int | None = None, image_size: int | None = None, device: str | None = None,
                 ask_to_activate: bool = True) -> None:
        super().__init__(parent)
        from fashion_review.modeling.recipes import list_recipes, load_recipe
        from fashion_review.training import registry  # no Keras at module level

        self.setWindowTitle("Retrain the model on the corrected labels")
        self.ds = ds
        self._registry = registry
        self._load_recipe = load_recipe
        self.active_run = registry.active_run(ds.fingerprint) if active_run is _UNSET else active_run
        self.min_images = min_images
        self.limit = limit
        self.image_size = image_size
        self.device = device
        self.ask_to_activate = ask_to_activate
        self.outcome: RetrainOutcome | None = None
        self.worker = None
        self.nothing_to_train = ""  # why the class filter leaves nothing to train ("": it does not)
        self._runs_before: set[str] = set()
        self._detached = False  # its data set was closed (close_with_dataset)
        self._activated = False
        self._eff = ds.effective() if effective is None else effective
        self._runs = registry.list_runs(ds.fingerprint)

        # -- what to train ----------------------------------------------------------------
        self.heads_radio = QRadioButton("Retrain heads only (fast)")
        self.full_radio = QRadioButton("Full retraining")
        self.mode_group = QButtonGroup(self)
        self.mode_group.addButton(self.heads_radio)
        self.mode_group.addButton(self.full_radio)
        if self.active_run is not None:
            self.heads_radio.setToolTip(f"Keeps the backbone of {self.active_run.id} and trains only its heads "
                                        "on cached backbone features")
            self.heads_radio.setChecked(True)
        else:
            self.heads_radio.setEnabled(False)
            self.heads_radio.setToolTip("Needs an active model whose backbone it keeps")
            self.full_radio.setChecked(True)
        self.recipe_combo = QComboBox()
        self.recipe_combo.addItems(list_recipes())
        from fashion_review.modeling.recipes import default_recipe

        # Full retraining starts from the recipe that suits this machine (xception-lite without a GPU).
        self.default_recipe, self.default_reason = default_recipe(self.device or None)
        if self.recipe_combo.findText(self.default_recipe) >= 0:
            self.recipe_combo.setCurrentText(self.default_recipe)
        self.scheme_combo = QComboBox()
        self.epochs_spin = QSpinBox()
        self.epochs_spin.setRange(1, 500)
        self.recipe_note = QLabel()
        self.recipe_note.setWordWrap(True)
        self.gpu_note = QLabel("Full retraining: a GPU is recommended (hours on a CPU).")
        f = QFont()
        f.setBold(True)
        self.gpu_note.setFont(f)
        self.device_label = QLabel(f"Device: {device}" if device else "Device: detecting ...")
        self.estimate_label = QLabel()
        self.estimate_label.setWordWrap(True)

        mode_box = QGroupBox("How")
        mf = QFormLayout(mode_box)
        mode_row = QHBoxLayout()
        mode_row.addWidget(self.heads_radio)
        mode_row.addWidget(self.full_radio)
        mode_row.addStretch(1)
        mf.addRow(mode_row)
        mf.addRow("Recipe:", self.recipe_combo)
        mf.addRow("Scheme:", self.scheme_combo)
        mf.addRow("Epochs:", self.epochs_spin)
        mf.addRow(self.recipe_note)
        mf.addRow(self.gpu_note)
        mf.addRow(self.device_label)
        mf.addRow("Time:", self.estimate_label)

        # -- what the class filter keeps ------------------------------------------------------
        self.filter_tree = QTreeWidget()
        self.filter_tree.setHeaderLabels(["Class", "Images"])
        self.filter_tree.header().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        filter_box = QGroupBox("Classes with the current corrections")
        fl = QVBoxLayout(filter_box)
        fl.addWidget(self.filter_tree)

        # -- progress, curves, results ---------------------------------------------------------
        self.progress_bar = QProgressBar()
        self.progress_bar.setRange(0, 1000)
        self.status_label = QLabel("Ready.")
        self.status_label.setWordWrap(True)
        self.curves = TrainingCurves()
        self.results_table = QTableWidget(0, 5)
        self.results_table.setHorizontalHeaderLabels(["Scheme", "Test products", "Accuracy before", "Accuracy after",
                                                      "Change"])
        self.results_table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.results_table.verticalHeader().setVisible(False)
        self.results_table.setMaximumHeight(4 * 30 + 30)
        self.changes_label = QLabel()
        self.changes_label.setWordWrap(True)
        self.changes_label.setTextFormat(Qt.TextFormat.RichText)
        #: training.compare.Comparison.text(): scored, left out and why, not counted.
        self.comparison_label = QLabel()
        self.comparison_label.setObjectName("comparison_label")
        self.comparison_label.setWordWrap(True)
        self.comparison_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        results = QWidget()  # the tab's name is its title
        rl = QVBoxLayout(results)
        self.results_note = QLabel(RESULTS_NOTE)
        self.results_note.setWordWrap(True)
        rl.addWidget(self.results_note)
        rl.addWidget(self.results_table)
        rl.addWidget(self.comparison_label)
        rl.addWidget(self.changes_label)
        self.results_box = results
        # The curves and the before / after share one place, a tab each: stacked, on a laptop screen
        # (768 pixels) the results squeezed the curves to a 40-pixel strip and clipped the options' text.
        self.lower_tabs = QTabWidget()
        self.lower_tabs.addTab(self.curves, "Training curves")
        self.lower_tabs.addTab(results, RESULTS_TITLE)
        self.lower_tabs.setTabEnabled(1, False)

        self.start_button = QPushButton("Start")
        self.start_button.setDefault(True)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.activate_button = QPushButton("Activate the new model")
        self.activate_button.hide()
        self.close_button = QPushButton("Close")
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        for b in (self.start_button, self.cancel_button, self.activate_button, self.close_button):
            buttons.addWidget(b)

        top = QSplitter(Qt.Orientation.Horizontal)
        top.addWidget(mode_box)
        top.addWidget(filter_box)
        layout = QVBoxLayout(self)
        top.setStretchFactor(0, 1)
        top.setStretchFactor(1, 1)
        layout.addWidget(top, 4)
        layout.addWidget(self.progress_bar)
        layout.addWidget(self.status_label)
        layout.addWidget(self.lower_tabs, 3)
        layout.addLayout(buttons)
        # the options' wrapped lines are not squeezed when the results come (they were, clipped): the
        # minimum follows the estimate's text (_on_options_changed), which comes after this
        self._top = top
        fit_to_screen(self, 1040, 900)

        self.heads_radio.toggled.connect(self._on_options_changed)
        self.recipe_combo.currentIndexChanged.connect(self._on_recipe_changed)
        self.scheme_combo.currentIndexChanged.connect(self._on_options_changed)
        self.epochs_spin.valueChanged.connect(self._on_options_changed)
        self.start_button.clicked.connect(self.start)
        self.cancel_button.clicked.connect(self.cancel)
        self.activate_button.clicked.connect(self.activate)
        self.close_button.clicked.connect(self.close)
        self._on_recipe_changed()
        if device is None:
            from fashion_review.gui.predict_runner import describe_device_async

            self._device_worker = describe_device_async(self._on_device)

    # -- state ------------------------------------------------------------------------------

    @property
    def mode(self) -> str:
        return HEADS if self.heads_radio.isChecked() else FULL

    @property
    def busy(self) -> bool:
        return self.worker is not None and not self.worker.is_done

    def _recipe(self) -> Any:
        return self._load_recipe(self.recipe_combo.currentText())

    def _schemes(self) -> list[str]:
        if self.mode == HEADS and self.active_run is not None:
            return list(self.active_run.schemes)
        recipe = self._recipe()
        return list(recipe.schemes) if recipe.multihead else [self.scheme_combo.currentText() or recipe.schemes[-1]]

    def _on_device(self, name: str) -> None:
        self.device = name
        self.device_label.setText(f"Device: {name}")
        self._on_options_changed()

    def _on_recipe_changed(self, _i: int = 0) -> None:
        recipe = self._recipe()
        self.scheme_combo.blockSignals(True)
        current = self.scheme_combo.currentText()
        self.scheme_combo.clear()
        if not recipe.multihead:
            self.scheme_combo.addItems(list(recipe.schemes))
            if current in recipe.schemes:
                self.scheme_combo.setCurrentText(current)
            elif self.active_run is not None and len(self.active_run.schemes) == 1 and \
                    self.active_run.schemes[0] in recipe.schemes:
                self.scheme_combo.setCurrentText(self.active_run.schemes[0])
            else:
                self.scheme_combo.setCurrentIndex(len(recipe.schemes) - 1)
        self.scheme_combo.blockSignals(False)
        self._on_options_changed()

    def _on_options_changed(self, *_: Any) -> None:
        heads = self.mode == HEADS
        recipe = self._recipe()
        self.recipe_combo.setEnabled(not heads and not self.busy)
        self.scheme_combo.setEnabled(not heads and not recipe.multihead and not self.busy)
        self.epochs_spin.blockSignals(True)
        if getattr(self, "_last_mode", None) != (self.mode, recipe.name):
            self.epochs_spin.setValue(HEADS_DEFAULT_EPOCHS if heads else recipe.epochs)
            self._last_mode = (self.mode, recipe.name)
        self.epochs_spin.blockSignals(False)
        if heads:
            size = self.image_size or self.active_run.image_size
        else:
            size = self.image_size or recipe.image_size
        if heads:
            self.recipe_note.setText(f"Keeps the backbone of {self.active_run.id} ({self.active_run.recipe}, "
                                     f"{size_text(size)}); trains its heads on cached backbone features.")
        else:
            why = (f" The default here: {self.default_reason}." if recipe.name == self.default_recipe else "")
            self.recipe_note.setText(f"{recipe.name}: {recipe.kind}, {size_text(size)}, "
                                     f"{plural(recipe.epochs, 'epoch')}, batch {recipe.batch_size}, "
                                     f"learning rate {recipe.learning_rate:g}, from scratch.{why}")
        # Only full retraining of the full Xception wants a GPU: the heads run on cached features,
        # xception-lite trains on a laptop CPU.
        self.gpu_note.setVisible(not heads and recipe.backbone != "xception-lite"
                                 and not (self.device or "").upper().startswith("GPU"))
        schemes = self._schemes()
        self._fill_filter(schemes)
        self.estimate = self._estimate(schemes, size)
        self.nothing_to_train = nothing_to_train(self.summaries)
        # Said before Start, not after a failed run ("0 class(es) with at least 500 usable images ...
        # lower --min-images?", as on a small catalog under the paper's 500-image class filter).
        weaker = weaker_note(self.active_run, self.estimate.products) if self.mode == FULL else ""
        self.estimate_label.setText(self.nothing_to_train or (self.estimate.text() + weaker))
        self._top.setMinimumHeight(self._top.sizeHint().height())
        self.start_button.setEnabled(not self.busy and not self.nothing_to_train)

    def _fill_filter(self, schemes: Sequence[str]) -> None:
        known = self.active_run.classes if self.active_run is not None else None
        self.summaries = filter_summaries(self.ds, schemes, self.min_images, self._eff, known)
        tree = self.filter_tree
        tree.clear()
        for s, fs in self.summaries.items():
            top = QTreeWidgetItem([f"{s}: {plural(len(fs.kept), 'class')} kept ({plural(fs.images_kept, 'image')}), "
                                   f"{len(fs.dropped)} dropped (fewer than {plural(fs.min_images, 'image')})", ""])
            kept = QTreeWidgetItem([f"Kept ({len(fs.kept)})", ""])
            for c, n in sorted(fs.kept.items(), key=lambda kv: -kv[1]):
                item = QTreeWidgetItem([c + ("  (new)" if c in fs.newly_kept else ""), f"{n:,}"])
                kept.addChild(item)
            dropped = QTreeWidgetItem([f"Dropped ({len(fs.dropped)})", ""])
            for c, n in sorted(fs.dropped.items(), key=lambda kv: -kv[1]):
                item = QTreeWidgetItem([c + ("  (the current model knows it)" if c in fs.newly_dropped else ""),
                                        f"{n:,}"])
                dropped.addChild(item)
            top.addChildren([kept, dropped])
            tree.addTopLevelItem(top)
            top.setFirstColumnSpanned(True)
            top.setToolTip(0, top.text(0))
            top.setExpanded(True)
            if fs.newly_kept or fs.newly_dropped:
                kept.setExpanded(True)
                dropped.setExpanded(True)

    def _estimate(self, schemes: Sequence[str], size: int | None) -> Estimate:
        return estimate_retrain(self.ds, self.mode, schemes=schemes, epochs=self.epochs_spin.value(), size=size,
                                device=self.device, effective=self._eff, active_run=self.active_run,
                                recipe=self._recipe(), runs=self._runs, min_images=self.min_images, limit=self.limit)

    # -- running ------------------------------------------------------------------------------

    def start(self) -> Any:
        """Start the chosen retraining in a worker; returns the worker."""
        from fashion_review.gui.workers import Worker, long_pool

        if self.busy:
            return self.worker
        if self._detached:
            self.status_label.setText("Its data set was closed: open it again and retrain from there.")
            return None
        epochs = self.epochs_spin.value()
        if self.mode == HEADS:
            worker = Worker(heads_job, self.ds, self.active_run, epochs=epochs, limit=self.limit,
                            min_images=self.min_images)
        else:
            recipe = self._recipe()
            worker = Worker(full_job, self.ds, recipe.name, parent=self.active_run,
                            scheme=None if recipe.multihead else self.scheme_combo.currentText(),
                            epochs=epochs, image_size=self.image_size, limit=self.limit,
                            min_images=self.min_images)
        s = worker.signals
        s.progress.connect(self._on_progress)
        s.result.connect(self._on_result)
        s.errored.connect(self._on_errored)
        s.cancelled.connect(self._on_cancelled)
        self.worker = worker
        self.outcome = None
        self._activated = False
        self.curves.clear()
        self.lower_tabs.setCurrentIndex(0)
        self.lower_tabs.setTabEnabled(1, False)
        self.activate_button.hide()
        self.progress_bar.setValue(0)
        self.status_label.setText("Starting ...")
        self._set_running(True)
        self._runs_before = registry_runs(self.ds.fingerprint)
        worker.start(long_pool())
        self.job_started.emit(worker)
        return worker

    def cancel(self) -> None:
        if self.busy:
            self.worker.cancel()
            self.status_label.setText("Cancelling (within one batch) ...")
            self.cancel_button.setEnabled(False)

    def _set_running(self, running: bool) -> None:
        self.start_button.setEnabled(not running and not self.nothing_to_train)
        self.cancel_button.setEnabled(running)
        for w in (self.heads_radio, self.full_radio, self.epochs_spin):
            w.setEnabled(not running and (w is not self.heads_radio or self.active_run is not None))
        self.recipe_combo.setEnabled(not running and self.mode == FULL)
        self.scheme_combo.setEnabled(not running and self.mode == FULL and not self._recipe().multihead)

    def _on_progress(self, p: Progress) -> None:
        if p.fraction is None:
            self.progress_bar.setRange(0, 0)
        else:
            self.progress_bar.setRange(0, 1000)
            self.progress_bar.setValue(int(round(1000 * max(0.0, min(1.0, p.fraction)))))
        if p.message:  # "Training: epoch 5/16 done: ...", not the task's phase name ("epoch_end: ...")
            what = PHASE_WORDS.get(p.phase, p.phase.replace("_", " ").capitalize())
            said = p.message[0].upper() + p.message[1:]  # some messages name their phase already
            self.status_label.setText(said if p.message.lower().startswith(what.lower()) else f"{what}: {p.message}")
        self.curves.add_progress(p)

    def _on_result(self, outcome: RetrainOutcome) -> None:
        self._set_running(False)
        self.outcome = outcome
        self.progress_bar.setRange(0, 1000)
        self.progress_bar.setValue(1000)
        missing = missing_parts(outcome.run)
        where = ("is in the registry, whole" if not missing else
                 f"is in the registry but lacks {', '.join(missing)}")
        self.status_label.setText(f"Done in {format_duration(outcome.seconds)}: the new run {outcome.run.id} {where} "
                                  "(not active yet).")
        self._show_results(outcome)
        self.run_created.emit(outcome.run)
        self.ended.emit("finished")
        self.activate_button.show()
        if self.ask_to_activate and not self._detached:
            self._ask_to_activate()

    def _on_errored(self, message: str, tb: str) -> None:
        self._set_running(False)
        self.progress_bar.setRange(0, 1000)
        self.progress_bar.setValue(0)
        self.status_label.setText(f"Failed: {message}. {self._registry_note()}")
        self.status_label.setToolTip(tb)
        self.ended.emit("failed")

    def _on_cancelled(self) -> None:
        self._set_running(False)
        self.progress_bar.setRange(0, 1000)
        self.progress_bar.setValue(0)
        self.status_label.setText(f"Cancelled: {self._registry_note()}")
        self.ended.emit("cancelled")

    def _new_runs(self) -> list[str]:
        """Run folders that appeared in the registry since the job started (checked, not assumed)."""
        return sorted(registry_runs(self.ds.fingerprint) - self._runs_before)

    def _registry_note(self) -> str:
        """What a job that made no run left in the registry, as the registry's folders show it."""
        new = self._new_runs()
        if not new:
            return "nothing was written: the registry is unchanged."
        return f"the registry holds {plural(len(new), 'new run')} all the same: {', '.join(new)}."

    def _show_results(self, outcome: RetrainOutcome) -> None:
        rows = outcome.accuracy_rows()
        t = self.results_table
        t.setRowCount(len(rows))
        for i, (s, before, after) in enumerate(rows):
            change = "" if before is None else f"{100 * (after - before):+.1f} points"
            n = outcome.after[s].total
            values = [s, f"{n:,}", "—" if before is None else f"{100 * before:.1f} %", f"{100 * after:.1f} %", change]
            for j, v in enumerate(values):
                item = QTableWidgetItem(v)
                item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEditable)
                t.setItem(i, j, item)
        self.comparison_label.setText(outcome.comparison_text())
        self.comparison_label.setVisible(bool(self.comparison_label.text()))
        changes = outcome.recall_changes(top=6)
        if changes:
            lines = [f"{s} <b>{c}</b>: recall {100 * a:.0f}% → {100 * b:.0f}%" for s, c, a, b in changes]
            self.changes_label.setText("Classes whose recall changed most:<br>" + "<br>".join(lines))
        else:
            self.changes_label.setText("No earlier model to compare with." if outcome.parent is None else "")
        self.lower_tabs.setTabEnabled(1, True)
        self.lower_tabs.setCurrentIndex(1)

    def _ask_to_activate(self) -> None:
        o = self.outcome
        if o is None:
            return
        gains = [f"{s}: {100 * (a - b):+.1f} points" for s, b, a in o.accuracy_rows() if b is not None]
        text = f"Make {o.run.id} the active model?" + (f"\n\nTest accuracy: {', '.join(gains)}." if gains else "")
        if dialogs.ask(self, "Activate the new model?", text):
            self.activate()

    def activate(self) -> Any:
        """Make the new run the active model; emits :attr:`activated`."""
        if self.outcome is None:
            return None
        run = self._registry.activate(self.ds.fingerprint, self.outcome.run.id)
        self._activated = True
        self.activate_button.hide()
        self.status_label.setText(f"{run.id} is now the active model.")
        self.activated.emit(run)
        return run

    def close_with_dataset(self) -> str:
        """Its data set is closing: stop the job (waiting for it), close the dialog, and say what the
        registry holds of its work, as the registry's folders show it."""
        from fashion_review.gui.jobs import CLOSE_WAIT_S

        worker, running = self.worker, self.busy
        if running:
            worker.cancel()
            worker.wait(CLOSE_WAIT_S)
        self._detached = True
        what = "The retrain dialog closed with its data set"
        if running and not worker.is_done:
            note = f"{what}: its training is stopping (a run is written whole or not at all)"
        elif running:
            new = self._new_runs()
            note = (f"{what}: its new run {', '.join(new)} is in the registry, not active (Models > Choose model "
                    "activates it)" if new else f"{what}: its training was cancelled; nothing was written")
        elif self.outcome is not None and not self._activated:
            note = (f"{what}: its new run {self.outcome.run.id} stays in the registry, not active (Models > Choose "
                    "model activates it)")
        else:
            note = what
        self.close()
        return note

    def closeEvent(self, event: Any) -> None:  # noqa: N802 - Qt API
        self.cancel()
        super().closeEvent(event)

    def reject(self) -> None:
        self.cancel()
        super().reject()


__all__ = [
    "Cancelled", "Estimate", "FilterSummary", "RetrainDialog", "RetrainOutcome", "TrainingCurves",
    "compare_on_test", "estimate_full", "estimate_heads", "filter_summaries", "full_job", "heads_job",
]
