"""Identical photos with different labels: at least one label of such a group is wrong.

The groups come from :func:`fashion_review.review.duplicates.exact_groups` (decoded pixels
hashed), computed once when the label issues are found and stored with them; which labels
disagree is decided here from the *current* labels, so a correction takes effect at once.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import pandas as pd


def duplicate_signal(groups: pd.Series, given: pd.Series) -> pd.DataFrame:
    """The ``duplicate_*`` table over ``given``'s products (id -> current label, NaN when blank).

    For a product in a group of identical photos: evidence = the share of the *other* members
    (with a label) whose label differs from its own; ``duplicate_score`` = 1 - that (1 for a
    product in no group, or in a group that agrees).  ``duplicate_suggestion``: the most common
    differing label among the others (ties: alphabetical); ``duplicate_group``: the group number
    (-1 for none), so the app can show the identical photos.
    """
    ids = given.index.to_numpy(dtype=np.int64)
    n = len(ids)
    score = np.where(given.notna().to_numpy(), 1.0, np.nan)
    issue = np.zeros(n, dtype=bool)
    suggestion = np.full(n, "", dtype=object)
    reason = np.full(n, "", dtype=object)
    group = groups.reindex(ids).fillna(-1).to_numpy(dtype=np.int64)
    pos = {int(pid): k for k, pid in enumerate(ids.tolist())}
    lab = given.to_numpy(dtype=object)
    members = pd.Series(ids[group >= 0]).groupby(group[group >= 0]).agg(list) if (group >= 0).any() else {}
    for _, group_ids in (members.items() if len(members) else []):
        labels = {pid: lab[pos[pid]] for pid in group_ids}
        labelled = {pid: v for pid, v in labels.items() if isinstance(v, str) and v}
        if len(set(labelled.values())) < 2:
            continue
        for pid, own in labelled.items():
            others = {q: v for q, v in labelled.items() if q != pid}
            differ = {q: v for q, v in others.items() if v != own}
            if not differ:
                continue
            k = pos[pid]
            share = len(differ) / len(others)
            score[k] = 1.0 - share
            issue[k] = share >= 0.5
            counts = Counter(differ.values())
            most = max(counts.values())
            best = min(c for c, k in counts.items() if k == most)
            suggestion[k] = best
            shown = sorted(q for q, v in differ.items() if v == best)
            listed = ", ".join(str(q) for q in shown[:3]) + (", …" if len(shown) > 3 else "")
            word = "product" if len(shown) == 1 else "products"
            reason[k] = f"identical photo to {len(shown)} {word} labelled {best} ({listed})"
    return pd.DataFrame({"duplicate_score": score, "is_duplicate_issue": issue, "duplicate_suggestion": suggestion,
                         "duplicate_reason": reason, "duplicate_group": group}, index=pd.Index(ids, name="id"))
