"""Which products the window's actions apply to: the current product, the selection, moving.

:class:`Picks` works on the one selection model the grid and the table share (and on the Label
issues view's own, while that view is shown): the current product, the selected ones, the
targets of an action (the selection, else the current product), selecting rows or ids, keeping
the selection across a re-filter, J / K, and the thumbnails of the screenful to come.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from PySide6.QtCore import QItemSelection, QItemSelectionModel

from fashion_review.gui.catalog_views import selected_rows


class Picks:
    """The selection helpers of one window (``window``: the MainWindow)."""

    def __init__(self, window: Any) -> None:  # noqa: ANN401
        self.w = window

    def _issues(self) -> bool:
        return self.w.issues_active()

    def current_pid(self) -> int | None:
        w = self.w
        if self._issues():
            return w.label_issues.current_pid()
        idx = w.selection.currentIndex()
        return w.model.pid(idx.row()) if idx.isValid() and idx.row() < w.model.rowCount() else None

    def selected_pids(self) -> np.ndarray:
        w = self.w
        if self._issues():
            return w.label_issues.view.selected_pids()
        rows = selected_rows(w.grid)
        rows = rows[rows < w.model.rowCount()]
        return w.model.pids(rows)

    def targets(self) -> np.ndarray:
        """The products an action applies to: the selection, else the current product."""
        sel = self.selected_pids()
        if len(sel):
            return sel
        cur = self.current_pid()
        return np.array([cur], dtype=np.int64) if cur is not None else np.zeros(0, np.int64)

    def select_rows(self, rows, current: int | None = None) -> None:  # noqa: ANN001
        """Select view ``rows`` (runs of rows become ranges) and make ``current`` (or the first) current."""
        w, model = self.w, self.w.model
        rows = np.unique(np.asarray(rows, dtype=np.int64))
        sel = QItemSelection()
        last_col = model.columnCount() - 1
        if len(rows):
            breaks = np.flatnonzero(np.diff(rows) != 1)
            starts = np.concatenate([[rows[0]], rows[breaks + 1]])
            ends = np.concatenate([rows[breaks], [rows[-1]]])
            for a, b in zip(starts.tolist(), ends.tolist()):
                sel.select(model.index(a, 0), model.index(b, last_col))
        cur = int(rows[0]) if current is None and len(rows) else current
        flags = QItemSelectionModel.SelectionFlag
        if cur is not None and cur >= 0:
            w.selection.setCurrentIndex(model.index(cur, 0), flags.NoUpdate)
        w.selection.select(sel, flags.ClearAndSelect | flags.Rows)
        if cur is not None and cur >= 0:
            view = w.table_view if w.view_name == "table" else w.grid
            view.scrollTo(model.index(cur, 0))

    def select_pids(self, pids, current: int | None = None) -> None:  # noqa: ANN001
        model = self.w.model
        rows = model.rows_of(pids)
        cur = model.row_of(current) if current is not None else None
        self.select_rows(rows, cur if cur is None or cur >= 0 else None)

    def restore(self, current: int | None, selected: np.ndarray) -> None:
        """Select ``selected`` (and make ``current`` current) again after the rows changed."""
        model = self.w.model
        rows = model.rows_of(selected) if len(selected) else np.zeros(0, np.int64)
        cur = model.row_of(current) if current is not None else -1
        if len(rows) or cur >= 0:
            self.select_rows(rows if len(rows) else [cur], cur if cur >= 0 else None)
        elif model.rowCount():
            self.select_rows([0])
        else:
            self.w.schedule_detail()

    def select_all(self) -> None:
        w = self.w
        if self._issues():
            w.label_issues.view.table.selectAll()
            return
        if w.view_name == "confusion":
            return
        self.select_rows(np.arange(w.model.rowCount()), w.selection.currentIndex().row())

    def next_product(self) -> None:
        self.step(+1)

    def previous_product(self) -> None:
        self.step(-1)

    def step(self, delta: int) -> None:
        w = self.w
        if self._issues():
            w.label_issues.step(delta)
            return
        n = w.model.rowCount()
        if not n:
            return
        idx = w.selection.currentIndex()
        row = 0 if not idx.isValid() else max(0, min(n - 1, idx.row() + delta))
        self.select_rows([row])

    # -- thumbnails ------------------------------------------------------------------------

    def prefetch(self, first: int, last: int) -> None:
        """Queue the thumbnails of the next screenful, then those on screen (which load first)."""
        w = self.w
        if first < 0 or w.session is None:
            return
        n = w.model.rowCount()
        span = last - first + 1
        ahead = np.arange(min(n, last + 1), min(n, last + 1 + span))
        shown = np.arange(first, last + 1)[::-1]
        has_image = w.session.table.frame["has_image"].to_numpy()
        for rows in (ahead, shown):
            if len(rows):
                pids = w.model.pids(rows)
                pos = w.model.rows[rows]
                w.thumbs.request_many(pids[has_image[pos]].tolist())

    def visible_thumbnails_loaded(self) -> bool:
        """Every product on screen in the grid has its thumbnail (or has none to load)."""
        w = self.w
        if w.session is None:
            return False
        first, last = w.grid.visible_rows()
        if first < 0:
            return True
        rows = np.arange(first, last + 1)
        pids = w.model.pids(rows)
        has_image = w.session.table.frame["has_image"].to_numpy()[w.model.rows[rows]]
        return all(w.thumbs.cached(p) for p in pids[has_image].tolist())
