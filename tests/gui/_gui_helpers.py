"""Helpers shared by the GUI tests (imported by name: tests/gui is on sys.path)."""

from __future__ import annotations

import json

import numpy as np

from fashion_review import paths
from fakes import fake_predictions
from fashion_review.review.predictions import save_predictions

RUN_ID = "test-run"


def write_active_run(run_id: str = RUN_ID, seed: int = 1, split=None):
    """Fake predictions of the sample saved as the active registry run (a minimal ``run.json``,
    ``predictions.npz`` and, given ``split`` (id -> part), the run's own ``split.csv``)."""
    from fashion_review.data import open_dataset

    ds = open_dataset(paths.SAMPLE_CATALOG)
    try:
        pred = fake_predictions(ds.effective(), min_images=ds.default_min_images, seed=seed, model_version=run_id)
        models = paths.models_home(ds.fingerprint)
        folder = models / "runs" / run_id
        folder.mkdir(parents=True, exist_ok=True)
        save_predictions(pred, folder / "predictions.npz")
        (folder / "run.json").write_text(json.dumps({"id": run_id, "schemes": pred.schemes,
                                                     "classes": pred.classes}), encoding="utf-8")
        if split is not None:
            split.rename("part").to_frame().to_csv(folder / "split.csv", index_label="id")
        (models / "active").write_text(run_id, encoding="utf-8")
    finally:
        ds.close()
    return pred



def rows_of(win) -> np.ndarray:
    """The product ids shown, in view order."""
    return win.model.pids(np.arange(win.model.rowCount()))


def open_window(qtbot, data, **settings):  # noqa: ANN001, ANN003, ANN201
    """A shown main window (author "tester", ``settings`` beside) once ``data`` has opened in it."""
    from fashion_review.gui.main_window import MainWindow
    from fashion_review.gui.settings import AppSettings

    win = MainWindow(AppSettings(author="tester", **settings))
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    with qtbot.waitSignal(win.loaded, timeout=30000):
        win.open_dataset(data)
    return win
