"""Model surgery: a classifier split into its backbone and one head per scheme, and new heads on
the old backbone.  Every use of Keras' private graph attributes in the program is here.

Keras 3 has no public way to walk a functional model's graph from an output back to its inputs,
so :func:`split_model` reads three private attributes of Keras' graph: a layer's
``_inbound_nodes`` (each with ``parent_nodes``, their ``operation``, and ``output_tensors``) and a
model's ``_outputs_struct`` (whether its outputs are a dict).  They have been stable through Keras
3; the range the project allows (``keras>=3.9,<4`` in pyproject.toml, :data:`KERAS_RANGE`) is the
range ``tests/modeling/test_surgery.py`` runs this module on: CI runs it on the newest Keras and
on 3.9.0, the oldest allowed (3.8 and earlier need torchvision for ``Resizing`` under the torch
backend).  Should a Keras release change them, that test fails and this file is the only one to
mend.

Backend-neutral Keras; no Qt.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import keras

from fashion_review.errors import ModelError
from fashion_review.modeling.factory import backbone_of

#: The Keras versions the surgery is tested on; keep equal to the ``keras`` requirement in pyproject.toml.
KERAS_RANGE = ">=3.9,<4"
#: Layers that turn the backbone's feature map into a vector without weights.
POOLINGS = ("Flatten", "GlobalAveragePooling2D", "GlobalMaxPooling2D")


# --------------------------------------------------------------------------------------------
# The private graph attributes (the only three places)


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


def _has_dict_outputs(model: keras.Model, n_outputs: int) -> bool:
    struct = getattr(model, "_outputs_struct", None)
    return isinstance(struct, dict) if struct is not None else n_outputs > 1


# --------------------------------------------------------------------------------------------
# Splitting a model


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

    @property
    def feature_shape(self) -> tuple[int, ...]:
        """One product's features (what the feature cache stores per row)."""
        return tuple(int(d) for d in self.feature_tensor.shape[1:])

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
    pooled = all(type(f).__name__ in POOLINGS and not f.weights for f in firsts) and \
        len({(type(f).__name__, json.dumps(_pool_config(f), sort_keys=True)) for f in firsts}) == 1
    return ModelParts(model, backbone, chains, pooled, _has_dict_outputs(model, len(chains)))


def _pool_config(layer: keras.layers.Layer) -> dict:
    cfg = dict(layer.get_config())
    cfg.pop("name", None)
    cfg.pop("trainable", None)
    return cfg


def _clone(layer: keras.layers.Layer, **changes: Any) -> keras.layers.Layer:
    cfg = layer.get_config()
    cfg.update(changes)
    return type(layer).from_config(cfg)


# --------------------------------------------------------------------------------------------
# New heads on the old backbone


@dataclass
class NewHeads:
    """Fresh head layers (warm-started from the old ones) in two graphs sharing the same layers."""

    head_model: keras.Model  # features -> {scheme: probabilities}: what is trained
    full_model: keras.Model  # image -> outputs, old backbone + new heads: what is saved
    classes: dict[str, list[str]]
    chains: dict[str, list[keras.layers.Layer]]  # scheme -> the new head layers (pooling included)


def build_new_heads(parts: ModelParts, old_classes: Mapping[str, Sequence[str]],
                    new_classes: Mapping[str, Sequence[str]], warm_start: bool = True) -> NewHeads:
    """New heads for ``new_classes`` on the old backbone.

    Each head layer is a copy of the old one (same name, type and configuration), so the new
    model has the layout of the old: prediction, the embedding layer and evaluation find what they
    expect.  With ``warm_start`` the copies start from the old weights; the softmax layer keeps the
    old row of each class that is still there (new classes start from Keras' initialiser).
    """
    feat_in = keras.Input(shape=parts.feature_shape, name="features")
    backbone_out = _call_output(parts.backbone)
    head_outputs, full_outputs = {}, {}
    chains: dict[str, list[keras.layers.Layer]] = {}
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
        chains[scheme] = new_chain
        if warm_start:
            for old, new in zip(chain[:-1], new_chain[:-1]):
                if [w.shape for w in old.weights] == [w.shape for w in new.weights]:
                    new.set_weights(old.get_weights())
            _warm_softmax(chain[-1], new_chain[-1], list(old_classes[scheme]), classes)
    head_model = keras.Model(feat_in, head_outputs, name="heads")
    out = full_outputs if parts.dict_output else next(iter(full_outputs.values()))
    full_model = keras.Model(parts.model.inputs, out, name=parts.model.name)
    return NewHeads(head_model, full_model, {s: list(new_classes[s]) for s in parts.chains}, chains)


def compose(base_model: keras.Model, base_classes: Mapping[str, Sequence[str]],
            classes: Mapping[str, Sequence[str]], saved_heads: keras.Model) -> keras.Model:
    """``base_model``'s backbone with the heads of ``saved_heads`` (a :attr:`NewHeads.head_model`
    saved by "retrain heads"): the model of a heads-only run, as if it had been saved whole."""
    parts = split_model(base_model, list(classes))
    nh = build_new_heads(parts, base_classes, classes, warm_start=False)
    by_name = {layer.name: layer for layer in nh.head_model.layers}
    for layer in saved_heads.layers:
        if not layer.weights:
            continue
        target = by_name.get(layer.name)
        if target is None:
            raise ModelError(f"the saved heads have a layer {layer.name!r} that the model's heads do not")
        target.set_weights(layer.get_weights())
    return nh.full_model


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


def old_head_model(parts: ModelParts) -> keras.Model:
    """The old model's heads as a features -> outputs model (shares its layers; for 'before' metrics)."""
    inp = keras.Input(shape=parts.feature_shape, name="features")
    outs = {}
    for s, chain in parts.trainable_chains.items():
        x = inp
        for layer in chain:
            x = layer(x)
        outs[s] = x
    return keras.Model(inp, outs, name="old_heads")


def inference_model(chains: Mapping[str, list[keras.layers.Layer]], feat_shape: tuple[int, ...]) -> keras.Model:
    """Features -> {scheme: probabilities, "emb__<scheme>": the embedding}, one pass, sharing the layers.

    ``chains``: per scheme the head layers the features go through (without a pooling layer the
    features already passed).  The embedding is the output of the last hidden Dense layer (the
    penultimate layer, as ``modeling.embedding_model`` takes it).
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
