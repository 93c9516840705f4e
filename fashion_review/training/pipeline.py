"""The input pipeline: effective labels in, shuffled uint8 image batches out.

1. :func:`ensure_image_cache`: every product photo decoded once into the data set's image cache
   (``ds.home / "image-cache"``, uint8 at 80 x 60), built on first use and reused by every
   training run, evaluation and prediction.
2. :func:`labelled_set`: which products a recipe trains on, in which part, with which class
   index per scheme, from the *effective* catalog: corrections applied and excluded products
   dropped before the class filter (``ds.usable`` / ``ds.split``), so what curators fixed is what
   the next run learns.
3. :func:`make_batches`: shuffle, batch, prefetch.  Under Keras' TensorFlow backend a
   ``tf.data`` pipeline (index shuffle and batch in the graph, a numpy gather per batch in
   parallel map calls, ``prefetch(AUTOTUNE)``); under torch or JAX a ``keras.utils.PyDataset``
   (:class:`ImageBatches`) that gathers the next batches in a background thread.  Images stay
   uint8: the model scales and resizes them itself, on the accelerator when there is one.

Multihead recipes: a product is in the set when it is usable for at least one of the recipe's
schemes; its label for a scheme where it is not usable (class filtered out, blank) is -1, which
the loss and accuracy mask.  Its part (train/val/test) comes from the stored split of
``gender_master`` (the scheme with the most usable products; :data:`MULTIHEAD_PART_SCHEME`);
products not in that split get the stored splits' seeded hash of their id, so the assignment is
stable and every product is in exactly one part for all heads at once.
"""

from __future__ import annotations

import hashlib
import math
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import keras
import numpy as np
import pandas as pd

from fashion_review.data.images import CACHE_FOLDER, ensure_image_cache  # noqa: F401 (re-exported)
from fashion_review.data.schemes import min_images_for
from fashion_review.data.splits import PARTS  # noqa: F401 (re-exported)
from fashion_review.errors import ModelError
from fashion_review.modeling.losses import IGNORE_LABEL  # noqa: F401 (re-exported)

#: The scheme whose stored split assigns parts to a multihead recipe's products.
MULTIHEAD_PART_SCHEME = "gender_master"


@dataclass
class LabelledSet:
    """The products one training run sees, their part and a class index per scheme."""

    schemes: list[str]
    classes: dict[str, list[str]]
    ids: np.ndarray  # int64, catalog order
    parts: np.ndarray  # "train" / "val" / "test" per id
    labels: dict[str, np.ndarray]  # int32 per scheme; -1: no usable label in that scheme
    min_images: int
    part_scheme: str
    unreadable: int = 0  # usable products dropped because their image does not decode
    limit: int | None = None
    counts: dict[str, int] = field(default_factory=dict)

    def __len__(self) -> int:
        return int(len(self.ids))

    def mask(self, part: str) -> np.ndarray:
        return self.parts == part

    def part(self, part: str) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """(ids, {scheme: labels}) of one part."""
        m = self.mask(part)
        return self.ids[m], {s: v[m] for s, v in self.labels.items()}

    @property
    def split_fingerprint(self) -> str:
        """sha256 over the sorted ``id,part`` lines: equal when two runs saw the same split."""
        order = np.argsort(self.ids, kind="stable")
        text = "\n".join(f"{i},{p}" for i, p in zip(self.ids[order].tolist(), self.parts[order].tolist()))
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def with_parts(self, parts: pd.Series) -> LabelledSet:
        """The same products with the parts given by ``parts`` (id -> "train"/"val"/"test"), for
        cross-validation's explicit folds; products ``parts`` does not name are left out."""
        given = pd.Series(parts).reindex(self.ids)
        keep = given.isin(PARTS).to_numpy()
        part_arr = given.to_numpy(dtype=object)[keep].astype(str)
        return LabelledSet(self.schemes, self.classes, self.ids[keep], part_arr,
                           {s: v[keep] for s, v in self.labels.items()}, self.min_images, "explicit",
                           self.unreadable, self.limit, {p: int((part_arr == p).sum()) for p in PARTS})

    def split_frame(self) -> pd.DataFrame:
        """``id, part`` plus one column per scheme with the label name ("" when masked)."""
        out = pd.DataFrame({"id": self.ids, "part": self.parts})
        for s in self.schemes:
            names = np.asarray(self.classes[s] + [""], dtype=object)
            out[s] = names[self.labels[s]]  # -1 picks the trailing ""
        return out


