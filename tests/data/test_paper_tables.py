"""The paper's Table 1 and Table 2, reproduced on the shared data.

The shared copy lacks some images, so the "all images of the original present" case is rebuilt in
a temporary folder: a copy of styles.csv and an EMPTY placeholder images/<id>.jpg for every id but
the five the original lacks (the catalog counts image files by existence, not by decoding).
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from fashion_review.cli import main
from fashion_review.data.catalog import load_catalog
from fashion_review.data.corrections import CorrectionStore
from fashion_review.data.dataset import Dataset

NO_IMAGE_IN_ORIGINAL = (12347, 39401, 39403, 39410, 39425)

# The paper's Table 1 (classes before / after the 500-image filter, images after) and Table 2
# (train / val / test), as listed in ../shared/data/README.md.
TABLE_1 = {
    "gender_master": {"classes_before": 23, "classes_after": 12, "images_after": 44_018},
    "subCategory": {"classes_before": 45, "classes_after": 15, "images_after": 40_847},
    "articleType": {"classes_before": 142, "classes_after": 23, "images_after": 34_719},
}
TABLE_2 = {
    "gender_master": (28_171, 8_804, 7_043),
    "subCategory": (26_141, 8_170, 6_536),
    "articleType": (22_220, 6_944, 5_555),
}


@pytest.fixture(scope="module")
def full_tree(shared_data, tmp_path_factory) -> Path:
    """styles.csv + an empty placeholder image for every id except the five the original lacks."""
    root = tmp_path_factory.mktemp("all-images")
    shutil.copyfile(shared_data / "styles.csv", root / "styles.csv")
    images = root / "images"
    images.mkdir()
    with open(root / "styles.csv", newline="", encoding="utf-8") as f:
        ids = {int(r[0]) for r in csv.reader(f) if r and r[0].isdigit()}
    assert len(ids) == 44_446
    for pid in ids.difference(NO_IMAGE_IN_ORIGINAL):
        # os.open/close: the cheapest way to make an empty file
        os.close(os.open(images / f"{pid}.jpg", os.O_CREAT | os.O_WRONLY, 0o644))
    return root


@pytest.fixture(scope="module")
def paper_catalog(full_tree):
    return load_catalog(full_tree, skip_malformed=True)


@pytest.fixture
def paper_ds(paper_catalog, home_dir):
    ds = Dataset(paper_catalog, CorrectionStore.for_dataset(paper_catalog.fingerprint))
    yield ds
    ds.close()


@pytest.fixture(scope="module")
def pandas_oracle(full_tree) -> dict:
    """Table-1 numbers computed independently: pandas reading the file as the paper did."""
    df = pd.read_csv(full_tree / "styles.csv", on_bad_lines="skip", dtype=str, keep_default_na=False)
    df = df[~df["id"].astype(int).isin(NO_IMAGE_IN_ORIGINAL)]
    out = {}
    labels = {
        "gender_master": (df["gender"] + " " + df["masterCategory"]).where(
            (df["gender"] != "") & (df["masterCategory"] != "")),
        "subCategory": df["subCategory"].where(df["subCategory"] != ""),
        "articleType": df["articleType"].where(df["articleType"] != ""),
        "baseColour": df["baseColour"].where(df["baseColour"] != ""),
    }
    for scheme, lab in labels.items():
        vc = lab.dropna().value_counts()
        out[scheme] = {"classes_before": int(len(vc)), "classes_after": int((vc >= 500).sum()),
                       "images_after": int(vc[vc >= 500].sum())}
    return {"rows": len(df) + len(NO_IMAGE_IN_ORIGINAL), "schemes": out}


def expected_stats(pandas_oracle) -> dict:
    return {
        "rows": 44_424,
        "malformed_rows": 22,
        "duplicate_ids": 0,
        "with_image": 44_419,
        "missing_image": 5,
        "schemes": {**TABLE_1, "baseColour": pandas_oracle["schemes"]["baseColour"]},
    }


def test_oracle_agrees_with_the_paper(pandas_oracle):
    # the independent reading must itself reproduce Table 1, or it is no oracle
    assert pandas_oracle["rows"] == 44_424
    assert {k: v for k, v in pandas_oracle["schemes"].items() if k in TABLE_1} == TABLE_1


def test_table_1(paper_ds, pandas_oracle):
    stats = paper_ds.stats(500)
    assert stats == expected_stats(pandas_oracle)
    assert paper_ds.catalog.report.count("missing_image") == 5
    assert set(paper_ds.catalog.df.index[~paper_ds.catalog.df["has_image"]]) == set(NO_IMAGE_IN_ORIGINAL)


@pytest.mark.parametrize("scheme", list(TABLE_2))
def test_table_2(paper_ds, scheme):
    parts = paper_ds.split(scheme, 500)
    counts = parts.value_counts()
    assert (int(counts["train"]), int(counts["val"]), int(counts["test"])) == TABLE_2[scheme]
    usable = paper_ds.usable(scheme, 500)
    assert parts.index.equals(usable.index.sort_values())
    assert sorted(usable.unique()) == paper_ds.class_filter(scheme, 500).kept


def test_recovering_reader_keeps_the_22_rows(full_tree, home_dir):
    # not the paper's reading: the 22 malformed rows recovered count too
    cat = load_catalog(full_tree)
    ds = Dataset(cat, CorrectionStore.for_dataset(cat.fingerprint))
    try:
        stats = ds.stats(500)
    finally:
        ds.close()
    assert (stats["rows"], stats["malformed_rows"], stats["with_image"], stats["missing_image"]) == (
        44_446, 22, 44_441, 5)
    assert stats["schemes"]["articleType"]["classes_before"] >= 142


def _check_json_shape(out: str, expected: dict) -> None:
    got = json.loads(out)
    assert got == expected
    # exactly the shape: these keys, in this order, all ints
    assert list(got) == ["rows", "malformed_rows", "duplicate_ids", "with_image", "missing_image", "schemes"]
    assert list(got["schemes"]) == ["gender_master", "subCategory", "articleType", "baseColour"]
    for s in got["schemes"].values():
        assert list(s) == ["classes_before", "classes_after", "images_after"]
        assert all(type(v) is int for v in s.values())
    assert all(type(got[k]) is int for k in list(got)[:5])


def test_stats_cli_in_process(full_tree, pandas_oracle, capsys):
    rc = main(["stats", "--data", str(full_tree), "--skip-malformed", "--json"])
    out = capsys.readouterr().out
    assert rc == 0
    _check_json_shape(out, expected_stats(pandas_oracle))


def test_stats_cli_subprocess(full_tree, pandas_oracle, home_dir):
    script = Path(sys.executable).parent / "fashion-review"
    cmd = [str(script)] if script.exists() else [sys.executable, "-m", "fashion_review"]
    res = subprocess.run(
        [*cmd, "--home", str(home_dir), "stats", "--data", str(full_tree), "--skip-malformed", "--json"],
        capture_output=True, text=True, timeout=120,
    )
    assert res.returncode == 0, res.stderr
    _check_json_shape(res.stdout, expected_stats(pandas_oracle))
