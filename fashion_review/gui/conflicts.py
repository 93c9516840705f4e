"""Review > Resolve conflicts…: the fields a newer styles.csv changed to something other than a
curator's correction (a view over ``CorrectionStore.conflicts`` / ``resolve``, :mod:`fashion_review.data.versions`).

Until resolved, the curator's value stays in force.  Per row or for all of them: **Keep mine**
(the correction stays; nothing is recorded) or **Take the file's** (the file's value, recorded as
a correction of source "import", which Undo reaches like any other).  The same as
``fashion-review conflicts`` / ``fashion-review resolve``.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from fashion_review.errors import FashionReviewError
from fashion_review.text import plural

TITLE = "Resolve conflicts with the edited styles.csv"
COLUMNS = ("Product", "Name", "Field", "Your value (in force)", "The file's value")


class ConflictsDialog(QDialog):
    """The open conflicts of one data set; :attr:`resolved` lists what was done: (id, field, keep)."""

    def __init__(self, store: Any, frame: pd.DataFrame | None = None, parent: QWidget | None = None, *,
                 author: str = "curator") -> None:
        super().__init__(parent)
        self.setWindowTitle(TITLE)
        self.store = store
        self.frame = frame
        self.author = author
        self.resolved: list[tuple[int, str, str]] = []
        self.rows: list[dict[str, Any]] = []

        self.intro = QLabel()
        self.intro.setWordWrap(True)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setObjectName("conflicts_table")
        self.table.setHorizontalHeaderLabels(list(COLUMNS))
        self.table.verticalHeader().setVisible(False)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.message = QLabel("")
        self.message.setWordWrap(True)

        self.keep_button = QPushButton("&Keep mine")
        self.keep_button.setToolTip("The selected rows keep your correction (nothing is recorded)")
        self.take_button = QPushButton("&Take the file's")
        self.take_button.setToolTip("The selected rows take the new file's value (recorded as a correction; "
                                    "Undo reaches it)")
        self.keep_all_button = QPushButton("Keep mine for &all")
        self.take_all_button = QPushButton("Take the file's for a&ll")
        self.close_button = QPushButton("&Close")
        self.close_button.setDefault(True)
        buttons = QHBoxLayout()
        for b in (self.keep_button, self.take_button):
            buttons.addWidget(b)
        buttons.addStretch(1)
        for b in (self.keep_all_button, self.take_all_button, self.close_button):
            buttons.addWidget(b)

        layout = QVBoxLayout(self)
        layout.addWidget(self.intro)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.message)
        layout.addLayout(buttons)
        self.resize(860, 420)

        self.keep_button.clicked.connect(lambda: self.resolve_selected("mine"))
        self.take_button.clicked.connect(lambda: self.resolve_selected("file"))
        self.keep_all_button.clicked.connect(lambda: self.resolve_all("mine"))
        self.take_all_button.clicked.connect(lambda: self.resolve_all("file"))
        self.close_button.clicked.connect(self.accept)
        self.table.itemSelectionChanged.connect(self._update_buttons)
        self.reload()

    # -- showing ----------------------------------------------------------------------------

    def _name(self, pid: int) -> str:
        f = self.frame
        column = next((c for c in ("name", "productDisplayName") if f is not None and c in f.columns), None)
        if column is None or pid not in f.index:
            return ""
        v = f.at[pid, column]
        return v if isinstance(v, str) else ""

    def reload(self) -> None:
        """The store's open conflicts, one row each."""
        self.rows = list(self.store.conflicts())
        t = self.table
        t.setRowCount(len(self.rows))
        for i, r in enumerate(self.rows):
            pid = int(r["product_id"])
            values = [str(pid), self._name(pid), str(r["field"]), str(r["corrected_value"]) or "(blank)",
                      str(r["file_value"] or "") or "(blank)"]
            for j, v in enumerate(values):
                item = QTableWidgetItem(v)
                if j == 0:
                    item.setData(Qt.ItemDataRole.UserRole, pid)
                t.setItem(i, j, item)
        n = len(self.rows)
        if n:
            self.intro.setText(f"The edited styles.csv changed {plural(n, 'field')} that you had corrected to a third "
                               "value. Your correction stays in force until you choose: keep yours, or take the "
                               "file's value (recorded as a correction; Undo reaches it).")
            if not t.selectedItems():
                t.selectRow(0)
        else:
            self.intro.setText("No conflicts with the edited styles.csv: every carried-over correction either holds "
                               "as before or the file now says the same.")
        self._update_buttons()

    def _selected(self) -> list[dict[str, Any]]:
        rows = sorted({i.row() for i in self.table.selectedIndexes()})
        return [self.rows[r] for r in rows if r < len(self.rows)]

    def _update_buttons(self) -> None:
        some = bool(self._selected())
        self.keep_button.setEnabled(some)
        self.take_button.setEnabled(some)
        for b in (self.keep_all_button, self.take_all_button):
            b.setEnabled(bool(self.rows))

    # -- resolving --------------------------------------------------------------------------

    def resolve_selected(self, keep: str) -> int:
        return self._resolve(self._selected(), keep)

    def resolve_all(self, keep: str) -> int:
        return self._resolve(list(self.rows), keep)

    def _resolve(self, rows: list[dict[str, Any]], keep: str) -> int:
        done = 0
        problems = []
        for r in rows:
            pid, fld = int(r["product_id"]), str(r["field"])
            try:
                self.store.resolve(pid, fld, keep, author=self.author)
            except FashionReviewError as exc:  # resolved meanwhile elsewhere (another window, the CLI)
                problems.append(str(exc))
                continue
            self.resolved.append((pid, fld, keep))
            done += 1
        what = "kept yours" if keep == "mine" else "took the file's value"
        text = f"{plural(done, 'conflict')} resolved: {what}." if done else ""
        if problems:
            text += f" Not resolved: {problems[0]}" + (f" (and {len(problems) - 1} more)" if len(problems) > 1 else "")
        self.message.setText(text.strip())
        self.reload()
        return done
