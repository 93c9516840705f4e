"""Retrain heads: the everyday loop's fast path after a round of corrections.

Keep the active model's backbone, compute its features once for every product with an image
(cached on disk under the data set's home, keyed by run id), then train only the heads (pooling,
Dense, Dropout, ..., softmax: one per scheme) on the cached features with the *corrected* labels,
and store a new registry run whose model is the old backbone plus the new heads, so prediction and
evaluation work on it unchanged.

Backend-neutral Keras; no Qt.  The long steps take a :class:`~fashion_review.tasks.Task`:
feature extraction reports phase ``"features"``, head training ``"train"`` and ``"epoch_end"``
(the same info as :func:`fashion_review.training.train.train`, so the app's curves draw either).

When the heads start with a weightless pooling layer (``GlobalAveragePooling2D`` in the multihead
recipe, ``Flatten`` in the paper's), the cache holds the pooled vectors, which are what the first
Dense sees: 2,048 numbers per product for average pooling, stored as float32 (350 MB for 42,000
products: a backbone's pooled features can vary by a per cent or less between products, finer than
float16 resolves), 18,432 for the paper's Flatten at 96 x 96, stored as float16 (1.6 GB).

:func:`fashion_review.training.predict.predict` writes the same cache as a by-product of its one
pass over the catalog (:class:`FeatureWriter`), so after a predict of a run, retraining its heads
skips the backbone for the products predicted.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import keras
import numpy as np

from fashion_review.errors import ModelError
from fashion_review.fsutil import atomic_file, atomic_write_json, remove_stale_temp_dirs, replace_dir, temp_name
from fashion_review.modeling.factory import backbone_of
from fashion_review.tasks import Cancelled, Task

FEATURES_VERSION = 2
#: Feature vectors up to this length are cached as float32, longer ones as float16.
FLOAT32_MAX_DIM = 4096
#: Layers that turn the backbone's feature map into a vector without weights.
_POOLINGS = ("Flatten", "GlobalAveragePooling2D", "GlobalMaxPooling2D")
IGNORE_LABEL = -1


# --------------------------------------------------------------------------------------------
# Model surgery


def _call_output(layer: keras.layers.Layer) -> Any:
    """The symbolic output of ``layer``'s (only) call in the model graph it belongs to."""
    nodes = getattr(layer, "_inbound_nodes", [])
    if not nodes:
        raise ModelError(f"layer {layer.name!r} is not connected in a model graph")
    return nodes[0].output_tensors[0]  # the call in the graph the layer was built in


def _parent(layer: keras.layers.Layer) -> keras.layers.Layer:
    parents = layer._inbound_nodes[0].parent_nodes  # noqa: SLF001 - Keras' graph, no public walk
    if len(parents) != 1:
        raise ModelError(f"layer {layer.name!r} has {len(parents)} inputs; a head is a single chain")
    return parents[0].operation


@dataclass
class ModelParts:
    """A classifier split into backbone (+ shared weightless pooling) and one layer chain per head."""

    model: keras.Model
    backbone: keras.Model
    chains: dict[str, list[keras.layers.Layer]]  # scheme -> head layers, backbone output to softmax
    pooled: bool  # every chain starts with the same weightless pooling: features are pooled vectors
    dict_output: bool

    @property
    def schemes(self) -> list[str]:
        return list(self.chains)

    @property
    def feature_tensor(self) -> Any:
        first = next(iter(self.chains.values()))[0]
        return _call_output(first) if self.pooled else _call_output(self.backbone)

    def feature_model(self) -> keras.Model:
        """From the model's image input to the cached features (backbone output, pooled if possible)."""
        return keras.Model(self.model.inputs, self.feature_tensor, name=f"{self.model.name}_features")

    @property
    def trainable_chains(self) -> dict[str, list[keras.layers.Layer]]:
        """The chains without their pooling layer when the features are pooled."""
        return {s: (c[1:] if self.pooled else c) for s, c in self.chains.items()}

    def num_classes(self, scheme: str) -> int:
        return int(self.chains[scheme][-1].units)


