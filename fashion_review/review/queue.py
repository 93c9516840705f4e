"""The label-issue queue: the signals of one scheme joined into one score, suggestions and reasons.

Signals (each a plain function from arrays to a table with ``<kind>_score`` in [0, 1], 0 = surely
a label issue and 1 = nothing to say against the label, ``is_<kind>_issue``, a suggestion and a
reason in words):

==============  ==========================================================================  ======
kind            what it reads                                                               weight
==============  ==========================================================================  ======
``image``       the image model's out-of-sample probabilities (in mode cv averaged with      0.67
                the active model's, :meth:`~fashion_review.review.issues.StoredIssues.image_witness`),
                confident learning
``name``        the name model's out-of-sample probabilities, confident learning             0.8
``neighbours``  the current labels of the 20 closest look-alikes in the image model's         0.33
                embedding space (:mod:`~fashion_review.review.neighbour_signal`)
``hierarchy``   the product's labels against the catalog's majority mapping                  0.8
``duplicate``   identical photos whose labels differ                                         0.6
``heads``       the image model's heads contradicting each other                             0.4
==============  ==========================================================================  ======

Combined **score**: the chance the signals together leave the label, a weighted product.  The
image and name signals give the probability of the label itself, ``p(given) ** weight`` (their
self-confidence, out of sample), the look-alikes likewise the smoothed share of them labelled as
the product is.  The look-alikes are found in the image model's own embedding, so they are not a
second witness beside the image: they *share* its weight (0.67 + 0.33 = 1), refining the image's
evidence rather than doubling it; a product without look-alikes (no embeddings stored, none of
them labelled) gives the image the whole 1.0.  Measured side by side
(``benchmarks/queue_weightings.py``, one 8-epoch heads-mode run of 1,632 planted flips, and the
real top 100 judged by eye): shared 0.67 / 0.33 gave P@k 0.917 (label flipped) / 0.748 (label and
name) and 75 real defects of 100; added on top of the image's full weight (0.5, the first
version) 0.907 / 0.767 and 68, most of the difference being model confusions (Shirts / Tshirts)
that image and look-alikes both back against name and label; no look-alikes 0.915 / 0.740 and 74.
The other signals, whose scores are not probabilities, give ``1 - weight * evidence``
(evidence = 1 - the signal's score).  0 = surely an issue, 1 = no signal against the label.
Two independent signals against one label multiply: image p(given) 0.1 and name 0.1 give 0.016,
the image alone 0.1, the name alone 0.16 (with look-alikes: image 0.1 and look-alikes 0.1 give
the image's side 0.1, the image 0.1 and look-alikes all labelled as the product 0.21).  A product is **flagged** when its score is at most the
threshold (0.1).  Why self-confidence and a product rather than the
normalized margin in a noisy-OR (the first version): on 1,632 planted flips of the full catalog
(``benchmarks/label_issues.py``) the self-confidence ranks the planted flips better than the
margin for both signals (image P@k 0.81 against 0.74, heads mode), and the product of the
two probabilities better than the noisy-OR (0.91 against 0.86 when only the label was flipped,
0.74 against 0.72 when the name was changed with it); confident learning still says which
products its thresholds flag (``is_<kind>_issue``, in the reasons), it no longer scales the weight.

Each flagged product's **suggestions** are the classes with the most support, its label excluded:
``image p(c) + 0.8 name p(c)`` (the image with its whole weight, 1.0) plus each other signal's ``weight * evidence`` for the class it
suggests, so the name and hierarchy signals can propose a class the image model does not know.
Its **kind** is "photo" when the image contradicts a label that the name supports (a wrong photo
is as likely as a wrong label) and the image's class is of another family than the label's
(:data:`~fashion_review.review.hierarchy.FAMILY`: another subCategory for an articleType), else
"label": between siblings (Casual and Sports Shoes) the image model's doubt is a label call.  In
the real articleType top 100 (``benchmarks/results/label-issues-real-heads/tally.csv``) the 13
"photo" entries were 8 wrong photos, 3 judgement calls and 2 right labels; the family rule makes
the three judgement calls (Kurtas -> Tshirts, Tops -> Shirts, Tops -> Kurtas) "label" and keeps
all 8 wrong photos (``benchmarks/photo_kind.py``).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from fashion_review.data.ids import index_of
from fashion_review.data.schemes import scheme_labels
from fashion_review.review.confident import probability_signal
from fashion_review.review.hierarchy import class_families, heads_signal, hierarchy_signal
from fashion_review.review.issues import ReviewMarks, StoredIssues
from fashion_review.review.neighbour_signal import neighbour_signal
from fashion_review.review.photo_signal import duplicate_signal
from fashion_review.review.text_signal import NameProbabilities, name_signal

KINDS = ("image", "name", "neighbours", "hierarchy", "duplicate", "heads")
WEIGHTS = {"image": 0.67, "name": 0.8, "neighbours": 0.33, "hierarchy": 0.8, "duplicate": 0.6, "heads": 0.4}
#: Signals whose score is the probability of the label (self-confidence): a factor p ** weight.
LIKELIHOODS = ("image", "name", "neighbours")
THRESHOLD = 0.1
#: Below this, a probability is this (one signal alone never makes a score 0).
FLOOR = 1e-4
#: A signal "fired" for a product (is named in its reasons) when it takes at least this off its score.
FIRED = 0.3
SUGGESTIONS = 3


def score_text(v: float) -> str:
    """A combined score as shown: three decimals, or two significant digits under 0.001 (on the full
    catalog the top of the queue all read "0.000": the order was there, the numbers said nothing)."""
    return f"{v:.3f}" if v >= 0.001 or v == 0 else f"{v:.1e}"


def signal_tables(stored: StoredIssues, effective: pd.DataFrame, scheme: str) -> dict[str, pd.DataFrame]:
    """Every signal's table for ``scheme`` over the products of ``effective`` with a label."""
    given = scheme_labels(effective, scheme)
    given = given[given.notna()]
    ids = given.index.to_numpy(dtype=np.int64)
    out: dict[str, pd.DataFrame] = {}
    if scheme in stored.image_probs:
        img_given = given.reindex(stored.image_ids).to_numpy(dtype=object)
        t = probability_signal("image", stored.image_ids, img_given, stored.image_classes[scheme],
                               stored.image_witness(scheme), describe=stored.witness_describe(scheme))
        out["image"] = t[pd.notna(img_given)].reindex(ids)
    if scheme in stored.name_probs:
        names = NameProbabilities(stored.name_classes[scheme], stored.name_probs[scheme], stored.name_words[scheme])
        name_given = given.reindex(stored.name_ids).to_numpy(dtype=object)
        out["name"] = name_signal(stored.name_ids, name_given, names).reindex(ids)
    if len(stored.neighbour_ids):
        out["neighbours"] = neighbour_signal(stored.neighbour_ids, stored.neighbours, given)
    sub = effective.loc[ids]
    out["hierarchy"] = hierarchy_signal(sub, scheme)
    out["duplicate"] = duplicate_signal(stored.duplicate_groups, given)
    if stored.image_probs:
        eff_img = effective.reindex(stored.image_ids)
        t = heads_signal(stored.image_ids, stored.image_classes, stored.image_probs, eff_img, scheme,
                         describe=stored.describe)
        out["heads"] = t.reindex(ids)
    return out


