"""A catalog with no model of its own: the banner offers the reference model, and the bundled
sample is predicted with it at once (a small reference folder made by the test stands in for the
shipped one)."""

from __future__ import annotations

import shutil

import pytest
from PySide6.QtCore import Qt

pytest.importorskip("keras")

from _gui_helpers import open_window  # noqa: E402
from _model_fixtures import make_reference_folder  # noqa: E402


@pytest.fixture
def reference_folder(tmp_path, monkeypatch, sample_dir):
    from fashion_review import paths
    from fashion_review.data import open_dataset

    ds = open_dataset(sample_dir)
    try:
        folder = tmp_path / "reference-model"
        make_reference_folder(folder, ds)
    finally:
        ds.close()
    monkeypatch.setattr(paths, "REFERENCE_MODEL", folder)
    return folder


def _wait_predicted(qtbot, win) -> None:  # noqa: ANN001
    qtbot.waitUntil(lambda: win.session.table.predictions is not None
                    and win.session.table.model_version.startswith("reference-"), timeout=180000)


def test_a_catalog_without_a_model_offers_the_reference_model(qtbot, home_dir, reference_folder, sample_dir,
                                                             tmp_path):
    from fashion_review.training import reference, registry

    # another catalog (a copy of the sample under another path is another data set only if its
    # bytes differ: add a blank line)
    data = tmp_path / "my-catalog"
    shutil.copytree(sample_dir, data, ignore=shutil.ignore_patterns("images"))
    (data / "images").symlink_to(sample_dir / "images", target_is_directory=True)
    with open(data / "styles.csv", "a", encoding="utf-8") as f:
        f.write("\n")
    win = open_window(qtbot, data)
    offer = win.reference_offer
    assert offer.banner.isVisible() and "No model trained on this catalog yet" in offer.label.text()
    assert win.session.table.predictions is None and (win.models.runner is None or not win.models.runner.busy)
    win.models_menu.aboutToShow.emit()
    assert offer.act_reference.isEnabled() and offer.act_reference in win.models_menu.actions()

    qtbot.mouseClick(offer.predict_button, Qt.MouseButton.LeftButton)
    _wait_predicted(qtbot, win)
    assert not offer.banner.isVisible()
    run = registry.active_run(win.session.ds.fingerprint)
    assert reference.is_reference(run) and run.id == win.session.table.model_version
    assert "reference" in win.model_label.text() or run.id in win.model_label.text()
    win.close()

    # the next time it opens, it has a model: no banner
    win = open_window(qtbot, data)
    assert not win.reference_offer.banner.isVisible()
    win.close()


def test_the_bundled_sample_opens_with_reference_predictions(qtbot, home_dir, reference_folder, sample_dir):
    win = open_window(qtbot, sample_dir)
    assert not win.reference_offer.banner.isVisible()
    assert not win.is_settled()  # the screenshot mode waits for this prediction
    _wait_predicted(qtbot, win)
    qtbot.waitUntil(win.is_settled, timeout=60000)
    # settled means the detail panel's similar products are there too (the README's screenshot)
    strip = win.lookalikes.strip
    assert len(strip.ids) == 10 and win.lookalikes.index is not None
    assert all(win.thumbs.cached(pid) for pid in strip.ids)  # their thumbnails, not "…" (a first open's screenshot)
    assert "product names" in win.lookalikes.index.source
    win.close()


def test_no_reference_shipped_no_offer(qtbot, home_dir, tmp_path, monkeypatch, sample_dir):
    from fashion_review import paths

    monkeypatch.setattr(paths, "REFERENCE_MODEL", tmp_path / "absent")
    win = open_window(qtbot, sample_dir)
    assert not win.reference_offer.banner.isVisible()
    win.models_menu.aboutToShow.emit()
    assert not win.reference_offer.act_reference.isEnabled()
    assert win.models.runner is None or not win.models.runner.busy
    win.close()
