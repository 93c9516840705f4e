"""Synthetic predictions for tests and benchmarks (numpy only; no model involved): test scaffolding,
not part of the package (``tests/`` is on sys.path through its conftest; benchmarks add it).

Valid :class:`~fashion_review.review.predictions.Predictions` over a data set's products with an
image: for each scheme, probabilities over the classes the class filter keeps, most mass on the
product's effective label for ``accuracy`` of the products and on another class for the rest, so
a confusion matrix, disagreements and review scores all have something to show.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from fashion_review.data.schemes import SCHEMES, class_filter, scheme_labels
from fashion_review.review.predictions import Predictions


def fake_predictions(
    effective: pd.DataFrame,
    *,
    min_images: int = 20,
    schemes=SCHEMES,
    accuracy: float = 0.8,
    seed: int = 0,
    model_version: str = "synthetic",
) -> Predictions:
    """Random but plausible predictions for every product of ``effective`` that has an image."""
    rng = np.random.default_rng(seed)
    with_image = effective[effective["has_image"].to_numpy(dtype=bool)]
    ids = with_image.index.to_numpy(dtype=np.int64)
    n = len(ids)
    classes: dict[str, list[str]] = {}
    probs: dict[str, np.ndarray] = {}
    for s in schemes:
        labels = scheme_labels(with_image, s)
        kept = class_filter(labels, pd.Series(True, index=labels.index), s, min_images).kept
        if len(kept) < 2:
            continue
        k = len(kept)
        logits = rng.normal(0.0, 1.0, size=(n, k)).astype(np.float32)
        truth = pd.Index(kept, dtype=object).get_indexer(pd.Index(labels.to_numpy(dtype=object))).astype(np.int64)
        truth = np.where(truth >= 0, truth, rng.integers(0, k, n))
        wrong = rng.random(n) > accuracy
        target = np.where(wrong, (truth + rng.integers(1, k, n)) % k, truth)
        logits[np.arange(n), target] += rng.uniform(1.5, 6.0, n).astype(np.float32)
        logits[np.arange(n)[wrong], truth[wrong]] += rng.uniform(0.0, 2.0, int(wrong.sum())).astype(np.float32)
        e = np.exp(logits - logits.max(axis=1, keepdims=True))
        probs[s] = (e / e.sum(axis=1, keepdims=True)).astype(np.float32)
        classes[s] = list(kept)
    return Predictions(ids=ids, classes=classes, probs=probs, model_version=model_version)
