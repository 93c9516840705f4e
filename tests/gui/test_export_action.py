"""File > Export corrected catalog (Ctrl+E): the catalog with the corrections applied, written where
the user chooses, the excluded products kept or left out as asked, a refused target said and nothing
written.  The same core as `fashion-review export` (tests/data/test_export.py tests the file itself)."""

from __future__ import annotations

import csv
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QMessageBox

from fashion_review import paths
from fashion_review.gui.exporting import DROP_QUESTION, TITLE


def rows_of(path: Path) -> dict[str, dict[str, str]]:
    with open(path, encoding="utf-8-sig", newline="") as f:
        return {r["id"]: r for r in csv.DictReader(f)}


def test_ctrl_e_exports_the_corrections_and_asks_about_the_excluded(make_window, qtbot, answered_dialogs, tmp_path):
    win = make_window(predictions=False)
    assert win.catalog_export.act.isEnabled()
    original = paths.SAMPLE_CATALOG / "styles.csv"
    before = original.read_bytes()
    # a correction by key (L, the new label typed, Enter) and an exclusion by key (X)
    win.settings.advance = False
    win.select_rows([0])
    pid = win.current_pid()
    qtbot.waitUntil(lambda: win.detail.pid == pid)
    t = win.session.table
    new = next(c for c in t.known_labels("articleType") if c != t.label(pid, "articleType") and len(c) > 4)
    win.grid.setFocus()
    qtbot.keyClick(win.grid, Qt.Key.Key_L)
    box = win.detail.label_combo
    qtbot.waitUntil(lambda: QApplication.focusWidget() is box)
    qtbot.keyClicks(box, new)
    with qtbot.waitSignal(win.corrected):
        qtbot.keyClick(box, Qt.Key.Key_Return)
    win.select_rows([3])
    gone = win.current_pid()
    with qtbot.waitSignal(win.corrected):
        qtbot.keyClick(win.grid, Qt.Key.Key_X)
    assert gone in win.session.store.excluded_ids()

    out = tmp_path / "corrected.csv"
    answered_dialogs.answers[TITLE] = out
    answered_dialogs.answers[DROP_QUESTION] = QMessageBox.StandardButton.No  # keep every product
    qtbot.keyClick(win.grid, Qt.Key.Key_E, Qt.KeyboardModifier.ControlModifier)
    rows = rows_of(out)
    assert rows[str(pid)]["articleType"] == new and str(gone) in rows
    assert ("question", DROP_QUESTION) in [(k, t) for k, t, _ in answered_dialogs]
    assert f"Exported {len(rows):,} products with 2 corrections applied to {out}" in win.statusBar().currentMessage()
    assert Path(win.settings.export_dir) == tmp_path  # the next export starts here
    # again, leaving the excluded product out (File menu)
    answered_dialogs.answers[DROP_QUESTION] = QMessageBox.StandardButton.Yes
    win.catalog_export.act.trigger()
    assert str(gone) not in rows_of(out) and len(rows_of(out)) == len(rows) - 1
    assert original.read_bytes() == before  # the data set itself is never written


def test_export_over_the_data_sets_own_file_is_refused_and_said(make_window, answered_dialogs):
    win = make_window(predictions=False)
    original = paths.SAMPLE_CATALOG / "styles.csv"
    before = original.read_bytes()
    answered_dialogs.answers[TITLE] = original
    win.catalog_export.act.trigger()
    warnings = answered_dialogs.kinds("warning")
    assert warnings and warnings[-1][1] == TITLE and "refusing to overwrite the data set's own styles.csv" in warnings[-1][2]
    assert original.read_bytes() == before
