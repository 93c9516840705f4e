"""Class probabilities and embeddings of a run's model for every product with an image.

:func:`predict` runs the model once over the image cache (one forward pass gives every scheme's
probabilities and each head's penultimate-layer embedding) and stores the result as
``predictions.npz`` in the run folder (or ``out``), which the app opens without Keras.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import keras
import numpy as np

from fashion_review.errors import ModelError
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

    def on_predict_batch_end(self, batch: int, logs: dict | None = None) -> None:
        import time

        if self.task is None:
            return
        now = time.perf_counter()
        if batch + 1 >= self.batches or now - self._last >= self.min_interval:
            self._last = now
            self.task.report(self.phase, (batch + 1) / self.batches, f"batch {batch + 1}/{self.batches}",
                             batch=batch + 1, batches=self.batches)
        if self.task.cancelled:
            raise Cancelled()


def _output_tensor(model: Any, scheme: str) -> Any:
    try:
        return model.get_layer(scheme).output
    except ValueError:
        raise ModelError(f"model {model.name!r} has no output named {scheme!r}") from None


def infer(model: Any, schemes: list[str], images: Any, rows: np.ndarray, *, batch_size: int = DEFAULT_BATCH,
          embeddings: bool = False, task: Task | None = None, phase: str = "predict"
          ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Probabilities (float32) and, when asked, embeddings (float16) per scheme for ``images[rows]``."""
    from fashion_review.modeling import embedding_model

    outputs = [_output_tensor(model, s) for s in schemes]
    if embeddings:
        outputs += [embedding_model(model, s).outputs[0] for s in schemes]
    combined = keras.Model(model.inputs, outputs, name=f"{model.name}_predict")
    n = len(rows)
    if n == 0:
        probs = {s: np.zeros((0, int(o.shape[-1])), np.float32) for s, o in zip(schemes, outputs)}
        embs = {s: np.zeros((0, int(o.shape[-1])), np.float16) for s, o in zip(schemes, outputs[len(schemes):])}
        return probs, embs
    batches = make_batches(images, rows, None, batch_size)
    try:
        out = combined.predict(batches.data, verbose=0, callbacks=[PredictProgress(task, batches.batches, phase)])
    finally:
        batches.close()
    if not isinstance(out, (list, tuple)):
        out = [out]
    out = [np.asarray(keras.ops.convert_to_numpy(o)) for o in out]
    probs = {s: out[i].astype(np.float32) for i, s in enumerate(schemes)}
    embs = {s: out[len(schemes) + i].astype(np.float16) for i, s in enumerate(schemes)} if embeddings else {}
    return probs, embs


def prediction_ids(ds: Any, cache: Any, limit: int | None = None) -> np.ndarray:
    """Every product with an image that decodes, in catalog order, the first ``limit`` when given."""
    df = ds.catalog.df
    ids = df.index[df["has_image"].to_numpy()].to_numpy(dtype=np.int64)
    pos = cache.index_of(ids)
    ok = pos >= 0
    ok[ok] = cache.ok[pos[ok]]
    ids = ids[ok]
    if limit is not None:
        if limit < 1:
            raise ModelError(f"--limit must be at least 1, got {limit}")
        ids = ids[:limit]
    return ids


def predict(run: Any, ds: Any, *, limit: int | None = None, task: Task | None = None,
            out: str | os.PathLike[str] | None = None, batch_size: int = DEFAULT_BATCH,
            embeddings: bool = True) -> Predictions:
    """Probabilities (and embeddings) of ``run``'s model for every product of ``ds`` with an image.

    ``ids`` are sorted ascending.  Saved atomically to ``out`` or the run's ``predictions.npz``
    (phase "predict"; raises Cancelled, leaving any earlier file as it was).
    """
    from fashion_review.training.registry import load_model

    run = registry.get_run(run, ds.fingerprint)
    task = task if task is not None else Task()
    cache = ensure_image_cache(ds, task)
    ids = np.sort(prediction_ids(ds, cache, limit))
    task.report("predict", None, f"loading model {run.id}")
    model = load_model(run)
    task.check()
    probs, embs = infer(model, run.schemes, cache.images, cache.index_of(ids), batch_size=batch_size,
                        embeddings=embeddings, task=task)
    pred = Predictions(ids=ids, classes=run.classes, probs=probs, model_version=run.id, embeddings=embs)
    task.check()
    path = Path(out) if out is not None else run.predictions_path
    path.parent.mkdir(parents=True, exist_ok=True)
    save_predictions(pred, path)
    task.report("predict", 1.0, f"{len(ids):,} products predicted, saved to {path}")
    return pred
