"""The closest look-alikes disagree with the label: a product labelled Tops among ten Tshirts.

A k-nearest-neighbour vote in the image model's feature space (Bahri, Jiang and Gupta, "Deep k-NN
for noisy labels", ICML 2020): the image signal asks the model's head what the photo is; this
asks the *labels of the products whose photos look most like it*.  It fails differently: a head
that learnt a product's wrong label gives it a high probability, while its neighbours' labels
are other products' and mostly right.

Two steps, like the identical-photo signal: :func:`nearest_neighbours` (slow, once, when the label
issues are found and stored with them) and :func:`neighbour_signal`, which reads the neighbours'
*current* labels, so a correction of a neighbour takes effect at once.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from fashion_review.data.ids import index_of

#: Neighbours stored per product (the vote uses all of them).  On 1,632 planted flips of the full
#: catalog (benchmarks/label_issues.py, heads mode) the vote alone ranked them at P@k 0.71 with 10,
#: 0.78 with 20, 0.80 with 30; with the image model's p(given), 20 was as good as 30.
K = 20
#: Rows per block of the similarity matrix (block x N float32 in memory at once).
BLOCK = 2048


def nearest_neighbours(vectors: np.ndarray, k: int = K, *, block: int = BLOCK) -> tuple[np.ndarray, np.ndarray]:
    """(rows, similarities) of each row's ``k`` most cosine-similar other rows, most similar first.

    ``vectors``: (N, D), any float dtype.  Returns int32 (N, k) row numbers and float16 (N, k)
    cosine similarities; a row never lists itself; ties are broken by the lower row number.  With
    fewer than k + 1 rows, the missing places are -1 (similarity 0).
    """
    x = np.asarray(vectors, dtype=np.float32)
    if x.ndim != 2:
        raise ValueError(f"vectors must be (N, D), got shape {x.shape}")
    n = len(x)
    x = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
    rows = np.full((n, k), -1, np.int32)
    sims = np.zeros((n, k), np.float16)
    m = min(k, n - 1)
    if m <= 0:
        return rows, sims
    for a in range(0, n, block):
        s = x[a:a + block] @ x.T
        r = np.arange(len(s))
        s[r, a + r] = -np.inf
        # argpartition then a sort by (-similarity, row).  argpartition picks any of the rows tied
        # with the m-th similarity; where more rows share it than places are left (identical
        # photos), the lowest-numbered ones take those places.
        part = np.argpartition(-s, m - 1, axis=1)[:, :m]
        v = np.take_along_axis(s, part, axis=1)
        last = v.min(axis=1)
        for i in np.flatnonzero((s >= last[:, None]).sum(axis=1) > m):
            above = np.flatnonzero(s[i] > last[i])
            tied = np.flatnonzero(s[i] == last[i])[:m - len(above)]
            part[i] = np.concatenate([above, tied])
            v[i] = s[i, part[i]]
        order = np.lexsort((part, -v), axis=1)
        rows[a:a + block, :m] = np.take_along_axis(part, order, axis=1)
        sims[a:a + block, :m] = np.take_along_axis(v, order, axis=1)
    return rows, sims


def neighbour_signal(ids: np.ndarray, neighbours: np.ndarray, given: pd.Series) -> pd.DataFrame:
    """The ``neighbours_*`` table over ``given``'s products (id -> current label, NaN when blank).

    ``ids`` (N,) and ``neighbours`` (N, k): each stored product's neighbours as product ids (-1:
    none).  A product's vote counts its neighbours that have a label in this scheme:
    ``neighbours_p_given`` = (those labelled as it is + 0.5) / (those with a label + 1), the
    smoothed share, used as a likelihood like the image model's p(given); NaN (nothing to say)
    for a product without stored neighbours or with no labelled neighbour.  ``is_neighbours_issue``:
    most labelled neighbours carry one other label; ``neighbours_suggestion``: the most common
    other label (ties: alphabetical).
    """
    out_ids = given.index.to_numpy(dtype=np.int64)
    n = len(out_ids)
    p_given = np.full(n, np.nan)
    issue = np.zeros(n, dtype=bool)
    suggestion = np.full(n, "", dtype=object)
    reason = np.full(n, "", dtype=object)
    ids = np.asarray(ids, dtype=np.int64)
    nb = np.asarray(neighbours, dtype=np.int64).reshape(len(ids), -1)
    if len(ids) and n:
        row = index_of(ids, out_ids)
        labels = given.to_numpy(dtype=object)
        lab = pd.Series(labels, index=out_ids)
        lab = lab[lab.notna()]
        # Counted with arrays, not a Counter per product: this runs after every correction, and the loop
        # took 0.3-0.4 s of each one on the full catalog. Classes in alphabetical order, so that the
        # first of the most common is the alphabetical one (the ties rule).
        classes = np.array(sorted({v for v in lab.to_numpy(dtype=object) if isinstance(v, str) and v}), dtype=object)
        code = {c: j for j, c in enumerate(classes)}
        lab_code = np.fromiter((code.get(v, -1) if isinstance(v, str) else -1 for v in lab.to_numpy(dtype=object)),
                               dtype=np.int64, count=len(lab))
        by_id = pd.Series(lab_code, index=lab.index)
        nb_code = by_id.reindex(nb[np.maximum(row, 0)].ravel()).fillna(-1).to_numpy(dtype=np.int64).reshape(n, -1)
        own = np.fromiter((code.get(v, -1) if isinstance(v, str) else -1 for v in labels), dtype=np.int64, count=n)
        width = max(1, len(classes))
        r, c = np.nonzero(nb_code >= 0)
        counts = np.bincount(r * width + nb_code[r, c], minlength=n * width).reshape(n, width)
        votes = counts.sum(axis=1)
        live = (row >= 0) & pd.notna(labels) & (votes > 0)
        same = np.where(own >= 0, counts[np.arange(n), np.maximum(own, 0)], 0)
        p_given[live] = (same[live] + 0.5) / (votes[live] + 1)
        others = counts  # the votes for other labels: the own label's column zeroed (in place, no copy)
        others[np.arange(n)[own >= 0], own[own >= 0]] = 0
        most = others.max(axis=1)
        best = others.argmax(axis=1)
        has = live & (most > 0)
        suggestion[has] = classes[best[has]]
        issue[has] = most[has] > votes[has] / 2
        k_all = nb.shape[1]
        for i in np.flatnonzero(has):
            of = f"{votes[i]}" if votes[i] == k_all else f"{votes[i]} labelled"
            reason[i] = f"{most[i]} of its {of} closest look-alikes are labelled {suggestion[i]}"
    return pd.DataFrame({"neighbours_p_given": p_given, "neighbours_score": p_given,
                         "is_neighbours_issue": issue, "neighbours_suggestion": suggestion,
                         "neighbours_reason": reason}, index=pd.Index(out_ids, name="id"))
