"""The effective catalog: given labels + corrections, exclusion, schemes, class filter, stats."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from _catalog_helpers import csv_text, row, write_dataset

from fashion_review.data.corrections import Change
from fashion_review.data.dataset import open_dataset
from fashion_review.data.schemes import SCHEMES, class_filter, fields_for_label, scheme_labels
from fashion_review.errors import DataError

# id: (gender, masterCategory, subCategory, articleType, baseColour)
PRODUCTS = {
    1: ("Men", "Apparel", "Topwear", "Shirts", "Blue"),
    2: ("Men", "Apparel", "Topwear", "Shirts", "Blue"),
    3: ("Men", "Apparel", "Topwear", "Shirts", "Red"),
    4: ("Women", "Footwear", "Shoes", "Heels", "Red"),
    5: ("Women", "Footwear", "Shoes", "Heels", "Black"),
    6: ("Women", "Footwear", "Shoes", "Heels", "Black"),
    7: ("Women", "Personal Care", "Fragrance", "Perfume and Body Mist", "Black"),
    8: ("Women", "Personal Care", "Fragrance", "Perfume and Body Mist", "Black"),
    9: ("Unisex", "Accessories", "Watches", "Watches", "Silver"),
    10: ("", "Accessories", "Watches", "Watches", ""),  # blank gender and colour
    11: ("Men", "Apparel", "Topwear", "Shirts", "Blue"),  # no image
}
NO_IMAGE = {11}
FIELDS = ("gender", "masterCategory", "subCategory", "articleType", "baseColour")


def _write(folder, toml=None):
    lines = [row(pid, **dict(zip(FIELDS, vals))) for pid, vals in PRODUCTS.items()]
    data = write_dataset(folder, csv_text(*lines), [p for p in PRODUCTS if p not in NO_IMAGE])
    if toml is not None:
        (data / "fashion-review.toml").write_text(toml)
    return data


@pytest.fixture
def ds(tmp_path, home_dir):
    d = open_dataset(_write(tmp_path / "data"))
    yield d
    d.close()


def test_labels_as_given(ds):
    gm = ds.labels("gender_master")
    assert gm[1] == "Men Apparel" and gm[7] == "Women Personal Care" and gm[9] == "Unisex Accessories"
    assert math.isnan(gm[10])  # blank gender: no label, not " Accessories"
    assert math.isnan(ds.labels("baseColour")[10])
    assert ds.labels("articleType")[10] == "Watches"
    for scheme in SCHEMES:
        assert ds.labels(scheme).index.equals(ds.catalog.df.index)


def test_effective_applies_corrections_undo_and_redo(ds):
    ds.store.record(
        [Change(1, "articleType", "Shirts", "Tshirts"), Change(4, "gender", "Women", "Men")],
        author="alice",
    )
    eff = ds.effective()
    assert eff.at[1, "articleType"] == "Tshirts"
    assert eff.at[4, "gender"] == "Men"
    assert ds.labels("gender_master")[4] == "Men Footwear"  # the joined label follows the field
    assert ds.labels("articleType")[2] == "Shirts"  # others untouched
    assert ds.catalog.df.at[1, "articleType"] == "Shirts"  # the catalog as read is not changed

    ds.store.correct(1, "articleType", "Kurtas", old_value="Tshirts")  # the latest one wins
    assert ds.labels("articleType")[1] == "Kurtas"
    ds.store.undo()
    assert ds.labels("articleType")[1] == "Tshirts"
    ds.store.undo()
    assert ds.labels("articleType")[1] == "Shirts" and ds.labels("gender_master")[4] == "Women Footwear"
    ds.store.redo()
    assert ds.labels("articleType")[1] == "Tshirts"


def test_corrections_survive_reopening(tmp_path, home_dir):
    data = _write(tmp_path / "data")
    with open_dataset(data).store as store:
        store.correct(2, "baseColour", "Navy Blue", old_value="Blue")
    d = open_dataset(data)
    try:
        assert d.labels("baseColour")[2] == "Navy Blue"
    finally:
        d.close()


def test_corrections_of_unknown_products_or_fields_are_ignored(ds):
    ds.store.correct(999, "articleType", "Heels", old_value="")
    ds.store.correct(2, "no_such_column", "x", old_value="")
    ds.store.correct(2, "has_image", "false", old_value="true")
    ds.store.correct(2, "line", "1", old_value="3")
    eff = ds.effective()
    assert 999 not in eff.index
    assert "no_such_column" not in eff.columns
    assert eff["has_image"].dtype == bool and bool(eff.at[2, "has_image"])
    assert eff["line"].dtype == "int64" and eff.at[2, "line"] == 3
    pd.testing.assert_frame_equal(eff.drop(columns="excluded"), ds.catalog.df)


def test_exclusion_comes_before_class_filtering(ds):
    # Heels has 3 products with an image; with min_images=3 it is kept ...
    assert "Heels" in ds.class_filter("articleType", 3).kept
    assert set(ds.usable("articleType", 3).index) == {1, 2, 3, 4, 5, 6}
    # ... excluding one of them drops the whole class under the threshold
    ds.store.correct(5, "excluded", "true", old_value="false")
    eff = ds.effective()
    assert bool(eff.at[5, "excluded"]) and not eff["excluded"].drop(5).any()
    cf = ds.class_filter("articleType", 3)
    assert cf.counts_before["Heels"] == 2 and "Heels" in cf.dropped
    assert set(ds.usable("articleType", 3).index) == {1, 2, 3}
    assert ds.stats(3)["schemes"]["articleType"]["classes_after"] == 1
    # un-excluding brings it back
    ds.store.correct(5, "excluded", "false", old_value="true")
    assert set(ds.usable("articleType", 3).index) == {1, 2, 3, 4, 5, 6}


def test_products_without_image_are_not_counted(ds):
    cf = ds.class_filter("articleType", 1)
    assert cf.counts_before["Shirts"] == 3  # 1, 2, 3; not 11
    assert 11 not in ds.usable("articleType", 1).index
    # a correction moving the imageless product changes no count
    ds.store.correct(11, "articleType", "Heels", old_value="Shirts")
    assert ds.class_filter("articleType", 1).counts_before["Heels"] == 3


def test_class_filter_counts_match_pandas(ds):
    eff = ds.effective()
    for scheme in SCHEMES:
        for n in (1, 2, 3):
            cf = ds.class_filter(scheme, n)
            labels = scheme_labels(eff, scheme)[eff["has_image"]].dropna()
            vc = labels.value_counts()
            assert cf.kept == sorted(vc.index[vc >= n])
            assert cf.images_after == int(vc[vc >= n].sum())
            assert cf.dropped == sorted(vc.index[vc < n])


@pytest.mark.parametrize(
    ("label", "fields"),
    [
        ("Men Apparel", {"gender": "Men", "masterCategory": "Apparel"}),
        ("Women Personal Care", {"gender": "Women", "masterCategory": "Personal Care"}),
        ("Unisex Sporting Goods", {"gender": "Unisex", "masterCategory": "Sporting Goods"}),
        ("Boys Free Items", {"gender": "Boys", "masterCategory": "Free Items"}),
    ],
)
def test_fields_for_label_is_the_inverse_of_joining(label, fields):
    assert fields_for_label("gender_master", label) == fields
    df = pd.DataFrame({k: [v] for k, v in fields.items()})
    assert scheme_labels(df, "gender_master")[0] == label


def test_fields_for_label_on_every_real_label(sample_dir):
    from fashion_review.data.catalog import load_catalog

    df = load_catalog(sample_dir).df
    labels = scheme_labels(df, "gender_master")
    for pid, label in labels.dropna().items():
        f = fields_for_label("gender_master", label)
        assert (f["gender"], f["masterCategory"]) == (df.at[pid, "gender"], df.at[pid, "masterCategory"])
    assert fields_for_label("articleType", "Flip Flops") == {"articleType": "Flip Flops"}


@pytest.mark.parametrize("bad", ["Apparel", "", " Apparel", "Men "])
def test_fields_for_label_rejects_non_labels(bad):
    with pytest.raises(DataError, match="is not a gender_master label"):
        fields_for_label("gender_master", bad)


def test_unknown_scheme(ds):
    with pytest.raises(DataError, match=r"unknown scheme 'colour'; choose one of gender_master, subCategory"):
        ds.labels("colour")


def test_min_images_from_the_data_sets_settings(tmp_path, home_dir):
    plain = open_dataset(_write(tmp_path / "plain"))
    own = open_dataset(_write(tmp_path / "own", toml="min_images = 3\n"))
    try:
        assert plain.default_min_images == 500
        assert own.default_min_images == 3
        assert plain.stats()["schemes"]["articleType"]["classes_after"] == 0
        assert own.stats()["schemes"]["articleType"] == {"classes_before": 4, "classes_after": 2, "images_after": 6}
        assert own.stats(2) != own.stats()  # an explicit value wins
        assert own.split_path("articleType").name == "articleType-min3.csv"
        assert set(own.split("articleType").index) == {1, 2, 3, 4, 5, 6}
    finally:
        plain.close()
        own.close()


def test_sample_min_images(sample_dir, home_dir):
    d = open_dataset(sample_dir)
    try:
        assert d.default_min_images == d.catalog.settings["min_images"] == 20
        stats = d.stats()
        eff = d.effective()
        labels = scheme_labels(eff, "articleType")[eff["has_image"]]
        vc = labels.value_counts()
        assert stats["schemes"]["articleType"]["classes_after"] == int((vc >= 20).sum())
    finally:
        d.close()


def test_stats_keys_and_values(ds):
    stats = ds.stats(2)
    assert list(stats) == ["rows", "malformed_rows", "duplicate_ids", "with_image", "missing_image", "schemes"]
    assert list(stats["schemes"]) == ["gender_master", "subCategory", "articleType", "baseColour"]
    for s in stats["schemes"].values():
        assert list(s) == ["classes_before", "classes_after", "images_after"]
    assert (stats["rows"], stats["with_image"], stats["missing_image"]) == (11, 10, 1)
    assert (stats["malformed_rows"], stats["duplicate_ids"]) == (0, 0)
    assert stats["schemes"]["gender_master"] == {"classes_before": 4, "classes_after": 3, "images_after": 8}
    assert stats["schemes"]["baseColour"] == {"classes_before": 4, "classes_after": 3, "images_after": 8}


def test_stats_counts_malformed_and_duplicates(tmp_path, home_dir):
    text = csv_text(row(1), row(2, productDisplayName="A, B"), row(1), row(3, productDisplayName="C, D"))
    d = open_dataset(write_dataset(tmp_path / "d", text, [1, 2]))
    try:
        s = d.stats(1)
        assert (s["rows"], s["malformed_rows"], s["duplicate_ids"], s["with_image"], s["missing_image"]) == (
            3, 2, 1, 2, 1)
    finally:
        d.close()
    d = open_dataset(tmp_path / "d", skip_malformed=True)
    try:
        assert d.stats(1)["rows"] == 1 and d.stats(1)["malformed_rows"] == 2
    finally:
        d.close()


def test_class_filter_function_ignores_missing_has_image_entries():
    labels = pd.Series(["a", "a", "b", None], index=[1, 2, 3, 4])
    has = pd.Series([True, True], index=[1, 3])  # 2 and 4 unknown: not counted
    cf = class_filter(labels, has, "articleType", 1)
    assert cf.counts_before.to_dict() == {"a": 1, "b": 1}


def test_a_class_threshold_per_scheme(ds):
    """The reference model's training keeps the full catalog's classes with one threshold per scheme
    (scripts/train_reference.py): a scheme the mapping names takes its own, the others the default."""
    per_scheme = {"articleType": 4, "gender_master": 1}
    assert "Heels" not in ds.class_filter("articleType", per_scheme).kept  # 3 images < 4
    assert ds.class_filter("articleType", per_scheme).min_images == 4
    assert ds.class_filter("gender_master", per_scheme).min_images == 1
    assert ds.class_filter("subCategory", per_scheme).min_images == ds.default_min_images
    assert set(ds.usable("articleType", per_scheme).index) == set(ds.usable("articleType", 4).index)
    assert ds.split_path("articleType", per_scheme) == ds.split_path("articleType", 4)


def test_thresholds_keeping_a_models_classes_after_exclusions(ds):
    from fashion_review.data.schemes import thresholds_keeping

    want = {"articleType": ["Heels", "Shirts"]}
    assert thresholds_keeping(ds, want, 3) == {"articleType": 3}  # nothing to lower
    for pid in (4, 7, 9):  # a Heels product out; Perfume and Watches fall to one image each
        ds.store.correct(pid, "excluded", "true", old_value="false")
    assert "Heels" not in ds.class_filter("articleType", 3).kept
    got = thresholds_keeping(ds, want, 3)
    assert got == {"articleType": 2} and set(ds.class_filter("articleType", got).kept) == {"Heels", "Shirts"}
    ds.store.correct(7, "excluded", "false", old_value="true")  # Perfume back at 2: lowering would let it in
    with pytest.raises(DataError, match=r"extra \['Perfume and Body Mist'\]"):
        thresholds_keeping(ds, want, 3)
