"""Keras callbacks that do the plumbing between ``fit`` and a :class:`~fashion_review.tasks.Task`.

* :class:`TaskProgress` forwards progress (phase ``"train"`` per batch, throttled, and
  ``"epoch_end"`` with all logs) and stops within one batch when the task is cancelled: it sets
  ``model.stop_training`` (as Keras' ``TerminateOnNaN`` does) and raises
  :class:`~fashion_review.tasks.Cancelled`, because Keras would otherwise still run the epoch's
  validation pass before stopping.
* :class:`BestWeights` keeps the weights of the best validation epoch in memory and puts them
  back at the end (best-validation checkpointing without writing a file per epoch).
* :class:`TimeBudget` ends training after the epoch that would make the next one overrun a
  wall-clock budget (for benchmarks that must fit a fixed time).
"""

from __future__ import annotations

import math
import time
from typing import Any

import keras

from fashion_review.tasks import Cancelled, Task


def _float(v: Any) -> float:
    try:
        return float(v)
    except (TypeError, ValueError):
        return float("nan")


def mean_accuracy(logs: dict[str, Any], prefix: str = "") -> float | None:
    """``accuracy``, or the mean of the per-head ``<scheme>_accuracy`` of a multihead model."""
    if f"{prefix}accuracy" in logs:
        return _float(logs[f"{prefix}accuracy"])
    accs = [_float(v) for k, v in logs.items()
            if k.startswith(prefix) and k.endswith("_accuracy") and (prefix or not k.startswith("val_"))]
    return sum(accs) / len(accs) if accs else None


class TaskProgress(keras.callbacks.Callback):
    """Progress and cancel for ``fit`` (see the module docstring).

    ``samples``: training images per epoch; ``batch_size``: the global batch size.
    """

    def __init__(self, task: Task | None, *, epochs: int, batches: int, samples: int, batch_size: int,
                 val_batches: int = 0, min_interval: float = 0.1) -> None:
        super().__init__()
        self.task = task
        self.epochs = int(epochs)
        self.batches = max(1, int(batches))
        self.samples = int(samples)
        self.batch_size = int(batch_size)
        self.val_batches = int(val_batches)
        self.min_interval = min_interval
        self._epoch = 0
        self._last_report = 0.0
        self._mark_t: float | None = None  # end of the epoch's first batch (excludes tracing)
        self._mark_images = 0
        self._rate: float | None = None
        self._val_seconds: float | None = None
        self._val_t0: float | None = None
        self._sec_per_batch: float | None = None
        self._epoch_t0 = 0.0
        self._last_t = 0.0
        self._last_images = 0
        # training time and images (validation excluded), all of it and after each epoch's first batch
        self.total_seconds = 0.0
        self.total_images = 0
        self.steady_seconds = 0.0
        self.steady_images = 0

    def _check(self) -> None:
        if self.task is not None and self.task.cancelled:
            if self.model is not None:
                self.model.stop_training = True
            raise Cancelled()

    def on_train_begin(self, logs: dict | None = None) -> None:
        self._check()

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self._epoch = epoch
        self._epoch_t0 = time.perf_counter()
        self._mark_t = None
        self._check()

    def _eta(self, batch: int) -> float | None:
        if self._sec_per_batch is None:
            return None
        left_batches = (self.batches - batch - 1) + (self.epochs - self._epoch - 1) * self.batches
        left_val = self.epochs - self._epoch
        val = self._val_seconds if self._val_seconds is not None else \
            self.val_batches * self._sec_per_batch / 3.0
        return left_batches * self._sec_per_batch + left_val * val

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        now = time.perf_counter()
        images_in_epoch = min(self.samples, (batch + 1) * self.batch_size)
        if self._mark_t is None:
            self._mark_t, self._mark_images = now, images_in_epoch
        elif now > self._mark_t:
            self._rate = (images_in_epoch - self._mark_images) / (now - self._mark_t)
            self._sec_per_batch = self.batch_size / self._rate if self._rate else None
        self._last_t, self._last_images = now, images_in_epoch
        last = batch + 1 >= self.batches
        if self.task is not None and (last or now - self._last_report >= self.min_interval):
            self._last_report = now
            logs = logs or {}
            loss = _float(logs.get("loss"))
            acc = mean_accuracy(logs)
            done = self._epoch * self.batches + batch + 1
            eta = self._eta(batch)
            rate = self._rate
            msg = (f"epoch {self._epoch + 1}/{self.epochs}, batch {batch + 1}/{self.batches}, loss {loss:.4f}"
                   + (f", accuracy {100 * acc:.1f}%" if acc is not None else "")
                   + (f", {rate:,.0f} images/s" if rate else "")
                   + (f", ETA {_fmt_s(eta)}" if eta is not None else ""))
            self.task.report("train", done / (self.epochs * self.batches), msg,
                             epoch=self._epoch + 1, epochs=self.epochs, batch=batch + 1, batches=self.batches,
                             loss=loss, accuracy=acc, images_per_s=rate, eta_s=eta,
                             head_accuracy={k[:-len("_accuracy")]: _float(v) for k, v in logs.items()
                                            if k.endswith("_accuracy")})
        self._check()

    def on_test_begin(self, logs: dict | None = None) -> None:
        self._val_t0 = time.perf_counter()
        self._check()

    def on_test_batch_end(self, batch: int, logs: dict | None = None) -> None:
        if self.task is not None and time.perf_counter() - self._last_report >= max(self.min_interval, 0.5):
            self._last_report = time.perf_counter()
            done = (self._epoch + 1) * self.batches
            vb = f"/{self.val_batches}" if self.val_batches else ""
            self.task.report("train", done / (self.epochs * self.batches),
                             f"epoch {self._epoch + 1}/{self.epochs}: validating, batch {batch + 1}{vb}",
                             epoch=self._epoch + 1, epochs=self.epochs, batch=self.batches, batches=self.batches,
                             loss=None, accuracy=None, images_per_s=self._rate, eta_s=None,
                             validating=True, val_batch=batch + 1, val_batches=self.val_batches)
        self._check()

    def on_test_end(self, logs: dict | None = None) -> None:
        if self._val_t0 is not None:
            self._val_seconds = time.perf_counter() - self._val_t0
            self._val_t0 = None

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if self._mark_t is not None and self._last_t > self._mark_t:
            self.steady_seconds += self._last_t - self._mark_t
            self.steady_images += self._last_images - self._mark_images
        self.total_seconds += self._last_t - self._epoch_t0
        self.total_images += self._last_images
        if self.task is not None:
            logs = {k: _float(v) for k, v in (logs or {}).items()}
            msg = f"epoch {epoch + 1}/{self.epochs} done: " + ", ".join(
                f"{k} {v:.4f}" for k, v in logs.items() if k in ("loss", "val_loss", "accuracy", "val_accuracy"))
            self.task.report("epoch_end", (epoch + 1) / self.epochs, msg, epoch=epoch + 1, epochs=self.epochs,
                             logs=logs)
        self._check()

    @property
    def images_per_s(self) -> float | None:
        """Training images per second, validation and each epoch's first batch (tracing,
        compilation, the pipeline's warm-up) excluded; over whole epochs when they have one batch."""
        if self.steady_seconds > 0:
            return self.steady_images / self.steady_seconds
        return self.total_images / self.total_seconds if self.total_seconds > 0 else None


