"""The training subcommands: models (list / activate), evaluate, predict, and train's refusals.

They run in-process on the session's trained run (conftest), so no extra training happens here.
"""

from __future__ import annotations

import json
import os
import signal

import numpy as np
import pytest

from fashion_review.cli import main

# one worker for every module that uses the session's trained run (conftest.trained_run): trained once
pytestmark = pytest.mark.xdist_group("trained-run")

def _json(capsys):
    return json.loads(capsys.readouterr().out)


def test_models_lists_and_activates(home_dir, tiny_ds, tiny_catalog, trained_run, capsys):
    # a registry of its own (the shared run linked into this test's home), so activating here
    # changes nothing for the other tests
    from fashion_review.training import registry

    (registry.runs_dir(tiny_ds.fingerprint) / trained_run.id).symlink_to(trained_run.path)
    assert main(["models", "--data", str(tiny_catalog), "--json"]) == 0
    listing = _json(capsys)
    row = next(r for r in listing["runs"] if r["id"] == trained_run.id)
    assert row["schemes"] == trained_run.schemes and row["recipe"] == "xception-multihead"
    assert listing["active"] is None and row["active"] is False

    assert main(["models", "activate", trained_run.id, "--data", str(tiny_catalog)]) == 0
    assert f"active model: {trained_run.id}" in capsys.readouterr().out
    assert main(["models", "--data", str(tiny_catalog)]) == 0
    text = capsys.readouterr().out
    assert f"* {trained_run.id}" in text
    # the other order of options works too; an unknown run is a one-line error, the active run stays
    assert main(["models", "--data", str(tiny_catalog), "activate", trained_run.id]) == 0
    capsys.readouterr()
    assert main(["models", "activate", "20990101-000000-nope", "--data", str(tiny_catalog)]) == 2
    assert "no run '20990101-000000-nope'" in capsys.readouterr().err
    assert main(["models", "--data", str(tiny_catalog), "--json"]) == 0
    assert _json(capsys)["active"] == trained_run.id


def test_evaluate_a_run_folder_without_data(in_tiny_home, trained_run, predicted, capsys, tmp_path):
    out = tmp_path / "eval"
    assert main(["evaluate", "--run", str(trained_run.path), "--out", str(out), "--json"]) == 0
    summary = _json(capsys)
    assert summary["run"] == trained_run.id and summary["probabilities_from"] == "predictions.npz"
    assert set(summary["schemes"]) == set(trained_run.schemes)
    assert (out / "articleType" / "confusion.png").is_file() and (out / "summary.txt").is_file()


def test_predict_with_limit_to_a_file(in_tiny_home, tiny_catalog, trained_run, capsys, tmp_path):
    from fashion_review.review.predictions import load_predictions

    out = tmp_path / "p.npz"
    assert main(["predict", "--run", trained_run.id, "--data", str(tiny_catalog), "--limit", "5",
                 "--out", str(out), "--json"]) == 0
    info = _json(capsys)
    assert info["products"] == 5 and info["path"] == str(out)
    pred = load_predictions(out)
    assert len(pred) == 5 and pred.model_version == trained_run.id
    np.testing.assert_allclose(pred.probs["subCategory"].sum(axis=1), 1.0, rtol=1e-4)


def test_train_refusals_are_one_line_errors(in_tiny_home, tiny_catalog, capsys, tmp_path):
    import keras

    base = ["train", "--data", str(tiny_catalog), "--epochs", "1", "--image-size", "71"]
    assert main([*base, "--recipe", "xception-multihead", "--scheme", "articleType"]) == 2
    assert "trains its heads together" in capsys.readouterr().err
    assert main([*base, "--recipe", "xception-paper", "--activate", "--out", str(tmp_path / "r")]) == 2
    assert "--activate needs one run" in capsys.readouterr().err
    assert main([*base, "--recipe", "no-such-recipe"]) == 2
    assert "not found" in capsys.readouterr().err
    if keras.backend.backend() != "tensorflow":
        assert main([*base, "--strategy", "mirrored"]) == 2
        assert "needs Keras' TensorFlow backend" in capsys.readouterr().err


def test_first_ctrl_c_cancels_the_task_second_interrupts():
    from fashion_review.cli.train_cmds import _cancel_on_ctrl_c
    from fashion_review.tasks import Task

    task = Task()
    before = signal.getsignal(signal.SIGINT)
    with pytest.raises(KeyboardInterrupt):
        with _cancel_on_ctrl_c(task):
            os.kill(os.getpid(), signal.SIGINT)
            assert task.cancelled
            os.kill(os.getpid(), signal.SIGINT)
    assert signal.getsignal(signal.SIGINT) is before


def test_predict_and_evaluate_default_to_the_active_model(home_dir, tiny_ds, tiny_catalog, trained_run, capsys,
                                                          tmp_path):
    """`train`'s hint, then `predict` / `evaluate` with no --run: the data set's active model."""
    from fashion_review.cli.train_cmds import next_steps
    from fashion_review.training import registry

    (registry.runs_dir(tiny_ds.fingerprint) / trained_run.id).symlink_to(trained_run.path)
    data = ["--data", str(tiny_catalog)]
    assert main(["predict", *data, "--limit", "3", "--out", str(tmp_path / "p.npz")]) == 2
    err = capsys.readouterr().err
    assert "no active model" in err and "models activate RUN" in err and "one of its 1 run " in err

    hint = next_steps(trained_run, activated=False, data_args=f" --data {tiny_catalog}")
    assert f"fashion-review models activate {trained_run.id} --data {tiny_catalog}" in hint
    # the hint's first command, as printed, makes the next ones work without --run
    first = hint.split("next: ", 1)[1].split("   ")[0].split()
    assert first[:3] == ["fashion-review", "models", "activate"]
    assert main(first[1:]) == 0
    capsys.readouterr()
    assert main(["predict", *data, "--limit", "3", "--out", str(tmp_path / "p.npz"), "--json"]) == 0
    assert _json(capsys)["run"] == trained_run.id
    assert main(["evaluate", *data, "--out", str(tmp_path / "eval"), "--json"]) == 0
    assert _json(capsys)["run"] == trained_run.id
    activated = next_steps(trained_run, activated=True)
    assert "fashion-review predict " in activated and "--run" not in activated
