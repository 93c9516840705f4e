"""Pure metrics against hand-computed examples and scikit-learn."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import classification_report, confusion_matrix

from fashion_review.review import metrics
from fashion_review.review.predictions import Predictions

# Given (rows) vs predicted (columns), classes Flats, Heels, Sandals:
#   id  given    predicted
#   1   Flats    Flats
#   2   Flats    Heels
#   3   Flats    Heels
#   4   Heels    Heels
#   5   Heels    Flats
#   6   Sandals  Sandals
#   7   Sandals  Heels
IDS = np.array([1, 2, 3, 4, 5, 6, 7])
GIVEN = ["Flats", "Flats", "Flats", "Heels", "Heels", "Sandals", "Sandals"]
PRED = ["Flats", "Heels", "Heels", "Heels", "Flats", "Sandals", "Heels"]
CLASSES = ["Flats", "Heels", "Sandals"]


def test_confusion_counts_by_hand():
    counts, classes = metrics.confusion(GIVEN, PRED, CLASSES)
    assert classes == CLASSES
    np.testing.assert_array_equal(counts, [[1, 2, 0], [1, 1, 0], [0, 1, 1]])
    np.testing.assert_array_equal(counts, confusion_matrix(GIVEN, PRED, labels=CLASSES))


def test_confusion_keeps_class_order_and_adds_unknown_labels():
    counts, classes = metrics.confusion(["Heels", "Boots"], ["Heels", "Heels"], ["Heels", "Flats"])
    assert classes == ["Heels", "Flats", "Boots"]  # a curator's new class comes last
    assert counts.shape == (3, 3) and counts[0, 0] == 1 and counts[2, 0] == 1 and counts.sum() == 2


def test_row_normalised():
    counts, _ = metrics.confusion(GIVEN, PRED, CLASSES + ["Boots"])
    norm = metrics.row_normalised(counts)
    np.testing.assert_allclose(norm[0], [1 / 3, 2 / 3, 0, 0])
    np.testing.assert_allclose(norm[3], 0)  # an empty row stays 0, no NaN


def test_cell_ids():
    assert metrics.cell_ids(IDS, GIVEN, PRED, "Flats", "Heels").tolist() == [2, 3]
    assert metrics.cell_ids(IDS, GIVEN, PRED, "Sandals", "Flats").tolist() == []
    assert metrics.cell_ids(IDS, GIVEN, PRED, "Heels", "Heels").tolist() == [4]


def test_per_class_report_matches_sklearn():
    rep = metrics.per_class_report(GIVEN, PRED, CLASSES)
    ref = classification_report(GIVEN, PRED, labels=CLASSES, output_dict=True, zero_division=0)
    got = rep.as_dict()
    for c in CLASSES + ["macro avg", "weighted avg"]:
        for k in ("precision", "recall", "f1-score", "support"):
            assert got[c][k] == pytest.approx(ref[c][k]), (c, k)
    assert got["accuracy"] == pytest.approx(3 / 7)
    # Flats: predicted twice, right once; given 3 times
    assert rep.precision[0] == pytest.approx(1 / 2) and rep.recall[0] == pytest.approx(1 / 3)
    assert list(rep.support) == [3, 2, 2]
    text = rep.text()
    assert "weighted avg" in text and "Sandals" in text
    assert list(rep.as_frame().index) == CLASSES


def test_report_of_nothing():
    rep = metrics.per_class_report([], [], ["a", "b"])
    assert rep.accuracy == 0.0 and rep.total == 0


def test_aligned_labels_restricts_to_part_and_predictions():
    labels = pd.Series(GIVEN, index=pd.Index(IDS, name="id"))
    split = pd.Series(["train", "test", "test", "val", "test", "train", "test"], index=IDS)
    pred = pd.Series(PRED[:-1], index=IDS[:-1])  # id 7 has no prediction
    ids, g, p = metrics.aligned_labels(labels, pred, split, "test")
    assert ids.tolist() == [2, 3, 5]
    assert g.tolist() == ["Flats", "Flats", "Heels"] and p.tolist() == ["Heels", "Heels", "Flats"]
    ids, _, _ = metrics.aligned_labels(labels, pred, split, "all")
    assert ids.tolist() == [1, 2, 3, 4, 5, 6]
    with pytest.raises(ValueError):
        metrics.aligned_labels(labels, pred, None, "test")


def test_predicted_series_and_pr_curves():
    probs = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]], dtype=np.float32)
    pred = Predictions(ids=np.array([10, 11, 12]), classes={"s": ["a", "b"]}, probs={"s": probs})
    ser = metrics.predicted_series(pred, "s")
    assert ser.to_dict() == {10: "a", 11: "b", 12: "a"}
    curves = metrics.pr_curves(["a", "b", "b"], probs, ["a", "b"])
    assert set(curves) == {"a", "b"}
    assert 0 <= curves["b"].average_precision <= 1


def test_recall_changes():
    before = metrics.per_class_report(GIVEN, PRED, CLASSES)
    after = metrics.per_class_report(GIVEN, GIVEN, CLASSES)
    rows = metrics.recall_changes(before, after, top=2)
    assert rows[0][0] == "Flats" and rows[0][1] == pytest.approx(1 / 3) and rows[0][2] == 1.0
    assert len(rows) == 2


def test_recall_changes_leave_out_classes_that_did_not_change():
    given = ["a", "a", "b", "b", "c"]
    before = metrics.per_class_report(given, ["b", "b", "b", "b", "a"], ["a", "b", "c"])
    after = metrics.per_class_report(given, ["a", "b", "b", "b", "a"], ["a", "b", "c"])
    rows = metrics.recall_changes(before, after, top=5)
    assert rows == [("a", 0.0, 0.5)]  # b stayed at 100 %, c at 0 %: neither is listed


def test_scored_accuracy_counts_known_classes_and_says_so():
    got = metrics.scored_accuracy(["a", "b", "new", "a"], ["a", "a", "a", "a"], ["a", "b"])
    assert got.accuracy == pytest.approx(2 / 3) and got.n == 3 and got.n_unknown == 1
    words = got.words("test")
    assert words.startswith("66.7 % of 3 products (the model's test part, today's labels)")
    assert "1 more in a class the model does not know" in words
    assert metrics.scored_accuracy(["a"], ["a"], ["a"]).words("all") == "100.0 % of 1 product (all usable products, today's labels)"


def test_confusion_is_fast_on_a_full_catalog():
    import time

    rng = np.random.default_rng(0)
    classes = [f"c{i}" for i in range(23)]
    g = rng.choice(classes, 44_000).astype(object)
    p = rng.choice(classes, 44_000).astype(object)
    t = time.perf_counter()
    counts, _ = metrics.confusion(g, p, classes)
    metrics.per_class_report(g, p, classes)
    assert counts.sum() == 44_000
    assert time.perf_counter() - t < 1.0


def test_report_matches_sklearn_on_random_labels_with_absent_classes():
    rng = np.random.default_rng(1)
    classes = [f"c{i}" for i in range(8)]
    g = rng.choice(classes[:6], 500).astype(object)       # c6, c7 never given
    p = rng.choice(classes[1:7], 500).astype(object)      # c0 never predicted, c7 never seen
    rep = metrics.per_class_report(g, p, classes).as_dict()
    ref = classification_report(g, p, output_dict=True, zero_division=0)
    for c in [*classes[:7], "macro avg", "weighted avg"]:
        for k in ("precision", "recall", "f1-score", "support"):
            assert rep[c][k] == pytest.approx(ref[c][k]), (c, k)
    assert rep["accuracy"] == pytest.approx(ref["accuracy"])
    assert rep["c7"]["support"] == 0 and rep["c7"]["f1-score"] == 0
