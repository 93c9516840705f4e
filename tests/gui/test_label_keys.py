"""The label box, typed into as a person types: L, characters, Enter, Escape, J, Down, Ctrl+Enter.

Every key goes through Qt's event delivery (qtbot.keyClick / keyClicks on the widget that has the
focus), so the window's shortcuts (Enter accepts the prediction, J, K, X, L) compete with the box
exactly as they do for a user; the labels are read back from the corrections store.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from _gui_helpers import rows_of

S = "articleType"
CTRL = Qt.KeyboardModifier.ControlModifier


def label_now(win, pid, scheme=S):
    from fashion_review.data.schemes import scheme_labels

    return scheme_labels(win.session.ds.effective().loc[[pid]], scheme).iloc[0]


def focused():
    return QApplication.focusWidget()


def open_box(qtbot, win):
    """Press L in the grid, as a person does, and check the box has the keyboard."""
    win.grid.setFocus()
    qtbot.keyClick(win.grid, Qt.Key.Key_L)
    box = win.detail.label_combo
    qtbot.waitUntil(lambda: focused() is box)
    return box


def start(make_window, qtbot, predictions=True):
    win = make_window(predictions=predictions)
    win.settings.advance = False
    pid = int(rows_of(win)[0])
    win.select_pids([pid], pid)
    qtbot.waitUntil(lambda: win.detail.pid == pid)
    return win, pid


def other_label(win, pid):
    t = win.session.table
    return next(c for c in t.known_labels(S) if c != t.label(pid, S) and len(c) > 4)


def test_enter_sets_an_exact_label_and_gives_the_keyboard_back(make_window, qtbot):
    win, pid = start(make_window, qtbot)
    new = other_label(win, pid)
    box = open_box(qtbot, win)
    qtbot.keyClicks(box, new.lower())  # case aside, exactly a label
    with qtbot.waitSignal(win.corrected):
        qtbot.keyClick(box, Qt.Key.Key_Return)
    assert label_now(win, pid) == new
    assert focused() is win.grid  # J, K, X and L act on products again, not on the box's text
    qtbot.keyClick(win.grid, Qt.Key.Key_J)
    assert win.current_pid() == int(rows_of(win)[1])
    qtbot.keyClick(win.grid, Qt.Key.Key_K)
    assert win.current_pid() == pid
    assert box.currentText() == new  # nothing was typed into it
    with qtbot.waitSignal(win.corrected):
        qtbot.keyClick(win.grid, Qt.Key.Key_X)
    assert pid in win.session.store.excluded_ids()


def test_escape_leaves_the_box_and_changes_nothing(make_window, qtbot):
    win, pid = start(make_window, qtbot)
    given = win.session.table.label(pid, S)
    n = win.session.store.count()
    box = open_box(qtbot, win)
    qtbot.keyClicks(box, "Watch")
    qtbot.keyClick(box, Qt.Key.Key_Escape)
    assert focused() is win.grid and box.currentText() == given
    qtbot.keyClick(win.grid, Qt.Key.Key_J)
    assert win.current_pid() == int(rows_of(win)[1])
    assert win.session.store.count() == n and label_now(win, pid) == given


def test_a_prefix_and_enter_never_make_a_new_class(make_window, qtbot, answered_dialogs):
    win, pid = start(make_window, qtbot)
    given = win.session.table.label(pid, S)
    n = win.session.store.count()
    box = open_box(qtbot, win)
    qtbot.keyClicks(box, "hee")  # the start of "Heels"
    qtbot.keyClick(box, Qt.Key.Key_Return)
    qtbot.keyClick(box, Qt.Key.Key_Return)  # a second Enter (which once answered "Use it anyway?" Yes)
    assert win.session.store.count() == n and label_now(win, pid) == given
    assert answered_dialogs == []  # no question to say Yes to by accident
    assert "“hee” is not one of the articleType labels" in win.statusBar().currentMessage()
    assert focused() is box  # still there, to finish the word
    qtbot.keyClick(box, Qt.Key.Key_Escape)
    assert focused() is win.grid


def test_a_new_class_takes_ctrl_enter_and_a_yes(make_window, qtbot, answered_dialogs):
    from PySide6.QtWidgets import QMessageBox

    win, pid = start(make_window, qtbot)
    given = win.session.table.label(pid, S)
    box = open_box(qtbot, win)
    qtbot.keyClicks(box, "Moon Boots")
    qtbot.keyClick(box, Qt.Key.Key_Return, CTRL)
    assert [d[:2] for d in answered_dialogs] == [("question", "New label")]
    assert label_now(win, pid) == given  # the default answer is No
    answered_dialogs.answers["New label"] = QMessageBox.StandardButton.Yes
    box = open_box(qtbot, win)
    qtbot.keyClicks(box, "Moon Boots")
    with qtbot.waitSignal(win.corrected):
        qtbot.keyClick(box, Qt.Key.Key_Return, CTRL)
    assert label_now(win, pid) == "Moon Boots"


def test_down_opens_the_list_instead_of_moving_to_the_next_class(make_window, qtbot):
    win, pid = start(make_window, qtbot)
    given = win.session.table.label(pid, S)
    n = win.session.store.count()
    box = open_box(qtbot, win)
    qtbot.keyClick(box, Qt.Key.Key_Down)
    assert box.currentText() == given
    qtbot.waitUntil(lambda: box.view().isVisible())
    box.hidePopup()
    qtbot.keyClick(box, Qt.Key.Key_Return)  # Enter on the product's own label: nothing to change
    assert win.session.store.count() == n and label_now(win, pid) == given
    box.wheelEvent  # noqa: B018 - the wheel is ignored too (see LabelBox.wheelEvent)


def test_enter_in_the_box_works_without_a_model(make_window, qtbot):
    win, pid = start(make_window, qtbot, predictions=False)
    assert not win.act_accept.isEnabled()  # Enter's window shortcut is there, disabled
    new = other_label(win, pid)
    box = open_box(qtbot, win)
    qtbot.keyClicks(box, new)
    with qtbot.waitSignal(win.corrected):
        qtbot.keyClick(box, Qt.Key.Key_Enter)
    assert label_now(win, pid) == new and focused() is win.grid


def test_the_set_button_takes_exact_labels_only(make_window, qtbot):
    win, pid = start(make_window, qtbot)
    given = win.session.table.label(pid, S)
    box = open_box(qtbot, win)
    qtbot.keyClicks(box, "zz-not-a-class")
    qtbot.mouseClick(win.detail.set_button, Qt.MouseButton.LeftButton)
    assert label_now(win, pid) == given
    assert "zz-not-a-class" in win.statusBar().currentMessage()
