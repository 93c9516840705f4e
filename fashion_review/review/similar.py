"""Similar products: exact cosine k-nearest neighbours over a model's embeddings (numpy + scikit-learn, no Keras).

Which vectors (:data:`LAYERS`, measured by ``benchmarks/similar.py``):

* ``pooled``: the shared backbone's globally pooled features (768 numbers for xception-lite,
  2,048 for Xception), the last layer every head sees: it describes the whole look of a product
  (shape, colour, texture) and is not tuned to any one scheme.  Read from the run's feature cache
  (``predict`` writes it).  The default.
* ``head:<scheme>``: a head's penultimate Dense layer (``predictions.npz`` ``embedding__<scheme>``),
  trained to separate that scheme's classes: neighbours share the class, but little else.
* ``heads``: the heads' embeddings, each L2-normalised, side by side (a projection that weighs
  the three schemes equally).

**Product names.** By default the look is joined by the product's display name ("Puma Men Black
Casual Shoes"), in two parts (:func:`with_names`):

* what the name says the product *is*: the catalog's own name model (``review.text_signal``:
  TF-IDF + logistic regression, the label-issue queue's name signal) fitted once on the names and
  labels of the catalog, its probabilities for every class of the schemes of
  :data:`NAME_CLASS_WEIGHTS` (articleType, every class with two named products, the small ones
  the image model never learnt included; gender; baseColour), each L2-normalised and weighted
  (:func:`name_class_vectors`);
* the name's other words (brand, colour, cut): TF-IDF of words and word pairs reduced to
  :data:`NAME_DIM` dimensions (LSA, scikit-learn's ``TruncatedSVD``), weighted :data:`NAME_WEIGHT`
  (:func:`name_vectors`).

A shopper's "similar" is the same kind of product that looks alike: on the reference model's test
products (their labels unseen by the name model too) precision@10 for articleType rises from 0.79
(look alone) to 0.95, for articleType and gender from 0.71 to 0.94, for articleType and colour
from 0.22 to 0.78 (``benchmarks/similar.py``).  The pooled features are trained to tell kinds
and genders apart, not colours: the look alone agrees on the colour less often than raw pixels do.
``names=False`` (``fashion-review similar --look-only``) keeps the look alone, for lookalikes
whatever they are called.

Vectors are L2-normalised and searched exactly (brute force: the cosine of normalised vectors is
their dot product, one matrix product and a partial sort; the same neighbours as scikit-learn's
``NearestNeighbors(metric="cosine")``, which is an order of magnitude slower per query): at 44,000
products a query takes a few milliseconds.  Identical photos
under other ids are counted once: the query's own exact twins are left out and among the
neighbours only the first of each exact-duplicate group is kept, so a product with three copies
of its photo does not fill its list with them.

For a catalog of a million products an approximate index would serve: FAISS (MIT licence)
``IndexHNSWFlat`` (M = 32) keeps the float32 vectors plus about 256 bytes of graph per product
(3.3 GB at 768 dimensions), builds in tens of minutes on two cores and answers in about a
millisecond at a recall@10 around 0.95; ``IndexIVFPQ`` (96-byte codes) fits in about 100 MB at a
lower recall.  hnswlib (Apache 2.0) offers the same HNSW graph alone.  Exact search stays the
default here: it is exact, needs no build and is fast enough at this scale.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from fashion_review.errors import FashionReviewError

LAYERS = ("pooled", "heads", "head:gender_master", "head:subCategory", "head:articleType")
DEFAULT_LAYER = "pooled"
#: The name words' weight beside the look's (each L2-normalised first), and their dimensions.
NAME_WEIGHT = 0.5
NAME_DIM = 256
#: The schemes whose name-model probabilities join the vectors, and their weights.
NAME_CLASS_WEIGHTS = {"articleType": 1.0, "gender": 0.5, "baseColour": 0.5}


class NoEmbeddings(FashionReviewError):
    """The model has no vectors of the kind asked for (no predictions or no feature cache yet)."""


def normalise(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (float32); all-zero rows stay zero."""
    v = np.asarray(vectors, dtype=np.float32)
    n = np.linalg.norm(v, axis=1, keepdims=True)
    return v / np.maximum(n, 1e-12)


