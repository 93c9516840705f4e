"""The retrain dialog's live curves: loss and accuracy per batch while training, validation per epoch
(pyqtgraph), fed with the worker's :class:`~fashion_review.tasks.Progress` reports (phases ``"train"``
and ``"epoch_end"``, the same from a full retrain and a heads-only one)."""

from __future__ import annotations

import math

import numpy as np
from PySide6.QtWidgets import QHBoxLayout, QWidget

from fashion_review.tasks import Progress


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
