"""The look-alike signal: nearest neighbours in feature space, their current labels' vote, and its
place in the queue and the stored issues."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from fashion_review.review.issues import StoredIssues, load_issues, save_issues
from fashion_review.review.neighbour_signal import nearest_neighbours, neighbour_signal
from fashion_review.review.queue import WEIGHTS, build_queue


def test_nearest_neighbours_by_cosine_without_itself_ties_by_row():
    v = np.array([[1.0, 0.0], [2.0, 0.1], [0.0, 1.0], [0.0, 3.0], [1.0, 1.0]], np.float32)
    rows, sims = nearest_neighbours(v, k=2)
    assert rows.dtype == np.int32 and rows.shape == (5, 2)
    assert rows[0].tolist() == [1, 4]  # the scale of a vector does not matter, only its direction
    assert rows[2].tolist() == [3, 4]
    assert 2 not in rows[2] and all(i not in rows[i] for i in range(5))
    assert rows[4].tolist() == [1, 0]  # 1 is a little closer to the diagonal than 0
    assert sims[2, 0] == pytest.approx(1.0, abs=1e-3) and sims[0, 1] == pytest.approx(0.7071, abs=1e-3)
    # exact ties: the lower row first, in any block size
    same = np.ones((6, 3), np.float32)
    for block in (1, 4, 2048):
        r, _ = nearest_neighbours(same, k=3, block=block)
        assert r[0].tolist() == [1, 2, 3] and r[5].tolist() == [0, 1, 2]
    # more rows tied than places (a big group of identical photos): the lowest-numbered take them
    many = np.ones((300, 4), np.float32)
    r, _ = nearest_neighbours(many, k=5, block=64)
    assert r[0].tolist() == [1, 2, 3, 4, 5] and r[299].tolist() == [0, 1, 2, 3, 4]
    # fewer rows than k + 1: the missing places are -1
    r, s = nearest_neighbours(v[:2], k=3)
    assert r.tolist() == [[1, -1, -1], [0, -1, -1]] and s[0, 1] == 0
    assert nearest_neighbours(v[:1], k=3)[0].tolist() == [[-1, -1, -1]]
    with pytest.raises(ValueError, match="must be"):
        nearest_neighbours(np.zeros(3), k=2)


def _given(labels: dict[int, object]) -> pd.Series:
    return pd.Series(labels, dtype=object).rename_axis("id")


def test_the_vote_reads_current_labels_and_ignores_unlabelled_neighbours():
    ids = np.array([1, 2, 3, 4, 5, 6, 7], np.int64)
    nb = np.array([[2, 3, 4, 5], [1, 3, 4, 5], [1, 2, 4, 5], [1, 2, 3, 5], [1, 2, 3, 4],
                   [1, 2, 3, -1], [6, 1, 2, 3]], np.int64)
    given = _given({1: "Tops", 2: "Tshirts", 3: "Tshirts", 4: "Tshirts", 5: np.nan, 6: "Tshirts", 7: "Tops",
                    8: "Tops"})
    t = neighbour_signal(ids, nb, given.dropna())
    # 1 among three Tshirts (5 has no label: it does not vote)
    assert t.loc[1, "neighbours_p_given"] == pytest.approx(0.5 / 4)
    assert bool(t.loc[1, "is_neighbours_issue"]) and t.loc[1, "neighbours_suggestion"] == "Tshirts"
    assert t.loc[1, "neighbours_reason"] == "3 of its 3 labelled closest look-alikes are labelled Tshirts"
    assert t.loc[2, "neighbours_p_given"] == pytest.approx(2.5 / 4) and not t.loc[2, "is_neighbours_issue"]
    assert t.loc[2, "neighbours_suggestion"] == "Tops"  # one other label: suggested, not an issue
    assert t.loc[7, "neighbours_reason"].startswith("3 of its 4 closest look-alikes")  # all four vote
    assert np.isnan(t.loc[8, "neighbours_p_given"])  # no stored neighbours: nothing to say
    assert 5 not in t.index
    # a neighbour corrected: the vote follows at once
    fixed = given.dropna().copy()
    fixed[1] = "Tshirts"
    t2 = neighbour_signal(ids, nb, fixed)
    assert t2.loc[1, "neighbours_p_given"] == pytest.approx(3.5 / 4) and t2.loc[1, "neighbours_suggestion"] == ""
    assert t2.loc[7, "neighbours_p_given"] == pytest.approx(0.5 / 5)


def test_a_tie_of_other_labels_suggests_the_first_alphabetically():
    ids = np.array([1, 2, 3, 4, 5], np.int64)
    nb = np.array([[2, 3, 4, 5]] + [[1, 1, 1, 1]] * 4, np.int64)
    t = neighbour_signal(ids, nb, _given({1: "Heels", 2: "Tops", 3: "Shirts", 4: "Tops", 5: "Shirts"}))
    assert t.loc[1, "neighbours_suggestion"] == "Shirts"
    assert not t.loc[1, "is_neighbours_issue"]  # 2 of 4 is no majority


def _stored_two_classes() -> tuple[StoredIssues, pd.DataFrame]:
    """30 Tshirts and 30 Tops; the name agrees with every label (0.9), the image too, but is unsure
    of the Tops (0.3 Tops, 0.7 Tshirts: not enough alone to flag them)."""
    ids = np.arange(1, 61, dtype=np.int64)
    lab = np.array(["Tshirts"] * 30 + ["Tops"] * 30, dtype=object)
    eff = pd.DataFrame({"gender": "Men", "masterCategory": "Apparel", "subCategory": "Topwear", "articleType": lab,
                        "productDisplayName": "", "baseColour": "Black"}, index=pd.Index(ids, name="id"))
    classes = ["Tops", "Tshirts"]
    p = np.where((lab == "Tops")[:, None], [[0.9, 0.1]], [[0.1, 0.9]]).astype(np.float32)
    img = np.where((lab == "Tops")[:, None], [[0.3, 0.7]], [[0.1, 0.9]]).astype(np.float32)
    stored = StoredIssues("heads", ids, {"articleType": classes}, {"articleType": img}, ids, {"articleType": classes},
                          {"articleType": p}, {"articleType": np.full(60, "", dtype=object)},
                          pd.Series(dtype=np.int64), {}, {"mode": "heads", "folds": 4})
    return stored, eff


def test_the_queue_joins_the_vote_and_the_file_keeps_the_neighbours(tmp_path):
    stored, eff = _stored_two_classes()
    s = "articleType"
    nb = np.tile(np.arange(1, 11, dtype=np.int64), (60, 1))  # everyone's look-alikes: Tshirts 1-10
    nb[:10] = np.arange(11, 21)  # (1-10 do not list themselves)
    with_nb = dataclasses.replace(stored, neighbour_ids=stored.image_ids, neighbours=nb)
    before = build_queue(stored, eff, s, threshold=0.2)
    after = build_queue(with_nb, eff, s, threshold=0.2)
    assert before.entries().empty  # the image alone does not flag the Tops
    flagged = after.entries()
    assert list(flagged.index) == list(range(31, 61))  # every Top among ten Tshirts
    row = flagged.loc[31]
    w, wi = WEIGHTS["neighbours"], WEIGHTS["image"]
    # the look-alikes share the image's weight: image 0.3 ** wi, where there are none 0.3 ** (wi + w)
    assert row["score"] == pytest.approx(0.3 ** wi * 0.9 ** WEIGHTS["name"] * (0.5 / 11) ** w, rel=1e-3)
    assert before.table.loc[31, "score"] == pytest.approx(0.3 ** (wi + w) * 0.9 ** WEIGHTS["name"], rel=1e-3)
    assert "neighbours" in row["signals"].split(",") and row["suggestion"] == "Tshirts"
    assert "10 of its 10 closest look-alikes are labelled Tshirts" in row["reasons"]
    p1 = before.table.loc[1, "image_p_given"]
    assert after.table.loc[1, "score"] == pytest.approx(
        before.table.loc[1, "score"] / p1 ** (wi + w) * p1 ** wi * (10.5 / 11) ** w, rel=1e-5)
    path = save_issues(with_nb, tmp_path / "heads.npz")
    back = load_issues(path)
    np.testing.assert_array_equal(back.neighbours, nb)
    np.testing.assert_array_equal(back.neighbour_ids, stored.image_ids)
    pd.testing.assert_series_equal(build_queue(back, eff, s, threshold=0.2).table["score"], after.table["score"])
    # a file from before the look-alikes: none, and the queue is what it was
    old = load_issues(save_issues(stored, tmp_path / "old.npz"))
    assert old.neighbours.shape == (0, 0)
    pd.testing.assert_series_equal(build_queue(old, eff, s, threshold=0.2).table["score"], before.table["score"])


def test_stored_issues_refuse_neighbours_that_do_not_match(tmp_path):
    from fashion_review.errors import ModelError

    stored = StoredIssues("cv", np.zeros(0, np.int64), {}, {}, np.zeros(0, np.int64), {}, {}, {},
                          pd.Series(dtype=np.int64), neighbour_ids=np.array([1, 2]),
                          neighbours=np.zeros((1, 3), np.int64))
    with pytest.raises(ModelError, match="neighbour rows"):
        load_issues(save_issues(stored, tmp_path / "x.npz"))