def load_vectors(run, dataset_home: Path, layer: str = DEFAULT_LAYER, predictions=None  # noqa: ANN001
                 ) -> tuple[np.ndarray, np.ndarray, str]:
    """``(ids, vectors, description)`` of ``run``'s ``layer`` (see :data:`LAYERS`).

    ``run``: a registry RunInfo (its id and predictions file); ``predictions``: its loaded
    :class:`~fashion_review.review.predictions.Predictions` when already at hand.
    """
    from fashion_review.review.features import features_dir, open_feature_cache
    from fashion_review.review.predictions import load_predictions

    if run is None:  # predictions without a registry run (e.g. computed in this session)
        if predictions is None:
            raise NoEmbeddings("no model")
        from types import SimpleNamespace

        run = SimpleNamespace(id=predictions.model_version or "model", predictions_path=Path("/nonexistent"))
    if layer == "pooled":
        cache = open_feature_cache(features_dir(Path(dataset_home), run.id), run.id)
        if cache is None:
            raise NoEmbeddings(f"run {run.id} has no backbone features cached yet; run `fashion-review predict "
                               f"--run {run.id}` (it stores them)")
        if cache.features.ndim != 2:
            raise NoEmbeddings(f"run {run.id}'s cached features are not pooled vectors {cache.features.shape[1:]}")
        return cache.ids, np.asarray(cache.features, dtype=np.float32), f"{run.id} backbone pooled features"
    pred = predictions
    if pred is None:
        if not Path(run.predictions_path).is_file():
            raise NoEmbeddings(f"run {run.id} has no predictions yet; run `fashion-review predict --run {run.id}`")
        pred = load_predictions(run.predictions_path)
    if layer == "heads":
        parts = [normalise(pred.embeddings[s]) for s in pred.schemes if s in pred.embeddings]
        if not parts:
            raise NoEmbeddings(f"run {run.id}'s predictions hold no embeddings")
        return pred.ids, np.concatenate(parts, axis=1) / np.sqrt(len(parts)), f"{run.id} head embeddings"
    if layer.startswith("head:"):
        scheme = layer.split(":", 1)[1]
        if scheme not in pred.embeddings:
            raise NoEmbeddings(f"run {run.id}'s predictions hold no {scheme} embedding "
                               f"(they have: {', '.join(pred.embeddings) or 'none'})")
        return pred.ids, np.asarray(pred.embeddings[scheme], dtype=np.float32), f"{run.id} {scheme} head embedding"
    raise ValueError(f"unknown embedding layer {layer!r}; choose one of {', '.join(LAYERS)}")


def name_vectors(names: pd.Series, ids: np.ndarray, dim: int = NAME_DIM, seed: int = 0) -> np.ndarray:
    """(len(ids), <= dim) float32 LSA vectors of the products' display names (``names``: id -> name).

    TF-IDF (sublinear) of the lower-cased words and word pairs found in at least two names, then a
    truncated SVD to ``dim`` dimensions (fewer when the vocabulary is smaller), L2-normalised.  A
    product without a name, or whose words no other name has, gets a zero vector: its look alone
    decides its neighbours.
    """
    from sklearn.decomposition import TruncatedSVD
    from sklearn.feature_extraction.text import TfidfVectorizer

    text = names.reindex(np.asarray(ids, dtype=np.int64)).fillna("").astype(str).to_numpy()
    try:
        tfidf = TfidfVectorizer(sublinear_tf=True, min_df=2, ngram_range=(1, 2)).fit_transform(text)
    except ValueError:  # no word in two names (an empty or tiny catalog)
        return np.zeros((len(text), 1), np.float32)
    n = min(dim, tfidf.shape[1] - 1, len(text) - 1)
    if n < 1:
        return np.zeros((len(text), 1), np.float32)
    return normalise(TruncatedSVD(n, random_state=seed).fit_transform(tfidf))


def name_class_vectors(names: pd.Series, labels: pd.DataFrame, ids: np.ndarray, *,
                       train: np.ndarray | None = None, weights: dict[str, float] | None = None) -> np.ndarray:
    """(len(ids), C) float32: for each scheme of ``weights`` (default :data:`NAME_CLASS_WEIGHTS`) that
    ``labels`` has, the name model's class probabilities of each product, L2-normalised, times the
    scheme's weight, side by side.  The model is fitted once per scheme on the ``train`` products
    (ids; default every product with a name and a label) and predicts all of ``ids``; a product
    without a name gets zeros.  A few seconds at 44,000 products."""
    from fashion_review.review.text_signal import fitted_name_probabilities

    ids = np.asarray(ids, dtype=np.int64)
    text = names.reindex(ids).to_numpy(dtype=object)
    mask = None if train is None else np.isin(ids, np.asarray(train, dtype=np.int64))
    blocks = []
    for scheme, weight in (NAME_CLASS_WEIGHTS if weights is None else weights).items():
        if scheme not in labels.columns:
            continue
        _classes, probs = fitted_name_probabilities(text, labels[scheme].reindex(ids).to_numpy(dtype=object),
                                                    train=mask)
        if probs.shape[1]:
            blocks.append(weight * normalise(probs))
    return np.concatenate(blocks, axis=1) if blocks else np.zeros((len(ids), 1), np.float32)