def split_model(model: keras.Model, schemes: Sequence[str] | None = None) -> ModelParts:
    """Find the backbone and, for each output (named after its scheme), the head layers above it."""
    backbone = backbone_of(model)
    names = list(schemes) if schemes is not None else list(model.output_names)
    chains: dict[str, list[keras.layers.Layer]] = {}
    for scheme in names:
        try:
            layer = model.get_layer(scheme)
        except ValueError:
            raise ModelError(f"model {model.name!r} has no output layer named {scheme!r}") from None
        chain = []
        while layer is not backbone:
            if isinstance(layer, keras.layers.InputLayer) or len(chain) > 50:
                raise ModelError(f"the {scheme} head of model {model.name!r} does not sit on its backbone")
            chain.append(layer)
            layer = _parent(layer)
        chain.reverse()
        if not isinstance(chain[-1], keras.layers.Dense):
            raise ModelError(f"the {scheme} head of model {model.name!r} does not end in a Dense softmax")
        chains[scheme] = chain
    firsts = [c[0] for c in chains.values()]
    pooled = all(type(f).__name__ in _POOLINGS and not f.weights for f in firsts) and \
        len({(type(f).__name__, json.dumps(_pool_config(f), sort_keys=True)) for f in firsts}) == 1
    struct = getattr(model, "_outputs_struct", None)
    dict_output = isinstance(struct, dict) if struct is not None else len(chains) > 1
    return ModelParts(model, backbone, chains, pooled, dict_output)


def _pool_config(layer: keras.layers.Layer) -> dict:
    cfg = dict(layer.get_config())
    cfg.pop("name", None)
    cfg.pop("trainable", None)
    return cfg


def _clone(layer: keras.layers.Layer, **changes: Any) -> keras.layers.Layer:
    cfg = layer.get_config()
    cfg.update(changes)
    return type(layer).from_config(cfg)


@dataclass
class NewHeads:
    """Fresh head layers (warm-started from the old ones) in two graphs sharing the same layers."""

    head_model: keras.Model  # features -> {scheme: probabilities}: what is trained
    full_model: keras.Model  # image -> outputs, old backbone + new heads: what is saved
    classes: dict[str, list[str]]


def build_new_heads(parts: ModelParts, old_classes: Mapping[str, Sequence[str]],
                    new_classes: Mapping[str, Sequence[str]], warm_start: bool = True) -> NewHeads:
    """New heads for ``new_classes`` on the old backbone.

    Each head layer is a copy of the old one (same name, type and configuration), so the new
    model has the layout of the old: prediction, the embedding layer and evaluation find what they
    expect.  With ``warm_start`` the copies start from the old weights; the softmax layer keeps the
    old row of each class that is still there (new classes start from Keras' initialiser).
    """
    feat_shape = tuple(int(d) for d in parts.feature_tensor.shape[1:])
    feat_in = keras.Input(shape=feat_shape, name="features")
    backbone_out = _call_output(parts.backbone)
    head_outputs, full_outputs = {}, {}
    pairs: list[tuple[keras.layers.Layer, keras.layers.Layer]] = []
    for scheme, chain in parts.chains.items():
        classes = list(new_classes[scheme])
        new_chain = [_clone(layer) for layer in chain[:-1]]
        new_chain.append(_clone(chain[-1], units=len(classes)))
        y = backbone_out
        for layer in new_chain:
            y = layer(y)
        full_outputs[scheme] = y
        x = feat_in
        for layer in (new_chain[1:] if parts.pooled else new_chain):
            x = layer(x)
        head_outputs[scheme] = x
        pairs += list(zip(chain, new_chain))
        if warm_start:
            for old, new in zip(chain[:-1], new_chain[:-1]):
                if [w.shape for w in old.weights] == [w.shape for w in new.weights]:
                    new.set_weights(old.get_weights())
            _warm_softmax(chain[-1], new_chain[-1], list(old_classes[scheme]), classes)
    head_model = keras.Model(feat_in, head_outputs, name="heads")
    out = full_outputs if parts.dict_output else next(iter(full_outputs.values()))
    full_model = keras.Model(parts.model.inputs, out, name=parts.model.name)
    return NewHeads(head_model, full_model, {s: list(new_classes[s]) for s in parts.chains})


