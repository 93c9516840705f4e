"""Every action of every menu and of the toolbar, triggered as a user triggers it, on a real model.

The actions are read from the window's menus (submenus included) and toolbar, so a new action is
covered without touching this test.  Each is triggered through ``QAction.trigger()`` (what a click
in the menu does) or its first shortcut (``qtbot.keyClick``); every message box and modal dialog it
opens is answered with its default button or Cancel and recorded, a non-modal dialog (Retrain) is
closed again.  The test fails on any exception in a slot (pytest-qt), any warning box, any box or
dialog not listed below, an error in the status bar, and an action that never got to run.

The model is a real one: xception-lite trained for one epoch on the bundled sample (once per test
process, ``_model_fixtures.sample_with_lite_run``), with no stored predictions, so Models > Predict
the catalog runs it in the worker.
"""

from __future__ import annotations

import re

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QApplication, QDialog

pytest.importorskip("keras")

from _model_fixtures import sample_with_lite_run  # noqa: E402

#: The boxes and dialogs the actions are expected to open: (kind, title).
EXPECTED = {
    ("file", "Open a data set (a folder with styles.csv)"),
    ("file", "Export corrected catalog"),
    ("exec", "Catalog problems"),
    ("exec", "Choose the model the app shows"),
    ("information", "Keyboard shortcuts"),
    ("about", "About Fashion Review"),
    ("shown", "Retrain the model on the corrected labels"),
    ("shown", "Find label issues"),
    ("exec", "Resolve conflicts with the edited styles.csv"),
}
ERROR_WORDS = re.compile(r"fail|error|not callable|traceback|cannot", re.IGNORECASE)


def menu_actions(win) -> list[tuple[str, QAction]]:
    """(where, action) for every action of the menus (submenus filled as when they open) and toolbar."""
    out: list[tuple[str, QAction]] = []

    def walk(menu, where: str) -> None:
        menu.aboutToShow.emit()  # what opening it does (the recent list fills itself, Models enables)
        for a in menu.actions():
            if a.isSeparator():
                continue
            sub = a.menu()
            if sub is not None:
                walk(sub, f"{where} > {a.text()}")
            else:
                out.append((f"{where} > {a.text()}", a))

    for top in win.menuBar().actions():
        walk(top.menu(), top.text())
    out += [(f"toolbar > {a.text()}", a) for a in win.toolbar.actions() if not a.isSeparator()]
    seen, unique = set(), []
    for where, a in out:
        if id(a) not in seen:
            seen.add(id(a))
            unique.append((where, a))
    return unique


def settle(qtbot, win) -> None:
    """Wait for the background work an action started (opening, splits, a prediction)."""
    def idle() -> bool:
        return not (win._load_job.busy or win.parts.busy or win.models.busy)

    qtbot.waitUntil(idle, timeout=180000)


def close_shown_dialogs(win, opened) -> None:
    for w in QApplication.topLevelWidgets():
        if isinstance(w, QDialog) and w.isVisible() and w is not getattr(win.models.runner, "dialog", None):
            opened.append(("shown", w.windowTitle(), ""))
            w.reject()


