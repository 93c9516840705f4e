"""The app's similar-products strip, Show similar, the photo section and the Duplicates / colour
filters, through the user's path (click a thumbnail, press S, trigger the action, tick a filter)."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from PySide6.QtCore import Qt

from fashion_review import paths
from fakes import fake_predictions  # noqa: E402
from fashion_review.review.predictions import save_predictions

from _gui_helpers import rows_of  # noqa: E402


def _run_with_embeddings():
    """The sample's fake predictions as the active run, with an articleType embedding = its class."""
    from fashion_review.data import open_dataset

    ds = open_dataset(paths.SAMPLE_CATALOG)
    try:
        pred = fake_predictions(ds.effective(), min_images=ds.default_min_images, model_version="emb-run")
        art = ds.labels("articleType").reindex(pred.ids).fillna("?").to_numpy(dtype=object)
        codes = np.unique(art, return_inverse=True)[1]
        emb = np.eye(codes.max() + 1, dtype=np.float32)[codes]
        emb += np.random.default_rng(0).normal(0, 0.01, emb.shape).astype(np.float32)
        pred.embeddings = {"articleType": emb.astype(np.float16)}
        folder = paths.models_home(ds.fingerprint) / "runs" / "emb-run"
        folder.mkdir(parents=True)
        save_predictions(pred, folder / "predictions.npz")
        (folder / "run.json").write_text(json.dumps({"id": "emb-run", "schemes": pred.schemes,
                                                     "classes": pred.classes}), encoding="utf-8")
        (paths.models_home(ds.fingerprint) / "active").write_text("emb-run", encoding="utf-8")
        return ds.labels("articleType")
    finally:
        ds.close()


@pytest.fixture
def window(make_window, qtbot):
    labels = _run_with_embeddings()
    win = make_window(predictions=False)
    look = win.lookalikes
    if look.index is None:
        with qtbot.waitSignal(look.index_ready, timeout=30000):
            pass
    qtbot.waitUntil(lambda: len(look.strip.buttons) > 0, timeout=10000)
    return win, labels


def test_strip_shows_same_type_and_a_click_jumps_there(window, qtbot):
    win, labels = window
    look = win.lookalikes
    pid = win.current_pid()
    strip_ids = look.strip.ids
    assert len(strip_ids) == 10 and pid not in strip_ids
    assert all(labels[i] == labels[pid] for i in strip_ids)
    # where they come from is one hover away, not three lines above the thumbnails
    assert look.similar_box.toolTip().startswith("Found by ") and "\n" not in look.similar_note.text()
    target = strip_ids[3]
    qtbot.mouseClick(look.strip.buttons[3], Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: win.current_pid() == target, timeout=5000)
    qtbot.waitUntil(lambda: win.detail.pid == target, timeout=5000)


def test_no_product_shown_leaves_no_look_alikes_of_the_last_one(window, qtbot):
    """Ticking Duplicates on the full catalog emptied the grid while the duplicates were searched: the
    panel said "No product selected" above the last product's similar products (no current index
    changed, and the strip followed only that)."""
    win, _labels = window
    look = win.lookalikes
    assert look.strip.ids
    win.act_find.trigger()  # Ctrl+F
    qtbot.keyClicks(win.filter_bar.search, "no such product anywhere")
    qtbot.keyClick(win.filter_bar.search, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: win.model.rowCount() == 0 and win.detail.pid is None)
    qtbot.waitUntil(lambda: look.strip.ids == [] and not look.strip.buttons, timeout=5000)
    win.filter_bar.clear()  # a product again: its look-alikes again
    qtbot.waitUntil(lambda: win.detail.pid is not None and len(look.strip.ids) == 10, timeout=5000)


