"""xception-lite: the recipe, the network, its weights, and the training settings it brought in
(label smoothing with masked labels, the cosine schedule, test-time flips, the kept validation share)."""

from __future__ import annotations

import numpy as np
import pytest

from fashion_review.errors import ModelError
from fashion_review.modeling.recipes import Network, Recipe, default_recipe, load_recipe

SHARED_COPY_CLASSES = {"gender_master": 11, "subCategory": 14, "articleType": 22}


@pytest.fixture(scope="module")
def lite():
    return load_recipe("xception-lite")


def test_recipe_is_a_native_size_multihead_lite_network(lite):
    assert (lite.backbone, lite.kind, lite.image_size) == ("xception-lite", "multihead", None)
    assert lite.input_hw == (80, 60) and lite.size_label == "80 x 60 (native)"
    assert lite.schemes == ("gender_master", "subCategory", "articleType")
    assert isinstance(lite.network, Network) and lite.network.middle_blocks >= 1
    assert Recipe.from_dict(lite.to_dict()) == lite  # "native" round-trips through TOML/JSON data


def test_built_model_has_no_resizing_and_the_documented_size(lite):
    from fashion_review.modeling import make_model, parameter_counts
    from fashion_review.modeling.factory import backbone_of

    model = make_model(lite, SHARED_COPY_CLASSES)
    names = [layer.name for layer in model.layers]
    assert "resize" not in names  # fed at the images' native 80 x 60
    assert backbone_of(model).name == "xception_lite"
    assert tuple(backbone_of(model).input_shape[1:3]) == (80, 60)
    assert set(model.output_names) == set(SHARED_COPY_CLASSES)
    counts = parameter_counts(model)
    # The model card (models/README.md) states these figures; a change of the recipe must update both.
    from fashion_review.paths import RECIPES_DIR

    card = (RECIPES_DIR / "README.md").read_text(encoding="utf-8")
    assert f"{counts['total_params']:,} total" in card
    assert f"{counts['non_trainable_params']:,}" in card
    import keras

    bn = [layer for layer in backbone_of(model).layers if isinstance(layer, keras.layers.BatchNormalization)]
    convs = [layer for layer in backbone_of(model).layers
             if isinstance(layer, (keras.layers.Conv2D, keras.layers.SeparableConv2D))]
    assert len(bn) == len(convs)  # batch normalisation after every convolution
    # running statistics that settle within the ~10 steps per epoch of a 1,000-product catalog
    # (Keras' 0.99 left a model trained on the sample predicting at chance in inference mode)
    assert {layer.momentum for layer in bn} == {0.9}
    assert all(not getattr(c, "use_bias", True) for c in convs)


def test_network_table_sets_width_and_depth(lite):
    from fashion_review.modeling import make_model, parameter_counts

    small = lite.replace(network=Network(stem=(8, 8), entry=(16, 32), middle_blocks=1, exit=(32, 48)))
    deeper = small.replace(network=Network(stem=(8, 8), entry=(16, 32), middle_blocks=3, exit=(32, 48)))
    n_small = parameter_counts(make_model(small, SHARED_COPY_CLASSES))["total_params"]
    n_deeper = parameter_counts(make_model(deeper, SHARED_COPY_CLASSES))["total_params"]
    n_lite = parameter_counts(make_model(lite, SHARED_COPY_CLASSES))["total_params"]
    assert n_small < n_deeper < n_lite