def _fmt_s(s: float) -> str:
    s = max(0, int(round(s)))
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60}:{s % 60:02d}"


class BestWeights(keras.callbacks.Callback):
    """Keep the weights of the epoch with the best ``monitor`` and restore them at the end."""

    def __init__(self, monitor: str = "val_loss", mode: str = "min") -> None:
        super().__init__()
        self.monitor = monitor
        self.mode = mode
        self.best: float | None = None
        self.best_epoch: int | None = None  # 1-based
        self.best_weights: list | None = None

    def _better(self, v: float) -> bool:
        if math.isnan(v):
            return False
        if self.best is None:
            return True
        return v < self.best if self.mode == "min" else v > self.best

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        v = (logs or {}).get(self.monitor)
        if v is None:
            return
        v = _float(v)
        if self._better(v):
            self.best, self.best_epoch = v, epoch + 1
            self.best_weights = self.model.get_weights()

    def on_train_end(self, logs: dict | None = None) -> None:
        self.restore()

    def restore(self) -> None:
        if self.best_weights is not None:
            self.model.set_weights(self.best_weights)


class TimeBudget(keras.callbacks.Callback):
    """Stop after the epoch when another one would end past ``seconds`` from the start of fit."""

    def __init__(self, seconds: float) -> None:
        super().__init__()
        self.seconds = float(seconds)
        self.stopped_epoch: int | None = None
        self._t0 = 0.0
        self._epoch_t0 = 0.0
        self.durations: list[float] = []

    def on_train_begin(self, logs: dict | None = None) -> None:
        self._t0 = time.perf_counter()

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self._epoch_t0 = time.perf_counter()

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        now = time.perf_counter()
        self.durations.append(now - self._epoch_t0)
        # the first epoch includes compilation: the next one takes about as long as the slowest later one
        next_epoch = max(self.durations[1:]) if len(self.durations) > 1 else self.durations[0]
        if now - self._t0 + next_epoch > self.seconds:
            self.stopped_epoch = epoch + 1
            self.model.stop_training = True
