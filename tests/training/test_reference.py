"""The reference model: its import into a catalog's registry, `predict` without a run, and the
shipped model's accuracy on the bundled sample, whose products it never saw."""

from __future__ import annotations

import json

import numpy as np
import pytest

from fashion_review.cli import main

pytest.importorskip("keras")


def _make_reference(folder, ds, *, seen_ids, wrong_name_id=None):  # noqa: ANN001, ANN202
    """A small reference folder as scripts/train_reference.py writes it, from an untrained model."""
    from fashion_review.modeling import load_recipe, make_model
    from fashion_review.modeling.recipes import Network
    from fashion_review.training import reference

    recipe = load_recipe("xception-lite").replace(
        network=Network(stem=(8, 8), entry=(16, 32), middle_blocks=1, exit=(32, 48)))
    classes = {s: sorted(ds.usable(s, 12).unique().tolist()) for s in recipe.schemes}
    model = make_model(recipe, {s: len(c) for s, c in classes.items()})
    folder.mkdir(parents=True)
    reference.write_weights(folder / reference.WEIGHTS_FILE, model)
    record = {"id": "test-lite", "recipe": recipe.to_dict(), "schemes": list(recipe.schemes), "classes": classes,
              "image_size": None, "metrics": {"articleType": {"test_accuracy": 0.9}},
              "trained_on": {"data_set": "a test"}}
    (folder / reference.REFERENCE_FILE).write_text(json.dumps(record), encoding="utf-8")
    names = ds.catalog.df.loc[seen_ids, "productDisplayName"].to_numpy(dtype=object).copy()
    if wrong_name_id is not None:
        names[list(seen_ids).index(wrong_name_id)] = "another product under the same id"
    reference.write_seen(folder / reference.SEEN_FILE, np.asarray(seen_ids), np.array(["train"] * len(seen_ids)),
                         names)
    return model


@pytest.fixture
def tiny_reference(home_dir, tiny_catalog, tmp_path, monkeypatch):
    from fashion_review import paths
    from fashion_review.data import open_dataset

    ds = open_dataset(tiny_catalog)
    with_image = ds.catalog.df.index[ds.catalog.df["has_image"]].to_numpy()
    seen = [int(i) for i in with_image[:10]]
    folder = tmp_path / "reference-model"
    model = _make_reference(folder, ds, seen_ids=seen, wrong_name_id=seen[-1])
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
