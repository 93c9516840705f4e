"""The review table and its pure filter / sort functions (headless, no Qt)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fakes import fake_predictions
from fashion_review.review.filtering import Filter, apply_filter, filter_mask, sort_rows
from fashion_review.review.predictions import Predictions
from fashion_review.review.table import ReviewTable, col

S = "articleType"


def tiny_catalog() -> pd.DataFrame:
    rows = [
        # id, gender, master, sub, article, colour, name, has_image
        (1, "Women", "Footwear", "Shoes", "Flats", "Black", "Black Ballet Flats", True),
        (2, "Women", "Footwear", "Shoes", "Flats", "Red", "Red Pointed Flats", True),
        (3, "Women", "Footwear", "Shoes", "Heels", "Black", "Black Stiletto Heels", True),
        (4, "Women", "Footwear", "Shoes", "Heels", "Beige", "Beige Block Heels", True),
        (5, "Men", "Apparel", "Topwear", "Tshirts", "Blue", "Blue Crew T-shirt", True),
        (6, "Men", "Apparel", "Topwear", "", "Blue", "Mystery product", False),
    ]
    df = pd.DataFrame(rows, columns=["id", "gender", "masterCategory", "subCategory", "articleType",
                                     "baseColour", "productDisplayName", "has_image"]).set_index("id")
    for c in ("season", "year", "usage"):
        df[c] = ""
    df["line"] = np.arange(2, 2 + len(df))
    return df


def tiny_predictions() -> Predictions:
    classes = ["Flats", "Heels", "Tshirts"]
    p = np.array([
        [0.90, 0.08, 0.02],  # 1 Flats -> Flats
        [0.20, 0.75, 0.05],  # 2 Flats -> Heels (disagreement)
        [0.10, 0.85, 0.05],  # 3 Heels -> Heels
        [0.60, 0.35, 0.05],  # 4 Heels -> Flats (disagreement)
        [0.01, 0.01, 0.98],  # 5 Tshirts -> Tshirts
    ], dtype=np.float32)
    return Predictions(ids=np.arange(1, 6, dtype=np.int64), classes={S: classes}, probs={S: p}, model_version="run-7")


@pytest.fixture
def table() -> ReviewTable:
    orig = tiny_catalog()
    eff = orig.copy()
    eff["excluded"] = False
    t = ReviewTable.build(eff, orig, tiny_predictions())
    t.set_parts(S, pd.Series(["train", "val", "test", "train", "val"], index=[1, 2, 3, 4, 5]))
    return t


def ids(table, rows) -> list[int]:
    return table.ids[rows].tolist()


def test_columns(table):
    f = table.frame
    assert f.loc[2, col("given", S)] == "Flats" and f.loc[2, col("pred", S)] == "Heels"
    assert f.loc[2, col("conf", S)] == pytest.approx(0.75)
    assert f.loc[2, col("pgiven", S)] == pytest.approx(0.20)
    assert f.loc[6, col("pred", S)] == "" and np.isnan(f.loc[6, col("conf", S)])
    assert pd.isna(f.loc[6, col("given", S)])
    assert f.loc[1, col("given", "gender_master")] == "Women Footwear"
    assert not table.has_predictions("baseColour") and f.loc[1, col("pred", "baseColour")] == ""
    assert table.frame.loc[6, col("part", S)] == ""
    score = table.review_score(S)
    assert score[1] == pytest.approx(0.8) and np.isnan(score[5])
    assert table.top_k(4, S) == [("Flats", pytest.approx(0.6)), ("Heels", pytest.approx(0.35)),
                                 ("Tshirts", pytest.approx(0.05))]
    assert table.top_k(6, S) == []


def test_each_filter(table):
    def run(**kw):
        return ids(table, apply_filter(table.frame, Filter(scheme=S, **kw)))

    assert run() == [1, 2, 3, 4, 5, 6]
    assert run(given="Flats") == [1, 2]
    assert run(given=("Flats", "Tshirts")) == [1, 2, 5]
    assert run(predicted="Heels") == [2, 3]
    assert run(given="Flats", predicted="Heels") == [2]
    assert run(disagreements=True) == [2, 4]
    assert run(part="train") == [1, 4]
    assert run(part="usable") == [1, 2, 3, 4, 5]
    assert run(part="unused") == [6]
    assert run(confidence=(0.8, 1.0)) == [1, 3, 5]
    assert run(confidence=(0.0, 0.75)) == [2, 4]
    assert run(text="black") == [1, 3]
    assert run(text="BLACK heels") == [3]
    assert run(text="4") == [4]  # ids are searched too
    assert run(ids=(5, 1, 99)) == [1, 5]
    assert run(corrected=True) == [] and run(excluded=True) == []
    table.ensure_search()  # the cached search column gives the same answers
    assert run(text="BLACK heels") == [3] and run(text="4") == [4]


def test_filters_combine_and_follow_corrections(table):
    # A curator relabels product 2 as Heels and excludes product 5.
    values = {(2, "articleType"): "Heels", (5, "excluded"): "true"}
    pos = table.apply_corrections([2, 5], values)
    assert sorted(ids(table, pos)) == [2, 5]
    f = table.frame
    assert f.loc[2, col("given", S)] == "Heels" and f.loc[2, col("original", S)] == "Flats"
    assert f.loc[2, col("pgiven", S)] == pytest.approx(0.75)
    assert bool(f.loc[2, "corrected"]) and not bool(f.loc[5, "corrected"])
    assert bool(f.loc[5, "excluded"]) and bool(table.effective.loc[5, "excluded"])
    assert table.effective.loc[2, "articleType"] == "Heels"
    run = lambda **kw: ids(table, apply_filter(table.frame, Filter(scheme=S, **kw)))  # noqa: E731
    assert run(disagreements=True) == [4]
    assert run(corrected=True) == [2]
    assert run(excluded=True) == [5]
    assert run(given="Heels", corrected=True, part="val") == [2]
    # Undo: no active corrections any more, the rows go back to the catalog's values.
    table.apply_corrections([2, 5], {})
    assert f is table.frame and table.frame.loc[2, col("given", S)] == "Flats"
    assert not table.frame["corrected"].any() and not table.frame["excluded"].any()


def test_incremental_update_matches_a_rebuild(table):
    values = {(1, "articleType"): "Heels", (3, "gender"): "Men", (3, "masterCategory"): "Apparel",
              (4, "excluded"): "true"}
    table.apply_corrections([1, 3, 4], values)
    eff = tiny_catalog()
    eff["excluded"] = False
    for (pid, fld), v in values.items():
        eff.loc[pid, fld] = (v == "true") if fld == "excluded" else v
    fresh = ReviewTable.build(eff, tiny_catalog(), tiny_predictions(), corrected_ids=[1, 3])
    for c in fresh.frame.columns:
        if c.startswith("part__"):
            continue
        pd.testing.assert_series_equal(table.frame[c], fresh.frame[c], check_dtype=False, obj=c)


def test_sort_rows(table):
    rows = apply_filter(table.frame, Filter(scheme=S))
    assert ids(table, sort_rows(table.frame, rows, col("conf", S))) == [4, 2, 3, 1, 5, 6]  # NaN last
    assert ids(table, sort_rows(table.frame, rows, col("conf", S), descending=True)) == [5, 1, 3, 2, 4, 6]
    assert ids(table, sort_rows(table.frame, rows, col("given", S))) == [1, 2, 3, 4, 5, 6]
    assert ids(table, sort_rows(table.frame, rows, col("given", S), descending=True)) == [5, 3, 4, 1, 2, 6]
    assert ids(table, sort_rows(table.frame, rows, "id", descending=True)) == [6, 5, 4, 3, 2, 1]
    assert ids(table, sort_rows(table.frame, rows, table.review_score(S), descending=True)) == [2, 4, 3, 1, 5, 6]
    sub = apply_filter(table.frame, Filter(scheme=S, given="Heels"))
    assert ids(table, sort_rows(table.frame, sub, "name")) == [4, 3]


def test_bad_filter_values():
    with pytest.raises(ValueError):
        Filter(part="holdout")
    with pytest.raises(ValueError):
        Filter(confidence=(0.9, 0.1))
    assert Filter(scheme=S).is_empty and not Filter(scheme=S, text="x").is_empty
    assert Filter(scheme=S, given="Flats", predicted="Heels", part="test").describe() == \
        "given Flats, predicted Heels, test part"


def test_on_the_sample(sample_dir):
    from fashion_review.data import open_dataset

    ds = open_dataset(sample_dir)
    try:
        eff = ds.effective()
        pred = fake_predictions(eff, seed=3)
        t = ReviewTable.build(eff, ds.catalog.df, pred)
        names, conf = pred.predicted(S)
        assert set(pred.classes[S]) == set(ds.class_filter(S, effective=eff).kept)
        assert np.allclose(pred.probs[S].sum(axis=1), 1.0, atol=1e-5)
        mask = filter_mask(t.frame, Filter(scheme=S, disagreements=True))
        given = t.frame[col("given", S)].to_numpy(dtype=object)
        pred_col = t.frame[col("pred", S)].to_numpy(dtype=object)
        expect = pd.notna(given) & (pred_col != "") & (pred_col != given)
        assert (mask == expect).all() and 0 < mask.sum() < len(t)
    finally:
        ds.close()
