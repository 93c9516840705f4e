"""The reference model: its import into a catalog's registry, `predict` without a run, and the
shipped model's accuracy on the bundled sample, whose products it never saw."""

from __future__ import annotations

import json

import numpy as np
import pytest

from fashion_review.cli import main

pytest.importorskip("keras")

from _model_fixtures import REFERENCE_TRAINED, make_reference_folder  # noqa: E402


@pytest.fixture
def tiny_reference(home_dir, tiny_catalog, tmp_path, monkeypatch):
    from fashion_review import paths
    from fashion_review.data import open_dataset

    ds = open_dataset(tiny_catalog)
    with_image = ds.catalog.df.index[ds.catalog.df["has_image"]].to_numpy()
    seen = [int(i) for i in with_image[:10]]
    folder = tmp_path / "reference-model"
    model = make_reference_folder(folder, ds, seen_ids=seen, wrong_name_id=seen[-1])
    monkeypatch.setattr(paths, "REFERENCE_MODEL", folder)
    yield ds, folder, seen, model
    ds.close()


def test_import_marks_the_run_and_says_what_it_has_seen(tiny_reference):
    from fashion_review.training import reference, registry

    ds, folder, seen, model = tiny_reference
    assert reference.available(folder)
    run = reference.import_reference(ds)
    assert run.record["reference"]["note"] == "reference, not trained on this catalog"
    assert reference.is_reference(run) and registry.active_run(ds.fingerprint).id == run.id
    split = registry.read_split(run)
    # seen under the same id and name: trained on; same id, another name: another product (out of sample)
    assert (split[seen[:-1]] == "train").all() and split[seen[-1]] == "test"
    assert (split.drop(seen) == "test").all()
    assert run.record["reference"]["products_seen_in_training"] == len(seen) - 1
    # the float16 weights make the same model (within float16's precision)
    loaded = registry.load_model(run)
    for a, b in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_allclose(a, b, rtol=2e-3, atol=1e-3)
    assert reference.import_reference(ds).id == run.id  # once per data set
    assert len(registry.list_runs(ds.fingerprint)) == 1
    # trained elsewhere before the import: its date is its own, in the registry and in Choose model
    # (which showed the import's time as "Trained")
    assert run.trained == REFERENCE_TRAINED and run.created != REFERENCE_TRAINED
    from fashion_review.gui.model_chooser import run_rows

    (row,) = run_rows(ds.fingerprint)
    assert row.trained == "2026-12-02 02:20 (reference)"
    # not evaluated here: its accuracy on its own test part, said to be that (it showed none)
    own = run.record["reference"]["reference_metrics"]
    assert row.accuracy == {s: (own[s]["test_accuracy"], "reference") for s in own}
    assert row.accuracy_text().count("(own test)") == len(own)


def test_predict_without_a_run_uses_the_reference_when_the_catalog_has_none(tiny_reference, tiny_catalog, capsys):
    from fashion_review.training import registry

    ds, *_ = tiny_reference
    assert main(["predict", "--data", str(tiny_catalog), "--json"]) == 0
    out = capsys.readouterr()
    assert "no model trained on this catalog yet: using the reference model" in out.err
    result = json.loads(out.out)
    assert result["run"].startswith("reference-") and result["products"] == int(ds.catalog.df["has_image"].sum())
    # now the catalog has a model: the next call uses it, and says so
    assert main(["predict", "--data", str(tiny_catalog), "--json"]) == 0
    assert f"using the active model {result['run']}" in capsys.readouterr().err
    # runs but none active: a one-line error naming the way out
    (registry.paths.models_home(ds.fingerprint) / registry.ACTIVE).unlink()
    assert main(["predict", "--data", str(tiny_catalog)]) == 2
    assert "no active model" in capsys.readouterr().err


def test_no_reference_shipped_is_a_clear_error(home_dir, tiny_catalog, tmp_path, monkeypatch, capsys):
    from fashion_review import paths

    monkeypatch.setattr(paths, "REFERENCE_MODEL", tmp_path / "absent")
    assert main(["predict", "--data", str(tiny_catalog)]) == 2
    assert "no reference model shipped" in capsys.readouterr().err


