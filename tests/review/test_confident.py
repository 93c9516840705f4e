"""Confident learning in numpy (review/confident.py): known answers, then the same numbers as cleanlab."""

from __future__ import annotations

import numpy as np
import pytest

from fashion_review.review import confident as cl


def test_thresholds_are_mean_self_confidence_and_absent_classes_unreachable():
    labels = np.array([0, 0, 1, 1, -1])
    probs = np.array([[0.9, 0.1, 0.0], [0.5, 0.5, 0.0], [0.2, 0.8, 0.0], [0.4, 0.6, 0.0], [0.0, 0.0, 1.0]])
    t = cl.confident_thresholds(labels, probs)
    assert t == pytest.approx([0.7, 0.7, cl.ABSENT_THRESHOLD])  # class 2: nobody labelled it (the -1 row is ignored)


def test_confident_guess_single_several_and_none():
    t = np.array([0.5, 0.5, 0.5])
    probs = np.array([
        [0.6, 0.3, 0.1],   # one class above its threshold
        [0.5, 0.5, 0.0],   # a tie of two above: the argmax, i.e. the first
        [0.4, 0.3, 0.3],   # none above
        [0.2, 0.5, 0.3],   # exactly at the threshold counts (1e-6 tolerance)
    ])
    assert cl.confident_guess(probs, t).tolist() == [0, 0, -1, 1]


def test_confident_joint_counts_given_against_guess():
    labels = np.array([0, 0, 0, 1, 1, 2])
    probs = np.array([[0.9, 0.05, 0.05], [0.8, 0.1, 0.1], [0.1, 0.85, 0.05],
                      [0.1, 0.8, 0.1], [0.2, 0.7, 0.1], [0.1, 0.1, 0.8]])
    joint = cl.confident_joint(labels, probs)
    # thresholds: class 0 (0.9+0.8+0.1)/3 = 0.6, class 1 0.75, class 2 0.8
    assert joint.tolist() == [[2, 1, 0], [0, 1, 0], [0, 0, 1]]
    # product 2 (label 0, p1 = 0.85) is off the diagonal and the model's argmax is 1: an issue
    assert cl.label_issues(labels, probs).tolist() == [False, False, True, False, False, False]
    # the calibrated joint: rows sum to the class counts, the whole to N
    cal = cl.confident_joint(labels, probs, calibrate=True)
    assert cal.sum(axis=1).tolist() == [3, 2, 1] and cal.sum() == 6
    assert cl.estimated_label_errors(labels, probs) == 1


def test_off_diagonal_but_label_is_argmax_is_no_issue():
    # label 0 with p = (0.5, 0.5): only class 1 reaches its threshold (0.5; class 0's is 0.7), so the
    # confident guess is 1, but the given label ties for the model's argmax: not an issue
    labels = np.array([0, 1, 1, 0])
    probs = np.array([[0.5, 0.5], [0.5, 0.5], [0.5, 0.5], [0.9, 0.1]])
    assert cl.confident_guess(probs, cl.confident_thresholds(labels, probs))[0] == 1
    assert cl.confident_joint(labels, probs)[0, 1] == 1
    assert not cl.label_issues(labels, probs)[0]
    labels2 = np.array([0, 1, 1, 0])
    probs2 = np.array([[0.50, 0.50], [0.3, 0.7], [0.3, 0.7], [0.9, 0.1]])
    # threshold of 0 is 0.7, of 1 is 0.7: row 0 reaches neither -> no guess -> no issue
    assert not cl.label_issues(labels2, probs2)[0]


def test_normalized_margin_ties_and_unknown_labels():
    labels = np.array([0, 1, -1])
    probs = np.array([[0.5, 0.5, 0.0], [0.1, 0.9, 0.0], [0.2, 0.3, 0.5]])
    m = cl.normalized_margin(labels, probs)
    assert m[0] == pytest.approx(0.5)  # a tie
    assert m[1] == pytest.approx((0.9 - 0.1 + 1) / 2)
    assert np.isnan(m[2])  # the model does not know this label


