"""A curator's work never looks lost, in the app: a new version of styles.csv says what was carried
over (status bar, History panel) and Review > Resolve conflicts… settles each conflict; with two
windows on one data set, Undo reaches only this window's batches, and a value changed in the other
window is refused with one message and shown as it is now."""

from __future__ import annotations

import csv
import shutil

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from fashion_review import paths
from fashion_review.data.corrections import EXCLUDED
from fashion_review.gui.conflicts import TITLE as CONFLICTS_TITLE

from _gui_helpers import open_window

S = "articleType"


def copy_of_sample(tmp_path):
    d = tmp_path / "catalog"
    d.mkdir()
    shutil.copyfile(paths.SAMPLE_CATALOG / "styles.csv", d / "styles.csv")
    shutil.copyfile(paths.SAMPLE_CATALOG / "fashion-review.toml", d / "fashion-review.toml")
    (d / "images").symlink_to(paths.SAMPLE_CATALOG / "images", target_is_directory=True)
    return d


def edit_styles(folder, new_values: dict[int, str]) -> None:
    """Write styles.csv again with other articleType values for some products (a curator's edit)."""
    path = folder / "styles.csv"
    with path.open(newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    k = rows[0].index(S)
    for r in rows[1:]:
        if r and int(r[0]) in new_values:
            r[k] = new_values[int(r[0])]
    with path.open("w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows(rows)


def activate(qtbot, win) -> None:
    win.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is win, timeout=5000)
    win.grid.setFocus()


def test_a_new_styles_csv_says_what_was_carried_over_and_its_conflicts_are_resolved(qtbot, tmp_path,
                                                                                   answered_dialogs):
    from fashion_review.data import open_dataset
    from fashion_review.review import editing

    data = copy_of_sample(tmp_path)
    ds = open_dataset(data)
    shirts = [int(p) for p in ds.catalog.df.index[ds.catalog.df[S] == "Shirts"][:3]]
    for pid in shirts:  # three corrections Shirts -> Tshirts on the first version of the file
        ds.store.record(editing.label_changes(ds.effective(), [pid], S, "Tshirts"), author="ann")
    ds.close()
    mine, theirs, applied = shirts
    edit_styles(data, {mine: "Kurtas", theirs: "Tops", applied: "Tshirts"})  # two conflicts, one now in the file

    win = open_window(qtbot, data)
    status = win.statusBar().currentMessage()
    assert "carried over from its earlier version" in status and "2 conflicts" in status, status
    label = win.history.carried_label
    assert label.isVisible() and "1 in the new file" in label.text() and "2 conflicts" in label.text()
    whats = [win.history.tree.topLevelItem(i).text(3) for i in range(win.history.tree.topLevelItemCount())]
    assert sorted(w.split("]")[0] for w in whats) == ["[carried: conflict", "[carried: conflict",
                                                       "[carried: in the new file"], whats
    t = win.session.table
    assert t.label(mine, S) == t.label(theirs, S) == "Tshirts"  # the curator's value is in force meanwhile

    def resolve(dlg):  # the curator: the file's value for one row, then "keep mine" for the rest
        dlg.show()
        assert dlg.table.rowCount() == 2
        row = [int(dlg.table.item(r, 0).text()) for r in range(2)].index(theirs)
        # a click on the row, as the curator does (selectRow() would read the application's keyboard
        # modifiers, which an earlier test's Ctrl+Z can leave behind, and add the row to the selection)
        cell = dlg.table.visualItemRect(dlg.table.item(row, 0)).center()
        qtbot.mouseClick(dlg.table.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, cell)
        assert [i.row() for i in dlg.table.selectionModel().selectedRows()] == [row]
        qtbot.mouseClick(dlg.take_button, Qt.MouseButton.LeftButton)
        assert dlg.table.rowCount() == 1
        qtbot.mouseClick(dlg.keep_all_button, Qt.MouseButton.LeftButton)
        assert dlg.table.rowCount() == 0 and "No conflicts" in dlg.intro.text()
        qtbot.mouseClick(dlg.close_button, Qt.MouseButton.LeftButton)
        return dlg.result()

    answered_dialogs.answers[CONFLICTS_TITLE] = resolve
    win.action_table["conflicts"].trigger()  # Review > Resolve conflicts…
    assert ("exec", CONFLICTS_TITLE, "") in answered_dialogs
    store = win.session.store
    assert store.conflicts() == []
    assert t.label(theirs, S) == "Tops" and t.label(mine, S) == "Tshirts"  # shown at once
    assert "Resolved 2 conflicts: 1 kept yours, 1 took the file's value" in win.statusBar().currentMessage()
    assert "Resolve" not in label.text() and "2 resolved" in label.text()
    win.close()


def test_undo_reaches_only_this_windows_batches(make_window, qtbot):
    a = make_window(predictions=False)
    b = make_window(predictions=False)
    a.settings.advance = b.settings.advance = False
    pa, pb = int(a.model.pids([3])[0]), int(b.model.pids([7])[0])
    a.select_pids([pa], pa)
    b.select_pids([pb], pb)
    activate(qtbot, b)
    qtbot.keyClick(b.grid, Qt.Key.Key_X)  # the other window excludes its product
    activate(qtbot, a)
    qtbot.keyClick(a.grid, Qt.Key.Key_X)
    store = a.session.store
    assert {r for r in store.excluded_ids()} == {pa, pb}
    assert a.act_undo.isEnabled()
    qtbot.keyClick(a.grid, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert store.excluded_ids() == {pb}  # its own batch, though the other window's is newer
    assert a.act_undo.isEnabled()  # the other window's batch could be undone (there): pressing says so
    qtbot.keyClick(a.grid, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert store.excluded_ids() == {pb}
    assert "Nothing of this window's to undo" in a.statusBar().currentMessage()
    assert "another window's" in a.statusBar().currentMessage()


def test_a_value_changed_in_another_window_is_refused_once_and_shown_as_it_is(make_window, qtbot,
                                                                             answered_dialogs):
    a = make_window(predictions=False)
    b = make_window(predictions=False)
    a.settings.advance = b.settings.advance = False
    pid = int(a.model.pids([0])[0])
    b.select_pids([pid], pid)
    a.select_pids([pid], pid)
    activate(qtbot, b)
    qtbot.keyClick(b.grid, Qt.Key.Key_X)  # excluded in the other window
    assert not bool(a.session.table.frame.at[pid, EXCLUDED])  # this window still shows it included
    activate(qtbot, a)
    qtbot.keyClick(a.grid, Qt.Key.Key_X)  # "exclude" here too, on a value that changed underneath
    assert [d[:2] for d in answered_dialogs] == [("warning", "The change was not recorded")]
    text = answered_dialogs[0][2]
    assert f"product {pid} excluded is 'true' now" in text and "Nothing was changed" in text
    assert bool(a.session.table.frame.at[pid, EXCLUDED])  # the view shows the current value now
    assert len(a.session.store.batches()) == 1  # only the other window's batch
