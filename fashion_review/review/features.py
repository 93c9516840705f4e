"""A run's cached backbone features, read without Keras (numpy only).

``fashion-review predict`` and "retrain heads" write, per run, the backbone's pooled features of
every product with an image under ``HOME/datasets/<fingerprint>/features/<run id>/`` (``ids.npy``,
``features.npy``, ``meta.json``; the writers are in :mod:`fashion_review.training.features`).  The
app reads them for similar-product search, so the reader lives here, free of Keras.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from fashion_review.data.ids import index_of

FEATURES_VERSION = 2


@dataclass
class FeatureCache:
    """Backbone features of one run for a set of products (``features[k]`` is ``ids[k]``'s)."""

    path: Path
    ids: np.ndarray  # int64, sorted
    features: np.ndarray  # float32 or float16 memmap (N, *shape)
    meta: dict = field(default_factory=dict)

    def index_of(self, ids: Sequence[int] | np.ndarray) -> np.ndarray:
        return index_of(self.ids, ids)

    def get(self, ids: Sequence[int] | np.ndarray) -> np.ndarray:
        pos = self.index_of(ids)
        if (pos < 0).any():
            raise KeyError(f"{int((pos < 0).sum())} product(s) have no cached features in {self.path}")
        return np.asarray(self.features[pos], dtype=np.float32)


def features_dir(dataset_home: Path, run_id: str) -> Path:
    """Where the features of ``run_id`` for a data set live."""
    return Path(dataset_home) / "features" / run_id


def open_feature_cache(path: Path, run_id: str | None = None) -> FeatureCache | None:
    """The complete cache at ``path`` or None (absent, unfinished, another version or run)."""
    try:
        meta = json.loads((path / "meta.json").read_text(encoding="utf-8"))
        if meta.get("version") != FEATURES_VERSION or not meta.get("complete"):
            return None
        if run_id is not None and meta.get("run_id") != run_id:
            return None
        ids = np.load(path / "ids.npy")
        feats = np.load(path / "features.npy", mmap_mode="r")
    except (OSError, ValueError, KeyError, json.JSONDecodeError):
        return None
    if ids.dtype != np.int64 or feats.shape[0] != len(ids) or list(feats.shape[1:]) != meta.get("shape"):
        return None
    return FeatureCache(path, ids, feats, meta)
