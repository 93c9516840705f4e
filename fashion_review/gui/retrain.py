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

The jobs (:func:`heads_job`, :func:`full_job`) are plain functions with a task handle; Keras is
imported inside them, on the worker's thread.  A cancelled job leaves the registry as it was.

    dlg = RetrainDialog(ds, window, effective=eff)
    dlg.activated.connect(window.on_model_activated)      # a training.registry.RunInfo
    dlg.show()
"""

from __future__ import annotations

import math
import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
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
    QMessageBox,
    QProgressBar,
    QPushButton,
    QRadioButton,
    QSpinBox,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from fashion_review.review import metrics
from fashion_review.tasks import Cancelled, Progress, Task
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
from fashion_review.training.compare import device_kind as _kind

HEADS, FULL = "heads", "full"
#: What the before / after figures count, in the words the confusion view and `evaluate` use.
RESULTS_TITLE = ("Before / after: accuracy on the new model's test part, today's labels (the earlier model is "
                 "scored on the same products, so its figure can differ from what \"fashion-review evaluate\" "
                 "reports for it: that counts its own test part)")
#: ``training.heads.DEFAULT_EPOCHS``, repeated here so the dialog opens without importing Keras.
HEADS_DEFAULT_EPOCHS = 2
_UNSET = object()

# --------------------------------------------------------------------------------------------
# Plain functions (no Qt): what the dialog shows and what its worker runs


@dataclass
class RetrainOutcome:
    """What a retrain produced: the new run and the numbers the dialog compares."""

    mode: str
    run: Any  # training.registry.RunInfo
    parent: Any  # RunInfo of the model it is compared with (None when there was none)
    before: dict[str, metrics.ClassReport]
    after: dict[str, metrics.ClassReport]
    seconds: float
    timings: dict[str, float] = field(default_factory=dict)

    def accuracy_rows(self) -> list[tuple[str, float | None, float]]:
        """(scheme, accuracy before, after) on the test part with today's labels."""
        return [(s, self.before[s].accuracy if s in self.before else None, self.after[s].accuracy)
                for s in self.after]

    def recall_changes(self, top: int = 5) -> list[tuple[str, str, float, float]]:
        """(scheme, class, recall before, after), largest changes first, over every scheme."""
        rows = []
        for s in self.after:
            if s in self.before:
                rows += [(s, *r) for r in metrics.recall_changes(self.before[s], self.after[s], top=top)]
        rows.sort(key=lambda r: (-abs(r[3] - r[2]), r[0], r[1]))
        return rows[:top]


def heads_job(ds: Any, run: Any = None, *, epochs: int | None = None, limit: int | None = None,
              min_images: int | None = None, task: Task) -> RetrainOutcome:
    """Retrain the heads of ``run`` (default: the active run); see :func:`~fashion_review.training.heads.retrain_heads`."""
    from fashion_review.training.heads import retrain_heads

    t0 = time.perf_counter()
    res = retrain_heads(ds, run, epochs=epochs, limit=limit, min_images=min_images, task=task)
    return RetrainOutcome(HEADS, res.run, res.parent, res.before, res.after, time.perf_counter() - t0,
                          dict(res.timings))


def full_job(ds: Any, recipe: str, *, parent: Any = None, scheme: str | None = None, epochs: int | None = None,
             image_size: int | None = None, limit: int | None = None, min_images: int | None = None,
             weights: str = "none", task: Task) -> RetrainOutcome:
    """Train ``recipe`` from scratch on the corrected labels, then score it and ``parent`` on its test part.

    A cancel during the scoring removes the new run again, so a cancelled job never leaves one.
    """
    from fashion_review.training import registry
    from fashion_review.training.train import train

    t0 = time.perf_counter()
    run = train(ds, recipe, schemes=scheme, epochs=epochs, image_size=image_size, limit=limit, task=task,
                min_images=min_images, weights=weights)
    timings = {"train_s": time.perf_counter() - t0}
    try:
        t = time.perf_counter()
        before, after = compare_on_test(ds, run, parent, task)
        timings["evaluate_s"] = time.perf_counter() - t
    except BaseException:
        if run.path.parent == registry.runs_dir(ds.fingerprint):
            shutil.rmtree(run.path, ignore_errors=True)
        raise
    return RetrainOutcome(FULL, run, parent, before, after, time.perf_counter() - t0, timings)


# --------------------------------------------------------------------------------------------
# Widgets


