"""The one-click retrain dialog: what it shows, a tiny retrain to completion, and a cancel."""

from __future__ import annotations

import os

import pytest
from PySide6.QtCore import Qt
from _model_fixtures import sample_with_tiny_run

from fashion_review.gui import retrain
from fashion_review.training import registry

LIMIT = 160


@pytest.fixture(scope="module")
def env(tmp_path_factory, sample_dir):
    home = tmp_path_factory.mktemp("retrain-home")
    mp = pytest.MonkeyPatch()
    mp.setenv("FASHION_REVIEW_HOME", str(home))
    ds, run = sample_with_tiny_run(sample_dir)
    # the app always has the active model's predictions: the full retrain's "before" reads them
    import numpy as np

    from fashion_review.review.predictions import Predictions, save_predictions

    df = ds.catalog.df
    ids = df.index[df["has_image"].to_numpy()].to_numpy(np.int64)
    rng = np.random.default_rng(3)
    probs = {s: rng.dirichlet(np.ones(len(c)), len(ids)).astype(np.float32) for s, c in run.classes.items()}
    save_predictions(Predictions(ids, run.classes, probs, run.id), run.predictions_path)
    yield ds, run, home
    ds.close()
    mp.undo()


@pytest.fixture
def dialog(env, qtbot, monkeypatch):
    ds, run, home = env
    monkeypatch.setenv("FASHION_REVIEW_HOME", str(home))
    registry.activate(ds.fingerprint, run.id)  # each test starts from the untrained run, in any order
    dlg = retrain.RetrainDialog(ds, limit=LIMIT, image_size=71, device="CPU", ask_to_activate=False)
    qtbot.addWidget(dlg)
    dlg.show()
    return dlg


def test_a_class_filter_that_keeps_too_few_classes_is_said_before_start(env, qtbot, monkeypatch):
    """On a catalog too small for its threshold (the paper's 500 on a few dozen products, under Xvfb)
    the dialog offered Start and its estimate; the run then failed with '0 class(es) with at least 500
    usable images ... lower --min-images?'.  Now Start is off and the dialog says why and what to set."""
    ds, run, home = env
    monkeypatch.setenv("FASHION_REVIEW_HOME", str(home))
    registry.activate(ds.fingerprint, run.id)
    dlg = retrain.RetrainDialog(ds, limit=LIMIT, image_size=71, device="CPU", ask_to_activate=False,
                                min_images=100000)
    qtbot.addWidget(dlg)
    dlg.show()
    for radio in (dlg.heads_radio, dlg.full_radio):
        radio.setChecked(True)
        text = dlg.estimate_label.text()
        assert text.startswith("<b>Nothing to train:</b> gender_master keeps 0 classes with at least 100,000 images")
        assert "min_images" in text and "fashion-review.toml" in text
        assert not dlg.start_button.isEnabled()
    qtbot.mouseClick(dlg.start_button, Qt.MouseButton.LeftButton)
    assert dlg.worker is None and not dlg.busy
    dlg.close()


def test_dialog_shows_filter_recipe_and_estimate(dialog, env):
    ds, run, _ = env
    assert dialog.active_run.id == run.id
    assert dialog.mode == retrain.HEADS and dialog.heads_radio.isChecked()
    assert dialog.epochs_spin.value() == retrain.HEADS_DEFAULT_EPOCHS
    tree = dialog.filter_tree
    assert tree.topLevelItemCount() == 3
    top = tree.topLevelItem(2)
    assert top.text(0).startswith("articleType:") and "kept" in top.text(0)
    fs = dialog.summaries["articleType"]
    assert set(fs.kept) == set(run.classes["articleType"]) and fs.dropped  # the sample has rare classes
    assert top.child(0).childCount() == len(fs.kept)
    assert "estimate" in dialog.estimate_label.text()
    assert not dialog.gpu_note.isVisible()  # heads only: no GPU wanted, even on a CPU
    dialog.full_radio.setChecked(True)
    # no GPU here: full retraining starts from xception-lite, and the dialog says why
    from fashion_review.modeling.recipes import load_recipe

    assert dialog.recipe_combo.currentText() == "xception-lite" and dialog.recipe_combo.isEnabled()
    assert dialog.epochs_spin.value() == load_recipe("xception-lite").epochs
    # the size this test's dialog forces (image_size=71) is the size it would train at, and says so
    assert "71 x 71" in dialog.recipe_note.text() and "no GPU is visible" in dialog.recipe_note.text()
    assert not dialog.gpu_note.isVisible()  # the lite model trains on a laptop CPU
    dialog.recipe_combo.setCurrentText("xception-multihead")
    assert dialog.epochs_spin.value() == 10
    assert dialog.gpu_note.isVisible() and "GPU is recommended" in dialog.gpu_note.text()
    dialog.recipe_combo.setCurrentText("xception-paper")
    assert dialog.scheme_combo.isEnabled() and dialog.scheme_combo.currentText() == "articleType"
    assert dialog.filter_tree.topLevelItemCount() == 1


