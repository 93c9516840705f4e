"""The wheel carries what the program needs: every subpackage, the recipes, the sample, the reference model.

pyproject.toml lists the packages explicitly (models/ and resources/ are mapped into the package
at build time); a subpackage missing from that list would be missing from every wheel.  Building
and installing the wheel itself is CI's job (`.ci/run`), outside the checkout.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from fashion_review import paths

ROOT = Path(__file__).resolve().parents[1]


def _config() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]


def test_every_subpackage_is_listed():
    listed = set(_config()["packages"])
    found = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "fashion_review").rglob("__init__.py")}
    assert found - listed == set(), "add these to [tool.setuptools] packages in pyproject.toml"
    mapped = set(_config()["package-dir"])
    assert listed - found == mapped


def test_mapped_folders_and_their_files_are_shipped():
    cfg = _config()
    assert cfg["package-dir"] == {"fashion_review.recipes": "models", "fashion_review.resources": "resources"}
    data = cfg["package-data"]
    recipes = [p.name for p in (ROOT / "models").glob("*.toml")]
    assert recipes and "*.toml" in data["fashion_review.recipes"]
    shipped = data["fashion_review.resources"]
    sample = ROOT / "resources" / "sample-catalog"
    for f in sample.rglob("*"):
        if f.is_file():
            rel = f.relative_to(ROOT / "resources").as_posix()
            assert any(Path(rel).match(pattern) for pattern in shipped), f"{rel} would be left out of the wheel"


def test_a_checkout_reads_its_own_folders():
    assert paths.RECIPES_DIR == ROOT / "models"
    assert paths.SAMPLE_CATALOG == ROOT / "resources" / "sample-catalog"
    assert paths.REFERENCE_MODEL == ROOT / "resources" / "reference-model"
