"""Label schemes: which label a product gets, and which classes are kept for training.

``gender_master`` joins gender and masterCategory as the paper did ("Men Apparel"); the other
schemes are a single column.  Gender values never contain a space, so the joined label splits
back unambiguously at its first space (see :func:`fields_for_label`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from fashion_review.errors import DataError

#: The paper's three schemes, then the extra one.
PAPER_SCHEMES = ("gender_master", "subCategory", "articleType")
SCHEMES = (*PAPER_SCHEMES, "baseColour")
DEFAULT_MIN_IMAGES = 500

#: Which catalog columns make up each scheme's label.
SCHEME_FIELDS: dict[str, tuple[str, ...]] = {
    "gender_master": ("gender", "masterCategory"),
    "subCategory": ("subCategory",),
    "articleType": ("articleType",),
    "baseColour": ("baseColour",),
}


def check_scheme(scheme: str) -> str:
    if scheme not in SCHEME_FIELDS:
        raise DataError(f"unknown scheme {scheme!r}; choose one of {', '.join(SCHEMES)}")
    return scheme


def scheme_labels(df: pd.DataFrame, scheme: str) -> pd.Series:
    """Each product's label for ``scheme`` (NaN where a field it needs is blank)."""
    fields = SCHEME_FIELDS[check_scheme(scheme)]
    parts = [df[f].astype(object) for f in fields]
    blank = np.zeros(len(df), dtype=bool)
    for p in parts:
        blank |= (p.fillna("") == "").to_numpy()
    label = parts[0] if len(parts) == 1 else parts[0].str.cat(parts[1:], sep=" ")
    label = label.astype(object).where(~blank, np.nan)
    label.name = scheme
    return label


def fields_for_label(scheme: str, label: str) -> dict[str, str]:
    """The field values that give ``label`` under ``scheme`` (inverse of :func:`scheme_labels`)."""
    fields = SCHEME_FIELDS[check_scheme(scheme)]
    if len(fields) == 1:
        return {fields[0]: label}
    first, _, rest = label.partition(" ")
    if not first or not rest:
        raise DataError(f"{label!r} is not a {scheme} label (expected e.g. 'Men Apparel')")
    return {fields[0]: first, fields[1]: rest}


def min_images_for(min_images, scheme: str, default: int) -> int:  # noqa: ANN001 - int | Mapping | None
    """The class threshold of ``scheme``: ``min_images`` is one number for every scheme, a mapping
    scheme -> number (a scheme it does not name takes ``default``), or None (``default``)."""
    if min_images is None:
        return int(default)
    if isinstance(min_images, dict):
        return int(min_images.get(scheme, default))
    return int(min_images)


@dataclass(frozen=True)
class ClassFilter:
    """Which classes of a scheme survive the ``min_images`` filter."""

    scheme: str
    min_images: int
    counts_before: pd.Series  # class -> number of products with an image (all classes)

    @property
    def kept(self) -> list[str]:
        return sorted(self.counts_before.index[self.counts_before >= self.min_images])

    @property
    def dropped(self) -> list[str]:
        return sorted(self.counts_before.index[self.counts_before < self.min_images])

    @property
    def images_after(self) -> int:
        return int(self.counts_before[self.counts_before >= self.min_images].sum())


def class_filter(labels: pd.Series, has_image: pd.Series, scheme: str, min_images: int = DEFAULT_MIN_IMAGES) -> ClassFilter:
    """Count each class over products that have an image and keep those with >= ``min_images``."""
    counted = labels[has_image.reindex(labels.index).fillna(False).astype(bool).to_numpy()].dropna()
    counts = counted.value_counts().sort_index()
    counts.name = "images"
    return ClassFilter(scheme, int(min_images), counts)


def thresholds_keeping(ds, want: dict[str, list[str] | set[str]], min_images: int) -> dict[str, int]:  # noqa: ANN001
    """Per scheme, the ``min_images`` that keeps on data set ``ds`` exactly the classes ``want[scheme]``.

    A catalog that lost a few products of a class (held out, excluded by a curator or a cleaning
    step) may drop it under the threshold, and a model trained on it would not know a class its
    comparison knows.  Each scheme's threshold is lowered to the smallest count of a wanted class
    (never raised above ``min_images``), provided that lets in no other class; otherwise
    :class:`DataError` says which classes no threshold can reconcile.
    """
    out = {}
    for s, classes in want.items():
        wanted = set(classes)
        counts = ds.class_filter(s, 0).counts_before
        t = min(int(min_images), int(counts.reindex(sorted(wanted)).fillna(0).min()))
        got = set(ds.class_filter(s, t).kept)
        if got != wanted:
            raise DataError(f"no class threshold keeps exactly these {s} classes (at {t}: extra "
                            f"{sorted(got - wanted)}, missing {sorted(wanted - got)})")
        out[s] = t
    return out
