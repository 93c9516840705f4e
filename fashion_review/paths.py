"""Where fashion_review keeps its files.

Everything the program writes lives under one *home* folder: the platformdirs user data
folder by default, ``$FASHION_REVIEW_HOME`` when set, or ``--home DIR`` on the command line
(which sets that variable for the process).  The data set itself is never written to.
"""

from __future__ import annotations

import os
from importlib import resources as _resources
from pathlib import Path

ENV_HOME = "FASHION_REVIEW_HOME"
APP_NAME = "fashion-review"

#: The repository root when running from a checkout or an editable install.
PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _shipped(checkout_dir: str, package: str) -> Path:
    """A folder the repository keeps at its top level (``models/``, ``resources/``) and a wheel
    carries inside the package (``fashion_review/recipes``, ``fashion_review/resources``: the
    mapping is in pyproject.toml).  A checkout or editable install reads the repository's own."""
    in_checkout = PROJECT_ROOT / checkout_dir
    if in_checkout.is_dir() and (PROJECT_ROOT / "pyproject.toml").is_file():
        return in_checkout
    return Path(os.fspath(_resources.files("fashion_review") / package.rsplit(".", 1)[-1]))


RESOURCES = _shipped("resources", "fashion_review.resources")
SAMPLE_CATALOG = RESOURCES / "sample-catalog"
REFERENCE_MODEL = RESOURCES / "reference-model"
RECIPES_DIR = _shipped("models", "fashion_review.recipes")


def home() -> Path:
    """The folder that holds corrections, splits, caches and trained models."""
    override = os.environ.get(ENV_HOME)
    if override:
        path = Path(override).expanduser()
    else:
        import platformdirs

        path = Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))
    path.mkdir(parents=True, exist_ok=True)
    return path


def set_home(path: str | os.PathLike[str]) -> Path:
    """Point this process (and the workers it starts) at another home folder."""
    p = Path(path).expanduser().resolve()
    os.environ[ENV_HOME] = str(p)
    p.mkdir(parents=True, exist_ok=True)
    return p


def dataset_home(fingerprint: str) -> Path:
    """The per-data-set folder (corrections database, splits, image cache)."""
    path = home() / "datasets" / fingerprint
    path.mkdir(parents=True, exist_ok=True)
    return path


def models_home(fingerprint: str) -> Path:
    """The per-data-set model registry folder."""
    path = home() / "models" / fingerprint
    path.mkdir(parents=True, exist_ok=True)
    return path
