"""The label-issue queue: combined ranking, suggestions, kinds, pairs; and on a real data set, the
queue following corrections, undo and confirmations (which survive a restart)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from _issue_fixtures import pick, synthetic_issues
from fashion_review.data.corrections import EXCLUDED, confirmed_field
from fashion_review.review.issues import ReviewMarks, StoredIssues, latest_issues, load_issues
from fashion_review.review.queue import WEIGHTS, build_queue, combine, current_queue, signal_tables

CLASSES = ["Casual Shoes", "Heels", "Tops", "Tshirts"]


def _frame() -> pd.DataFrame:
    rows = [("Men", "Apparel", "Topwear", "Tshirts", "Puma Men Blue T-shirt")] * 30
    rows += [("Women", "Apparel", "Topwear", "Tops", "Vero Moda Women Red Top")] * 30
    rows += [("Women", "Footwear", "Shoes", "Heels", "Catwalk Women Black Heels")] * 30
    rows += [("Men", "Footwear", "Shoes", "Casual Shoes", "Puma Men Casual Shoes")] * 30
    rows += [("Women", "Footwear", "Shoes", "Flats", "Rocia Women Flats")] * 3  # a class the image model dropped
    df = pd.DataFrame(rows, columns=["gender", "masterCategory", "subCategory", "articleType", "productDisplayName"])
    df["baseColour"] = "Black"
    df.index = pd.Index(np.arange(1, len(df) + 1, dtype=np.int64), name="id")
    return df


def _stored(eff: pd.DataFrame, image: dict[int, str], name: dict[int, str]) -> StoredIssues:
    ids = eff.index.to_numpy(np.int64)
    lab = eff["articleType"].to_numpy(dtype=object)

    def peaked(classes, override):
        p = np.full((len(ids), len(classes)), 0.1 / (len(classes) - 1), np.float32)
        for r, v in enumerate(lab):
            target = override.get(int(ids[r]), v)
            if target in classes:
                p[r] = 0.1 / (len(classes) - 1)
                p[r, classes.index(target)] = 0.9
            else:
                p[r] = 1 / len(classes)
        return p

    name_classes = sorted(set(lab))
    return StoredIssues("cv", ids, {"articleType": CLASSES}, {"articleType": peaked(CLASSES, image)}, ids,
                        {"articleType": name_classes}, {"articleType": peaked(name_classes, name)},
                        {"articleType": np.array([name.get(int(i), "").rstrip("s") for i in ids], dtype=object)},
                        pd.Series(dtype=np.int64), {}, {"mode": "cv", "folds": 4})


def test_two_against_one_ranks_first_and_kinds_and_suggestions():
    eff = _frame()
    both, photo, name_only, flats_name = 61, 62, 63, 121  # Heels products (61-90) and a Flats one
    sibling = 65  # a Heels product the image calls Casual Shoes: both Shoes
    stored = _stored(eff, image={both: "Tops", photo: "Tshirts", 91: "Heels", sibling: "Casual Shoes"},
                     name={both: "Tops", name_only: "Tshirts", 64: "Flats"})
    q = build_queue(stored, eff, "articleType")
    e = q.entries()
    assert e.index[0] == both  # image and name against the label
    assert e.loc[both, "suggestion"] == "Tops" and e.loc[both, "kind"] == "label"
    reasons = e.loc[both, "reasons"]
    assert reasons.startswith("image says Tops (0.90, out of sample); name says 'Top' (Tops 0.90)")
    assert reasons.endswith("label Heels")
    assert e.loc[photo, "kind"] == "photo"  # the image (a T-shirt) against name and label (Heels)
    assert e.loc[photo, "reasons"].startswith("image against name and label (a wrong photo?)")
    # between siblings of one subCategory the image's doubt is a label call, not a wrong photo
    assert e.loc[sibling, "kind"] == "label" and not e.loc[sibling, "reasons"].startswith("image against")
    assert list(e.index) == [both, photo, sibling, 91, name_only, 64]  # equal scores: by id
    assert e.loc[both, "score"] < e.loc[photo, "score"] < e.loc[name_only, "score"]
    # a class the image model does not know can be suggested (from the name)
    assert e.loc[64, "suggestion"] == "Flats"
    # a product whose label the image model does not know: the image says nothing against it
    assert np.isnan(q.table.loc[flats_name, "image_score"])
    assert flats_name not in e.index
    assert set(q.reasons()) == {"image", "name"}
    assert e.loc[both, "suggestions"].split("|")[0] == "Tops"


def test_filters_pairs_and_marks():
    eff = _frame()
    stored = _stored(eff, image={61: "Tops", 62: "Tops", 63: "Tops", 1: "Tops"}, name={61: "Tops", 62: "Tops"})
    q = build_queue(stored, eff, "articleType")
    pairs = q.pairs()
    assert pairs.iloc[0][["given", "suggested", "count"]].tolist() == ["Heels", "Tops", 3]
    assert pairs.iloc[1][["given", "suggested", "count"]].tolist() == ["Tshirts", "Tops", 1]
    assert set(q.entries(pair=("Heels", "Tops")).index) == {61, 62, 63}
    assert set(q.entries(reason="name").index) == {61, 62}
    assert q.entries(kind="photo").index.tolist() == [63]  # a Heels product the image calls a top, name Heels
    assert 1 in q.entries(kind="label").index  # a T-shirt it calls a top, name Tshirts: siblings, a label call
    marked = build_queue(stored, eff, "articleType", ReviewMarks({61: "Heels", 62: "Tops"}, {63}))
    assert 61 not in marked.entries().index  # confirmed as it is now: out of the queue
    assert 62 in marked.entries().index  # confirmed another label than today's: still in doubt
    assert marked.entries(show_reviewed=True).index.isin([61]).any()
    assert marked.progress() == (2, 4)  # 61 confirmed, 63 corrected since, of 4 flagged


def test_combine_takes_other_weights_on_the_same_tables():
    eff = _frame()
    stored = _stored(eff, image={61: "Tops"}, name={61: "Tops", 62: "Tops"})
    given = eff["articleType"]
    tables = signal_tables(stored, eff, "articleType")
    assert "neighbours" not in tables  # no look-alikes: the image takes their share of its weight
    wi = WEIGHTS["image"] + WEIGHTS["neighbours"]
    shipped = combine(tables, given)
    pd.testing.assert_series_equal(combine(tables, given, WEIGHTS)["score"], shipped["score"])
    p_img, p_name = tables["image"].loc[61, "image_p_given"], tables["name"].loc[61, "name_p_given"]
    assert shipped.loc[61, "score"] == pytest.approx(p_img ** wi * p_name ** WEIGHTS["name"])
    no_name = combine(tables, given, {**WEIGHTS, "name": 0.0})
    assert no_name.loc[61, "score"] == pytest.approx(p_img ** wi)
    # the name was all that spoke against 62: without it, only the image's 0.9 for its label is left
    assert no_name.loc[62, "score"] == pytest.approx(tables["image"].loc[62, "image_p_given"] ** wi)
    assert shipped.loc[62, "score"] < 0.1 < no_name.loc[62, "score"]
    assert "name" not in no_name.loc[62, "signals"].split(",")
    half = combine(tables, given, {**WEIGHTS, "image": 0.5})
    assert half.loc[61, "score"] == pytest.approx(p_img ** (0.5 + WEIGHTS["neighbours"]) * p_name ** WEIGHTS["name"])


def test_scores_under_a_thousandth_keep_two_digits():
    """On the full catalog the top of the queue all read "0.000" (scores of 1e-5 to 1e-4)."""
    from fashion_review.review.queue import score_text

    assert [score_text(v) for v in (0.97, 0.0032, 0.001, 0.00032, 3.2e-05, 0.0)] == \
        ["0.970", "0.003", "0.001", "3.2e-04", "3.2e-05", "0.000"]


def test_the_queue_keeps_its_labels_when_the_catalog_is_corrected_in_place():
    """The app corrects its effective catalog in place (ReviewTable.apply_corrections); the queue's
    "given" shared that array and changed under it, so the queue shown said the new label before any
    rebuild, and a product's correction could not be told from the queue."""
    eff = _frame()
    q = build_queue(_stored(eff, {1: "Tops"}, {}), eff, "articleType")
    before = q.table["given"].copy()
    eff.iloc[[0, 1], eff.columns.get_loc("articleType")] = np.array(["Tops", "Tops"], dtype=object)
    pd.testing.assert_series_equal(q.table["given"], before)