def combine(tables: dict[str, pd.DataFrame], given: pd.Series, weights: dict[str, float] | None = None) -> pd.DataFrame:
    """The combined ``score`` (see the module docstring) with each signal's columns beside it;
    ``weights`` (default :data:`WEIGHTS`) lets a benchmark compare weightings on the same tables."""
    weights = WEIGHTS if weights is None else weights
    ids = given.index
    # a copy: the array of scheme_labels() can be the effective catalog's own, which the app corrects in place
    # (the queue's "given" once changed under it with each correction, before any rebuild)
    frame = pd.DataFrame({"given": given.to_numpy(dtype=object, copy=True)}, index=ids)
    score = np.ones(len(ids))
    fired = []
    nb = tables.get("neighbours")
    no_nb = (np.ones(len(ids), dtype=bool) if nb is None
             else np.isnan(nb["neighbours_p_given"].reindex(ids).to_numpy(dtype=np.float64)))
    for kind in KINDS:
        t = tables.get(kind)
        if t is None:
            continue
        t = t.reindex(ids)
        w = weights.get(kind, 0.0)
        if kind == "image":  # the look-alikes' share goes back to the image where there are none
            w = np.where(no_nb, w + weights.get("neighbours", 0.0), w)
        issue = t[f"is_{kind}_issue"].fillna(False).to_numpy(dtype=bool)
        if kind in LIKELIHOODS:  # NaN: the model does not know the label, nothing against it
            p_given = np.nan_to_num(t[f"{kind}_p_given"].to_numpy(dtype=np.float64), nan=1.0)
            factor = np.clip(p_given, FLOOR, 1.0) ** w
        else:
            evidence = np.nan_to_num(1.0 - t[f"{kind}_score"].to_numpy(dtype=np.float64), nan=0.0)
            factor = 1.0 - w * evidence
        score *= factor
        fired.append((kind, (1.0 - factor >= FIRED) | (issue & (1.0 - factor >= 0.1))))
        for c in t.columns:
            frame[c] = t[c].to_numpy()
    frame["score"] = score
    frame["signals"] = [",".join(k for k, f in fired if f[i]) for i in range(len(ids))] if fired else ""
    return frame


