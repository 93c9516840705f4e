"""A data set: the catalog as read, the curators' corrections, and what follows from both.

Everything downstream (stats, splits, training, evaluation, the app) reads the *effective*
catalog: the given labels with the active corrections applied.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd

from fashion_review import paths
from fashion_review.data.catalog import Catalog, load_catalog
from fashion_review.data.corrections import CorrectionStore
from fashion_review.data.schemes import (
    DEFAULT_MIN_IMAGES,
    SCHEMES,
    ClassFilter,
    class_filter,
    min_images_for,
    scheme_labels,
)
from fashion_review.data import versions
from fashion_review.data.splits import DEFAULT_SEED, stored_split
from fashion_review.errors import DataError
from fashion_review.fsutil import atomic_write_json

EXCLUDED_FIELD = "excluded"
#: Written into each data set's home folder: where its styles.csv was read from, and when.
SOURCE_FILE = versions.SOURCE_FILE


@dataclass
class Dataset:
    catalog: Catalog
    store: CorrectionStore
    _labels_cache: dict = field(default_factory=dict, repr=False)
    #: What opening carried over from an earlier version of the same styles.csv (data.versions), if anything.
    carried: dict | None = None
    carry_problem: str | None = None

    @property
    def fingerprint(self) -> str:
        return self.catalog.fingerprint

    @property
    def default_min_images(self) -> int:
        """The data set's own ``min_images`` (its fashion-review.toml), else the paper's 500."""
        return int(self.catalog.settings.get("min_images", DEFAULT_MIN_IMAGES))

    @property
    def home(self):
        return paths.dataset_home(self.fingerprint)

    def effective(self, values: dict[tuple[int, str], str] | None = None) -> pd.DataFrame:
        """The catalog with active corrections applied, plus a boolean ``excluded`` column.

        ``values``: the store's effective values already read (one snapshot for a caller that keeps
        them), else read now."""
        df = self.catalog.df.copy()
        df[EXCLUDED_FIELD] = False
        # Only the CSV's own columns (and "excluded") can be corrected, never "line"/"has_image".
        correctable = set(self.catalog.columns) - {"id"}
        if values is None:
            values = self.store.effective()
        if values:
            by_field: dict[str, tuple[list[int], list[str]]] = {}
            for (pid, fld), val in values.items():
                ids, vals = by_field.setdefault(fld, ([], []))
                ids.append(pid)
                vals.append(val)
            for fld, (ids, vals) in by_field.items():
                if fld != EXCLUDED_FIELD and fld not in correctable:
                    continue
                s = pd.Series(vals, index=pd.Index(ids, dtype="int64"), dtype=object)
                s = s[s.index.isin(df.index)]
                if fld == EXCLUDED_FIELD:
                    df.loc[s.index, EXCLUDED_FIELD] = (s == "true").to_numpy()
                else:
                    df.loc[s.index, fld] = s.to_numpy()
        return df

    def labels(self, scheme: str, effective: pd.DataFrame | None = None) -> pd.Series:
        """Each product's effective label for ``scheme`` (NaN when blank)."""
        return scheme_labels(self.effective() if effective is None else effective, scheme)

    def class_filter(self, scheme: str, min_images: int | None = None,
                     effective: pd.DataFrame | None = None) -> ClassFilter:
        """Class counts over products with an image that no curator excluded.

        ``min_images``: one threshold, or one per scheme (a mapping; see ``schemes.min_images_for``)."""
        min_images = min_images_for(min_images, scheme, self.default_min_images)
        eff = self.effective() if effective is None else effective
        counted = eff["has_image"] & ~eff[EXCLUDED_FIELD]
        return class_filter(scheme_labels(eff, scheme), counted, scheme, min_images)

    def usable(self, scheme: str, min_images: int | None = None,
               effective: pd.DataFrame | None = None) -> pd.Series:
        """Labels of the products a model of ``scheme`` trains and is evaluated on."""
        eff = self.effective() if effective is None else effective
        labels = scheme_labels(eff, scheme)
        cf = self.class_filter(scheme, min_images, eff)
        keep = (eff["has_image"] & ~eff[EXCLUDED_FIELD]).to_numpy() & labels.isin(cf.kept).to_numpy()
        return labels[keep]

    def split_path(self, scheme: str, min_images: int | None = None):
        min_images = min_images_for(min_images, scheme, self.default_min_images)
        variant = "-skip-malformed" if self.catalog.skip_malformed else ""
        return self.home / "splits" / f"{scheme}-min{min_images}{variant}.csv"

    def split(self, scheme: str, min_images: int | None = None, seed: int = DEFAULT_SEED,
              effective: pd.DataFrame | None = None) -> pd.Series:
        """Series id -> "train"/"val"/"test" over :meth:`usable` products (stored, stable).

        A new split keeps each group of identical photos in one part (:meth:`exact_groups`,
        computed only when products are placed).
        """
        labels = self.usable(scheme, min_images, effective)
        path = self.split_path(scheme, min_images)
        return stored_split(path, labels, seed, inherit=self._earlier_version_of(path), groups=self.exact_groups)

    def exact_groups(self) -> pd.Series:
        """Groups of products with identical photos (``data.identical``: id -> group), cached."""
        if "exact_groups" not in self._labels_cache:
            from fashion_review.data.identical import dataset_exact_groups

            self._labels_cache["exact_groups"] = dataset_exact_groups(self)
        return self._labels_cache["exact_groups"]

    def _earlier_version_of(self, split_path: Path) -> Path | None:
        """The same split file of the newest earlier data set read from the same styles.csv."""
        if split_path.exists():
            return None
        return versions.newest_earlier_with(self.fingerprint, self.catalog.csv_path, Path("splits") / split_path.name)

    def base_value(self, product_id: int, field: str) -> str | None:
        """The value ``field`` of a product holds in the file (no corrections), None when unknown.

        ``excluded`` is "false" and a confirmation "" until a correction says otherwise; the
        corrections store checks a change's old value against this where no correction applies.
        """
        if field == EXCLUDED_FIELD:
            return "false"
        if field.startswith("confirmed:"):
            return ""
        df = self.catalog.df
        if field not in self.catalog.columns or field == "id" or product_id not in df.index:
            return None
        return str(df.at[product_id, field])

    def _note_source(self) -> None:
        """Remember where this data set was read from (to find its earlier versions)."""
        try:
            atomic_write_json(self.home / SOURCE_FILE, {
                "csv_path": str(self.catalog.csv_path), "images_dir": str(self.catalog.images_dir),
                "opened": datetime.now(timezone.utc).isoformat()}, indent=None)
        except OSError:
            pass  # a read-only home still lets the catalog be browsed

    def stats(self, min_images: int | None = None) -> dict:
        """The numbers ``fashion-review stats`` prints (see README)."""
        min_images = self.default_min_images if min_images is None else min_images
        eff = self.effective()
        counts = self.catalog.report.counts()
        out = {
            "rows": int(len(eff)),
            "malformed_rows": int(counts.get("malformed_row", 0)),
            "duplicate_ids": int(counts.get("duplicate_id", 0)),
            "with_image": int(eff["has_image"].sum()),
            "missing_image": int((~eff["has_image"]).sum()),
            "schemes": {},
        }
        for scheme in SCHEMES:
            cf = self.class_filter(scheme, min_images, eff)
            out["schemes"][scheme] = {
                "classes_before": int(len(cf.counts_before)),
                "classes_after": int(len(cf.kept)),
                "images_after": cf.images_after,
            }
        return out

    def close(self) -> None:
        self.store.close()


def open_dataset(
    data: str | os.PathLike[str] | None = None,
    *,
    csv_path: str | os.PathLike[str] | None = None,
    images_dir: str | os.PathLike[str] | None = None,
    skip_malformed: bool = False,
) -> Dataset:
    """Load the catalog at ``data`` and open its corrections store."""
    catalog = load_catalog(data, csv_path=csv_path, images_dir=images_dir, skip_malformed=skip_malformed)
    ds = Dataset(catalog, CorrectionStore.for_dataset(catalog.fingerprint))
    ds.store.base_value = ds.base_value
    try:
        ds.carried = versions.carry_over(ds)
    except DataError as exc:  # e.g. the earlier version's database is damaged: open anyway, say why
        ds.carry_problem = f"the corrections of the earlier version of {catalog.csv_path} were not carried over: {exc}"
    ds._note_source()
    return ds
