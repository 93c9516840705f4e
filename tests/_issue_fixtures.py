"""Stored label issues made without a model, for the queue, CLI and app tests (imported by name).

:func:`synthetic_issues` writes, for a data set, image probabilities that agree with every
product's label (0.9) except for the products in ``image_says`` (which get 0.9 on the class
given), name probabilities likewise with ``name_says``, and no identical photos unless
``groups`` is given: the queue built from it has known answers.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from fashion_review.data.schemes import PAPER_SCHEMES, SCHEMES, scheme_labels
from fashion_review.review.issues import StoredIssues, issues_path, review_marks, save_issues


def _peaked(labels: np.ndarray, classes: list[str], override: dict[int, str], ids: np.ndarray) -> np.ndarray:
    k = len(classes)
    index = {c: i for i, c in enumerate(classes)}
    probs = np.full((len(labels), k), 0.1 / max(k - 1, 1), dtype=np.float32)
    pos = {int(p): r for r, p in enumerate(ids.tolist())}
    target = np.array([index.get(v, -1) if isinstance(v, str) else -1 for v in labels], dtype=np.int64)
    for pid, cls in override.items():
        if int(pid) in pos:
            target[pos[int(pid)]] = index[cls]
    ok = target >= 0
    probs[np.flatnonzero(ok), target[ok]] = 0.9
    probs[~ok] = 1.0 / k
    return probs


def synthetic_issues(ds, image_says: dict[int, str] | None = None, name_says: dict[int, str] | None = None,
                     groups: dict[int, int] | None = None, mode: str = "cv", save: bool = True) -> StoredIssues:
    """Stored issues of ``ds`` with known disagreements (articleType): see the module docstring."""
    from fashion_review.review.queue import build_queue

    image_says, name_says = dict(image_says or {}), dict(name_says or {})
    eff = ds.effective()
    with_image = eff.index[eff["has_image"].to_numpy()].to_numpy(np.int64)
    img_classes, img_probs = {}, {}
    for s in PAPER_SCHEMES:
        kept = list(ds.class_filter(s, effective=eff).kept)
        labels = scheme_labels(eff.loc[with_image], s).to_numpy(dtype=object)
        img_classes[s] = kept
        img_probs[s] = _peaked(labels, kept, image_says if s == "articleType" else {}, with_image)
    all_ids = eff.index.to_numpy(np.int64)
    name_classes, name_probs, name_words = {}, {}, {}
    for s in SCHEMES:
        labels = scheme_labels(eff, s).to_numpy(dtype=object)
        classes = sorted({str(v) for v in labels if isinstance(v, str)} | set(name_says.values() if s == "articleType" else ()))
        name_classes[s] = classes
        name_probs[s] = _peaked(labels, classes, name_says if s == "articleType" else {}, all_ids)
        words = np.full(len(all_ids), "", dtype=object)
        if s == "articleType":
            for pid, cls in name_says.items():
                words[int(np.flatnonzero(all_ids == pid)[0])] = cls.rstrip("s")
        name_words[s] = words
    dup = pd.Series(groups or {}, dtype=np.int64)
    dup.index = pd.Index(dup.index.astype(np.int64), name="id")
    stored = StoredIssues(mode, with_image, img_classes, img_probs, all_ids, name_classes, name_probs, name_words,
                          dup, {}, {"mode": mode, "folds": 4, "epochs": 8, "recipe": "synthetic",
                                    "corrections": ds.store.count(), "last_seq": ds.store.last_seq(),
                                    "created": "test", "run": "test-run"})
    for s in SCHEMES:
        stored.initial[s] = build_queue(stored, eff, s, review_marks(ds.store, s, stored.last_seq)).entries().index.to_numpy()
    if save:
        save_issues(stored, issues_path(ds.home, mode))
    return stored


def pick(ds, article: str, n: int = 1, skip: int = 0) -> list[int]:
    """The first ``n`` products with an image labelled ``article`` (after ``skip``)."""
    eff = ds.effective()
    ids = eff.index[(eff["articleType"] == article) & eff["has_image"]].to_numpy(np.int64)
    return [int(i) for i in ids[skip:skip + n]]
