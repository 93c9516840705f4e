"""A model's predictions over a catalog, stored as one ``.npz`` beside the run (numpy only).

The app opens these at start-up without importing Keras: class probabilities per scheme for
every product with an image, the class names, the model version that made them and, for similar
product search, the penultimate layer's embedding.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from fashion_review.errors import ModelError


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
        ids = np.asarray(ids, dtype=np.int64)
        order = np.argsort(self.ids, kind="stable")
        sorted_ids = self.ids[order]
        pos = np.searchsorted(sorted_ids, ids)
        pos = np.clip(pos, 0, max(len(sorted_ids) - 1, 0))
        found = (len(sorted_ids) > 0) & (sorted_ids[pos] == ids) if len(sorted_ids) else np.zeros(len(ids), bool)
        return np.where(found, order[pos] if len(order) else -1, -1)


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
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}.npz")
    try:
        np.savez(tmp, **arrays)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def load_predictions(path: str | os.PathLike[str]) -> Predictions:
    """Read a predictions file; a damaged one raises ModelError naming it."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as z:
            schemes = [str(s) for s in z["schemes"]]
            pred = Predictions(
                ids=z["ids"].astype(np.int64),
                classes={s: [str(c) for c in z[f"classes__{s}"]] for s in schemes},
                probs={s: z[f"probs__{s}"].astype(np.float32) for s in schemes},
                model_version=str(z["model_version"]),
                embeddings={s: z[f"embedding__{s}"] for s in schemes if f"embedding__{s}" in z.files},
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
