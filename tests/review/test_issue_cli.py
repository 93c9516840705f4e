"""``fashion-review issues find`` and ``issues list`` on the bundled sample."""

from __future__ import annotations

import csv
import io
import json

import pytest

from _issue_fixtures import pick, synthetic_issues
from _model_fixtures import write_tiny_lite_recipe
from fashion_review.cli import main


@pytest.fixture
def sample_ds(sample_dir):
    from fashion_review.data import open_dataset

    ds = open_dataset(sample_dir)
    yield ds
    ds.close()


def test_list_before_find_says_what_to_do(capsys, sample_dir):
    assert main(["issues", "list", "--data", str(sample_dir), "--scheme", "articleType"]) == 2
    assert "run `fashion-review issues find --data" in capsys.readouterr().err


def test_list_text_json_csv_pairs_and_filters(capsys, sample_dir, sample_ds):
    a, b = pick(sample_ds, "Tshirts", 2)
    c = pick(sample_ds, "Heels", 1)[0]
    synthetic_issues(sample_ds, image_says={a: "Shirts", b: "Shirts", c: "Flats"}, name_says={a: "Shirts"})
    data = ["--data", str(sample_dir), "--scheme", "articleType"]
    assert main(["issues", "list", *data]) == 0
    out = capsys.readouterr().out
    assert out.startswith("articleType: 3 in the queue, reviewed 0 of 3")
    assert "4-fold cross-validation, synthetic, 8 epochs (out of sample)" in out
    assert f"1. {a:>6}" in out and "Tshirts -> Shirts  [label]" in out

    assert main(["issues", "list", *data, "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert [e["id"] for e in doc["entries"]] == [a, b, c]  # a: image and name; b, c: image only (by id)
    # b: the image says Shirts against name and label Tshirts, siblings in Topwear: a label call, not a photo
    assert doc["entries"][0]["signals"] == ["image", "name"] and doc["entries"][1]["kind"] == "label"
    assert doc["mode"] == "cv" and doc["total"] == 3
    # the text shows each score as the queue view does: small ones in two significant digits, not "0.000"
    from fashion_review.review.queue import score_text

    for e in doc["entries"]:  # the text shows each score as the queue view does
        assert f"{e['rank']}. {e['id']:>6}  {score_text(e['score']):>7}  {e['given']} ->" in out

    assert main(["issues", "list", *data, "--csv", "--limit", "2"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [int(r["id"]) for r in rows] == [a, b] and rows[0]["suggestion"] == "Shirts"

    assert main(["issues", "list", *data, "--reason", "name", "--json"]) == 0
    assert [e["id"] for e in json.loads(capsys.readouterr().out)["entries"]] == [a]
    assert main(["issues", "list", *data, "--pair", "Heels->Flats", "--json"]) == 0
    assert [e["id"] for e in json.loads(capsys.readouterr().out)["entries"]] == [c]

    assert main(["issues", "list", *data, "--pairs"]) == 0
    out = capsys.readouterr().out
    assert "2  Tshirts -> Shirts" in out and "1  Heels -> Flats" in out

    assert main(["issues", "list", *data, "--reason", "colour"]) == 2
    assert "unknown reason 'colour'" in capsys.readouterr().err


def test_list_after_a_correction_needs_no_new_find(capsys, sample_dir, sample_ds):
    a = pick(sample_ds, "Jeans", 1)[0]
    synthetic_issues(sample_ds, image_says={a: "Trousers"}, name_says={a: "Trousers"})
    sample_ds.store.correct(a, "articleType", "Trousers", old_value="Jeans")
    assert main(["issues", "list", "--data", str(sample_dir), "--scheme", "articleType", "--json", "--show-reviewed"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["reviewed"] == 1 and doc["total"] == 1
    assert [e["id"] for e in doc["entries"]] == [a] and doc["entries"][0]["reviewed"]


@pytest.mark.slow
def test_find_on_the_sample(capsys, sample_dir, tmp_path):
    recipe = write_tiny_lite_recipe(tmp_path / "tiny-lite.toml")  # a recipe file, as `--recipe PATH` takes
    assert main(["issues", "find", "--data", str(sample_dir), "--limit", "80", "--folds", "2", "--epochs", "1",
                 "--batch-size", "16", "--recipe", str(recipe), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["mode"] == "cv" and summary["image"]["folds"] == 2 and summary["image"]["trained_products"] == 80
    assert set(summary["flagged"]) == {"gender_master", "subCategory", "articleType", "baseColour"}
    assert main(["issues", "list", "--data", str(sample_dir), "--scheme", "baseColour", "--limit", "3"]) == 0
    assert "baseColour:" in capsys.readouterr().out


def test_heads_mode_without_any_model_and_no_reference_says_what_to_do(capsys, sample_dir, monkeypatch):
    from fashion_review.training import reference

    monkeypatch.setattr(reference, "available", lambda *a, **k: False)  # an install without the reference model
    rc = main(["issues", "find", "--data", str(sample_dir), "--mode", "heads", "--folds", "2", "--epochs", "1"])
    err = capsys.readouterr().err
    assert rc != 0
    assert "no model trained on this catalog yet and no reference model shipped with this install" in err
    assert "fashion-review train --activate" in err


@pytest.mark.slow
def test_heads_mode_on_a_catalog_with_no_model_uses_the_reference_model_and_says_how_out_of_sample(
        capsys, sample_dir):
    """As predict does; the reference model was trained without the sample's products, so its heads
    mode is out of sample there, and the result says so instead of "not fully out of sample"."""
    from fashion_review.training import reference

    rc = main(["issues", "find", "--data", str(sample_dir), "--mode", "heads", "--folds", "2", "--epochs", "1",
               "--limit", "80", "--batch-size", "16"])
    out, err = capsys.readouterr()
    assert rc == 0, err
    assert "using the reference model shipped with the app" in err
    assert "finding label issues: heads mode: 2 folds x 1 epoch of fresh heads" in err
    assert f"heads on the backbone of {reference.RUN_PREFIX}" in out
    assert "the backbone trained on none of these 80 products: out of sample" in out
    assert "not fully out of sample" not in out
