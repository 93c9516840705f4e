"""The confusion-matrix view: given against predicted labels per scheme and split part.

A heatmap (a ``QTableView`` whose model colours each cell: the diagonal in blue, mistakes in red,
by the row-normalised share so a rare class's errors show as clearly as a common one's), class
names on both axes (the predicted ones rotated), counts or row percentages in the cells, and
beside it the per-class precision / recall / F1 / support table.  The numbers come from
:mod:`fashion_review.review.metrics`; this widget only draws them and turns clicks into signals:

    view = ConfusionMatrixView()
    view.set_dataset(ds, predictions, run=run)     # the run's own parts (its split.csv)
    view.set_data(predictions, labels={s: ds.usable(s, effective=eff) for s in ...},
                  splits=model_split, parts_source="model")
    view.cell_clicked.connect(catalog.filter_to_cell)      # (scheme, given, predicted)
    view.class_clicked.connect(catalog.filter_to_class)    # (scheme, class name)

Call :meth:`ConfusionMatrixView.set_data` (or :meth:`~ConfusionMatrixView.set_dataset`) again
after each correction: it recomputes only the scheme and part shown (a few milliseconds).

The parts are the shown model's own (the train / validation / test of its run's ``split.csv``):
"test" is what that model never saw.  Only a model with no split file is shown on the data
set's stored split, and the view says so; while the window computes a new model's parts the
view shows none rather than the previous model's.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from PySide6.QtCore import QAbstractTableModel, QModelIndex, QRect, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QPainter
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QSplitter,
    QStyle,
    QStyleOptionHeader,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from fashion_review.gui.enter_keys import EnterOpens
from fashion_review.review import metrics
from fashion_review.text import plural

PART_LABELS = {"all": "All usable products", "train": "Train", "val": "Validation", "test": "Test"}
#: Where the parts shown come from: the model's own split file, the data set's stored split (a
#: model without a split file), or not known yet (being computed for a model just switched to).
PARTS_SOURCES = ("model", "stored", "pending")
_UNSET = object()
#: What the view says without predictions (the window replaces it with what to do in its state).
NO_PREDICTIONS = ("No model predictions to compare the labels with yet: Models > Choose model… shows a trained "
                  "model's (it predicts the catalog first if needed); Models > Retrain… trains one.")
_DIAG = (33, 102, 172)  # blue
_OFF = (202, 0, 32)  # red


def _blend(rgb: tuple[int, int, int], t: float) -> QColor:
    t = float(min(max(t, 0.0), 1.0)) ** 0.6  # small shares stay visible
    return QColor(*(int(round(255 + (c - 255) * t)) for c in rgb))


class ConfusionModel(QAbstractTableModel):
    """The matrix as a Qt table model: rows given labels, columns predicted labels."""

    def __init__(self, parent=None) -> None:  # noqa: ANN001
        super().__init__(parent)
        self.counts = np.zeros((0, 0), dtype=np.int64)
        self.norm = np.zeros((0, 0))
        self.classes: list[str] = []
        self.normalised = False

    def set_matrix(self, counts: np.ndarray, classes: list[str]) -> None:
        self.beginResetModel()
        self.counts = np.asarray(counts, dtype=np.int64)
        self.norm = metrics.row_normalised(self.counts)
        self.classes = list(classes)
        self.endResetModel()

    def set_normalised(self, on: bool) -> None:
        if on != self.normalised:
            self.normalised = on
            if self.classes:
                self.dataChanged.emit(self.index(0, 0), self.index(len(self.classes) - 1, len(self.classes) - 1),
                                      [Qt.ItemDataRole.DisplayRole])

    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(self.classes)

    def columnCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(self.classes)

    def text(self, row: int, col: int) -> str:
        n = int(self.counts[row, col])
        if self.normalised:
            share = self.norm[row, col]
            return "" if n == 0 else (f"{100 * share:.0f}%" if share >= 0.005 else "<1%")
        return "" if n == 0 else f"{n:,}"

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole):  # noqa: ANN201
        if not index.isValid():
            return None
        r, c = index.row(), index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return self.text(r, c)
        if role == Qt.ItemDataRole.BackgroundRole:
            if self.counts[r, c] == 0:
                return QColor(255, 255, 255) if r != c else QColor(244, 247, 252)
            return _blend(_DIAG if r == c else _OFF, self.norm[r, c])
        if role == Qt.ItemDataRole.ForegroundRole:
            return QColor(255, 255, 255) if self.norm[r, c] > 0.45 else QColor(20, 20, 20)
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return int(Qt.AlignmentFlag.AlignCenter)
        if role == Qt.ItemDataRole.ToolTipRole:
            n = int(self.counts[r, c])
            row_total = int(self.counts[r].sum())
            share = f" ({100 * self.norm[r, c]:.1f}% of {row_total:,} given {self.classes[r]})" if row_total else ""
            return (f"Given {self.classes[r]}, predicted {self.classes[c]}: {plural(n, 'product')}{share}"
                    "\nClick to show them in the catalog")
        if role == Qt.ItemDataRole.UserRole:
            return int(self.counts[r, c])
        return None

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole):  # noqa: ANN201, N802
        if not (0 <= section < len(self.classes)):
            return None
        name = self.classes[section]
        if role == Qt.ItemDataRole.DisplayRole:
            return name
        if role == Qt.ItemDataRole.ToolTipRole:
            if orientation == Qt.Orientation.Vertical:
                return f"Given {name}: {plural(int(self.counts[section].sum()), 'product')}; click to filter the catalog"
            return f"Predicted {name}: {plural(int(self.counts[:, section].sum()), 'product')}; click to filter the catalog"
        return None


class RotatedHeader(QHeaderView):
    """A horizontal header that writes its labels bottom-to-top, so long class names fit narrow columns."""

    def __init__(self, parent=None) -> None:  # noqa: ANN001
        super().__init__(Qt.Orientation.Horizontal, parent)
        self.setSectionsClickable(True)
        self.setHighlightSections(True)
        self.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)

    def _label(self, logical: int) -> str:
        model = self.model()
        if model is None:
            return ""
        return str(model.headerData(logical, Qt.Orientation.Horizontal, Qt.ItemDataRole.DisplayRole) or "")

    def paintSection(self, painter: QPainter, rect: QRect, logical: int) -> None:  # noqa: N802
        if not rect.isValid():
            return
        opt = QStyleOptionHeader()
        self.initStyleOption(opt)
        opt.rect = rect
        opt.section = logical
        opt.text = ""
        if self.selectionModel() is not None and self.highlightSections() and \
                self.selectionModel().isColumnSelected(logical, QModelIndex()):
            opt.state |= QStyle.StateFlag.State_On
        painter.save()
        self.style().drawControl(QStyle.ControlElement.CE_Header, opt, painter, self)
        painter.translate(rect.x() + rect.width() / 2 + self.fontMetrics().ascent() / 2 - 2, rect.bottom() - 4)
        painter.rotate(-90)
        painter.drawText(0, 0, self._label(logical))
        painter.restore()

    def sectionSizeFromContents(self, logical: int) -> QSize:  # noqa: N802
        fm = self.fontMetrics()
        return QSize(fm.height() + 8, fm.horizontalAdvance(self._label(logical)) + 12)

    def sizeHint(self) -> QSize:  # noqa: N802
        hint = super().sizeHint()
        model = self.model()
        n = model.columnCount() if model is not None else 0
        longest = max((self.fontMetrics().horizontalAdvance(self._label(i)) for i in range(n)), default=40)
        return QSize(hint.width(), min(longest + 14, 220))


class ReportModel(QAbstractTableModel):
    """The per-class precision / recall / F1 / support table, then accuracy and the averages."""

    COLUMNS = ("Class", "Precision", "Recall", "F1", "Support")
    SUMMARY = ("accuracy", "macro avg", "weighted avg")

    def __init__(self, parent=None) -> None:  # noqa: ANN001
        super().__init__(parent)
        self.report: metrics.ClassReport | None = None
        self.scored: metrics.ScoredAccuracy | None = None

    def set_report(self, report: metrics.ClassReport | None) -> None:
        self.beginResetModel()
        self.report = report
        self.endResetModel()

    def class_at(self, row: int) -> str | None:
        if self.report is None or not (0 <= row < len(self.report.classes)):
            return None
        return self.report.classes[row]

    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: B008, N802
        if parent.isValid() or self.report is None:
            return 0
        return len(self.report.classes) + len(self.SUMMARY)

    def columnCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(self.COLUMNS)

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole):  # noqa: ANN201
        rep = self.report
        if rep is None or not index.isValid():
            return None
        r, c = index.row(), index.column()
        k = len(rep.classes)
        if role == Qt.ItemDataRole.DisplayRole:
            if r < k:
                return [rep.classes[r], f"{rep.precision[r]:.3f}", f"{rep.recall[r]:.3f}", f"{rep.f1[r]:.3f}",
                        f"{int(rep.support[r]):,}"][c]
            name = self.SUMMARY[r - k]
            if name == "accuracy":
                return [name, "", "", f"{rep.accuracy:.3f}", f"{rep.total:,}"][c]
            avg = rep.macro if name == "macro avg" else rep.weighted
            return [name, f"{avg['precision']:.3f}", f"{avg['recall']:.3f}", f"{avg['f1-score']:.3f}",
                    f"{rep.total:,}"][c]
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return int((Qt.AlignmentFlag.AlignLeft if c == 0 else Qt.AlignmentFlag.AlignRight)
                       | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.FontRole and r >= k:
            f = QFont()
            f.setItalic(True)
            return f
        if role == Qt.ItemDataRole.ToolTipRole and r < k:
            return f"Click to show the products given {rep.classes[r]} in the catalog"
        return None

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole):  # noqa: ANN201, N802
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return self.COLUMNS[section]
        return None


class ConfusionMatrixView(QWidget):
    """Confusion matrix and per-class report for one scheme and split part of one model's predictions."""

    #: (scheme, given label, predicted label) of a clicked cell.
    cell_clicked = Signal(str, str, str)
    #: (scheme, class name) of a clicked class (either axis, or a row of the report).
    class_clicked = Signal(str, str)
    #: The matrix shown changed (new data, scheme or part).
    updated = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._pred = None
        self._labels: dict[str, pd.Series] = {}
        self._splits: dict[str, pd.Series] = {}
        self._predicted: dict[str, pd.Series] = {}
        self._model_name = ""
        self.parts_source = "model"
        self._aligned: tuple[np.ndarray, np.ndarray, np.ndarray] = (np.zeros(0, np.int64),) * 3
        self.report: metrics.ClassReport | None = None

        self.scheme_combo = QComboBox()
        self.scheme_combo.setToolTip("Label scheme")
        self.scheme_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.part_combo = QComboBox()
        for part in metrics.PARTS:
            self.part_combo.addItem(PART_LABELS[part], part)
        self.part_combo.setCurrentIndex(metrics.PARTS.index("test"))
        self.part_combo.setToolTip("Which products: the test part (what the model never saw), or others")
        self.normalised_box = QCheckBox("Row-normalised")
        self.normalised_box.setToolTip("Show each row as percentages of its given class (the diagonal is the recall)")
        self.model_label = QLabel()
        self.model_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        top = QHBoxLayout()
        top.addWidget(QLabel("Scheme:"))
        top.addWidget(self.scheme_combo)
        top.addWidget(QLabel("Products:"))
        top.addWidget(self.part_combo)
        top.addWidget(self.normalised_box)
        top.addStretch(1)

        self.matrix_model = ConfusionModel(self)
        self.matrix = QTableView()
        self.matrix.setObjectName("confusion_matrix")
        self.matrix.setModel(self.matrix_model)
        self.matrix.setHorizontalHeader(RotatedHeader(self.matrix))
        self.matrix.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.matrix.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.matrix.setWordWrap(False)
        self.matrix.horizontalHeader().setDefaultSectionSize(40)
        self.matrix.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        self.matrix.verticalHeader().setDefaultSectionSize(22)
        self.matrix.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        self.matrix.verticalHeader().setSectionsClickable(True)
        self.matrix.setCornerButtonEnabled(False)
        self.matrix.setToolTip("Rows: given label. Columns: predicted label.")

        self.report_model = ReportModel(self)
        self.report_table = QTableView()
        self.report_table.setObjectName("class_report")
        self.report_table.setModel(self.report_model)
        self.report_table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.report_table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.report_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.report_table.verticalHeader().setVisible(False)
        self.report_table.verticalHeader().setDefaultSectionSize(22)
        self.report_table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.report_table.horizontalHeader().setStretchLastSection(False)
        self.report_table.setMinimumWidth(400)

        axes = QLabel("Rows: given label (corrections applied) · columns: predicted label")
        axes.setStyleSheet("color: palette(mid);")
        left = QWidget()
        lv = QVBoxLayout(left)
        lv.setContentsMargins(0, 0, 0, 0)
        lv.addWidget(axes)
        lv.addWidget(self.matrix, 1)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(left)
        splitter.addWidget(self.report_table)
        splitter.setStretchFactor(0, 1)
        splitter.setStretchFactor(1, 0)
        splitter.setCollapsible(0, False)
        self.empty_label = QLabel(NO_PREDICTIONS)
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_label.setWordWrap(True)
        self.empty_label.setMargin(40)

        layout = QVBoxLayout(self)
        layout.addLayout(top)
        self.model_label.setWordWrap(True)  # the model and what its accuracy counts: a line of its own
        layout.addWidget(self.model_label, 0)
        layout.addWidget(self.empty_label, 1)
        layout.addWidget(splitter, 1)
        self._splitter = splitter

        self.scheme_combo.currentIndexChanged.connect(self._on_selection_changed)
        self.part_combo.currentIndexChanged.connect(self._on_selection_changed)
        self.normalised_box.toggled.connect(self.matrix_model.set_normalised)
        self.matrix.clicked.connect(self._on_cell_clicked)
        # Enter in the matrix or the class table opens what is current there, as a click does; the
        # window's Enter (accept the current product's prediction) once took it, and relabelled the
        # product in the Product panel while the user was moving through the matrix by keys.
        self._enter = [EnterOpens(self.matrix, self._on_cell_clicked),
                       EnterOpens(self.report_table, self._on_report_clicked)]
        self.matrix.horizontalHeader().sectionClicked.connect(self._on_header_clicked)
        self.matrix.verticalHeader().sectionClicked.connect(self._on_header_clicked)
        self.report_table.clicked.connect(self._on_report_clicked)
        self._refresh()

    # -- public API ---------------------------------------------------------------------------

    def set_data(
        self,
        predictions,  # noqa: ANN001 - review.predictions.Predictions | None
        labels: Mapping[str, pd.Series],
        splits: Mapping[str, pd.Series] | pd.Series | None = None,
        model_name: str | None = None,
        parts_source: str = "model",
    ) -> None:
        """Show ``predictions`` against effective ``labels``.

        ``labels[scheme]``: id -> effective label over the scheme's usable products
        (``ds.usable(scheme, effective=eff)``); ``splits[scheme]``: id -> "train"/"val"/"test"
        (``ds.split(scheme, effective=eff)``), or one Series for every scheme, e.g. the split
        the model was trained on (``training.evaluate.read_split(run)``: a multihead run takes
        one part per product for all its heads, so its test part is what it never saw); without
        it only "All usable products" has products.  ``model_name`` defaults to the predictions' model version (the run id).
        ``parts_source`` (:data:`PARTS_SOURCES`) says where ``splits`` come from, in the words shown.
        The scheme and part shown are kept when they still exist.
        """
        if parts_source not in PARTS_SOURCES:
            raise ValueError(f"parts_source must be one of {PARTS_SOURCES}, got {parts_source!r}")
        self.parts_source = parts_source
        if predictions is not self._pred:
            self._predicted = {}
        self._pred = predictions
        self._labels = {s: v for s, v in labels.items()}
        if isinstance(splits, pd.Series):
            self._splits = {s: splits for s in self._labels}
        else:
            self._splits = dict(splits or {})
        self._model_name = model_name if model_name is not None else (
            getattr(predictions, "model_version", "") if predictions is not None else "")
        schemes = [s for s in (predictions.schemes if predictions is not None else []) if s in self._labels]
        if predictions is None:  # the schemes there will be, greyed out, rather than an empty box
            from fashion_review.data.schemes import SCHEMES

            schemes = list(SCHEMES)
        current = self.scheme()
        self.scheme_combo.blockSignals(True)
        self.scheme_combo.clear()
        self.scheme_combo.addItems(schemes)
        if current in schemes:
            self.scheme_combo.setCurrentIndex(schemes.index(current))
        self.scheme_combo.blockSignals(False)
        for w in (self.scheme_combo, self.part_combo, self.normalised_box):
            w.setEnabled(predictions is not None)
        self._refresh()

    def set_empty_hint(self, text: str) -> None:
        """What the view says while it has no predictions to show (what to do to get some)."""
        self.empty_label.setText(text or NO_PREDICTIONS)

    def set_dataset(self, ds, predictions, effective: pd.DataFrame | None = None,  # noqa: ANN001
                    min_images: int | None = None, model_name: str | None = None, run=_UNSET) -> None:  # noqa: ANN001
        """:meth:`set_data` from a :class:`~fashion_review.data.dataset.Dataset`: labels, and the parts of
        the model shown: ``run``'s own (its ``split.csv``, the same parts in every scheme), found in
        the registry by the predictions' model version when not given; the stored split only for a
        model without a split file (said so)."""
        from fashion_review.gui.session import compute_splits, run_of, run_split

        if predictions is None:
            self.set_data(None, {}, {}, model_name)
            return
        if run is _UNSET:
            run = run_of(predictions, ds.fingerprint)
        eff = ds.effective() if effective is None else effective
        own = run_split(run)
        out = compute_splits(ds, eff, predictions.schemes, run_split=own, min_images=min_images)
        self.set_data(predictions, {s: d["usable"] for s, d in out.items()}, {s: d["split"] for s, d in out.items()},
                      model_name, parts_source="model" if own is not None else "stored")

    def set_scheme(self, scheme: str) -> None:
        i = self.scheme_combo.findText(scheme)
        if i < 0:
            raise ValueError(f"no predictions for scheme {scheme!r}")
        self.scheme_combo.setCurrentIndex(i)

    def set_part(self, part: str) -> None:
        if part not in metrics.PARTS:
            raise ValueError(f"unknown split part {part!r}; choose one of {', '.join(metrics.PARTS)}")
        self.part_combo.setCurrentIndex(metrics.PARTS.index(part))

    def set_normalised(self, on: bool) -> None:
        self.normalised_box.setChecked(on)

    def scheme(self) -> str:
        return self.scheme_combo.currentText()

    def part(self) -> str:
        return self.part_combo.currentData() or "all"

    def classes(self) -> list[str]:
        return list(self.matrix_model.classes)

    def counts(self) -> np.ndarray:
        return self.matrix_model.counts.copy()

    def ids_in_cell(self, given: str, predicted: str) -> np.ndarray:
        """The product ids in a cell of the matrix shown (what a click on it filters to)."""
        ids, g, p = self._aligned
        return metrics.cell_ids(ids, g, p, given, predicted)

    def ids_of_class(self, name: str) -> np.ndarray:
        """The product ids given ``name`` among those the matrix counts."""
        ids, g, _ = self._aligned
        return ids[g == name]

    def cell_index(self, given: str, predicted: str) -> QModelIndex:
        """The model index of a cell (for tests and keyboard navigation)."""
        classes = self.matrix_model.classes
        return self.matrix_model.index(classes.index(given), classes.index(predicted))

    # -- internals ----------------------------------------------------------------------------

    def _predicted_for(self, scheme: str) -> pd.Series:
        if scheme not in self._predicted:
            self._predicted[scheme] = metrics.predicted_series(self._pred, scheme)
        return self._predicted[scheme]

    def _refresh(self) -> None:
        scheme, part = self.scheme(), self.part()
        has = self._pred is not None and scheme in self._labels
        self.empty_label.setVisible(not has)
        self._splitter.setVisible(has)
        self.model_label.setVisible(self._pred is not None)  # without a model the hint below says it all
        if not has:
            self._aligned = (np.zeros(0, np.int64), np.zeros(0, object), np.zeros(0, object))
            self.matrix_model.set_matrix(np.zeros((0, 0), np.int64), [])
            self.report = None
            self.scored = None
            self.report_model.set_report(None)
            self.model_label.setText("No model" if self._pred is None else f"Model {self._model_name}: no {scheme} labels")
            self.updated.emit()
            return
        split = self._splits.get(scheme) if self.parts_source != "pending" else None
        if part != "all" and split is None:
            ids = np.zeros(0, np.int64)
            g = p = np.zeros(0, object)
        else:
            ids, g, p = metrics.aligned_labels(self._labels[scheme], self._predicted_for(scheme), split, part)
        self._aligned = (ids, g, p)
        counts, classes = metrics.confusion(g, p, self._pred.classes[scheme])
        self.matrix_model.set_matrix(counts, classes)
        # The table beside the matrix counts what the header's accuracy counts (and `evaluate` reports):
        # products whose label is a class the model knows; the matrix keeps the others' rows to show
        # where they went (the header says how many were not counted).
        known = np.isin(np.asarray(classes, dtype=object), np.asarray(self._pred.classes[scheme], dtype=object))
        self.report = metrics.report_from_counts(counts[np.ix_(known, known)],
                                                 [c for c, k in zip(classes, known) if k])
        # An empty part (the reference model's train part on the bundled sample, which it never saw)
        # shows no table: a report of 0.000 everywhere read as a model that gets every class wrong.
        self.report_model.set_report(self.report if len(ids) else None)
        #: The accuracy as `fashion-review evaluate` counts it (classes the model knows), in its words.
        self.scored = metrics.scored_accuracy(g, p, self._pred.classes[scheme])
        name = f"Model <b>{self._model_name or 'unnamed'}</b>"
        whose = "the model's" if self.parts_source == "model" else "the stored split's"
        if self.parts_source == "pending" and part != "all":
            self.model_label.setText(f"{name} · computing its own train / validation / test parts …")
        elif not len(ids) and part != "all":
            self.model_label.setText(
                f"{name} · {whose} {metrics.PART_WORDS[part]} holds none of this catalog's products with a usable "
                f"{scheme} label" + (": the model was trained without them (as the reference model was without the "
                                     "bundled sample's). Choose Test or All usable products."
                                     if part in ("train", "val") and self.parts_source == "model"
                                     else "."))
        else:
            self.model_label.setText(f"{name} · accuracy {self.scored.words(part, whose)}"
                                     + (" (the model has no split file: which products it trained on is unknown)"
                                        if self.parts_source == "stored" and part != "all" else ""))
        self.model_label.setToolTip(
            "The accuracy over the products of this part with a label the model knows, today's labels "
            "(corrections applied): the figure `fashion-review evaluate` reports for the test part. The matrix "
            "and the table beside it also show products in classes the model does not know.")
        self.matrix.horizontalHeader().updateGeometry()
        self.updated.emit()

    def _on_selection_changed(self, _index: int = 0) -> None:
        self._refresh()

    def _on_cell_clicked(self, index: QModelIndex) -> None:
        classes = self.matrix_model.classes
        if index.isValid() and classes:
            self.cell_clicked.emit(self.scheme(), classes[index.row()], classes[index.column()])

    def _on_header_clicked(self, section: int) -> None:
        classes = self.matrix_model.classes
        if 0 <= section < len(classes):
            self.class_clicked.emit(self.scheme(), classes[section])

    def _on_report_clicked(self, index: QModelIndex) -> None:
        name = self.report_model.class_at(index.row())
        if name is not None:
            self.class_clicked.emit(self.scheme(), name)