def with_names(vectors: np.ndarray, names: np.ndarray, classes: np.ndarray | None = None,
               weight: float = NAME_WEIGHT) -> np.ndarray:
    """The look (normalised), ``weight`` x the name words (normalised) and the name classes (as
    :func:`name_class_vectors` weighs them), side by side."""
    parts = [normalise(vectors), weight * normalise(names)]
    if classes is not None:
        parts.append(np.asarray(classes, dtype=np.float32))
    return np.concatenate(parts, axis=1)


@dataclass
class Neighbour:
    id: int
    similarity: float  # cosine, 1 = same direction


class SimilarIndex:
    """Exact cosine kNN over L2-normalised vectors (brute force: one matrix product, then a partial sort).

    scikit-learn's ``NearestNeighbors(metric="cosine", algorithm="brute")`` gives the same neighbours
    but recomputes every norm and distance in float64 per query: 36 ms a query at 44,000 x 768 on the
    project's 2-core CPU against the 20 ms goal; on vectors already normalised the cosine is a dot
    product, 2-3 ms (``benchmarks/similar.py``).

    ``groups``: exact-duplicate groups (id -> group) counted once; ``gender``: id -> gender, for
    ``same_gender`` queries.
    """

    def __init__(self, ids: np.ndarray, vectors: np.ndarray, *, groups: pd.Series | None = None,
                 gender: pd.Series | None = None, source: str = "") -> None:
        t0 = time.perf_counter()
        self.ids = np.asarray(ids, dtype=np.int64)
        if len(self.ids) != len(vectors):
            raise ValueError(f"{len(self.ids)} ids but {len(vectors)} vectors")
        self.vectors = normalise(vectors)
        self.source = source
        self._row = pd.Series(np.arange(len(self.ids)), index=self.ids)
        g = groups.reindex(self.ids) if groups is not None else pd.Series(np.nan, index=self.ids)
        # Products without a group are their own group (a unique negative number).
        self.group = np.where(g.notna().to_numpy(), g.fillna(0).to_numpy(), -1 - np.arange(len(self.ids))
                              ).astype(np.int64)
        self.gender = (gender.reindex(self.ids).astype(object).to_numpy() if gender is not None
                       else np.full(len(self.ids), None, dtype=object))
        self.build_seconds = time.perf_counter() - t0

    def __len__(self) -> int:
        return int(len(self.ids))

    def __contains__(self, pid: int) -> bool:
        return int(pid) in self._row.index

    def row_of(self, pid: int) -> int:
        try:
            return int(self._row.at[int(pid)])
        except KeyError:
            raise KeyError(f"product {pid} has no embedding (no image, or not predicted yet)") from None

    def query(self, pid: int, k: int = 10, *, same_gender: bool = False) -> list[Neighbour]:
        """The ``k`` products most similar to ``pid``, most similar first (see the module docstring)."""
        return self.query_rows(np.array([self.row_of(pid)]), k, same_gender=same_gender)[0]

    def query_rows(self, rows: np.ndarray, k: int = 10, *, same_gender: bool = False) -> list[list[Neighbour]]:
        """:meth:`query` for the products at ``rows`` of the index, in one pass."""
        rows = np.asarray(rows, dtype=np.int64)
        n_all = len(self.ids)
        out: list[list[Neighbour] | None] = [None] * len(rows)
        todo = np.arange(len(rows))
        fetch = min(n_all, k * 3 + 8)
        while len(todo):
            dist, idx = self.kneighbors(self.vectors[rows[todo]], fetch)
            again = []
            for t, d_row, i_row in zip(todo, dist, idx):
                got = self._filter(int(rows[t]), d_row, i_row, k, same_gender)
                if len(got) >= k or fetch >= n_all:
                    out[t] = got
                else:
                    again.append(t)
            todo = np.asarray(again, dtype=np.int64)
            fetch = min(n_all, fetch * 4)
        return out  # type: ignore[return-value]

    CHUNK = 256  # query rows per matrix product: 256 x 44,000 similarities, 45 MB

    def kneighbors(self, queries: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
        """``(cosine distances, rows)`` of the ``n`` nearest rows to each (normalised) query, nearest first."""
        n = min(int(n), len(self.ids))
        dist = np.empty((len(queries), n), dtype=np.float64)
        idx = np.empty((len(queries), n), dtype=np.int64)
        for s in range(0, len(queries), self.CHUNK):
            sims = np.asarray(queries[s:s + self.CHUNK], dtype=np.float32) @ self.vectors.T
            if n < sims.shape[1]:
                part = np.argpartition(-sims, n - 1, axis=1)[:, :n]
            else:
                part = np.broadcast_to(np.arange(sims.shape[1]), sims.shape).copy()
            top = np.take_along_axis(sims, part, axis=1)
            order = np.argsort(-top, axis=1, kind="stable")
            idx[s:s + len(sims)] = np.take_along_axis(part, order, axis=1)
            dist[s:s + len(sims)] = 1.0 - np.take_along_axis(top, order, axis=1)
        return dist, idx

    def _filter(self, row: int, dist: np.ndarray, idx: np.ndarray, k: int, same_gender: bool) -> list[Neighbour]:
        own_group = self.group[row]
        seen = {own_group}
        gender = self.gender[row]
        got = []
        for d, j in zip(dist.tolist(), idx.tolist()):
            if j == row:
                continue
            g = self.group[j]
            if g in seen:
                continue
            if same_gender and self.gender[j] != gender:
                continue
            seen.add(g)
            got.append(Neighbour(int(self.ids[j]), float(1.0 - d)))
            if len(got) >= k:
                break
        return got


def build_index(ds, run, layer: str = DEFAULT_LAYER, predictions=None,  # noqa: ANN001
                effective: pd.DataFrame | None = None, *, names: bool = True) -> SimilarIndex:
    """The similar-products index of ``run`` over data set ``ds``: ``layer``'s vectors (falling back
    to the head embeddings when a run has no cached backbone features) joined, with ``names``, by
    the products' display names (see the module docstring), the data set's exact duplicates
    counted once, the effective genders for ``same_gender``."""
    try:
        ids, vec, source = load_vectors(run, ds.home, layer, predictions)
    except NoEmbeddings:
        if layer != DEFAULT_LAYER:
            raise
        ids, vec, source = load_vectors(run, ds.home, "heads", predictions)
    eff = ds.effective() if effective is None else effective
    if names and "productDisplayName" in eff.columns:
        vec = with_names(vec, name_vectors(eff["productDisplayName"], ids),
                         name_class_vectors(eff["productDisplayName"], eff, ids))
        source += " + product names"
    return SimilarIndex(ids, vec, groups=ds.exact_groups(), gender=eff["gender"].astype(object), source=source)


def similar_table(index: SimilarIndex, pid: int, k: int, catalog: pd.DataFrame, *, same_gender: bool = False
                  ) -> pd.DataFrame:
    """The neighbours of ``pid`` as a table: rank, id, similarity, name, gender, articleType, baseColour."""
    rows = []
    for rank, nb in enumerate(index.query(pid, k, same_gender=same_gender), start=1):
        r = catalog.loc[nb.id] if nb.id in catalog.index else pd.Series(dtype=object)
        rows.append({"rank": rank, "id": nb.id, "similarity": round(nb.similarity, 4),
                     "name": str(r.get("productDisplayName", "")), "gender": str(r.get("gender", "")),
                     "articleType": str(r.get("articleType", "")), "baseColour": str(r.get("baseColour", ""))})
    return pd.DataFrame(rows, columns=["rank", "id", "similarity", "name", "gender", "articleType", "baseColour"])


def pixel_vectors(images: np.ndarray, rows: np.ndarray | None = None, factor: int = 4, chunk: int = 4096) -> np.ndarray:
    """The floor a model must beat: each photo downscaled ``factor`` times (block means), as a vector."""
    rows = np.arange(len(images)) if rows is None else np.asarray(rows, dtype=np.int64)
    h, w, c = images.shape[1:]
    out = np.zeros((len(rows), (h // factor) * (w // factor) * c), np.float32)
    for s in range(0, len(rows), chunk):
        x = np.asarray(images[rows[s:s + chunk]], dtype=np.float32)
        x = x[:, :h // factor * factor, :w // factor * factor]
        x = x.reshape(len(x), h // factor, factor, w // factor, factor, c).mean(axis=(2, 4))
        x = 255.0 - x  # the white background is zero: products, not backgrounds, decide the angle
        out[s:s + chunk] = x.reshape(len(x), -1)
    return out
