"""Which device Keras computes on, and the precision policy that goes with it.

Backend-neutral: TensorFlow, PyTorch and JAX each answer "is there a GPU" their own way, and each
is imported lazily, only when it is the active Keras backend.
"""

from __future__ import annotations

import json
import os
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fashion_review.modeling.recipes import Recipe

#: The policy set on a GPU when a recipe asks for ``mixed_precision = "auto"``.
MIXED_POLICY = "mixed_float16"


def backend_name() -> str:
    import keras

    return keras.backend.backend()


def gpu_names() -> list[str]:
    """Names of the GPUs the active Keras backend can use (empty on a CPU-only machine)."""
    backend = backend_name()
    if backend == "tensorflow":
        import tensorflow as tf

        names = []
        for dev in tf.config.list_physical_devices("GPU"):
            try:
                details = tf.config.experimental.get_device_details(dev)
            except Exception:  # noqa: BLE001 - details are cosmetic
                details = {}
            names.append(str(details.get("device_name") or dev.name))
        return names
    if backend == "torch":
        import torch

        if torch.cuda.is_available():
            return [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
        return []
    if backend == "jax":
        import jax

        return [str(getattr(d, "device_kind", d)) for d in jax.devices() if d.platform == "gpu"]
    return []


NVIDIA_PROC = Path("/proc/driver/nvidia/gpus")


def nvidia_gpu_names(proc: Path = NVIDIA_PROC) -> list[str]:
    """GPU models the NVIDIA driver lists (Linux), read from /proc: no ML library imported."""
    names = []
    try:
        entries = sorted(proc.iterdir())
    except OSError:
        return []
    for gpu in entries:
        try:
            text = (gpu / "information").read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        for line in text.splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "Model" and value.strip():
                names.append(value.strip())
    return names


def configured_backend() -> str:
    """The Keras backend that will be used ($KERAS_BACKEND, else ~/.keras/keras.json), without
    importing Keras."""
    env = os.environ.get("KERAS_BACKEND")
    if env:
        return env
    keras_home = Path(os.environ.get("KERAS_HOME") or Path.home() / ".keras")
    try:
        return str(json.loads((keras_home / "keras.json").read_text(encoding="utf-8")).get("backend", "tensorflow"))
    except (OSError, ValueError, AttributeError):
        return "tensorflow"


def _installed(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def backend_has_cuda_build(backend: str) -> bool:
    """Whether the installed build of ``backend`` can use an NVIDIA GPU (package metadata only)."""
    if backend == "tensorflow":
        if _installed("tensorflow") is None:
            return False  # tensorflow-cpu (our default install) never uses a GPU
        return any((d.metadata["Name"] or "").lower().startswith("nvidia-cudnn") for d in metadata.distributions())
    if backend == "torch":
        version = _installed("torch")
        return version is not None and "+cpu" not in version
    if backend == "jax":
        return any(_installed(n) for n in ("jax-cuda12-plugin", "jax-cuda13-plugin", "jax-cuda11-plugin"))
    return False


def guess_device(proc: Path = NVIDIA_PROC) -> str:
    """The status bar's first answer, e.g. ``"GPU: NVIDIA H100 80GB HBM3"`` or ``"CPU"``, from the
    driver and package metadata alone, so the window can name the device before Keras loads;
    :func:`describe_device` confirms it when a model first runs."""
    names = nvidia_gpu_names(proc)
    if not names or not backend_has_cuda_build(configured_backend()):
        return "CPU"
    return _describe(names)


def gpu_available() -> bool:
    return bool(gpu_names())


def describe_device() -> str:
    """One line for the status bar, e.g. ``"GPU: NVIDIA H100 80GB HBM3"`` or ``"CPU"``."""
    return _describe(gpu_names())


def _describe(names: list[str]) -> str:
    if not names:
        return "CPU"
    if len(set(names)) == 1:
        return f"GPU: {names[0]}" if len(names) == 1 else f"GPU: {len(names)} x {names[0]}"
    return "GPU: " + ", ".join(names)


def configure_precision(recipe: Recipe | str | None = "auto") -> str:
    """Set Keras' global dtype policy for the models built next, and return its name.

    ``mixed_float16`` when the recipe's ``mixed_precision`` is ``"auto"`` and a GPU is visible,
    else ``float32``.  Call it before :func:`~fashion_review.modeling.factory.make_model`: layers
    take the policy at construction.  The softmax outputs stay float32 either way (the factory
    builds them with ``dtype="float32"``), and ``Model.compile`` scales the loss under
    ``mixed_float16`` by itself.
    """
    import keras

    mode = recipe if isinstance(recipe, str) or recipe is None else recipe.mixed_precision
    policy = MIXED_POLICY if mode == "auto" and gpu_available() else "float32"
    keras.mixed_precision.set_global_policy(policy)
    return policy