class TrainingCurves(QWidget):
    """Live loss and accuracy (pyqtgraph): per batch while training, and validation per epoch."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        import pyqtgraph as pg

        self._pg = pg
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.loss_plot = pg.PlotWidget(title="Loss")
        self.acc_plot = pg.PlotWidget(title="Accuracy")
        for plot in (self.loss_plot, self.acc_plot):
            plot.setBackground("w")
            plot.showGrid(x=True, y=True, alpha=0.3)
            plot.setLabel("bottom", "epoch")
            plot.addLegend(offset=(-10, 10))
            layout.addWidget(plot)
        self.acc_plot.setYRange(0, 1)
        blue, orange = pg.mkPen((31, 119, 180), width=2), pg.mkPen((255, 127, 14), width=2)
        self.loss_curve = self.loss_plot.plot([], [], pen=blue, name="train")
        self.val_loss_curve = self.loss_plot.plot([], [], pen=orange, symbol="o", symbolSize=6,
                                                  symbolBrush=(255, 127, 14), name="validation")
        self.acc_curve = self.acc_plot.plot([], [], pen=blue, name="train")
        self.val_acc_curve = self.acc_plot.plot([], [], pen=orange, symbol="o", symbolSize=6,
                                                symbolBrush=(255, 127, 14), name="validation")
        self.clear()

    def clear(self) -> None:
        self.x: list[float] = []
        self.loss: list[float] = []
        self.acc: list[float] = []
        self.epochs: list[float] = []
        self.val_loss: list[float] = []
        self.val_acc: list[float] = []
        self._redraw()

    def add_progress(self, p: Progress) -> None:
        info = p.info
        if p.phase == "train" and info.get("loss") is not None and info.get("batches"):
            x = (info["epoch"] - 1) + info["batch"] / info["batches"]
            self.x.append(float(x))
            self.loss.append(float(info["loss"]))
            acc = info.get("accuracy")
            self.acc.append(float(acc) if acc is not None else math.nan)
            self._redraw()
        elif p.phase == "epoch_end":
            logs = info.get("logs", {})
            val_loss = logs.get("val_loss")
            val_accs = [v for k, v in logs.items() if k.startswith("val_") and k.endswith("accuracy")]
            if val_loss is not None or val_accs:
                self.epochs.append(float(info.get("epoch", len(self.epochs) + 1)))
                self.val_loss.append(float(val_loss) if val_loss is not None else math.nan)
                self.val_acc.append(float(np.mean(val_accs)) if val_accs else math.nan)
                self._redraw()

    def _redraw(self) -> None:
        self.loss_curve.setData(self.x, self.loss, connect="finite")
        self.acc_curve.setData(self.x, self.acc, connect="finite")
        self.val_loss_curve.setData(self.epochs, self.val_loss, connect="finite")
        self.val_acc_curve.setData(self.epochs, self.val_acc, connect="finite")


class RetrainDialog(QDialog):
    """The one-click retrain dialog (see the module docstring)."""

    #: A new registry run was written (RunInfo), before any activation.
    run_created = Signal(object)
    #: The new run was made the data set's active model (RunInfo).
    activated = Signal(object)
    #: The job ended: "finished", "cancelled" or "failed".
    ended = Signal(str)

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
        results = QGroupBox(RESULTS_TITLE)
        rl = QVBoxLayout(results)
        rl.addWidget(self.results_table)
        rl.addWidget(self.changes_label)
        self.results_box = results
        results.hide()

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
        layout.addWidget(self.curves, 3)
        layout.addWidget(results, 0)
        layout.addLayout(buttons)
        self.resize(1040, 900)

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
        self.estimate_label.setText(self.estimate.text())

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

    def _counts(self, schemes: Sequence[str]) -> tuple[int, int, int]:
        """(train, val, all) products a run of these schemes would see (usable in any scheme)."""
        union = None
        parts = None
        for s in schemes:
            usable = self.ds.usable(s, self.min_images, effective=self._eff)
            union = usable.index if union is None else union.union(usable.index)
            if parts is None:
                try:
                    parts = self.ds.split(s, self.min_images, effective=self._eff)
                except Exception:  # noqa: BLE001 - only for an estimate
                    parts = None
        n = len(union) if union is not None else 0
        if self.limit is not None:
            n = min(n, self.limit)
        share = parts.value_counts(normalize=True) if parts is not None and len(parts) else {}
        return int(n * share.get("train", 0.8)), int(n * share.get("val", 0.1)), n

    def _estimate(self, schemes: Sequence[str], size: int | None) -> Estimate:
        n_train, n_val, n = self._counts(schemes)
        epochs = self.epochs_spin.value()
        if self.mode == HEADS and self.active_run is not None:
            cached, rate = cached_features(self.ds, self.active_run.backbone_id)
            n_with_image = int(self._eff["has_image"].sum()) if self.limit is None else n
            missing = n_with_image - cached
            backbone = str((self.active_run.record.get("recipe") or {}).get("backbone", "xception"))
            return estimate_heads(max(0, missing), n_train, epochs, size, self.device, rate, n_with_image,
                                  backbone=backbone)
        recipe = self._recipe()
        measured = measured_train_rate(self._runs, recipe.name, size, self.device)
        est = estimate_full(n_train, n_val, epochs, size, self.device, measured, backbone=recipe.backbone,
                            validation=recipe.validation)
        if self.active_run is not None:  # scoring old and new models on the test part
            est.seconds += 2 * max(0, n - n_train - n_val) / rates_for(self.device, recipe.backbone, size)["features"]
        return est

    # -- running ------------------------------------------------------------------------------

    def start(self) -> Any:
        """Start the chosen retraining in a worker; returns the worker."""
        from fashion_review.gui.workers import Worker, long_pool

        if self.busy:
            return self.worker
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
        self.curves.clear()
        self.results_box.hide()
        self.activate_button.hide()
        self.progress_bar.setValue(0)
        self.status_label.setText("Starting ...")
        self._set_running(True)
        return worker.start(long_pool())

    def cancel(self) -> None:
        if self.busy:
            self.worker.cancel()
            self.status_label.setText("Cancelling (within one batch) ...")
            self.cancel_button.setEnabled(False)

    def _set_running(self, running: bool) -> None:
        self.start_button.setEnabled(not running)
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
        if p.message:
            self.status_label.setText(f"{p.phase}: {p.message}")
        self.curves.add_progress(p)

    def _on_result(self, outcome: RetrainOutcome) -> None:
        self._set_running(False)
        self.outcome = outcome
        self.progress_bar.setRange(0, 1000)
        self.progress_bar.setValue(1000)
        self.status_label.setText(f"Done in {format_duration(outcome.seconds)}: new run {outcome.run.id} "
                                  "(not active yet).")
        self._show_results(outcome)
        self.run_created.emit(outcome.run)
        self.ended.emit("finished")
        self.activate_button.show()
        if self.ask_to_activate:
            self._ask_to_activate()

    def _on_errored(self, message: str, tb: str) -> None:
        self._set_running(False)
        self.progress_bar.setRange(0, 1000)
        self.progress_bar.setValue(0)
        self.status_label.setText(f"Failed: {message}")
        self.status_label.setToolTip(tb)
        self.ended.emit("failed")

    def _on_cancelled(self) -> None:
        self._set_running(False)
        self.progress_bar.setRange(0, 1000)
        self.progress_bar.setValue(0)
        self.status_label.setText("Cancelled: the registry is unchanged.")
        self.ended.emit("cancelled")

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
        changes = outcome.recall_changes(top=6)
        if changes:
            lines = [f"{s} <b>{c}</b>: recall {100 * a:.0f}% → {100 * b:.0f}%" for s, c, a, b in changes]
            self.changes_label.setText("Classes whose recall changed most:<br>" + "<br>".join(lines))
        else:
            self.changes_label.setText("No earlier model to compare with." if outcome.parent is None else "")
        self.results_box.show()

    def _ask_to_activate(self) -> None:
        o = self.outcome
        if o is None:
            return
        gains = [f"{s}: {100 * (a - b):+.1f} points" for s, b, a in o.accuracy_rows() if b is not None]
        text = f"Make {o.run.id} the active model?" + (f"\n\nTest accuracy: {', '.join(gains)}." if gains else "")
        answer = QMessageBox.question(self, "Activate the new model?", text,
                                      QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
                                      QMessageBox.StandardButton.No)
        if answer == QMessageBox.StandardButton.Yes:
            self.activate()

    def activate(self) -> Any:
        """Make the new run the active model; emits :attr:`activated`."""
        if self.outcome is None:
            return None
        run = self._registry.activate(self.ds.fingerprint, self.outcome.run.id)
        self.activate_button.hide()
        self.status_label.setText(f"{run.id} is now the active model.")
        self.activated.emit(run)
        return run

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