def test_threshold():
    eff = _frame()
    stored = _stored(eff, image={61: "Tops"}, name={62: "Tops"})
    assert set(build_queue(stored, eff, "articleType").entries().index) == {61, 62}
    # the image alone (p(given) 0.033: 0.033) against the name alone (0.025 ** 0.8 = 0.052)
    assert set(build_queue(stored, eff, "articleType", threshold=0.04).entries().index) == {61}


def test_a_product_without_a_name_is_not_flagged_by_it_and_a_low_label_is_a_reason():
    eff = _frame()
    stored = _stored(eff, image={}, name={})
    names = stored.name_probs["articleType"]
    row = {int(i): r for r, i in enumerate(stored.name_ids)}
    names[row[5]] = 0.0  # no name at all: the name model has nothing to say
    names[row[6]] = 1.0 / names.shape[1]  # a name that fits every class alike: no other class stands out
    t = build_queue(stored, eff, "articleType", threshold=0.3).table
    assert np.isnan(t.at[5, "name_p_given"]) and t.at[5, "score"] > 0.5 and not t.at[5, "flagged"]
    assert t.at[6, "flagged"]  # 0.9 (image) x 0.2 ** 0.8 (name) = 0.25
    assert "name gives Tshirts only 0.20 (from the name)" in t.at[6, "reasons"]
    assert t.at[6, "signals"] == "name"

