"""GUI test fixtures: offscreen Qt, a main window on the bundled sample, fake predictions."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest  # noqa: E402

from fashion_review import paths  # noqa: E402

from _gui_helpers import write_active_run  # noqa: E402


@pytest.fixture(autouse=True)
def _no_reference_model(request, monkeypatch, tmp_path_factory):
    """The app predicts a catalog without a model of its own with the shipped reference model (the
    bundled sample at once): GUI tests that are not about it see an install without one, so opening
    the sample does not start a prediction.  ``@pytest.mark.reference_model`` keeps the real one."""
    if request.node.get_closest_marker("reference_model") is None:
        monkeypatch.setattr(paths, "REFERENCE_MODEL", tmp_path_factory.mktemp("no-reference") / "reference-model")


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
        if wait_splits and not win.parts.done:
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


class OpenedDialogs(list):
    """What the app opened, in order: ``(kind, title, text)``; kinds: warning, critical, question,
    information, about, exec (a QDialog run modally), file (a file dialog)."""

    #: Answers for questions, by title (the default button otherwise).
    answers: dict

    def kinds(self, kind: str) -> list[tuple[str, str, str]]:
        return [d for d in self if d[0] == kind]


@pytest.fixture
def answered_dialogs(monkeypatch):
    """Every message box, modal dialog and file dialog answered the way a careful user would: the
    default button, Cancel, no file; each one recorded (a list of (kind, title, text))."""
    from PySide6.QtWidgets import QDialog, QFileDialog, QMessageBox

    opened = OpenedDialogs()
    opened.answers = {}
    SB = QMessageBox.StandardButton  # noqa: N806

    def box(kind, default):  # noqa: ANN001, ANN202
        def show(parent, title, text, buttons=None, default_button=None):  # noqa: ANN001, ANN202
            opened.append((kind, title, text))
            if kind == "question":
                if title in opened.answers:
                    return opened.answers[title]
                return default_button if default_button not in (None, SB.NoButton) else SB.No
            return default
        return staticmethod(show)

    monkeypatch.setattr(QMessageBox, "warning", box("warning", SB.Ok))
    monkeypatch.setattr(QMessageBox, "critical", box("critical", SB.Ok))
    monkeypatch.setattr(QMessageBox, "information", box("information", SB.Ok))
    monkeypatch.setattr(QMessageBox, "question", box("question", SB.No))
    monkeypatch.setattr(QMessageBox, "about", staticmethod(lambda parent, title, text: opened.append(("about", title, text))))

    def run_modal(self):  # noqa: ANN001, ANN202
        opened.append(("exec", self.windowTitle(), ""))
        answer = opened.answers.get(self.windowTitle())
        if callable(answer):
            return answer(self)
        self.reject()
        return QDialog.DialogCode.Rejected

    monkeypatch.setattr(QDialog, "exec", run_modal)

    def no_file(parent=None, caption="", *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        opened.append(("file", caption, ""))
        return ""

    monkeypatch.setattr(QFileDialog, "getExistingDirectory", staticmethod(no_file))

    def no_save_file(parent=None, caption="", *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        opened.append(("file", caption, ""))
        answer = opened.answers.get(caption)
        return (str(answer), "") if answer else ("", "")

    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(no_save_file))
    return opened
