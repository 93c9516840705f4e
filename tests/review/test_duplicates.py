"""Duplicate photos on pairs the test makes: identical, re-encoded JPEG, one pixel changed, different."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
from PIL import Image

from fashion_review import paths
from fashion_review.data.splits import initial_split, stored_split
from fashion_review.review.duplicates import (
    exact_groups,
    label_disagreements,
    near_groups,
    phashes,
    twin_leaks,
)


def _photos() -> np.ndarray:
    """Six photos: 0 a real one, 1 identical, 2 re-encoded as JPEG, 3 one pixel changed,
    4 and 5 other real photos."""
    files = sorted((paths.SAMPLE_CATALOG / "images").glob("*.jpg"))[:3]
    real = [np.asarray(Image.open(f).convert("RGB").resize((60, 80))) for f in files]
    buf = io.BytesIO()
    Image.fromarray(real[0]).save(buf, "JPEG", quality=80)
    reencoded = np.asarray(Image.open(buf).convert("RGB"))
    changed = real[0].copy()
    changed[40, 30] = 255 - changed[40, 30]
    return np.stack([real[0], real[0].copy(), reencoded, changed, real[1], real[2]])


IDS = np.array([10, 11, 12, 13, 14, 15], dtype=np.int64)


def test_exact_groups_only_identical_pixels():
    g = exact_groups(IDS, _photos())
    assert g.to_dict() == {10: 0, 11: 0}


def test_near_groups_find_reencoded_and_edited_not_different():
    imgs = _photos()
    assert not np.array_equal(imgs[2], imgs[0])  # the JPEG round trip changed pixels
    near, pairs = near_groups(IDS, phashes(imgs), imgs, exact=exact_groups(IDS, imgs))
    assert set(near.index) == {10, 11, 12, 13}
    assert near.nunique() == 1
    assert not {14, 15} & set(pairs["a"]) | set(pairs["b"]) & {14, 15}


def test_the_block_bound_never_exceeds_the_pixels_mean_difference():
    """mean_diff_lower_bound drops the pairs that cannot be near before the pixel comparison: it must
    never be above the mean difference it bounds (else a near pair would be lost)."""
    from fashion_review.review.duplicates import mean_diff_lower_bound, pixel_differences

    rng = np.random.default_rng(0)
    imgs = np.concatenate([_photos(), rng.integers(0, 256, (6, 80, 60, 3), dtype=np.uint8)])
    imgs[7] = np.clip(imgs[0].astype(np.int16) + rng.integers(-4, 5, imgs[0].shape), 0, 255).astype(np.uint8)
    a, b = np.triu_indices(len(imgs), k=1)
    bound = mean_diff_lower_bound(imgs, a, b)
    mean, _p99 = pixel_differences(imgs, a, b)
    assert (bound <= mean + 1e-4).all()
    assert (bound[mean > 20] > 3.0).all()  # and it is tight enough to drop different photos
    near, _pairs = near_groups(IDS, phashes(imgs[:6]), imgs[:6], exact=exact_groups(IDS, imgs[:6]))
    assert set(near.index) == {10, 11, 12, 13}  # the bound kept every near pair


def test_embeddings_can_veto_a_near_pair():
    imgs = _photos()
    emb = np.eye(6, dtype=np.float32)  # every product points elsewhere
    emb[1] = emb[0]
    near, _ = near_groups(IDS, phashes(imgs), imgs, embeddings=emb, exact=exact_groups(IDS, imgs))
    assert set(near.index) == {10, 11}  # exact twins stay; unconfirmed near pairs go


def test_label_disagreements_name_the_twins():
    groups = pd.Series([0, 0, 0, 1, 1], index=[1, 2, 3, 7, 8])
    labels = {"articleType": pd.Series({1: "Shirts", 2: "Shirts", 3: "Tshirts", 7: "Jeans", 8: "Jeans"})}
    out = label_disagreements(groups, labels)
    assert sorted(out["id"]) == [1, 2, 3]  # group 1 agrees
    row = out.set_index("id").loc[3]
    assert row["is_duplicate_issue"] and row["majority"] == "Shirts" and row["duplicate_score"] == 0.0
    assert "1 (Shirts)" in row["reason"] and "Tshirts" in row["reason"]
    assert not out.set_index("id").loc[1, "is_duplicate_issue"]


def test_twin_leaks_count_test_products_with_a_training_twin():
    parts = pd.Series({1: "train", 2: "test", 3: "test", 4: "val", 5: "test"})
    groups = pd.Series({1: 0, 2: 0, 4: 1, 5: 1})
    leak = twin_leaks(parts, groups)
    assert leak.to_dict() == {2: True, 3: False, 5: False}


def test_new_split_keeps_groups_together_and_extension_follows_a_twin(tmp_path):
    rng = np.random.default_rng(3)
    ids = np.arange(1, 401)
    labels = pd.Series(rng.choice(["a", "b", "c"], len(ids)), index=pd.Index(ids, name="id"))
    groups = pd.Series(np.repeat(np.arange(50), 4), index=ids[:200])  # 50 groups of 4
    parts = initial_split(labels, groups=groups)
    by_group = parts.reindex(groups.index).groupby(groups.to_numpy()).nunique()
    assert (by_group == 1).all()
    assert set(parts.unique()) == {"train", "val", "test"}
    plain = initial_split(labels)
    assert (plain.reindex(groups.index).groupby(groups.to_numpy()).nunique() > 1).any()  # what the rule fixes
    # Stored: never moved; a new product joins its stored twin's part.
    path = tmp_path / "split.csv"
    first = stored_split(path, labels, groups=groups)
    grown = pd.concat([labels, pd.Series(["a", "b"], index=pd.Index([401, 402], name="id"))])
    g2 = pd.concat([groups, pd.Series([0, 7], index=[401, 402])])
    again = stored_split(path, grown, groups=lambda: g2)
    assert again.reindex(first.index).equals(first)
    assert again[401] == first[groups.index[groups == 0][0]]
    assert again[402] == first[groups.index[groups == 7][0]]