# -- on a real data set: corrections, undo, confirmations ----------------------------------------

@pytest.fixture
def sample_ds(sample_dir):
    from fashion_review.data import open_dataset

    ds = open_dataset(sample_dir)
    yield ds
    ds.close()


def test_queue_follows_a_correction_and_its_undo(sample_ds):
    ds = sample_ds
    wrong = pick(ds, "Tshirts", 1)[0]
    stored = synthetic_issues(ds, image_says={wrong: "Shirts"}, name_says={wrong: "Shirts"})
    assert wrong in stored.initial["articleType"]
    q = current_queue(ds, "articleType")
    assert q.entries().index[0] == wrong and q.entries().loc[wrong, "suggestion"] == "Shirts"
    assert q.progress() == (0, len(stored.initial["articleType"]))
    ds.store.correct(wrong, "articleType", "Shirts", old_value="Tshirts")
    after = current_queue(ds, "articleType")
    assert wrong not in after.entries().index  # no retraining: the stored probabilities agree with Shirts
    reviewed, total = after.progress()
    assert reviewed == 1 and total == len(stored.initial["articleType"])
    ds.store.undo()
    back = current_queue(ds, "articleType")
    assert back.entries().index[0] == wrong and back.progress()[0] == 0


def test_the_queue_right_after_a_correction_agrees_with_the_rebuilt_one(sample_ds):
    """mark_changed (what the app shows at once) against build_queue (what it shows a second later)."""
    from fashion_review.review.issues import review_marks
    from fashion_review.review.queue import mark_changed

    ds = sample_ds
    wrong = pick(ds, "Tshirts", 2)
    right = pick(ds, "Heels", 1)[0]
    stored = synthetic_issues(ds, image_says={wrong[0]: "Shirts", wrong[1]: "Shirts", right: "Flats"},
                              name_says={wrong[0]: "Shirts", wrong[1]: "Shirts", right: "Flats"})

    def now(q):
        marks = review_marks(ds.store, "articleType", stored.last_seq)
        return mark_changed(q, changed, ds.effective(), marks), current_queue(ds, "articleType")

    q = current_queue(ds, "articleType")
    assert {*wrong, right} <= set(q.entries().index)
    ds.store.correct(wrong[0], "articleType", "Shirts", old_value="Tshirts")  # the suggestion accepted
    ds.store.correct(right, confirmed_field("articleType"), "Heels", old_value="")  # label is right
    ds.store.correct(wrong[1], EXCLUDED, "true", old_value="false")  # excluded from training: still in doubt
    changed = [wrong[0], right, wrong[1]]
    quick, rebuilt = now(q)
    for t in (quick, rebuilt):
        e = t.entries()
        assert wrong[0] not in e.index and right not in e.index and wrong[1] in e.index
        assert bool(t.table.at[wrong[1], "excluded"]) and t.progress() == rebuilt.progress()
    assert quick.table is not q.table and wrong[0] in q.entries().index  # the queue before is left as it was
    ds.store.undo()  # the exclusion
    ds.store.undo()  # the confirmation: back at once
    changed = [wrong[1], right]
    quick, rebuilt = now(quick)
    assert right in quick.entries().index and right in rebuilt.entries().index
    assert not quick.table.at[wrong[1], "excluded"]
    ds.store.undo()  # the correction: back with the rebuild (its score was for Shirts)
    changed = [wrong[0]]
    quick, rebuilt = now(quick)
    assert quick.table.at[wrong[0], "given"] == "Tshirts" and wrong[0] in rebuilt.entries().index


