"""Splits: stratified, seeded, stored once, and stable under corrections and new products."""

from __future__ import annotations

import dataclasses
import os

import pandas as pd
import pytest
from _catalog_helpers import csv_text, row, write_dataset

from fashion_review.data import splits
from fashion_review.data.catalog import load_catalog
from fashion_review.data.dataset import Dataset, open_dataset
from fashion_review.data.splits import PARTS, hashed_parts, stored_split

SIZES = {"Shirts": 150, "Jeans": 95, "Watches": 60, "Heels": 41, "Ties": 6}  # Ties: under min_images
MIN = 20


def _rows(sizes: dict[str, int], start: int = 1):
    out, pid = [], start
    for cls, n in sizes.items():
        for _ in range(n):
            out.append((pid, cls))
            pid += 1
    return out


def _write(folder, products, extra_lines=()):
    lines = [row(pid, articleType=cls, productDisplayName=f"{cls} {pid}") for pid, cls in products]
    return write_dataset(folder, csv_text(*lines, *extra_lines), [pid for pid, _ in products], placeholder=True)


@pytest.fixture
def data(tmp_path):
    return _write(tmp_path / "data", _rows(SIZES))


@pytest.fixture
def ds(data, home_dir):
    d = open_dataset(data)
    yield d
    d.close()


def test_parts_cover_exactly_the_usable_products(ds):
    parts = ds.split("articleType", MIN)
    usable = ds.usable("articleType", MIN)
    assert parts.index.is_unique
    assert set(parts.index) == set(usable.index)
    assert set(parts.unique()) == set(PARTS)
    assert len(parts) == sum(n for n in SIZES.values() if n >= MIN)  # Ties dropped
    assert not parts.isna().any()


def test_split_is_stratified(ds):
    parts = ds.split("articleType", MIN)
    labels = ds.usable("articleType", MIN)
    table = pd.crosstab(labels, parts.reindex(labels.index))
    for cls, r in table.iterrows():
        n = SIZES[cls]
        assert abs(r["val"] - 0.2 * n) <= 1, (cls, dict(r))
        assert abs(r["test"] - 0.2 * (n - r["val"])) <= 1, (cls, dict(r))
        assert r["train"] == n - r["val"] - r["test"]


def test_split_is_seeded(data, tmp_path, monkeypatch):
    def split_in_fresh_home(name, seed):
        monkeypatch.setenv("FASHION_REVIEW_HOME", str(tmp_path / name))
        d = open_dataset(data)
        try:
            return d.split("articleType", MIN, seed=seed)
        finally:
            d.close()

    a = split_in_fresh_home("home-a", 42)
    b = split_in_fresh_home("home-b", 42)
    c = split_in_fresh_home("home-c", 7)
    pd.testing.assert_series_equal(a, b)
    assert (a != c.reindex(a.index)).sum() > 10  # the seed is used


def test_split_is_stored_and_read_back(ds, monkeypatch):
    first = ds.split("articleType", MIN, seed=42)
    path = ds.split_path("articleType", MIN)
    assert path.is_file() and path.parent == ds.home / "splits"
    stored = pd.read_csv(path, index_col="id")["part"]
    pd.testing.assert_series_equal(stored, first, check_names=False, check_dtype=False)
    assert first.dtype == object

    # a second call reads the file: another seed changes nothing, and no split is recomputed
    monkeypatch.setattr(splits, "initial_split", lambda *a, **k: pytest.fail("split recomputed"))
    again = ds.split("articleType", MIN, seed=999)
    pd.testing.assert_series_equal(again, first)

    # the file is what counts: an edit to it shows up in the next call
    victim = int(first.index[first == "train"][0])
    text = path.read_text().replace(f"\n{victim},train\n", f"\n{victim},test\n")
    path.write_text(text)
    assert ds.split("articleType", MIN)[victim] == "test"


def test_each_min_images_and_reading_mode_has_its_own_split(data, home_dir):
    d = open_dataset(data)
    d2 = open_dataset(data, skip_malformed=True)
    try:
        a = d.split("articleType", MIN)
        b = d.split("articleType", 50)
        assert d.split_path("articleType", MIN) != d.split_path("articleType", 50)
        assert d.split_path("articleType", MIN) != d2.split_path("articleType", MIN)
        assert set(b.index) < set(a.index)  # Heels (41) is under 50
    finally:
        d.close()
        d2.close()


def test_correction_into_another_kept_class_moves_nobody(ds):
    before = ds.split("articleType", MIN)
    moved = [int(before.index[before == p][0]) for p in PARTS]  # one product from each part
    for pid in moved:
        old = ds.catalog.df.at[pid, "articleType"]
        ds.store.correct(pid, "articleType", "Jeans" if old == "Shirts" else "Shirts", old_value=old)
    labels = ds.usable("articleType", MIN)
    assert all(labels[pid] in ("Jeans", "Shirts") for pid in moved)
    after = ds.split("articleType", MIN)
    pd.testing.assert_series_equal(after, before)


def test_correction_into_a_kept_class_places_a_new_product(ds):
    before = ds.split("articleType", MIN)
    ties = [pid for pid, cls in _rows(SIZES) if cls == "Ties"]
    assert not set(ties) & set(before.index)
    ds.store.correct(ties[0], "articleType", "Watches", old_value="Ties")
    after = ds.split("articleType", MIN)
    assert after[ties[0]] in PARTS
    pd.testing.assert_series_equal(after.drop(ties[0]), before)


