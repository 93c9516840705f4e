"""fashion-review similar / duplicates / palettes on the bundled sample."""

from __future__ import annotations

import json
import shutil

import numpy as np

from fashion_review import paths
from fashion_review.cli import main
from fakes import fake_predictions  # noqa: E402
from fashion_review.review.predictions import save_predictions


def _sample_with_twin(tmp_path):
    """A copy of the sample whose second product's photo is the first's (an identical twin)."""
    root = tmp_path / "cat"
    shutil.copytree(paths.SAMPLE_CATALOG, root)
    ids = sorted(int(p.stem) for p in (root / "images").glob("*.jpg"))
    shutil.copyfile(root / "images" / f"{ids[0]}.jpg", root / "images" / f"{ids[1]}.jpg")
    return root, ids[0], ids[1]


def test_duplicates_json_finds_the_twin(tmp_path, capsys):
    root, a, b = _sample_with_twin(tmp_path)
    assert main(["duplicates", "--data", str(root), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["exact"] == {"groups": 1, "products": 2, "extra_copies": 1}
    assert {"ids": [a, b], "exact": [a, b]}.items() <= next(g for g in out["groups"] if a in g["ids"]).items()


def test_palettes_one_product_and_disagreements(tmp_path, capsys):
    assert main(["palettes", "--json", "--disagree"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["palettes"] > 1000 and out["disagree"] == len(out["products"]) > 0
    first = out["products"][0]
    assert first["is_colour_issue"] and first["label"] not in first["palette"]
    assert main(["palettes", "--id", str(first["id"])]) == 0
    text = capsys.readouterr().out
    assert str(first["id"]) in text and first["suggested"] in text


def _active_run_with_embeddings():
    """Fake predictions of the sample whose articleType embedding is the class (plus noise)."""
    from fashion_review.data import open_dataset

    ds = open_dataset(paths.SAMPLE_CATALOG)
    try:
        pred = fake_predictions(ds.effective(), min_images=ds.default_min_images, model_version="emb-run")
        art = ds.labels("articleType").reindex(pred.ids).fillna("?").to_numpy(dtype=object)
        codes = np.unique(art, return_inverse=True)[1]
        rng = np.random.default_rng(0)
        emb = np.eye(codes.max() + 1, dtype=np.float32)[codes] + rng.normal(0, 0.01, (len(codes), codes.max() + 1))
        pred.embeddings = {"articleType": emb.astype(np.float16)}
        folder = paths.models_home(ds.fingerprint) / "runs" / "emb-run"
        folder.mkdir(parents=True)
        save_predictions(pred, folder / "predictions.npz")
        (folder / "run.json").write_text(json.dumps({"id": "emb-run", "schemes": pred.schemes,
                                                     "classes": pred.classes}), encoding="utf-8")
        (paths.models_home(ds.fingerprint) / "active").write_text("emb-run", encoding="utf-8")
        return ds.labels("articleType"), ds.catalog.df
    finally:
        ds.close()


def test_similar_returns_the_same_article_type(capsys):
    labels, df = _active_run_with_embeddings()
    pid = int(labels[labels == "Tshirts"].index[0])
    assert main(["similar", str(pid), "--k", "5", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["run"] == "emb-run" and out["vectors"].endswith("head embeddings + product names")
    got = [n["id"] for n in out["neighbours"]]
    assert len(got) == 5 and pid not in got and all(labels[i] == "Tshirts" for i in got)
    assert main(["similar", str(pid), "--k", "5", "--same-gender", "--json"]) == 0
    same = json.loads(capsys.readouterr().out)["neighbours"]
    assert all(n["gender"] == df.at[pid, "gender"] for n in same)
    assert main(["similar", str(pid), "--k", "5", "--look-only", "--json"]) == 0
    look = json.loads(capsys.readouterr().out)
    assert look["vectors"].endswith("head embeddings") and all(labels[n["id"]] == "Tshirts" for n in look["neighbours"])


def test_similar_without_a_model_says_so(capsys):
    pid = int(next(iter(sorted(p.stem for p in (paths.SAMPLE_CATALOG / "images").glob("*.jpg")))))
    assert main(["similar", str(pid)]) == 2
    assert "no active model" in capsys.readouterr().err
