"""Recipes to Keras models: ``make_model(recipe, num_classes)`` (the keras-io factory pattern).

Every model takes the image cache's uint8 images at their native 80 x 60 x 3 (height x width)
and does its own preprocessing, so it runs on the accelerator and a saved model needs nothing
but its file:

    image (uint8, 80 x 60 x 3)
      -> scale   Rescaling(1/127.5, offset=-1): cast to float, [0, 255] -> [-1, 1], which is
                 keras.applications.xception.preprocess_input
      -> augment RandomFlip("horizontal"), when the recipe asks (active in training only)
      -> resize  Resizing(size, size), bilinear
      -> xception (no top, nested model)
      -> per head: pool (Flatten | GlobalAveragePooling2D), Dense+ReLU, Dropout, ...,
         the last Dense (``embedding`` / ``<scheme>_embedding``), Dropout,
         Dense softmax named after the scheme (float32, also under mixed precision)

Scaling before resizing gives the same numbers as resizing first (bilinear resizing is a convex
combination of pixels, so it commutes with an affine map) and casts the uint8 input to float
before any other layer sees it.  No Lambda layers: models load in Keras' safe mode.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

import keras
from keras import layers

from fashion_review.errors import ModelError
from fashion_review.modeling.recipes import Recipe, load_recipe
from fashion_review.modeling.weights import Weights, build_backbone

#: The image cache's images: height x width x channels.
NATIVE_SHAPE = (80, 60, 3)
#: The paper's class counts after filtering (classes with >= 500 images): defaults when no data
#: set is given (e.g. ``fashion-review model summary``).
PAPER_CLASS_COUNTS = {"gender_master": 12, "subCategory": 15, "articleType": 23}
EMBEDDING = "embedding"


def make_model(
    recipe: Recipe | str | os.PathLike[str],
    num_classes: Mapping[str, int] | int,
    *,
    scheme: str | None = None,
    weights: Weights = "none",
    image_size: int | None = None,
    input_shape: tuple[int, int, int] = NATIVE_SHAPE,
) -> keras.Model:
    """Build the recipe's model (not compiled: see :func:`~fashion_review.modeling.losses.compile_model`).

    ``num_classes``: for a ``single`` recipe an int (with ``scheme`` naming the output, needed
    when the recipe has several schemes) or ``{scheme: n}`` with one entry; for a ``multihead``
    recipe ``{scheme: n}`` for each of its schemes.  ``weights``: ``"none"``, ``"imagenet"`` or a
    local no-top weights file (``xception-lite``: a lite backbone's ``.weights.h5``; it has no ImageNet
    weights).  ``image_size`` overrides the recipe's input size (>= 71 for Xception).
    Call :func:`~fashion_review.modeling.device.configure_precision` first for mixed precision.
    """
    recipe = load_recipe(recipe)
    classes = _class_counts(recipe, num_classes, scheme)
    if image_size is not None:
        recipe = recipe.replace(image_size=image_size)  # validated like the recipe file

    inputs = keras.Input(shape=tuple(input_shape), dtype="uint8", name="image")
    x = layers.Rescaling(1.0 / 127.5, offset=-1.0, name="scale")(inputs)
    if "horizontal_flip" in recipe.augmentation:
        x = layers.RandomFlip("horizontal", name="augment")(x)
    if "shift" in recipe.augmentation:  # up to 1/16 of the height and width; edges repeat (white)
        x = layers.RandomTranslation(1 / 16, 1 / 16, fill_mode="nearest", name="augment_shift")(x)
    if "zoom" in recipe.augmentation:
        x = layers.RandomZoom((-0.1, 0.1), fill_mode="nearest", name="augment_zoom")(x)
    h, w = recipe.input_hw
    if (h, w) != tuple(input_shape[:2]):
        x = layers.Resizing(h, w, interpolation="bilinear", name="resize")(x)
    if recipe.backbone == "xception-lite":
        backbone = _lite_backbone(recipe, weights)
    else:
        backbone = build_backbone(recipe.backbone, h, weights)
    features = backbone(x)

    outputs = {}
    for name, n in classes.items():
        prefix = f"{name}_" if recipe.multihead else ""
        outputs[name] = _head(features, recipe, name, n, prefix)
    model_name = recipe.name if recipe.multihead else f"{recipe.name}_{next(iter(classes))}"
    out = outputs if recipe.multihead else next(iter(outputs.values()))
    return keras.Model(inputs, out, name=model_name.replace("-", "_"))


def _lite_backbone(recipe: Recipe, weights: Weights) -> keras.Model:
    from fashion_review.modeling.lite import build_lite_backbone
    from fashion_review.modeling.weights import weights_spec

    backbone = build_lite_backbone(recipe.network, recipe.input_hw)
    spec = weights_spec(weights)
    if spec is None:
        return backbone
    if spec == "imagenet":
        raise ModelError(f"recipe {recipe.name!r}: no ImageNet weights exist for the xception-lite backbone; "
                         "train it from scratch (--weights none) or start from a lite backbone's "
                         ".weights.h5 file (--weights PATH)")
    if not spec.is_file():
        raise ModelError(f"weights file {spec} not found (expected an xception-lite backbone's .weights.h5)")
    try:
        backbone.load_weights(spec)
    except Exception as exc:  # noqa: BLE001 - h5py, Keras and the OS raise many kinds here
        raise ModelError(f"weights file {spec} cannot be loaded into the xception-lite backbone of recipe "
                         f"{recipe.name!r} ({type(exc).__name__}: {exc}); it must come from a backbone of the "
                         "same [network] widths") from exc
    return backbone


def _head(features, recipe: Recipe, scheme: str, n: int, prefix: str):  # noqa: ANN001, ANN202
    head = recipe.head
    if head.pooling == "flatten":
        x = layers.Flatten(name=f"{prefix}pool")(features)
    else:
        x = layers.GlobalAveragePooling2D(name=f"{prefix}pool")(features)
    last = len(head.units)
    for i, units in enumerate(head.units, start=1):
        dense_name = f"{prefix}{EMBEDDING}" if i == last else f"{prefix}dense_{i}"
        x = layers.Dense(units, activation="relu", name=dense_name)(x)
        x = layers.Dropout(head.dropout, name=f"{prefix}dropout_{i}")(x)
    return layers.Dense(n, activation="softmax", dtype="float32", name=scheme)(x)


def _class_counts(recipe: Recipe, num_classes: Mapping[str, int] | int, scheme: str | None) -> dict[str, int]:
    if recipe.multihead:
        if not isinstance(num_classes, Mapping):
            raise ModelError(f"recipe {recipe.name!r} is multihead: give num_classes as "
                             f"{{scheme: n}} for {', '.join(recipe.schemes)}")
        recipe.heads_for(scheme)  # refuses a scheme: a multihead model has all its heads
        missing = [s for s in recipe.schemes if s not in num_classes]
        extra = [s for s in num_classes if s not in recipe.schemes]
        if missing or extra:
            raise ModelError(f"recipe {recipe.name!r} has heads {', '.join(recipe.schemes)}; "
                             f"num_classes lacks {missing} and has extra {extra}")
        counts = {s: num_classes[s] for s in recipe.schemes}
    else:
        if isinstance(num_classes, Mapping):
            if len(num_classes) != 1:
                raise ModelError(f"recipe {recipe.name!r} builds one model per scheme: give one "
                                 f"scheme's class count, not {dict(num_classes)}")
            ((name, n),) = num_classes.items()
            if scheme is not None and scheme != name:
                raise ModelError(f"scheme {scheme!r} does not match num_classes {dict(num_classes)}")
        else:
            name, n = recipe.heads_for(scheme)[0], num_classes
        from fashion_review.modeling.recipes import known_schemes

        if name not in known_schemes():
            raise ModelError(f"unknown scheme {name!r}; choose one of {', '.join(known_schemes())}")
        counts = {name: n}
    for name, n in counts.items():
        if isinstance(n, bool) or not isinstance(n, int) or n < 2:
            raise ModelError(f"scheme {name!r} needs at least 2 classes, got {n!r}")
    return counts


def backbone_of(model: keras.Model) -> keras.Model:
    """The nested backbone model (e.g. to freeze it, or to compare its weights)."""
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            return layer
    raise ModelError(f"model {model.name!r} has no nested backbone")


def output_schemes(model: keras.Model) -> list[str]:
    """The schemes a model labels, in output order (its output layers are named after them)."""
    return list(model.output_names)


def embedding_model(model: keras.Model, scheme: str | None = None) -> keras.Model:
    """A model from the same input to the penultimate layer (the last Dense before the softmax).

    For a multihead model, ``scheme`` picks the head; for a single model it may be omitted.
    """
    names = {layer.name for layer in model.layers}
    if EMBEDDING in names and scheme in (None, *output_schemes(model)):
        layer_name = EMBEDDING
    elif scheme is not None and f"{scheme}_{EMBEDDING}" in names:
        layer_name = f"{scheme}_{EMBEDDING}"
    else:
        heads = [n[: -len(EMBEDDING) - 1] for n in sorted(names) if n.endswith(f"_{EMBEDDING}")]
        if heads and scheme is None:
            raise ModelError(f"model {model.name!r} has one embedding per head: name a scheme "
                             f"({', '.join(heads)})")
        raise ModelError(f"model {model.name!r} has no embedding layer for scheme {scheme!r}"
                         + (f" (heads: {', '.join(heads)})" if heads else ""))
    return keras.Model(model.inputs, model.get_layer(layer_name).output, name=f"{model.name}_{layer_name}")


def parameter_counts(model: keras.Model) -> dict[str, int]:
    """``{"total_params", "trainable_params", "non_trainable_params"}``, as Keras' summary counts them."""
    import math

    trainable = sum(math.prod(w.shape) for w in model.trainable_weights)
    non_trainable = sum(math.prod(w.shape) for w in model.non_trainable_weights)
    return {
        "total_params": int(trainable + non_trainable),
        "trainable_params": int(trainable),
        "non_trainable_params": int(non_trainable),
    }
