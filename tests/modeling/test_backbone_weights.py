"""Backbone weights: a local file (made here), ImageNet failing cleanly offline, bad files refused."""

from __future__ import annotations

import numpy as np
import pytest

from fashion_review.errors import ModelError

import keras  # noqa: E402

from fashion_review.modeling import backbone_of, make_model  # noqa: E402
from fashion_review.modeling.weights import IMAGENET_NOTOP_FILE, build_backbone, weights_spec  # noqa: E402

SMALL = 71


@pytest.fixture(scope="module")
def perturbed_backbone():
    """A from-scratch no-top Xception whose weights differ from any fresh initialisation."""
    backbone = keras.applications.Xception(include_top=False, weights=None, input_shape=(SMALL, SMALL, 3))
    rng = np.random.default_rng(11)
    backbone.set_weights([w + rng.normal(0.0, 0.1, size=w.shape).astype(w.dtype) for w in backbone.get_weights()])
    return backbone


def _assert_same_weights(model, reference):  # noqa: ANN001, ANN202
    got, expected = backbone_of(model).get_weights(), reference.get_weights()
    assert len(got) == len(expected)
    for a, b in zip(got, expected):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("filename", ["backbone.weights.h5", "backbone.h5"])
def test_local_weights_file_loads_into_the_backbone(tmp_path, perturbed_backbone, paper_recipe, filename):
    """``.weights.h5`` (``save_weights``) and Keras' legacy ``.h5`` (the format of the published
    ImageNet file); made at 71 x 71, loaded into a 75 x 75 model: no-top weights fit any size."""
    path = tmp_path / filename
    if filename.endswith(".weights.h5"):
        perturbed_backbone.save_weights(path)
    else:
        perturbed_backbone.save(path)  # legacy HDF5: what Keras' published weight files are
    model = make_model(paper_recipe, 3, scheme="articleType", weights=str(path), image_size=75)
    _assert_same_weights(model, perturbed_backbone)


def test_imagenet_download_failure_is_a_clear_error(monkeypatch, paper_recipe):
    """The real path calls Keras' download; here it is made to fail, so no test touches the network."""
    calls = []

    def offline(fname, origin=None, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        calls.append((fname, origin))
        raise Exception(f"URL fetch failure on {origin}: None -- [Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr("keras.src.utils.file_utils.get_file", offline)
    with pytest.raises(ModelError) as info:
        make_model(paper_recipe, 3, scheme="articleType", weights="imagenet", image_size=SMALL)
    message = str(info.value)
    assert calls and calls[0][0] == IMAGENET_NOTOP_FILE
    assert "ImageNet weights for Xception could not be downloaded" in message
    assert "Temporary failure in name resolution" in message  # the underlying reason
    assert "--weights PATH" in message and IMAGENET_NOTOP_FILE in message
    assert "--weights none" in message


def test_bad_weights_files_are_refused_by_name(tmp_path, perturbed_backbone):
    missing = tmp_path / "nowhere.weights.h5"
    with pytest.raises(ModelError, match=rf"weights file {missing} not found"):
        build_backbone("xception", SMALL, missing)

    corrupt = tmp_path / "corrupt.h5"
    corrupt.write_bytes(b"\x89HDF\r\n" + bytes(200))
    with pytest.raises(ModelError, match=rf"weights file {corrupt} cannot be loaded"):
        build_backbone("xception", SMALL, corrupt)

    truncated = tmp_path / "truncated.weights.h5"
    perturbed_backbone.save_weights(truncated)
    data = truncated.read_bytes()
    truncated.write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelError, match=rf"weights file {truncated} cannot be loaded"):
        build_backbone("xception", SMALL, truncated)

    other = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])
    mismatched = tmp_path / "dense.weights.h5"
    other.save_weights(mismatched)
    with pytest.raises(ModelError, match=rf"weights file {mismatched} cannot be loaded.*no-top"):
        build_backbone("xception", SMALL, mismatched)

    text = tmp_path / "weights.txt"
    text.write_text("not weights")
    with pytest.raises(ModelError, match="unsupported file type"):
        build_backbone("xception", SMALL, text)


def test_weights_spec():
    assert weights_spec(None) is None and weights_spec("none") is None and weights_spec("None") is None
    assert weights_spec("imagenet") == "imagenet" and weights_spec("ImageNet") == "imagenet"
    assert str(weights_spec("w/x.h5")) == "w/x.h5"
