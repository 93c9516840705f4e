"""Shared fixtures.  Every test gets its own home folder, so none touches the user's files."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# Tests never need a screen (pytest-qt's QApplication included); a real display can still be asked for.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

SHARED_DATA = (Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "fashion-product-images-small").resolve()
SAMPLE = Path(__file__).resolve().parents[1] / "resources" / "sample-catalog"


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory, monkeypatch):
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("FASHION_REVIEW_HOME", str(home))
    return home


@pytest.fixture
def home_dir(_isolated_home) -> Path:
    return Path(os.environ["FASHION_REVIEW_HOME"])


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not (SHARED_DATA / "styles.csv").exists():
        pytest.skip(f"shared data set not found at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture(scope="session")
def sample_dir() -> Path:
    return SAMPLE
