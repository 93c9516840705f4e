"""The bundled sample catalog (resources/sample-catalog): small, representative, loadable."""

from __future__ import annotations

import csv

import pandas as pd
import pytest

from fashion_review.data.catalog import load_catalog
from fashion_review.data.schemes import class_filter, scheme_labels

# The paper's 23 articleTypes (Table 1, articleType after the 500-image filter).
PAPER_ARTICLE_TYPES = {
    "Backpacks", "Belts", "Briefs", "Casual Shoes", "Flats", "Flip Flops", "Formal Shoes", "Handbags",
    "Heels", "Jeans", "Kurtas", "Perfume and Body Mist", "Sandals", "Shirts", "Shorts", "Socks",
    "Sports Shoes", "Sunglasses", "Tops", "Trousers", "Tshirts", "Wallets", "Watches",
}


@pytest.fixture(scope="module")
def sample(sample_dir):
    return load_catalog(sample_dir)


def test_small_enough(sample_dir):
    files = [sample_dir / "styles.csv", *(sample_dir / "images").iterdir()]
    total = sum(p.stat().st_size for p in files)
    assert total < 3_000_000, f"{total:,} bytes"
    assert sum(p.stat().st_size for p in sample_dir.rglob("*") if p.is_file()) < 3_000_000


def test_about_a_thousand_real_images(sample_dir, sample):
    from PIL import Image

    images = sorted((sample_dir / "images").iterdir())
    assert 900 <= len(images) <= 1100
    ids = set(sample.df.index)
    for p in images:
        assert p.suffix == ".jpg" and int(p.stem) in ids  # no orphan images
        with Image.open(p) as im:
            assert im.format == "JPEG"
            im.draft("RGB", im.size)
            assert abs(im.size[0] - 60) <= 9 and abs(im.size[1] - 80) <= 12
    assert int(sample.df["has_image"].sum()) == len(images)


def test_loads_without_a_fatal_error_and_keeps_the_real_quirks(sample):
    counts = sample.report.counts()
    assert 1 <= counts.get("malformed_row", 0) <= 10  # a few of the real file's malformed rows
    assert counts.get("blank_field", 0) > 0
    recovered = sample.df.loc[sample.df["line"].isin(sample.malformed_lines), "productDisplayName"]
    assert len(recovered) == counts["malformed_row"] and recovered.str.contains(",").all()


def test_every_paper_class_has_a_few_dozen_images(sample):
    labels = scheme_labels(sample.df, "articleType")
    per_class = labels[sample.df["has_image"].to_numpy()].value_counts()
    for cls in PAPER_ARTICLE_TYPES:
        assert 24 <= per_class.get(cls, 0) <= 60, (cls, per_class.get(cls, 0))
    assert {"Flats", "Heels"} <= set(per_class.index)
    small = per_class.drop(list(PAPER_ARTICLE_TYPES))
    assert len(small) >= 3 and (small < sample.settings["min_images"]).all()
    # the sample's own filter keeps exactly the paper's classes
    cf = class_filter(labels, sample.df["has_image"], "articleType", sample.settings["min_images"])
    assert set(cf.kept) == PAPER_ARTICLE_TYPES


def test_made_from_the_shared_data(sample_dir, shared_data):
    """Every line of the sample is a line of the real file, and the 23 are the real file's kept classes."""
    real_lines = set((shared_data / "styles.csv").read_text(encoding="utf-8").splitlines())
    sample_lines = (sample_dir / "styles.csv").read_text(encoding="utf-8").splitlines()
    assert all(line in real_lines for line in sample_lines)
    with open(shared_data / "styles.csv", newline="", encoding="utf-8") as f:
        rows = [r for r in csv.reader(f)][1:]
    # as the paper: skip the 11-field rows, count every row as if its image were present
    at = pd.Series([r[4] for r in rows if len(r) == 10]).value_counts()
    assert set(at.index[at >= 500]) == PAPER_ARTICLE_TYPES
    for p in (sample_dir / "images").iterdir():
        assert p.read_bytes() == (shared_data / "images" / p.name).read_bytes()
