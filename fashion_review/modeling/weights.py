"""The backbone and its starting weights: ImageNet (Keras' download), a local file, or none.

``weights`` is ``"none"`` (random initialisation: train from scratch), ``"imagenet"`` (Keras'
own download into its cache, ``~/.keras/models``; the path users with a network take), or the path
of a local Keras Xception *no-top* weights file: Keras' legacy ``.h5`` (e.g. the published
``xception_weights_tf_dim_ordering_tf_kernels_notop.h5``), a ``.weights.h5`` written by
``backbone.save_weights(...)``, or a whole no-top backbone saved as ``.keras``.  The no-top
weights are convolutional only, so one file fits every input size.
"""

from __future__ import annotations

import os
import sys
import warnings
from pathlib import Path

import keras

from fashion_review.errors import ModelError

#: The file name Keras downloads for ``Xception(include_top=False, weights="imagenet")``.
IMAGENET_NOTOP_FILE = "xception_weights_tf_dim_ordering_tf_kernels_notop.h5"
WEIGHTS_SUFFIXES = (".h5", ".hdf5", ".keras")

Weights = str | os.PathLike[str] | None


def weights_spec(weights: Weights) -> str | Path | None:
    """Normalise a ``weights`` argument: ``None`` (from scratch), ``"imagenet"`` or a Path."""
    if weights is None:
        return None
    if isinstance(weights, str) and weights.strip().lower() in ("none", ""):
        return None
    if isinstance(weights, str) and weights.strip().lower() == "imagenet":
        return "imagenet"
    return Path(weights).expanduser()


def build_backbone(backbone: str, image_size: int, weights: Weights = "none") -> keras.Model:
    """A no-top backbone for ``image_size`` x ``image_size`` x 3 inputs, with its starting weights."""
    if backbone != "xception":
        raise ModelError(f"unknown backbone {backbone!r} (known: xception)")
    shape = (int(image_size), int(image_size), 3)
    spec = weights_spec(weights)
    if spec is None:
        return keras.applications.Xception(include_top=False, weights=None, input_shape=shape)
    if spec == "imagenet":
        try:
            return keras.applications.Xception(include_top=False, weights="imagenet", input_shape=shape)
        except Exception as exc:  # noqa: BLE001 - get_file raises a bare Exception on URL errors
            raise ModelError(
                f"the ImageNet weights for Xception could not be downloaded ({_reason(exc)}); "
                f"without a network, use --weights PATH with a local Keras Xception no-top weights "
                f"file (e.g. {IMAGENET_NOTOP_FILE}), or --weights none to train from scratch"
            ) from exc
    path = Path(spec)
    if not path.is_file():
        raise ModelError(f"weights file {path} not found (expected a Keras Xception no-top weights file, "
                         f"e.g. {IMAGENET_NOTOP_FILE})")
    if not path.name.lower().endswith(WEIGHTS_SUFFIXES):
        raise ModelError(f"weights file {path}: unsupported file type (expected one of "
                         f"{', '.join(WEIGHTS_SUFFIXES)}: a Keras Xception no-top weights file)")
    if path.name.lower().endswith((".h5", ".hdf5")) and not _is_hdf5(path):
        raise ModelError(f"weights file {path} cannot be loaded: it is not an HDF5 file (truncated or "
                         f"corrupt?); it must be a Keras Xception no-top weights file such as {IMAGENET_NOTOP_FILE}")
    # A mismatched file makes Keras warn once per layer before it raises: keep those warnings
    # for a load that succeeds, drop them when our one-line error says it all.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            model = keras.applications.Xception(include_top=False, weights=os.fspath(path), input_shape=shape)
        except Exception as exc:  # noqa: BLE001 - h5py, Keras and the OS raise many kinds here
            failure = exc
        else:
            failure = None
    if failure is None:
        for w in caught:  # re-emitted as if never caught: the caller's filters apply
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno, module=_module_of(w.filename))
        return model
    raise ModelError(
        f"weights file {path} cannot be loaded into the Xception no-top backbone ({_reason(failure)}); "
        f"it must be a Keras Xception no-top weights file such as {IMAGENET_NOTOP_FILE}"
    ) from failure


def _is_hdf5(path: Path) -> bool:
    """Cheap check before building the backbone: is the file a readable HDF5 file?"""
    import h5py

    try:
        with h5py.File(path, "r"):
            return True
    except OSError:
        return False


def _module_of(filename: str) -> str | None:
    """The dotted name of the module a warning came from (what warning filters match)."""
    for name, module in list(sys.modules.items()):
        if getattr(module, "__file__", None) == filename:
            return name
    return None


def _reason(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    if len(text) > 300:
        text = text[:297] + "..."
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
