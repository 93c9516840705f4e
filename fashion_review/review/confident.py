"""Confident learning (Northcutt, Jiang and Chuang, JAIR 2021) in numpy: which given labels a
model's out-of-sample probabilities contradict with confidence.

The formulas of the paper, as its authors' reference implementation (cleanlab) computes them, so
that our numbers equal cleanlab's (``tests/review/test_confident.py`` checks them against cleanlab
where it is installed; it is only in the test extra, see the README's "Label issues" section):

* **per-class threshold** ``t_j`` = the mean of ``p_j`` over the examples labelled ``j`` (the
  class's mean self-confidence); a class nobody is labelled with gets 2.0, which no probability
  reaches;
* **confident guess** of an example: among the classes ``j`` with ``p_j >= t_j`` (minus 1e-6), the
  only one, or the argmax of ``p`` when several are; none when no class reaches its threshold;
* **confident joint** ``C[i, j]``: the number of examples labelled ``i`` whose confident guess is
  ``j`` (diagonal at least 1); **calibrated**, each row is rescaled to the number of examples
  labelled ``i`` and the whole to the number of examples, rounded preserving row totals; its
  off-diagonal sum estimates the number of label errors;
* **label issues** (``filter_by="confident_learning"``): the examples off the diagonal of the
  confident joint, except those whose given label is (within 1e-6) the model's own argmax;
* **normalized margin** score in [0, 1]: ``(p_given - max_{j != given} p_j + 1) / 2``; low means
  the model prefers another class (0.5: a tie), which is how the issues are ranked.

Labels are class indices into the columns of ``probs``; -1 marks an example whose label the model
does not know (a class it was not trained on, or blank): such examples take no part in the
thresholds or the joint and are never issues here (the model cannot contradict a label it does not
know; :func:`image_signal` says so in its reason).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

#: Threshold of a class nobody is labelled with (no probability reaches it).
ABSENT_THRESHOLD = 2.0
EPS = 1e-6


def _check(labels: np.ndarray, probs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    labels = np.asarray(labels, dtype=np.int64)
    probs = np.asarray(probs, dtype=np.float64)
    if probs.ndim != 2 or len(labels) != len(probs):
        raise ValueError(f"labels {labels.shape} and probabilities {probs.shape} do not match")
    if len(labels) and (labels.max(initial=-1) >= probs.shape[1] or labels.min(initial=0) < -1):
        raise ValueError(f"labels must be -1 or class indices below {probs.shape[1]}")
    return labels, probs


def confident_thresholds(labels: np.ndarray, probs: np.ndarray) -> np.ndarray:
    """Per class ``j``: the mean probability of ``j`` over the examples labelled ``j`` (K,)."""
    labels, probs = _check(labels, probs)
    k = probs.shape[1]
    known = labels >= 0
    counts = np.bincount(labels[known], minlength=k).astype(np.float64)
    sums = np.zeros(k)
    np.add.at(sums, labels[known], probs[known, labels[known]])
    out = np.full(k, ABSENT_THRESHOLD)
    np.divide(sums, counts, out=out, where=counts > 0)
    return out


def confident_guess(probs: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """Each example's confident guess of its true class, -1 when no class reaches its threshold."""
    probs = np.asarray(probs, dtype=np.float64)
    above = probs >= np.asarray(thresholds)[None, :] - EPS
    n_above = above.sum(axis=1)
    guess = np.where(n_above > 1, probs.argmax(axis=1), above.argmax(axis=1))
    return np.where(n_above > 0, guess, -1).astype(np.int64)


def round_preserving_row_totals(matrix: np.ndarray) -> np.ndarray:
    """Round each row to integers keeping its (rounded) sum: the remainders decide who moves."""
    matrix = np.asarray(matrix, dtype=np.float64)
    out = np.round(matrix)
    for r, row in enumerate(matrix):
        diff = int(np.round(np.round(row.sum()) - out[r].sum()))
        while diff != 0:
            step = 1 if diff > 0 else -1
            order = np.argsort(row - out[r])[::-step][:min(abs(diff), len(row))]
            out[r, order] += step
            diff = int(np.round(np.round(row.sum()) - out[r].sum()))
    return out.astype(np.int64)


def confident_joint(labels: np.ndarray, probs: np.ndarray, thresholds: np.ndarray | None = None,
                    calibrate: bool = False) -> np.ndarray:
    """``C[given, guess]`` over the examples with a known label and a confident guess (K x K int)."""
    labels, probs = _check(labels, probs)
    k = probs.shape[1]
    t = confident_thresholds(labels, probs) if thresholds is None else np.asarray(thresholds)
    guess = confident_guess(probs, t)
    ok = (labels >= 0) & (guess >= 0)
    joint = np.zeros((k, k), dtype=np.int64)
    np.add.at(joint, (labels[ok], guess[ok]), 1)
    np.fill_diagonal(joint, np.maximum(joint.diagonal(), 1))
    if not calibrate:
        return joint
    counts = np.bincount(labels[labels >= 0], minlength=k).astype(np.float64)
    row = joint / np.clip(joint.sum(axis=1, keepdims=True), 1e-12, None) * counts[:, None]
    row = row / max(row.sum(), 1e-12) * counts.sum()
    return round_preserving_row_totals(row)


