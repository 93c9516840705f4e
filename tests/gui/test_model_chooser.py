"""Models > Choose model, and the app following `fashion-review models activate` from a terminal.

The README's smoke path trains without --activate; the app must then say there is a model to
choose, let the user choose it (predicting the catalog with it when it has no predictions yet),
and notice an activation made outside it.
"""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QDialog

from _gui_helpers import write_active_run

CHOOSER = "Choose the model the app shows"


def test_no_active_model_says_what_to_do(make_window):
    from fashion_review.gui.confusion import ConfusionMatrixView

    win = make_window(predictions=False)
    assert win.model_label.text() == "No model yet"
    view = win.confusion
    assert isinstance(view, ConfusionMatrixView)
    assert "Models > Retrain" in view.empty_label.text() and "Model > Predict catalog" not in view.empty_label.text()
    schemes = [view.scheme_combo.itemText(i) for i in range(view.scheme_combo.count())]
    assert schemes == ["gender_master", "subCategory", "articleType", "baseColour"]  # not an empty box
    assert not view.scheme_combo.isEnabled()


def test_choose_a_trained_run_and_it_predicts_the_catalog(make_window, qtbot, answered_dialogs, sample_dir):
    pytest.importorskip("keras")
    from _model_fixtures import sample_with_lite_run

    from fashion_review.training import registry

    ds, run = sample_with_lite_run(sample_dir, activate=False)  # `train` without --activate
    ds.close()
    win = make_window(predictions=False)
    assert win.model_label.text() == "No active model (1 trained run: Models > Choose model)"
    assert "Models > Choose model" in win.confusion.empty_label.text()
    seen = {}

    def choose(dlg):
        seen["rows"] = [(dlg.table.item(i, 0).text(), dlg.table.item(i, 1).text(), dlg.table.item(i, 3).text(),
                         dlg.table.item(i, 4).text(), dlg.table.item(i, 5).text())
                        for i in range(dlg.table.rowCount())]
        dlg.select(run.id)
        dlg.activate_button.click()
        return dlg.result()

    answered_dialogs.answers[CHOOSER] = choose
    win.act_choose.trigger()
    assert [d[:2] for d in answered_dialogs] == [("exec", CHOOSER)]
    (rid, recipe, corrections, accuracy, predictions), = seen["rows"]
    assert (rid, recipe, corrections, predictions) == (run.id, "xception-lite", "0", "not yet (predicts when chosen)")
    assert accuracy.splitlines()[0].startswith("gender_master ") and accuracy.endswith("(val)")  # not evaluated
    assert registry.active_run(win.session.ds.fingerprint).id == run.id
    assert win.models.runner is not None and win.models.runner.busy  # predicting in the worker, with its progress dialog
    assert win.models.runner.dialog is not None and win.models.runner.dialog.isVisible()
    with qtbot.waitSignal(win.models.runner.finished, timeout=120000):
        pass
    assert win.session.table.model_version == run.id and win.model_label.text() == f"Model: {run.id}"
    assert run.predictions_path.is_file()

    # chosen again, it is shown straight from its stored predictions; Cancel changes nothing
    answered_dialogs.answers[CHOOSER] = lambda dlg: QDialog.DialogCode.Rejected
    assert win.models.choose_model() is None
    assert registry.active_run(win.session.ds.fingerprint).id == run.id


def test_an_activation_from_the_terminal_is_followed(make_window, qtbot, capsys):
    from fashion_review.cli import main

    win = make_window()  # the fake run "test-run" is active, with predictions
    assert win.session.table.model_version == "test-run"
    write_active_run("run-b", seed=7)  # another run with predictions...
    write_active_run("test-run")  # ... while test-run stays the active one
    assert not win.models.active_watcher.check()  # nothing changed as far as the app is concerned
    assert main(["models", "activate", "run-b"]) == 0  # in a terminal
    assert "active model: run-b" in capsys.readouterr().out
    qtbot.waitUntil(lambda: win.session.table.model_version == "run-b", timeout=6000)  # the 2 s poll
    assert win.model_label.text() == "Model: run-b"
    assert "activated outside the app" in win.statusBar().currentMessage()


def test_a_run_activated_elsewhere_without_predictions_is_named(make_window, qtbot, home_dir):
    import json

    from fashion_review import paths
    from fashion_review.cli import main

    win = make_window()
    fp = win.session.ds.fingerprint
    folder = paths.models_home(fp) / "runs" / "run-c"
    folder.mkdir(parents=True)
    (folder / "run.json").write_text(json.dumps({"id": "run-c", "schemes": ["articleType"],
                                                 "classes": {"articleType": ["Heels"]}}), encoding="utf-8")
    assert main(["models", "activate", "run-c"]) == 0
    assert win.models.active_watcher.check()
    assert win.model_label.text() == "Model: test-run (the active model run-c has no predictions yet)"
    assert "Models > Predict the catalog" in win.statusBar().currentMessage()
    assert win.act_predict.isEnabled()
