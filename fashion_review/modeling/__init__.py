"""Recipes to Keras models: recipes (``models/*.toml``), the model factory, weights, precision.

Recipes import no Keras; everything else loads Keras on first use, so ``from
fashion_review.modeling import load_recipe`` stays instant::

    from fashion_review.modeling import load_recipe, make_model, compile_model, configure_precision
    recipe = load_recipe("xception-paper")
    configure_precision(recipe)                       # mixed_float16 on a GPU, before building
    model = make_model(recipe, 23, scheme="articleType", weights="none")
    compile_model(model, recipe)
"""

from __future__ import annotations

import importlib
from typing import Any

from fashion_review.modeling.recipes import Head, Recipe, list_recipes, load_recipe

_LAZY = {
    "make_model": "factory",
    "embedding_model": "factory",
    "backbone_of": "factory",
    "output_schemes": "factory",
    "parameter_counts": "factory",
    "NATIVE_SHAPE": "factory",
    "PAPER_CLASS_COUNTS": "factory",
    "build_backbone": "weights",
    "compile_model": "losses",
    "make_loss": "losses",
    "make_metrics": "losses",
    "make_optimizer": "losses",
    "custom_objects": "losses",
    "MaskedSparseCategoricalAccuracy": "losses",
    "IGNORE_LABEL": "losses",
    "configure_precision": "device",
    "describe_device": "device",
    "gpu_available": "device",
}

__all__ = ["Head", "Recipe", "list_recipes", "load_recipe", *_LAZY]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value
