"""The label box of the detail panel: type a label, and the keyboard never mislabels a product.

An editable combo of the scheme's labels with type-ahead (case-insensitive, anywhere in the
name).  Its keys, which the window's single-letter and Enter shortcuts never take from it:

* **Enter** commits the text when it is exactly a label of the list (case aside), then hands the
  focus back to the catalog view, so J, K, X and L act on products again.  A prefix or any other
  text is not committed: the matching labels pop up to choose from, and nothing changes.
* **Ctrl+Enter** asks for a *new* label (a class the catalog does not have yet): a deliberate
  command, never what a plain Enter does.
* **Escape** puts the product's label back into the box and leaves it.
* **Up / Down** open the list instead of stepping to the next class (which a later Enter would
  have committed); the mouse wheel does not change it either.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QKeyEvent, QWheelEvent
from PySide6.QtWidgets import QComboBox, QCompleter, QWidget

_ENTER = (Qt.Key.Key_Return, Qt.Key.Key_Enter)
_LIST_KEYS = (Qt.Key.Key_Up, Qt.Key.Key_Down, Qt.Key.Key_PageUp, Qt.Key.Key_PageDown)
#: Keys the box keeps even though a window shortcut (Enter: accept the prediction) uses them.
_OWN_KEYS = (*_ENTER, Qt.Key.Key_Escape, *_LIST_KEYS)


def resolve_label(text: str, labels: Sequence[str]) -> str | None:
    """The label of ``labels`` that ``text`` names exactly (ignoring case and surrounding spaces), else None."""
    t = text.strip()
    if not t:
        return None
    if t in labels:
        return t
    folded = t.casefold()
    matches = [k for k in labels if k.casefold() == folded]
    return matches[0] if len(matches) == 1 else None


class LabelBox(QComboBox):
    """An editable combo of labels that commits only exact labels (see the module docstring)."""

    #: An exact label of the list was committed (Enter, or :meth:`commit`).
    committed = Signal(str)
    #: Ctrl+Enter with a text that is not a label yet: the window asks before making a new class.
    new_label_requested = Signal(str)
    #: Enter on a text that is no label (the message says so; nothing was changed).
    refused = Signal(str)
    #: The box is done (a commit or Escape): the window gives the focus back to the catalog view.
    left = Signal()

    def __init__(self, tooltip: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setEditable(True)
        self.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.setMinimumContentsLength(12)
        self.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.setMaxVisibleItems(25)
        self.setToolTip(tooltip)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        completer = QCompleter(self.model(), self)
        completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        completer.setFilterMode(Qt.MatchFlag.MatchContains)
        completer.setCompletionMode(QCompleter.CompletionMode.PopupCompletion)
        self.setCompleter(completer)
        # Keys can also reach the line edit directly (the completer's popup forwards them there).
        self.lineEdit().installEventFilter(self)
        self._label = ""  # the product's label, which Escape restores
        self.scheme = ""

    # -- content ----------------------------------------------------------------------------

    def labels(self) -> list[str]:
        return [self.itemText(i) for i in range(self.count())]

    def show_label(self, labels: Sequence[str], current: str, scheme: str = "") -> None:
        """Fill the list with ``labels`` and show ``current`` (the product's label), without signals."""
        self.blockSignals(True)
        self.clear()
        self.addItems(list(labels))
        i = self.findText(current)
        if i >= 0:
            self.setCurrentIndex(i)
        else:
            self.setCurrentIndex(-1)
            self.setEditText(current)
        self.blockSignals(False)
        self._label = current
        self.scheme = scheme

    def restore(self) -> None:
        """Put the product's label back into the box."""
        self.show_label(self.labels(), self._label, self.scheme)

    # -- committing -------------------------------------------------------------------------

    def commit(self) -> str | None:
        """Commit the text when it names a label exactly; otherwise show the matches and refuse."""
        text = self.currentText().strip()
        if not text:
            self.restore()
            self.left.emit()
            return None
        label = resolve_label(text, self.labels())
        if label is None:
            matches = [k for k in self.labels() if text.casefold() in k.casefold()]
            what = f"one of the {self.scheme} labels" if self.scheme else "one of the labels"
            hint = (f"pick one of the {len(matches)} matching (Down, then Enter)" if matches
                    else "no label contains it")
            self.refused.emit(f"“{text}” is not {what}: {hint}; Ctrl+Enter makes it a new label, "
                              "Escape leaves the box.")
            if matches:
                c = self.completer()
                c.setCompletionPrefix(text)
                c.complete()
            return None
        self.setEditText(label)
        self.committed.emit(label)
        self.left.emit()
        return label

    # -- keys ---------------------------------------------------------------------------------

    def event(self, e: QEvent) -> bool:
        if e.type() == QEvent.Type.ShortcutOverride and isinstance(e, QKeyEvent) and e.key() in _OWN_KEYS:
            e.accept()  # the key is the box's, not the window's "accept the prediction" or the like
            return True
        return super().event(e)

    def eventFilter(self, watched: QObject, e: QEvent) -> bool:  # noqa: N802 - Qt API
        if watched is self.lineEdit() and isinstance(e, QKeyEvent) and e.key() in _OWN_KEYS:
            if e.type() == QEvent.Type.ShortcutOverride:
                e.accept()
                return True
            if e.type() == QEvent.Type.KeyPress:
                self._own_key(e)
                return True
        return super().eventFilter(watched, e)

    def keyPressEvent(self, e: QKeyEvent) -> None:  # noqa: N802 - Qt API
        if e.key() in _OWN_KEYS:
            self._own_key(e)
            return
        super().keyPressEvent(e)

    def _own_key(self, e: QKeyEvent) -> None:
        key = e.key()
        if key in _ENTER:
            popup = self.completer().popup()
            if popup is not None and popup.isVisible():
                popup.hide()
            if e.modifiers() & Qt.KeyboardModifier.ControlModifier:
                text = self.currentText().strip()
                if text and resolve_label(text, self.labels()) is None:
                    self.new_label_requested.emit(text)
                else:
                    self.commit()
            else:
                self.commit()
            e.accept()
            return
        if key == Qt.Key.Key_Escape:
            self.restore()
            self.left.emit()
            e.accept()
            return
        if key in _LIST_KEYS:
            self.showPopup()  # choose from the list: never step silently to the next class
            e.accept()

    def wheelEvent(self, e: QWheelEvent) -> None:  # noqa: N802 - Qt API
        e.ignore()  # scrolling the panel must not change the label shown
