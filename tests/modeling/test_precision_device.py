"""Mixed precision only on a GPU, with float32 softmax outputs; the device line for the status bar."""

from __future__ import annotations

import pytest

keras = pytest.importorskip("keras")

from fashion_review.modeling import device  # noqa: E402
from fashion_review.modeling import configure_precision, describe_device, make_model  # noqa: E402


@pytest.fixture
def restore_policy():
    yield
    keras.mixed_precision.set_global_policy("float32")


def test_cpu_here_means_float32(paper_recipe, restore_policy, monkeypatch):
    monkeypatch.setattr(device, "gpu_names", lambda: [])
    assert configure_precision(paper_recipe) == "float32"
    assert keras.mixed_precision.global_policy().name == "float32"
    assert describe_device() == "CPU"


def test_gpu_means_mixed_float16_with_float32_outputs(multihead_recipe, restore_policy, monkeypatch):
    monkeypatch.setattr(device, "gpu_names", lambda: ["NVIDIA H100 80GB HBM3"])
    assert configure_precision(multihead_recipe) == "mixed_float16"
    model = make_model(multihead_recipe, {"gender_master": 2, "subCategory": 3, "articleType": 4}, image_size=71)
    assert model.get_layer("articleType_embedding").compute_dtype == "float16"
    for scheme in ("gender_master", "subCategory", "articleType"):
        assert model.get_layer(scheme).compute_dtype == "float32"
        assert model.get_layer(scheme).output.dtype == "float32"
    assert configure_precision(multihead_recipe.replace(mixed_precision="off")) == "float32"


def test_describe_device(monkeypatch):
    monkeypatch.setattr(device, "gpu_names", lambda: ["NVIDIA H100 80GB HBM3"])
    assert describe_device() == "GPU: NVIDIA H100 80GB HBM3"
    monkeypatch.setattr(device, "gpu_names", lambda: ["NVIDIA H200"] * 2)
    assert describe_device() == "GPU: 2 x NVIDIA H200"


def test_the_real_check_runs_on_this_backend():
    names = device.gpu_names()  # the backend's own query, imported lazily
    assert isinstance(names, list)
    assert describe_device() == ("CPU" if not names else describe_device())
