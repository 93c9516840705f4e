"""The history panel: every batch of corrections (``store.batches()``), newest first, with Undo
and Redo.  Undone batches stay listed, greyed; double-clicking a batch shows its products.

Batches carried over from an earlier version of styles.csv say so, with the state of their fields
against the new file (in the new file, applied as before, conflict, product gone, resolved), under
a line that sums them up and links to the conflicts dialog."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush, QColor, QFont
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from fashion_review.gui.enter_keys import EnterOpens
from fashion_review.text import plural


def local_time(iso: str, short: bool = True) -> str:
    """A stored UTC timestamp in local time: just the time when it is today (``short``)."""
    from datetime import datetime

    try:
        t = datetime.fromisoformat(str(iso)).astimezone()
    except ValueError:
        return str(iso)[:16].replace("T", " ")
    if short and t.date() == datetime.now().astimezone().date():
        return t.strftime("%H:%M:%S")
    return t.strftime("%Y-%m-%d %H:%M")


SOURCE_TEXT = {"curator": "by hand", "prediction": "accepted prediction", "bulk": "bulk", "import": "import"}
#: Batches listed (newest first); older ones stay in the store and the CLI.
MAX_SHOWN = 300
STATE_TEXT = {"active": "", "undone": "undone", "discarded": "undone, replaced"}
#: A carried-over field's state against the new styles.csv, as the panel says it.
CARRIED_STATE_TEXT = {"applied": "in the new file", "pending": "applied as before", "conflict": "conflict",
                      "orphan": "product gone", "resolved": "resolved"}


def carried_words(state: str, n: int) -> str:
    """``"2 conflicts"``, ``"1 in the new file"``: ``n`` carried-over fields in ``state``."""
    if state == "conflict":
        return plural(n, "conflict")
    return f"{n:,} {CARRIED_STATE_TEXT.get(state, state)}"


class HistoryPanel(QWidget):
    """Batches of the corrections store, with Undo / Redo buttons."""

    undo_requested = Signal()
    redo_requested = Signal()
    #: A batch was double-clicked: show its products.
    batch_activated = Signal(int)
    #: The carried-over line's link was clicked: open the conflicts dialog.
    conflicts_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.tree = QTreeWidget()
        self.tree.setColumnCount(5)
        self.tree.setHeaderLabels(["#", "When", "Who", "What", "Changes"])
        self.tree.setRootIsDecorated(False)
        self.tree.setUniformRowHeights(True)
        self.tree.setAlternatingRowColors(True)
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.tree.setToolTip("Every batch of corrections, newest first. Double-click to show its products.")
        hh = self.tree.header()
        hh.setStretchLastSection(False)
        hh.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        hh.setSectionResizeMode(3, QHeaderView.ResizeMode.Stretch)
        self.undo_button = QPushButton("Undo")
        self.undo_button.setToolTip("Undo the latest change (Ctrl+Z)")
        self.redo_button = QPushButton("Redo")
        self.redo_button.setToolTip("Redo the change undone last (Ctrl+Shift+Z)")
        buttons = QHBoxLayout()
        buttons.setContentsMargins(0, 0, 0, 0)
        buttons.addWidget(self.undo_button)
        buttons.addWidget(self.redo_button)
        buttons.addStretch(1)
        self.carried_label = QLabel("")
        self.carried_label.setObjectName("carried_label")
        self.carried_label.setWordWrap(True)
        self.carried_label.setTextFormat(Qt.TextFormat.RichText)
        self.carried_label.setToolTip("Corrections made on an earlier version of this styles.csv, carried over to "
                                      "this one; a conflict keeps your value until you resolve it")
        self.carried_label.linkActivated.connect(lambda _link: self.conflicts_requested.emit())
        self.carried_label.hide()
        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 4, 6, 6)
        lay.setSpacing(4)
        lay.addWidget(self.carried_label)
        lay.addWidget(self.tree, 1)
        lay.addLayout(buttons)
        self.undo_button.clicked.connect(self.undo_requested)
        self.redo_button.clicked.connect(self.redo_requested)
        self.tree.itemDoubleClicked.connect(self._on_double_click)
        # Enter on a batch shows its products, as a double-click does (it was the window's "accept prediction")
        self._enter = EnterOpens(self.tree, lambda index: self._on_double_click(self.tree.itemFromIndex(index), 0))
        self._grey = QBrush(QColor(150, 150, 150))

    def set_carried(self, text: str) -> None:
        """The line over the list about what was carried over from an earlier styles.csv ("" hides it)."""
        self.carried_label.setText(text)
        self.carried_label.setVisible(bool(text))

    def set_batches(self, batches: Sequence[dict], can_undo: bool, can_redo: bool,
                    carried: Mapping[int, Mapping[str, int]] | None = None) -> None:
        """Show ``store.batches()`` (oldest first, as the store gives them); the newest
        :data:`MAX_SHOWN` only, so a long history never slows a correction down.  ``carried``:
        batch id -> {state: fields} of the batches carried over from an earlier styles.csv."""
        self.tree.setUpdatesEnabled(False)
        try:
            self.tree.clear()
            items = []
            batches = list(batches)
            older = max(0, len(batches) - MAX_SHOWN)
            for b in reversed(batches[older:]):
                what = SOURCE_TEXT.get(b["source"], b["source"])
                if b.get("note"):
                    what = f"{what}: {b['note']}"
                state = STATE_TEXT.get(b["state"], b["state"])
                if state:
                    what = f"{what} ({state})"
                if b.get("carried_from"):
                    states = {k: n for k, n in (carried or {}).get(b["id"], {}).items() if n}
                    if sum(states.values()) == 1:  # one field: its state alone ("conflict")
                        said = CARRIED_STATE_TEXT.get(next(iter(states)), "")
                    else:
                        said = ", ".join(carried_words(k, n) for k, n in states.items())
                    what = f"[carried: {said or 'from the earlier file'}] {what}"  # first: the dock is narrow
                when = local_time(b["created_at"])
                item = QTreeWidgetItem([str(b["id"]), when, b["author"], what, f"{b['n_changes']:,}"])
                item.setData(0, Qt.ItemDataRole.UserRole, int(b["id"]))
                tip = (f"batch {b['id']} · {local_time(b['created_at'], short=False)} · "
                       f"{plural(b['n_changes'], 'field change')} · {b['author']} · {b['source']}")
                if b.get("model_version"):
                    tip += f" · model {b['model_version']}"
                if b.get("carried_from"):
                    tip += (" · recorded on an earlier version of styles.csv and carried over (undo does not "
                            "reach it)")
                for c in range(5):
                    item.setToolTip(c, tip)
                if b["state"] != "active":
                    for c in range(5):
                        item.setForeground(c, self._grey)
                        f = QFont(item.font(c))
                        f.setStrikeOut(True)
                        item.setFont(c, f)
                item.setTextAlignment(4, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                items.append(item)
            if older:
                more = QTreeWidgetItem(["", "", "", f"… and {older:,} older batches (fashion-review corrections)", ""])
                more.setFlags(Qt.ItemFlag.NoItemFlags)
                items.append(more)
            self.tree.addTopLevelItems(items)
        finally:
            self.tree.setUpdatesEnabled(True)
        self.undo_button.setEnabled(can_undo)
        self.redo_button.setEnabled(can_redo)

    def _on_double_click(self, item: QTreeWidgetItem, _column: int) -> None:
        batch = item.data(0, Qt.ItemDataRole.UserRole)
        if batch is not None:
            self.batch_activated.emit(int(batch))
