"""The review table: one row per product with what the app shows and filters on (no Qt).

Built from the effective catalog (corrections applied), the catalog as read (the given labels
before any correction) and, when there are any, a model's predictions and the stored splits.
For every scheme it holds the effective label, the label as first given, the predicted class,
its confidence, the probability the model gives the effective label and the split part, as
plain columns of one DataFrame, so that filtering and sorting are numpy/pandas operations
(:mod:`fashion_review.review.filtering`) and a Qt model only indexes into it.

After a correction :meth:`ReviewTable.apply_corrections` recomputes the rows of the products
it touched, not the whole table (about 1 ms instead of about 100 ms on 44,000 products).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from fashion_review.data.splits import PARTS  # noqa: F401 (re-exported: filtering)
from fashion_review.data.schemes import SCHEME_FIELDS, SCHEMES, scheme_labels
from fashion_review.review.predictions import Predictions

#: The boolean "excluded from training" column of the effective catalog (a correction too).
EXCLUDED = "excluded"
#: The catalog's free-text name column.
NAME = "productDisplayName"
#: Split part values; "" means the product is not used by the scheme (no image, excluded, small class).


def col(kind: str, scheme: str) -> str:
    """The name of a per-scheme column: ``col("given", "articleType") == "given__articleType"``.

    Kinds: ``given`` (effective label, NaN when blank), ``original`` (label as first given),
    ``pred`` (predicted class, "" without a prediction), ``conf`` (its probability, NaN without),
    ``pgiven`` (probability of the effective label; NaN when the model does not know the label),
    ``part`` (split part, "" when not usable).
    """
    return f"{kind}__{scheme}"


@dataclass
class ReviewTable:
    """Per-product review columns over a catalog; see the module docstring."""

    frame: pd.DataFrame  # index: product id (catalog order)
    effective: pd.DataFrame  # the effective catalog (every attribute), same index
    original: pd.DataFrame  # the catalog as read, same index
    schemes: tuple[str, ...] = SCHEMES
    predictions: Predictions | None = None
    pred_row: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))  # row in predictions, -1
    _class_index: dict[str, dict[str, int]] = field(default_factory=dict, repr=False)

    # -- building ------------------------------------------------------------------------

    @classmethod
    def build(
        cls,
        effective: pd.DataFrame,
        original: pd.DataFrame,
        predictions: Predictions | None = None,
        corrected_ids: Iterable[int] = (),
        schemes: Iterable[str] = SCHEMES,
    ) -> ReviewTable:
        """The table of ``effective`` (``ds.effective()``) over ``original`` (``ds.catalog.df``)."""
        schemes = tuple(schemes)
        ids = effective.index.to_numpy(dtype=np.int64)
        names = effective[NAME].astype(object).fillna("").to_numpy(dtype=object) if NAME in effective else \
            np.full(len(ids), "", dtype=object)
        frame = pd.DataFrame(
            {
                "name": names,
                "has_image": effective["has_image"].to_numpy(dtype=bool) if "has_image" in effective
                else np.zeros(len(ids), bool),
                EXCLUDED: effective[EXCLUDED].to_numpy(dtype=bool) if EXCLUDED in effective
                else np.zeros(len(ids), bool),
                "corrected": np.isin(ids, np.fromiter(corrected_ids, dtype=np.int64)),
            },
            index=effective.index,
        )
        table = cls(frame, effective.copy(), original.reindex(effective.index), schemes)
        # The effective labels are the original ones except on corrected rows: compute the
        # labels once and redo only the rows whose label fields differ.
        fields = sorted({f for sc in schemes for f in SCHEME_FIELDS[sc]})
        differs = np.zeros(len(ids), dtype=bool)
        for f in fields:
            differs |= (effective[f].astype(object).fillna("").to_numpy(dtype=object)
                        != table.original[f].astype(object).fillna("").to_numpy(dtype=object))
        changed = np.flatnonzero(differs)
        for s in schemes:
            original_labels = scheme_labels(table.original, s).to_numpy(dtype=object)
            given = original_labels.copy()
            if len(changed):
                given[changed] = scheme_labels(effective.iloc[changed], s).to_numpy(dtype=object)
            frame[col("given", s)] = given
            frame[col("original", s)] = original_labels
            frame[col("part", s)] = np.full(len(ids), "", dtype=object)
        table.set_predictions(predictions)
        return table

    def ensure_search(self) -> None:
        """Add the lower-cased "id name" column that text search reads (made on first use)."""
        if "search" not in self.frame.columns:
            ids = self.ids.astype(str)
            self.frame["search"] = (pd.Series(ids, dtype=object) + " " + pd.Series(
                self.frame["name"].to_numpy(dtype=object), dtype=object)).str.lower().to_numpy(dtype=object)

    def __len__(self) -> int:
        return len(self.frame)

    @property
    def ids(self) -> np.ndarray:
        return self.frame.index.to_numpy(dtype=np.int64)

    def positions(self, ids: Iterable[int] | np.ndarray) -> np.ndarray:
        """Row positions of ``ids`` in the table, -1 for ids it does not hold."""
        return self.frame.index.get_indexer(pd.Index(np.asarray(list(ids) if not isinstance(ids, np.ndarray)
                                                                 else ids, dtype=np.int64)))

    # -- predictions ----------------------------------------------------------------------

    @property
    def model_version(self) -> str:
        return self.predictions.model_version if self.predictions is not None else ""

    def has_predictions(self, scheme: str) -> bool:
        return self.predictions is not None and scheme in self.predictions.classes

    def classes(self, scheme: str) -> list[str]:
        """The model's classes of ``scheme`` ([] without predictions for it)."""
        return list(self.predictions.classes[scheme]) if self.has_predictions(scheme) else []

    def set_predictions(self, predictions: Predictions | None) -> None:
        """Attach a model's predictions (or none) and recompute the predicted columns."""
        self.predictions = predictions
        n = len(self.frame)
        self.pred_row = predictions.index_of(self.ids) if predictions is not None else np.full(n, -1, np.int64)
        self._class_index = {}
        for s in self.schemes:
            pred = np.full(n, "", dtype=object)
            conf = np.full(n, np.nan, dtype=np.float32)
            if self.has_predictions(s):
                names, p = predictions.predicted(s)
                have = self.pred_row >= 0
                pred[have] = names[self.pred_row[have]]
                conf[have] = p[self.pred_row[have]]
                self._class_index[s] = {c: i for i, c in enumerate(predictions.classes[s])}
            self.frame[col("pred", s)] = pred
            self.frame[col("conf", s)] = conf
            self.frame[col("pgiven", s)] = self._prob_of_given(s, np.arange(n))

    def _prob_of_given(self, scheme: str, pos: np.ndarray) -> np.ndarray:
        """Probability the model gives each product's effective label (NaN if unknown)."""
        out = np.full(len(pos), np.nan, dtype=np.float32)
        if not self.has_predictions(scheme) or not len(pos):
            return out
        classes = self.predictions.classes[scheme]
        given = self.frame[col("given", scheme)].to_numpy(dtype=object)[pos]
        codes = pd.Index(classes, dtype=object).get_indexer(pd.Index(given, dtype=object)).astype(np.int64)
        rows = self.pred_row[pos]
        ok = (codes >= 0) & (rows >= 0)
        out[ok] = self.predictions.probs[scheme][rows[ok], codes[ok]]
        return out

    def top_k(self, product_id: int, scheme: str, k: int = 3) -> list[tuple[str, float]]:
        """The ``k`` most probable classes of one product, best first ([] without a prediction)."""
        if not self.has_predictions(scheme):
            return []
        pos = self.positions([product_id])[0]
        if pos < 0 or self.pred_row[pos] < 0:
            return []
        p = self.predictions.probs[scheme][self.pred_row[pos]]
        k = min(k, len(p))
        best = np.argpartition(-p, k - 1)[:k] if k < len(p) else np.arange(len(p))
        best = best[np.argsort(-p[best], kind="stable")]
        classes = self.predictions.classes[scheme]
        return [(classes[i], float(p[i])) for i in best]

    def review_score(self, scheme: str) -> np.ndarray:
        """1 - probability of the effective label: high = the model doubts the label (NaN unknown)."""
        return 1.0 - self.frame[col("pgiven", scheme)].to_numpy(dtype=np.float32)

    # -- splits ---------------------------------------------------------------------------

    def set_parts(self, scheme: str, parts: pd.Series) -> None:
        """Set the split part of ``scheme`` (id -> "train"/"val"/"test"; others get "")."""
        values = parts.reindex(self.frame.index).astype(object).fillna("").to_numpy(dtype=object)
        self.frame[col("part", scheme)] = values

    # -- corrections ----------------------------------------------------------------------

    def apply_corrections(self, ids: Iterable[int], values: Mapping[tuple[int, str], str],
                          corrected_ids: Iterable[int] | None = None) -> np.ndarray:
        """Recompute the rows of ``ids`` from the store's effective values; return their positions.

        ``values`` is ``CorrectionStore.effective()``: (id, field) -> value of its latest active
        correction.  Fields with no active correction go back to the catalog's value.
        ``corrected_ids``: products with an active label correction (default: from ``values``).
        """
        ids = np.unique(np.asarray(list(ids), dtype=np.int64))
        pos = self.positions(ids)
        keep = pos >= 0
        ids, pos = ids[keep], pos[keep]
        if not len(ids):
            return pos
        fields = [c for c in self.original.columns if c not in ("line", "has_image")]
        wanted = set(ids.tolist())
        overlay: dict[str, dict[int, str]] = {}
        for (pid, fld), val in values.items():
            if pid in wanted:
                overlay.setdefault(fld, {})[pid] = val
        # Back to the catalog's values, then the active corrections on top.
        eff = self.effective
        rows = self.original.iloc[pos]
        for fld in fields:
            if fld in eff.columns:
                new = rows[fld].to_numpy(dtype=object).copy()
                for k, pid in enumerate(ids.tolist()):
                    if pid in overlay.get(fld, {}):
                        new[k] = overlay[fld][pid]
                eff.iloc[pos, eff.columns.get_loc(fld)] = new
        excl = np.array([overlay.get(EXCLUDED, {}).get(pid, "false") == "true" for pid in ids.tolist()])
        eff.iloc[pos, eff.columns.get_loc(EXCLUDED)] = excl
        self.frame.iloc[pos, self.frame.columns.get_loc(EXCLUDED)] = excl
        if corrected_ids is None:
            label_fields = {f for fs in SCHEME_FIELDS.values() for f in fs}
            corrected = {pid for (pid, fld) in values if fld in label_fields and pid in wanted}
        else:
            corrected = set(corrected_ids) & wanted
        self.frame.iloc[pos, self.frame.columns.get_loc("corrected")] = np.array(
            [pid in corrected for pid in ids.tolist()], dtype=bool)
        sub = eff.iloc[pos]
        for s in self.schemes:
            self.frame.iloc[pos, self.frame.columns.get_loc(col("given", s))] = \
                scheme_labels(sub, s).to_numpy(dtype=object)
            self.frame.iloc[pos, self.frame.columns.get_loc(col("pgiven", s))] = self._prob_of_given(s, pos)
        return pos

    def label(self, product_id: int, scheme: str, kind: str = "given") -> str:
        """One product's value of a per-scheme column as text ("" when blank)."""
        v = self.frame.at[int(product_id), col(kind, scheme)]
        return "" if v is None or (isinstance(v, float) and np.isnan(v)) else str(v)

    def known_labels(self, scheme: str) -> list[str]:
        """Every label of ``scheme``: the model's classes, then those used in the catalog, sorted."""
        seen = set(self.classes(scheme))
        used = pd.unique(self.frame[col("given", scheme)].dropna().to_numpy(dtype=object))
        originals = pd.unique(self.frame[col("original", scheme)].dropna().to_numpy(dtype=object))
        return sorted(seen | {str(x) for x in used} | {str(x) for x in originals}, key=str.casefold)
