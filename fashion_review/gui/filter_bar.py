"""The filter bar above the catalog views: every criterion of a
:class:`~fashion_review.review.filtering.Filter`, combined.

It only edits a ``Filter`` value and emits :attr:`FilterBar.changed`; the filtering itself is the
pure function in :mod:`fashion_review.review.filtering`.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QMargins, QObject, QPoint, QRect, QSignalBlocker, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QCompleter,
    QDoubleSpinBox,
    QHBoxLayout,
    QLayout,
    QLayoutItem,
    QLabel,
    QLineEdit,
    QSizePolicy,
    QToolButton,
    QWidget,
)

from fashion_review.data.schemes import SCHEMES
from fashion_review.gui.catalog_model import SCHEME_TITLES
from fashion_review.gui.enter_keys import KEYS
from fashion_review.review.filtering import Filter
from fashion_review.text import plural

ANY = "Any"
PART_ITEMS = (("Any part", ""), ("Train", "train"), ("Validation", "val"), ("Test", "test"),
              ("In a split", "usable"), ("Not in a split", "unused"))


def class_combo(tooltip: str) -> QComboBox:
    """An editable combo of class names with type-ahead (case-insensitive, anywhere in the name)."""
    box = QComboBox()
    box.setEditable(True)
    box.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
    box.setMinimumContentsLength(12)
    box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
    box.setMaxVisibleItems(25)
    box.setToolTip(tooltip)
    completer = QCompleter(box.model(), box)
    completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
    completer.setFilterMode(Qt.MatchFlag.MatchContains)
    completer.setCompletionMode(QCompleter.CompletionMode.PopupCompletion)
    box.setCompleter(completer)
    return box


class FlowLayout(QLayout):
    """Lays widgets out left to right and wraps them to the next line when the width runs out
    (Qt's Flow Layout example), so the filter bar fits a narrow window."""

    def __init__(self, parent: QWidget | None = None, h_spacing: int = 8, v_spacing: int = 4) -> None:
        super().__init__(parent)
        self._items: list[QLayoutItem] = []
        self._h = h_spacing
        self._v = v_spacing

    def addItem(self, item: QLayoutItem) -> None:  # noqa: N802
        self._items.append(item)

    def count(self) -> int:
        return len(self._items)

    def itemAt(self, index: int) -> QLayoutItem | None:  # noqa: N802
        return self._items[index] if 0 <= index < len(self._items) else None

    def takeAt(self, index: int) -> QLayoutItem | None:  # noqa: N802
        return self._items.pop(index) if 0 <= index < len(self._items) else None

    def expandingDirections(self) -> Qt.Orientation:  # noqa: N802
        return Qt.Orientation(0)

    def hasHeightForWidth(self) -> bool:  # noqa: N802
        return True

    def heightForWidth(self, width: int) -> int:  # noqa: N802
        return self._do_layout(QRect(0, 0, width, 0), apply=False)

    def setGeometry(self, rect: QRect) -> None:  # noqa: N802
        super().setGeometry(rect)
        self._do_layout(rect, apply=True)

    def sizeHint(self) -> QSize:  # noqa: N802
        return self.minimumSize()

    def minimumSize(self) -> QSize:  # noqa: N802
        size = QSize()
        for item in self._items:
            size = size.expandedTo(item.minimumSize())
        m: QMargins = self.contentsMargins()
        return size + QSize(m.left() + m.right(), m.top() + m.bottom())

    def _do_layout(self, rect: QRect, apply: bool) -> int:
        m = self.contentsMargins()
        area = rect.adjusted(m.left(), m.top(), -m.right(), -m.bottom())
        x, y, line_h = area.x(), area.y(), 0
        lines: list[list[tuple[QLayoutItem, QSize]]] = [[]]
        for item in self._items:
            if item.widget() is not None and item.widget().isHidden():
                continue
            hint = item.sizeHint()
            if x + hint.width() > area.right() + 1 and line_h > 0:
                x = area.x()
                y += line_h + self._v
                line_h = 0
                lines.append([])
            lines[-1].append((item, hint))
            x += hint.width() + self._h
            line_h = max(line_h, hint.height())
        if apply:  # place each line, items vertically centred within it
            y = area.y()
            for line in lines:
                h = max((hint.height() for _, hint in line), default=0)
                x = area.x()
                for item, hint in line:
                    item.setGeometry(QRect(QPoint(x, y + (h - hint.height()) // 2), hint))
                    x += hint.width() + self._h
                y += h + self._v
        return y + line_h - rect.y() + m.bottom()


class FilterBar(QWidget):
    """Scheme in focus and filters; emits :attr:`changed` with the new Filter."""

    changed = Signal(object)  # Filter
    scheme_changed = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._filter = Filter()
        self._emitted: Filter | None = None
        self._emit_timer = QTimer(self)
        self._emit_timer.setSingleShot(True)
        self._emit_timer.setInterval(180)  # typing in the search box
        self._emit_timer.timeout.connect(self._emit)

        self.scheme = QComboBox()
        for s in SCHEMES:
            self.scheme.addItem(SCHEME_TITLES.get(s, s), s)
        self.scheme.setToolTip("The label scheme in focus: the grid, the filters and the corrections use it")
        self.given = class_combo("Only products whose label (corrections applied) is this class")
        self.predicted = class_combo("Only products the model puts in this class")
        self.part = QComboBox()
        for text, value in PART_ITEMS:
            self.part.addItem(text, value)
        self.part.setToolTip("Only products in this part of the scheme's train / validation / test split")
        self.disagree = QCheckBox("Disagreements")
        self.disagree.setToolTip("Only products whose predicted class differs from their label")
        self.corrected = QCheckBox("Corrected")
        self.corrected.setToolTip("Only products a curator relabelled")
        self.excluded = QCheckBox("Excluded")
        self.excluded.setToolTip("Only products excluded from training")
        self.duplicates = QCheckBox("Duplicates")
        self.duplicates.setToolTip("Only products with an identical or near-identical photo under another id "
                                   "(found on first use)")
        self.colour = QCheckBox("Colour ≠ baseColour")
        self.colour.setToolTip("Only products whose photo's three-colour palette has no colour of their "
                               "baseColour label (palettes computed on first use)")
        self.conf_lo = QDoubleSpinBox()
        self.conf_hi = QDoubleSpinBox()
        for box, value in ((self.conf_lo, 0.0), (self.conf_hi, 1.0)):
            box.setRange(0.0, 1.0)
            box.setSingleStep(0.05)
            box.setDecimals(2)
            box.setValue(value)
            box.setKeyboardTracking(False)
            box.setToolTip("Range of the predicted class's probability (products without a prediction "
                           "drop out unless the range is 0-1)")
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search name or id  (Ctrl+F)")
        self.search.setClearButtonEnabled(True)
        self.search.setMinimumWidth(220)
        self.clear_button = QToolButton()
        self.clear_button.setText("Clear filters")
        self.clear_button.setToolTip("Show every product (Ctrl+Shift+F)")
        self.count = QLabel("")
        self._counts = (0, 0)
        self._waiting: dict[str, str] = {}  # what a filter waits for (set_waiting): said beside the count
        self.count.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.count.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)
        # A filter to chosen products (similar products, a batch of the history, a class pair's
        # products) has no widget of its own: this says it is on and takes it off.  Without it the
        # grid showed "49 of 1,052 products" with every filter at Any once the status bar's note was gone.
        self.only = QLabel("")
        self.only.setObjectName("only_ids")
        self.only.setStyleSheet("#only_ids { background: #e4eefb; border: 1px solid #9bb7e0; border-radius: 3px; "
                                "padding: 1px 6px; }")
        self.only_clear = QToolButton()
        self.only_clear.setText("✕")
        self.only_clear.setAutoRaise(True)
        self.only_clear.setToolTip("Show the other products again (keeps the other filters)")

        def group(*widgets: QWidget, spacing: int = 4) -> QWidget:
            w = QWidget()
            h = QHBoxLayout(w)
            h.setContentsMargins(0, 0, 0, 0)
            h.setSpacing(spacing)
            for x in widgets:
                h.addWidget(x)
            return w

        dash = QLabel("–")
        lay = FlowLayout(self, h_spacing=14, v_spacing=5)
        lay.setContentsMargins(8, 6, 8, 5)
        lay.addWidget(group(QLabel("Scheme"), self.scheme))
        lay.addWidget(group(QLabel("Label"), self.given))
        lay.addWidget(group(QLabel("Predicted"), self.predicted))
        lay.addWidget(self.part)
        lay.addWidget(group(QLabel("Confidence"), self.conf_lo, dash, self.conf_hi))
        lay.addWidget(self.search)
        lay.addWidget(group(self.disagree, self.corrected, self.excluded, self.duplicates, self.colour, spacing=10))
        self.only_group = group(self.only, self.only_clear, spacing=2)
        self.only_group.hide()
        lay.addWidget(group(self.clear_button, self.count, self.only_group, spacing=14))

        self.scheme.currentIndexChanged.connect(self._on_scheme)
        for box in (self.given, self.predicted):
            box.activated.connect(self._changed_now)
            box.lineEdit().editingFinished.connect(self._changed_now)
        self.part.currentIndexChanged.connect(self._changed_now)
        for cb in (self.disagree, self.corrected, self.excluded, self.duplicates, self.colour):
            cb.toggled.connect(self._changed_now)
        self.conf_lo.valueChanged.connect(self._changed_now)
        self.conf_hi.valueChanged.connect(self._changed_now)
        self.search.textChanged.connect(self._changed_later)
        self.clear_button.clicked.connect(self.clear)
        self.only_clear.clicked.connect(self.clear_ids)
        # Enter in any of the bar's fields applies the filter (the window's Enter shortcut, accept the
        # prediction, never sees it: gui.enter_keys keeps it with the bar's controls).
        for w in self.findChildren(QWidget):
            w.installEventFilter(self)

    def eventFilter(self, watched: QObject, e: QEvent) -> bool:  # noqa: N802 - Qt API
        if e.type() == QEvent.Type.KeyPress and isinstance(e, QKeyEvent) and e.key() in KEYS:
            self.commit()
        return super().eventFilter(watched, e)

    # -- content ------------------------------------------------------------------------

    def set_classes(self, given: list[str], predicted: list[str]) -> None:
        """The class names offered for the label and predicted filters (scheme in focus)."""
        for box, names in ((self.given, given), (self.predicted, predicted)):
            with QSignalBlocker(box):
                current = box.currentText()
                box.clear()
                box.addItem(ANY)
                box.addItems(names)
                i = box.findText(current)
                box.setCurrentIndex(i if i >= 0 else 0)

    def set_count(self, shown: int, total: int) -> None:
        self._counts = (shown, total)
        self._show_count()

    def set_waiting(self, key: str, words: str | None) -> None:
        """Say (``words``) or stop saying (None) what the filter waits for: ticking Duplicates on the full
        catalog showed an empty grid and "0 of 44,446 products" for the minute and a half of the search."""
        if words:
            self._waiting[key] = words
        else:
            self._waiting.pop(key, None)
        self._show_count()

    def _show_count(self) -> None:
        shown, total = self._counts
        text = f"{shown:,} of {plural(total, 'product')}" if shown != total else plural(total, "product")
        self.count.setText(" · ".join([text, *self._waiting.values()]))

    # -- the filter ---------------------------------------------------------------------

    def filter(self) -> Filter:
        """The filter the widgets describe now."""
        scheme = self.scheme.currentData() or "articleType"

        def cls(box: QComboBox) -> str | None:
            t = box.currentText().strip()
            return None if not t or t == ANY else t

        lo, hi = self.conf_lo.value(), self.conf_hi.value()
        if lo > hi:
            lo, hi = hi, lo
        conf = None if (lo <= 0.0 and hi >= 1.0) else (lo, hi)
        return Filter(
            scheme=scheme,
            given=cls(self.given),
            predicted=cls(self.predicted),
            disagreements=self.disagree.isChecked(),
            corrected=self.corrected.isChecked(),
            excluded=self.excluded.isChecked(),
            part=self.part.currentData() or None,
            confidence=conf,
            text=self.search.text(),
            ids=self._filter.ids,
            ranked=self._filter.ranked,
            ids_note=self._filter.ids_note,
            duplicates=self.duplicates.isChecked(),
            colour_disagrees=self.colour.isChecked(),
        )

    def set_filter(self, flt: Filter, emit: bool = True) -> None:
        """Show ``flt`` in the widgets (e.g. after a click in the confusion matrix)."""
        widgets = (self.scheme, self.given, self.predicted, self.part, self.disagree, self.corrected,
                   self.excluded, self.duplicates, self.colour, self.conf_lo, self.conf_hi, self.search)
        blockers = [QSignalBlocker(w) for w in widgets]
        try:
            i = self.scheme.findData(flt.scheme)
            scheme_moved = i >= 0 and i != self.scheme.currentIndex()
            if i >= 0:
                self.scheme.setCurrentIndex(i)
            for box, value in ((self.given, flt.given), (self.predicted, flt.predicted)):
                text = ANY if value is None else (value if isinstance(value, str) else value[0])
                j = box.findText(text)
                if j >= 0:
                    box.setCurrentIndex(j)
                else:
                    box.setEditText(text)
            self.part.setCurrentIndex(max(0, self.part.findData(flt.part or "")))
            self.disagree.setChecked(flt.disagreements)
            self.corrected.setChecked(flt.corrected)
            self.excluded.setChecked(flt.excluded)
            self.duplicates.setChecked(flt.duplicates)
            self.colour.setChecked(flt.colour_disagrees)
            lo, hi = flt.confidence if flt.confidence is not None else (0.0, 1.0)
            self.conf_lo.setValue(lo)
            self.conf_hi.setValue(hi)
            self.search.setText(flt.text)
        finally:
            del blockers
        self._filter = flt
        self._show_only(flt)
        if scheme_moved:
            self.scheme_changed.emit(flt.scheme)
        if emit:
            self._emit(force=True)

    def clear(self) -> None:
        self.set_filter(Filter(scheme=self.scheme.currentData() or "articleType"))

    def clear_ids(self) -> None:
        """Take off the filter to chosen products only (the ✕ beside it); the other filters stay."""
        self.set_filter(self.filter().replace(ids=None, ranked=False, ids_note=""))

    def _show_only(self, flt: Filter) -> None:
        if flt.ids is None:
            self.only_group.hide()
            return
        self.only.setText("Only " + (flt.ids_note or plural(len(flt.ids), "chosen product")))
        self.only_group.show()

    def commit(self) -> None:
        """Apply what is typed now (Return in one of the bar's fields)."""
        self._emit_timer.stop()
        self._emit()

    # -- slots --------------------------------------------------------------------------

    def _on_scheme(self, _index: int) -> None:
        self.scheme_changed.emit(self.scheme.currentData())
        # The classes differ between schemes: the class filters start over.
        with QSignalBlocker(self.given), QSignalBlocker(self.predicted):
            self.given.setCurrentIndex(0)
            self.predicted.setCurrentIndex(0)
        self._changed_now()

    def _changed_now(self, *_args) -> None:  # noqa: ANN002
        self._emit_timer.stop()
        self._emit()

    def _changed_later(self, *_args) -> None:  # noqa: ANN002
        self._emit_timer.start()

    def _emit(self, force: bool = False) -> None:
        flt = self.filter()
        self._filter = flt
        if not force and flt == self._emitted:
            return
        self._emitted = flt
        self.changed.emit(flt)
