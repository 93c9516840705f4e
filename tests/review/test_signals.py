"""The name, hierarchy, identical-photo and heads signals on tiny synthetic catalogs with known answers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fashion_review.review.hierarchy import heads_signal, hierarchy_signal, majority_mapping
from fashion_review.review.photo_signal import duplicate_signal
from fashion_review.review.text_signal import (
    fitted_name_probabilities,
    fold_assignment,
    name_probabilities,
    name_signal,
)

BRANDS = ["Puma", "Nike", "Adidas", "Roadster", "Wrangler", "Fastrack"]
COLOURS = ["Black", "Blue", "Red", "White", "Grey"]


def test_fold_assignment_is_stratified_and_seeded():
    labels = np.array(["a"] * 40 + ["b"] * 12 + ["c"] * 3 + [None] * 5, dtype=object)
    f = fold_assignment(labels, 4, seed=3)
    assert f.min() == 0 and f.max() == 3
    for c in ("a", "b"):
        counts = np.bincount(f[labels == c], minlength=4)
        assert counts.max() - counts.min() <= 1  # each class spread evenly over the folds
    assert len(set(f[labels == "c"])) == 3  # a class of 3 lands in 3 different folds
    np.testing.assert_array_equal(f, fold_assignment(labels, 4, seed=3))
    assert not np.array_equal(f, fold_assignment(labels, 4, seed=4))
    with pytest.raises(ValueError):
        fold_assignment(labels, 1)


def _names(n_per: int = 25, seed: int = 0):
    rng = np.random.default_rng(seed)
    words = {"Tshirts": "T-shirt", "Jeans": "Jeans", "Watches": "Watch"}
    names, labels = [], []
    for cls, word in words.items():
        for _ in range(n_per):
            names.append(f"{rng.choice(BRANDS)} Men {rng.choice(COLOURS)} {word}")
            labels.append(cls)
    return names, labels


def test_name_model_flags_a_name_against_its_label_and_names_the_word():
    names, labels = _names()
    names += ["Roadster Men Navy T-shirt", "Lonely Name", ""]
    labels += ["Jeans", "Flats", "Watches"]  # a wrong label; a class of one product; a product without a name
    out = name_probabilities(names, labels, folds=4, seed=0)
    assert out.classes == ["Jeans", "Tshirts", "Watches"]  # Flats has fewer than 2 named products
    assert out.probs.shape == (len(names), 3)
    ids = np.arange(len(names), dtype=np.int64) + 100
    t = name_signal(ids, np.asarray(labels, dtype=object), out)
    wrong = ids[len(names) - 3]
    assert t.loc[wrong, "name_suggestion"] == "Tshirts"
    assert t.loc[wrong, "name_score"] < 0.3 and t.loc[wrong, "is_name_issue"]
    assert t.loc[wrong, "name_reason"].startswith("name says 'T-shirt' (Tshirts ")  # hyphen kept, case kept
    lonely = ids[len(names) - 2]
    assert np.isnan(t.loc[lonely, "name_score"]) and "does not know the class Flats" in t.loc[lonely, "name_reason"]
    blank = ids[-1]
    assert np.isnan(t.loc[blank, "name_score"]) and t.loc[blank, "name_reason"] == ""
    assert out.probs[-1].sum() == 0
    # correct names are not flagged
    clean = t.iloc[:75]
    assert clean["is_name_issue"].sum() == 0
    assert (clean["name_score"] > 0.9).mean() > 0.95


def test_name_model_is_out_of_sample():
    # A unique word seen only in one product's name cannot help predict its own label.
    names, labels = _names(n_per=12)
    names.append("Zyxw Men Black Qwerty")  # words no other product has
    labels.append("Watches")
    out = name_probabilities(names, labels, folds=3, seed=1)
    assert out.probs[-1].max() < 0.6  # the model never saw these words with this label
    assert out.words[-1] not in ("Zyxw", "Qwerty")  # words it never saw in training have no weight


def test_fitted_name_model_learns_only_from_the_products_it_is_told():
    names, labels = _names(n_per=12)
    names += ["Zyxw Men Black Qwerty", "Zyxw Women Red Qwerty", ""]
    labels += ["Watches", "Watches", "Jeans"]
    n = len(names)
    classes, probs = fitted_name_probabilities(names, labels)  # every product: in sample
    assert classes == ["Jeans", "Tshirts", "Watches"] and probs.shape == (n, 3)
    assert probs[n - 3, 2] > 0.5  # its own odd words, learnt with its label
    assert probs[-1].sum() == 0  # no name, no probabilities
    np.testing.assert_allclose(probs[:-1].sum(axis=1), 1, atol=1e-5)
    train = np.ones(n, bool)
    train[n - 3:n - 1] = False  # the two odd names left out: their words mean nothing to the model
    classes2, held = fitted_name_probabilities(names, labels, train=train)
    assert classes2 == classes and held[n - 3, 2] < probs[n - 3, 2] and held[n - 3].max() < 0.6


def _catalog(rows: list[tuple]) -> pd.DataFrame:
    df = pd.DataFrame(rows, columns=["gender", "masterCategory", "subCategory", "articleType", "baseColour"])
    df.index = pd.Index(np.arange(1, len(df) + 1, dtype=np.int64), name="id")
    return df


def _shoes_catalog():
    rows = [("Women", "Footwear", "Shoes", "Heels", "Black")] * 60
    rows += [("Men", "Apparel", "Topwear", "Tshirts", "Blue")] * 36 + [("Women", "Apparel", "Topwear", "Tshirts", "Red")] * 24
    rows += [("Women", "Footwear", "Sandal", "Sandals", "Black")] * 30
    rows += [("Women", "Footwear", "Sandal", "Heels", "Black")]  # breaks Heels -> Shoes
    rows += [("Men", "Footwear", "Shoes", "Heels", "Black")]  # breaks Heels -> Women
    return _catalog(rows)


def test_majority_mapping():
    m = majority_mapping(_shoes_catalog(), "articleType", "subCategory")
    assert m.loc["Heels", "majority"] == "Shoes" and m.loc["Heels", "n"] == 62
    assert m.loc["Heels", "share"] == pytest.approx(61 / 62) and m.loc["Heels", "strong"]
    g = majority_mapping(_shoes_catalog(), "articleType", "gender")
    assert g.loc["Tshirts", "majority"] == "Men" and not g.loc["Tshirts", "strong"]  # 60 %: says nothing


def test_hierarchy_signal_per_scheme():
    eff = _shoes_catalog()
    sandal_heel, men_heel = 151, 152
    at = hierarchy_signal(eff, "articleType")
    assert set(at.index[at["is_hierarchy_issue"]]) == {sandal_heel, men_heel}
    assert at.loc[sandal_heel, "hierarchy_suggestion"] == "Sandals"  # the common articleType of Sandal + Women
    assert "Heels are subCategory Shoes in 98.4% of the catalog; this one is Sandal" in at.loc[sandal_heel, "hierarchy_reason"]
    assert at.loc[sandal_heel, "hierarchy_score"] == pytest.approx(1 - 61 / 62)
    sub = hierarchy_signal(eff, "subCategory")
    assert sub.loc[sandal_heel, "hierarchy_suggestion"] == "Shoes"
    assert not sub.loc[men_heel, "is_hierarchy_issue"]  # its subCategory is fine
    gm = hierarchy_signal(eff, "gender_master")
    assert gm.loc[men_heel, "hierarchy_suggestion"] == "Women Footwear"
    assert gm["is_hierarchy_issue"].sum() == 1
    # Tshirts of both genders: no strong mapping, nothing flagged
    assert not at.loc[eff["articleType"] == "Tshirts", "is_hierarchy_issue"].any()
    colour = hierarchy_signal(eff, "baseColour")
    assert colour["hierarchy_score"].isna().all()


def test_duplicate_signal_majority_tie_and_blank():
    given = pd.Series({1: "Tshirts", 2: "Tshirts", 3: "Tops", 4: "Heels", 5: "Flats", 6: "Jeans", 7: None, 8: "Jeans"},
                      dtype=object)
    groups = pd.Series({1: 0, 2: 0, 3: 0, 4: 1, 5: 1, 6: 2, 7: 2, 8: 2})
    t = duplicate_signal(groups, given)
    assert t.loc[3, "duplicate_score"] == 0.0 and t.loc[3, "is_duplicate_issue"]
    assert t.loc[3, "duplicate_suggestion"] == "Tshirts"
    assert t.loc[3, "duplicate_reason"] == "identical photo to 2 products labelled Tshirts (1, 2)"
    assert t.loc[1, "duplicate_score"] == pytest.approx(0.5) and t.loc[1, "duplicate_suggestion"] == "Tops"
    # a tie of two: both are in doubt, each suggests the other's label
    assert t.loc[4, "duplicate_suggestion"] == "Flats" and t.loc[5, "duplicate_suggestion"] == "Heels"
    assert t.loc[4, "is_duplicate_issue"] and t.loc[5, "is_duplicate_issue"]
    # a blank label neither disagrees nor is judged
    assert t.loc[6, "duplicate_score"] == 1.0 and np.isnan(t.loc[7, "duplicate_score"])
    assert t.loc[6, "duplicate_group"] == 2 and duplicate_signal(pd.Series(dtype=np.int64), given)["duplicate_group"].eq(-1).all()


def test_heads_signal_catches_contradicting_heads():
    eff = _shoes_catalog()
    ids = eff.index.to_numpy()
    n = len(ids)
    classes = {"articleType": ["Heels", "Sandals", "Tshirts"], "gender_master": ["Men Apparel", "Men Footwear",
                                                                                "Women Apparel", "Women Footwear"]}
    at = np.zeros((n, 3), np.float32)
    gm = np.zeros((n, 4), np.float32)
    truth_at = eff["articleType"].map({"Heels": 0, "Sandals": 1, "Tshirts": 2}).to_numpy()
    at[np.arange(n), truth_at] = 0.9
    at[:, 1] += 0.1 * (truth_at != 1)
    at[:, 0] += 0.1 * (truth_at == 1)
    gm_idx = (eff["gender"] + " " + eff["masterCategory"]).map({c: i for i, c in enumerate(classes["gender_master"])})
    gm[np.arange(n), gm_idx.to_numpy()] = 0.8
    gm[:, 0] += 0.2 * (gm_idx.to_numpy() != 0)
    gm[:, 1] += 0.2 * (gm_idx.to_numpy() == 0)
    odd = 5  # a Heels product whose gender_master head says Men Footwear
    gm[odd] = [0.05, 0.85, 0.05, 0.05]
    probs = {"articleType": at, "gender_master": gm}
    t = heads_signal(ids, classes, probs, eff, "gender_master")
    pid = ids[odd]
    assert t.loc[pid, "is_heads_issue"] and t.loc[pid, "heads_score"] == pytest.approx(1 - 0.85, abs=1e-6)
    assert "articleType head says Heels (0.90) but gender_master head says Men Footwear (0.85)" in t.loc[pid, "heads_reason"]
    assert t.loc[pid, "heads_suggestion"] == "Men Footwear"  # the head's own class differs from the label
    assert t["is_heads_issue"].sum() == 2  # also the catalog's Men Heels product (152): its head says Men Footwear
    assert heads_signal(ids, classes, probs, eff, "baseColour")["heads_score"].isna().all()