def test_key_s_filters_the_grid_to_the_neighbours_ranked(window, qtbot):
    win, labels = window
    pid = win.current_pid()
    expected = [pid] + [n.id for n in win.lookalikes.index.query(pid, 48)]
    qtbot.keyClick(win.grid, Qt.Key.Key_S)
    qtbot.waitUntil(lambda: len(rows_of(win)) == len(expected), timeout=5000)
    assert rows_of(win).tolist() == expected  # ranked, nearest first, the product itself first
    assert win.current_pid() == pid
    # The filter bar says why only these are shown, after the status bar's note is gone: every other
    # filter is at Any; and its ✕ takes this one off, keeping the others.
    bar = win.filter_bar
    assert bar.only_group.isVisible() and bar.only.text() == f"Only product {pid} and the 48 most like it"
    bar.disagree.setChecked(True)
    shown_disagreeing = len(rows_of(win))
    assert bar.only_group.isVisible() and shown_disagreeing <= len(expected)
    qtbot.mouseClick(bar.only_clear, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not bar.only_group.isVisible(), timeout=5000)
    assert bar.filter().ids is None and bar.filter().describe() == "disagreements"
    assert len(rows_of(win)) > shown_disagreeing  # the disagreements of the whole catalog
    win.filter_bar.clear()
    qtbot.waitUntil(lambda: len(rows_of(win)) == len(win.session.table), timeout=5000)
    # The same through the menu action, from another product.
    win.select_rows([5])
    other = win.current_pid()
    win.lookalikes.act_similar.trigger()
    assert rows_of(win)[0] == other and len(rows_of(win)) == 49
    assert win.lookalikes.act_similar in win.grid.actions()  # the grid's context menu


def test_photo_section_shows_swatches(window, qtbot):
    win, _ = window
    look = win.lookalikes
    qtbot.waitUntil(lambda: look.swatches.count() > 0, timeout=5000)
    texts = [look.swatches.itemAt(i).widget().text() for i in range(look.swatches.count())]
    assert all("%" in t for t in texts) and "baseColour" in look.colour_note.text()


def test_colour_filter_keeps_the_disagreeing_products(window, qtbot):
    from fashion_review.review.colour import colour_suggestions, ensure_palettes

    win, _ = window
    with qtbot.waitSignal(win.lookalikes.palettes_ready, timeout=60000):
        win.filter_bar.colour.click()
        assert "computing colour palettes" in win.filter_bar.count.text()
    qtbot.waitUntil(lambda: len(rows_of(win)) < len(win.session.table), timeout=5000)
    assert "palettes" not in win.filter_bar.count.text()
    sugg = colour_suggestions(ensure_palettes(win.session.ds), win.session.ds.labels("baseColour"))
    want = set(sugg.loc[sugg["is_colour_issue"], "id"])
    assert set(rows_of(win).tolist()) == want and want


def test_duplicates_filter_and_group_in_the_detail_panel(make_window, qtbot, tmp_path):
    from fashion_review.gui.main_window import MainWindow
    from fashion_review.gui.settings import AppSettings

    root = tmp_path / "cat"
    shutil.copytree(paths.SAMPLE_CATALOG, root)
    ids = sorted(int(p.stem) for p in (root / "images").glob("*.jpg"))
    a, b = ids[0], ids[7]
    shutil.copyfile(root / "images" / f"{a}.jpg", root / "images" / f"{b}.jpg")
    win = MainWindow(AppSettings(author="tester"))
    qtbot.addWidget(win)
    win.show()
    with qtbot.waitSignal(win.loaded, timeout=30000):
        win.open_dataset(root)
    look = win.lookalikes
    with qtbot.waitSignal(look.duplicates_ready, timeout=60000):
        win.filter_bar.duplicates.click()
        # while it searches the grid is empty: the count says why (it said "0 of 1,052 products" alone)
        assert win.filter_bar.count.text().endswith(" · finding duplicate photos …")
    qtbot.waitUntil(lambda: set(rows_of(win).tolist()) == {a, b}, timeout=5000)
    assert win.filter_bar.count.text() == "2 of 1,052 products"
    win.select_pids([a], a)
    qtbot.waitUntil(lambda: look.dup_strip.ids == [b], timeout=5000)
    assert "identical" in look.dup_note.text()
    qtbot.mouseClick(look.dup_strip.buttons[0], Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: win.current_pid() == b, timeout=5000)
    win.close()
