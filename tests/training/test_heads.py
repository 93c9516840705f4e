"""Retrain heads: model surgery, the feature cache, and a tiny end-to-end run on the sample.

An untrained backbone of the tiny lite network (``sample_with_tiny_run``): the heads path only needs a
registry run to start from; what it must get right is that the backbone stays, the heads change,
the new run predicts from the same layout, and a cancel leaves the registry alone.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

import keras  # noqa: E402

from _model_fixtures import TINY_NETWORK  # noqa: E402
from fashion_review.tasks import Cancelled, Task  # noqa: E402
from fashion_review.training import heads, registry  # noqa: E402

LIMIT = 240  # products the tiny runs use
FEATURES = TINY_NETWORK["exit"][-1]  # what the tiny lite backbone's pooling gives the heads


@pytest.fixture
def env(tmp_path, monkeypatch, sample_dir):
    """A home of the test's own with the sample and an untrained run (copied from a per-process
    template), so each test starts with an empty feature cache, whatever ran before it."""
    from _model_fixtures import sample_with_tiny_run

    monkeypatch.setenv("FASHION_REVIEW_HOME", str(tmp_path / "home"))
    ds, run = sample_with_tiny_run(sample_dir)
    yield ds, run
    ds.close()


@pytest.fixture
def sample_ds(env):
    return env[0]


@pytest.fixture
def parent_run(env):
    return env[1]


def _weights(layer_or_model):
    return [np.asarray(keras.ops.convert_to_numpy(w)) for w in layer_or_model.weights]


def relabel(ds, pids, scheme, label):
    from fashion_review.data.corrections import Change
    from fashion_review.data.schemes import fields_for_label

    eff = ds.effective()
    changes = [Change(int(p), f, str(eff.at[int(p), f]), v)
               for p in pids for f, v in fields_for_label(scheme, label).items() if str(eff.at[int(p), f]) != v]
    return ds.store.record(changes, author="test")


def test_split_model_finds_backbone_and_heads(parent_run):
    model = registry.load_model(parent_run)
    parts = heads.split_model(model, parent_run.schemes)
    assert parts.pooled and parts.dict_output
    assert set(parts.schemes) == {"gender_master", "subCategory", "articleType"}
    chain = [layer.name for layer in parts.chains["articleType"]]
    assert chain[0] == "articleType_pool" and chain[-1] == "articleType" and "articleType_embedding" in chain
    assert tuple(parts.feature_tensor.shape[1:]) == (FEATURES,)
    assert parts.num_classes("articleType") == len(parent_run.classes["articleType"])


def test_paper_model_flatten_head_and_warm_start_by_class_name():
    from fashion_review.modeling import make_model

    model = make_model("xception-paper", 3, scheme="articleType", image_size=71)
    parts = heads.split_model(model)
    assert parts.pooled and not parts.dict_output
    assert [type(layer).__name__ for layer in parts.chains["articleType"]] == [
        "Flatten", "Dense", "Dropout", "Dense", "Dropout", "Dense"]
    assert tuple(parts.feature_tensor.shape[1:]) == (3 * 3 * 2048,)
    old_classes = {"articleType": ["Flats", "Heels", "Sandals"]}
    new_classes = {"articleType": ["Boots", "Heels", "Flats", "Sandals"]}  # a class added, order changed
    nh = heads.build_new_heads(parts, old_classes, new_classes)
    old_soft, new_soft = parts.chains["articleType"][-1], nh.full_model.get_layer("articleType")
    ow, ob = _weights(old_soft)
    nw, nb = _weights(new_soft)
    assert nw.shape == (1024, 4)
    np.testing.assert_array_equal(nw[:, 2], ow[:, 0])  # Flats
    np.testing.assert_array_equal(nw[:, 1], ow[:, 1])  # Heels
    np.testing.assert_array_equal(nw[:, 3], ow[:, 2])  # Sandals
    np.testing.assert_array_equal(_weights(nh.full_model.get_layer("embedding"))[0],
                                  _weights(model.get_layer("embedding"))[0])
    assert nh.full_model.output_names == ["articleType"]
    assert tuple(nh.full_model.outputs[0].shape) == (None, 4)
    assert tuple(nh.head_model.inputs[0].shape) == (None, 3 * 3 * 2048)


def test_feature_extraction_resumes_after_a_cancel(parent_run, sample_ds):
    from fashion_review.training.pipeline import ensure_image_cache, labelled_set

    images = ensure_image_cache(sample_ds)
    parts = heads.split_model(registry.load_model(parent_run), parent_run.schemes)
    ids = np.sort(labelled_set(sample_ds, parent_run.schemes, multihead=True, limit=LIMIT, cache=images).ids)[:96]
    key = parent_run.id
    seen = []

    def stop_after_first(p):
        seen.append(p)
        if p.phase == "features":
            task.cancel()

    task = Task(stop_after_first)
    with pytest.raises(Cancelled):
        heads.ensure_features(parts, key, images, ids, Path(sample_ds.home), batch_size=32, task=task)
    assert heads.open_feature_cache(heads.features_dir(Path(sample_ds.home), key)) is None
    cache, stats = heads.ensure_features(parts, key, images, ids, Path(sample_ds.home), batch_size=32)
    assert stats["computed"] == 96 - 32 and cache.features.shape == (96, FEATURES)
    direct = parts.feature_model().predict(images.get(ids[:4]), verbose=0)
    assert cache.features.dtype == np.float32  # pooled features: float32
    np.testing.assert_allclose(cache.get(ids[:4]), direct, rtol=1e-5, atol=1e-6)
    cache2, stats2 = heads.ensure_features(parts, key, images, ids[:50], Path(sample_ds.home))
    assert stats2["computed"] == 0


def _cache_first(ds, run, n):
    """Compute the features of the first ``n`` products a LIMIT-run trains on (what a cancelled
    extraction or a predict would have left cached)."""
    from fashion_review.training.pipeline import ensure_image_cache, labelled_set

    images = ensure_image_cache(ds)
    parts = heads.split_model(registry.load_model(run), run.schemes)
    ids = np.sort(labelled_set(ds, run.schemes, multihead=True, limit=LIMIT, cache=images).ids)[:n]
    heads.ensure_features(parts, run.id, images, ids, Path(ds.home), batch_size=32)
    return ids


_FEATURES: dict[str, Path] = {}  # run id -> a complete cache of its LIMIT products, made once per process


def _with_cached_features(ds, run, tmp_path_factory):
    """This test's home gets the features of the run's LIMIT products, computed once per process and
    copied, so each test starts from the same state whichever ran before it (and none recomputes)."""
    import shutil

    final = heads.features_dir(Path(ds.home), run.id)
    if run.id not in _FEATURES:
        _cache_first(ds, run, LIMIT)
        keep = tmp_path_factory.mktemp("features-template") / run.id
        shutil.copytree(final, keep)
        _FEATURES[run.id] = keep
    elif not final.exists():
        final.parent.mkdir(parents=True, exist_ok=True)
        shutil.copytree(_FEATURES[run.id], final)


def test_retrain_heads_keeps_the_backbone_and_learns_the_corrections(parent_run, sample_ds):
    from fashion_review.review.predictions import load_predictions
    from fashion_review.training.pipeline import ensure_image_cache, labelled_set

    ds = sample_ds
    _cache_first(ds, parent_run, 96)
    data = labelled_set(ds, parent_run.schemes, multihead=True, limit=LIMIT)
    classes = data.classes["articleType"]
    target = classes[0]
    train_ids, train_labels = data.part("train")
    movers = train_ids[(train_labels["articleType"] >= 0) & (train_labels["articleType"] != 0)][:40]
    relabel(ds, movers, "articleType", target)
    runs_before = [r.id for r in registry.list_runs(ds.fingerprint)]
    phases = []
    res = heads.retrain_heads(ds, limit=LIMIT, epochs=4, batch_size=32, lr=3e-3,
                              task=Task(lambda p: phases.append(p.phase)))
    assert {"features", "train", "epoch_end"} <= set(phases)
    assert res.parent.id == parent_run.id and res.run.record["parent"] == parent_run.id
    assert res.run.record["training"]["heads_only"] is True
    assert res.run.id not in runs_before
    assert registry.active_run(ds.fingerprint).id == parent_run.id  # activating is the caller's choice
    assert set(res.before) == set(res.after) == set(parent_run.schemes)

    old = registry.load_model(parent_run)
    new = registry.load_model(res.run)  # safe mode, classes checked against run.json
    old_parts = heads.split_model(old, parent_run.schemes)
    new_parts = heads.split_model(new, res.run.schemes)
    for a, b in zip(_weights(old_parts.backbone), _weights(new_parts.backbone)):
        np.testing.assert_array_equal(a, b)
    assert [layer.name for layer in new.layers] == [layer.name for layer in old.layers]
    changed = [not np.array_equal(a, b) for a, b in zip(_weights(old.get_layer("articleType_embedding")),
                                                        _weights(new.get_layer("articleType_embedding")))]
    assert all(changed)

    # the corrected products: the new model predicts their new label far more often than the old one
    pred = load_predictions(res.run.predictions_path)
    assert pred.model_version == res.run.id and set(pred.schemes) == set(parent_run.schemes)
    assert pred.embeddings["articleType"].shape[1] == parent_run.record["recipe"]["head"]["units"][-1]
    x = ensure_image_cache(ds).get(movers)
    cache = heads.open_feature_cache(heads.features_dir(Path(ds.home), parent_run.id))
    old_out = heads.predict_heads(heads.old_head_model(old_parts), cache, movers)["articleType"]
    old_hits = (old_out.argmax(1) == 0).mean()
    new_out = new.predict(x, verbose=0)["articleType"]
    new_hits = (new_out.argmax(1) == res.run.classes["articleType"].index(target)).mean()
    assert new_hits >= 0.5 and new_hits > old_hits
    # predictions.npz (from cached features) agree with the saved model run on the images
    rows = pred.index_of(movers[:8])
    np.testing.assert_allclose(pred.probs["articleType"][rows], new_out[:8], atol=5e-3)

    assert res.feature_stats["computed"] == LIMIT - 96  # the rest came from the cache


def test_a_heads_run_shares_its_backbone_instead_of_copying_it(parent_run, sample_ds):
    """A heads run stores heads.keras and a reference; loading composes; heads of heads share the root."""
    import shutil

    from fashion_review.errors import ModelError

    first = heads.retrain_heads(sample_ds, parent_run, limit=LIMIT, epochs=1, batch_size=32).run
    assert (first.path / registry.HEADS_FILE).is_file() and not first.model_path.exists()
    assert first.record["backbone"]["run"] == first.backbone_id == parent_run.id
    heads_bytes = first.heads_path.stat().st_size
    assert heads_bytes < parent_run.model_path.stat().st_size / 2, heads_bytes  # the backbone is not in it

    second = heads.retrain_heads(sample_ds, first, limit=LIMIT, epochs=1, batch_size=32)
    run2 = second.run
    assert run2.record["parent"] == first.id and run2.backbone_id == parent_run.id  # the root, not a chain
    assert second.feature_stats["computed"] == 0  # one backbone, one feature cache, whatever the heads
    base = registry.load_model(parent_run)
    m2 = registry.load_model(run2)
    for a, b in zip(_weights(heads.split_model(base).backbone), _weights(heads.split_model(m2).backbone)):
        np.testing.assert_array_equal(a, b)
    # its stored predictions are what the composed model predicts
    from fashion_review.review.predictions import load_predictions
    from fashion_review.training.pipeline import ensure_image_cache

    pred = load_predictions(run2.predictions_path)
    some = pred.ids[:6]
    out = m2.predict(ensure_image_cache(sample_ds).get(some), verbose=0)
    np.testing.assert_allclose(pred.probs["subCategory"][pred.index_of(some)], out["subCategory"], atol=5e-3)

    # the backbone's run gone: a clear error naming it, not a Keras traceback
    moved = parent_run.path.with_name(parent_run.path.name + ".away")
    shutil.move(parent_run.path, moved)
    try:
        with pytest.raises(ModelError, match=f"backbone is the model of run {parent_run.id}, which is missing"):
            registry.load_model(run2)
    finally:
        shutil.move(moved, parent_run.path)
    shutil.rmtree(run2.path)
    shutil.rmtree(first.path)


def test_cancel_leaves_the_registry_unchanged(parent_run, sample_ds, tmp_path_factory):
    _with_cached_features(sample_ds, parent_run, tmp_path_factory)
    before = sorted(os.listdir(registry.runs_dir(sample_ds.fingerprint)))

    phases = []

    def cancel_in_training(p):
        phases.append(p.phase)
        if p.phase == "train":
            task.cancel()

    task = Task(cancel_in_training)
    with pytest.raises(Cancelled):
        heads.retrain_heads(sample_ds, parent_run, limit=LIMIT, epochs=3, batch_size=16, task=task)
    assert "features" not in phases  # all cached above
    assert phases[-1] == "train"
    assert sorted(os.listdir(registry.runs_dir(sample_ds.fingerprint))) == before
    assert registry.active_run(sample_ds.fingerprint).id == parent_run.id


def test_no_active_run_is_a_clear_error(sample_dir):
    from fashion_review.data import open_dataset
    from fashion_review.errors import ModelError

    ds = open_dataset(sample_dir)  # a fresh home: no runs
    try:
        with pytest.raises(ModelError, match="no active model"):
            heads.retrain_heads(ds)
    finally:
        ds.close()


def test_parts_come_from_the_parents_own_split(parent_run, sample_ds, tmp_path_factory):
    """A copied run, another home, a deleted split file: the backbone's training products stay out
    of the heads' test part, because the parts are read from the parent's split.csv."""
    import pandas as pd

    ds = sample_ds
    stored = ds.split("gender_master", effective=ds.effective())  # what this home's splits say
    recorded = pd.read_csv(parent_run.split_path)
    # The parent trained elsewhere: it trained on products this home's split puts in the test part.
    test_here = recorded.index[recorded["id"].map(stored).eq("test").to_numpy()][:30]
    moved = recorded.loc[test_here, "id"].to_numpy()
    recorded.loc[test_here, "part"] = "train"
    recorded.to_csv(parent_run.split_path, index=False)
    _with_cached_features(ds, parent_run, tmp_path_factory)

    res = heads.retrain_heads(ds, parent_run, limit=LIMIT, epochs=1, batch_size=64)
    child = registry.read_split(res.run)
    assert set(moved[np.isin(moved, child.index)]) and not (child.reindex(moved).dropna() == "test").any()
    parent_parts = registry.read_split(parent_run)
    common = child.index.intersection(parent_parts.index)
    assert (child[common] == parent_parts[common]).all()
    assert res.run.record["data"]["part_scheme"] == f"run:{parent_run.id}"
    assert res.comparison.products == int((child == "test").sum())
    assert res.comparison.left_out == {"trained_by_parent": 0}
    assert res.parts["from_parent"] == len(common)


def test_a_parent_without_its_split_file_is_refused(parent_run, sample_ds):
    from fashion_review.errors import ModelError

    parent_run.split_path.unlink()
    before = sorted(os.listdir(registry.runs_dir(sample_ds.fingerprint)))
    with pytest.raises(ModelError, match="which products the backbone trained on"):
        heads.retrain_heads(sample_ds, parent_run, limit=LIMIT, epochs=1)
    assert sorted(os.listdir(registry.runs_dir(sample_ds.fingerprint))) == before


def test_a_run_is_whole_or_absent(parent_run, sample_ds, monkeypatch, tmp_path_factory):
    """The predictions are written into the run folder before it is renamed into the registry: when
    writing them fails (a full disk) or the job is cancelled then, no run appears."""
    from fashion_review.review import predictions

    _with_cached_features(sample_ds, parent_run, tmp_path_factory)
    before = sorted(os.listdir(registry.runs_dir(sample_ds.fingerprint)))

    def disk_full(pred, path):
        raise OSError(28, "No space left on device", str(path))

    with monkeypatch.context() as mp:
        mp.setattr(predictions, "save_predictions", disk_full)
        with pytest.raises(OSError, match="No space left"):
            heads.retrain_heads(sample_ds, parent_run, limit=LIMIT, epochs=1, batch_size=64)
    assert sorted(os.listdir(registry.runs_dir(sample_ds.fingerprint))) == before

    def cancel_when_saving(p):
        if p.phase == "save":
            task.cancel()

    task = Task(cancel_when_saving)
    with pytest.raises(Cancelled):
        heads.retrain_heads(sample_ds, parent_run, limit=LIMIT, epochs=1, batch_size=64, task=task)
    assert sorted(os.listdir(registry.runs_dir(sample_ds.fingerprint))) == before

    res = heads.retrain_heads(sample_ds, parent_run, limit=LIMIT, epochs=1, batch_size=64)
    from fashion_review.review.predictions import load_predictions

    assert load_predictions(res.run.predictions_path).model_version == res.run.id


def test_retrain_heads_command(parent_run, sample_ds, sample_dir, capsys, tmp_path_factory):
    import json

    from fashion_review.cli import main

    _with_cached_features(sample_ds, parent_run, tmp_path_factory)
    rc = main(["retrain-heads", "--data", str(sample_dir), "--limit", str(LIMIT), "--epochs", "1", "--json",
               "--activate"])
    out = json.loads(capsys.readouterr().out)
    assert rc == 0 and out["parent"] == parent_run.id and out["active"] is True
    assert registry.active_run(sample_ds.fingerprint).id == out["run"]
    assert out["comparison"]["products"] > 0 and set(out["comparison"]["after"]) == set(parent_run.schemes)
    rc = main(["retrain-heads", "--data", str(sample_dir), "--run", parent_run.id, "--limit", str(LIMIT),
               "--epochs", "1"])
    text = capsys.readouterr().out
    assert rc == 0 and "neither model trained on" in text and "articleType" in text and "before" in text
