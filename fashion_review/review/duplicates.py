"""Identical product photos: products whose decoded pixels are the same (numpy only, no Qt, no Keras).

The real catalog holds hundreds of groups of identical photos under different product ids.  They
matter three ways: a group whose labels disagree is a label issue (one of them is wrong), a group
split across train and test inflates test accuracy, and a similar-products query must count such
a group once.

:func:`exact_groups` hashes the decoded pixels as the image cache holds them (uint8 at 80 x 60), so
a re-encoded JPEG of the same photo is not an exact duplicate (that is a near duplicate).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

import numpy as np
import pandas as pd


def pixel_hashes(images: np.ndarray, rows: Iterable[int] | np.ndarray | None = None,
                 chunk: int = 2048) -> np.ndarray:
    """A 16-byte BLAKE2b digest of each image's pixels (``images[rows]``), as an (N,) ``S16`` array."""
    rows = np.arange(len(images)) if rows is None else np.asarray(rows, dtype=np.int64)
    out = np.empty(len(rows), dtype="S16")
    for start in range(0, len(rows), chunk):
        block = np.ascontiguousarray(images[rows[start:start + chunk]])
        for k, img in enumerate(block):
            out[start + k] = hashlib.blake2b(img.tobytes(), digest_size=16).digest()
    return out


def exact_groups(ids: Iterable[int] | np.ndarray, images: np.ndarray,
                 rows: Iterable[int] | np.ndarray | None = None) -> pd.Series:
    """Groups of products with identical pixels: Series id -> group number, products in a group of 2+.

    ``images[rows[k]]`` is the photo of ``ids[k]`` (``rows`` defaults to ``0..N-1``).  Group numbers
    are 0, 1, ... in the order of each group's smallest id; within a group, ids ascend.
    """
    ids = np.asarray(ids, dtype=np.int64)
    rows = np.arange(len(ids)) if rows is None else np.asarray(rows, dtype=np.int64)
    if len(ids) != len(rows):
        raise ValueError(f"{len(ids)} ids but {len(rows)} rows")
    if len(ids) == 0:
        return pd.Series([], index=pd.Index([], dtype=np.int64, name="id"), dtype=np.int64, name="group")
    digests = pixel_hashes(images, rows)
    frame = pd.DataFrame({"id": ids, "digest": digests}).sort_values("id", kind="stable")
    sizes = frame.groupby("digest", sort=False)["id"].transform("size")
    frame = frame[sizes.to_numpy() >= 2]
    first = frame.groupby("digest", sort=False)["id"].transform("min")
    order = np.unique(first.to_numpy())
    group = np.searchsorted(order, first.to_numpy())
    return pd.Series(group.astype(np.int64), index=pd.Index(frame["id"].to_numpy(), name="id"), name="group")
