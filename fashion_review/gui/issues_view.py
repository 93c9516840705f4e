"""The "Label issues" view: the ranked queue of one scheme, its class pairs, and a detail panel.

Widgets only show and emit (the window's :class:`~fashion_review.gui.label_issues.LabelIssues`
records the corrections): a filter row (scheme, reason, kind, class pair, show reviewed), the
progress "reviewed 120 of 1,480" and where the probabilities came from; the queue as a table
over :meth:`fashion_review.review.queue.IssueQueue.entries` (sorted and filtered in pandas); the
"given -> suggested" pairs (click one to see its products; act on all of them in one step); the
detail of the current product: photo, suggestions, reasons, and the identical photos.
"""

from __future__ import annotations

import html

import numpy as np
import pandas as pd
from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QFont
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from fashion_review.data.schemes import SCHEMES
from fashion_review.gui.enter_keys import mark_product_view
from fashion_review.review.queue import KINDS, score_text

COLUMNS = (("rank", "#"), ("id", "id"), ("score", "score"), ("given", "given"), ("suggestion", "suggestion"),
           ("kind", "kind"), ("status", "status"), ("reasons", "reasons"))
SCORE_TIP = ("Combined score: 0 = surely a label issue, 1 = nothing against the label. The image and name models' "
             "probability of the label, p ** weight (image 1.0, name 0.8), times 1 - weight x evidence of the other "
             "signals (hierarchy 0.8, identical photos 0.6, heads 0.4). Flagged at 0.1 or less.")
Index = QModelIndex | QPersistentModelIndex


