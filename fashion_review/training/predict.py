"""Class probabilities and embeddings of a run's model for every product with an image.

:func:`predict` runs the model once over the image cache (one forward pass gives every scheme's
probabilities and each head's penultimate-layer embedding) and stores the result as
``predictions.npz`` in the run folder (or ``out``), which the app opens without Keras.  The same
pass also yields the backbone features "retrain heads" trains on, and fills that run's feature
cache (:class:`fashion_review.training.features.FeatureWriter`), so the first retrain after a predict
does not run the backbone again.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import keras
import numpy as np

from fashion_review.errors import ModelError
from fashion_review.text import plural
from fashion_review.review.predictions import Predictions, save_predictions
from fashion_review.tasks import Cancelled, Task
from fashion_review.training import registry
from fashion_review.training.pipeline import ensure_image_cache, make_batches

DEFAULT_BATCH = 128


class PredictProgress(keras.callbacks.Callback):
    """Reports ``phase`` per batch (throttled) and raises Cancelled within one batch."""

    def __init__(self, task: Task | None, batches: int, phase: str = "predict", min_interval: float = 0.1) -> None:
        super().__init__()
        self.task = task
        self.batches = max(1, int(batches))
        self.phase = phase
        self.min_interval = min_interval
        self._last = 0.0
        #: Batches done before the current ``predict`` call (when one pass is split into several calls).
        self.offset = 0
        self._first: tuple[float, int] | None = None  # (time, batches done) at the first batch's end

    def eta(self, now: float, done: int) -> float | None:
        """Seconds left, at the rate since the first batch (which carries the start-up), after two more."""
        if self._first is None:
            self._first = (now, done)
            return None
        t0, d0 = self._first
        if done - d0 < 2 or now <= t0:
            return None
        return (now - t0) / (done - d0) * (self.batches - done)

    def on_predict_batch_end(self, batch: int, logs: dict | None = None) -> None:
        import time

        if self.task is None:
            return
        now = time.perf_counter()
        done = self.offset + batch + 1
        eta = self.eta(now, done)
        if done >= self.batches or now - self._last >= self.min_interval:
            from fashion_review.training.compare import format_duration

            self._last = now
            left = f" · about {format_duration(eta)} left" if eta is not None and done < self.batches else ""
            self.task.report(self.phase, done / self.batches, f"batch {done}/{self.batches}{left}",
                             batch=done, batches=self.batches, eta_s=eta)
        if self.task.cancelled:
            raise Cancelled()


def _output_tensor(model: Any, scheme: str) -> Any:
    try:
        return model.get_layer(scheme).output
    except ValueError:
        raise ModelError(f"model {model.name!r} has no output named {scheme!r}") from None


#: With a feature sink, one pass is split into ``predict`` calls of about this many bytes of features.
FEATURE_CHUNK_BYTES = 64 << 20


def infer(model: Any, schemes: list[str], images: Any, rows: np.ndarray, *, batch_size: int = DEFAULT_BATCH,
          embeddings: bool = False, task: Task | None = None, phase: str = "predict",
          feature_tensor: Any = None, feature_sink: Callable[[int, np.ndarray], None] | None = None,
          flip: bool = False) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Probabilities (float32) and, when asked, embeddings (float16) per scheme for ``images[rows]``.

    ``flip`` (test-time augmentation, a recipe's ``test_time_flip``): the model also sees each image
    mirrored, and the probabilities and embeddings are the mean of the two; the features come
    from the image as it is (what "retrain heads" trains on), in the same pass.

    ``feature_tensor`` (a tensor of ``model``'s graph, e.g. the backbone's pooled output) is
    computed in the same pass and handed to ``feature_sink(start, array)`` for
    ``rows[start:start + len(array)]``, in order, a chunk of about :data:`FEATURE_CHUNK_BYTES` at
    a time (the features of a whole catalog are never all in memory).
    """
    from fashion_review.modeling import embedding_model

    outputs = [_output_tensor(model, s) for s in schemes]
    if embeddings:
        outputs += [embedding_model(model, s).outputs[0] for s in schemes]
    with_features = feature_tensor is not None and feature_sink is not None
    if with_features:
        outputs.append(feature_tensor)
    combined = keras.Model(model.inputs, outputs, name=f"{model.name}_predict")
    if flip:
        combined = _with_flip(combined, n_mean=len(schemes) + (len(schemes) if embeddings else 0))
    n = len(rows)
    n_emb = len(schemes) if embeddings else 0
    if n == 0:
        probs = {s: np.zeros((0, int(o.shape[-1])), np.float32) for s, o in zip(schemes, outputs)}
        embs = {s: np.zeros((0, int(o.shape[-1])), np.float16)
                for s, o in zip(schemes, outputs[len(schemes):len(schemes) + n_emb])}
        return probs, embs
    rows = np.asarray(rows)
    total_batches = math.ceil(n / batch_size)
    if with_features:
        row_bytes = 4 * math.prod(int(d) for d in feature_tensor.shape[1:])
        chunk = batch_size * max(1, FEATURE_CHUNK_BYTES // max(1, row_bytes * batch_size))
    else:
        chunk = n
    progress = PredictProgress(task, total_batches, phase)
    parts: list[list[np.ndarray]] = [[] for _ in range(len(schemes) + n_emb)]
    for start in range(0, n, chunk):
        batches = make_batches(images, rows[start:start + chunk], None, batch_size)
        progress.offset = start // batch_size
        try:
            out = combined.predict(batches.data, verbose=0, callbacks=[progress])
        finally:
            batches.close()
        if not isinstance(out, (list, tuple)):
            out = [out]
        out = [np.asarray(keras.ops.convert_to_numpy(o)) for o in out]
        for i in range(len(schemes)):
            parts[i].append(out[i].astype(np.float32, copy=False))
        for i in range(len(schemes), len(schemes) + n_emb):
            parts[i].append(out[i].astype(np.float16))
        if with_features:
            feature_sink(start, out[-1])
        del out
    cat = [p[0] if len(p) == 1 else np.concatenate(p) for p in parts]
    probs = {s: cat[i] for i, s in enumerate(schemes)}
    embs = {s: cat[len(schemes) + i] for i, s in enumerate(schemes)} if embeddings else {}
    return probs, embs


class HorizontalFlip(keras.layers.Layer):
    """Mirror images left to right (always: unlike ``RandomFlip``, also at inference)."""

    def call(self, x):  # noqa: ANN001, ANN201 - Keras signature
        return keras.ops.flip(x, axis=2)


def _with_flip(combined: Any, n_mean: int) -> Any:
    """``combined`` on the image and on its mirror: the first ``n_mean`` outputs averaged, the rest
    (the features) from the image as it is."""
    inp = keras.Input(shape=combined.inputs[0].shape[1:], dtype=combined.inputs[0].dtype, name="image")
    a = combined(inp)
    b = combined(HorizontalFlip(name="mirror")(inp))
    a = a if isinstance(a, (list, tuple)) else [a]
    b = b if isinstance(b, (list, tuple)) else [b]
    outs = [keras.layers.Average(name=f"flip_mean_{i}")([a[i], b[i]]) for i in range(n_mean)] + list(a[n_mean:])
    return keras.Model(inp, outs, name=f"{combined.name}_flip")


def test_time_flip(run: Any) -> bool:
    """Whether ``run``'s recipe predicts on each image and its mirror."""
    return bool((run.record.get("recipe") or {}).get("test_time_flip", False))


def prediction_ids(ds: Any, cache: Any, limit: int | None = None) -> np.ndarray:
    """Every product with an image that decodes, in catalog order, the first ``limit`` when given."""
    df = ds.catalog.df
    ids = df.index[df["has_image"].to_numpy()].to_numpy(dtype=np.int64)
    ok, _ = cache.readable(ids)
    ids = ids[ok]
    if limit is not None:
        if limit < 1:
            raise ModelError(f"--limit must be at least 1, got {limit}")
        ids = ids[:limit]
    return ids


def predict(run: Any, ds: Any, *, limit: int | None = None, task: Task | None = None,
            out: str | os.PathLike[str] | None = None, batch_size: int = DEFAULT_BATCH,
            embeddings: bool = True, features: bool = True) -> Predictions:
    """Probabilities (and embeddings) of ``run``'s model for every product of ``ds`` with an image.

    ``ids`` are sorted ascending.  Saved atomically to ``out`` or the run's ``predictions.npz``
    (phase "predict"; raises Cancelled, leaving any earlier file as it was).

    With ``features`` (the default) the same pass also stores the backbone features of the
    predicted products in the run's feature cache (:mod:`fashion_review.training.features`: same
    place, key and format), so a "retrain heads" of this run afterwards skips the backbone for
    them.  Skipped when the cache already holds them all, or the model does not split into
    backbone and heads.  The cache is renamed into place only after the whole pass (and the
    predictions file): a cancel or an error leaves the cache as it was.
    """
    from fashion_review.modeling.surgery import split_model
    from fashion_review.training.features import FeatureWriter
    from fashion_review.training.registry import load_model

    run = registry.get_run(run, ds.fingerprint)
    task = task if task is not None else Task()
    cache = ensure_image_cache(ds, task)
    ids = np.sort(prediction_ids(ds, cache, limit))
    task.report("predict", None, f"loading model {run.id}")
    model = load_model(run)
    task.check()
    writer = None
    feature_tensor = None
    if features and len(ids) and FeatureWriter.needed(Path(ds.home), run.backbone_id, ids):
        try:
            parts = split_model(model, run.schemes)
        except ModelError:
            parts = None  # not a backbone + heads model: predictions only
        if parts is not None:
            feature_tensor = parts.feature_tensor
            writer = FeatureWriter(Path(ds.home), run.backbone_id, ids, list(parts.feature_shape), parts.pooled)
    try:
        t0 = time.perf_counter()
        probs, embs = infer(model, run.schemes, cache.images, cache.index_of(ids), batch_size=batch_size,
                            embeddings=embeddings, task=task, feature_tensor=feature_tensor,
                            feature_sink=writer.write if writer is not None else None, flip=test_time_flip(run))
        rate = len(ids) / (time.perf_counter() - t0)
        pred = Predictions(ids=ids, classes=run.classes, probs=probs, model_version=run.id, embeddings=embs)
        task.check()
        path = Path(out) if out is not None else run.predictions_path
        path.parent.mkdir(parents=True, exist_ok=True)
        # the full catalog's file (embeddings in it) and cached features take a while to write: say so,
        # where the bar stood at "batch 329/329" with nothing moving
        task.report("save", None, f"Saving the predictions of {plural(len(ids), 'product')}"
                    + (" and the backbone's features" if writer is not None else "") + " ...")
        save_predictions(pred, path)
        if writer is not None:
            writer.commit(images_per_s=rate)
    except BaseException:
        if writer is not None:
            writer.discard()
        raise
    saved = f", backbone features cached for {len(ids):,}" if writer is not None else ""
    task.report("predict", 1.0, f"{plural(len(ids), 'product')} predicted, saved to {path}{saved}")
    return pred