def test_confirmed_leaves_the_queue_survives_a_restart_and_undoes(sample_dir, sample_ds):
    from fashion_review.data import open_dataset

    ds = sample_ds
    right = pick(ds, "Heels", 1)[0]
    synthetic_issues(ds, image_says={right: "Flats"}, name_says={right: "Flats"})
    assert right in current_queue(ds, "articleType").entries().index
    ds.store.correct(right, confirmed_field("articleType"), "Heels", old_value="", note="label is right")
    assert right not in current_queue(ds, "articleType").entries().index
    assert ds.effective().at[right, "articleType"] == "Heels"  # a confirmation changes no label
    ds.close()
    again = open_dataset(sample_dir)  # a restart
    try:
        q = current_queue(again, "articleType")
        assert right not in q.entries().index and q.table.loc[right, "confirmed"]
        assert q.progress()[0] == 1
        again.store.undo()
        assert right in current_queue(again, "articleType").entries().index
        # a confirmation is of one scheme only
        again.store.correct(right, confirmed_field("gender_master"), "Women Footwear", old_value="")
        assert right in current_queue(again, "articleType").entries().index
    finally:
        again.close()


def test_stored_file_round_trip_and_damage(sample_ds, tmp_path):
    from fashion_review.errors import ModelError
    from fashion_review.review.issues import issues_path, save_issues

    stored = synthetic_issues(sample_ds, image_says={pick(sample_ds, "Jeans")[0]: "Trousers"}, save=False)
    path = save_issues(stored, tmp_path / "cv.npz")
    back = load_issues(path)
    assert back.mode == "cv" and back.meta["recipe"] == "synthetic"
    for s in stored.image_probs:
        np.testing.assert_array_equal(back.image_probs[s], stored.image_probs[s])
        assert back.image_classes[s] == stored.image_classes[s]
    for s in stored.initial:
        np.testing.assert_array_equal(back.initial[s], stored.initial[s])
    assert back.name_words["articleType"].tolist() == stored.name_words["articleType"].tolist()
    assert latest_issues(sample_ds.home) is None  # nothing stored under the data set's home yet
    bad = issues_path(sample_ds.home, "heads")
    bad.parent.mkdir(parents=True, exist_ok=True)
    bad.write_bytes(b"not an npz")
    with pytest.raises(ModelError, match="not a readable label-issues file"):
        latest_issues(sample_ds.home)
    assert "heads mode" in StoredIssues("heads", *([None] * 8), meta={"run": "r1"}).label


# -- mode cv: the out-of-sample probabilities averaged with the active model's -------------------

def test_mix_probabilities_matches_rows_by_id_and_columns_by_name():
    from fashion_review.review.issues import mix_probabilities

    ids = np.array([10, 20, 30], np.int64)
    classes = ["A", "B", "C"]
    cv = np.array([[0.6, 0.3, 0.1], [0.2, 0.7, 0.1], [0.1, 0.1, 0.8]], np.float32)
    # the other model: rows in another order, 30 missing, 40 extra; no column C, an extra class D
    other_ids = np.array([20, 40, 10], np.int64)
    other = np.array([[0.1, 0.1, 0.8], [0.5, 0.5, 0.0], [0.0, 0.5, 0.5]], np.float32)
    out = mix_probabilities(ids, classes, cv, other_ids, ["B", "A", "D"], other, 0.5)
    assert out.shape == cv.shape and out.dtype == np.float32
    np.testing.assert_allclose(out.sum(axis=1), 1.0, atol=1e-6)
    np.testing.assert_allclose(out[2], cv[2])  # no row in the other model: its own values
    # 10: the other model says B 0.0, A 0.5 (D 0.5 is not a class here); C its own 0.1; renormalised
    a_b_c = np.array([0.5, 0.0, 0.1]) / 0.6
    np.testing.assert_allclose(out[0], 0.5 * cv[0] + 0.5 * a_b_c, atol=1e-6)
    # 20: B 0.1 and A 0.1 from the other model, C its own 0.1
    np.testing.assert_allclose(out[1], 0.5 * cv[1] + 0.5 * np.array([1 / 3, 1 / 3, 1 / 3]), atol=1e-6)
    np.testing.assert_allclose(mix_probabilities(ids, classes, cv, other_ids, ["B", "A", "D"], other, 0.0), cv)
    # nothing in common: its own values everywhere
    np.testing.assert_allclose(mix_probabilities(ids, classes, cv, np.array([99]), ["A"], np.ones((1, 1)), 0.5), cv)


