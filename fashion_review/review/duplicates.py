"""Duplicate photos: exact and near duplicates as groups, and the label issues they reveal (no Qt, no Keras).

The real catalog holds hundreds of groups of identical photos under different product ids.  They
matter three ways: a group whose labels disagree is a label issue (one of them is wrong), a group
split across train and test inflates test accuracy, and a similar-products query must count such
a group once.

* **Exact** duplicates: the same decoded pixels (:func:`exact_groups`, a BLAKE2b digest of the
  uint8 80 x 60 image the cache holds; implemented in :mod:`fashion_review.data.identical`, which
  new splits use, and re-exported here).  A re-encoded JPEG is *not* an exact duplicate.
* **Near** duplicates: the perceptual hash of the photo (``imagehash.phash``: the sign pattern of
  the 8 x 8 lowest frequencies of the DCT of the 32 x 32 grey image, 64 bits) within
  :data:`NEAR_RADIUS` bits Hamming distance, confirmed by the pixels and, when a model's
  embeddings are given, by their cosine similarity (>= :data:`MIN_SIMILARITY`).  On this catalog
  pHash alone is far from enough: 3,096 pairs of *different* photos have the very same pHash
  (sunglasses, ties, shoes shot the same way in other colours; pHash is blind to colour), so a
  pair must also differ little pixel by pixel: a mean absolute difference of at most
  :data:`MAX_MEAN_DIFF` levels and a 99th percentile of at most :data:`MAX_P99_DIFF` (a JPEG
  re-encoded at quality 75-95 stays within about 3.3 and 26; the catalog's colour variants of one
  shot, e.g. lipstick shades with a swatch, exceed the percentile).  Groups are the connected
  components of exact and confirmed near pairs.

:func:`find_duplicates` runs both over a data set with the hashes cached under its home
(``duplicates/``); :func:`label_disagreements` lists, per scheme, the products whose group's labels
disagree (cleanlab-style columns), for the label-issue queue; :func:`twin_leaks` finds the test
products with an identical twin in the training part.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from fashion_review.data.identical import (  # noqa: F401 - re-exported: other modules call them from here
    FOLDER,
    dataset_exact_groups,
    dataset_pixel_hashes,
    exact_groups,
    groups_of_digests,
    pixel_hashes,
    save_npz,
)
from fashion_review.tasks import Task

#: Near duplicates: at most this many of the 64 pHash bits differ (see benchmarks/results/duplicates.txt).
NEAR_RADIUS = 4
#: ... the mean absolute difference of the two 80 x 60 photos (max over R, G, B per pixel), in levels ...
MAX_MEAN_DIFF = 3.0
#: ... and its 99th percentile over the pixels (a small region that differs: another colour's swatch).
MAX_P99_DIFF = 28.0
#: ... and, when embeddings are given, their cosine similarity is at least this.
MIN_SIMILARITY = 0.9
PHASH_FILE = "phash.npz"
PHASH_VERSION = 1


# --------------------------------------------------------------------------------------------
# Perceptual hashes


def phashes(images: np.ndarray, rows: Iterable[int] | np.ndarray | None = None, task: Task | None = None) -> np.ndarray:
    """``imagehash.phash`` of each image (``images[rows]``, uint8 H x W x 3) as a uint64 per image."""
    import imagehash
    from PIL import Image

    rows = np.arange(len(images)) if rows is None else np.asarray(rows, dtype=np.int64)
    out = np.zeros(len(rows), dtype=np.uint64)
    weights = (np.uint64(1) << np.arange(63, -1, -1, dtype=np.uint64))
    for k, r in enumerate(rows.tolist()):
        bits = imagehash.phash(Image.fromarray(np.asarray(images[r]))).hash.reshape(-1)
        out[k] = np.bitwise_or.reduce(weights[bits]) if bits.any() else np.uint64(0)
        if task is not None and k % 1000 == 0:
            task.check()
            task.report("phash", k / max(1, len(rows)), f"perceptual hashes: {k:,} of {len(rows):,}")
    return out


def _popcount(x: np.ndarray) -> np.ndarray:
    if hasattr(np, "bitwise_count"):
        return np.bitwise_count(x)
    table = np.array([bin(i).count("1") for i in range(256)], dtype=np.uint8)  # numpy < 2
    return table[x.view(np.uint8).reshape(*x.shape, 8)].sum(axis=-1)


def hamming_pairs(hashes: np.ndarray, radius: int, chunk: int = 1024) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every pair ``i < j`` of ``hashes`` (uint64) within ``radius`` bits: ``(i, j, distance)``."""
    h = np.asarray(hashes, dtype=np.uint64)
    ii, jj, dd = [], [], []
    for a in range(0, len(h), chunk):
        block = h[a:a + chunk]
        d = _popcount(block[:, None] ^ h[None, a:])  # the upper triangle only: columns from a on
        i, j = np.nonzero(d <= radius)
        keep = j > i  # column j is product a + j; row i is product a + i
        ii.append(a + i[keep])
        jj.append(a + j[keep])
        dd.append(d[i[keep], j[keep]])
    if not ii:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.uint8)
    return (np.concatenate(ii).astype(np.int64), np.concatenate(jj).astype(np.int64),
            np.concatenate(dd).astype(np.uint8))


