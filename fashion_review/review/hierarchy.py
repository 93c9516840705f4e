"""The label hierarchy against the catalog's own majority: articleType -> subCategory ->
masterCategory, and articleType -> gender.

The catalog says, by majority, which subCategory each articleType belongs to (Heels: Shoes in
99.6 % of the products labelled Heels).  A product whose labels break a mapping that strong (a
Heels product in subCategory Sandal) has a wrong label in one of the two schemes.  Only *strong*
mappings count (the majority holds for at least :data:`STRONG` of the class) and only *rare*
exceptions (the product's value is at most :data:`RARE` of the class): Tshirts are Men in 70 % and
Women in 25 %, which says nothing.

Two signals read the mapping: :func:`hierarchy_signal` (a product's labels against each other) and
:func:`heads_signal` (a multihead model's heads against each other: the articleType head says
Heels, the gender_master head says Men Footwear, while Heels are Women in 97 % of the catalog).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from fashion_review.data.schemes import scheme_labels

#: A mapping counts when its majority holds for at least this share of the class ...
STRONG = 0.95
#: ... and a product breaks it when its own value is at most this share of the class.
RARE = 0.02
#: Classes smaller than this have no mapping (too few products to say what is normal).
MIN_CLASS = 20

#: (child column, parent column): the links that are checked.
LINKS = (("articleType", "subCategory"), ("articleType", "masterCategory"), ("articleType", "gender"),
         ("subCategory", "masterCategory"))


def _blank(s: pd.Series) -> pd.Series:
    return s.astype(object).where(s.notna() & (s.astype(object) != ""), None)


def majority_mapping(effective: pd.DataFrame, child: str, parent: str) -> pd.DataFrame:
    """Per value of ``child``: its most common ``parent`` (``majority``), that share, the class size
    ``n`` and ``strong`` (share >= :data:`STRONG` and n >= :data:`MIN_CLASS`)."""
    frame = pd.DataFrame({"c": _blank(effective[child]), "p": _blank(effective[parent])}).dropna()
    if frame.empty:
        return pd.DataFrame(columns=["majority", "share", "n", "strong"], index=pd.Index([], name=child))
    counts = frame.groupby(["c", "p"], sort=True).size().rename("k").reset_index()
    total = counts.groupby("c")["k"].transform("sum")
    counts["share"] = counts["k"] / total
    top = counts.sort_values(["c", "k", "p"], ascending=[True, False, True]).drop_duplicates("c")
    out = pd.DataFrame({"majority": top["p"].to_numpy(), "share": top["share"].to_numpy(),
                        "n": total.loc[top.index].to_numpy()}, index=pd.Index(top["c"].to_numpy(), name=child))
    out["strong"] = (out["share"] >= STRONG) & (out["n"] >= MIN_CLASS)
    return out


def value_share(effective: pd.DataFrame, child: str, parent: str) -> pd.Series:
    """Per product: the share of its ``child`` class that has its ``parent`` value (NaN when blank)."""
    c, p = _blank(effective[child]), _blank(effective[parent])
    ok = c.notna() & p.notna()
    frame = pd.DataFrame({"c": c[ok], "p": p[ok]})
    k = frame.groupby(["c", "p"])["c"].transform("size")
    n = frame.groupby("c")["c"].transform("size")
    return (k / n).reindex(effective.index)


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%" if x < 0.995 else f"{100 * x:.1f}%".replace("100.0%", "99.9%")


def hierarchy_signal(effective: pd.DataFrame, scheme: str,
                     mappings: Mapping[tuple[str, str], pd.DataFrame] | None = None) -> pd.DataFrame:
    """The ``hierarchy_*`` signal table of ``scheme`` over ``effective`` (every product with a label).

    For each strong link that touches the scheme's fields and that the product breaks: evidence =
    the mapping's share; ``hierarchy_score`` = 1 - the strongest such share (1 where nothing is
    broken, NaN for baseColour, which no link touches).  ``hierarchy_suggestion``: for subCategory
    and gender_master the value the mapping implies; for articleType the most common articleType
    among products with this product's subCategory and gender.
    """
    fields = {"articleType": ("articleType",), "subCategory": ("subCategory",),
              "gender_master": ("gender", "masterCategory"), "baseColour": ("baseColour",)}[scheme]
    ids = effective.index
    n = len(ids)
    given = scheme_labels(effective, scheme).to_numpy(dtype=object)
    evidence = np.zeros(n)
    suggestion = np.full(n, "", dtype=object)
    reason = np.full(n, "", dtype=object)
    touched = False
    maps = dict(mappings or {})
    implied: dict[str, np.ndarray] = {}
    for child, parent in LINKS:
        if child not in fields and parent not in fields:
            continue
        if child not in effective or parent not in effective:
            continue
        touched = True
        m = maps.get((child, parent))
        if m is None:
            m = majority_mapping(effective, child, parent)
        c = _blank(effective[child])
        row = m.reindex(c.to_numpy(dtype=object))
        strong = row["strong"].fillna(False).to_numpy(dtype=bool)
        share = value_share(effective, child, parent).to_numpy(dtype=np.float64)
        own = _blank(effective[parent]).to_numpy(dtype=object)
        major = row["majority"].to_numpy(dtype=object)
        broken = strong & (np.nan_to_num(share, nan=1.0) <= RARE) & (own != major) & pd.notna(own)
        maj_share = row["share"].to_numpy(dtype=np.float64)
        if parent in fields:  # this scheme's value is the one the mapping contradicts
            implied[parent] = np.where(broken, major, implied.get(parent, np.full(n, None, dtype=object)))
        cn = c.to_numpy(dtype=object)
        for i in np.flatnonzero(broken):
            text = f"{cn[i]} are {parent} {major[i]} in {_pct(maj_share[i])} of the catalog; this one is {own[i]}"
            reason[i] = text if not reason[i] else f"{reason[i]}; {text}"
        evidence = np.where(broken, np.maximum(evidence, maj_share), evidence)
    if not touched:
        nan = np.full(n, np.nan)
        return pd.DataFrame({"hierarchy_score": nan, "is_hierarchy_issue": np.zeros(n, bool),
                             "hierarchy_suggestion": suggestion, "hierarchy_reason": reason},
                            index=pd.Index(ids, name="id"))
    flagged = evidence > 0
    if scheme in ("subCategory", "gender_master") and implied:
        for i in np.flatnonzero(flagged):
            values = {f: (implied[f][i] if f in implied and implied[f][i] is not None else effective[f].iat[i])
                      for f in fields}
            s = " ".join(str(values[f]) for f in fields)
            if s != given[i]:
                suggestion[i] = s
    elif scheme == "articleType" and flagged.any():
        context = pd.DataFrame({"s": _blank(effective["subCategory"]), "g": _blank(effective["gender"]),
                                "a": _blank(effective["articleType"])}).dropna()
        common = (context.groupby(["s", "g"])["a"].agg(lambda v: v.value_counts().index[0])
                  if len(context) else pd.Series(dtype=object))
        sub = _blank(effective["subCategory"]).to_numpy(dtype=object)
        gen = _blank(effective["gender"]).to_numpy(dtype=object)
        for i in np.flatnonzero(flagged):
            a = common.get((sub[i], gen[i]), "") if len(common) else ""
            if a and a != given[i]:
                suggestion[i] = a
    has_label = pd.notna(given)
    score = np.where(has_label, 1.0 - evidence, np.nan)
    return pd.DataFrame({"hierarchy_score": score, "is_hierarchy_issue": flagged & has_label,
                         "hierarchy_suggestion": suggestion, "hierarchy_reason": reason},
                        index=pd.Index(ids, name="id"))


def heads_signal(ids: np.ndarray, classes: Mapping[str, list[str]], probs: Mapping[str, np.ndarray],
                 effective: pd.DataFrame, scheme: str, *, describe: str = "out of sample") -> pd.DataFrame:
    """The ``heads_*`` table of ``scheme``: the multihead model's heads contradicting each other.

    The articleType head's top class implies (by the catalog's strong mappings) a subCategory, a
    masterCategory and maybe a gender; where the subCategory or gender_master head's top class
    contradicts that, both heads are involved and the products' labels of those schemes are in
    doubt.  Evidence = the smaller of the two heads' probabilities; ``heads_score`` = 1 - it (1:
    the heads agree; NaN without the heads or without a prediction).  ``heads_suggestion``: this
    scheme's head's own top class when it differs from the label.
    """
    ids = np.asarray(ids, dtype=np.int64)
    n = len(ids)
    out_index = pd.Index(ids, name="id")
    nan = np.full(n, np.nan)
    empty = pd.DataFrame({"heads_score": nan, "is_heads_issue": np.zeros(n, bool),
                          "heads_suggestion": np.full(n, "", dtype=object), "heads_reason": np.full(n, "", dtype=object)},
                         index=out_index)
    if "articleType" not in probs or scheme == "baseColour" or len(probs) < 2:
        return empty
    eff = effective.reindex(ids)
    at_p = np.asarray(probs["articleType"])
    at = np.asarray(classes["articleType"], dtype=object)[at_p.argmax(axis=1)]
    at_conf = at_p.max(axis=1)
    evidence = np.zeros(n)
    reason = np.full(n, "", dtype=object)
    involved = np.zeros(n, dtype=bool)
    checks = []
    if "subCategory" in probs:
        checks.append(("subCategory", "subCategory", lambda v: v))
    if "gender_master" in probs:
        checks.append(("gender_master", "masterCategory", lambda v: v.partition(" ")[2]))
        checks.append(("gender_master", "gender", lambda v: v.partition(" ")[0]))
    for other, parent, part in checks:
        m = majority_mapping(effective, "articleType", parent)
        row = m.reindex(at)
        strong = row["strong"].fillna(False).to_numpy(dtype=bool)
        major = row["majority"].to_numpy(dtype=object)
        op = np.asarray(probs[other])
        top = np.asarray(classes[other], dtype=object)[op.argmax(axis=1)]
        top_conf = op.max(axis=1)
        said = np.array([part(str(v)) for v in top], dtype=object)
        conflict = strong & (said != major) & ~((parent == "gender") & (said == "Unisex"))
        strength = np.minimum(at_conf, top_conf)
        for i in np.flatnonzero(conflict & (strength > 0.3)):
            text = (f"articleType head says {at[i]} ({at_conf[i]:.2f}) but {other} head says {top[i]} "
                    f"({top_conf[i]:.2f}); {at[i]} are {parent} {major[i]} in {_pct(row['share'].iat[i])} "
                    f"of the catalog")
            if not reason[i]:
                reason[i] = text
        if scheme in ("articleType", other):
            evidence = np.where(conflict, np.maximum(evidence, strength), evidence)
            involved |= conflict
    if scheme not in ("articleType", "subCategory", "gender_master"):
        return empty
    given = scheme_labels(eff, scheme).to_numpy(dtype=object)
    own_p = np.asarray(probs[scheme])
    own_top = np.asarray(classes[scheme], dtype=object)[own_p.argmax(axis=1)]
    suggestion = np.where(involved & (own_top != given), own_top, "").astype(object)
    reason = np.where(involved, reason, "").astype(object)
    flagged = involved & (evidence > 0.5)
    score = np.where(pd.notna(given), 1.0 - evidence, np.nan)
    if describe != "out of sample":
        reason = np.array([f"{r} ({describe})" if r else r for r in reason], dtype=object)
    return pd.DataFrame({"heads_score": score, "is_heads_issue": flagged, "heads_suggestion": suggestion,
                         "heads_reason": reason}, index=out_index)