def _warm_softmax(old: keras.layers.Dense, new: keras.layers.Dense, old_classes: list[str],
                  new_classes: list[str]) -> None:
    old_w = old.get_weights()
    new_w = new.get_weights()
    if len(old_w) != len(new_w) or old_w[0].shape[0] != new_w[0].shape[0]:
        return
    where = {c: i for i, c in enumerate(old_classes)}
    for j, c in enumerate(new_classes):
        i = where.get(c)
        if i is not None and i < old_w[0].shape[1]:
            new_w[0][:, j] = old_w[0][:, i]
            if len(new_w) > 1:
                new_w[1][j] = old_w[1][i]
    new.set_weights(new_w)


# --------------------------------------------------------------------------------------------
# The feature cache


@dataclass
class FeatureCache:
    """Backbone features of one run for a set of products (``features[k]`` is ``ids[k]``'s)."""

    path: Path
    ids: np.ndarray  # int64, sorted
    features: np.ndarray  # float32 or float16 memmap (N, *shape)
    meta: dict = field(default_factory=dict)

    def index_of(self, ids: Sequence[int] | np.ndarray) -> np.ndarray:
        q = np.asarray(ids, dtype=np.int64)
        pos = np.searchsorted(self.ids, q)
        clipped = np.minimum(pos, max(len(self.ids) - 1, 0))
        ok = (pos < len(self.ids)) & (self.ids[clipped] == q) if len(self.ids) else np.zeros(len(q), bool)
        return np.where(ok, pos, -1)

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
    shape = [int(d) for d in feature_model.output.shape[1:]]
    dtype = feature_dtype(shape)
    all_ids = want if cache is None else np.union1d(want, cache.ids)
    work = final.parent / f".{run_id}.work"
    work.mkdir(parents=True, exist_ok=True)
    wmeta_path = work / "meta.json"
    wmeta = _read_json(wmeta_path)
    resumable = (wmeta.get("version") == FEATURES_VERSION and wmeta.get("shape") == shape
                 and wmeta.get("dtype") == np.dtype(dtype).name
                 and (work / "ids.npy").exists() and (work / "features.npy").exists()
                 and np.array_equal(np.load(work / "ids.npy"), all_ids))
    if resumable:
        out = np.load(work / "features.npy", mmap_mode="r+")
        done = np.load(work / "done.npy") if (work / "done.npy").exists() else np.zeros(len(all_ids), bool)
    else:
        for p in work.iterdir():
            p.unlink()
        np.save(work / "ids.npy", all_ids)
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
    del out
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
            np.save(self.tmp / "ids.npy", self.all_ids)
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


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def _write_json(path: Path, data: dict) -> None:
    atomic_write_json(path, data)


# --------------------------------------------------------------------------------------------
# Training the heads


class _Batches(keras.utils.PyDataset):
    """Shuffled batches of cached features with one label array per head (-1 = masked)."""

    def __init__(self, cache: FeatureCache, rows: np.ndarray, labels: dict[str, np.ndarray],
                 batch_size: int, shuffle: bool, seed: int = 0) -> None:
        super().__init__()
        self.cache = cache
        self.rows = np.asarray(rows)
        self.labels = labels
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.rng = np.random.default_rng(seed)
        self.order = np.arange(len(self.rows))
        if shuffle:
            self.rng.shuffle(self.order)

    def __len__(self) -> int:
        return math.ceil(len(self.rows) / self.batch_size)

    def __getitem__(self, i: int):  # noqa: ANN204
        sel = np.sort(self.order[i * self.batch_size:(i + 1) * self.batch_size])
        pos = self.rows[sel]
        x = np.asarray(self.cache.features[pos], dtype=np.float32)
        return x, {s: lab[sel] for s, lab in self.labels.items()}

    def on_epoch_end(self) -> None:
        if self.shuffle:
            self.rng.shuffle(self.order)