def test_heads_default_matches_training():
    from fashion_review.training.heads import DEFAULT_EPOCHS

    assert retrain.HEADS_DEFAULT_EPOCHS == DEFAULT_EPOCHS


def test_estimates():
    slow = retrain.estimate_full(30000, 4000, 10, 96, "CPU")
    fast = retrain.estimate_full(30000, 4000, 10, 96, "GPU: NVIDIA H100")
    assert slow.seconds > 20 * fast.seconds and "estimate" in slow.text()
    measured = retrain.estimate_full(30000, 4000, 10, 96, "CPU", measured=100.0)
    assert "measured" in measured.basis and measured.seconds < slow.seconds
    lite = retrain.estimate_full(30000, 4000, 10, None, "CPU", backbone="xception-lite")
    assert lite.seconds < slow.seconds / 10  # the CPU-sized model: minutes, not hours
    more = retrain.estimate_full(30000, 4000, 10, None, "CPU", backbone="xception-lite", validation=0.1)
    assert more.seconds > lite.seconds and "33,600 products" in more.basis  # 90 % of validation trains too
    cached = retrain.estimate_heads(0, 30000, 2, 96, "CPU", n_total=44000)
    cold = retrain.estimate_heads(44000, 30000, 2, 96, "CPU", n_total=44000)
    assert cold.seconds > cached.seconds and "already cached" in cached.basis


def test_heads_retrain_to_completion_then_activate(dialog, env, qtbot):
    ds, run, _ = env
    dialog.epochs_spin.setValue(1)
    with qtbot.waitSignal(dialog.ended, timeout=120000) as ended:
        dialog.start()
        assert dialog.busy and not dialog.start_button.isEnabled()
    assert ended.args == ["finished"], dialog.status_label.text() + dialog.status_label.toolTip()
    out = dialog.outcome
    assert out.mode == retrain.HEADS and out.parent.id == run.id
    assert out.run.record["parent"] == run.id
    assert dialog.results_table.rowCount() == 3 and dialog.results_box.isVisible()
    for line in dialog.changes_label.text().split("<br>")[1:]:  # only classes whose recall changed
        before, after = line.rsplit("recall ", 1)[1].split(" → ")
        assert before != after, line
    assert len(dialog.curves.x) > 0  # the live curves got the training progress
    assert f"the new run {out.run.id} is in the registry, whole" in dialog.status_label.text()
    # the results fit a laptop screen: the box's title once held the whole note, and a group box's title
    # does not wrap (the dialog grew to 1,639 pixels, its buttons off the screen)
    assert dialog.minimumSizeHint().width() <= 1280 - 16, dialog.minimumSizeHint()
    said = dialog.comparison_label.text()  # training/compare.py's words: on how many, what was not counted
    assert said == out.comparison_text() and said.startswith(f"Scored on {out.comparison.products:,} test product")
    assert "neither model trained on" in said
    assert registry.active_run(ds.fingerprint).id == run.id  # nothing activated without asking
    with qtbot.waitSignal(dialog.activated, timeout=5000) as act:
        dialog.activate_button.click()
    assert act.args[0].id == out.run.id == registry.active_run(ds.fingerprint).id


def test_full_retrain_to_completion(dialog, env, qtbot):
    ds, run, _ = env
    dialog.limit = 64
    dialog.full_radio.setChecked(True)
    dialog.recipe_combo.setCurrentText("xception-multihead")
    dialog.epochs_spin.setValue(1)
    with qtbot.waitSignal(dialog.ended, timeout=180000) as ended:
        dialog.start()
    assert ended.args == ["finished"], dialog.status_label.text() + dialog.status_label.toolTip()
    out = dialog.outcome
    assert out.mode == retrain.FULL and out.run.image_size == 71
    assert set(out.after) == set(out.before) == set(run.schemes)
    assert dialog.results_table.item(0, 1).text().replace(",", "").isdigit()  # the test products counted
    assert dialog.results_table.item(0, 2).text().endswith("%")
    assert "the new model's test part, today's labels" in dialog.results_note.text()
    assert "neither model trained on" in dialog.results_note.text()
    assert out.comparison is not None and dialog.comparison_label.text() == out.comparison_text()
    assert dialog.results_table.item(0, 1).text() == f"{out.after[out.accuracy_rows()[0][0]].total:,}"
    assert "is in the registry, whole" in dialog.status_label.text()
    assert registry.active_run(ds.fingerprint).id == run.id


