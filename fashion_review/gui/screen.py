"""Window sizes that fit the screen a window opens on."""

from __future__ import annotations

from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QWidget

#: Room left for the window manager's title bar and frame when a size is cut to the screen.
FRAME = (16, 48)


def fit_to_screen(widget: QWidget, width: int, height: int) -> None:
    """Resize ``widget`` to ``width`` x ``height``, or to its screen's free area where that is smaller.

    A 1,440 x 900 window on a 1,366 x 768 or 1,280 x 800 laptop screen (common ones) put its bottom
    rows, the status bar and the right-hand panel off screen, out of a curator's reach.
    """
    screen = widget.screen() or QGuiApplication.primaryScreen()
    if screen is not None:
        free = screen.availableGeometry()
        if free.width() < width:
            width = max(1, free.width() - FRAME[0])
        if free.height() < height:
            height = max(1, free.height() - FRAME[1])
    widget.resize(width, height)
