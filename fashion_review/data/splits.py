"""Stratified, seeded train / validation / test splits that never move a product once placed.

The first split of a scheme is the paper's: 20 % of the usable products go to validation, then
20 % of the rest to test, stratified by class (this gives Table 2's counts exactly).  It is stored;
later calls keep every stored product where it is and place only products not seen before (a new
product, or one that a correction moved into a kept class) by a seeded hash of its id, so
training, evaluation and the app always agree.

Identical photos under different ids (``groups``: id -> exact-duplicate group, from
:mod:`fashion_review.data.identical`) would put the same picture on both sides of the split and
inflate every test figure.  A *new* split therefore places each group as one unit (its smallest
id stands for it in the stratified split) and a product placed later joins the part of a stored
twin; a stored split is never changed, so a split made before this rule keeps its cross-part
twins (``review.duplicates.twin_leaks`` counts them and evaluation reports accuracy without them).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from fashion_review.fsutil import atomic_file

PARTS = ("train", "val", "test")
DEFAULT_SEED = 42
VAL_FRACTION = 0.2
TEST_FRACTION = 0.2  # of what is left after validation


def initial_split(labels: pd.Series, seed: int = DEFAULT_SEED, groups: pd.Series | None = None) -> pd.Series:
    """The paper's split of ``labels`` (index: product id): a Series id -> part.

    With ``groups`` (id -> group number; ids not in it are alone), every group lands in one part:
    the split is made over one representative per group (its smallest id, with its label) and the
    other members follow it.  Without groups among ``labels`` this is exactly the paper's split.
    """
    from sklearn.model_selection import train_test_split

    if groups is not None:
        rep = representatives(labels.index, groups)
        if (rep != labels.index.to_numpy()).any():
            reps = labels[labels.index.isin(np.unique(rep))]
            rep_parts = initial_split(reps, seed)
            return pd.Series(rep_parts.reindex(rep).to_numpy(dtype=object),
                             index=pd.Index(labels.index.to_numpy(), name="id"),
                             name="part", dtype=object).sort_index()

    labels = labels.sort_index()
    ids = labels.index.to_numpy()
    y = labels.to_numpy()
    if len(ids) < 3:
        return hashed_parts(pd.Index(ids), seed)
    try:
        rest, val = train_test_split(ids, test_size=VAL_FRACTION, stratify=y, random_state=seed)
        y_rest = labels.loc[rest].to_numpy()
        train, test = train_test_split(rest, test_size=TEST_FRACTION, stratify=y_rest, random_state=seed)
    except ValueError:
        # Too few products in some class to stratify (only on tiny catalogs): plain random split.
        rest, val = train_test_split(ids, test_size=VAL_FRACTION, random_state=seed)
        train, test = train_test_split(rest, test_size=TEST_FRACTION, random_state=seed)
    part = pd.Series("train", index=pd.Index(ids, name="id"), name="part", dtype=object)
    part.loc[val] = "val"
    part.loc[test] = "test"
    return part


def representatives(ids: pd.Index, groups: pd.Series) -> np.ndarray:
    """For each of ``ids``: the smallest of ``ids`` in its group (itself when it has no group)."""
    ids_arr = np.asarray(ids, dtype=np.int64)
    g = groups.reindex(ids_arr).to_numpy(dtype=np.float64)
    frame = pd.DataFrame({"id": ids_arr, "g": g})
    grouped = frame["g"].notna().to_numpy()
    rep = ids_arr.copy()
    if grouped.any():
        rep[grouped] = frame[grouped].groupby("g")["id"].transform("min").to_numpy()
    return rep


def _place_new(new_ids: pd.Index, stored: pd.Series, groups: pd.Series | None, seed: int) -> pd.Series:
    """Parts of products not in ``stored``: a stored twin's part, else by a hash of the group's
    smallest new id (so new twins stay together), else by a hash of the id."""
    if groups is None or not len(groups):
        return hashed_parts(new_ids, seed)
    rep = representatives(new_ids, groups)
    parts = hashed_parts(pd.Index(rep), seed).to_numpy(dtype=object).copy()
    g_new = groups.reindex(np.asarray(new_ids, dtype=np.int64))
    g_stored = groups.reindex(stored.index).dropna()
    if len(g_stored):
        # The part of each group's smallest stored member.
        first = pd.Series(stored.reindex(g_stored.index).to_numpy(dtype=object),
                          index=g_stored.to_numpy()).groupby(level=0).first()
        twin = first.reindex(g_new.to_numpy()).to_numpy(dtype=object)
        has = pd.notna(twin)
        parts[has] = twin[has]
    return pd.Series(parts, index=pd.Index(np.asarray(new_ids, dtype=np.int64), name="id"), name="part",
                     dtype=object)


def hashed_parts(ids: pd.Index, seed: int = DEFAULT_SEED) -> pd.Series:
    """Place products by a seeded hash of their id, in the same proportions as the split."""
    u = np.array(
        [int.from_bytes(hashlib.blake2b(f"{seed}:{i}".encode(), digest_size=8).digest(), "big") / 2**64 for i in ids]
    )
    val_cut = VAL_FRACTION
    test_cut = VAL_FRACTION + (1 - VAL_FRACTION) * TEST_FRACTION
    part = np.where(u < val_cut, "val", np.where(u < test_cut, "test", "train")).astype(object)
    return pd.Series(part, index=pd.Index(ids, name="id"), name="part", dtype=object)


def read_split_file(path: Path) -> pd.Series | None:
    if not path.exists():
        return None
    df = pd.read_csv(path, dtype={"id": "int64", "part": str})
    # dtype=object, as a computed split has: pandas 3 would otherwise infer its string dtype.
    return pd.Series(df["part"].to_numpy(dtype=object), index=pd.Index(df["id"].to_numpy(), name="id"),
                     name="part", dtype=object)


def write_split_file(path: Path, parts: pd.Series) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_file(path, "w", encoding="utf-8", newline="") as f:
        parts.sort_index().rename("part").to_frame().to_csv(f, index_label="id")


def stored_split(path: Path, labels: pd.Series, seed: int = DEFAULT_SEED,
                 inherit: Path | None = None, groups: pd.Series | Callable[[], pd.Series | None] | None = None
                 ) -> pd.Series:
    """The split of ``labels`` kept in ``path``: computed on first use, then only extended.

    ``inherit`` names the same split of an earlier version of this data set (its styles.csv was
    edited or grew); when ``path`` does not exist yet, the earlier assignments are kept for the
    products they cover, so a new product never moves an existing one to another part.
    ``groups`` (or a function giving them, called only when products are placed): the
    exact-duplicate groups a new split keeps together and a new product follows.
    """
    stored = read_split_file(path)
    if stored is None and inherit is not None:
        stored = read_split_file(inherit)
        if stored is not None:
            stored = stored[stored.index.isin(labels.index)]
            write_split_file(path, stored)
    if stored is None:
        parts = initial_split(labels, seed, groups() if callable(groups) else groups)
        write_split_file(path, parts)
        return parts
    new_ids = labels.index.difference(stored.index)
    if len(new_ids):
        g = groups() if callable(groups) else groups
        stored = pd.concat([stored, _place_new(new_ids, stored, g, seed)])
        write_split_file(path, stored)
    return stored.reindex(labels.index.sort_values())