def test_squeeze_excite_gates_every_residual_branch(lite):
    import keras

    from fashion_review.modeling.lite import build_lite_backbone

    plain_net = Network(stem=(8, 8), entry=(16, 32), middle_blocks=2, exit=(32, 48))
    se_net = Network(stem=(8, 8), entry=(16, 32), middle_blocks=2, exit=(32, 48), squeeze_excite=4)
    assert "squeeze_excite" not in plain_net.to_dict()  # records written before it read the same
    se_recipe = lite.replace(network=se_net)
    assert Recipe.from_dict(se_recipe.to_dict()) == se_recipe
    plain, gated = build_lite_backbone(plain_net, (80, 60)), build_lite_backbone(se_net, (80, 60))
    scales = [layer for layer in gated.layers if isinstance(layer, keras.layers.Multiply)]
    assert len(scales) == 2 + 2 + 1  # entry blocks, middle blocks, the exit block
    assert not any(isinstance(layer, keras.layers.Multiply) for layer in plain.layers)
    assert gated.count_params() > plain.count_params()
    # A closed gate leaves only the residual: middle block 1's output is then its input.
    gate = gated.get_layer("middle1_se_expand")
    kernel, _bias = gate.get_weights()
    gate.set_weights([np.zeros_like(kernel), np.full(kernel.shape[1], -50.0, dtype=np.float32)])
    probe = keras.Model(gated.input, [gated.get_layer("entry2_add").output, gated.get_layer("middle1_add").output])
    before, after = probe.predict(np.random.default_rng(0).uniform(-1, 1, (2, 80, 60, 3)).astype("float32"),
                                  verbose=0)
    np.testing.assert_allclose(after, before, atol=1e-5)
    with pytest.raises(ModelError, match=r"network.squeeze_excite' must be an integer >= 0"):
        Recipe.from_dict({**lite.to_dict(), "network": {**lite.network.to_dict(), "squeeze_excite": -2}})


def test_recipe_mistakes_are_named(lite):
    d = lite.to_dict()
    with pytest.raises(ModelError, match=r"network.stem' must list 2 widths"):
        Recipe.from_dict({**d, "network": {**d["network"], "stem": [16]}})
    with pytest.raises(ModelError, match=r"network.middle_blocks' must be an integer >= 0"):
        Recipe.from_dict({**d, "network": {**d["network"], "middle_blocks": -1}})
    with pytest.raises(ModelError, match=r"'network.wide' is not a recipe key"):
        Recipe.from_dict({**d, "network": {**d["network"], "wide": 2}})
    paper = load_recipe("xception-paper").to_dict()
    with pytest.raises(ModelError, match=r"'network' is only for backbone 'xception-lite'"):
        Recipe.from_dict({**paper, "network": d["network"]})
    with pytest.raises(ModelError, match=r"'image_size' must be an integer >= 71"):
        Recipe.from_dict({**paper, "image_size": "native"})
    with pytest.raises(ModelError, match=r"'warmup_epochs' must be less than epochs"):
        Recipe.from_dict({**d, "warmup_epochs": d["epochs"]})
    with pytest.raises(ModelError, match=r"'weight_decay' needs optimizer = 'adamw'"):
        Recipe.from_dict({**d, "weight_decay": 0.01})
    with pytest.raises(ModelError, match=r"'validation' must be a number in \(0.0, 1.0\]"):
        Recipe.from_dict({**d, "validation": 0})


def test_imagenet_weights_are_refused_and_a_lite_weights_file_loads(lite, tmp_path):
    from fashion_review.modeling import make_model
    from fashion_review.modeling.factory import backbone_of

    with pytest.raises(ModelError, match="no ImageNet weights exist for the xception-lite backbone"):
        make_model(lite, SHARED_COPY_CLASSES, weights="imagenet")
    first = make_model(lite, SHARED_COPY_CLASSES)
    path = tmp_path / "lite.weights.h5"
    backbone_of(first).save_weights(path)
    second = make_model(lite, SHARED_COPY_CLASSES, weights=path)
    for a, b in zip(backbone_of(first).get_weights(), backbone_of(second).get_weights()):
        np.testing.assert_array_equal(a, b)
    other = lite.replace(network=Network(stem=(8, 8), entry=(16, 32), middle_blocks=1, exit=(32, 48)))
    with pytest.raises(ModelError, match="cannot be loaded into the xception-lite backbone"):
        make_model(other, SHARED_COPY_CLASSES, weights=path)


def test_default_recipe_follows_the_device():
    assert default_recipe("CPU")[0] == "xception-lite"
    assert "no GPU" in default_recipe("CPU")[1]
    assert default_recipe("GPU: NVIDIA H100 80GB HBM3")[0] == "xception-multihead"


# ------------------------------------------------------------------------------ training settings