def dataset_phashes(ds, task: Task | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # noqa: ANN001
    """``(ids, phash, ok)`` for every product of ``ds`` with an image, cached in ``duplicates/phash.npz``.

    Computed from the image cache (built first when absent), about 0.4 ms per photo on one core.
    """
    from fashion_review.data.images import ensure_image_cache

    ids, _, ok = dataset_pixel_hashes(ds, task)
    path = Path(ds.home) / FOLDER / PHASH_FILE
    try:
        with np.load(path, allow_pickle=False) as z:
            if int(z["version"]) == PHASH_VERSION and np.array_equal(z["ids"], ids):
                return ids, z["phash"], z["ok"]
    except (OSError, KeyError, ValueError):
        pass
    cache = ensure_image_cache(ds, task)
    pos = cache.index_of(ids)
    ok = (pos >= 0) & ok
    ok[ok] = cache.ok[pos[ok]]
    ph = np.zeros(len(ids), np.uint64)
    ph[ok] = phashes(cache.images, pos[ok], task=task)
    save_npz(path, version=np.asarray(PHASH_VERSION), ids=ids, phash=ph, ok=ok)
    return ids, ph, ok


# --------------------------------------------------------------------------------------------
# Groups


def _components(n: int, i: np.ndarray, j: np.ndarray) -> np.ndarray:
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    graph = coo_matrix((np.ones(len(i), np.int8), (i, j)), shape=(n, n))
    return connected_components(graph, directed=False)[1]


def _numbered(ids: np.ndarray, comp: np.ndarray, member: np.ndarray) -> pd.Series:
    """Group numbers 0, 1, ... by each group's smallest id over the ``member`` products."""
    ids, comp = ids[member], comp[member]
    if not len(ids):
        return pd.Series([], index=pd.Index([], dtype=np.int64, name="id"), dtype=np.int64, name="group")
    first = pd.Series(ids).groupby(comp).transform("min").to_numpy()
    order = np.unique(first)
    s = pd.Series(np.searchsorted(order, first).astype(np.int64), index=pd.Index(ids, name="id"), name="group")
    return s.sort_index()


def pixel_differences(images: np.ndarray, rows_a: np.ndarray, rows_b: np.ndarray,
                      chunk: int = 2048) -> tuple[np.ndarray, np.ndarray]:
    """Mean and 99th percentile over the pixels of ``|images[a] - images[b]|`` (max over channels)."""
    mean = np.zeros(len(rows_a), np.float32)
    p99 = np.zeros(len(rows_a), np.float32)
    for s in range(0, len(rows_a), chunk):
        x = np.asarray(images[rows_a[s:s + chunk]], dtype=np.int16)
        y = np.asarray(images[rows_b[s:s + chunk]], dtype=np.int16)
        diff = np.abs(x - y).max(axis=-1).reshape(len(x), -1)
        mean[s:s + chunk] = diff.mean(axis=1)
        p99[s:s + chunk] = np.percentile(diff, 99, axis=1)
    return mean, p99


#: Side of the square blocks :func:`mean_diff_lower_bound` averages (80 x 60 photos: 16 x 12 blocks).
POOL = 5


def mean_diff_lower_bound(images: np.ndarray, rows_a: np.ndarray, rows_b: np.ndarray,
                          chunk: int = 4096) -> np.ndarray:
    """A lower bound of :func:`pixel_differences`' mean, from block means: cheap enough for every pair.

    Per pixel the difference is the largest over the channels, so its mean is at least any channel's
    mean absolute difference, which (the triangle inequality, block by block) is at least the mean of
    the absolute differences of that channel's block means.  A pair whose bound is over
    :data:`MAX_MEAN_DIFF` is not near, and the full comparison is skipped: on the full catalog 178,620
    pairs are within the pHash radius, and comparing every one pixel by pixel took about 100 s.
    """
    used = np.unique(np.concatenate([rows_a, rows_b])) if len(rows_a) else np.zeros(0, np.int64)
    if not len(used):
        return np.zeros(0, np.float32)
    n, h, w = len(used), images.shape[1], images.shape[2]
    hh, ww = h - h % POOL, w - w % POOL
    pooled = np.empty((n, hh // POOL, ww // POOL, images.shape[3]), np.float32)
    for s in range(0, n, chunk):
        x = np.asarray(images[used[s:s + chunk], :hh, :ww], dtype=np.float32)
        pooled[s:s + chunk] = x.reshape(len(x), hh // POOL, POOL, ww // POOL, POOL, -1).mean(axis=(2, 4))
    where = np.searchsorted(used, rows_a), np.searchsorted(used, rows_b)
    bound = np.zeros(len(rows_a), np.float32)
    for s in range(0, len(rows_a), chunk):
        a, b = pooled[where[0][s:s + chunk]], pooled[where[1][s:s + chunk]]
        bound[s:s + chunk] = np.abs(a - b).mean(axis=(1, 2)).max(axis=1)
    # the blocks cover hh x ww of the h x w pixels: the rest counts as no difference, at worst
    return bound * (hh * ww) / (h * w)


def near_groups(ids: np.ndarray, hashes: np.ndarray, images: np.ndarray, rows: np.ndarray | None = None,
                embeddings: np.ndarray | None = None, *, radius: int = NEAR_RADIUS,
                min_similarity: float = MIN_SIMILARITY, exact: pd.Series | None = None
                ) -> tuple[pd.Series, pd.DataFrame]:
    """Near-duplicate groups: ``(Series id -> group, pairs)`` over products in a group of 2+.

    A pair is near when its pHashes differ in at most ``radius`` bits, its photos
    (``images[rows[k]]`` is ``ids[k]``'s) differ by at most :data:`MAX_MEAN_DIFF` on average and
    :data:`MAX_P99_DIFF` at the 99th percentile and, with ``embeddings`` (rows aligned with
    ``ids``), its cosine similarity is ``>= min_similarity``.  ``exact`` groups (id -> group) are
    joined in whatever their hashes say.  ``pairs`` (the confirmed near pairs) has columns
    ``a, b`` (ids), ``distance`` (bits), ``mean_diff``, ``p99_diff`` and ``similarity`` (NaN
    without embeddings).
    """
    ids = np.asarray(ids, dtype=np.int64)
    rows = np.arange(len(ids)) if rows is None else np.asarray(rows, dtype=np.int64)
    i, j, d = hamming_pairs(hashes, radius)
    maybe = mean_diff_lower_bound(images, rows[i], rows[j]) <= MAX_MEAN_DIFF  # the others cannot be near
    i, j, d = i[maybe], j[maybe], d[maybe]
    mean, p99 = pixel_differences(images, rows[i], rows[j])
    keep = (mean <= MAX_MEAN_DIFF) & (p99 <= MAX_P99_DIFF)
    i, j, d, mean, p99 = i[keep], j[keep], d[keep], mean[keep], p99[keep]
    sim = np.full(len(i), np.nan, np.float32)
    if embeddings is not None and len(i):
        e = np.asarray(embeddings, dtype=np.float32)
        e = e / np.maximum(np.linalg.norm(e, axis=1, keepdims=True), 1e-12)
        sim = np.einsum("ij,ij->i", e[i], e[j])
        keep = sim >= min_similarity
        i, j, d, mean, p99, sim = i[keep], j[keep], d[keep], mean[keep], p99[keep], sim[keep]
    ei, ej = [], []
    if exact is not None and len(exact):
        pos = pd.Series(np.arange(len(ids)), index=ids)
        ex = exact[exact.index.isin(ids)]
        first = pd.Series(ex.index.to_numpy(), index=ex.index).groupby(ex.to_numpy()).transform("min")
        ei = pos.reindex(first.to_numpy()).to_numpy()
        ej = pos.reindex(first.index.to_numpy()).to_numpy()
    all_i = np.concatenate([i, np.asarray(ei, np.int64)])
    all_j = np.concatenate([j, np.asarray(ej, np.int64)])
    comp = _components(len(ids), all_i, all_j)
    sizes = np.bincount(comp, minlength=len(ids))
    groups = _numbered(ids, comp, sizes[comp] >= 2)
    pairs = pd.DataFrame({"a": ids[i], "b": ids[j], "distance": d, "mean_diff": mean, "p99_diff": p99,
                          "similarity": sim})
    return groups, pairs


@dataclass
class Duplicates:
    """A data set's duplicate photos (see :func:`find_duplicates`)."""

    exact: pd.Series  # id -> exact group, products in a group of 2+
    near: pd.Series  # id -> near group (exact groups are inside near ones), products in a group of 2+
    pairs: pd.DataFrame  # near pairs: a, b, distance, similarity
    confirmed_by: str  # the model whose embeddings confirmed the near pairs, "" when none
    radius: int
    seconds: float

    def table(self) -> pd.DataFrame:
        """One row per product in a group: ``exact_group``, ``near_group`` (-1 when none), ``group_size``."""
        ids = np.union1d(self.exact.index.to_numpy(), self.near.index.to_numpy())
        out = pd.DataFrame(index=pd.Index(ids, name="id"))
        out["exact_group"] = self.exact.reindex(ids).fillna(-1).astype(np.int64).to_numpy()
        out["near_group"] = self.near.reindex(ids).fillna(-1).astype(np.int64).to_numpy()
        size = self.near.map(self.near.value_counts())
        out["group_size"] = size.reindex(ids).fillna(0).astype(np.int64).to_numpy()
        return out

    def summary(self) -> dict:
        """Groups and extra copies (products beyond the first of each group), exact and near."""
        def count(g: pd.Series) -> dict:
            n = int(g.nunique())
            return {"groups": n, "products": int(len(g)), "extra_copies": int(len(g) - n)}
        # A near group is more than an exact one when it joins photos that are not pixel-identical.
        key = self.exact.reindex(self.near.index).fillna(-1 - pd.Series(np.arange(len(self.near)),
                                                                         index=self.near.index))
        beyond = key.groupby(self.near).nunique()
        beyond = beyond[beyond >= 2]
        return {"exact": count(self.exact), "near": count(self.near),
                "near_beyond_exact": {"groups": int(len(beyond)),
                                      "products": int(self.near.isin(beyond.index).sum()),
                                      "pairs_within_radius": int(len(self.pairs))},
                "radius": self.radius, "min_similarity": MIN_SIMILARITY if self.confirmed_by else None,
                "confirmed_by": self.confirmed_by, "seconds": round(self.seconds, 2)}

    def group_of(self, pid: int) -> list[int]:
        """The other products in ``pid``'s near group (exact twins first), ascending within each."""
        if pid not in self.near.index:
            return []
        members = self.near.index[self.near == self.near.at[pid]].to_numpy()
        exact = set(self.exact.index[self.exact == self.exact.at[pid]].tolist()) if pid in self.exact.index else set()
        others = [int(m) for m in members if m != pid]
        return sorted(others, key=lambda m: (m not in exact, m))

    def kind_of(self, pid: int, other: int) -> str:
        """"exact" when the two photos have the same pixels, else "near"."""
        e = self.exact
        return "exact" if pid in e.index and other in e.index and e.at[pid] == e.at[other] else "near"


def find_duplicates(ds, embeddings: tuple[np.ndarray, np.ndarray, str] | None = None, *,  # noqa: ANN001
                    radius: int | None = None, task: Task | None = None) -> Duplicates:
    """Exact and near duplicates among ``ds``'s photos (hashes cached under the data set's home).

    ``embeddings``: ``(ids, vectors, model_version)`` of a model (e.g.
    :func:`fashion_review.review.similar.load_vectors`) that confirms the near pairs (only when
    they cover every product with a photo; else pairs are confirmed by their pixels only).
    """
    t0 = time.perf_counter()
    from fashion_review.data.images import ensure_image_cache

    exact = dataset_exact_groups(ds, task)
    ids, ph, ok = dataset_phashes(ds, task)
    ids, ph = ids[ok], ph[ok]
    cache = ensure_image_cache(ds, task)
    vectors = None
    source = ""
    if embeddings is not None:
        e_ids, e_vec, source = embeddings
        e_ids = np.asarray(e_ids, dtype=np.int64)
        order = np.argsort(e_ids)
        pos = np.searchsorted(e_ids[order], ids)
        pos = np.clip(pos, 0, max(len(e_ids) - 1, 0))
        found = e_ids[order][pos] == ids if len(e_ids) else np.zeros(len(ids), bool)
        if found.all():
            vectors = np.asarray(e_vec, dtype=np.float32)[order[pos]]
        else:
            source = ""
    if task is not None:
        task.report("duplicates", None, "pairing perceptual hashes")
    used = NEAR_RADIUS if radius is None else radius
    near, pairs = near_groups(ids, ph, cache.images, cache.index_of(ids), vectors, radius=used, exact=exact)
    if task is not None:  # a final report: the console's progress line ends before the results print
        task.report("duplicates", 1.0, f"{len(pairs):,} near pairs confirmed")
    return Duplicates(exact, near, pairs, source, used, time.perf_counter() - t0)


# --------------------------------------------------------------------------------------------
# What the groups tell


def label_disagreements(groups: pd.Series, labels: Mapping[str, pd.Series], kind: str = "exact") -> pd.DataFrame:
    """Products in a duplicate group whose members' labels disagree, per scheme (for the label-issue queue).

    ``groups``: id -> group (:func:`exact_groups` or a near grouping); ``labels``: scheme ->
    Series id -> effective label (NaN when blank; blank members are left out).  One row per
    product and scheme, in a group where at least two different labels occur, with columns
    ``id, scheme, group, label, majority`` (the group's most common label, ties by name),
    ``is_duplicate_issue`` (the product's label is not the majority, or the group is evenly split),
    ``duplicate_score`` (the share of the *other* members sharing the product's label: 0 = every
    twin says otherwise, 1 = all agree) and ``reason`` (a sentence naming the twins' labels).
    """
    cols = ["id", "scheme", "group", "label", "majority", "is_duplicate_issue", "duplicate_score", "reason"]
    rows = []
    what = "identical photo" if kind == "exact" else "near-identical photo"
    for scheme, lab in labels.items():
        frame = pd.DataFrame({"group": groups})
        frame["label"] = lab.reindex(frame.index)
        frame = frame[frame["label"].notna()]
        if frame.empty:
            continue
        n_labels = frame.groupby("group")["label"].transform("nunique")
        frame = frame[n_labels.to_numpy() >= 2]
        for g, members in frame.groupby("group", sort=True):
            counts = members["label"].value_counts()
            top = counts.max()
            leaders = sorted(counts.index[counts == top])
            majority = leaders[0]
            for pid, label in members["label"].items():
                others = members.drop(index=pid)
                same = float((others["label"] == label).mean()) if len(others) else 1.0
                twins = ", ".join(f"{o} ({others.at[o, 'label']})" for o in others.index[:5])
                more = f" and {len(others) - 5} more" if len(others) > 5 else ""
                rows.append({
                    "id": int(pid), "scheme": scheme, "group": int(g), "label": label, "majority": majority,
                    "is_duplicate_issue": bool(label != majority or len(leaders) > 1),
                    "duplicate_score": same,
                    "reason": f"{what} of {twins}{more}; this one says {label}",
                })
    out = pd.DataFrame(rows, columns=cols)
    return out.sort_values(["scheme", "duplicate_score", "group", "id"], kind="stable").reset_index(drop=True)


def twin_leaks(parts: pd.Series, groups: pd.Series, part: str = "test", other: str = "train") -> pd.Series:
    """For each product in ``part`` of ``parts`` (id -> part): does an identical twin sit in ``other``?

    A Series id -> bool over the products of ``part``: those with True are photos the model saw
    in training under another id, so their test accuracy measures memory, not generalisation.
    """
    in_part = parts.index[parts.to_numpy(dtype=object) == part]
    g = groups.reindex(parts.index)
    other_groups = set(g[(parts.to_numpy(dtype=object) == other) & g.notna().to_numpy()].astype(np.int64))
    mine = g.reindex(in_part)
    leak = mine.notna().to_numpy() & np.isin(mine.fillna(-1).to_numpy(dtype=np.int64), list(other_groups))
    return pd.Series(leak, index=pd.Index(in_part, name="id"), name="twin_in_" + other)