def compile_heads(head_model: keras.Model, learning_rate: float) -> keras.Model:
    """Adam, masked sparse cross-entropy and masked accuracy per head (logs as in full training)."""
    from fashion_review.modeling.losses import MaskedSparseCategoricalAccuracy

    names = list(head_model.output_names)
    head_model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=learning_rate),
        loss={s: keras.losses.SparseCategoricalCrossentropy(ignore_class=IGNORE_LABEL) for s in names},
        metrics={s: [MaskedSparseCategoricalAccuracy(name="accuracy")] for s in names},
    )
    return head_model


def fit_heads(head_model: keras.Model, cache: FeatureCache, train_ids: np.ndarray, train_labels: dict[str, np.ndarray],
              val_ids: np.ndarray | None = None, val_labels: dict[str, np.ndarray] | None = None, *,
              epochs: int, batch_size: int, learning_rate: float, task: Task | None = None,
              seed: int = 0) -> dict[str, list[float]]:
    """Train ``head_model`` on cached features; returns the Keras history.  Raises Cancelled."""
    keras.utils.set_random_seed(seed)
    compile_heads(head_model, learning_rate)
    train = _Batches(cache, cache.index_of(train_ids), train_labels, batch_size, shuffle=True, seed=seed)
    val = None
    if val_ids is not None and len(val_ids):
        val = _Batches(cache, cache.index_of(val_ids), val_labels or {}, max(batch_size, 256), shuffle=False)
    from fashion_review.training.callbacks import TaskProgress

    cb = TaskProgress(task, epochs=epochs, batches=len(train), samples=len(train.rows), batch_size=batch_size,
                      val_batches=len(val) if val is not None else 0)
    hist = head_model.fit(train, validation_data=val, epochs=epochs, verbose=0, callbacks=[cb])
    if task is not None and task.cancelled:
        raise Cancelled()
    return {k: [float(v) for v in vs] for k, vs in hist.history.items()}


def predict_heads(head_model: keras.Model, cache: FeatureCache, ids: np.ndarray,
                  batch_size: int = 1024) -> dict[str, np.ndarray]:
    """Class probabilities per scheme for ``ids`` from cached features."""
    pos = cache.index_of(ids)
    outs: dict[str, list[np.ndarray]] = {}
    for start in range(0, len(pos), batch_size):
        x = np.asarray(cache.features[pos[start:start + batch_size]], dtype=np.float32)
        y = head_model.predict_on_batch(x)
        if not isinstance(y, dict):
            y = {head_model.output_names[0]: y}
        for s, v in y.items():
            outs.setdefault(s, []).append(np.asarray(keras.ops.convert_to_numpy(v), dtype=np.float32))
    if not outs:  # no ids: empty arrays of the right width
        return {s: np.zeros((0, int(t.shape[-1])), np.float32)
                for s, t in zip(head_model.output_names, head_model.outputs)}
    return {s: np.concatenate(v) for s, v in outs.items()}


def old_head_model(parts: ModelParts) -> keras.Model:
    """The old model's heads as a features -> outputs model (shares its layers; for 'before' metrics)."""
    feat_shape = tuple(int(d) for d in parts.feature_tensor.shape[1:])
    inp = keras.Input(shape=feat_shape, name="features")
    outs = {}
    for s, chain in parts.trainable_chains.items():
        x = inp
        for layer in chain:
            x = layer(x)
        outs[s] = x
    return keras.Model(inp, outs, name="old_heads")


# --------------------------------------------------------------------------------------------
# The whole fast path: registry run in, registry run out

#: Head training defaults: warm-started heads need few epochs; large batches use the CPU better.
DEFAULT_EPOCHS = 2
DEFAULT_BATCH_SIZE = 256


