"""GUI test fixtures: offscreen Qt, a main window on the bundled sample, fake predictions."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest  # noqa: E402

from fashion_review import paths  # noqa: E402

from _gui_helpers import write_active_run  # noqa: E402


def _wait_for_pools():
    from PySide6.QtCore import QThreadPool

    QThreadPool.globalInstance().waitForDone(30000)


@pytest.fixture
def make_window(qtbot):
    """make_window(predictions=True) -> a shown MainWindow on the sample, catalog and splits loaded."""
    from fashion_review.gui.main_window import MainWindow
    from fashion_review.gui.settings import AppSettings

    made = []

    def make(predictions: bool = True, view: str = "grid", wait_splits: bool = True):
        if predictions:
            write_active_run()
        settings = AppSettings(author="tester")
        settings.view = view
        win = MainWindow(settings)
        qtbot.addWidget(win)
        made.append(win)
        win.show()
        qtbot.waitExposed(win)
        with qtbot.waitSignal(win.loaded, timeout=30000):
            win.open_dataset(paths.SAMPLE_CATALOG)
        if wait_splits and not win._splits_done:
            with qtbot.waitSignal(win.splits_ready, timeout=60000):
                pass
        win.activateWindow()
        win.grid.setFocus()
        return win

    yield make
    for w in made:
        w.close()
    _wait_for_pools()


@pytest.fixture
def store_of():
    def get(win):
        return win.session.store

    return get
