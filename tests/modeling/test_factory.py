"""The model factory: the paper's parameter counts, shapes, preprocessing inside the model, embeddings."""

from __future__ import annotations

import numpy as np
import pytest

from fashion_review.errors import ModelError

SMALL = 71  # as in conftest.py
MULTIHEAD_CLASSES = {"gender_master": 12, "subCategory": 15, "articleType": 23}

import keras  # noqa: E402

from fashion_review.modeling import (  # noqa: E402
    backbone_of,
    embedding_model,
    make_model,
    output_schemes,
    parameter_counts,
)


def test_paper_model_has_the_papers_parameter_counts(paper_recipe):
    """The paper's Table 3, at 23 classes and 96 x 96, under whichever backend runs the tests."""
    model = make_model(paper_recipe, 23, scheme="articleType")
    assert model.count_params() == 40_810_047
    assert parameter_counts(model) == {
        "total_params": 40_810_047,
        "trainable_params": 40_755_519,
        "non_trainable_params": 54_528,
    }
    assert output_schemes(model) == ["articleType"]
    assert model.get_layer("embedding").output.shape == (None, 1024)
    assert backbone_of(model).name == "xception"
    assert tuple(model.input.shape) == (None, 80, 60, 3) and model.input.dtype == "uint8"


def test_no_lambda_layers(small_paper_model, small_multihead_model):
    for model in (small_paper_model, small_multihead_model):
        classes = {type(layer).__name__ for layer in model.layers}
        assert "Lambda" not in classes
        assert {"Rescaling", "Resizing"} <= classes


def test_forward_pass_gives_probabilities(small_paper_model, uint8_batch):
    probs = np.asarray(small_paper_model.predict(uint8_batch, verbose=0))
    assert probs.shape == (2, 5) and probs.dtype == np.float32
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-5)
    assert (probs >= 0).all()


def test_multihead_has_three_named_outputs(small_multihead_model, uint8_batch):
    model = small_multihead_model
    assert sorted(output_schemes(model)) == sorted(MULTIHEAD_CLASSES)
    probs = model.predict(uint8_batch, verbose=0)
    assert set(probs) == set(MULTIHEAD_CLASSES)
    for scheme, n in MULTIHEAD_CLASSES.items():
        p = np.asarray(probs[scheme])
        assert p.shape == (2, n)
        np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-5)
        assert model.get_layer(f"{scheme}_embedding").output.shape == (None, 1024)
    assert model.get_layer("augment").__class__.__name__ == "RandomFlip"
    # Global average pooling: the heads' size does not depend on the image size.
    assert parameter_counts(model)["total_params"] == 30_356_058


def test_preprocessing_is_xceptions_inside_the_model(small_paper_model, uint8_batch):
    """Scaling then resizing equals resizing then Xception's preprocess_input."""
    model = small_paper_model
    scaled = keras.Model(model.input, model.get_layer("scale").output).predict(uint8_batch, verbose=0)
    np.testing.assert_allclose(np.asarray(scaled), uint8_batch / 127.5 - 1.0, atol=1e-6)
    resized = keras.Model(model.input, model.get_layer("resize").output).predict(uint8_batch, verbose=0)
    reference = keras.applications.xception.preprocess_input(
        keras.ops.convert_to_numpy(keras.ops.image.resize(uint8_batch.astype("float32"), (SMALL, SMALL)))
    )
    assert np.asarray(resized).shape == (2, SMALL, SMALL, 3)
    np.testing.assert_allclose(np.asarray(resized), reference, atol=1e-4)


def test_image_size_override(paper_recipe, small_paper_model):
    assert backbone_of(small_paper_model).input.shape == (None, SMALL, SMALL, 3)
    assert paper_recipe.image_size == 96  # the recipe itself is unchanged
    with pytest.raises(ModelError, match=">= 71"):
        make_model(paper_recipe, 5, scheme="articleType", image_size=64)


def test_embedding_models(small_paper_model, small_multihead_model, uint8_batch):
    emb = embedding_model(small_paper_model)
    vectors = keras.ops.convert_to_numpy(emb(uint8_batch, training=False))
    assert vectors.shape == (2, 1024) and (vectors >= 0).all()  # ReLU
    assert embedding_model(small_paper_model, "articleType").output.shape == (None, 1024)

    head = embedding_model(small_multihead_model, "subCategory")
    assert head.output.shape == (None, 1024)
    with pytest.raises(ModelError, match="name a scheme"):
        embedding_model(small_multihead_model)
    with pytest.raises(ModelError, match="no embedding layer for scheme 'baseColour'"):
        embedding_model(small_multihead_model, "baseColour")


@pytest.mark.parametrize(
    ("recipe_name", "num_classes", "kwargs", "message"),
    [
        ("xception-paper", 23, {}, "name the scheme"),
        ("xception-paper", {"articleType": 23, "subCategory": 15}, {}, "one scheme's class count"),
        ("xception-paper", {"articleType": 23}, {"scheme": "subCategory"}, "does not match"),
        ("xception-paper", 1, {"scheme": "articleType"}, "at least 2 classes"),
        ("xception-paper", 5, {"scheme": "colour"}, "unknown scheme 'colour'"),
        ("xception-multihead", 23, {}, r"give num_classes as \{scheme: n\}"),
        ("xception-multihead", {"articleType": 23}, {}, "lacks"),
    ],
)
def test_class_count_errors(recipe_name, num_classes, kwargs, message):
    with pytest.raises(ModelError, match=message):
        make_model(recipe_name, num_classes, image_size=SMALL, **kwargs)


def test_model_and_metrics_deserialize_in_safe_mode(small_multihead_model, multihead_recipe):
    """Layers and our masked metric rebuild from their configs with safe_mode=True (no Lambda, no
    code in the config): what loading a saved .keras model does, without the 100 MB write."""
    from fashion_review.modeling import custom_objects, make_metrics

    config = keras.saving.serialize_keras_object(small_multihead_model)
    rebuilt = keras.saving.deserialize_keras_object(config, safe_mode=True)
    assert parameter_counts(rebuilt) == parameter_counts(small_multihead_model)
    assert sorted(output_schemes(rebuilt)) == sorted(MULTIHEAD_CLASSES)
    assert rebuilt.input.dtype == "uint8"
    (metric,) = make_metrics(multihead_recipe)
    again = keras.saving.deserialize_keras_object(
        keras.saving.serialize_keras_object(metric), safe_mode=True, custom_objects=custom_objects()
    )
    assert type(again) is type(metric) and again.ignore_class == -1