def test_exclusion_and_its_undo_keep_every_part(ds):
    before = ds.split("articleType", MIN)
    pid = int(before.index[before == "val"][0])
    ds.store.correct(pid, "excluded", "true", old_value="false")
    after = ds.split("articleType", MIN)
    assert pid not in after.index
    pd.testing.assert_series_equal(after, before.drop(pid))
    ds.store.undo()
    pd.testing.assert_series_equal(ds.split("articleType", MIN), before)


def test_new_products_get_a_part_and_move_nobody(ds, tmp_path):
    before = ds.split("articleType", MIN)
    # the same catalog with 1,000 new products appended (same data set: same store, same home)
    new = _rows({"Shirts": 400, "Heels": 300, "Jeans": 300}, start=10_001)
    bigger = load_catalog(_write(tmp_path / "bigger", [*_rows(SIZES), *new]))
    grown = Dataset(dataclasses.replace(bigger, fingerprint=ds.fingerprint), ds.store)
    after = grown.split("articleType", MIN)
    pd.testing.assert_series_equal(after.loc[before.index], before)
    new_ids = [pid for pid, _ in new]
    assert set(after.index) == set(before.index) | set(new_ids)
    share = after.loc[new_ids].value_counts(normalize=True)
    # placed in about the split's proportions: 20 % val, 16 % test, 64 % train
    assert abs(share["val"] - 0.20) < 0.05 and abs(share["test"] - 0.16) < 0.05
    # and the extension is stored: a fresh read of the file gives the same
    pd.testing.assert_series_equal(grown.split("articleType", MIN), after)


def test_stored_split_extends_only(tmp_path):
    path = tmp_path / "s.csv"
    labels = pd.Series(["a"] * 50 + ["b"] * 50, index=pd.Index(range(100, 200), name="id"))
    first = stored_split(path, labels)
    more = pd.concat([labels, pd.Series(["a"] * 10, index=pd.Index(range(500, 510), name="id"))])
    second = stored_split(path, more)
    pd.testing.assert_series_equal(second.loc[first.index], first)
    pd.testing.assert_series_equal(second.loc[500:], hashed_parts(pd.Index(range(500, 510), name="id")),
                                   check_names=False)
    # products that left (e.g. excluded) are not returned, but keep their place in the file
    fewer = stored_split(path, labels.iloc[10:])
    assert len(fewer) == 90
    pd.testing.assert_series_equal(stored_split(path, labels), first)


def test_hashed_parts_are_deterministic_per_id():
    a = hashed_parts(pd.Index([5, 6, 7, 8]))
    b = hashed_parts(pd.Index([8, 7, 6, 5, 9]))
    assert all(a[i] == b[i] for i in a.index)
    assert (hashed_parts(pd.Index(range(2000)), seed=1) != hashed_parts(pd.Index(range(2000)), seed=2)).any()


@pytest.mark.parametrize("sizes", [{"Shirts": 2}, {"Shirts": 9, "Jeans": 1}], ids=["two-products", "singleton-class"])
def test_tiny_catalogs_still_split(tmp_path, home_dir, sizes):
    d = open_dataset(_write(tmp_path / "tiny", _rows(sizes)))
    try:
        parts = d.split("articleType", 1)
        assert set(parts.index) == set(d.usable("articleType", 1).index)
        assert set(parts.unique()) <= set(PARTS)
    finally:
        d.close()


def test_split_file_is_written_atomically(ds, monkeypatch):
    path = ds.split_path("articleType", MIN)
    ds.split("articleType", MIN)
    good = path.read_bytes()

    def boom(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    ds.store.correct(SIZES["Shirts"] + SIZES["Jeans"] + SIZES["Watches"] + SIZES["Heels"] + 1,
                     "articleType", "Watches", old_value="Ties")  # a product to add
    with pytest.raises(OSError, match="disk full"):
        ds.split("articleType", MIN)
    assert path.read_bytes() == good
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]  # no temp file left


def test_a_grown_styles_csv_keeps_the_earlier_parts(ds, data):
    """New rows change the file's fingerprint (a new data set); its split starts from the old one."""
    before = ds.split("articleType", MIN)
    new = _rows({"Shirts": 400, "Heels": 300}, start=20_001)
    _write(data, [*_rows(SIZES), *new])  # the same styles.csv, grown in place
    grown = open_dataset(data)
    try:
        assert grown.fingerprint != ds.fingerprint
        after = grown.split("articleType", MIN)
    finally:
        grown.close()
    pd.testing.assert_series_equal(after.loc[before.index], before)
    assert set(after.index) == set(before.index) | {pid for pid, _ in new}


def test_another_data_set_does_not_lend_its_split(ds, tmp_path):
    ds.split("articleType", MIN)
    other_dir = _write(tmp_path / "other", _rows({"Shirts": 150, "Jeans": 95, "Watches": 60, "Heels": 41}))
    other = open_dataset(other_dir)
    try:
        assert other._earlier_version_of(other.split_path("articleType", MIN)) is None
    finally:
        other.close()
