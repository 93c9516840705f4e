"""Shared fixtures of the training tests: a tiny real catalog and one trained run per session.

The tiny catalog is cut from the bundled sample (its real photos): 18 products each of four
article types (Tshirts, Jeans, Casual Shoes, Watches), the sample's 4 Dresses (a class the filter
drops for articleType and subCategory, kept for gender_master: masked heads) and 3 products
without an image; ``min_images = 12``.  Training takes seconds per epoch at image size 71.

Fixtures that train or predict are session-scoped and live in their own home folder
(``tiny_home``); a test that reads them asks for ``in_tiny_home``, which points
``FASHION_REVIEW_HOME`` there for that test.
"""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

ARTICLE_TYPES = ("Tshirts", "Jeans", "Casual Shoes", "Watches")
PER_CLASS = 18
MIN_IMAGES = 12
IMAGE_SIZE = 71
BATCH = 16


def make_tiny_catalog(sample: Path, dest: Path) -> Path:
    """Write the tiny catalog (see the module docstring) into ``dest``; returns ``dest``."""
    from fashion_review.data import load_catalog

    cat = load_catalog(sample)
    df = cat.df
    clean = df[~df.index.isin([p.product_id for p in cat.report.problems if p.kind == "malformed_row"])]
    picked = []
    for at in ARTICLE_TYPES:
        picked += clean.index[(clean["articleType"] == at) & clean["has_image"]][:PER_CLASS].tolist()
    picked += clean.index[(clean["articleType"] == "Dresses") & clean["has_image"]].tolist()
    picked += clean.index[~clean["has_image"]][:3].tolist()
    lines = (sample / "styles.csv").read_text(encoding="utf-8").splitlines()
    keep = sorted(int(df.at[i, "line"]) for i in picked)
    dest.mkdir(parents=True, exist_ok=True)
    (dest / "styles.csv").write_text("\n".join([lines[0]] + [lines[n - 1] for n in keep]) + "\n", encoding="utf-8")
    (dest / "fashion-review.toml").write_text(f"min_images = {MIN_IMAGES}\n", encoding="utf-8")
    (dest / "images").mkdir(exist_ok=True)
    for i in picked:
        src = sample / "images" / f"{i}.jpg"
        if src.exists():
            shutil.copyfile(src, dest / "images" / f"{i}.jpg")
    return dest


@contextlib.contextmanager
def home_env(home: Path) -> Iterator[None]:
    """``FASHION_REVIEW_HOME`` pointed at ``home`` for a session fixture's work."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("FASHION_REVIEW_HOME", str(home))
        yield


@pytest.fixture(scope="session")
def tiny_catalog(tmp_path_factory, sample_dir) -> Path:
    return make_tiny_catalog(sample_dir, tmp_path_factory.mktemp("tiny") / "catalog")


@pytest.fixture(scope="session")
def tiny_home(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("training-home")


@pytest.fixture
def in_tiny_home(tiny_home, monkeypatch) -> Path:
    monkeypatch.setenv("FASHION_REVIEW_HOME", str(tiny_home))
    return tiny_home


@pytest.fixture(scope="session")
def tiny_ds(tiny_catalog, tiny_home):
    from fashion_review.data import open_dataset

    with home_env(tiny_home):
        ds = open_dataset(tiny_catalog)
    yield ds
    ds.close()


@pytest.fixture(scope="session")
def corrected(tiny_ds, tiny_home):
    """One relabelled and one excluded product, recorded before the shared run is trained.

    Returns ``(relabelled id, its new articleType, excluded id)``.
    """
    from fashion_review.data.corrections import Change

    eff = tiny_ds.effective()
    moved = int(eff.index[eff["articleType"] == "Tshirts"][0])
    excluded = int(eff.index[eff["articleType"] == "Jeans"][0])
    tiny_ds.store.record([Change(moved, "articleType", "Tshirts", "Watches")], author="test")
    tiny_ds.store.record([Change(excluded, "excluded", "false", "true")], author="test")
    return moved, "Watches", excluded


@pytest.fixture(scope="session")
def trained_run(tiny_ds, tiny_home, corrected):
    """The multihead recipe trained for one epoch on the whole tiny catalog (graph mode)."""
    from fashion_review.training.train import train

    with home_env(tiny_home):
        return train(tiny_ds, "xception-multihead", epochs=1, batch_size=BATCH, image_size=IMAGE_SIZE)


@pytest.fixture(scope="session")
def predicted(tiny_ds, tiny_home, trained_run):
    from fashion_review.training.predict import predict

    with home_env(tiny_home):
        return predict(trained_run, tiny_ds)


@pytest.fixture(scope="session")
def evaluated(tiny_ds, tiny_home, trained_run, predicted):
    from fashion_review.training.evaluate import evaluate

    with home_env(tiny_home):
        return evaluate(trained_run, tiny_ds)
