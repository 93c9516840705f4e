"""Similar products: exact cosine kNN on synthetic embeddings with known answers."""

from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from fashion_review.review.predictions import Predictions, save_predictions
from fashion_review.review.similar import (
    NoEmbeddings,
    SimilarIndex,
    load_vectors,
    name_class_vectors,
    name_vectors,
    pixel_vectors,
    with_names,
)


def _clusters():
    """Three tight clusters on the axes; ids 0-9 near x, 10-19 near y, 20-29 near z."""
    rng = np.random.default_rng(0)
    centres = np.eye(3, dtype=np.float32) * 5
    vec = np.concatenate([c + rng.normal(0, 0.05, (10, 3)) for c in centres]).astype(np.float32)
    ids = np.arange(100, 130, dtype=np.int64)
    return ids, vec


def test_neighbours_are_the_own_cluster_nearest_first():
    ids, vec = _clusters()
    index = SimilarIndex(ids, vec)
    nbs = index.query(105, k=9)
    assert [n.id for n in nbs] and set(n.id for n in nbs) == set(range(100, 110)) - {105}
    sims = [n.similarity for n in nbs]
    assert sims == sorted(sims, reverse=True) and sims[0] <= 1.0 + 1e-6 and sims[-1] > 0.95
    # Exact: the order is the order of the true cosine similarities.
    v = vec / np.linalg.norm(vec, axis=1, keepdims=True)
    truth = ids[np.argsort(-(v @ v[5]))][1:10]
    assert [n.id for n in nbs] == truth.tolist()
    # Beyond the cluster the next products come from another cluster.
    assert set(n.id for n in index.query(105, k=12)) - set(range(100, 110))


def test_scale_does_not_matter_cosine():
    ids, vec = _clusters()
    scaled = vec * np.linspace(0.1, 10, len(vec))[:, None]
    a = [n.id for n in SimilarIndex(ids, vec).query(112, 5)]
    b = [n.id for n in SimilarIndex(ids, scaled).query(112, 5)]
    assert a == b


def test_identical_photos_are_counted_once():
    ids, vec = _clusters()
    vec = vec.copy()
    vec[1] = vec[2] = vec[3] = vec[0]  # 101-103: the same photo as 100 (same vector)
    vec[5] = vec[6] = vec[4]  # 104-106: one other photo three times
    groups = pd.Series([0, 0, 0, 0, 1, 1, 1], index=[100, 101, 102, 103, 104, 105, 106])
    index = SimilarIndex(ids, vec, groups=groups)
    got = [n.id for n in index.query(100, k=5)]
    assert not {101, 102, 103} & set(got)  # the query's own twins are left out
    assert len({104, 105, 106} & set(got)) == 1  # another group: once
    assert len(got) == 5 and len(set(got)) == 5


def test_same_gender_filters_and_still_fills_k():
    ids, vec = _clusters()
    gender = pd.Series(np.where(ids % 2 == 0, "Men", "Women"), index=ids)
    index = SimilarIndex(ids, vec, gender=gender)
    got = index.query(104, k=8, same_gender=True)
    assert len(got) == 8 and all(gender[n.id] == "Men" for n in got)
    assert {n.id for n in got[:4]} == {100, 102, 106, 108}


def test_unknown_product_is_a_clear_error():
    ids, vec = _clusters()
    with pytest.raises(KeyError, match="no embedding"):
        SimilarIndex(ids, vec).query(999)


def test_vectors_from_predictions_and_feature_cache(tmp_path):
    ids, vec = _clusters()
    pred = Predictions(ids=ids, classes={"articleType": ["a", "b"]},
                       probs={"articleType": np.full((len(ids), 2), 0.5, np.float32)}, model_version="r1",
                       embeddings={"articleType": vec.astype(np.float16)})
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    save_predictions(pred, run_dir / "predictions.npz")
    run = SimpleNamespace(id="r1", predictions_path=run_dir / "predictions.npz")
    got_ids, got, _ = load_vectors(run, tmp_path, "head:articleType")
    assert np.array_equal(got_ids, ids) and np.allclose(got, vec, atol=1e-2)
    heads_ids, heads, _ = load_vectors(run, tmp_path, "heads")
    assert np.allclose(np.linalg.norm(heads, axis=1), 1.0, atol=1e-3)
    with pytest.raises(NoEmbeddings, match="predict"):
        load_vectors(run, tmp_path, "pooled")
    # The feature cache as predict writes it (training.heads.FeatureWriter's layout).
    feat = tmp_path / "features" / "r1"
    feat.mkdir(parents=True)
    np.save(feat / "ids.npy", ids)
    np.save(feat / "features.npy", vec.astype(np.float32))
    (feat / "meta.json").write_text(json.dumps({"version": 2, "run_id": "r1", "shape": [3], "complete": True}))
    p_ids, p_vec, _ = load_vectors(run, tmp_path, "pooled")
    assert np.array_equal(p_ids, ids) and np.allclose(p_vec, vec)