class IssueTableModel(QAbstractTableModel):
    """The queue entries (a DataFrame in queue order) as table rows."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.frame = pd.DataFrame()
        self._ids = np.zeros(0, np.int64)

    def set_frame(self, frame: pd.DataFrame) -> None:
        self.beginResetModel()
        self.frame = frame
        self._ids = frame.index.to_numpy(dtype=np.int64) if len(frame) else np.zeros(0, np.int64)
        self.endResetModel()

    def pid(self, row: int) -> int:
        return int(self._ids[row])

    def pids(self, rows) -> np.ndarray:  # noqa: ANN001
        return self._ids[np.asarray(rows, dtype=np.int64)] if len(self._ids) else np.zeros(0, np.int64)

    def row_of(self, pid: int) -> int:
        hit = np.flatnonzero(self._ids == int(pid))
        return int(hit[0]) if len(hit) else -1

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: N802, B008
        return 0 if parent.isValid() else len(self._ids)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: N802, B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole):  # noqa: N802, ANN201
        if orientation == Qt.Orientation.Horizontal and 0 <= section < len(COLUMNS):
            if role == Qt.ItemDataRole.DisplayRole:
                return COLUMNS[section][1]
            if role == Qt.ItemDataRole.ToolTipRole and COLUMNS[section][0] == "score":
                return SCORE_TIP
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole):  # noqa: ANN201
        if not index.isValid():
            return None
        r, key = index.row(), COLUMNS[index.column()][0]
        row = self.frame.iloc[r]
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            if key == "rank":
                return str(r + 1)
            if key == "id":
                return str(self._ids[r])
            if key == "score":
                return score_text(row["score"]) if role == Qt.ItemDataRole.DisplayRole else SCORE_TIP
            if key == "status":
                return status_of(row)
            if key == "kind":
                return "wrong photo?" if row["kind"] == "photo" else "label"
            value = row.get(key, "")
            return "" if not isinstance(value, str) else value
        if role == Qt.ItemDataRole.FontRole and bool(row.get("reviewed", False)):
            f = QFont()
            f.setItalic(True)
            return f
        if role == Qt.ItemDataRole.ForegroundRole and bool(row.get("reviewed", False)):
            return QBrush(QColor(120, 120, 120))
        return None


def status_of(row: pd.Series) -> str:
    if bool(row.get("confirmed", False)):
        return "label is right"
    if bool(row.get("corrected", False)):
        return "corrected"
    if bool(row.get("excluded", False)):
        return "excluded"  # from training
    return ""


class PairTable(QTableView):
    """The "given -> suggested" class pairs with their counts; a click filters the queue to one pair."""

    pair_clicked = Signal(object)  # (given, suggested) or None

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        from PySide6.QtGui import QStandardItemModel

        self._model = QStandardItemModel(0, 3, self)
        self._model.setHorizontalHeaderLabels(["given", "suggested", "products"])
        self.setModel(self._model)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.verticalHeader().hide()
        self.verticalHeader().setDefaultSectionSize(20)
        self.setWordWrap(False)
        hh = self.horizontalHeader()
        hh.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        hh.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        hh.setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.clicked.connect(self._on_clicked)
        self.pairs: list[tuple[str, str]] = []

    def set_pairs(self, pairs: pd.DataFrame) -> None:
        from PySide6.QtGui import QStandardItem

        self._model.removeRows(0, self._model.rowCount())
        self.pairs = []
        for r in pairs.itertuples():
            items = [QStandardItem(str(r.given)), QStandardItem(str(r.suggested)), QStandardItem(f"{r.count:,}")]
            items[2].setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            self._model.appendRow(items)
            self.pairs.append((str(r.given), str(r.suggested)))

    def _on_clicked(self, index: QModelIndex) -> None:
        if 0 <= index.row() < len(self.pairs):
            self.pair_clicked.emit(self.pairs[index.row()])


class IssueDetail(QWidget):
    """The current issue: photo, label and suggestions, reasons, identical photos."""

    suggestion_chosen = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        top = QHBoxLayout()
        self.photo = QLabel()
        self.photo.setFixedSize(120, 160)
        self.photo.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.photo.setStyleSheet("background: #f4f4f4; border: 1px solid #ddd;")
        top.addWidget(self.photo)
        self.title = QLabel()
        self.title.setWordWrap(True)
        self.title.setTextFormat(Qt.TextFormat.RichText)
        self.title.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        top.addWidget(self.title, 1)
        lay.addLayout(top)
        self.buttons = QHBoxLayout()
        self.suggestion_buttons = [QPushButton() for _ in range(3)]
        for k, b in enumerate(self.suggestion_buttons):
            b.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            b.clicked.connect(lambda _=False, k=k: self._choose(k))
            self.buttons.addWidget(b)
        self.buttons.addStretch(1)
        lay.addLayout(self.buttons)
        self.reasons = QLabel()
        self.reasons.setWordWrap(True)
        self.reasons.setTextFormat(Qt.TextFormat.RichText)
        lay.addWidget(self.reasons)
        self.dup_title = QLabel()
        lay.addWidget(self.dup_title)
        self.dups = QGridLayout()
        lay.addLayout(self.dups)
        lay.addStretch(1)
        self._suggestions: list[str] = []
        self.pid: int | None = None
        self.dup_ids: list[int] = []

    def _choose(self, k: int) -> None:
        if k < len(self._suggestions):
            self.suggestion_chosen.emit(self._suggestions[k])

    def clear(self) -> None:
        self.pid = None
        self.photo.clear()
        self.title.setText("<i>No issue selected.</i>")
        self.reasons.setText("")
        self.set_suggestions([])
        self._set_dups([], {})

    def set_suggestions(self, suggestions: list[str]) -> None:
        self._suggestions = list(suggestions)
        for k, b in enumerate(self.suggestion_buttons):
            b.setVisible(k < len(suggestions))
            if k < len(suggestions):
                b.setText(f"{k + 1}: {suggestions[k]}")

    def show_issue(self, pid: int, row: pd.Series, name: str, scheme: str, source: str, pixmap, dups: list[int],  # noqa: ANN001
                   dup_labels: dict[int, str], thumbs) -> None:  # noqa: ANN001
        self.pid = int(pid)
        self.set_pixmap(pixmap)
        sugg = [s for s in str(row.get("suggestions", "")).split("|") if s]
        status = status_of(row)
        self.title.setText(
            f"<b>{html.escape(name) or '(no name)'}</b><br>id {pid} · {html.escape(scheme)}<br>"
            f"given <b>{html.escape(str(row['given']))}</b> → suggested <b>{html.escape(sugg[0]) if sugg else '—'}</b>"
            f"<br>score {score_text(row['score'])}" + (f" · <i>{status}</i>" if status else "")
            + ("<br><b>maybe a wrong photo</b>" if row.get("kind") == "photo" else ""))
        self.set_suggestions(sugg)
        parts = [p for p in str(row.get("reasons", "")).split("; ") if p]
        self.reasons.setText("<b>Reasons</b><ul style='margin-left:-20px'>"
                             + "".join(f"<li>{html.escape(p)}</li>" for p in parts)
                             + f"</ul><small>{html.escape(source)}</small>")
        self._set_dups(dups, dup_labels, thumbs)

    def set_pixmap(self, pixmap) -> None:  # noqa: ANN001
        if pixmap is not None and not pixmap.isNull():
            self.photo.setPixmap(pixmap.scaled(self.photo.size(), Qt.AspectRatioMode.KeepAspectRatio,
                                               Qt.TransformationMode.SmoothTransformation))
        else:
            self.photo.clear()

    def _set_dups(self, dups: list[int], labels: dict[int, str], thumbs=None) -> None:  # noqa: ANN001
        while self.dups.count():
            w = self.dups.takeAt(0).widget()
            if w is not None:
                w.hide()
                w.setParent(None)
                w.deleteLater()
        self.dup_ids = list(dups)
        self.dup_title.setText(f"<b>Identical photos</b> ({len(dups)})" if dups else "")
        for k, pid in enumerate(dups[:8]):
            cell = QLabel()
            cell.setAlignment(Qt.AlignmentFlag.AlignCenter)
            pm = thumbs.get(pid) if thumbs is not None else None
            if pm is not None and not pm.isNull():
                cell.setPixmap(pm.scaled(45, 60, Qt.AspectRatioMode.KeepAspectRatio,
                                         Qt.TransformationMode.SmoothTransformation))
            text = QLabel(f"{pid}<br><small>{html.escape(labels.get(pid, ''))}</small>")
            text.setAlignment(Qt.AlignmentFlag.AlignCenter)
            self.dups.addWidget(cell, 0, k)
            self.dups.addWidget(text, 1, k)


class LabelIssuesView(QWidget):
    """The view (see the module docstring).  Emits; the window's controller acts."""

    scheme_changed = Signal(str)
    filters_changed = Signal()
    current_changed = Signal()
    find_requested = Signal()
    accept_requested = Signal()  # the suggestion of each selected product
    confirm_requested = Signal()
    next_requested = Signal()
    exclude_flagged_requested = Signal(float)
    accept_flagged_requested = Signal(float)
    retrain_requested = Signal()
    suggestion_chosen = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 6, 6, 6)
        bar = QHBoxLayout()
        self.scheme = QComboBox()
        for s in SCHEMES:
            self.scheme.addItem(s, s)
        self.reason = QComboBox()
        self.reason.addItem("every reason", "")
        for k in KINDS:
            self.reason.addItem(k, k)
        self.kind = QComboBox()
        self.kind.addItem("every kind", "")
        self.kind.addItem("wrong label", "label")
        self.kind.addItem("wrong photo?", "photo")
        self.pair = QComboBox()
        self.pair.addItem("every class pair", None)
        self.show_reviewed = QCheckBox("Show reviewed")
        for w, tip in ((self.scheme, "Scheme"), (self.reason, "Only products where this signal fired"),
                       (self.kind, "Kind of issue"), (self.pair, "Only one 'given -> suggested' class pair")):
            w.setToolTip(tip)
            w.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
            bar.addWidget(w)
        self.show_reviewed.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        bar.addWidget(self.show_reviewed)
        bar.addStretch(1)
        self.progress = QLabel("")
        self.progress.setToolTip("Products flagged (now or when the issues were found) that a curator confirmed "
                                 "(Space) or corrected since")
        bar.addWidget(self.progress)
        self.find_button = QPushButton("Find label issues…")
        self.find_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        bar.addWidget(self.find_button)
        lay.addLayout(bar)
        self.source = QLabel("")
        self.source.setStyleSheet("color: #555;")
        self.source.setWordWrap(True)
        lay.addWidget(self.source)

        split = QSplitter(Qt.Orientation.Horizontal)
        self.model = IssueTableModel(self)
        self.table = mark_product_view(QTableView())  # Enter, Space: the window's keys (enter_keys)
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setWordWrap(False)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(22)
        hh = self.table.horizontalHeader()
        hh.setStretchLastSection(True)
        for c, w in zip(range(len(COLUMNS) - 1), (34, 52, 62, 105, 105, 95, 80)):  # score: "6.6e-07"
            self.table.setColumnWidth(c, w)
        split.addWidget(self.table)
        side = QWidget()
        sl = QVBoxLayout(side)
        sl.setContentsMargins(0, 0, 0, 0)
        self.detail = IssueDetail()
        sl.addWidget(self.detail, 3)
        sl.addWidget(QLabel("<b>Class pairs</b> (given → suggested) in the queue"))
        self.pairs = PairTable()
        sl.addWidget(self.pairs, 2)
        split.addWidget(side)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        split.setSizes([640, 380])
        self.splitter = split
        lay.addWidget(split, 1)

        act = QHBoxLayout()
        self.accept_button = QPushButton("Accept suggestion (Enter)")
        self.confirm_button = QPushButton("Label is right (Space)")
        self.next_button = QPushButton("Next unreviewed (N)")
        act.addWidget(self.accept_button)
        act.addWidget(self.confirm_button)
        act.addWidget(self.next_button)
        act.addStretch(1)
        lay.addLayout(act)
        # The bulk actions on a row of their own: on one row with the product's they made the window
        # 1,440 pixels wide at least, wider than the 1,280-1,366 pixel screens of many laptops.
        act = QHBoxLayout()
        act.addWidget(QLabel("Shown, unreviewed, score ≤"))
        self.threshold = QDoubleSpinBox()
        self.threshold.setRange(0.0, 1.0)
        self.threshold.setSingleStep(0.01)
        self.threshold.setDecimals(4)
        self.threshold.setValue(0.01)
        self.threshold.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        self.threshold.setToolTip(SCORE_TIP)
        act.addWidget(self.threshold)
        self.exclude_button = QPushButton("Exclude from training")
        self.accept_all_button = QPushButton("Accept their suggestions")
        self.retrain_button = QPushButton("Retrain…")
        for b in (self.exclude_button, self.accept_all_button, self.retrain_button):
            act.addWidget(b)
        act.addStretch(1)
        for b in (self.accept_button, self.confirm_button, self.next_button, self.exclude_button,
                  self.accept_all_button, self.retrain_button):
            b.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        lay.addLayout(act)

        self.scheme.currentIndexChanged.connect(lambda _i: self.scheme_changed.emit(self.current_scheme()))
        for w in (self.reason, self.kind, self.pair):
            w.currentIndexChanged.connect(lambda _i: self.filters_changed.emit())
        self.show_reviewed.toggled.connect(lambda _b: self.filters_changed.emit())
        self.pairs.pair_clicked.connect(self.set_pair)
        self.table.selectionModel().currentChanged.connect(lambda *_: self.current_changed.emit())
        self.table.selectionModel().selectionChanged.connect(lambda *_: self.current_changed.emit())
        self.find_button.clicked.connect(self.find_requested)
        self.accept_button.clicked.connect(self.accept_requested)
        self.confirm_button.clicked.connect(self.confirm_requested)
        self.next_button.clicked.connect(self.next_requested)
        self.exclude_button.clicked.connect(lambda: self.exclude_flagged_requested.emit(self.threshold.value()))
        self.accept_all_button.clicked.connect(lambda: self.accept_flagged_requested.emit(self.threshold.value()))
        self.retrain_button.clicked.connect(self.retrain_requested)
        self.detail.suggestion_chosen.connect(self.suggestion_chosen)
        self.detail.clear()

    # -- state ------------------------------------------------------------------------------

    def current_scheme(self) -> str:
        return str(self.scheme.currentData())

    def set_scheme(self, scheme: str) -> None:
        i = self.scheme.findData(scheme)
        if i >= 0 and i != self.scheme.currentIndex():
            self.scheme.setCurrentIndex(i)

    def filters(self) -> dict:
        return {"reason": self.reason.currentData() or None, "kind": self.kind.currentData() or None,
                "pair": self.pair.currentData(), "show_reviewed": self.show_reviewed.isChecked()}

    def set_pair(self, pair: tuple[str, str] | None) -> None:
        i = 0
        for k in range(1, self.pair.count()):
            if self.pair.itemData(k) == pair:
                i = k
        self.pair.setCurrentIndex(i)

    def set_pairs(self, pairs: pd.DataFrame) -> None:
        current = self.pair.currentData()
        self.pair.blockSignals(True)
        self.pair.clear()
        self.pair.addItem("every class pair", None)
        for r in pairs.itertuples():
            self.pair.addItem(f"{r.given} → {r.suggested} ({r.count:,})", (str(r.given), str(r.suggested)))
        self.set_pair(current)
        self.pair.blockSignals(False)
        self.pairs.set_pairs(pairs)

    def current_pid(self) -> int | None:
        idx = self.table.selectionModel().currentIndex()
        return self.model.pid(idx.row()) if idx.isValid() and idx.row() < self.model.rowCount() else None

    def selected_pids(self) -> np.ndarray:
        rows = sorted({i.row() for i in self.table.selectionModel().selectedRows()})
        rows = [r for r in rows if r < self.model.rowCount()]
        return self.model.pids(rows)

    def select_row(self, row: int) -> None:
        n = self.model.rowCount()
        if not n:
            return
        row = max(0, min(n - 1, row))
        idx = self.model.index(row, 0)
        from PySide6.QtCore import QItemSelectionModel

        flags = QItemSelectionModel.SelectionFlag
        self.table.selectionModel().setCurrentIndex(idx, flags.ClearAndSelect | flags.Rows)
        self.table.scrollTo(idx)