@dataclass
class IssueQueue:
    """One scheme's issues: ``table`` has a row for every product with a label (see :func:`build_queue`)."""

    scheme: str
    table: pd.DataFrame
    stored: StoredIssues
    threshold: float = THRESHOLD
    initial: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))

    def entries(self, *, reason: str | None = None, pair: tuple[str, str] | None = None,
                show_reviewed: bool = False, kind: str | None = None) -> pd.DataFrame:
        """The queue: flagged products not confirmed, by score (then id); filters optional.

        ``show_reviewed`` adds the confirmed ones and those flagged when the issues were found that
        a correction has since taken out of the queue.
        """
        t = self.table
        keep = t["flagged"].to_numpy() & ~t["confirmed"].to_numpy()
        if show_reviewed:
            keep = keep | (t["flagged"].to_numpy() & t["confirmed"].to_numpy()) | t.index.isin(self.initial)
        if reason:
            keep &= np.array([reason in s.split(",") for s in t["signals"].tolist()], dtype=bool)
        if kind:
            keep &= (t["kind"] == kind).to_numpy()
        if pair is not None:
            keep &= ((t["given"] == pair[0]) & (t["suggestion"] == pair[1])).to_numpy()
        out = t[keep]
        return out.iloc[np.lexsort((out.index.to_numpy(), out["score"].to_numpy()))]

    def progress(self) -> tuple[int, int]:
        """(reviewed, total): products in the queue now or when the issues were found, and how many
        of them a curator confirmed or corrected since."""
        t = self.table
        universe = t["flagged"].to_numpy() | t.index.isin(self.initial)
        return int((universe & t["reviewed"].to_numpy()).sum()), int(universe.sum())

    def pairs(self) -> pd.DataFrame:
        """Class pairs "given -> suggested" of the queue, most products first (``count``, ``mean_score``)."""
        e = self.entries()
        e = e[e["suggestion"] != ""]
        if e.empty:
            return pd.DataFrame(columns=["given", "suggested", "count", "mean_score"])
        g = e.groupby(["given", "suggestion"], sort=False)["score"].agg(["size", "mean"]).reset_index()
        g.columns = ["given", "suggested", "count", "mean_score"]
        return g.sort_values(["count", "mean_score"], ascending=[False, True], kind="stable").reset_index(drop=True)

    def reasons(self) -> list[str]:
        """The signal kinds that fired for at least one product in the queue."""
        seen = {k for s in self.entries()["signals"].tolist() for k in s.split(",") if k}
        return [k for k in KINDS if k in seen]

    def row(self, product_id: int) -> pd.Series | None:
        return self.table.loc[product_id] if product_id in self.table.index else None