def test_pixel_vectors_downscale():
    img = np.full((2, 80, 60, 3), 255, np.uint8)
    img[1, :40] = 0
    v = pixel_vectors(img)
    assert v.shape == (2, 20 * 15 * 3)
    assert np.allclose(v[0], 0) and v[1].max() == 255


@pytest.mark.parametrize("n", [1, 7, 60])
def test_the_exact_search_finds_what_scikit_learn_finds(n):
    """Our dot-product search over normalised vectors returns scikit-learn's cosine neighbours."""
    from sklearn.neighbors import NearestNeighbors

    rng = np.random.default_rng(3)
    vec = rng.normal(size=(60, 16)).astype(np.float32)
    index = SimilarIndex(np.arange(100, 160), vec)
    queries = index.vectors[[0, 5, 59]]
    dist, rows = index.kneighbors(queries, n)
    ref_dist, ref_rows = NearestNeighbors(metric="cosine", algorithm="brute").fit(index.vectors).kneighbors(
        queries, n_neighbors=n)
    np.testing.assert_array_equal(rows, ref_rows)
    np.testing.assert_allclose(dist, ref_dist, atol=1e-5)
    assert rows[:, 0].tolist() == [0, 5, 59]  # each query is its own nearest


def test_names_break_a_tie_of_looks():
    """Four products look the same; two are called shoes, two sandals: with names, a shoe's nearest
    is the other shoe; by look alone the order is whatever the noise says."""
    ids = np.array([1, 2, 3, 4, 5, 6], dtype=np.int64)
    names = pd.Series({1: "Puma Men Black Casual Shoes", 2: "Nike Men Black Casual Shoes",
                       3: "Puma Men Black Sandals", 4: "Nike Men Black Sandals",
                       5: "Titan Women Watch", 6: "Fastrack Women Watch"})
    nv = name_vectors(names, ids)
    assert nv.shape[0] == 6 and np.allclose(np.linalg.norm(nv, axis=1), 1, atol=1e-5)
    look = np.tile(np.array([[1.0, 0.0]], np.float32), (6, 1))
    look[4:] = [0.0, 1.0]  # the watches look different
    look[:4] += np.random.default_rng(0).normal(0, 1e-3, (4, 2)).astype(np.float32)
    index = SimilarIndex(ids, with_names(look, nv))
    assert index.query(1, 1)[0].id == 2 and index.query(3, 1)[0].id == 4
    assert {n.id for n in index.query(1, 3)} == {2, 3, 4}  # the look still rules: watches come last


def test_a_product_without_a_name_gets_zeros():
    ids = np.array([1, 2, 3, 4, 5], dtype=np.int64)
    nv = name_vectors(pd.Series({1: "Red Shirt", 2: "Blue Shirt", 3: "Red Shoes", 4: "Blue Shoes"}), ids)
    assert np.abs(nv[4]).max() == 0 and np.abs(nv[:4]).max(axis=1).min() > 0
    assert name_vectors(pd.Series(dtype=object), ids).shape == (5, 1)  # no words at all: zeros, no error


def test_the_name_model_puts_a_product_beside_its_own_kind():
    """Looks tell nothing apart (all the same); the names share no words across the two kinds but
    brands; the name model's classes put each Kurta beside the other Kurtas, a Kurta named by a word
    the words part alone barely knows ("Kurti") included, and products without a name get zeros."""
    kurtas = [f"Brand{i % 3} Women Kurta" for i in range(6)] + ["Brand0 Women Kurti", "Brand1 Women Kurti"]
    shirts = [f"Brand{i % 3} Men Shirt" for i in range(8)]
    names = pd.Series(kurtas + shirts + [""], index=np.arange(1, 18, dtype=np.int64))
    labels = pd.DataFrame({"articleType": ["Kurtas"] * 8 + ["Shirts"] * 8 + ["Kurtas"],
                           "gender": ["Women"] * 8 + ["Men"] * 8 + ["Women"]}, index=names.index)
    ids = names.index.to_numpy()
    cv = name_class_vectors(names, labels, ids)
    assert cv.shape == (17, 4)  # 2 articleTypes + 2 genders
    assert np.abs(cv[-1]).max() == 0
    np.testing.assert_allclose(np.linalg.norm(cv[:-1, :2], axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(cv[:-1, 2:], axis=1), 0.5, atol=1e-5)  # gender weighs 0.5
    look = np.ones((17, 2), np.float32) + np.random.default_rng(1).normal(0, 1e-3, (17, 2)).astype(np.float32)
    index = SimilarIndex(ids, with_names(look, name_vectors(names, ids), cv))
    kurti = 7  # "Brand0 Women Kurti"
    assert {n.id for n in index.query(kurti, 7)} <= set(range(1, 9))  # its neighbours are the other Kurtas
    # fitted on some products only: labels of the others are not used (a class only they have is absent)
    belts = labels.assign(articleType=["Kurtas"] * 8 + ["Shirts"] * 6 + ["Belts", "Belts", None])
    assert name_class_vectors(names, belts, ids, weights={"articleType": 1.0}).shape == (17, 3)
    assert name_class_vectors(names, belts, ids, train=ids[:14], weights={"articleType": 1.0}).shape == (17, 2)
