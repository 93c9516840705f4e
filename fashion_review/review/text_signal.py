"""The product's name against its label: a cross-validated TF-IDF + logistic regression per scheme.

Names such as "Puma Men Black Casual Shoes" say a lot about every scheme.  For each scheme a
classifier is trained on the names and the labels of K - 1 folds and predicts the held-out fold,
so every product's name probabilities come from a model that never saw its label.  It learns
*every* class of the catalog with at least ``min_count`` named products, not only those the
image model keeps, so it can suggest a class the image model does not know.

Features: word unigrams and bigrams (a token keeps its hyphens, so "T-shirt" stays one word),
sublinear TF-IDF; the classifier is multinomial logistic regression (saga, a few passes: the
probabilities are what matters, and 20 passes give within 0.1 % of the accuracy of a converged
fit in a tenth of the time).  For each product the word (or two-word phrase) of its name that
pushes hardest towards the predicted class is kept, for the reason shown to curators.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from fashion_review.review.confident import probability_signal
from fashion_review.tasks import Task

TOKEN_PATTERN = r"(?u)\b\w[\w'-]*\b"
DEFAULT_FOLDS = 4
MIN_COUNT = 2


@dataclass
class NameProbabilities:
    """Out-of-sample name probabilities of one scheme for ``ids``."""

    classes: list[str]
    probs: np.ndarray  # float32 (N, C); all zero for a product without a name
    words: np.ndarray  # object (N,): the name's strongest word for the predicted class ("" when none)


def fold_assignment(labels: Sequence[object] | np.ndarray, folds: int, seed: int = 0) -> np.ndarray:
    """A fold number per item, stratified: each label's items are dealt round-robin in a seeded order.

    Items without a label (NaN / None) are dealt as a group of their own.
    """
    if folds < 2:
        raise ValueError(f"cross-validation needs at least 2 folds, got {folds}")
    keys = pd.Series(np.asarray(labels, dtype=object)).fillna("\0blank").astype(str).to_numpy()
    rng = np.random.default_rng(seed)
    out = np.empty(len(keys), dtype=np.int64)
    order = rng.permutation(len(keys))
    codes, inverse = np.unique(keys[order], return_inverse=True)
    start = rng.integers(0, folds, len(codes))
    rank = np.zeros(len(keys), dtype=np.int64)
    seen = np.zeros(len(codes), dtype=np.int64)
    for k, c in enumerate(inverse):  # position of each item within its class, in the seeded order
        rank[k] = seen[c]
        seen[c] += 1
    out[order] = (start[inverse] + rank) % folds
    return out


def _display(word: str, name: str) -> str:
    """``word`` (lower-case, maybe two words) as it is written in ``name``."""
    parts = [re.escape(p) for p in word.split()]
    m = re.search(r"\W+".join(parts), name, flags=re.IGNORECASE) if parts else None
    return m.group(0) if m else word


def _prepare(names, labels, min_count: int):  # noqa: ANN001, ANN202
    """(names as str, named mask, the classes learnt, each product's class index or -1, the labels
    with blanks as None)."""
    names = np.asarray([n if isinstance(n, str) else "" for n in np.asarray(names, dtype=object)], dtype=object)
    lab = pd.Series(np.asarray(labels, dtype=object)).where(lambda s: s.notna() & (s != ""), None)
    named = np.array([bool(n.strip()) for n in names], dtype=bool)
    counts = lab[named].value_counts()
    classes = sorted(str(c) for c in counts.index[counts >= min_count])
    class_index = {c: i for i, c in enumerate(classes)}
    y = np.array([class_index.get(v, -1) if v is not None else -1 for v in lab.tolist()], dtype=np.int64)
    return names, named, classes, y, lab


def fit_name_model(names: np.ndarray, y: np.ndarray, seed: int = 0):  # noqa: ANN201 - (vectorizer, classifier)
    """The module's name model (TF-IDF of words and word pairs, logistic regression) fitted once on
    ``names`` with class indices ``y``: ``(vectorizer, classifier)``."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    vec = TfidfVectorizer(lowercase=True, token_pattern=TOKEN_PATTERN, ngram_range=(1, 2), min_df=1,
                          sublinear_tf=True, dtype=np.float32)
    x = vec.fit_transform(names)
    clf = LogisticRegression(C=10.0, solver="saga", max_iter=20, tol=1e-3, random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(x, y)
    return vec, clf


def fitted_name_probabilities(names: Sequence[str] | np.ndarray, labels: Sequence[object] | np.ndarray, *,
                              train: np.ndarray | None = None, seed: int = 0, min_count: int = MIN_COUNT
                              ) -> tuple[list[str], np.ndarray]:
    """``(classes, probs)``: ONE name model fitted on the ``train`` products (a boolean mask; default
    every one) that have a name and a label of a class with ``min_count`` named products, predicting
    every product (zeros for a product without a name).  In sample for the products it was fitted
    on: a description of each name in the catalog's own classes (similar products use it), not a
    judge of their labels (that is :func:`name_probabilities`, cross-validated)."""
    if train is not None:  # the other products' labels are not read at all, not even to count the classes
        labels = np.where(np.asarray(train, dtype=bool), np.asarray(labels, dtype=object), None)
    names, named, classes, y, _ = _prepare(names, labels, min_count)
    fit = named & (y >= 0)
    probs = np.zeros((len(names), len(classes)), dtype=np.float32)
    if len(np.unique(y[fit])) < 2:
        return classes, probs
    vec, clf = fit_name_model(names[fit], y[fit], seed)
    rows = np.flatnonzero(named)
    probs[np.ix_(rows, clf.classes_)] = clf.predict_proba(vec.transform(names[rows])).astype(np.float32)
    return classes, probs


def name_probabilities(names: Sequence[str] | np.ndarray, labels: Sequence[object] | np.ndarray, *,
                       folds: int = DEFAULT_FOLDS, seed: int = 0, min_count: int = MIN_COUNT,
                       fold: np.ndarray | None = None, task: Task | None = None,
                       phase: str = "names", label: str = "") -> NameProbabilities:
    """Cross-validated name probabilities (see the module docstring).

    ``labels``: the label of each product (NaN / None where blank).  Products with a blank name get
    a zero row; products without a label, or with a label of fewer than ``min_count`` named
    products, are never trained on but are predicted like the others (by the model of their fold).
    ``fold`` overrides the seeded stratified assignment.  Raises Cancelled between folds.
    """
    names, named, classes, y, lab = _prepare(names, labels, min_count)
    n = len(names)
    probs = np.zeros((n, len(classes)), dtype=np.float32)
    words = np.full(n, "", dtype=object)
    if len(classes) < 2:
        return NameProbabilities(classes, probs, words)
    fold = fold_assignment(lab.to_numpy(dtype=object), folds, seed) if fold is None else np.asarray(fold)
    for f in range(int(fold.max()) + 1 if len(fold) else 0):
        if task is not None:
            task.check()
            task.report(phase, f / folds, f"{label}name model, fold {f + 1} of {folds}".strip(), fold=f + 1, folds=folds)
        train = (fold != f) & named & (y >= 0)
        test = np.flatnonzero((fold == f) & named)
        if not len(test) or len(np.unique(y[train])) < 2:
            continue
        vec, clf = fit_name_model(names[train], y[train], seed)
        x_test = vec.transform(names[test])
        p = clf.predict_proba(x_test).astype(np.float32)
        probs[np.ix_(test, clf.classes_)] = p
        # The strongest word for the predicted class: the largest tf-idf x coefficient in the row.
        vocab = np.asarray(vec.get_feature_names_out(), dtype=object)
        pred = p.argmax(axis=1)
        coef = clf.coef_ if clf.coef_.shape[0] == len(clf.classes_) else np.vstack([-clf.coef_, clf.coef_])
        x_test = x_test.tocsr()
        for r, i in enumerate(test):
            lo, hi = x_test.indptr[r], x_test.indptr[r + 1]
            if hi == lo:
                continue
            cols = x_test.indices[lo:hi]
            contrib = x_test.data[lo:hi] * coef[pred[r], cols]
            best = int(np.argmax(contrib))
            if contrib[best] > 0:
                words[i] = _display(str(vocab[cols[best]]), names[i])
    if task is not None:
        task.report(phase, 1.0, f"{label}name model done".strip())
    return NameProbabilities(classes, probs, words)


def name_signal(ids: np.ndarray, given: np.ndarray, names: NameProbabilities) -> pd.DataFrame:
    """The signal table (``name_*`` columns, as :func:`~fashion_review.review.confident.probability_signal`)
    of the name probabilities against the given labels, with the name's word in the reason."""
    table = probability_signal("name", ids, given, names.classes, names.probs, describe="from the name")
    score = table["name_score"].to_numpy()
    sugg = table["name_suggestion"].to_numpy(dtype=object)
    p_s = table["name_p_suggestion"].to_numpy()
    reason = table["name_reason"].to_numpy(dtype=object).copy()
    has_name = names.probs.sum(axis=1) > 0 if names.probs.shape[1] else np.zeros(len(ids), bool)
    for i in np.flatnonzero(has_name & (np.nan_to_num(1.0 - score) > 0.05)):
        word = names.words[i]
        said = f"'{word}'" if word else "another class"
        reason[i] = f"name says {said} ({sugg[i]} {p_s[i]:.2f})"
    reason[~has_name & (reason != "")] = ""
    table["name_reason"] = reason
    table.loc[~has_name, "name_score"] = np.nan
    table.loc[~has_name, "name_p_given"] = np.nan  # no name: nothing for or against the label
    table.loc[~has_name, "is_name_issue"] = False
    table["name_word"] = names.words
    return table
