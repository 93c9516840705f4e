"""The Product panel's controls: Enter on a focused button presses that button, never the window's
"accept the prediction" on the product behind it (Space in a control: tests/gui/test_label_issues.py);
with no product current, nothing of the last one stays.

Found under Xvfb: Tab to the Exclude button and Enter accepted the prediction of the product shown
(Capris -> Shorts) and moved on.  Keys go through Qt's delivery (qtbot.keyClick on the widget with
the focus), so the window's shortcuts compete as for a user.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt

S = "articleType"


def label_now(win, pid, scheme=S):
    from fashion_review.data.schemes import scheme_labels

    return scheme_labels(win.session.ds.effective().loc[[pid]], scheme).iloc[0]


def a_disagreement(win, qtbot):
    """A product whose label is not among the model's first two choices, shown in the Product panel."""
    t = win.session.table
    m = win.model
    for pid in m.pids(np.arange(m.rowCount())):
        pid = int(pid)
        top = [name for name, _p in t.top_k(pid, S, 3)]
        if len(top) == 3 and t.label(pid, S) not in top[:2]:
            win.select_pids([pid], pid)
            qtbot.waitUntil(lambda pid=pid: win.detail.pid == pid)
            return pid, top
    raise AssertionError("the sample's predictions have no product whose label is not among its top two")


def test_enter_on_a_focused_button_presses_that_button(make_window, qtbot, store_of):
    win = make_window()
    win.settings.advance = False
    win.act_advance.setChecked(False)
    pid, top = a_disagreement(win, qtbot)
    given = label_now(win, pid)
    store = store_of(win)
    exclude = win.detail.exclude_button
    exclude.setFocus()
    qtbot.keyClick(exclude, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: pid in store_of(win).excluded_ids())  # the button's work ...
    assert label_now(win, pid) == given  # ... and not the window's "accept the prediction"
    assert store.count() == 1

    second = win.detail.top_buttons[1]  # the model's choice number 2, not number 1
    second.setFocus()
    qtbot.keyClick(second, Qt.Key.Key_Enter)
    qtbot.waitUntil(lambda: label_now(win, pid) != given)
    assert label_now(win, pid) == top[1] != top[0]

    win.grid.setFocus()  # in the catalog's own views Enter is still the window's accept
    with qtbot.waitSignal(win.corrected):
        qtbot.keyClick(win.grid, Qt.Key.Key_Return)
    assert label_now(win, pid) == top[0]


def test_no_product_shown_leaves_nothing_of_the_last_one(make_window, qtbot):
    """With no product current (a search that matches none), the Product panel said "No product
    selected" above the last product's label and "1  Shirts  92 %  ✓ current", greyed: read as if
    they were someone's."""
    win = make_window()
    pid, top = a_disagreement(win, qtbot)
    assert win.detail.label_combo.currentText() and win.detail.top_buttons[0].isVisible()
    win.act_find.trigger()  # Ctrl+F: the search field
    qtbot.keyClicks(win.filter_bar.search, "no such product anywhere")
    qtbot.keyClick(win.filter_bar.search, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: win.model.rowCount() == 0 and win.detail.pid is None)
    d = win.detail
    assert d.title.text() == "No product selected" and not d.correct_box.isEnabled()
    assert d.label_combo.currentText() == ""
    assert not any(b.isVisible() for b in d.top_buttons)
    assert top[0] not in d.accept_button.text()
