"""Finding product ids in an id array: the one ``index_of`` every table of ours uses (numpy only).

The image cache, the feature cache and a predictions file each hold an id array and answer
"where is product X?"; they all ask :func:`index_of`.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np


def index_of(ids: np.ndarray, query: Iterable[int] | np.ndarray) -> np.ndarray:
    """Position in ``ids`` of each of ``query`` (int64), -1 for an id ``ids`` does not hold.

    ``ids`` is a 1-d int64 array of unique ids, sorted or not (sorted ones skip the argsort).
    """
    ids = np.asarray(ids, dtype=np.int64)
    q = np.asarray(query if isinstance(query, np.ndarray) else list(query), dtype=np.int64).reshape(-1)
    if len(ids) == 0:
        return np.full(len(q), -1, dtype=np.int64)
    order = None if len(ids) < 2 or bool((ids[1:] > ids[:-1]).all()) else np.argsort(ids, kind="stable")
    hay = ids if order is None else ids[order]
    pos = np.minimum(np.searchsorted(hay, q), len(hay) - 1)
    found = hay[pos] == q
    where = pos if order is None else order[pos]
    return np.where(found, where, -1).astype(np.int64)
