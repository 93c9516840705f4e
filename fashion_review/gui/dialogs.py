"""The app's message boxes, in one place: warnings, questions (No is the default), information.

Every box the window opens goes through these functions, so the policy is one: a question that
could change data defaults to the safe answer, and in headless mode (``fashion-review gui
--screenshot``, which nobody can answer) no box opens at all: a warning is printed on stderr and
a question gets its default answer.

    if dialogs.ask(self, "New label", "Use “Unisex Apparel” anyway?"):   # default: No
        ...
    dialogs.warn(self, "Prediction failed", message)
"""

from __future__ import annotations

import sys

from PySide6.QtWidgets import QMessageBox, QWidget

_headless = False


def set_headless(on: bool) -> None:
    """No box from now on (the screenshot mode): warnings go to stderr, questions get their default."""
    global _headless
    _headless = bool(on)


def headless() -> bool:
    return _headless


def warn(parent: QWidget | None, title: str, text: str) -> None:
    """A warning the user must see (an error of an action they took)."""
    if _headless:
        print(f"fashion-review gui: {title}: {text}", file=sys.stderr)
        return
    QMessageBox.warning(parent, title, text)


def ask(parent: QWidget | None, title: str, text: str, *, default_yes: bool = False) -> bool:
    """A Yes / No question; True for Yes.  No is the default button unless ``default_yes``."""
    yes, no = QMessageBox.StandardButton.Yes, QMessageBox.StandardButton.No
    if _headless:
        return default_yes
    answer = QMessageBox.question(parent, title, text, yes | no, yes if default_yes else no)
    return answer == yes


def inform(parent: QWidget | None, title: str, text: str) -> None:
    """Information the user asked for (the shortcut list, a summary)."""
    if not _headless:
        QMessageBox.information(parent, title, text)


def about(parent: QWidget | None, title: str, text: str) -> None:
    if not _headless:
        QMessageBox.about(parent, title, text)