def labelled_set(
    ds: Any,
    schemes: list[str] | tuple[str, ...],
    *,
    multihead: bool = False,
    min_images: int | None = None,
    limit: int | None = None,
    cache: Any = None,
    effective: pd.DataFrame | None = None,
) -> LabelledSet:
    """The products, parts and labels a recipe trains on (see the module docstring).

    ``limit`` keeps the first N such products in catalog order (for smoke runs); the class
    lists stay those of the whole data set.  With ``cache``, products whose image did not decode
    are dropped (counted in ``unreadable``).
    """
    from fashion_review.data.splits import hashed_parts

    schemes = list(schemes)
    if not schemes:
        raise ModelError("no scheme to train")
    if not multihead and len(schemes) != 1:
        raise ModelError(f"a single-head model trains one scheme, got {schemes}")
    # one threshold, or one per scheme (a dict, as the reference model's training takes: see
    # scripts/train_reference.py); each scheme's own is what its error message names
    min_images = (ds.default_min_images if min_images is None else
                  {str(k): int(v) for k, v in min_images.items()} if isinstance(min_images, dict) else int(min_images))
    eff = ds.effective() if effective is None else effective
    usable = {s: ds.usable(s, min_images, eff) for s in schemes}
    classes = {s: sorted(str(c) for c in usable[s].unique()) for s in schemes}
    for s in schemes:
        if len(classes[s]) < 2:
            raise ModelError(f"scheme {s}: {len(classes[s])} class(es) with at least "
                             f"{min_images_for(min_images, s, ds.default_min_images)} usable images; "
                             "a classifier needs 2 or more (lower --min-images?)")

    if multihead:
        part_scheme = MULTIHEAD_PART_SCHEME if MULTIHEAD_PART_SCHEME in schemes else schemes[0]
    else:
        part_scheme = schemes[0]
    union = usable[schemes[0]].index
    for s in schemes[1:]:
        union = union.union(usable[s].index)
    ids = eff.index[eff.index.isin(union)]  # catalog order
    parts = ds.split(part_scheme, min_images, effective=eff).reindex(ids)
    missing = parts.isna().to_numpy()
    if missing.any():
        parts[missing] = hashed_parts(ids[missing]).reindex(ids[missing]).to_numpy()

    id_arr = ids.to_numpy(dtype=np.int64)
    part_arr = parts.to_numpy(dtype=object).astype(str)
    unreadable = 0
    if cache is not None:
        ok, _ = cache.readable(id_arr)
        unreadable = int((~ok).sum())
        id_arr, part_arr = id_arr[ok], part_arr[ok]
    if limit is not None:
        if limit < 1:
            raise ModelError(f"--limit must be at least 1, got {limit}")
        id_arr, part_arr = id_arr[:limit], part_arr[:limit]

    labels = {}
    for s in schemes:
        index = {c: i for i, c in enumerate(classes[s])}
        names = usable[s].reindex(id_arr)
        labels[s] = np.array([index.get(n, IGNORE_LABEL) if isinstance(n, str) else IGNORE_LABEL
                              for n in names.tolist()], dtype=np.int32)
    counts = {p: int((part_arr == p).sum()) for p in PARTS}
    return LabelledSet(schemes, classes, id_arr, part_arr, labels, min_images, part_scheme, unreadable,
                       limit, counts)


def keep_validation(ids: np.ndarray, parts: np.ndarray, fraction: float, seed: int = 0) -> np.ndarray:
    """``parts`` with all but ``fraction`` of the validation products moved to training.

    Which products stay is decided by a seeded hash of the id, so it is the same on every run and
    machine; the test part is never touched.  The run's ``split.csv`` records the result, so
    everything downstream knows which products this run trained on.
    """
    out = np.asarray(parts, dtype=object).astype(str).copy()
    val = np.flatnonzero(out == "val")
    u = np.array([int.from_bytes(hashlib.blake2b(f"keep-val:{seed}:{i}".encode(), digest_size=8).digest(), "big")
                  / 2**64 for i in np.asarray(ids)[val]])
    out[val[u >= fraction]] = "train"
    return out


# --------------------------------------------------------------------------------------------
# Batches


def _targets(labels: dict[str, np.ndarray], sel: np.ndarray, one_hot: dict[str, int] | None,
             multihead: bool) -> Any:
    ys = {}
    for s, v in labels.items():
        y = v[sel]
        if one_hot is not None:
            y = np.eye(one_hot[s], dtype=np.float32)[y]
        ys[s] = y
    return ys if multihead else next(iter(ys.values()))


