"""Training for real on a tiny catalog: both recipes train, a cancel leaves nothing behind, the run
folder holds what the registry promises, reloads in safe mode, evaluates and predicts consistently.

The multihead run (``trained_run``, conftest) trains in graph mode, as users run it; the paper
recipe's runs here use ``run_eagerly`` (under TensorFlow tracing Xception's training step takes
longer than the few batches of a tiny run).
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

IMAGE_SIZE = 71  # as in conftest.py
BATCH = 16

import keras  # noqa: E402

from fashion_review.tasks import Cancelled, Task  # noqa: E402
from fashion_review.training import registry  # noqa: E402

# one worker for every module that uses the session's trained run (conftest.trained_run): trained once
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("trained-run")]


def _no_temp_folders(tiny_ds) -> list[str]:
    d = registry.runs_dir(tiny_ds.fingerprint)
    return [p.name for p in d.iterdir() if p.name.startswith(".")]


# ------------------------------------------------------------------------------ the shared run


def test_multihead_run_folder_and_record(in_tiny_home, tiny_ds, trained_run, corrected):
    run = trained_run
    assert run.path.parent == registry.runs_dir(tiny_ds.fingerprint)
    for name in ("model.keras", "run.json", "history.json", "split.csv"):
        assert (run.path / name).is_file(), name
    rec = json.loads((run.path / "run.json").read_text())
    assert rec["id"] == run.id == run.path.name and run.id.endswith("-multi-xception-multihead")
    assert rec["recipe"]["name"] == "xception-multihead" and rec["recipe"]["epochs"] == 1
    assert rec["schemes"] == ["gender_master", "subCategory", "articleType"]
    assert rec["classes"]["articleType"] == ["Casual Shoes", "Jeans", "Tshirts", "Watches"]
    assert "Dress" not in rec["classes"]["subCategory"]
    assert rec["image_size"] == IMAGE_SIZE
    assert rec["data"]["fingerprint"] == tiny_ds.fingerprint
    assert len(rec["data"]["split_fingerprint"]) == 16
    assert rec["data"]["corrections"] == 2  # the relabel and the exclusion, both seen
    assert rec["data"]["part_scheme"] == "gender_master"
    assert rec["training"]["epochs_run"] == 1 and rec["training"]["best_epoch"] == 1
    assert rec["training"]["pipeline"] == ("tf.data" if keras.backend.backend() == "tensorflow" else "PyDataset")
    assert rec["created"]
    hist = json.loads((run.path / "history.json").read_text())
    for key in ("loss", "val_loss", "articleType_accuracy", "val_gender_master_accuracy"):
        assert len(hist[key]) == 1, key
    for s in rec["schemes"]:
        assert 0.0 <= rec["metrics"][s]["val_accuracy"] <= 1.0
    # in the registry's listing, and not made active by training
    assert run.id in [r.id for r in registry.list_runs(tiny_ds.fingerprint)]
    assert registry.active_run(tiny_ds.fingerprint) is None
    assert _no_temp_folders(tiny_ds) == []


def test_the_run_learned_from_the_corrected_catalog(in_tiny_home, tiny_ds, trained_run, corrected):
    moved, new_label, excluded = corrected
    split = pd.read_csv(trained_run.split_path).set_index("id")
    assert split.at[moved, "articleType"] == new_label  # the label the pipeline fed is the corrected one
    assert excluded not in split.index  # excluded: not trained, validated or tested on
    eff = tiny_ds.effective()
    dresses = eff.index[eff["articleType"] == "Dresses"]
    dresses = dresses[dresses.isin(tiny_ds.usable("gender_master").index)]
    # Dresses: a class articleType's filter drops, still a gender_master example (masked, not dropped)
    assert len(dresses) and set(dresses) <= set(split.index)
    assert split.loc[dresses, "articleType"].isna().all()
    assert split.loc[dresses, "gender_master"].notna().all()
    assert set(split["part"]) == {"train", "val", "test"}


def test_reload_in_safe_mode(in_tiny_home, trained_run):
    model = registry.load_model(trained_run.id)
    for s, classes in trained_run.classes.items():
        assert model.get_layer(s).output.shape[-1] == len(classes)
    x = np.zeros((2, 80, 60, 3), np.uint8)
    out = model.predict(x, verbose=0)
    assert set(out) == set(trained_run.schemes)
    np.testing.assert_allclose(np.asarray(out["articleType"]).sum(axis=1), 1.0, rtol=1e-5)


def test_truncated_model_file_is_refused(in_tiny_home, trained_run, tmp_path):
    import shutil

    from fashion_review.errors import ModelError

    bad = tmp_path / "run"
    shutil.copytree(trained_run.path, bad, ignore=shutil.ignore_patterns("*.npz", "eval"))
    data = (bad / "model.keras").read_bytes()
    (bad / "model.keras").write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelError, match="truncated or corrupt"):
        registry.load_model(bad)


# ------------------------------------------------------------------------ evaluation, prediction


def test_predict_every_product_with_an_image(in_tiny_home, tiny_ds, trained_run, predicted):
    from fashion_review.review.predictions import load_predictions

    df = tiny_ds.catalog.df
    with_image = np.sort(df.index[df["has_image"].to_numpy()].to_numpy())
    assert len(with_image) < len(df)  # the tiny catalog has products without an image
    pred = load_predictions(trained_run.predictions_path)
    np.testing.assert_array_equal(pred.ids, with_image)
    assert pred.model_version == trained_run.id
    assert pred.classes == trained_run.classes
    for s in trained_run.schemes:
        assert pred.probs[s].shape == (len(with_image), len(trained_run.classes[s]))
        np.testing.assert_allclose(pred.probs[s].sum(axis=1), 1.0, rtol=1e-4)
        assert pred.embeddings[s].shape == (len(with_image), 1024) and pred.embeddings[s].dtype == np.float16
        assert np.isfinite(pred.embeddings[s].astype(np.float32)).all()


def test_evaluation_artifacts_are_complete_and_consistent(in_tiny_home, tiny_ds, trained_run, evaluated):
    assert evaluated["probabilities_from"] == "predictions.npz"
    split = pd.read_csv(trained_run.split_path).set_index("id")
    for s in trained_run.schemes:
        d = trained_run.eval_dir / s
        for name in ("metrics.json", "report.txt", "report.json", "confusion.json", "confusion.png",
                     "confusion_normalised.png", "pr_curves.json", "pr_curves.png", "training_curves.png"):
            assert (d / name).is_file() and (d / name).stat().st_size > 0, f"{s}/{name}"
        for png in d.glob("*.png"):
            assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        m = evaluated["schemes"][s]
        n_test = int(((split["part"] == "test") & split[s].notna()).sum())
        assert m["products"]["test"] == n_test > 0
        cm = json.loads((d / "confusion.json").read_text())
        counts = np.array(cm["counts"])
        assert counts.sum() == n_test
        assert cm["classes"] == trained_run.classes[s]
        norm = np.array(cm["normalised"])
        rows = counts.sum(axis=1) > 0
        np.testing.assert_allclose(norm[rows].sum(axis=1), 1.0, atol=1e-5)
        assert np.trace(counts) / n_test == pytest.approx(m["test_accuracy"])
        report = json.loads((d / "report.json").read_text())
        assert sum(report[c]["support"] for c in trained_run.classes[s]) == n_test
        assert report["macro avg"]["support"] == report["weighted avg"]["support"] == n_test
        assert report["accuracy"] == pytest.approx(m["test_accuracy"])
        assert "macro avg" in (d / "report.txt").read_text()
        pr = json.loads((d / "pr_curves.json").read_text())
        assert set(pr["average_precision"]) <= set(trained_run.classes[s])
        assert all(0.0 <= v <= 1.0 for v in pr["average_precision"].values())
        for part in ("train", "val", "test"):
            assert 0.0 <= m[f"{part}_accuracy"] <= 1.0
    assert (trained_run.eval_dir / "summary.json").is_file()
    table = (trained_run.eval_dir / "summary.txt").read_text()
    assert all(s in table for s in trained_run.schemes)
    rec = registry.get_run(trained_run.id, tiny_ds.fingerprint)
    assert rec.metrics["articleType"]["test_accuracy"] == evaluated["schemes"]["articleType"]["test_accuracy"]


# ----------------------------------------------------------------- the paper recipe, cancel, again


def test_paper_recipe_cancel_mid_epoch_then_train_again(in_tiny_home, tiny_ds, corrected):
    from fashion_review.training.train import train

    before = sorted(p.name for p in registry.runs_dir(tiny_ds.fingerprint).iterdir())
    batches_seen = []

    def on_progress(p):
        if p.phase == "train" and not p.info.get("validating"):
            batches_seen.append(p.info["batch"])
            assert {"epoch", "epochs", "batch", "batches", "loss", "accuracy", "images_per_s", "eta_s"} <= set(p.info)
            if p.info["batch"] == 1:
                task.cancel()

    task = Task(on_progress)
    with pytest.raises(Cancelled):
        train(tiny_ds, "xception-paper", schemes="articleType", epochs=1, batch_size=BATCH, image_size=IMAGE_SIZE,
              limit=48, task=task, run_eagerly=True)
    assert batches_seen == [1]  # stopped within one batch: no second batch ran
    assert sorted(p.name for p in registry.runs_dir(tiny_ds.fingerprint).iterdir()) == before
    assert _no_temp_folders(tiny_ds) == []

    reports = []
    run = train(tiny_ds, "xception-paper", schemes="articleType", epochs=1, batch_size=BATCH, image_size=IMAGE_SIZE,
                limit=48, task=Task(reports.append), run_eagerly=True)
    assert run.id.endswith("-articleType-xception-paper")
    assert run.schemes == ["articleType"] and run.kind == "single"
    ends = [p for p in reports if p.phase == "epoch_end"]
    assert len(ends) == 1 and {"loss", "accuracy", "val_loss", "val_accuracy"} <= set(ends[0].info["logs"])
    assert sorted(p.name for p in registry.runs_dir(tiny_ds.fingerprint).iterdir()) == sorted(before + [run.id])
    model = registry.load_model(run)
    assert model.output.shape[-1] == len(run.classes["articleType"])
    assert run.record["recipe"]["head"]["pooling"] == "flatten"

    # evaluated without a predictions file: the probabilities are computed from the model
    from fashion_review.training.evaluate import evaluate

    summary = evaluate(run, tiny_ds)
    assert summary["probabilities_from"] == "model"
    split = pd.read_csv(run.split_path)
    assert len(split) == 48
    n_test = int(((split["part"] == "test") & split["articleType"].notna()).sum())
    cm = np.array(json.loads((run.eval_dir / "articleType" / "confusion.json").read_text())["counts"])
    assert cm.sum() == n_test == summary["schemes"]["articleType"]["products"]["test"]
