"""Filtering and sorting the review table: pure numpy/pandas, no Qt.

The app's catalog views show ``table.frame.iloc[rows]`` for an array ``rows`` of positions;
:func:`apply_filter` makes that array from a :class:`Filter` (every criterion combined with
AND), :func:`sort_rows` reorders it.  Neither looks at a row in Python: on 44,000 products a
filter takes a few milliseconds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from fashion_review.review.table import EXCLUDED, PARTS, col

#: ``Filter.part`` values: a split part, "usable" (in any part) or "unused" (in none).
PART_CHOICES = (*PARTS, "usable", "unused")


def _as_tuple(value: str | Sequence[str] | None) -> tuple[str, ...] | None:
    if value is None:
        return None
    if isinstance(value, str):
        return (value,)
    return tuple(str(v) for v in value)


@dataclass(frozen=True)
class Filter:
    """Which products to show, for the scheme in focus.  The default keeps every product.

    ``given`` / ``predicted``: a class name or several (any of them); ``disagreements``: the
    prediction differs from the effective label; ``corrected`` / ``excluded``: only products
    with an active label correction / excluded from training; ``part``: see
    :data:`PART_CHOICES`; ``confidence``: (low, high) bounds on the predicted class's
    probability, inclusive (products without a prediction drop out once a bound is set);
    ``text``: words that must all occur in the id or name (case-insensitive); ``ids``: only
    these products (``ranked``: shown in the order of ``ids``, e.g. similar products, nearest
    first; ``ids_note``: what they are, in words, for the filter bar); ``duplicates``: only products with a duplicate photo (the table's ``duplicate_group``
    column, -1 for none); ``colour_disagrees``: only products whose colour palette disagrees with
    their ``baseColour`` (the table's ``colour_disagrees`` column).  The last two keep nothing
    until those columns exist.
    """

    scheme: str = "articleType"
    given: str | tuple[str, ...] | None = None
    predicted: str | tuple[str, ...] | None = None
    disagreements: bool = False
    corrected: bool = False
    excluded: bool = False
    part: str | None = None
    confidence: tuple[float, float] | None = None
    text: str = ""
    ids: tuple[int, ...] | None = field(default=None, repr=False)
    ranked: bool = False
    ids_note: str = ""  # what the ``ids`` are, in words ("product 54924 and the 48 most like it")
    duplicates: bool = False
    colour_disagrees: bool = False

    def __post_init__(self) -> None:
        if self.part is not None and self.part not in PART_CHOICES:
            raise ValueError(f"unknown split part {self.part!r}; choose one of {', '.join(PART_CHOICES)}")
        if self.confidence is not None:
            lo, hi = self.confidence
            if not 0.0 <= lo <= hi <= 1.0:
                raise ValueError(f"confidence range must satisfy 0 <= low <= high <= 1, got {self.confidence}")

    @property
    def is_empty(self) -> bool:
        """True when the filter keeps every product."""
        return self == Filter(scheme=self.scheme)

    def replace(self, **changes) -> Filter:
        return replace(self, **changes)

    def describe(self) -> str:
        """A short human description ("given Flats, predicted Heels, test part")."""
        out = []
        if self.given is not None:
            out.append("given " + " or ".join(_as_tuple(self.given)))
        if self.predicted is not None:
            out.append("predicted " + " or ".join(_as_tuple(self.predicted)))
        if self.disagreements:
            out.append("disagreements")
        if self.corrected:
            out.append("corrected")
        if self.excluded:
            out.append("excluded")
        if self.part is not None:
            out.append(f"{self.part} part" if self.part in PARTS else self.part)
        if self.confidence is not None:
            out.append(f"confidence {self.confidence[0]:.0%}-{self.confidence[1]:.0%}")
        if self.text.strip():
            out.append(f"“{self.text.strip()}”")
        if self.duplicates:
            out.append("duplicate photos")
        if self.colour_disagrees:
            out.append("colour disagrees with baseColour")
        if self.ids is not None:
            out.append(self.ids_note or f"{len(self.ids)} chosen products")
        return ", ".join(out) if out else "all products"


def filter_mask(frame: pd.DataFrame, flt: Filter) -> np.ndarray:
    """Boolean mask over ``frame`` (a :class:`~fashion_review.review.table.ReviewTable` frame)."""
    n = len(frame)
    keep = np.ones(n, dtype=bool)
    s = flt.scheme
    given = frame[col("given", s)].to_numpy(dtype=object)
    pred = frame[col("pred", s)].to_numpy(dtype=object)
    if flt.given is not None:
        keep &= np.isin(given, np.asarray(_as_tuple(flt.given), dtype=object))
    if flt.predicted is not None:
        keep &= np.isin(pred, np.asarray(_as_tuple(flt.predicted), dtype=object))
    if flt.disagreements:
        has_label = pd.notna(given)
        keep &= has_label & (pred != "") & (pred != given)
    if flt.corrected:
        keep &= frame["corrected"].to_numpy(dtype=bool)
    if flt.excluded:
        keep &= frame[EXCLUDED].to_numpy(dtype=bool)
    if flt.part is not None:
        part = frame[col("part", s)].to_numpy(dtype=object)
        if flt.part == "usable":
            keep &= part != ""
        elif flt.part == "unused":
            keep &= part == ""
        else:
            keep &= part == flt.part
    if flt.confidence is not None:
        lo, hi = flt.confidence
        conf = frame[col("conf", s)].to_numpy(dtype=np.float64)
        with np.errstate(invalid="ignore"):
            # float32 probabilities: compare with a little slack so 1.0 and 0.5 bounds behave.
            keep &= (conf >= lo - 1e-6) & (conf <= hi + 1e-6)
    words = flt.text.casefold().split()
    if words:
        if "search" in frame.columns:
            search = frame["search"]
        else:  # see ReviewTable.ensure_search, which keeps this column
            search = (pd.Series(frame.index.astype(str), dtype=object) + " "
                      + pd.Series(frame["name"].to_numpy(dtype=object), dtype=object)).str.lower()
        for w in words:
            keep &= search.str.contains(w, regex=False).to_numpy(dtype=bool)
    if flt.ids is not None:
        keep &= frame.index.isin(np.asarray(flt.ids, dtype=np.int64))
    for on, column, test in ((flt.duplicates, DUPLICATE_GROUP, lambda v: v >= 0),
                             (flt.colour_disagrees, COLOUR_DISAGREES, lambda v: v.astype(bool))):
        if on:
            keep &= test(frame[column].to_numpy()) if column in frame.columns else False
    return keep


#: Review-table columns set by the app when it has found duplicates / computed colour palettes.
DUPLICATE_GROUP = "duplicate_group"
COLOUR_DISAGREES = "colour_disagrees"


def apply_filter(frame: pd.DataFrame, flt: Filter) -> np.ndarray:
    """Positions of the rows of ``frame`` that ``flt`` keeps: ascending, or in the order of
    ``flt.ids`` when ``flt.ranked``."""
    rows = np.flatnonzero(filter_mask(frame, flt)).astype(np.int64)
    if flt.ranked and flt.ids is not None and len(rows):
        rank = pd.Series(np.arange(len(flt.ids)), index=np.asarray(flt.ids, dtype=np.int64))
        rank = rank[~rank.index.duplicated()]
        rows = rows[np.argsort(rank.reindex(frame.index.to_numpy()[rows]).to_numpy(), kind="stable")]
    return rows


def sort_keys(values: np.ndarray) -> np.ndarray:
    """Sortable keys of one column: numbers as floats, text by case-folded order; blanks last (inf)."""
    values = np.asarray(values)
    if values.dtype.kind in "biuf":
        out = values.astype(np.float64)
        out[np.isnan(out)] = np.inf
        return out
    s = pd.Series(values, dtype=object)
    blank = s.isna().to_numpy() | (s.astype(str) == "").to_numpy()
    text = s.where(~blank, "").astype(str)
    codes, uniques = pd.factorize(text.str.casefold(), sort=True)
    out = codes.astype(np.float64)
    out[blank] = np.inf
    return out


def sort_rows(frame: pd.DataFrame, rows: np.ndarray, column: str | np.ndarray, descending: bool = False) -> np.ndarray:
    """``rows`` reordered by ``column`` of ``frame`` (or by an array over the whole frame).

    Stable, blanks (NaN, "") last in both directions; ties keep their order.
    """
    rows = np.asarray(rows, dtype=np.int64)
    if isinstance(column, str):
        values = frame.index.to_numpy() if column == "id" else frame[column].to_numpy()
    else:
        values = np.asarray(column)
    keys = sort_keys(values[rows])
    if descending:
        finite = np.isfinite(keys)
        keys = np.where(finite, -keys, np.inf)
    order = np.argsort(keys, kind="stable")
    return rows[order]
