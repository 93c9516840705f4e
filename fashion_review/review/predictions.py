"""A model's predictions over a catalog, stored as one ``.npz`` beside the run (numpy only).

The app opens these at start-up without importing Keras: class probabilities per scheme for
every product with an image, the class names, the model version that made them and, for similar
product search, the penultimate layer's embedding.
"""

from __future__ import annotations

import os
import struct
import zipfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from fashion_review.data.ids import index_of
from fashion_review.errors import ModelError
from fashion_review.fsutil import atomic_file


@dataclass
class Predictions:
    ids: np.ndarray  # int64 (N,)
    classes: dict[str, list[str]]
    probs: dict[str, np.ndarray]  # float32 (N, C) per scheme
    model_version: str = ""
    embeddings: dict[str, np.ndarray] = field(default_factory=dict)  # float16 (N, D)

    @property
    def schemes(self) -> list[str]:
        return list(self.classes)

    def __len__(self) -> int:
        return len(self.ids)

    def predicted(self, scheme: str) -> tuple[np.ndarray, np.ndarray]:
        """(predicted class names, confidence) per product for ``scheme``."""
        p = self.probs[scheme]
        arg = p.argmax(axis=1)
        names = np.asarray(self.classes[scheme], dtype=object)[arg]
        return names, p[np.arange(len(p)), arg]

    def top_k(self, scheme: str, k: int = 3) -> tuple[np.ndarray, np.ndarray]:
        """(class names, probabilities) of the k most probable classes, best first, per product."""
        p = self.probs[scheme]
        k = min(k, p.shape[1])
        idx = np.argsort(-p, axis=1)[:, :k]
        return np.asarray(self.classes[scheme], dtype=object)[idx], np.take_along_axis(p, idx, axis=1)

    def index_of(self, ids) -> np.ndarray:
        """Row of each id in this table, -1 where absent (vectorised)."""
        return index_of(self.ids, ids)


def save_predictions(pred: Predictions, path: str | os.PathLike[str]) -> Path:
    """Write atomically (a temp file, then rename)."""
    path = Path(path)
    arrays: dict[str, np.ndarray] = {
        "ids": np.asarray(pred.ids, dtype=np.int64),
        "model_version": np.asarray(pred.model_version),
        "schemes": np.asarray(pred.schemes, dtype=str),
    }
    for s in pred.schemes:
        arrays[f"classes__{s}"] = np.asarray(pred.classes[s], dtype=str)
        arrays[f"probs__{s}"] = np.asarray(pred.probs[s], dtype=np.float32)
        if s in pred.embeddings:
            arrays[f"embedding__{s}"] = np.asarray(pred.embeddings[s], dtype=np.float16)
    with atomic_file(path, "wb") as f:
        np.savez(f, **arrays)
    return path


def npz_member_memmap(path: Path, name: str) -> np.ndarray:
    """A read-only memory map of the array ``name`` of an uncompressed ``.npz`` (``np.savez``), or
    the array read into memory when the member is compressed.

    ``np.load`` reads a whole member into memory (``mmap_mode`` is ignored for ``.npz``); an
    uncompressed member is a plain ``.npy`` file at an offset inside the zip, so it can be mapped
    and its pages read only when touched.
    """
    member = name + ".npy"
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo(member)
        if info.compress_type != zipfile.ZIP_STORED:
            with zf.open(member) as f:
                return np.lib.format.read_array(f, allow_pickle=False)
    with open(path, "rb") as f:
        f.seek(info.header_offset)
        local = f.read(30)
        if local[:4] != b"PK\x03\x04":
            raise ValueError(f"member {member}: bad local header")
        name_len, extra_len = struct.unpack("<HH", local[26:30])
        f.seek(info.header_offset + 30 + name_len + extra_len)
        version = np.lib.format.read_magic(f)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(f)
        else:
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(f)
        offset = f.tell()
    if dtype.hasobject:
        raise ValueError(f"member {member}: object arrays are not allowed")
    if int(np.prod(shape)) == 0:
        return np.zeros(shape, dtype=dtype)
    return np.memmap(path, dtype=dtype, mode="r", offset=offset, shape=shape, order="F" if fortran else "C")


class LazyArrays(Mapping):
    """``{scheme: array}`` read from a predictions file on first access, memory-mapped.

    The embeddings of a whole catalog (65-260 MB) are not needed for the first paint of the app:
    they are mapped when similar-product search first asks for them.
    """

    def __init__(self, path: Path, names: dict[str, str]) -> None:
        self._path = path
        self._names = names
        self._loaded: dict[str, np.ndarray] = {}

    def __getitem__(self, key: str) -> np.ndarray:
        if key not in self._names:
            raise KeyError(key)
        if key not in self._loaded:
            try:
                self._loaded[key] = npz_member_memmap(self._path, self._names[key])
            except (OSError, ValueError, KeyError, zipfile.BadZipFile) as exc:
                raise ModelError(f"{self._path}: embeddings of {key} are not readable "
                                 f"({type(exc).__name__}: {exc})") from exc
        return self._loaded[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)


def load_predictions(path: str | os.PathLike[str]) -> Predictions:
    """Read a predictions file; a damaged one raises ModelError naming it.

    The embeddings are a :class:`LazyArrays`: mapped from the file on first access.
    """
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as z:
            schemes = [str(s) for s in z["schemes"]]
            pred = Predictions(
                ids=z["ids"].astype(np.int64),
                classes={s: [str(c) for c in z[f"classes__{s}"]] for s in schemes},
                probs={s: z[f"probs__{s}"].astype(np.float32) for s in schemes},
                model_version=str(z["model_version"]),
                embeddings=LazyArrays(path, {s: f"embedding__{s}" for s in schemes
                                             if f"embedding__{s}" in z.files}),
            )
    except FileNotFoundError:
        raise ModelError(f"{path}: no predictions file") from None
    except Exception as exc:  # zipfile.BadZipFile, KeyError, ValueError ...
        raise ModelError(f"{path}: not a readable predictions file ({type(exc).__name__}: {exc})") from exc
    for s in pred.schemes:
        if pred.probs[s].shape != (len(pred.ids), len(pred.classes[s])):
            raise ModelError(f"{path}: probabilities of {s} have shape {pred.probs[s].shape}, "
                             f"expected ({len(pred.ids)}, {len(pred.classes[s])})")
    return pred
