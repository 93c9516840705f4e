"""The two views of the catalog model: a thumbnail grid and a table, sharing one selection.

The grid is a ``QListView`` laid out as a wrapping grid with uniform item sizes (Qt lays 44,000
items out without asking for each one's size, in batches) and a delegate that paints the thumbnail, the label of the scheme in
focus and the prediction (green when it agrees, red when it does not).  A corrected product gets
an orange corner in the grid and a bold, tinted row in the table; an excluded one is greyed out
with a strike mark.  Tooltips say the given label, the new one and who made the change.
"""

from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import QEvent, QModelIndex, QPoint, QPointF, QRect, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter, QPalette, QPen, QPixmap, QPolygon
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QListView,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTableView,
)

from fashion_review.gui.catalog_model import (
    AGREE_COLOUR,
    CONF_ROLE,
    CORRECTED_COLOUR,
    CORRECTED_ROLE,
    DISAGREE_COLOUR,
    EXCLUDED_ROLE,
    GIVEN_ROLE,
    NO_IMAGE,
    PRED_ROLE,
    THUMB_ROLE,
    CatalogModel,
)

#: Thumbnail sizes (w, h) the grid offers; the photos are 60 x 80.
THUMB_SIZES = ((60, 80), (90, 120), (120, 160))


def selected_rows(view: QAbstractItemView) -> np.ndarray:
    """Selected rows (sorted, unique) read from the selection's ranges, not index by index."""
    sm = view.selectionModel()
    if sm is None:
        return np.zeros(0, np.int64)
    parts = [np.arange(r.top(), r.bottom() + 1) for r in sm.selection()]
    if not parts:
        return np.zeros(0, np.int64)
    return np.unique(np.concatenate(parts)).astype(np.int64)


class GridDelegate(QStyledItemDelegate):
    """Paints one product of the grid: thumbnail, given label, prediction, correction marks."""

    def __init__(self, parent=None) -> None:  # noqa: ANN001
        super().__init__(parent)
        self.thumb = QSize(*THUMB_SIZES[0])
        self.pad = 6

    def cell_size(self, fm: QFontMetrics) -> QSize:
        w = max(self.thumb.width() + 44, 108)
        return QSize(w, self.pad + self.thumb.height() + 4 + 2 * fm.height() + self.pad)

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex) -> QSize:  # noqa: N802
        return self.cell_size(option.fontMetrics)

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex) -> None:  # noqa: PLR0915
        # Ask the Python model directly: with PySide6 6.12 on Python < 3.12, ``index.data(role)``
        # returning an invalid QVariant (None) drops a reference to None each call, which after
        # enough paints deallocates None and aborts the interpreter.
        model = index.model()

        def data(role: int):  # noqa: ANN202
            return model.data(index, role)

        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        r = option.rect.adjusted(2, 2, -2, -2)
        pal = option.palette
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        current = bool(option.state & QStyle.StateFlag.State_HasFocus)
        excluded = bool(data(EXCLUDED_ROLE))
        corrected = bool(data(CORRECTED_ROLE))
        if selected:
            painter.setPen(Qt.PenStyle.NoPen)
            hl = QColor(pal.color(QPalette.ColorRole.Highlight))
            hl.setAlpha(70)
            painter.setBrush(hl)
            painter.drawRoundedRect(r, 5, 5)
        if current:
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.setPen(QPen(pal.color(QPalette.ColorRole.Highlight), 2))
            painter.drawRoundedRect(r.adjusted(1, 1, -1, -1), 5, 5)

        # The thumbnail (or a placeholder while it loads / when there is none).
        img = QRect(r.center().x() - self.thumb.width() // 2, r.top() + self.pad - 2,
                    self.thumb.width(), self.thumb.height())
        pm = data(THUMB_ROLE)
        if isinstance(pm, QPixmap) and not pm.isNull():
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
            painter.drawPixmap(img, pm)
            if excluded:
                painter.fillRect(img, QColor(255, 255, 255, 150))
        else:
            painter.setPen(QPen(QColor(200, 200, 200), 1, Qt.PenStyle.DashLine if pm is None else Qt.PenStyle.SolidLine))
            painter.setBrush(QColor(246, 246, 246))
            painter.drawRect(img.adjusted(0, 0, -1, -1))
            if pm is not None:  # no image (or unreadable)
                painter.setPen(QColor(150, 150, 150))
                f = QFont(option.font)
                f.setPointSizeF(max(6.0, f.pointSizeF() * 0.8))
                painter.setFont(f)
                painter.drawText(img, Qt.AlignmentFlag.AlignCenter, "no image" if pm == NO_IMAGE else "unreadable")
        if corrected:  # an orange corner, top right of the cell
            c = r.topRight()
            size = 16
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(CORRECTED_COLOUR)
            painter.drawPolygon(QPolygon([QPoint(c.x() - size, c.y()), c, QPoint(c.x(), c.y() + size)]))
        if excluded:  # a grey "no entry" mark, top left
            centre = QPointF(r.left() + 10, r.top() + 10)
            painter.setPen(QPen(QColor(120, 120, 120), 2))
            painter.setBrush(QColor(255, 255, 255))
            painter.drawEllipse(centre, 6, 6)
            painter.drawLine(QPointF(centre.x() - 4, centre.y() + 4), QPointF(centre.x() + 4, centre.y() - 4))

        # Two lines of text: the label in focus, then the prediction.
        fm = option.fontMetrics
        text_w = r.width() - 6
        y = img.bottom() + 4
        given = data(GIVEN_ROLE) or "(blank)"
        f = QFont(option.font)
        f.setBold(corrected)
        painter.setFont(f)
        painter.setPen(QColor(140, 140, 140) if excluded else pal.color(QPalette.ColorRole.Text))
        painter.drawText(QRect(r.left() + 3, y, text_w, fm.height()), Qt.AlignmentFlag.AlignHCenter,
                         QFontMetrics(f).elidedText(given, Qt.TextElideMode.ElideRight, text_w))
        pred = data(PRED_ROLE)
        if pred:
            conf = data(CONF_ROLE)
            agree = pred == data(GIVEN_ROLE)
            painter.setFont(option.font)
            painter.setPen(AGREE_COLOUR if agree else DISAGREE_COLOUR)
            pct = "" if conf is None or math.isnan(conf) else f" {conf:.0%}"
            if agree:
                text = "✓" + pct
            else:  # elide the class name, never the percentage
                room = text_w - fm.horizontalAdvance("→ " + pct)
                text = "→ " + fm.elidedText(pred, Qt.TextElideMode.ElideRight, max(room, 10)) + pct
            painter.drawText(QRect(r.left() + 3, y + fm.height(), text_w, fm.height()), Qt.AlignmentFlag.AlignHCenter,
                             text)
        painter.restore()