def test_smoothed_sparse_loss_matches_keras_categorical_and_ignores_masked_rows():
    import keras

    from fashion_review.modeling.losses import SmoothedSparseCategoricalCrossentropy

    rng = np.random.default_rng(0)
    p = rng.random((6, 4)).astype("float32")
    p /= p.sum(1, keepdims=True)
    y = np.array([0, 3, -1, 2, -1, 1])
    ours = float(SmoothedSparseCategoricalCrossentropy(0.1)(y, p))
    valid = y >= 0
    ref = float(keras.losses.CategoricalCrossentropy(label_smoothing=0.1)(np.eye(4)[y[valid]], p[valid]))
    assert ours == pytest.approx(ref, rel=1e-5)
    assert float(SmoothedSparseCategoricalCrossentropy(0.1)(np.full(6, -1), p)) == 0.0
    plain = float(SmoothedSparseCategoricalCrossentropy(0.0)(y, p))
    assert plain == pytest.approx(float(keras.losses.SparseCategoricalCrossentropy(ignore_class=-1)(y, p)), rel=1e-5)


def test_cosine_schedule_warms_up_then_decays_to_zero(lite):
    from fashion_review.modeling.losses import learning_rate_schedule

    r = lite.replace(epochs=4, learning_rate=0.01, schedule="cosine", warmup_epochs=1.0)
    sched = learning_rate_schedule(r, steps_per_epoch=10)
    lr = [float(sched(step)) for step in (0, 5, 10, 25, 40)]
    assert lr[0] == pytest.approx(0.0, abs=1e-9)
    assert lr[1] == pytest.approx(0.005, rel=1e-4)  # halfway up the warm-up
    assert lr[2] == pytest.approx(0.01, rel=1e-4)  # peak after one epoch
    assert 0.0 < lr[3] < 0.01 and lr[4] == pytest.approx(0.0, abs=1e-7)
    assert learning_rate_schedule(r) == 0.01  # no steps known: a constant rate
    assert learning_rate_schedule(r.replace(schedule="constant"), steps_per_epoch=10) == 0.01


def test_keep_validation_moves_only_validation_products_and_is_stable():
    from fashion_review.training.pipeline import keep_validation

    ids = np.arange(1, 4001)
    parts = np.array(["train", "val", "test", "val"] * 1000, dtype=object)
    out = keep_validation(ids, parts, 0.25)
    assert (out[parts == "test"] == "test").all() and (out[parts == "train"] == "train").all()
    kept = (out == "val").sum() / (parts == "val").sum()
    assert 0.2 < kept < 0.3
    np.testing.assert_array_equal(out, keep_validation(ids, parts, 0.25))
    assert set(np.flatnonzero(keep_validation(ids, parts, 0.5) == "val")) >= set(np.flatnonzero(out == "val"))


def test_test_time_flip_averages_the_image_and_its_mirror(lite):
    import keras

    from fashion_review.modeling import make_model
    from fashion_review.training.predict import infer

    keras.utils.set_random_seed(1)
    small = lite.replace(network=Network(stem=(8, 8), entry=(16, 32), middle_blocks=1, exit=(32, 48)))
    model = make_model(small, SHARED_COPY_CLASSES)
    images = np.random.default_rng(2).integers(0, 256, (5, 80, 60, 3), dtype=np.uint8)
    rows = np.arange(5)
    plain, emb = infer(model, ["articleType"], images, rows, embeddings=True)
    mirrored, emb_m = infer(model, ["articleType"], images[:, :, ::-1].copy(), rows, embeddings=True)
    both, emb_b = infer(model, ["articleType"], images, rows, embeddings=True, flip=True)
    np.testing.assert_allclose(both["articleType"], (plain["articleType"] + mirrored["articleType"]) / 2, atol=1e-5)
    np.testing.assert_allclose(emb_b["articleType"].astype(np.float32),
                               (emb["articleType"].astype(np.float32) + emb_m["articleType"].astype(np.float32)) / 2,
                               atol=2e-2)
    assert not np.allclose(plain["articleType"], mirrored["articleType"], atol=1e-6)  # the flip matters
