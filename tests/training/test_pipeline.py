"""The input pipeline: which products, parts and labels a run gets, and the batches it is fed.

No model here: the labels are checked where the pipeline hands them over (``labelled_set``,
``make_batches``), so a correction or an exclusion is seen to reach the next run for free.
"""

from __future__ import annotations

import numpy as np
import pytest

import keras  # noqa: E402

from fashion_review.data.corrections import Change  # noqa: E402
from fashion_review.training.pipeline import (  # noqa: E402
    IGNORE_LABEL,
    ImageBatches,
    ensure_image_cache,
    labelled_set,
    make_batches,
)

SCHEMES = ["gender_master", "subCategory", "articleType"]


@pytest.fixture
def ds(tiny_catalog):
    """The tiny catalog in this test's own home (its corrections start empty)."""
    from fashion_review.data import open_dataset

    d = open_dataset(tiny_catalog)
    yield d
    d.close()


def _label(data, pid: int, scheme: str) -> str | None:
    i = int(np.flatnonzero(data.ids == pid)[0])
    k = int(data.labels[scheme][i])
    return None if k == IGNORE_LABEL else data.classes[scheme][k]


def test_image_cache_is_built_once_and_reused(ds):
    cache = ensure_image_cache(ds)
    assert cache.path == ds.home / "image-cache"
    assert cache.images.shape[1:] == (80, 60, 3) and cache.images.dtype == np.uint8
    df = ds.catalog.df
    assert len(cache) == int(df["has_image"].sum())
    mtime = (cache.path / "meta.json").stat().st_mtime_ns
    again = ensure_image_cache(ds)
    assert (again.path / "meta.json").stat().st_mtime_ns == mtime


def test_multihead_set_masks_filtered_classes_and_uses_one_part_per_product(ds):
    cache = ensure_image_cache(ds)
    data = labelled_set(ds, SCHEMES, multihead=True, cache=cache)
    assert data.part_scheme == "gender_master"
    assert data.classes["articleType"] == ["Casual Shoes", "Jeans", "Tshirts", "Watches"]
    eff = ds.effective()
    # every product usable in at least one scheme is in, nothing else
    union = set()
    for s in SCHEMES:
        union |= set(ds.usable(s).index)
    assert set(data.ids.tolist()) == union
    assert len(set(data.ids.tolist())) == len(data.ids)
    # Dresses: masked (-1) for articleType, labelled for gender_master when that class is kept
    dresses = [int(i) for i in eff.index[eff["articleType"] == "Dresses"] if i in set(data.ids.tolist())]
    assert dresses
    for pid in dresses:
        assert _label(data, pid, "articleType") is None
        assert _label(data, pid, "gender_master") is not None
    # the part of a product is its gender_master split part
    gm = ds.split("gender_master")
    for pid, part in zip(data.ids[:20], data.parts[:20]):
        assert gm.get(int(pid), part) == part
    assert set(data.counts) == {"train", "val", "test"} and sum(data.counts.values()) == len(data)
    frame = data.split_frame()
    assert list(frame.columns) == ["id", "part", *SCHEMES]
    assert (frame.loc[frame["id"].isin(dresses), "articleType"] == "").all()


def test_single_scheme_set_uses_that_schemes_split_and_limit(ds):
    data = labelled_set(ds, ["articleType"], min_images=12)
    assert data.part_scheme == "articleType"
    assert (data.labels["articleType"] >= 0).all()
    split = ds.split("articleType", 12)
    assert all(split[int(i)] == p for i, p in zip(data.ids, data.parts))
    small = labelled_set(ds, ["articleType"], limit=10)
    np.testing.assert_array_equal(small.ids, data.ids[:10])
    assert small.classes == data.classes  # the class list stays the data set's
    with pytest.raises(Exception, match="single-head"):
        labelled_set(ds, SCHEMES, multihead=False)