def estimated_label_errors(labels: np.ndarray, probs: np.ndarray) -> int:
    """The calibrated confident joint's off-diagonal sum: an estimate of how many labels are wrong."""
    joint = confident_joint(labels, probs, calibrate=True)
    return int(joint.sum() - np.trace(joint))


def label_issues(labels: np.ndarray, probs: np.ndarray, thresholds: np.ndarray | None = None) -> np.ndarray:
    """Bool per example: off the confident joint's diagonal, and the given label is not the argmax."""
    labels, probs = _check(labels, probs)
    t = confident_thresholds(labels, probs) if thresholds is None else np.asarray(thresholds)
    guess = confident_guess(probs, t)
    known = labels >= 0
    off = known & (guess >= 0) & (guess != labels)
    rows = np.flatnonzero(known)
    boosted = probs[rows].copy()
    boosted[np.arange(len(rows)), labels[rows]] += EPS
    agrees = np.zeros(len(labels), dtype=bool)
    agrees[rows] = boosted.argmax(axis=1) == labels[rows]
    return off & ~agrees


def normalized_margin(labels: np.ndarray, probs: np.ndarray) -> np.ndarray:
    """``(p_given - max_{j != given} p_j + 1) / 2`` per example, NaN where the label is unknown."""
    labels, probs = _check(labels, probs)
    out = np.full(len(labels), np.nan)
    rows = np.flatnonzero(labels >= 0)
    if not len(rows) or probs.shape[1] < 2:
        return out
    p = probs[rows]
    given = p[np.arange(len(rows)), labels[rows]]
    others = p.copy()
    others[np.arange(len(rows)), labels[rows]] = -np.inf
    out[rows] = (given - others.max(axis=1) + 1.0) / 2.0
    return out


def encode(labels: Sequence[object] | np.ndarray, classes: Sequence[str]) -> np.ndarray:
    """Class index of each label in ``classes`` (-1 for a label not among them, or blank)."""
    values = pd.Index(pd.Series(np.asarray(labels, dtype=object)).where(lambda s: s.notna(), None), dtype=object)
    return pd.Index(list(classes), dtype=object).get_indexer(values).astype(np.int64)


def probability_signal(kind: str, ids: np.ndarray, given: np.ndarray, classes: Sequence[str],
                       probs: np.ndarray, *, describe: str = "out of sample") -> pd.DataFrame:
    """One signal table from a model's probabilities against the given labels (see the module doc).

    Columns (``k`` = ``kind``): ``k_score`` in [0, 1] (0: surely a label issue, 1: no evidence;
    ``1 - max(0, p_best_other - p_given)``), ``is_k_issue`` (confident learning), ``k_margin``
    (the normalized margin, for ranking), ``k_p_given``, ``k_suggestion`` (the most probable other
    class), ``k_p_suggestion``, ``k_known`` (whether the model knows the given label) and
    ``k_reason`` (words, where there is something to say).  NaN scores where the model knows
    nothing about the product's label.
    """
    ids = np.asarray(ids, dtype=np.int64)
    classes = list(classes)
    probs = np.asarray(probs, dtype=np.float32)
    codes = encode(given, classes)
    n = len(ids)
    has_label = pd.Series(np.asarray(given, dtype=object)).notna().to_numpy()
    thresholds = confident_thresholds(codes, probs)
    issue = label_issues(codes, probs, thresholds)
    margin = normalized_margin(codes, probs)
    known = codes >= 0
    p_given = np.full(n, np.nan, dtype=np.float32)
    p_given[known] = probs[np.flatnonzero(known), codes[known]]
    masked = probs.copy()
    masked[np.flatnonzero(known), codes[known]] = -1.0
    best = masked.argmax(axis=1) if probs.shape[1] else np.zeros(n, np.int64)
    p_best = masked[np.arange(n), best] if probs.shape[1] else np.zeros(n, np.float32)
    evidence = np.where(known, np.clip(p_best - np.nan_to_num(p_given), 0.0, 1.0), np.nan)
    names = np.asarray(classes, dtype=object)
    suggestion = np.where(known & (evidence > 0), names[best] if len(names) else "", "").astype(object)
    reason = np.full(n, "", dtype=object)
    for i in np.flatnonzero(known & ((evidence > 0.05) | issue)):
        reason[i] = f"{kind} says {names[best[i]]} ({p_best[i]:.2f}, {describe})"
    for i in np.flatnonzero(known & (p_given < 0.5) & (reason == "")):  # low, though no other class stands out
        reason[i] = f"{kind} gives {given[i]} only {p_given[i]:.2f} ({describe})"
    for i in np.flatnonzero(has_label & ~known):
        reason[i] = f"the {kind} model does not know the class {given[i]}"
    return pd.DataFrame({
        f"{kind}_score": 1.0 - evidence,
        f"is_{kind}_issue": issue,
        f"{kind}_margin": margin,
        f"{kind}_p_given": p_given,
        f"{kind}_suggestion": suggestion,
        f"{kind}_p_suggestion": np.where(known, p_best, np.nan).astype(np.float32),
        f"{kind}_known": known,
        f"{kind}_reason": reason,
    }, index=pd.Index(ids, name="id"))
