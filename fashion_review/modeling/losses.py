"""Losses, metrics and compilation for recipes, with masking for the multihead model.

In a multihead model a product may have no class in one scheme (its class was filtered out, or a
curator excluded it there) and still be a good example for the others.  Its label for that head is
``-1`` (:data:`IGNORE_LABEL`): the head's sparse cross-entropy ignores it (mean over the labelled
entries of the batch only) and :class:`MaskedSparseCategoricalAccuracy` does not count it.
"""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

from fashion_review.errors import ModelError
from fashion_review.modeling.recipes import Recipe

#: The label of a product that has no class in a scheme (masked out of that head's loss).
IGNORE_LABEL = -1


@keras.saving.register_keras_serializable(package="fashion_review")
class MaskedSparseCategoricalAccuracy(keras.metrics.Metric):
    """Sparse categorical accuracy over the entries whose label is not ``ignore_class``."""

    def __init__(self, name: str = "accuracy", ignore_class: int = IGNORE_LABEL, dtype: Any = None) -> None:
        super().__init__(name=name, dtype=dtype)
        self.ignore_class = int(ignore_class)
        self.correct = self.add_variable(shape=(), initializer="zeros", name="correct")
        self.count = self.add_variable(shape=(), initializer="zeros", name="count")

    def update_state(self, y_true, y_pred, sample_weight=None):  # noqa: ANN001 - Keras signature
        y_pred = ops.convert_to_tensor(y_pred)
        y_true = ops.reshape(ops.cast(ops.convert_to_tensor(y_true), "int32"), (-1,))
        predicted = ops.cast(ops.argmax(ops.reshape(y_pred, (-1, ops.shape(y_pred)[-1])), axis=-1), "int32")
        valid = ops.cast(ops.not_equal(y_true, self.ignore_class), self.dtype)
        hit = ops.cast(ops.equal(predicted, y_true), self.dtype) * valid
        if sample_weight is not None:
            w = ops.reshape(ops.cast(ops.convert_to_tensor(sample_weight), self.dtype), (-1,))
            valid = valid * w
            hit = hit * w
        self.correct.assign_add(ops.sum(hit))
        self.count.assign_add(ops.sum(valid))

    def result(self):
        return ops.divide_no_nan(self.correct, self.count)

    def reset_state(self) -> None:
        self.correct.assign(ops.zeros((), dtype=self.dtype))
        self.count.assign(ops.zeros((), dtype=self.dtype))

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "ignore_class": self.ignore_class}


@keras.saving.register_keras_serializable(package="fashion_review")
class SmoothedSparseCategoricalCrossentropy(keras.losses.Loss):
    """Sparse cross-entropy with label smoothing, ignoring label ``ignore_class``.

    Keras' ``SparseCategoricalCrossentropy`` has no label smoothing.  The target of a labelled
    entry is ``(1 - s)`` on its class plus ``s / n`` on every class (what
    ``CategoricalCrossentropy(label_smoothing=s)`` does with one-hot rows); the batch's loss is
    the mean over its labelled entries (0 when it has none), as with ``ignore_class``.
    """

    def __init__(self, label_smoothing: float = 0.0, ignore_class: int = IGNORE_LABEL,
                 name: str = "smoothed_sparse_categorical_crossentropy", **kwargs: Any) -> None:
        super().__init__(name=name, **kwargs)
        self.label_smoothing = float(label_smoothing)
        self.ignore_class = int(ignore_class)

    def call(self, y_true, y_pred):  # noqa: ANN001, ANN201 - Keras signature
        y_pred = ops.cast(ops.convert_to_tensor(y_pred), "float32")
        n = ops.shape(y_pred)[-1]
        y_true = ops.reshape(ops.cast(ops.convert_to_tensor(y_true), "int32"), (-1,))
        valid = ops.cast(ops.not_equal(y_true, self.ignore_class), "float32")
        target = ops.one_hot(ops.where(valid > 0, y_true, 0), n, dtype="float32")
        target = target * (1.0 - self.label_smoothing) + self.label_smoothing / ops.cast(n, "float32")
        logp = ops.log(ops.clip(ops.reshape(y_pred, (-1, n)), 1e-7, 1.0))
        per_entry = -ops.sum(target * logp, axis=-1) * valid
        # The reduction divides by the batch size: rescale so the result is the labelled mean.
        batch = ops.cast(ops.shape(per_entry)[0], "float32")
        return per_entry * ops.divide_no_nan(batch, ops.sum(valid))

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "label_smoothing": self.label_smoothing, "ignore_class": self.ignore_class}