class ImageBatches(keras.utils.PyDataset):
    """Batches of uint8 images (and labels) from an array, shuffled every epoch, prefetched.

    ``images[rows[k]]`` is sample k (``images`` may be an in-memory array or the cache's
    memory map).  ``labels``: ``{scheme: int32}``, or None for prediction.  ``one_hot``:
    ``{scheme: n_classes}`` for categorical losses.  The next ``prefetch`` batches are gathered in
    a background thread while the model trains on the current one (Keras' own worker threads are
    left off: they would outlive a cancelled ``fit``).  Call :meth:`close` when done.
    """

    def __init__(self, images: Any, rows: np.ndarray, labels: dict[str, np.ndarray] | None, batch_size: int,
                 *, shuffle: bool = False, seed: int = 0, one_hot: dict[str, int] | None = None,
                 multihead: bool = False, prefetch: int = 2) -> None:
        super().__init__(workers=1, use_multiprocessing=False)
        self.images = images
        self.rows = np.asarray(rows, dtype=np.int64)
        self.labels = labels
        self.batch_size = int(batch_size)
        self.shuffle = shuffle
        self.one_hot = one_hot
        self.multihead = multihead
        self.rng = np.random.default_rng(seed)
        self.order = self.rng.permutation(len(self.rows)) if shuffle else np.arange(len(self.rows))
        self.prefetch = int(prefetch)
        self._epoch = 0
        self._lock = threading.Lock()
        self._pending: dict[tuple[int, int], Future] = {}
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="image-batches") if prefetch > 0 else None

    def __len__(self) -> int:
        return math.ceil(len(self.rows) / self.batch_size)

    @property
    def num_batches(self) -> int:
        return len(self)

    def _make(self, order: np.ndarray, i: int) -> Any:
        sel = np.sort(order[i * self.batch_size:(i + 1) * self.batch_size])
        x = np.asarray(self.images[self.rows[sel]])
        if self.labels is None:
            return (x,)
        return x, _targets(self.labels, sel, self.one_hot, self.multihead)

    def __getitem__(self, i: int) -> Any:
        if i < 0 or i >= len(self):
            raise IndexError(i)
        with self._lock:
            epoch, order = self._epoch, self.order
            fut = self._pending.pop((epoch, i), None)
            if self._pool is not None:
                for j in range(i + 1, min(i + 1 + self.prefetch, len(self))):
                    if (epoch, j) not in self._pending:
                        self._pending[(epoch, j)] = self._pool.submit(self._make, order, j)
        return fut.result() if fut is not None else self._make(order, i)

    def on_epoch_end(self) -> None:
        with self._lock:
            for f in self._pending.values():
                f.cancel()
            self._pending.clear()
            self._epoch += 1
            if self.shuffle:
                self.order = self.rng.permutation(len(self.rows))

    def close(self) -> None:
        with self._lock:
            for f in self._pending.values():
                f.cancel()
            self._pending.clear()
            if self._pool is not None:
                self._pool.shutdown(wait=True, cancel_futures=True)
                self._pool = None


@dataclass
class Batches:
    """What ``fit``/``predict`` take (a tf.data.Dataset or a PyDataset) and how many batches."""

    data: Any
    batches: int
    samples: int
    kind: str  # "tf.data" or "PyDataset"

    def close(self) -> None:
        close = getattr(self.data, "close", None)
        if close is not None:
            close()


def use_tf_data() -> bool:
    return keras.backend.backend() == "tensorflow"


def make_batches(images: Any, rows: np.ndarray, labels: dict[str, np.ndarray] | None, batch_size: int, *,
                 shuffle: bool = False, seed: int = 0, one_hot: dict[str, int] | None = None,
                 multihead: bool = False, tf_data: bool | None = None) -> Batches:
    """Shuffled (optionally), batched, prefetched samples ``images[rows]`` with their labels.

    ``tf.data`` under the TensorFlow backend (``tf_data=None``), a PyDataset otherwise.
    """
    rows = np.asarray(rows, dtype=np.int64)
    n = len(rows)
    nb = math.ceil(n / batch_size)
    if tf_data is None:
        tf_data = use_tf_data()
    if not tf_data:
        data = ImageBatches(images, rows, labels, batch_size, shuffle=shuffle, seed=seed, one_hot=one_hot,
                            multihead=multihead)
        return Batches(data, nb, n, "PyDataset")
    return Batches(_tf_dataset(images, rows, labels, batch_size, shuffle, seed, one_hot, multihead), nb, n, "tf.data")


def _tf_dataset(images: Any, rows: np.ndarray, labels: dict[str, np.ndarray] | None, batch_size: int,
                shuffle: bool, seed: int, one_hot: dict[str, int] | None, multihead: bool) -> Any:
    import tensorflow as tf

    schemes = list(labels) if labels is not None else []
    shape = tuple(int(d) for d in images.shape[1:])

    def gather(idx: np.ndarray) -> list[np.ndarray]:
        sel = np.sort(idx)
        out = [np.asarray(images[rows[sel]])]
        for s in schemes:
            out.append(labels[s][sel].astype(np.int32))
        return out

    def fn(idx: Any) -> Any:
        out = tf.numpy_function(gather, [idx], [tf.uint8] + [tf.int32] * len(schemes), stateful=False)
        x = tf.ensure_shape(out[0], (None, *shape))
        if not schemes:
            return (x,)
        ys = {}
        for s, y in zip(schemes, out[1:]):
            y = tf.ensure_shape(y, (None,))
            if one_hot is not None:
                y = tf.one_hot(y, one_hot[s], dtype=tf.float32)
            ys[s] = y
        return x, (ys if multihead else ys[schemes[0]])

    ds = tf.data.Dataset.range(len(rows))
    if shuffle:
        ds = ds.shuffle(len(rows), seed=seed, reshuffle_each_iteration=True)
    ds = ds.batch(batch_size)
    ds = ds.map(fn, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    ds = ds.prefetch(tf.data.AUTOTUNE)
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return ds.with_options(options)
