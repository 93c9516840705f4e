"""Model surgery (modeling/surgery.py) on the installed Keras: the only code that reads Keras' private
graph attributes.  CI runs this file on the newest Keras and again on the oldest that
pyproject.toml allows (.ci/run), so the allowed range is the tested range."""

from __future__ import annotations

import tomllib
from pathlib import Path

import keras
import numpy as np
import pytest
from packaging.requirements import Requirement
from packaging.version import Version

from fashion_review.modeling import load_recipe, make_model, surgery

ROOT = Path(__file__).resolve().parents[2]
SIZE = 71


def _keras_requirement() -> Requirement:
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["dependencies"]
    (req,) = [Requirement(d) for d in deps if Requirement(d).name == "keras"]
    return req


def test_the_installed_keras_is_one_the_surgery_is_tested_on():
    req = _keras_requirement()
    assert str(req.specifier) == str(Requirement(f"keras{surgery.KERAS_RANGE}").specifier)
    assert Version(keras.__version__) in req.specifier, (keras.__version__, str(req.specifier))


def _models():
    multi = {"gender_master": 3, "subCategory": 4, "articleType": 5}
    yield "xception-multihead", make_model(load_recipe("xception-multihead"), multi, image_size=SIZE), multi
    yield "xception-paper", make_model(load_recipe("xception-paper"), 4, scheme="articleType", image_size=SIZE), \
        {"articleType": 4}
    yield "xception-lite", make_model(load_recipe("xception-lite"), multi), multi


@pytest.fixture(scope="module")
def models():
    keras.utils.set_random_seed(1)
    return list(_models())


def _outputs(model, x):
    y = model.predict(x, verbose=0)
    if not isinstance(y, dict):
        y = {model.output_names[0]: y}
    return {k: np.asarray(keras.ops.convert_to_numpy(v)) for k, v in y.items()}


def test_split_finds_each_recipes_backbone_and_heads(models):
    for name, model, n_classes in models:
        parts = surgery.split_model(model)
        assert set(parts.schemes) == set(n_classes), name
        assert parts.dict_output == (len(n_classes) > 1), name
        assert parts.pooled, name  # every shipped recipe starts its heads with a weightless pooling
        for s, chain in parts.chains.items():
            assert isinstance(chain[-1], keras.layers.Dense) and chain[-1].name == s
            assert parts.num_classes(s) == n_classes[s]
        assert all(len(shape) == 1 for shape in [parts.feature_shape]), name


def test_the_old_heads_on_the_features_give_the_models_own_outputs(models):
    x = np.random.default_rng(0).integers(0, 256, size=(3, 80, 60, 3)).astype(np.uint8)
    for name, model, _ in models:
        parts = surgery.split_model(model)
        feats = np.asarray(keras.ops.convert_to_numpy(parts.feature_model().predict(x, verbose=0)))
        assert feats.shape == (3, *parts.feature_shape), name
        via_heads = _outputs(surgery.old_head_model(parts), feats)
        direct = _outputs(model, x)
        for s in parts.schemes:
            np.testing.assert_allclose(via_heads[s], direct[s], rtol=1e-4, atol=1e-5, err_msg=f"{name} {s}")


def test_new_heads_keep_the_backbone_and_share_layers_between_the_two_graphs(models):
    x = np.random.default_rng(1).integers(0, 256, size=(2, 80, 60, 3)).astype(np.uint8)
    name, model, n_classes = models[0]
    parts = surgery.split_model(model)
    old = {s: [f"c{i}" for i in range(n)] for s, n in n_classes.items()}
    new = {**old, "articleType": ["c9", *old["articleType"][1:]]}  # one class replaced
    nh = surgery.build_new_heads(parts, old, new)
    assert nh.full_model.get_layer(parts.backbone.name) is parts.backbone
    feats = np.asarray(keras.ops.convert_to_numpy(parts.feature_model().predict(x, verbose=0)))
    full, heads = _outputs(nh.full_model, x), _outputs(nh.head_model, feats)
    inference = _outputs(surgery.inference_model({s: c[1:] for s, c in nh.chains.items()}, parts.feature_shape), feats)
    for s in parts.schemes:
        np.testing.assert_allclose(full[s], heads[s], rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(inference[s], heads[s], rtol=1e-4, atol=1e-5)
        assert f"emb__{s}" in inference
    # warm start: the kept classes' softmax columns are the old ones, the replaced class's is fresh
    ow = keras.ops.convert_to_numpy(parts.chains["articleType"][-1].kernel)
    nw = keras.ops.convert_to_numpy(nh.chains["articleType"][-1].kernel)
    np.testing.assert_array_equal(nw[:, 1:], ow[:, 1:])
    assert not np.array_equal(nw[:, 0], ow[:, 0])
