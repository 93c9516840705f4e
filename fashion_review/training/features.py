"""The backbone feature cache "retrain heads" trains on: one folder per run of a data set.

``HOME/datasets/<fingerprint>/features/<run-id>/`` holds ``ids.npy`` (int64, sorted),
``features.npy`` (a memory-mapped array, one row per product) and ``meta.json`` (version, run,
shape, dtype, complete).  When the heads start with a weightless pooling layer
(``GlobalAveragePooling2D`` in the multihead recipe, ``Flatten`` in the paper's), the cache holds
the pooled vectors, which are what the first Dense sees: 2,048 numbers per product for average
pooling, stored as float32 (350 MB for 42,000 products: a backbone's pooled features can vary by a
per cent or less between products, finer than float16 resolves), 18,432 for the paper's Flatten at
96 x 96, stored as float16 (1.6 GB).

Two writers: :func:`ensure_features` computes missing rows itself (resumable: its work folder keeps
progress across a cancel or a kill) and :class:`FeatureWriter` takes the rows
:func:`fashion_review.training.predict.predict` computes as a by-product of its one pass.  Both
finish in a folder renamed into place (:func:`fashion_review.fsutil.replace_dir`), so a reader
never accepts an unfinished cache.  The feature model comes from :mod:`fashion_review.modeling.surgery`.
"""

from __future__ import annotations

import json
import math
import shutil
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import keras
import numpy as np

from fashion_review.fsutil import atomic_file, atomic_write_json, remove_stale_temp_dirs, replace_dir, temp_name
from fashion_review.modeling.surgery import ModelParts
# The reader lives in review/ (numpy only): the app reads the features for similar products.
from fashion_review.review.features import (  # noqa: F401 (re-exported)
    FEATURES_VERSION,
    FeatureCache,
    features_dir,
    open_feature_cache,
)
from fashion_review.tasks import Task

#: Feature vectors up to this length are cached as float32, longer ones as float16.
FLOAT32_MAX_DIM = 4096


