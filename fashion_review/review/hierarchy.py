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


def _factor(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """(code per row, -1 where blank; the sorted distinct values)."""
    arr = values.to_numpy(dtype=object)
    blank = pd.isna(arr) | (arr == "")
    codes, uniques = pd.factorize(np.where(blank, None, arr), sort=True)
    return codes.astype(np.int64), np.asarray(uniques, dtype=object)


class _Link:
    """Counts of (child value, parent value) over a catalog: the majority mapping and each row's share."""

    def __init__(self, effective: pd.DataFrame, child: str, parent: str) -> None:
        self.c, self.children = _factor(effective[child])
        self.p, self.parents = _factor(effective[parent])
        ok = (self.c >= 0) & (self.p >= 0)
        n_c, n_p = len(self.children), max(len(self.parents), 1)
        flat = np.bincount(self.c[ok] * n_p + self.p[ok], minlength=n_c * n_p)
        self.counts = flat.reshape(n_c, n_p)
        self.n = self.counts.sum(axis=1)
        self.major = self.counts.argmax(axis=1) if n_c else np.zeros(0, np.int64)  # ties: the first in order
        self.share = np.divide(self.counts[np.arange(n_c), self.major], self.n, out=np.zeros(n_c), where=self.n > 0)
        self.strong = (self.share >= STRONG) & (self.n >= MIN_CLASS)
        self.ok = ok

    def frame(self, name: str) -> pd.DataFrame:
        keep = self.n > 0
        return pd.DataFrame({"majority": self.parents[self.major[keep]] if len(self.parents) else [],
                             "share": self.share[keep], "n": self.n[keep], "strong": self.strong[keep]},
                            index=pd.Index(self.children[keep], name=name))

    def row_share(self) -> np.ndarray:
        """Per row: the share of its child class that has its parent value (NaN when either is blank)."""
        out = np.full(len(self.c), np.nan)
        ok = self.ok
        out[ok] = self.counts[self.c[ok], self.p[ok]] / self.n[self.c[ok]]
        return out


def majority_mapping(effective: pd.DataFrame, child: str, parent: str) -> pd.DataFrame:
    """Per value of ``child``: its most common ``parent`` (``majority``; ties: the first
    alphabetically), that share, the class size ``n`` and ``strong`` (share >= :data:`STRONG` and
    n >= :data:`MIN_CLASS`)."""
    return _Link(effective, child, parent).frame(child)


#: The level above each scheme's classes: what tells a sibling class (Casual Shoes and Sports Shoes,
#: both Shoes) from a different kind of product.
FAMILY = {"articleType": "subCategory", "subCategory": "masterCategory", "gender_master": "masterCategory"}


def class_families(effective: pd.DataFrame, scheme: str) -> dict[str, str]:
    """Each class of ``scheme`` -> its family (:data:`FAMILY`: the majority parent in the catalog,
    Heels -> Shoes); {} for a scheme with no level above it (baseColour)."""
    parent = FAMILY.get(scheme)
    if parent is None or parent not in effective.columns:
        return {}
    frame = pd.DataFrame({"c": scheme_labels(effective, scheme), "p": effective[parent]}, index=effective.index)
    m = majority_mapping(frame, "c", "p")
    return {str(c): str(p) for c, p in m["majority"].items()}


def value_share(effective: pd.DataFrame, child: str, parent: str) -> pd.Series:
    """Per product: the share of its ``child`` class that has its ``parent`` value (NaN when blank)."""
    return pd.Series(_Link(effective, child, parent).row_share(), index=effective.index)


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%" if x < 0.995 else f"{100 * x:.1f}%".replace("100.0%", "99.9%")


def hierarchy_signal(effective: pd.DataFrame, scheme: str) -> pd.DataFrame:
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
    implied: dict[str, np.ndarray] = {}
    for child, parent in LINKS:
        if child not in fields and parent not in fields:
            continue
        if child not in effective or parent not in effective:
            continue
        touched = True
        link = _Link(effective, child, parent)
        has = link.c >= 0
        cc = np.maximum(link.c, 0)
        strong = has & link.strong[cc] if len(link.children) else np.zeros(n, bool)
        share = link.row_share()
        own = np.where(link.p >= 0, link.parents[np.maximum(link.p, 0)] if len(link.parents) else None, None)
        major = np.where(has, link.parents[link.major[cc]] if len(link.parents) and len(link.children) else None, None)
        broken = strong & (np.nan_to_num(share, nan=1.0) <= RARE) & (link.p >= 0) & (own != major)
        maj_share = np.where(has, link.share[cc] if len(link.children) else 0.0, np.nan)
        c = pd.Series(np.where(has, link.children[cc] if len(link.children) else None, None), index=ids)
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
    if "articleType" not in probs or scheme not in probs or len(probs) < 2:
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
        link = _Link(effective, "articleType", parent)
        pos = pd.Index(link.children, dtype=object).get_indexer(pd.Index(at, dtype=object))
        known = pos >= 0
        pp = np.maximum(pos, 0)
        strong = known & link.strong[pp] if len(link.children) else np.zeros(n, bool)
        major = np.where(known, link.parents[link.major[pp]] if len(link.children) else None, None)
        op = np.asarray(probs[other])
        top_i = op.argmax(axis=1)
        top = np.asarray(classes[other], dtype=object)[top_i]
        top_conf = op.max(axis=1)
        said = np.asarray([part(str(c)) for c in classes[other]], dtype=object)[top_i]
        conflict = strong & (said != major) & ~((parent == "gender") & (said == "Unisex"))
        strength = np.minimum(at_conf, top_conf)
        share = np.where(known, link.share[pp] if len(link.children) else 0.0, np.nan)
        for i in np.flatnonzero(conflict & (strength > 0.3) & (reason == "")):
            text = (f"articleType head says {at[i]} ({at_conf[i]:.2f}) but {other} head says {top[i]} "
                    f"({top_conf[i]:.2f}); {at[i]} are {parent} {major[i]} in {_pct(share[i])} "
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
