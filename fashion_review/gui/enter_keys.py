"""Enter on a list that is not of products opens its current item, as a click does; Enter and
Space in a control (a button, a box, a number field) are the control's.

The window's Enter is "accept the current product's prediction" (in the Label issues view, its
suggestion).  A view that lists something else (the confusion matrix's cells, the class report, the
history's batches) takes Return and Enter for itself while it has the keyboard: before, moving
through the confusion matrix by keys and pressing Enter relabelled the product in the Product panel,
and typing a threshold in the Label issues view and pressing Enter accepted the current product's
suggestion.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from PySide6.QtCore import QEvent, QModelIndex, QObject, Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QAbstractSlider,
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QTextEdit,
    QToolButton,
    QWidget,
)

KEYS = (Qt.Key.Key_Return, Qt.Key.Key_Enter)
#: The window's keys a control keeps (Space presses a button, ticks a box, opens a combo's list).
OWN_KEYS = (*KEYS, Qt.Key.Key_Space)
#: The widgets whose Return / Enter / Space are their own (a list of products is not one of them).
CONTROLS = (QAbstractButton, QAbstractSpinBox, QComboBox, QLineEdit, QTextEdit, QPlainTextEdit, QAbstractSlider,
            QAbstractItemView)
#: The dynamic property that marks a view of products (:func:`mark_product_view`).
PRODUCT_VIEW = "fashion_review_product_view"


class EnterOpens(QObject):
    """Installed on ``view``: Return / Enter call ``open_current(view.currentIndex())``.  The window's
    shortcuts never see them: a list of something other than products is one of the controls that
    :class:`KeysStayWithControls` leaves the keys to."""

    def __init__(self, view: QAbstractItemView, open_current: Callable[[QModelIndex], None]) -> None:
        super().__init__(view)
        self.view = view
        self.open_current = open_current
        view.installEventFilter(self)

    def eventFilter(self, watched: QObject, e: QEvent) -> bool:  # noqa: N802 - Qt API
        if watched is self.view and e.type() == QEvent.Type.KeyPress and isinstance(e, QKeyEvent) and e.key() in KEYS:
            index = self.view.currentIndex()
            if index.isValid():
                self.open_current(index)
            return True
        return super().eventFilter(watched, e)


def mark_product_view(view: QWidget) -> QWidget:
    """``view`` lists products: Enter and Space there are the window's ("accept", "label is right")."""
    view.setProperty(PRODUCT_VIEW, True)
    return view


class KeysStayWithControls(QObject):
    """Installed on a main window (and its docks, which float as windows of their own): Return, Enter
    and Space pressed in one of its controls are the control's, never the window's shortcuts.

    The window's Enter accepts the current product's prediction and its Space (in the Label issues
    view) says the label is right.  A control that does not take those keys itself let them through to
    the window: Enter on a focused button (Exclude, a suggestion, a similar product's thumbnail)
    relabelled the current product instead of pressing the button, and Space on the "Show reviewed"
    check box marked the current product's label right instead of ticking the box.  Here a focused
    button is pressed by Enter as by Space, a box or a list of something other than products keeps
    the keys, and only the views of products (:func:`mark_product_view`) and the window itself leave
    them to the window's shortcuts.

    Qt sends an unaccepted ShortcutOverride, and an unhandled key press, from the focus widget up its
    parents to its window: that is why one filter on the window sees them all.
    """

    def __init__(self, window: QWidget, floating: Sequence[QWidget] = ()) -> None:
        super().__init__(window)
        self.windows = (window, *floating)
        for w in self.windows:
            w.installEventFilter(self)

    @staticmethod
    def is_controls(focus: QWidget | None) -> bool:
        """Whether the keys belong to ``focus`` (a control), not to the window's shortcuts."""
        if focus is None or bool(focus.property(PRODUCT_VIEW)):
            return False
        return isinstance(focus, CONTROLS)

    def eventFilter(self, watched: QObject, e: QEvent) -> bool:  # noqa: N802 - Qt API
        if watched in self.windows and isinstance(e, QKeyEvent) and e.key() in OWN_KEYS:
            focus = QApplication.focusWidget()
            if not self.is_controls(focus):
                return False
            if e.type() == QEvent.Type.ShortcutOverride:
                e.accept()  # the key press follows, to the control; the window's shortcut does not fire
                return True
            if e.type() == QEvent.Type.KeyPress and e.key() in KEYS and isinstance(focus, (QPushButton, QToolButton)):
                focus.animateClick()  # a button ignores Enter outside a dialog; a check box is ticked by Space
                return True
        return super().eventFilter(watched, e)