def extract_features(feature_model: keras.Model, images: Any, ids: np.ndarray, out: np.ndarray,
                     *, batch_size: int = 128, task: Task | None = None, done: np.ndarray | None = None,
                     on_chunk: Any = None) -> float:
    """Run ``feature_model`` over ``images.get(ids)`` batch by batch into ``out``.

    ``done`` (bool per id) skips rows computed before and is updated as rows are written;
    ``on_chunk()`` is called every few batches (to save progress).  Returns images per second.
    """
    todo = np.flatnonzero(~done) if done is not None else np.arange(len(ids))
    t0 = time.perf_counter()
    n_done = 0
    for start in range(0, len(todo), batch_size):
        if task is not None:
            task.check()
        rows = todo[start:start + batch_size]
        x = images.get(ids[rows])
        y = feature_model.predict_on_batch(x)
        out[rows] = np.asarray(keras.ops.convert_to_numpy(y), dtype=out.dtype).reshape((len(rows), *out.shape[1:]))
        if done is not None:
            done[rows] = True
        n_done += len(rows)
        elapsed = time.perf_counter() - t0
        rate = n_done / elapsed if elapsed > 0 else 0.0
        if task is not None:
            left = len(todo) - n_done
            task.report("features", n_done / len(todo),
                        f"backbone features: {n_done:,} / {len(todo):,} images, {rate:.1f} images/s",
                        done=n_done, total=len(todo), images_per_s=rate, eta_s=left / rate if rate else None)
        if on_chunk is not None and (start // batch_size) % 8 == 7:
            on_chunk()
    elapsed = time.perf_counter() - t0
    return n_done / elapsed if elapsed > 0 and n_done else 0.0


def ensure_features(parts: ModelParts, run_id: str, images: Any, ids: Sequence[int] | np.ndarray,
                    dataset_home: Path, *, batch_size: int = 128, task: Task | None = None) -> tuple[FeatureCache, dict]:
    """The run's features for (at least) ``ids``: from the cache, completing it when products are new.

    Resumable: progress is saved every few batches in a work folder, so a cancelled or killed
    extraction continues where it stopped the next time.  Returns ``(cache, stats)`` with
    ``stats = {"computed": n, "cached": n, "seconds": s, "images_per_s": r}``.
    """
    t0 = time.perf_counter()
    want = np.unique(np.asarray(ids, dtype=np.int64))
    final = features_dir(dataset_home, run_id)
    cache = open_feature_cache(final, run_id)
    if cache is not None and (cache.index_of(want) >= 0).all():
        return cache, {"computed": 0, "cached": int(len(want)), "seconds": time.perf_counter() - t0,
                       "images_per_s": None}

    feature_model = parts.feature_model()
    shape = list(parts.feature_shape)
    dtype = feature_dtype(shape)
    all_ids = want if cache is None else np.union1d(want, cache.ids)
    work = final.parent / f".{run_id}.work"
    work.mkdir(parents=True, exist_ok=True)
    wmeta_path = work / "meta.json"
    wmeta = _read_json(wmeta_path)
    resumable = (wmeta.get("version") == FEATURES_VERSION and wmeta.get("shape") == shape
                 and wmeta.get("dtype") == np.dtype(dtype).name
                 and (work / "ids.npy").exists() and (work / "features.npy").exists()
                 and np.array_equal(_load_or_none(work / "ids.npy"), all_ids))
    if resumable:
        out = np.load(work / "features.npy", mmap_mode="r+")
        done = np.load(work / "done.npy") if (work / "done.npy").exists() else np.zeros(len(all_ids), bool)
    else:
        for p in work.iterdir():
            p.unlink()
        with atomic_file(work / "ids.npy", "wb") as f:
            np.save(f, all_ids)
        out = np.lib.format.open_memmap(work / "features.npy", mode="w+", dtype=dtype,
                                        shape=(len(all_ids), *shape))
        done = np.zeros(len(all_ids), bool)
        if cache is not None:
            pos = cache.index_of(all_ids)
            have = pos >= 0
            out[have] = cache.features[pos[have]]
            done[have] = True
        _write_json(wmeta_path, {"version": FEATURES_VERSION, "shape": shape, "run_id": run_id,
                                 "dtype": np.dtype(dtype).name})
    before = int(done.sum())

    def save_progress() -> None:
        out.flush()
        with atomic_file(work / "done.npy", "wb") as f:
            np.save(f, done)

    try:
        rate = extract_features(feature_model, images, all_ids, out, batch_size=batch_size, task=task,
                                done=done, on_chunk=save_progress)
    finally:
        save_progress()
    computed = int(done.sum()) - before
    out = None  # let the memory map go before the folder is moved (save_progress is not called again)
    meta = {"version": FEATURES_VERSION, "run_id": run_id, "shape": shape, "dtype": np.dtype(dtype).name,
            "pooled": parts.pooled, "count": int(len(all_ids)), "complete": True,
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "images_per_s": rate}
    (work / "done.npy").unlink(missing_ok=True)
    _write_json(work / "meta.json", meta)
    _install(work, final, run_id)
    cache = open_feature_cache(final, run_id)
    if cache is None:  # pragma: no cover - just written
        raise RuntimeError(f"the features just written to {final} cannot be read back")
    return cache, {"computed": computed, "cached": int(len(all_ids)) - computed,
                   "seconds": time.perf_counter() - t0, "images_per_s": rate}


def feature_dtype(shape: Sequence[int]) -> type:
    """float32 for feature vectors up to :data:`FLOAT32_MAX_DIM` numbers, float16 beyond."""
    return np.float32 if math.prod(shape) <= FLOAT32_MAX_DIM else np.float16


def _install(work: Path, final: Path, run_id: str) -> None:
    """Rename the finished folder ``work`` to ``final``, replacing an older cache there."""
    replace_dir(work, final, f".{run_id}.old-")


_WRITER_PREFIX = ".writer-"


class FeatureWriter:
    """Write a run's feature cache from features computed elsewhere, in the layout :func:`ensure_features` reads.

    For :func:`fashion_review.training.predict.predict`, whose single pass over the catalog yields the
    backbone features beside the probabilities: ``ids`` (sorted, unique) are the products that pass
    covers, ``shape`` one product's features (:attr:`ModelParts.feature_tensor`).  Rows arrive in
    ``ids`` order through :meth:`write` and go straight to a memory map in a temp folder
    (``features/.writer-<pid>-...``), never into RAM all at once.  :meth:`commit` (only when every
    row was written) copies the rows of an earlier complete cache of the run for products outside
    ``ids``, marks the cache complete and renames it into place; :meth:`discard` (a cancel, an
    error) removes the temp folder, so an unfinished pass never leaves a cache that
    :func:`open_feature_cache` accepts.
    """

    def __init__(self, dataset_home: Path, run_id: str, ids: np.ndarray, shape: Sequence[int], pooled: bool) -> None:
        self.run_id = run_id
        self.final = features_dir(dataset_home, run_id)
        self.final.parent.mkdir(parents=True, exist_ok=True)
        remove_stale_temp_dirs(self.final.parent, _WRITER_PREFIX)
        self.ids = np.asarray(ids, dtype=np.int64)
        if len(self.ids) > 1 and not (np.diff(self.ids) > 0).all():
            raise ValueError("FeatureWriter: ids must be sorted and unique")
        self.shape = [int(d) for d in shape]
        self.dtype = feature_dtype(self.shape)
        self.pooled = bool(pooled)
        old = open_feature_cache(self.final, run_id)
        self._old = old if old is not None and list(old.features.shape[1:]) == self.shape \
            and old.features.dtype == self.dtype else None
        self.all_ids = self.ids if self._old is None else np.union1d(self.ids, self._old.ids)
        self._rows = np.searchsorted(self.all_ids, self.ids)
        self.tmp = self.final.parent / f"{temp_name(_WRITER_PREFIX)}-{run_id}"
        self.tmp.mkdir()
        try:
            np.save(self.tmp / "ids.npy", self.all_ids)  # in the temp folder: renamed whole
            self._out = np.lib.format.open_memmap(self.tmp / "features.npy", mode="w+", dtype=self.dtype,
                                                  shape=(len(self.all_ids), *self.shape))
        except BaseException:
            self.discard()
            raise
        self.written = 0

    @staticmethod
    def needed(dataset_home: Path, run_id: str, ids: np.ndarray) -> bool:
        """False when a complete cache of the run already holds every one of ``ids``."""
        cache = open_feature_cache(features_dir(dataset_home, run_id), run_id)
        return cache is None or not (cache.index_of(ids) >= 0).all()

    def write(self, start: int, features: np.ndarray) -> None:
        """Features of ``ids[start:start + len(features)]``."""
        n = len(features)
        if start != self.written:
            raise ValueError(f"FeatureWriter: rows must arrive in order (expected {self.written}, got {start})")
        self._out[self._rows[start:start + n]] = np.asarray(features).reshape((n, *self.shape)).astype(self.dtype)
        self.written += n

    def commit(self, images_per_s: float | None = None) -> FeatureCache:
        """Mark the cache complete and put it in place (every row of ``ids`` must have been written)."""
        try:
            if self.written != len(self.ids):
                raise ValueError(f"FeatureWriter: {self.written} of {len(self.ids)} rows written")
            if self._old is not None:
                pos = self._old.index_of(self.all_ids)
                rest = np.ones(len(self.all_ids), bool)
                rest[self._rows] = False
                if rest.any():
                    self._out[np.flatnonzero(rest)] = self._old.features[pos[rest]]
            self._out.flush()
            del self._out
            self._old = None  # its memory map must not pin the old folder
            _write_json(self.tmp / "meta.json", {
                "version": FEATURES_VERSION, "run_id": self.run_id, "shape": self.shape,
                "dtype": np.dtype(self.dtype).name, "pooled": self.pooled, "count": int(len(self.all_ids)),
                "complete": True, "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "images_per_s": images_per_s,
                "source": "predict"})
            _install(self.tmp, self.final, self.run_id)
        except BaseException:
            self.discard()
            raise
        cache = open_feature_cache(self.final, self.run_id)
        if cache is None:  # pragma: no cover - just written
            raise RuntimeError(f"the features just written to {self.final} cannot be read back")
        return cache

    def discard(self) -> None:
        """Remove the unfinished cache (a cancel, an error); an earlier complete cache stays."""
        self.__dict__.pop("_out", None)
        self._old = None
        shutil.rmtree(self.tmp, ignore_errors=True)


def _load_or_none(path: Path) -> np.ndarray | None:
    try:
        return np.load(path)
    except (OSError, ValueError):
        return None


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def _write_json(path: Path, data: dict) -> None:
    atomic_write_json(path, data)