def test_probability_signal_for_a_label_the_model_does_not_know():
    ids = np.array([10, 11, 12, 13])
    given = np.array(["Tops", "Tops", "Flats", None], dtype=object)
    probs = np.array([[0.9, 0.1], [0.05, 0.95], [0.5, 0.5], [0.5, 0.5]], dtype=np.float32)
    t = cl.probability_signal("image", ids, given, ["Tops", "Tshirts"], probs)
    assert t.loc[11, "image_suggestion"] == "Tshirts" and t.loc[11, "image_score"] == pytest.approx(0.1, abs=1e-6)
    assert t.loc[11, "image_reason"] == "image says Tshirts (0.95, out of sample)"
    assert t.loc[10, "image_score"] == 1.0 and t.loc[10, "image_suggestion"] == ""
    assert np.isnan(t.loc[12, "image_score"]) and not t.loc[12, "is_image_issue"]
    assert t.loc[12, "image_reason"] == "the image model does not know the class Flats"
    assert t.loc[13, "image_reason"] == ""  # no label: nothing to say


def test_encode_maps_unknown_and_blank_to_minus_one():
    assert cl.encode(["b", "x", None, "a"], ["a", "b"]).tolist() == [1, -1, -1, 0]


# -- against cleanlab ------------------------------------------------------------------------------

def _noisy(seed: int, n: int = 400, k: int = 5):
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, k, n)
    truth[:k] = np.arange(k)  # every class present
    logits = rng.normal(0, 1, (n, k))
    logits[np.arange(n), truth] += rng.uniform(0.5, 4, n)
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    labels = truth.copy()
    flip = rng.random(n) < 0.15
    flip[:k] = False
    labels[flip] = (truth[flip] + rng.integers(1, k, flip.sum())) % k
    return labels, probs


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_same_numbers_as_cleanlab(seed):
    count = pytest.importorskip("cleanlab.count")
    filt = pytest.importorskip("cleanlab.filter")
    rank = pytest.importorskip("cleanlab.rank")
    labels, probs = _noisy(seed)
    np.testing.assert_allclose(cl.confident_thresholds(labels, probs), count.get_confident_thresholds(labels, probs))
    np.testing.assert_array_equal(cl.confident_joint(labels, probs),
                                  count.compute_confident_joint(labels, probs, calibrate=False))
    np.testing.assert_array_equal(cl.confident_joint(labels, probs, calibrate=True),
                                  count.compute_confident_joint(labels, probs, calibrate=True))
    ours = cl.label_issues(labels, probs)
    theirs = filt.find_label_issues(labels, probs, filter_by="confident_learning", n_jobs=1)
    np.testing.assert_array_equal(ours, theirs)
    assert ours.sum() > 10  # the comparison is about something
    np.testing.assert_allclose(cl.normalized_margin(labels, probs),
                               rank.get_label_quality_scores(labels, probs, method="normalized_margin",
                                                             adjust_pred_probs=False))
    # the ranking of the issues by normalized margin is cleanlab's
    order = np.flatnonzero(ours)[np.argsort(cl.normalized_margin(labels, probs)[ours], kind="stable")]
    ranked = filt.find_label_issues(labels, probs, filter_by="confident_learning", n_jobs=1,
                                    return_indices_ranked_by="normalized_margin")
    np.testing.assert_array_equal(order, ranked)


def test_thresholds_with_an_absent_class_as_cleanlab():
    count = pytest.importorskip("cleanlab.count")
    labels, probs = _noisy(5, k=4)
    labels = np.where(labels == 3, 0, labels)  # nobody labelled 3 any more
    np.testing.assert_allclose(cl.confident_thresholds(labels, probs), count.get_confident_thresholds(labels, probs))