def custom_objects() -> dict[str, Any]:
    """What ``keras.saving.load_model`` needs to read back a compiled model of ours."""
    return {"MaskedSparseCategoricalAccuracy": MaskedSparseCategoricalAccuracy,
            "SmoothedSparseCategoricalCrossentropy": SmoothedSparseCategoricalCrossentropy}


def make_loss(recipe: Recipe) -> keras.losses.Loss:
    """The loss of one head.  Sparse losses ignore label -1."""
    if recipe.loss == "categorical_crossentropy":
        return keras.losses.CategoricalCrossentropy(label_smoothing=recipe.label_smoothing)
    if recipe.loss == "sparse_categorical_crossentropy":
        if recipe.label_smoothing:
            return SmoothedSparseCategoricalCrossentropy(recipe.label_smoothing, IGNORE_LABEL)
        return keras.losses.SparseCategoricalCrossentropy(ignore_class=IGNORE_LABEL)
    raise ModelError(f"recipe {recipe.name!r}: unsupported loss {recipe.loss!r}")


def make_metrics(recipe: Recipe) -> list[keras.metrics.Metric]:
    """The metrics of one head (reported as ``accuracy``, or ``<scheme>_accuracy`` per head)."""
    if recipe.sparse_labels:
        return [MaskedSparseCategoricalAccuracy(name="accuracy")]
    return [keras.metrics.CategoricalAccuracy(name="accuracy")]


def learning_rate_schedule(recipe: Recipe, learning_rate: float | None = None,
                           steps_per_epoch: int | None = None) -> Any:
    """The recipe's learning rate: a float (``constant``) or a Keras schedule.

    ``cosine``: linear warm-up from 0 over ``warmup_epochs``, then cosine decay to 0 at the end of
    the last epoch (Loshchilov & Hutter's SGDR without restarts).  It needs ``steps_per_epoch``;
    without it (e.g. a model compiled only to be evaluated) the rate stays constant.
    """
    lr = recipe.learning_rate if learning_rate is None else float(learning_rate)
    if recipe.schedule == "constant" or not steps_per_epoch:
        return lr
    total = max(1, int(round(recipe.epochs * steps_per_epoch)))
    warmup = min(total - 1, int(round(recipe.warmup_epochs * steps_per_epoch)))
    if warmup > 0:
        return keras.optimizers.schedules.CosineDecay(0.0, total - warmup, warmup_target=lr, warmup_steps=warmup)
    return keras.optimizers.schedules.CosineDecay(lr, total)


def make_optimizer(recipe: Recipe, learning_rate: float | None = None,
                   steps_per_epoch: int | None = None) -> keras.optimizers.Optimizer:
    lr = learning_rate_schedule(recipe, learning_rate, steps_per_epoch)
    if recipe.optimizer == "adam":
        return keras.optimizers.Adam(learning_rate=lr)
    if recipe.optimizer == "adamw":
        return keras.optimizers.AdamW(learning_rate=lr, weight_decay=recipe.weight_decay)
    raise ModelError(f"recipe {recipe.name!r}: unsupported optimizer {recipe.optimizer!r}")


def compile_model(model: keras.Model, recipe: Recipe, *, learning_rate: float | None = None,
                  steps_per_epoch: int | None = None, **compile_kwargs: Any) -> keras.Model:
    """Compile ``model`` with the recipe's optimizer, loss and metrics, one of each per head.

    Labels: one-hot rows for ``categorical_crossentropy``; class indices (``-1`` = masked) for
    ``sparse_categorical_crossentropy``; a dict ``{scheme: labels}`` for a multihead model.
    """
    outputs = list(model.output_names)
    if len(outputs) == 1:  # logs read "loss", "accuracy"
        losses: Any = make_loss(recipe)
        metrics: Any = make_metrics(recipe)
    else:  # logs read "loss", "<scheme>_loss", "<scheme>_accuracy"
        losses = {name: make_loss(recipe) for name in outputs}
        metrics = {name: make_metrics(recipe) for name in outputs}
        if recipe.loss_weights:
            weights = dict(recipe.loss_weights)
            compile_kwargs.setdefault("loss_weights", {name: weights.get(name, 1.0) for name in outputs})
    model.compile(
        optimizer=make_optimizer(recipe, learning_rate, steps_per_epoch),
        loss=losses,
        metrics=metrics,
        **compile_kwargs,
    )
    return model