@dataclass
class HeadsResult:
    """What :func:`retrain_heads` did: the new run and the numbers the retrain dialog shows."""

    run: Any  # training.registry.RunInfo
    parent: Any  # the run whose backbone was kept
    before: dict[str, Any]  # scheme -> review.metrics.ClassReport of the old heads (test part, current labels)
    after: dict[str, Any]  # scheme -> ClassReport of the new heads, same products
    history: dict[str, list[float]]
    timings: dict[str, float]  # image_cache_s, load_s, features_s, train_s, predict_s, save_s, total_s
    feature_stats: dict[str, Any]


def _min_images(ds: Any, run: Any, min_images: int | None) -> int:
    if min_images is not None:
        return int(min_images)
    rec = run.record
    for where in (rec, rec.get("data", {})):
        if isinstance(where, dict) and where.get("min_images") is not None:
            return int(where["min_images"])
    return int(ds.default_min_images)


def _inference_model(chains: Mapping[str, list[keras.layers.Layer]], feat_shape: tuple[int, ...]) -> keras.Model:
    """Features -> {scheme: probabilities, "emb__<scheme>": the embedding}, one pass, sharing the layers.

    The embedding is the output of the last hidden Dense layer (the penultimate layer, as
    ``modeling.embedding_model`` takes it).
    """
    inp = keras.Input(shape=feat_shape, name="features")
    outs = {}
    for s, chain in chains.items():
        dense_positions = [i for i, layer in enumerate(chain[:-1]) if isinstance(layer, keras.layers.Dense)]
        x = inp
        for i, layer in enumerate(chain):
            x = layer(x)
            if dense_positions and i == dense_positions[-1]:
                outs[f"emb__{s}"] = x
        outs[s] = x
    return keras.Model(inp, outs, name="heads_inference")


def _reports(probs: dict[str, np.ndarray], classes_pred: Mapping[str, Sequence[str]], labels: dict[str, np.ndarray],
             classes_true: Mapping[str, Sequence[str]]) -> dict[str, Any]:
    """Per-class reports over the products with a label (>= 0) in each scheme."""
    from fashion_review.review import metrics

    out = {}
    for s, lab in labels.items():
        keep = lab >= 0
        given = np.asarray(classes_true[s], dtype=object)[lab[keep]]
        pred = np.asarray(classes_pred[s], dtype=object)[probs[s][keep].argmax(axis=1)] if keep.any() else given
        out[s] = metrics.per_class_report(given, pred, list(classes_true[s]))
    return out


