"""xception-lite trains through the project's own train / predict / evaluate, and is the CPU default."""

from __future__ import annotations

import json

import numpy as np

from fashion_review.cli import main



def test_train_without_a_recipe_takes_the_lite_recipe_on_a_cpu(home_dir, tiny_catalog, capsys, monkeypatch):
    from fashion_review.modeling import recipes

    monkeypatch.setattr("fashion_review.modeling.device.guess_device", lambda *a, **k: "CPU")
    assert main(["train", "--data", str(tiny_catalog), "--epochs", "1", "--json"]) == 0
    out = capsys.readouterr()
    assert "recipe xception-lite (no GPU is visible" in out.err
    (record,) = json.loads(out.out)
    assert record["recipe"]["name"] == recipes.CPU_DEFAULT_RECIPE
    assert record["image_size"] is None and record["input_shape"] == [80, 60, 3]
    assert record["training"]["epochs_run"] == 1


def test_one_epoch_then_predict_and_evaluate(home_dir, tiny_catalog):
    from fashion_review.data import open_dataset
    from fashion_review.training import registry
    from fashion_review.training.evaluate import evaluate
    from fashion_review.training.predict import predict
    from fashion_review.training.train import train

    ds = open_dataset(tiny_catalog)
    try:
        run = train(ds, "xception-lite", epochs=1, batch_size=16, seed=3)
        assert run.recipe == "xception-lite" and set(run.schemes) == {"gender_master", "subCategory", "articleType"}
        assert len(run.history()["loss"]) == 1 and np.isfinite(run.history()["loss"][0])
        model = registry.load_model(run)  # loads in safe mode, float32, no custom layers
        assert model.input_shape[1:] == (80, 60, 3)
        pred = predict(run, ds)
        for s in run.schemes:
            assert pred.probs[s].shape == (len(pred.ids), len(run.classes[s]))
            np.testing.assert_allclose(pred.probs[s].sum(1), 1.0, atol=1e-4)
            assert pred.embeddings[s].shape[0] == len(pred.ids)
        summary = evaluate(run, ds)
        assert set(summary["schemes"]) == set(run.schemes)
    finally:
        ds.close()


def test_kept_validation_share_is_what_the_run_records(home_dir, tiny_catalog):
    from fashion_review.data import open_dataset
    from fashion_review.modeling import load_recipe
    from fashion_review.training import registry
    from fashion_review.training.train import train

    ds = open_dataset(tiny_catalog)
    try:
        stored = ds.split("gender_master")
        recipe = load_recipe("xception-lite").replace(validation=0.5)
        run = train(ds, recipe, epochs=1, batch_size=16)
        split = registry.read_split(run)
        # the test part is the stored one; half (by hash) of the validation part moved to training
        both = split.index.intersection(stored.index)
        assert (split[both][stored[both] == "test"] == "test").all()
        assert (split[both][stored[both] == "train"] == "train").all()
        moved = (split[both][stored[both] == "val"] == "train").sum()
        assert 0 < moved < (stored[both] == "val").sum()
        assert run.record["data"]["products"]["val"] == int((split == "val").sum())
    finally:
        ds.close()