def test_a_correction_changes_the_label_fed_and_an_exclusion_drops_the_product(ds):
    eff = ds.effective()
    tee = int(eff.index[eff["articleType"] == "Tshirts"][3])
    jean = int(eff.index[eff["articleType"] == "Jeans"][3])
    before = labelled_set(ds, SCHEMES, multihead=True)
    assert _label(before, tee, "articleType") == "Tshirts"
    assert jean in set(before.ids.tolist())

    ds.store.record([Change(tee, "articleType", "Tshirts", "Casual Shoes"),
                     Change(tee, "subCategory", "Topwear", "Shoes")], author="test")
    ds.store.record([Change(jean, "excluded", "false", "true")], author="test")
    after = labelled_set(ds, SCHEMES, multihead=True)
    assert _label(after, tee, "articleType") == "Casual Shoes"
    assert _label(after, tee, "subCategory") == "Shoes"
    assert jean not in set(after.ids.tolist())
    # what the batches carry is that label
    i = int(np.flatnonzero(after.ids == tee)[0])
    b = ImageBatches(np.zeros((len(after), 80, 60, 3), np.uint8), np.arange(len(after)),
                     after.labels, 4096, multihead=True)
    try:
        _, y = b[0]
    finally:
        b.close()
    assert after.classes["articleType"][y["articleType"][i]] == "Casual Shoes"

    ds.store.undo()  # un-excluded: back in, in the same part as before (stored split)
    again = labelled_set(ds, SCHEMES, multihead=True)
    assert jean in set(again.ids.tolist())
    j0, j1 = (int(np.flatnonzero(d.ids == jean)[0]) for d in (before, again))
    assert before.parts[j0] == again.parts[j1]


def _images(n: int) -> np.ndarray:
    x = np.zeros((n, 80, 60, 3), np.uint8)
    x[:, 0, 0, 0] = np.arange(n) % 256  # sample k carries k in its first pixel
    return x


@pytest.mark.parametrize("tf_data", [False, True], ids=["PyDataset", "tf.data"])
def test_batches_shuffle_cover_every_sample_and_keep_labels_aligned(tf_data):
    if tf_data and keras.backend.backend() != "tensorflow":
        pytest.skip("tf.data is the TensorFlow backend's pipeline")
    n = 37
    x = _images(n)
    labels = {"a": (np.arange(n) % 5).astype(np.int32), "b": np.where(np.arange(n) % 3 == 0, -1, 1).astype(np.int32)}
    b = make_batches(x, np.arange(n), labels, 8, shuffle=True, seed=1, multihead=True, tf_data=tf_data)
    assert b.batches == 5 and b.samples == n and b.kind == ("tf.data" if tf_data else "PyDataset")
    try:
        epochs = []
        for _ in range(2):
            seen = []
            it = iter(b.data) if tf_data else (b.data[i] for i in range(len(b.data)))
            for xb, yb in it:
                xb = np.asarray(xb)
                assert xb.dtype == np.uint8 and xb.shape[1:] == (80, 60, 3)
                k = xb[:, 0, 0, 0].astype(int)
                np.testing.assert_array_equal(np.asarray(yb["a"]), k % 5)
                np.testing.assert_array_equal(np.asarray(yb["b"]), np.where(k % 3 == 0, -1, 1))
                seen += k.tolist()
            assert sorted(seen) == list(range(n))
            epochs.append(seen)
            if not tf_data:
                b.data.on_epoch_end()
        assert epochs[0] != epochs[1]  # reshuffled each epoch
    finally:
        b.close()


@pytest.mark.parametrize("tf_data", [False, True], ids=["PyDataset", "tf.data"])
def test_one_hot_targets_and_prediction_batches(tf_data):
    if tf_data and keras.backend.backend() != "tensorflow":
        pytest.skip("tf.data is the TensorFlow backend's pipeline")
    n = 10
    x = _images(n)
    b = make_batches(x, np.arange(n), {"s": np.arange(n, dtype=np.int32) % 3}, 4, one_hot={"s": 3}, tf_data=tf_data)
    xb, yb = next(iter(b.data)) if tf_data else b.data[0]
    np.testing.assert_array_equal(np.asarray(yb), np.eye(3, dtype=np.float32)[np.arange(4) % 3])
    b.close()
    rows = np.array([7, 2, 5])
    p = make_batches(x, rows, None, 2, tf_data=tf_data)
    got = [np.asarray(t[0]) for t in (iter(p.data) if tf_data else (p.data[i] for i in range(len(p.data))))]
    assert np.concatenate(got)[:, 0, 0, 0].tolist() == [7, 2, 5]  # unshuffled: the rows' order, for predictions
    p.close()
