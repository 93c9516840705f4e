"""Stratified, seeded train / validation / test splits that never move a product once placed.

The first split of a scheme is the paper's: 20 % of the usable products go to validation, then
20 % of the rest to test, stratified by class (this gives Table 2's counts exactly).  It is stored;
later calls keep every stored product where it is and place only products not seen before (a new
product, or one that a correction moved into a kept class) by a seeded hash of its id, so
training, evaluation and the app always agree.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd

from fashion_review.fsutil import atomic_file

PARTS = ("train", "val", "test")
DEFAULT_SEED = 42
VAL_FRACTION = 0.2
TEST_FRACTION = 0.2  # of what is left after validation


def initial_split(labels: pd.Series, seed: int = DEFAULT_SEED) -> pd.Series:
    """The paper's split of ``labels`` (index: product id): a Series id -> part."""
    from sklearn.model_selection import train_test_split

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
                 inherit: Path | None = None) -> pd.Series:
    """The split of ``labels`` kept in ``path``: computed on first use, then only extended.

    ``inherit`` names the same split of an earlier version of this data set (its styles.csv was
    edited or grew); when ``path`` does not exist yet, the earlier assignments are kept for the
    products they cover, so a new product never moves an existing one to another part.
    """
    stored = read_split_file(path)
    if stored is None and inherit is not None:
        stored = read_split_file(inherit)
        if stored is not None:
            stored = stored[stored.index.isin(labels.index)]
            write_split_file(path, stored)
    if stored is None:
        parts = initial_split(labels, seed)
        write_split_file(path, parts)
        return parts
    new_ids = labels.index.difference(stored.index)
    if len(new_ids):
        stored = pd.concat([stored, hashed_parts(new_ids, seed)])
        write_split_file(path, stored)
    return stored.reindex(labels.index.sort_values())
