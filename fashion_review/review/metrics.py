"""Classification metrics as plain functions (numpy, pandas, scikit-learn; no Qt, no Keras).

Orange's ``owconfusionmatrix.py`` pattern: the numbers come from module-level functions, the
widget (``gui/confusion.py``) and ``fashion-review evaluate`` only show them.  Everything is
computed on what it is given; :func:`aligned_labels` builds those inputs from the *effective*
labels (corrections applied), a scheme's usable products, a split part and a model's
predictions, so the app's confusion matrix follows every correction.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from fashion_review.data.splits import PARTS as SPLIT_PARTS

#: Split parts a metric can be restricted to; "all" means every usable product.
PARTS = ("all", *SPLIT_PARTS)


def _as_str_array(values) -> np.ndarray:  # noqa: ANN001 - any 1-d sequence of labels
    return np.asarray(pd.Series(values, dtype=object).fillna("").astype(str).to_numpy(), dtype=object)


def class_list(given, predicted, classes: Sequence[str] | None = None) -> list[str]:  # noqa: ANN001
    """``classes`` (kept in order) followed by any other label seen in ``given`` or ``predicted``, sorted.

    Both axes of a confusion matrix use this one list, so it stays square even when a curator
    moved a product into a class the model does not know.
    """
    base = [str(c) for c in classes] if classes is not None else []
    seen = set(base)
    extra = sorted({str(v) for v in np.concatenate([_as_str_array(given), _as_str_array(predicted)])} - seen - {""})
    return base + extra


def confusion(given, predicted, classes: Sequence[str] | None = None) -> tuple[np.ndarray, list[str]]:  # noqa: ANN001
    """Counts ``C[i, j]`` of products with given label ``classes[i]`` and prediction ``classes[j]``.

    Returns ``(counts (K x K) int64, classes)``; ``classes`` is :func:`class_list` of the inputs.
    Rows are the given (true) labels, columns the predictions, as scikit-learn orders them.
    """
    given = _as_str_array(given)
    predicted = _as_str_array(predicted)
    if given.shape != predicted.shape:
        raise ValueError(f"given and predicted differ in length: {len(given)} vs {len(predicted)}")
    names = class_list(given, predicted, classes)
    k = len(names)
    gi = pd.Categorical(given, categories=names).codes.astype(np.int64)
    pi = pd.Categorical(predicted, categories=names).codes.astype(np.int64)
    ok = (gi >= 0) & (pi >= 0)  # "" (no label / no prediction) is -1
    counts = np.bincount(gi[ok] * k + pi[ok], minlength=k * k).reshape(k, k) if k else np.zeros((0, 0), np.int64)
    return counts.astype(np.int64), names


def row_normalised(counts: np.ndarray) -> np.ndarray:
    """Each row divided by its sum (the recall of the row's class on the diagonal); 0 for empty rows."""
    counts = np.asarray(counts, dtype=np.float64)
    sums = counts.sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(sums > 0, counts / np.where(sums > 0, sums, 1), 0.0)
    return out


def cell_ids(ids, given, predicted, g: str, p: str) -> np.ndarray:  # noqa: ANN001
    """The ids of the products whose given label is ``g`` and whose prediction is ``p`` (input order)."""
    ids = np.asarray(ids)
    mask = (_as_str_array(given) == str(g)) & (_as_str_array(predicted) == str(p))
    return ids[mask]


@dataclass(frozen=True)
class ClassReport:
    """Per-class precision / recall / F1 / support, with accuracy and macro / weighted averages.

    The paper's Table 4 layout (scikit-learn's ``classification_report``).
    """

    classes: list[str]
    precision: np.ndarray
    recall: np.ndarray
    f1: np.ndarray
    support: np.ndarray
    accuracy: float
    macro: dict[str, float]
    weighted: dict[str, float]

    @property
    def total(self) -> int:
        return int(self.support.sum())

    def as_dict(self) -> dict:
        """scikit-learn's ``classification_report(output_dict=True)`` layout (JSON-ready)."""
        out: dict = {}
        for i, c in enumerate(self.classes):
            out[c] = {"precision": float(self.precision[i]), "recall": float(self.recall[i]),
                      "f1-score": float(self.f1[i]), "support": int(self.support[i])}
        out["accuracy"] = float(self.accuracy)
        out["macro avg"] = {**{k: float(v) for k, v in self.macro.items()}, "support": self.total}
        out["weighted avg"] = {**{k: float(v) for k, v in self.weighted.items()}, "support": self.total}
        return out

    def as_frame(self) -> pd.DataFrame:
        """One row per class (index: class name), columns precision, recall, f1, support."""
        return pd.DataFrame({"precision": self.precision, "recall": self.recall, "f1": self.f1,
                             "support": self.support}, index=pd.Index(self.classes, name="class"))

    def text(self, digits: int = 4) -> str:
        """The report as fixed-width text (the layout of scikit-learn's ``classification_report``)."""
        width = max([len(c) for c in self.classes] + [len("weighted avg")])
        head = f"{'':>{width}} {'precision':>10} {'recall':>10} {'f1-score':>10} {'support':>10}"
        lines = [head, ""]
        for i, c in enumerate(self.classes):
            lines.append(f"{c:>{width}} {self.precision[i]:>10.{digits}f} {self.recall[i]:>10.{digits}f} "
                         f"{self.f1[i]:>10.{digits}f} {int(self.support[i]):>10d}")
        lines.append("")
        lines.append(f"{'accuracy':>{width}} {'':>10} {'':>10} {self.accuracy:>10.{digits}f} {self.total:>10d}")
        for name, avg in (("macro avg", self.macro), ("weighted avg", self.weighted)):
            lines.append(f"{name:>{width}} {avg['precision']:>10.{digits}f} {avg['recall']:>10.{digits}f} "
                         f"{avg['f1-score']:>10.{digits}f} {self.total:>10d}")
        return "\n".join(lines) + "\n"


def per_class_report(given, predicted, classes: Sequence[str] | None = None) -> ClassReport:  # noqa: ANN001
    """Precision, recall, F1 and support per class, accuracy, macro and weighted averages.

    The numbers of scikit-learn's ``classification_report(given, predicted, zero_division=0)``
    (the tests check them against it), computed from the confusion counts: 10 ms instead of
    300 ms on the full catalog, so the app can redo it after every correction.  Classes that no
    product is given nor predicted as get zeros; the averages are taken over the classes that
    occur among the given or predicted labels, as scikit-learn's report does.
    """
    counts, names = confusion(given, predicted, classes)
    return report_from_counts(counts, names)


def report_from_counts(counts: np.ndarray, classes: Sequence[str]) -> ClassReport:
    """:func:`per_class_report` from a confusion matrix (rows given, columns predicted)."""
    counts = np.asarray(counts, dtype=np.int64)
    names = [str(c) for c in classes]
    tp = np.diag(counts).astype(np.float64)
    support = counts.sum(axis=1)
    predicted_n = counts.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = np.where(predicted_n > 0, tp / np.maximum(predicted_n, 1), 0.0)
        r = np.where(support > 0, tp / np.maximum(support, 1), 0.0)
        f = np.where(p + r > 0, 2 * p * r / np.where(p + r > 0, p + r, 1), 0.0)
    total = int(support.sum())
    present = (support > 0) | (predicted_n > 0)
    zero = {"precision": 0.0, "recall": 0.0, "f1-score": 0.0}
    if present.any():
        macro = {"precision": float(p[present].mean()), "recall": float(r[present].mean()),
                 "f1-score": float(f[present].mean())}
    else:
        macro = dict(zero)
    if total:
        w = support / total
        weighted = {"precision": float((p * w).sum()), "recall": float((r * w).sum()),
                    "f1-score": float((f * w).sum())}
    else:
        weighted = dict(zero)
    acc = float(tp.sum() / total) if total else 0.0
    return ClassReport(names, p, r, f, support, acc, macro, weighted)


def accuracy(given, predicted) -> float:  # noqa: ANN001
    """Share of products whose prediction equals the given label (0 when there are none)."""
    given = _as_str_array(given)
    predicted = _as_str_array(predicted)
    return float((given == predicted).mean()) if len(given) else 0.0


#: How the program names the parts an accuracy is counted over, everywhere.
PART_WORDS = {"all": "usable products", "train": "train part", "val": "validation part", "test": "test part"}


@dataclass(frozen=True)
class ScoredAccuracy:
    """An accuracy with what it counts: ``n`` products, and ``n_unknown`` left out because their
    label (today's) is a class the model does not know (it cannot predict it)."""

    accuracy: float | None
    n: int
    n_unknown: int = 0

    def words(self, part: str = "test", whose: str = "the model's") -> str:
        """``22.6 % of 31 products (the model's test part, today's labels)``: the same words in the
        command line, the confusion view and the retrain dialog."""
        what = f"{whose} {PART_WORDS[part]}" if part != "all" else "all usable products"
        n_text = f"{self.n:,} product{'s' * (self.n != 1)}"
        acc = "—" if self.accuracy is None else f"{100 * self.accuracy:.1f} %"
        text = f"{acc} of {n_text} ({what}, today's labels)"
        if self.n_unknown:
            text += (f"; {self.n_unknown:,} more in a class the model does not know "
                     f"(dropped by its class filter, or a curator's new one), not counted")
        return text


def scored_accuracy(given, predicted, model_classes: Sequence[str]) -> ScoredAccuracy:  # noqa: ANN001
    """The accuracy ``fashion-review evaluate`` reports: over the products whose given label is a
    class the model knows (``model_classes``); the others are counted apart."""
    given = _as_str_array(given)
    predicted = _as_str_array(predicted)
    known = np.isin(given, np.asarray([str(c) for c in model_classes], dtype=object))
    n = int(known.sum())
    acc = float((given[known] == predicted[known]).mean()) if n else None
    return ScoredAccuracy(acc, n, int(len(given) - n))


@dataclass(frozen=True)
class PRCurve:
    """One class's precision-recall curve (one-vs-rest) and its average precision."""

    precision: np.ndarray
    recall: np.ndarray
    average_precision: float


def pr_curves(given, probs: np.ndarray, classes: Sequence[str]) -> dict[str, PRCurve]:  # noqa: ANN001
    """Per-class precision-recall curves from class probabilities (N x K, columns = ``classes``).

    Classes no product is given as have no curve (their average precision is undefined).
    """
    from sklearn.metrics import average_precision_score, precision_recall_curve

    given = _as_str_array(given)
    probs = np.asarray(probs, dtype=np.float64)
    out: dict[str, PRCurve] = {}
    for k, c in enumerate(classes):
        y = given == str(c)
        if not y.any():
            continue
        prec, rec, _ = precision_recall_curve(y, probs[:, k])
        out[str(c)] = PRCurve(prec, rec, float(average_precision_score(y, probs[:, k])))
    return out


def aligned_labels(
    labels: pd.Series,
    predicted: pd.Series | None = None,
    split: pd.Series | None = None,
    part: str = "all",
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(ids, given, predicted)`` over the products that have a label, a prediction and are in ``part``.

    ``labels``: id -> effective label over a scheme's usable products (``ds.usable(scheme)``);
    ``predicted``: id -> predicted class name (:func:`predicted_series`); ``split``: id -> "train"/"val"/"test" (``ds.split(scheme)``),
    needed unless ``part`` is "all".  Ids come out sorted.
    """
    if part not in PARTS:
        raise ValueError(f"unknown split part {part!r}; choose one of {', '.join(PARTS)}")
    lab = labels.dropna()
    if part != "all":
        if split is None:
            raise ValueError(f"restricting to the {part!r} part needs the split")
        in_part = split.index[split.to_numpy() == part]
        lab = lab[lab.index.isin(in_part)]
    if predicted is not None:
        pred = predicted.dropna()
        lab = lab[lab.index.isin(pred.index)]
        lab = lab.sort_index()
        pred_values = pred.reindex(lab.index).to_numpy()
    else:
        lab = lab.sort_index()
        pred_values = np.full(len(lab), "", dtype=object)
    return (lab.index.to_numpy(dtype=np.int64), _as_str_array(lab.to_numpy()), _as_str_array(pred_values))


def predicted_series(pred, scheme: str) -> pd.Series:  # noqa: ANN001 - a review.predictions.Predictions
    """id -> predicted class name for ``scheme`` from a :class:`~fashion_review.review.predictions.Predictions`."""
    names, _ = pred.predicted(scheme)
    return pd.Series(names, index=pd.Index(np.asarray(pred.ids, dtype=np.int64), name="id"), name=scheme)


def recall_changes(before: ClassReport, after: ClassReport, top: int = 5,
                   min_change: float = 1e-9) -> list[tuple[str, float, float]]:
    """The classes whose recall changed most between two reports: ``[(class, before, after)]``.

    Classes present in only one report count as recall 0 in the other.  Largest absolute change
    first; ties broken by name.  A class whose recall did not change (within ``min_change``; e.g.
    0 % before and after) is not a change and is not listed.
    """
    rb = dict(zip(before.classes, before.recall))
    ra = dict(zip(after.classes, after.recall))
    sb = dict(zip(before.classes, before.support))
    sa = dict(zip(after.classes, after.support))
    names = [c for c in set(rb) | set(ra) if sb.get(c, 0) > 0 or sa.get(c, 0) > 0]
    rows = [(c, float(rb.get(c, 0.0)), float(ra.get(c, 0.0))) for c in names]
    rows = [r for r in rows if abs(r[2] - r[1]) > min_change]
    rows.sort(key=lambda t: (-abs(t[2] - t[1]), t[0]))
    return rows[:top]


def reports_by_scheme(
    labels: Mapping[str, pd.Series], predicted: Mapping[str, pd.Series], splits: Mapping[str, pd.Series] | None = None,
    part: str = "test",
) -> dict[str, ClassReport]:
    """:func:`per_class_report` per scheme over ``part`` (schemes missing a prediction are skipped)."""
    out = {}
    for scheme, lab in labels.items():
        if scheme not in predicted:
            continue
        sp = None if splits is None else splits.get(scheme)
        _, g, p = aligned_labels(lab, predicted[scheme], sp, part if sp is not None else "all")
        out[scheme] = per_class_report(g, p)
    return out