@pytest.mark.reference_model
def test_every_menu_and_toolbar_action_works(make_window, qtbot, answered_dialogs, sample_dir, tmp_path,
                                             monkeypatch):
    from fashion_review import paths
    from _model_fixtures import make_reference_folder

    ds, run = sample_with_lite_run(sample_dir)
    # A (small, untrained) reference model shipped with the app, so Models > Predict with the reference
    # model can run too; the sample has a model of its own, so nothing predicts with it unasked.
    make_reference_folder(tmp_path / "reference-model", ds)
    monkeypatch.setattr(paths, "REFERENCE_MODEL", tmp_path / "reference-model")
    # A label-issue queue with known entries, so the queue's own actions (Label is right, Next
    # unreviewed issue) have something to act on when the Label issues view is the one shown.
    from _issue_fixtures import pick, synthetic_issues

    synthetic_issues(ds, image_says={pid: "Tshirts" for pid in pick(ds, "Shirts", 3)})
    ds.close()
    win = make_window(predictions=False)
    assert win.session.table.predictions is None  # the run has none stored yet: Predict makes them
    messages: list[str] = []
    win.statusBar().messageChanged.connect(messages.append)

    actions = menu_actions(win)
    names = [w for w, _ in actions]
    assert any("Choose model" in n for n in names) and any("Predict the catalog" in n for n in names)
    quit_action = win.act_quit
    fired: set[str] = set()

    def trigger(where: str, a: QAction, by_key: bool) -> None:
        if not a.isEnabled():
            return
        a.triggered.connect(lambda *_args, w=where: fired.add(w))
        keys = a.shortcuts()
        if by_key and keys and keys[0].count() == 1:
            target = {"table": win.table_view, "grid": win.grid}.get(win.view_name, win.confusion.matrix)
            target.setFocus()
            combo = keys[0][0]
            qtbot.keyClick(target, combo.key(), combo.keyboardModifiers())
        else:
            a.trigger()
        assert where in fired, f"{where}: {'its shortcut' if by_key else 'trigger()'} did not run it"
        settle(qtbot, win)
        close_shown_dialogs(win, answered_dialogs)
        if QApplication.activeWindow() is not win:  # as the window manager does when a dialog closes
            win.activateWindow()
            qtbot.waitUntil(lambda: QApplication.activeWindow() is win)

    # Rounds: the first enables what the next need (a correction for Undo, an undo for Redo, the
    # model's predictions for Accept and the top-3 keys); the second presses the shortcuts; the third
    # goes backwards (the scheme in focus is then one the model predicts when Accept comes).
    for round_ in (1, 2, 3):
        listed = menu_actions(win)
        for where, a in (reversed(listed) if round_ == 3 else listed):
            if a is not quit_action:
                trigger(where, a, by_key=round_ == 2)
        if round_ == 1:  # Predict ran the real model (its predictions stored), then the reference model's showed
            assert run.predictions_path.is_file(), messages[-5:]
            assert win.session.table.model_version.startswith("reference-"), messages[-5:]
    # The queue's own actions act in the Label issues view, on a scheme that has issues.
    win.set_scheme("articleType")
    win.set_view("issues")
    qtbot.waitUntil(lambda: win.label_issues.is_settled() and win.label_issues.has_entries(), timeout=30000)
    for where, a in menu_actions(win):
        if where.startswith("&Review") and where not in fired:
            trigger(where, a, by_key=False)
    missing = [w for w, a in actions if w not in fired and a is not quit_action]
    assert not missing, f"never enabled, so never run: {missing}"

    unexpected = [d for d in answered_dialogs if (d[0], d[1]) not in EXPECTED]
    assert not unexpected, unexpected
    errors = [m for m in messages if ERROR_WORDS.search(m)]
    assert not errors, errors
    assert win.session.store.count() > 0  # the corrections really happened

    quit_action.trigger()  # last: closes the window
    qtbot.waitUntil(lambda: not win.isVisible())


def test_f1_lists_every_action_with_a_shortcut(make_window, qtbot, answered_dialogs):
    """F1's list comes from the one table of actions: every action of the window that has a key (Open,
    Predict, Retrain, zoom, Quit, the views' and the label-issue keys, Show similar ...) is listed with
    its keys, and is in a menu (nothing only the help knows)."""
    import html

    from fashion_review.gui.actions import key_text

    win = make_window(predictions=False)
    qtbot.keyClick(win.grid, Qt.Key.Key_F1)
    ((kind, title, text),) = answered_dialogs
    assert (kind, title) == ("information", "Keyboard shortcuts")
    keyed = [a for a in win.findChildren(QAction) if a.shortcuts()]
    names = {a.text().replace("&", "") for a in keyed}
    assert {"Open data set…", "Predict the catalog", "Retrain…", "Larger thumbnails", "Smaller thumbnails", "Quit",
            "Show similar", "Label is right", "Keyboard shortcuts"} <= names
    in_menus = {id(a) for _, a in menu_actions(win)}
    for a in keyed:
        def cell(t: str) -> str:
            return html.escape(t).replace(" ", "&nbsp;")  # unbroken, so the box is as wide as they need

        row = f"<td><b>{cell(key_text(a))}</b></td><td>{cell(a.text().replace('&', ''))}</td>"
        assert row in text, f"F1 does not list {a.text()!r} ({key_text(a)})"
        assert id(a) in in_menus, f"{a.text()!r} has a key but is in no menu"
    # and it fits a laptop screen (768 pixels, the box's buttons and margins besides): in one column it
    # was 800 pixels high, its OK button below the screen's edge
    from PySide6.QtWidgets import QLabel

    label = QLabel(text)
    label.setTextFormat(Qt.TextFormat.RichText)
    assert label.sizeHint().height() <= 600, label.sizeHint()