def retrain_heads(
    ds: Any,
    run: Any = None,
    *,
    epochs: int | None = None,
    batch_size: int | None = None,
    lr: float | None = None,
    min_images: int | None = None,
    warm_start: bool = True,
    limit: int | None = None,
    feature_batch_size: int = 128,
    task: Task | None = None,
    seed: int = 0,
) -> HeadsResult:
    """Keep ``run``'s backbone (default: the active run), retrain its heads on the corrected labels.

    The products, parts and labels are those :func:`~fashion_review.training.train.train` would
    use now (:func:`~fashion_review.training.pipeline.labelled_set`: corrections applied,
    excluded products dropped, the class filter redone).  Writes a new registry run (not
    activated: :func:`~fashion_review.training.registry.activate` is the caller's choice) with
    the model, ``run.json`` (``parent`` = the old run id, ``training.heads_only`` = true),
    ``history.json``, ``split.csv`` and ``predictions.npz`` for every product with an image,
    computed from the cached features at no extra backbone cost.  ``limit`` keeps the first N
    usable products (smoke runs, tests) and computes features for those only.  A cancel (phases
    ``"cache"``, ``"features"``, ``"train"``) raises Cancelled and leaves the registry as it was;
    the features computed so far stay cached for the next try.
    """
    from fashion_review.review.predictions import Predictions, save_predictions
    from fashion_review.training import registry
    from fashion_review.training.pipeline import ensure_image_cache, labelled_set

    task = task if task is not None else Task()
    t_start = time.perf_counter()
    timings: dict[str, float] = {}
    parent = registry.active_run(ds.fingerprint) if run is None else registry.get_run(run, ds.fingerprint)
    if parent is None:
        raise ModelError("no active model for this data set: train one first (retraining the heads "
                         "keeps a model's backbone)")

    t = time.perf_counter()
    images = ensure_image_cache(ds, task)
    timings["image_cache_s"] = time.perf_counter() - t
    task.check()

    t = time.perf_counter()
    task.report("prepare", None, f"loading model {parent.id}")
    model = registry.load_model(parent)
    parts = split_model(model, parent.schemes)
    timings["load_s"] = time.perf_counter() - t
    recipe_data = parent.record.get("recipe", {}) if isinstance(parent.record.get("recipe"), dict) else {}
    epochs = DEFAULT_EPOCHS if epochs is None else int(epochs)
    batch_size = DEFAULT_BATCH_SIZE if batch_size is None else int(batch_size)
    lr = float(recipe_data.get("learning_rate", 1e-4)) if lr is None else float(lr)
    mi = _min_images(ds, parent, min_images)

    task.report("prepare", None, "labels from the effective catalog")
    eff = ds.effective()
    data = labelled_set(ds, parts.schemes, multihead=recipe_data.get("kind") == "multihead" or len(parts.schemes) > 1,
                        min_images=mi, limit=limit, cache=images, effective=eff)
    new_classes = data.classes
    if limit is None:  # the whole catalog: predictions for every product with an image
        with_image = eff.index[eff["has_image"].to_numpy()].to_numpy(np.int64)
        pos = images.index_of(with_image)
        ok = pos >= 0
        ok[ok] = images.ok[pos[ok]]
        feature_ids = np.union1d(with_image[ok], data.ids)
    else:
        feature_ids = np.sort(data.ids)
    task.check()

    t = time.perf_counter()
    cache, fstats = ensure_features(parts, parent.id, images, feature_ids, Path(ds.home),
                                    batch_size=feature_batch_size, task=task)
    timings["features_s"] = time.perf_counter() - t

    train_ids, train_labels = data.part("train")
    val_ids, val_labels = data.part("val")
    test_ids, test_labels = data.part("test")
    if len(train_ids) == 0:
        raise ModelError("no product with a usable label in the train part: nothing to train")

    before = _reports(predict_heads(old_head_model(parts), cache, test_ids), parent.classes, test_labels,
                      new_classes)
    nh = build_new_heads(parts, parent.classes, new_classes, warm_start=warm_start)
    t = time.perf_counter()
    history = fit_heads(nh.head_model, cache, train_ids, train_labels, val_ids, val_labels,
                        epochs=epochs, batch_size=batch_size, learning_rate=lr, task=task, seed=seed)
    timings["train_s"] = time.perf_counter() - t
    task.check()

    task.report("predict", None, f"predicting {len(feature_ids):,} products from the cached features")
    t = time.perf_counter()
    feat_shape = tuple(int(d) for d in parts.feature_tensor.shape[1:])
    chains = {s: [nh.full_model.get_layer(layer.name) for layer in chain] for s, chain in parts.chains.items()}
    inference = _inference_model({s: (c[1:] if parts.pooled else c) for s, c in chains.items()}, feat_shape)
    out = predict_heads(inference, cache, feature_ids)
    probs = {s: out[s] for s in parts.schemes}
    embeddings = {s: out[f"emb__{s}"] for s in parts.schemes if f"emb__{s}" in out}
    timings["predict_s"] = time.perf_counter() - t
    row = np.searchsorted(feature_ids, data.ids)
    after = _reports({s: p[row[data.mask("test")]] for s, p in probs.items()}, new_classes, test_labels, new_classes)
    scheme_metrics: dict[str, dict[str, float]] = {}
    for s in parts.schemes:
        m: dict[str, float] = {}
        for part in ("train", "val", "test"):
            lab = data.labels[s][data.mask(part)]
            keep = lab >= 0
            if keep.any():
                pred = probs[s][row[data.mask(part)]][keep].argmax(axis=1)
                m[f"{part}_accuracy"] = float((pred == lab[keep]).mean())
        m["test_accuracy_before"] = before[s].accuracy
        scheme_metrics[s] = m
    task.check()

    t = time.perf_counter()
    task.report("save", None, "saving the model")
    record = dict(parent.record)
    record.pop("id", None)
    data_rec = dict(record.get("data", {})) if isinstance(record.get("data"), dict) else {}
    data_rec.update({"fingerprint": ds.fingerprint, "split_fingerprint": data.split_fingerprint,
                     "part_scheme": data.part_scheme, "corrections": int(ds.store.count()),
                     "excluded": int(eff["excluded"].sum()), "products": data.counts, "limit": data.limit,
                     "unreadable_images": data.unreadable})
    training_rec = dict(record.get("training", {})) if isinstance(record.get("training"), dict) else {}
    training_rec.update({
        "heads_only": True, "epochs": epochs, "epochs_run": len(history.get("loss", [])), "batch_size": batch_size,
        "learning_rate": lr, "warm_start": warm_start, "backend": keras.backend.backend(),
        "feature_cache": str(cache.path), "features_pooled": parts.pooled,
        "seconds": {k: round(v, 2) for k, v in timings.items()},
    })
    record.update({
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "parent": parent.id,
        "classes": {s: list(new_classes[s]) for s in parts.schemes},
        "min_images": data.min_images,
        "data": data_rec,
        "training": training_rec,
        "metrics": scheme_metrics,
    })
    record.pop("untrained", None)
    run_id = registry.new_run_id(f"{recipe_data.get('name', 'model')}-heads", parts.schemes)
    with registry.RunWriter(ds.fingerprint, run_id) as w:
        nh.full_model.save(w.path / registry.MODEL_FILE)
        registry.write_json(w.path / registry.HISTORY_FILE, history)
        data.split_frame().to_csv(w.path / registry.SPLIT_FILE, index=False)
        task.check()
        new_run = w.commit(record)
    save_predictions(Predictions(ids=feature_ids, classes={s: list(new_classes[s]) for s in parts.schemes},
                                 probs={s: probs[s] for s in parts.schemes}, model_version=new_run.id,
                                 embeddings={s: v.astype(np.float16) for s, v in embeddings.items()}),
                     new_run.path / registry.PREDICTIONS_FILE)
    timings["save_s"] = time.perf_counter() - t
    timings["total_s"] = time.perf_counter() - t_start
    task.report("done", 1.0, f"new run {new_run.id} in {timings['total_s']:.0f} s")
    return HeadsResult(new_run, parent, before, after, history, timings, fstats)