def test_full_retrain_cancelled_leaves_registry_unchanged(dialog, env, qtbot):
    ds, run, _ = env
    before = sorted(os.listdir(registry.runs_dir(ds.fingerprint)))
    dialog.limit = 64
    dialog.full_radio.setChecked(True)
    dialog.epochs_spin.setValue(3)

    phases = []

    def cancel_when_building(p):  # before Keras traces the training step: a quick test
        phases.append(p.phase)
        if p.phase == "build":
            dialog.cancel()

    dialog.start().signals.progress.connect(cancel_when_building)
    with qtbot.waitSignal(dialog.ended, timeout=180000) as ended:
        pass
    assert ended.args == ["cancelled"] and "build" in phases and "train" not in phases
    assert "nothing was written: the registry is unchanged" in dialog.status_label.text()
    assert dialog.start_button.isEnabled() and dialog.outcome is None
    assert sorted(os.listdir(registry.runs_dir(ds.fingerprint))) == before
    assert registry.active_run(ds.fingerprint).id == run.id


def test_opening_the_dialog_does_not_import_keras(tmp_path, sample_dir):
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from PySide6.QtWidgets import QApplication\n"
        "app = QApplication([])\n"
        "from fashion_review.data import open_dataset\n"
        "from fashion_review.gui.retrain import RetrainDialog\n"
        f"ds = open_dataset({str(sample_dir)!r})\n"
        "dlg = RetrainDialog(ds, device='CPU')\n"
        "dlg.show(); app.processEvents()\n"
        "print(dlg.mode, [m for m in ('keras', 'tensorflow', 'torch') if m in sys.modules])\n"
    )
    env = {**os.environ, "FASHION_REVIEW_HOME": str(tmp_path), "QT_QPA_PLATFORM": "offscreen"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "full []"  # no active run: full retraining; no Keras


def test_full_retraining_over_the_reference_model_says_it_will_likely_be_weaker(dialog, env, qtbot):
    """On the bundled sample the reference model (33,513 training products) is the active model; a full
    retraining from scratch on the sample's few hundred scored 19 points lower on articleType, and
    nothing before Start said to expect it."""
    ds, run, _ = env
    reference = registry.RunInfo(run.path, {**run.record, "reference": {
        "note": "reference, not trained on this catalog", "trained_on": {"products": {"train": 33513}}}})
    dialog.active_run = reference  # as for a catalog whose active model is the imported reference
    qtbot.mouseClick(dialog.full_radio, Qt.MouseButton.LeftButton)
    text = dialog.estimate_label.text()
    assert "Likely weaker than the active model:" in text and "learned from 33,513" in text
    assert "Retrain heads only keeps its backbone" in text
    qtbot.mouseClick(dialog.heads_radio, Qt.MouseButton.LeftButton)
    assert "Likely weaker" not in dialog.estimate_label.text()
    dialog.active_run = run  # a model trained on this catalog: no such note
    qtbot.mouseClick(dialog.full_radio, Qt.MouseButton.LeftButton)
    assert "Likely weaker" not in dialog.estimate_label.text()


def test_the_status_line_names_what_is_running_in_words(dialog):
    """It read 'epoch_end: epoch 5/16 done: ...', the task's phase name (seen under Xvfb)."""
    from fashion_review.tasks import Progress

    worker_reports = [Progress("epoch_end", 0.31, "epoch 5/16 done: loss 3.7390, val_loss 3.1141"),
                      Progress("features", 0.5, "backbone features: 500 / 1,000 images, 90.0 images/s")]
    said = []
    for p in worker_reports:  # as the worker's progress signal delivers them
        dialog._on_progress(p)
        said.append(dialog.status_label.text())
    assert said == ["Training: epoch 5/16 done: loss 3.7390, val_loss 3.1141",
                    "Backbone features: 500 / 1,000 images, 90.0 images/s"]
