"""The catalog core: reading, checking, label schemes, splits and curators' corrections.

No Qt and no TensorFlow here (checked by tests/test_layering.py).
"""

from fashion_review.data.catalog import LABEL_FIELDS, REQUIRED_COLUMNS, Catalog, LoadReport, Problem, load_catalog
from fashion_review.data.schemes import DEFAULT_MIN_IMAGES, PAPER_SCHEMES, SCHEMES

__all__ = [
    "Catalog",
    "DEFAULT_MIN_IMAGES",
    "LABEL_FIELDS",
    "LoadReport",
    "PAPER_SCHEMES",
    "Problem",
    "REQUIRED_COLUMNS",
    "SCHEMES",
    "load_catalog",
    "open_dataset",
    "Dataset",
]


def __getattr__(name):  # open_dataset pulls in the corrections store; import it on first use
    if name in ("open_dataset", "Dataset"):
        from fashion_review.data import dataset

        return getattr(dataset, name)
    raise AttributeError(name)