def register_untrained_run(ds: Any, recipe: str = "xception-multihead", *, image_size: int = 71,
                           min_images: int | None = None, seed: int = 0) -> Any:
    """A registry run holding the recipe's model with random weights (not activated).

    For smoke tests and benchmarks on a machine where no model was trained yet: it has the
    layout of a trained run (model.keras, run.json), so prediction and :func:`retrain_heads` work.
    """
    from fashion_review.modeling import load_recipe, make_model
    from fashion_review.training import registry

    rec = load_recipe(recipe)
    mi = int(ds.default_min_images if min_images is None else min_images)
    eff = ds.effective()
    classes = {s: list(ds.class_filter(s, mi, effective=eff).kept) for s in rec.schemes}
    keras.utils.set_random_seed(seed)
    if rec.multihead:
        model = make_model(rec, {s: len(c) for s, c in classes.items()}, image_size=image_size)
    else:
        s = rec.schemes[-1]
        classes = {s: classes[s]}
        model = make_model(rec, len(classes[s]), scheme=s, image_size=image_size)
    record = {
        "format": registry.RUN_FORMAT, "recipe": rec.to_dict(), "schemes": list(classes),
        "classes": classes, "image_size": image_size, "min_images": mi,
        "data": {"fingerprint": ds.fingerprint, "min_images": mi},
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "corrections": int(ds.store.count()),
        "metrics": {}, "untrained": True,
    }
    with registry.RunWriter(ds.fingerprint, registry.new_run_id(f"{rec.name}-untrained", list(classes))) as w:
        model.save(w.path / registry.MODEL_FILE)
        registry.write_json(w.path / registry.HISTORY_FILE, {})
        return w.commit(record)