class CatalogGrid(QListView):
    """The thumbnail grid over a :class:`CatalogModel`."""

    #: Visible rows changed (scroll, resize, new rows): (first, last) row on screen.
    visible_changed = Signal(int, int)

    def __init__(self, parent=None) -> None:  # noqa: ANN001
        super().__init__(parent)
        self.delegate = GridDelegate(self)
        self.setItemDelegate(self.delegate)
        # A wrapping left-to-right list with a fixed grid looks exactly like icon mode, and Qt lays
        # it out 2-3x faster (icon mode keeps a rectangle per item in a BSP tree; scrolling it is
        # 10x slower on 44,000 items).  Batched layout paints the first screen at once and lays
        # out the rest over the next event-loop turns, so a reset to 44,000 rows never blocks.
        self.setViewMode(QListView.ViewMode.ListMode)
        self.setFlow(QListView.Flow.LeftToRight)
        self.setWrapping(True)
        self.setMovement(QListView.Movement.Static)
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setUniformItemSizes(True)
        self.setLayoutMode(QListView.LayoutMode.Batched)
        self.setBatchSize(2000)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.setSpacing(2)
        self.setMouseTracking(True)
        self._visible_timer = QTimer(self)
        self._visible_timer.setSingleShot(True)
        self._visible_timer.setInterval(15)
        self._visible_timer.timeout.connect(self._emit_visible)
        self._apply_size()
        self.verticalScrollBar().valueChanged.connect(self._schedule_visible)

    def set_thumb_size(self, step: int) -> None:
        """0, 1, 2: 60 x 80, 90 x 120, 120 x 160 pixels."""
        step = max(0, min(len(THUMB_SIZES) - 1, step))
        self.delegate.thumb = QSize(*THUMB_SIZES[step])
        self._apply_size()

    @property
    def thumb_step(self) -> int:
        return THUMB_SIZES.index((self.delegate.thumb.width(), self.delegate.thumb.height()))

    def _apply_size(self) -> None:
        cell = self.delegate.cell_size(self.fontMetrics())
        # Stretch the cells so the columns fill the width (no ragged gap on the right).
        width = self.viewport().width() - 1
        per_row = max(1, width // cell.width())
        cell.setWidth(max(cell.width(), width // per_row))
        if cell != self.gridSize():
            self.setGridSize(cell)
        self.setIconSize(self.delegate.thumb)
        self.verticalScrollBar().setSingleStep(self.gridSize().height() // 3)
        self._schedule_visible()

    def setModel(self, model) -> None:  # noqa: ANN001, N802
        super().setModel(model)
        model.modelReset.connect(self._schedule_visible)
        model.layoutChanged.connect(self._schedule_visible)

    def resizeEvent(self, event) -> None:  # noqa: ANN001, N802
        super().resizeEvent(event)
        self._apply_size()

    def dataChanged(self, top_left, bottom_right, roles=()) -> None:  # noqa: ANN001, N802
        """Repaint, never re-lay out: every cell has the grid's size whatever its data.

        QListView lays all rows out again on any ``dataChanged`` (a thumbnail arriving, a
        correction); on 44,000 rows, with batched layout, that also shrank the scroll range for a
        moment and threw the view back to the top.  No editors live in the grid, so nothing else
        of QAbstractItemView's handling is needed.
        """
        first, last = self.visible_rows()
        if first < 0 or bottom_right.row() < first or top_left.row() > last:
            return
        self.viewport().update()

    def _schedule_visible(self, *_args) -> None:  # noqa: ANN002
        self._visible_timer.start()

    def visible_rows(self) -> tuple[int, int]:
        """(first, last) rows on screen, (-1, -2) when none."""
        n = self.model().rowCount() if self.model() is not None else 0
        if not n:
            return -1, -2
        vp = self.viewport().rect()
        first = self.indexAt(QPoint(vp.left() + 4, vp.top() + 4))
        if not first.isValid():  # the top is between rows: look one grid step lower
            first = self.indexAt(QPoint(vp.left() + 4, vp.top() + 4 + self.spacing() * 2))
        g = self.gridSize()
        per_row = max(1, vp.width() // max(1, g.width()))
        f = first.row() if first.isValid() else 0
        rows_on_screen = vp.height() // max(1, g.height()) + 2
        last = min(n - 1, f + per_row * rows_on_screen - 1)
        return f, last

    def _emit_visible(self) -> None:
        first, last = self.visible_rows()
        self.visible_changed.emit(first, last)

    def event(self, e: QEvent) -> bool:
        if e.type() == QEvent.Type.FontChange and hasattr(self, "_visible_timer"):
            self._apply_size()
        return super().event(e)


class CatalogTable(QTableView):
    """The table view over a :class:`CatalogModel` (sortable by clicking a header)."""

    def __init__(self, parent=None) -> None:  # noqa: ANN001
        super().__init__(parent)
        self._fitted = False
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSortingEnabled(True)
        self.setAlternatingRowColors(True)
        self.setWordWrap(False)
        self.setShowGrid(False)
        self.verticalHeader().setVisible(False)
        vh = self.verticalHeader()
        vh.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        vh.setDefaultSectionSize(self.fontMetrics().height() + 6)
        hh = self.horizontalHeader()
        hh.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        hh.setHighlightSections(False)
        hh.setStretchLastSection(False)
        hh.setSortIndicatorShown(True)
        hh.setSortIndicatorClearable(True)

    def setModel(self, model) -> None:  # noqa: ANN001, N802
        # No initial sort: QTableView.setSortingEnabled sorts by the indicator when a model is set.
        super().setModel(model)
        self.horizontalHeader().setSortIndicator(-1, Qt.SortOrder.AscendingOrder)
        model.columns_changed.connect(self._on_columns_changed)
        self._fitted = False

    def _on_columns_changed(self) -> None:
        model: CatalogModel = self.model()
        hh = self.horizontalHeader()
        hh.blockSignals(True)  # only move the indicator; the model keeps its order
        hh.setSortIndicator(model.sort_column, model.sort_order)
        hh.blockSignals(False)
        self.fit_columns()

    def showEvent(self, event) -> None:  # noqa: ANN001, N802
        super().showEvent(event)
        if not self._fitted:
            self.fit_columns()

    def fit_columns(self) -> None:
        """Column widths from the header text and a sample of values (not every row); only
        while shown (the grid is what most sessions start with)."""
        model: CatalogModel = self.model()
        if model is None:
            return
        if not self.isVisible():
            self._fitted = False
            return
        self._fitted = model.rowCount() > 0
        fm = self.fontMetrics()
        n = model.rowCount()
        sample = range(min(n, 200))
        for c in range(model.columnCount()):
            head = model.headerData(c, Qt.Orientation.Horizontal) or ""
            w = fm.horizontalAdvance(str(head)) + 28
            key = model.columns[c].key
            if key == "name":
                self.setColumnWidth(c, 300)
                continue
            for r in sample:
                text = model.data(model.index(r, c)) or ""
                w = max(w, fm.horizontalAdvance(str(text)) + 16)
            self.setColumnWidth(c, min(w, 220))
