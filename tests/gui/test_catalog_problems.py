"""What the app says about the catalog it opened: rows the reader skipped, an empty catalog, its title."""

from __future__ import annotations

import shutil

import pytest
from PySide6.QtWidgets import QApplication

from fashion_review import paths

HEADER = "id,gender,masterCategory,subCategory,articleType,baseColour,season,year,usage,productDisplayName"


def catalog(tmp_path, rows: list[str], name: str = "shop"):
    d = tmp_path / name
    (d / "images").mkdir(parents=True)
    (d / "styles.csv").write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    for r in rows:
        pid = r.split(",", 1)[0]
        src = paths.SAMPLE_CATALOG / "images" / "15970.jpg"
        if pid.isdigit() and src.exists():
            shutil.copyfile(src, d / "images" / f"{pid}.jpg")
    return d


def row(pid, name="Blue Shirt"):
    return f"{pid},Men,Apparel,Topwear,Shirts,Blue,Fall,2011,Casual,{name}"


@pytest.fixture
def window(qtbot):
    from fashion_review.gui.main_window import MainWindow
    from fashion_review.gui.settings import AppSettings

    win = MainWindow(AppSettings(author="tester"))
    qtbot.addWidget(win)
    win.show()
    yield win
    win.close()
    from PySide6.QtCore import QThreadPool

    QThreadPool.globalInstance().waitForDone(30000)


def open_in(qtbot, win, folder):
    with qtbot.waitSignal(win.loaded, timeout=30000):
        win.open_dataset(folder)


def test_duplicate_ids_are_announced_and_listed(window, qtbot, tmp_path, answered_dialogs):
    d = catalog(tmp_path, [row(1), row(2), row(1, "Again"), row(3), row(2, "Twice")])
    open_in(qtbot, window, d)
    assert "3 products" in window.statusBar().currentMessage()
    assert "2 rows skipped: duplicate ids, see File > Catalog problems" in window.statusBar().currentMessage()
    seen = {}

    def look(dlg):
        tree = dlg.tree
        seen["top"] = [tree.topLevelItem(i).text(0) for i in range(tree.topLevelItemCount())]
        first = tree.topLevelItem(0)
        seen["lines"] = [first.child(k).text(1) for k in range(first.childCount())]
        return dlg.reject() or 0

    answered_dialogs.answers["Catalog problems"] = look
    assert window.act_problems.isEnabled()
    window.act_problems.trigger()
    assert seen["top"][0] == "duplicate ids: the row skipped, the first row with the id kept: 2"
    assert seen["lines"] == ["4", "6"]


def test_one_product_is_one_product(window, qtbot, tmp_path):
    open_in(qtbot, window, catalog(tmp_path, [row(7)]))
    assert window.filter_bar.count.text() == "1 product"
    assert "· 1 product" in window.statusBar().currentMessage()


def test_a_header_only_catalog_says_it_has_no_products(window, qtbot, tmp_path, answered_dialogs):
    open_in(qtbot, window, catalog(tmp_path, []))
    warnings = answered_dialogs.kinds("warning")
    assert len(warnings) == 1 and warnings[0][1] == "No products"
    assert "only its header line" in warnings[0][2]


def test_the_title_names_the_data_set_once(window, qtbot, tmp_path):
    from fashion_review.gui.app import make_app

    app = QApplication.instance()
    before = app.applicationDisplayName()
    try:
        assert make_app() is app and app.applicationDisplayName() == "Fashion Review"  # what the app sets
        open_in(qtbot, window, catalog(tmp_path, [row(1)], name="autumn-catalog"))
        title = window.windowTitle()
        # what the window system shows: Qt appends the display name (QPlatformWindow::formatWindowTitle)
        shown = title if title.endswith(app.applicationDisplayName()) else f"{title} — {app.applicationDisplayName()}"
    finally:
        app.setApplicationDisplayName(before)
    assert title == "autumn-catalog"
    assert shown == "autumn-catalog — Fashion Review"
    open_in(qtbot, window, paths.SAMPLE_CATALOG)
    assert window.windowTitle() == "Bundled sample catalog"