def test_the_shipped_reference_model_on_the_bundled_sample(home_dir, sample_dir):
    """The reference model in resources/ never saw the sample's products, and labels them well."""
    from fashion_review import paths
    from fashion_review.data import open_dataset
    from fashion_review.review import metrics
    from fashion_review.training import reference, registry
    from fashion_review.training.predict import predict

    assert reference.available(), f"no reference model in {paths.REFERENCE_MODEL} (scripts/train_reference.py)"
    size = sum(p.stat().st_size for p in paths.REFERENCE_MODEL.iterdir())
    assert size <= 10_000_000, f"{size:,} bytes: the reference model must stay under 10 MB"
    ds = open_dataset(sample_dir)
    try:
        run = reference.import_reference(ds)
        split = registry.read_split(run)
        assert (split == "test").all(), "the sample's products must be held out of the reference's training"
        pred = predict(run, ds)
        accuracy = {}
        for s in run.schemes:
            names, _ = pred.predicted(s)
            given = ds.usable(s).reindex(pred.ids).to_numpy(dtype=object)
            known = np.array([isinstance(g, str) and g in set(run.classes[s]) for g in given])
            accuracy[s] = metrics.accuracy(given[known], names[known])
        assert accuracy["articleType"] >= 0.85, accuracy
        assert accuracy["subCategory"] >= 0.85 and accuracy["gender_master"] >= 0.80, accuracy
    finally:
        ds.close()


def test_retrain_heads_on_the_reference_model_trains_on_what_it_never_saw(tiny_reference):
    """The reference's split says "test" for every product it never saw: retraining its heads once
    found no product in the train part on the bundled sample (which it never saw) and stopped with
    "nothing to train", in the app's Retrain dialog too.  Unseen products take the stored split's part;
    the ones it trained on stay in training, out of the heads' test part."""
    from fashion_review.training import reference, registry
    from fashion_review.training.heads import retrain_heads

    ds, folder, seen, model = tiny_reference
    run = reference.import_reference(ds)
    res = retrain_heads(ds, run, epochs=1, batch_size=8)
    split = registry.read_split(res.run)
    trained_by_reference = seen[:-1]  # the last one's name differs: another product under that id
    in_split = [i for i in trained_by_reference if i in split.index]
    assert in_split and (split[in_split] == "train").all()  # never in the heads' test part
    stored = split.drop(in_split)
    assert (stored == "train").sum() > 0 and (stored == "test").sum() > 0  # the stored split's parts
    assert res.parts["train"] > len(in_split)
    # the new run was trained here: not taken for the reference model (it copied the reference's record,
    # so Choose model said it was trained on the reference's date, marked "(reference)")
    from fashion_review.gui.model_chooser import run_rows

    assert not reference.is_reference(res.run) and "reference" not in res.run.record
    # nor its training: it inherited "imported" and the reference's 335 images/s (another machine's)
    assert not {"imported", "images_per_s"} & set(res.run.record["training"])
    assert res.run.record["training"]["heads_only"] and res.run.record["training"]["device"]
    # the Retrain dialog counts the parts the heads take (the stored split's alone is not what they train on)
    from fashion_review.gui.retrain_jobs import product_counts

    eff = ds.effective()
    n_train, _n_val, _n = product_counts(ds, run.schemes, eff, run.record["min_images"], parent=run)
    stored_only, _v, _n2 = product_counts(ds, run.schemes, eff, run.record["min_images"])
    heads_train = res.run.record["data"]["products"]["train"]
    assert abs(n_train - heads_train) < abs(stored_only - heads_train)  # 52 and 47 against 57 here
    assert res.run.trained == res.run.created and reference.find_imported(ds.fingerprint).id == run.id
    rows = {r.id: r.trained for r in run_rows(ds.fingerprint)}
    assert rows[run.id].endswith("(reference)") and not rows[res.run.id].endswith("(reference)")
    # heads runs made before this was fixed hold the reference's record beside their parent
    legacy = registry.RunInfo(res.run.path, {**res.run.record, "reference": run.record["reference"]})
    assert not reference.is_reference(legacy) and legacy.trained == legacy.created
