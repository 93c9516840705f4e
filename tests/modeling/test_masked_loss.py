"""The multihead model's masked loss: label -1 adds no loss, no accuracy and no gradient to its head."""

from __future__ import annotations

import numpy as np
import pytest

import keras  # noqa: E402

from fashion_review.modeling import (  # noqa: E402
    IGNORE_LABEL,
    MaskedSparseCategoricalAccuracy,
    backbone_of,
    compile_model,
    make_loss,
    make_model,
)

SMALL = 71


def _probs(rng, n, k):  # noqa: ANN001, ANN202
    p = rng.random((n, k)).astype("float32") + 0.05
    return p / p.sum(axis=1, keepdims=True)


def _manual(y, p):  # noqa: ANN001, ANN202
    """Mean cross-entropy over the labelled entries (0 when there are none)."""
    keep = y != IGNORE_LABEL
    if not keep.any():
        return 0.0
    return float(np.mean(-np.log(p[keep, y[keep]])))


def test_sparse_loss_ignores_minus_one(multihead_recipe):
    rng = np.random.default_rng(0)
    loss = make_loss(multihead_recipe)
    p = _probs(rng, 6, 4)
    y = np.array([0, IGNORE_LABEL, 3, 2, IGNORE_LABEL, 1])
    masked = float(keras.ops.convert_to_numpy(loss(y, p)))
    keep = y != IGNORE_LABEL
    without = float(keras.ops.convert_to_numpy(loss(y[keep], p[keep])))  # the same batch, masked rows dropped
    assert masked == pytest.approx(_manual(y, p), rel=1e-5)
    assert masked == pytest.approx(without, rel=1e-5)
    # Changing what the model predicts for a masked row changes nothing.
    p2 = p.copy()
    p2[1] = _probs(rng, 1, 4)[0]
    assert float(keras.ops.convert_to_numpy(loss(y, p2))) == pytest.approx(masked, rel=1e-6)
    # A batch with no label for this head: zero loss, not NaN.
    none = np.full(6, IGNORE_LABEL)
    assert float(keras.ops.convert_to_numpy(loss(none, p))) == 0.0


def test_masked_accuracy():
    metric = MaskedSparseCategoricalAccuracy()
    p = np.eye(3, dtype="float32")[[0, 1, 2, 0]]  # predicts 0, 1, 2, 0
    metric.update_state(np.array([0, 2, IGNORE_LABEL, IGNORE_LABEL]), p)
    assert float(metric.result()) == pytest.approx(0.5)  # 1 of the 2 labelled entries
    metric.update_state(np.array([IGNORE_LABEL] * 4), p)
    assert float(metric.result()) == pytest.approx(0.5)  # an all-masked batch changes nothing
    metric.update_state(np.array([[0], [1], [2], [1]]), p, sample_weight=np.array([1, 1, 0, 1]))
    assert float(metric.result()) == pytest.approx(3 / 5)
    metric.reset_state()
    assert float(metric.result()) == 0.0


def test_compiled_multihead_masks_per_head(small_multihead_model, multihead_recipe):
    """evaluate(): each head's loss is the mean over its labelled products only; total = their sum."""
    model = small_multihead_model
    compile_model(model, multihead_recipe)
    rng = np.random.default_rng(3)
    x = rng.integers(0, 256, size=(4, 80, 60, 3), dtype=np.uint8)
    y = {
        "gender_master": np.array([1, IGNORE_LABEL, 3, IGNORE_LABEL]),
        "subCategory": np.full(4, IGNORE_LABEL),
        "articleType": np.array([0, 1, 2, 3]),
    }
    probs = {k: keras.ops.convert_to_numpy(v) for k, v in model(x, training=False).items()}
    logs = model.evaluate(x, y, batch_size=4, verbose=0, return_dict=True)
    expected = {scheme: _manual(y[scheme], probs[scheme]) for scheme in y}
    for scheme, value in expected.items():
        assert logs[f"{scheme}_loss"] == pytest.approx(value, rel=1e-4, abs=1e-6)
        assert 0.0 <= logs[f"{scheme}_accuracy"] <= 1.0
    assert logs["subCategory_loss"] == 0.0 and logs["subCategory_accuracy"] == 0.0
    assert logs["loss"] == pytest.approx(sum(expected.values()), rel=1e-4)


def test_loss_weights_scale_each_heads_share_of_the_total(small_multihead_model, multihead_recipe):
    """A recipe's ``[loss_weights]`` reach compile: total = sum of weight x head loss (1 for a head not named)."""
    model = small_multihead_model
    compile_model(model, multihead_recipe.replace(loss_weights={"subCategory": 2.5}))
    rng = np.random.default_rng(4)
    x = rng.integers(0, 256, size=(4, 80, 60, 3), dtype=np.uint8)
    y = {"gender_master": np.array([1, 0, 3, 2]), "subCategory": np.array([0, 1, 2, IGNORE_LABEL]),
         "articleType": np.array([0, 1, 2, 3])}
    logs = model.evaluate(x, y, batch_size=4, verbose=0, return_dict=True)
    assert logs["subCategory_loss"] > 0
    weighted = logs["gender_master_loss"] + 2.5 * logs["subCategory_loss"] + logs["articleType_loss"]
    assert logs["loss"] == pytest.approx(weighted, rel=1e-4)
    assert logs["loss"] > sum(logs[f"{s}_loss"] for s in y) * (1 + 1e-3)


def test_masked_head_gets_no_update(multihead_recipe):
    """One training step where no product has a subCategory label leaves that head's weights as
    they were (zero gradient, and Adam's step is then zero), while the other heads learn."""
    model = make_model(multihead_recipe, {"gender_master": 2, "subCategory": 3, "articleType": 2},
                       image_size=SMALL)
    # Eager: tracing Xception's training step costs TensorFlow ~20 s on 2 CPU cores; evaluate()
    # above checks the masking in graph mode.  A frozen backbone keeps the step cheap; the heads
    # are what this test is about.
    backbone_of(model).trainable = False
    compile_model(model, multihead_recipe, run_eagerly=True)
    heads = {scheme: [model.get_layer(f"{scheme}_embedding"), model.get_layer(scheme)]
             for scheme in ("gender_master", "subCategory", "articleType")}
    before = {s: [np.array(w) for layer in ls for w in layer.get_weights()] for s, ls in heads.items()}
    rng = np.random.default_rng(5)
    x = rng.integers(0, 256, size=(4, 80, 60, 3), dtype=np.uint8)
    y = {"gender_master": np.array([0, 1, 1, 0]), "subCategory": np.full(4, IGNORE_LABEL),
         "articleType": np.array([1, IGNORE_LABEL, 0, 1])}
    logs = model.train_on_batch(x, y, return_dict=True)
    assert np.isfinite(logs["loss"])
    after = {s: [np.array(w) for layer in ls for w in layer.get_weights()] for s, ls in heads.items()}
    for a, b in zip(before["subCategory"], after["subCategory"]):
        np.testing.assert_array_equal(a, b)
    for scheme in ("gender_master", "articleType"):
        assert any(not np.array_equal(a, b) for a, b in zip(before[scheme], after[scheme])), scheme
