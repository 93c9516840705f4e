"""Mixed precision only on a GPU, with float32 softmax outputs; the device line for the status bar."""

from __future__ import annotations

import pytest

import keras  # noqa: E402

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


def _gpus_seen_by_the_backend() -> int:
    """The backend's own count of GPUs, asked directly (not through modeling.device)."""
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        return len(tf.config.list_physical_devices("GPU"))
    if backend == "torch":
        import torch

        return torch.cuda.device_count() if torch.cuda.is_available() else 0
    if backend == "jax":
        import jax

        return len([d for d in jax.devices() if d.platform == "gpu"])
    return 0


def test_the_real_check_runs_on_this_backend():
    names = device.gpu_names()  # the backend's own query, imported lazily
    assert isinstance(names, list) and all(isinstance(n, str) and n for n in names)
    assert len(names) == _gpus_seen_by_the_backend()
    line = describe_device()
    if names:
        assert line.startswith("GPU: ") and names[0] in line and (len(names) == 1 or str(len(names)) in line)
    else:
        assert line == "CPU"


# ---- the status bar's first answer, without importing an ML library ----------------------------

def _fake_driver(tmp_path, *models):
    for i, m in enumerate(models):
        d = tmp_path / f"0000:0{i}:00.0"
        d.mkdir(parents=True)
        (d / "information").write_text(f"Model: \t\t {m}\nIRQ:   \t\t 42\nBus Type: \t PCIe\n")
    return tmp_path


def test_guess_device_reads_the_driver_and_the_installed_build(tmp_path, monkeypatch):
    from fashion_review.modeling import device

    proc = _fake_driver(tmp_path / "gpus", "NVIDIA H100 80GB HBM3", "NVIDIA H100 80GB HBM3")
    assert device.nvidia_gpu_names(proc) == ["NVIDIA H100 80GB HBM3"] * 2
    monkeypatch.setattr(device, "backend_has_cuda_build", lambda backend: True)
    assert device.guess_device(proc) == "GPU: 2 x NVIDIA H100 80GB HBM3"
    monkeypatch.setattr(device, "backend_has_cuda_build", lambda backend: False)
    assert device.guess_device(proc) == "CPU"  # a GPU that the installed build cannot use
    assert device.guess_device(tmp_path / "no-driver") == "CPU"


def test_cuda_builds_are_told_from_package_metadata(monkeypatch):
    from fashion_review.modeling import device

    versions = {"tensorflow-cpu": "2.21.0", "torch": "2.13.0+cpu"}
    monkeypatch.setattr(device, "_installed", versions.get)
    assert not device.backend_has_cuda_build("tensorflow")  # only the CPU build is installed
    assert not device.backend_has_cuda_build("torch")
    versions["torch"] = "2.13.0"
    assert device.backend_has_cuda_build("torch")
    versions["jax-cuda12-plugin"] = "0.11.0"
    assert device.backend_has_cuda_build("jax")


def test_configured_backend_without_keras(tmp_path, monkeypatch):
    from fashion_review.modeling import device

    monkeypatch.setenv("KERAS_BACKEND", "jax")
    assert device.configured_backend() == "jax"
    monkeypatch.delenv("KERAS_BACKEND")
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    assert device.configured_backend() == "tensorflow"
    (tmp_path / "keras.json").write_text('{"backend": "torch"}')
    assert device.configured_backend() == "torch"


def test_guess_device_imports_no_ml_library():
    import subprocess
    import sys

    code = ("import sys\nfrom fashion_review.modeling.device import guess_device\nprint(guess_device())\n"
            "print(','.join(m for m in ('keras', 'tensorflow', 'torch', 'jax') if m in sys.modules))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.splitlines()
    assert out[0] == "CPU" or out[0].startswith("GPU: ")
    assert out[1] == ""
