"""Enter on a list that is not of products opens its current item, as a click does; Enter in a
control (a box, a number field) is the control's.

The window's Enter is "accept the current product's prediction" (in the Label issues view, its
suggestion).  A view that lists something else (the confusion matrix's cells, the class report, the
history's batches) takes Return and Enter for itself while it has the keyboard: before, moving
through the confusion matrix by keys and pressing Enter relabelled the product in the Product panel,
and typing a threshold in the Label issues view and pressing Enter accepted the current product's
suggestion.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QEvent, QModelIndex, QObject, Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QAbstractItemView

KEYS = (Qt.Key.Key_Return, Qt.Key.Key_Enter)


class EnterOpens(QObject):
    """Installed on ``view``: Return / Enter call ``open_current(view.currentIndex())`` and never reach
    the window's shortcuts."""

    def __init__(self, view: QAbstractItemView, open_current: Callable[[QModelIndex], None]) -> None:
        super().__init__(view)
        self.view = view
        self.open_current = open_current
        view.installEventFilter(self)

    def eventFilter(self, watched: QObject, e: QEvent) -> bool:  # noqa: N802 - Qt API
        if watched is self.view and isinstance(e, QKeyEvent) and e.key() in KEYS:
            if e.type() == QEvent.Type.ShortcutOverride:
                e.accept()  # ours, not the window's shortcut
                return True
            if e.type() == QEvent.Type.KeyPress:
                index = self.view.currentIndex()
                if index.isValid():
                    self.open_current(index)
                return True
        return super().eventFilter(watched, e)


class KeepsEnter(QObject):
    """Installed on controls: Return / Enter stay with them (a number field commits what was typed) and
    never reach the window's "accept" shortcut."""

    def __init__(self, parent: QObject, widgets) -> None:  # noqa: ANN001 - QWidgets
        super().__init__(parent)
        for w in widgets:
            w.installEventFilter(self)

    def eventFilter(self, watched: QObject, e: QEvent) -> bool:  # noqa: N802 - Qt API
        if e.type() == QEvent.Type.ShortcutOverride and isinstance(e, QKeyEvent) and e.key() in KEYS:
            e.accept()  # the control's key press follows; the window's shortcut does not fire
            return True
        return super().eventFilter(watched, e)