def _with_active(stored: StoredIssues, eff: pd.DataFrame, says: dict[int, str]) -> StoredIssues:
    """``stored`` with an active model that agrees with the labels of ``eff`` (0.9) except where ``says``."""
    import dataclasses

    ids = stored.image_ids
    classes = ["Tshirts", "Tops", "Heels", "Casual Shoes", "Sandals"]  # its own order and an extra class
    p = np.full((len(ids), len(classes)), 0.1 / (len(classes) - 1), np.float32)
    for r, i in enumerate(ids):
        target = says.get(int(i), eff.at[int(i), "articleType"])
        if target in classes:
            p[r, classes.index(target)] = 0.9
        else:  # a class it does not know
            p[r] = 1 / len(classes)
    return dataclasses.replace(stored, active_ids=ids[::-1].copy(), active_classes={"articleType": classes},
                               active_probs={"articleType": p[::-1].copy()}, meta={**stored.meta, "active_run": "r7"})


def test_cv_image_signal_averages_the_active_model_in_and_says_so():
    eff = _frame()
    stored = _stored(eff, image={61: "Tops", 62: "Tops"}, name={})
    alone = build_queue(stored, eff, "articleType").table
    both = _with_active(stored, eff, {62: "Tops", 63: "Tops"})
    assert both.joined("articleType") and not stored.joined("articleType")
    t = build_queue(both, eff, "articleType").table
    # 61: the cv models say Tops (p(Heels) 0.033), the active model Heels (0.9 of the 0.975 it gives the
    # four classes the cv models know; its Sandals 0.025 is no class here): the average gives 0.48
    assert alone.at[61, "image_p_given"] == pytest.approx(0.1 / 3, abs=1e-4)
    assert t.at[61, "image_p_given"] == pytest.approx(0.5 * 0.1 / 3 + 0.5 * 0.9 / 0.975, abs=1e-4)
    assert alone.at[61, "flagged"] and not t.at[61, "flagged"]
    # 62: both say Tops: flagged, the reason names both sources
    assert t.at[62, "flagged"] and t.at[62, "suggestion"] == "Tops"
    assert "image says Tops (0.91, out of sample and the active model)" in t.at[62, "reasons"]
    # 63: only the active model says Tops: lower than the cv models alone give it, not flagged by one model
    assert t.at[63, "image_p_given"] < alone.at[63, "image_p_given"] and not t.at[63, "flagged"]
    assert "averaged with the active model r7" in both.label
    # heads mode stands on the active model's backbone already: no average, and the reasons say heads mode
    import dataclasses

    heads = dataclasses.replace(both, mode="heads")
    assert not heads.joined("articleType")
    th = build_queue(heads, eff, "articleType").table
    assert th.at[61, "flagged"] and "heads mode" in th.at[61, "reasons"]


def test_active_probabilities_survive_the_file_and_old_files_load(tmp_path):
    from fashion_review.errors import ModelError
    from fashion_review.review.issues import save_issues

    eff = _frame()
    both = _with_active(_stored(eff, image={61: "Tops"}, name={}), eff, {62: "Tops"})
    back = load_issues(save_issues(both, tmp_path / "cv.npz"))
    np.testing.assert_array_equal(back.active_ids, both.active_ids)
    assert back.active_classes == both.active_classes
    np.testing.assert_array_equal(back.active_probs["articleType"], both.active_probs["articleType"])
    np.testing.assert_allclose(back.image_witness("articleType"), both.image_witness("articleType"))
    # a file written before the active model's probabilities were stored: the cv ones alone
    with np.load(tmp_path / "cv.npz") as z:
        old = {k: z[k] for k in z.files if not k.startswith("active_")}
    np.savez(tmp_path / "old.npz", **old)
    legacy = load_issues(tmp_path / "old.npz")
    assert not legacy.joined("articleType") and legacy.active_ids.size == 0
    np.testing.assert_array_equal(legacy.image_witness("articleType"), both.image_probs["articleType"])
    # damaged: the probabilities do not fit the ids
    old["active_ids"] = both.active_ids[:-1]
    old["active_schemes"] = np.asarray(["articleType"])
    old["active_classes__articleType"] = np.asarray(both.active_classes["articleType"])
    old["active_probs__articleType"] = both.active_probs["articleType"]
    np.savez(tmp_path / "bad.npz", **old)
    with pytest.raises(ModelError, match="active model's probabilities of articleType have shape"):
        load_issues(tmp_path / "bad.npz")