def _support_rows(stored: StoredIssues, scheme: str, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    img = index_of(stored.image_ids, ids) if scheme in stored.image_probs else np.full(len(ids), -1)
    name = index_of(stored.name_ids, ids) if scheme in stored.name_probs else np.full(len(ids), -1)
    return img, name


def _top_rows(probs: np.ndarray | None, classes: list[str], rows: np.ndarray, k: int = 4) -> list[list[tuple[str, float]]]:
    """The ``k`` most probable classes (with their probability) of each row of ``probs`` (-1: none)."""
    if probs is None or not len(rows):
        return [[] for _ in rows]
    ok = rows >= 0
    out: list[list[tuple[str, float]]] = [[] for _ in rows]
    if not ok.any():
        return out
    sub = probs[rows[ok]]
    k = min(k, sub.shape[1])
    best = np.argsort(-sub, axis=1, kind="stable")[:, :k]
    vals = np.take_along_axis(sub, best, axis=1)
    for r, pos in enumerate(np.flatnonzero(ok)):
        out[pos] = [(classes[j], float(v)) for j, v in zip(best[r], vals[r]) if v > 0]
    return out


def build_queue(stored: StoredIssues, effective: pd.DataFrame, scheme: str, marks: ReviewMarks | None = None,
                *, threshold: float = THRESHOLD) -> IssueQueue:
    """The queue of ``scheme`` from the stored probabilities and the current labels in ``effective``.

    ``table`` columns: ``given``, ``score``, ``flagged`` (score <= threshold), ``kind``,
    ``signals`` (the kinds that fired, comma-separated), ``suggestion``, ``suggestions`` (up to 3,
    "|"-separated), ``reasons`` (words), ``confirmed``, ``corrected``, ``reviewed``, ``excluded``
    (from training: acted on, the label still in doubt, so not reviewed), and every
    signal's own columns.  Suggestions and reasons are filled for flagged products only.
    """
    marks = marks or ReviewMarks({}, set())
    given = scheme_labels(effective, scheme)
    given = given[given.notna()]
    tables = signal_tables(stored, effective, scheme)
    t = combine(tables, given)
    n = len(t)
    t["flagged"] = t["score"].to_numpy() <= threshold
    ids = t.index.to_numpy(dtype=np.int64)
    glab = t["given"].to_numpy(dtype=object)
    conf_label = pd.Series(marks.confirmed, dtype=object).reindex(ids).to_numpy(dtype=object)
    t["confirmed"] = conf_label == glab
    t["corrected"] = np.isin(ids, np.fromiter(marks.corrected, dtype=np.int64, count=len(marks.corrected)))
    t["reviewed"] = t["confirmed"].to_numpy() | t["corrected"].to_numpy()
    # excluded from training (by hand, or in bulk from the queue): still in doubt, but acted on
    t["excluded"] = (effective["excluded"].reindex(ids).fillna(False).to_numpy(dtype=bool)
                     if "excluded" in effective.columns else np.zeros(n, dtype=bool))
    kind = np.full(n, "label", dtype=object)
    suggestion = np.full(n, "", dtype=object)
    suggestions = np.full(n, "", dtype=object)
    reasons = np.full(n, "", dtype=object)
    flagged = np.flatnonzero(t["flagged"].to_numpy() | t.index.isin(stored.initial.get(scheme, [])))
    img_row, name_row = _support_rows(stored, scheme, ids[flagged])
    cols = {c: t[c].to_numpy() for c in t.columns if c.endswith(("_score", "_suggestion", "_reason", "_p_given"))}
    signals = t["signals"].to_numpy(dtype=object)
    img_top = _top_rows(stored.image_witness(scheme) if scheme in stored.image_probs else None,
                        stored.image_classes.get(scheme, []), img_row)
    name_top = _top_rows(stored.name_probs.get(scheme), stored.name_classes.get(scheme, []), name_row)
    family = class_families(effective, scheme)
    img_e = 1.0 - np.nan_to_num(cols["image_score"], nan=1.0) if "image_score" in cols else np.zeros(n)
    name_pg = np.nan_to_num(cols["name_p_given"]) if "name_p_given" in cols else np.zeros(n)
    img_sugg = cols["image_suggestion"] if "image_suggestion" in cols else np.full(n, "", dtype=object)
    name_index = {c: j for j, c in enumerate(stored.name_classes.get(scheme, []))}
    others = [(o, cols[f"{o}_suggestion"], 1.0 - np.nan_to_num(cols[f"{o}_score"], nan=1.0))
              for o in ("neighbours", "hierarchy", "duplicate", "heads") if f"{o}_suggestion" in cols]
    reason_cols = {k: cols[f"{k}_reason"] for k in KINDS if f"{k}_reason" in cols}
    for k, i in enumerate(flagged):
        support: dict[str, float] = defaultdict(float)
        for c, p in img_top[k]:  # the image side's whole weight: its share and the look-alikes' (see combine)
            support[c] += (WEIGHTS["image"] + WEIGHTS["neighbours"]) * p
        for c, p in name_top[k]:
            support[c] += WEIGHTS["name"] * p
        for other, sugg, ev in others:
            if isinstance(sugg[i], str) and sugg[i]:
                support[sugg[i]] += WEIGHTS[other] * ev[i]
        support.pop(glab[i], None)
        ranked = [c for c, v in sorted(support.items(), key=lambda cv: (-cv[1], cv[0])) if v >= 0.1][:SUGGESTIONS]
        suggestion[i] = ranked[0] if ranked else ""
        suggestions[i] = "|".join(ranked)
        name_backs_image = False
        j = name_index.get(img_sugg[i])
        if j is not None and name_row[k] >= 0:
            name_backs_image = stored.name_probs[scheme][name_row[k], j] >= 0.2
        # A sibling class (Casual against Sports Shoes) is a label call, whatever the name says; a
        # photo of another kind of product (a wallet filed as Casual Shoes) may be the wrong photo.
        image_family = family.get(img_sugg[i])
        siblings = image_family is not None and image_family == family.get(glab[i])
        if img_e[i] >= 0.5 and name_pg[i] >= 0.5 and not name_backs_image and not siblings:
            kind[i] = "photo"
        fired = signals[i].split(",") if signals[i] else []
        parts = [reason_cols[f][i] for f in fired if f in reason_cols and reason_cols[f][i]]
        prefix = "image against name and label (a wrong photo?): " if kind[i] == "photo" else ""
        reasons[i] = prefix + "; ".join(parts + [f"label {glab[i]}"])
    t["kind"] = kind
    t["suggestion"] = suggestion
    t["suggestions"] = suggestions
    t["reasons"] = reasons
    return IssueQueue(scheme, t, stored, threshold, np.asarray(stored.initial.get(scheme, []), dtype=np.int64))


def mark_changed(queue: IssueQueue, ids, effective: pd.DataFrame, marks: ReviewMarks) -> IssueQueue:  # noqa: ANN001
    """``queue`` as it stands right after a correction of ``ids``, before :func:`build_queue` has run again.

    :func:`build_queue` over the full catalog takes about a second, and a curator goes through the
    queue a key per product: the app shows this at once and the rebuilt queue when it is ready.  A
    product's review marks, exclusion and label are read now; a product whose label changed leaves
    the queue (its score was for the old label: the rebuild says whether the new one is in doubt too,
    and brings back a label an undo restored).
    """
    t = queue.table
    ids = [int(i) for i in np.asarray(ids, dtype=np.int64) if int(i) in t.index]
    if not ids:
        return queue
    t = t.copy()
    now = scheme_labels(effective.loc[ids], queue.scheme)
    for pid in ids:
        label = now.at[pid]
        label = None if pd.isna(label) else str(label)
        if label != t.at[pid, "given"]:
            t.at[pid, "given"] = label if label is not None else ""
            t.at[pid, "flagged"] = False
        confirmed = label is not None and marks.confirmed.get(pid) == label
        corrected = pid in marks.corrected
        t.at[pid, "confirmed"] = confirmed
        t.at[pid, "corrected"] = corrected
        t.at[pid, "reviewed"] = confirmed or corrected
        if "excluded" in effective.columns:
            t.at[pid, "excluded"] = bool(effective.at[pid, "excluded"])
    return replace(queue, table=t)


def current_queue(ds, scheme: str, *, mode: str | None = None, effective: pd.DataFrame | None = None,  # noqa: ANN001
                  threshold: float = THRESHOLD) -> IssueQueue | None:
    """The queue of ``scheme`` for the data set ``ds`` now: its stored issues (``mode``, else the
    newest), its current labels and review marks.  None when no issues were found yet."""
    from fashion_review.review.issues import latest_issues, review_marks

    stored = latest_issues(ds.home, mode)
    if stored is None:
        return None
    eff = ds.effective() if effective is None else effective
    return build_queue(stored, eff, scheme, review_marks(ds.store, scheme, stored.last_seq), threshold=threshold)
