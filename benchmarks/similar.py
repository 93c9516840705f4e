"""Are a model's nearest neighbours the same kind of product?  Precision@k and query time.

    .venv/bin/python benchmarks/similar.py [--data DIR] [--run RUN] [--k 10] [--out FILE]

For each product in the *test* part of the run's own split (``split.csv``: the model never trained
on it), its ``k`` nearest neighbours over the whole catalog (``review.similar.SimilarIndex``:
exact cosine kNN, the query's identical photos under other ids left out and each exact-duplicate
group counted once) are scored:

* precision@k articleType: the share of the neighbours with the query's articleType (goal >= 0.93);
* precision@k articleType + gender: the share with both;
* precision@k articleType + colour: the share with the query's articleType and baseColour (the
  look's part: a name says the kind, seldom the colour);
* precision@k known / other: the first figure over the queries whose articleType is one the model
  knows, and over the others (the run's test part also holds products of the catalog's many small
  classes, which the model was never taught to tell apart).

Every embedding layer of ``review.similar.LAYERS`` the run has is measured, and raw pixels
(the photo downscaled 4 x to 20 x 15, as a vector) as the floor, each alone and joined by the
product names (``review.similar.with_names``: the name words and the name model's classes, what the
app and ``fashion-review similar`` use unless told ``--look-only``; the name model here is fitted on
the run's training part only, so a query's label is unseen by both models), and the names alone.  Then the time to build the
index (normalise + fit) and to answer one query (median and 95th percentile over 200 single
queries, k = 10; goal <= 20 ms at 44,000 products).  The CPU is shared on the project's machine:
rerun on a quiet one.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SHARED = ROOT.parent / "shared" / "data" / "fashion-product-images-small"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", default=str(SHARED if SHARED.exists() else Path("/work/shared/data/fashion-product-images-small")))
    p.add_argument("--run", help="run id or folder (default: the data set's active run)")
    p.add_argument("--k", type=int, default=10)
    p.add_argument("--queries", type=int, default=200, help="single queries timed")
    p.add_argument("--out", help="also write the report to this file")
    args = p.parse_args(argv)

    from fashion_review.data import open_dataset
    from fashion_review.data.images import ensure_image_cache

    from fashion_review.review import similar
    from fashion_review.training import registry

    ds = open_dataset(args.data)
    run = registry.get_run(args.run, ds.fingerprint) if args.run else registry.active_run(ds.fingerprint)
    if run is None:
        print("no run: pass --run or activate one", file=sys.stderr)
        return 2
    split = registry.read_split(run)
    eff = ds.effective()
    article = eff["articleType"].astype(object)
    gender = eff["gender"].astype(object)
    colour = eff["baseColour"].astype(object)
    groups = ds.exact_groups()
    test = split.index[split.to_numpy(dtype=object) == "test"].to_numpy(dtype=np.int64)
    lines = [f"data: {args.data}; run {run.id} ({run.recipe}); {len(test):,} test products (its split.csv); "
             f"k = {args.k}; exact-duplicate groups counted once ({groups.nunique():,} groups)"]
    if len(test) < 2000:
        lines.append("NOTE: a small test part (a model of the bundled sample?): figures are rough")
    cache = ensure_image_cache(ds)
    ok_rows = np.flatnonzero(cache.ok)
    candidates: list[tuple[str, np.ndarray, np.ndarray]] = []
    for layer in similar.LAYERS:
        try:
            ids, vec, _ = similar.load_vectors(run, ds.home, layer)
        except similar.NoEmbeddings as exc:
            lines.append(f"{layer}: skipped ({exc})")
            continue
        candidates.append((layer, ids, vec))
    candidates.append(("raw pixels 20x15", cache.ids[ok_rows], similar.pixel_vectors(cache.images, ok_rows)))

    known = set(run.classes.get("articleType", []))
    q_known = np.array([article.get(int(pid)) in known for pid in test])
    lines.append(f"of them {int(q_known.sum()):,} in an articleType the model knows ({len(known)} classes) and "
                 f"{int((~q_known).sum()):,} in one of the catalog's other, smaller classes (P@k known: those first)")
    lines += ["", f"{'vectors':<30}{'dim':>6}{'index':>8}{'build s':>9}{'P@k type':>10}{'P@k type+gender':>17}"
              f"{'P@k known':>11}{'P@k other':>11}{'P@k type+colour':>17}{'query ms (median / p95)':>26}"]
    rng = np.random.default_rng(0)
    names = eff["productDisplayName"]
    train = split.index[split.to_numpy(dtype=object) == "train"].to_numpy(dtype=np.int64)
    name_vecs: dict[bytes, tuple[np.ndarray, np.ndarray]] = {}  # one fit per set of ids (the layers share the catalog's)
    name_s = class_s = 0.0
    rows_out = []
    for name, ids, vec in candidates:
        key = np.asarray(ids, dtype=np.int64).tobytes()
        if key not in name_vecs:
            t0 = time.perf_counter()
            words = similar.name_vectors(names, ids)
            t1 = time.perf_counter()
            # the name model learns from the training part's labels only: the queries' labels stay unseen
            classes = similar.name_class_vectors(names, eff, ids, train=train)
            name_s, class_s = t1 - t0, time.perf_counter() - t1
            name_vecs[key] = (words, classes)
        words, classes = name_vecs[key]
        rows_out += [(name, ids, vec), (f"{name} + names", ids, similar.with_names(vec, words, classes))]
        if name == similar.DEFAULT_LAYER:
            rows_out.append((f"{name} + name words only", ids, similar.with_names(vec, words, weight=0.75)))
    first_ids = candidates[0][1]
    words, classes = name_vecs[np.asarray(first_ids, dtype=np.int64).tobytes()]
    rows_out.append(("names alone", first_ids, np.concatenate([similar.NAME_WEIGHT * similar.normalise(words), classes], 1)))
    for name, ids, vec in rows_out:
        t0 = time.perf_counter()
        index = similar.SimilarIndex(ids, vec, groups=groups, gender=gender)
        build = time.perf_counter() - t0
        q = np.array([pid for pid in test if pid in index], dtype=np.int64)
        rows = np.array([index.row_of(pid) for pid in q], dtype=np.int64)
        results = index.query_rows(rows, args.k)
        same_type, same_both, same_colour, is_known = [], [], [], []
        for pid, nbs in zip(q.tolist(), results):
            is_known.append(article.get(pid) in known)
            a, g = article.get(pid), gender.get(pid)
            na = article.reindex([n.id for n in nbs]).to_numpy(dtype=object)
            ng = gender.reindex([n.id for n in nbs]).to_numpy(dtype=object)
            same_type.append(float(np.mean(na == a)) if len(nbs) else 0.0)
            same_both.append(float(np.mean((na == a) & (ng == g))) if len(nbs) else 0.0)
            nc = colour.reindex([n.id for n in nbs]).to_numpy(dtype=object)
            same_colour.append(float(np.mean((na == a) & (nc == colour.get(pid)))) if len(nbs) else 0.0)
        times = []
        for pid in rng.choice(q, min(args.queries, len(q)), replace=False):
            t1 = time.perf_counter()
            index.query(int(pid), args.k)
            times.append(1000 * (time.perf_counter() - t1))
        k_mask = np.asarray(is_known, dtype=bool)
        p_known = float(np.mean(np.asarray(same_type)[k_mask])) if k_mask.any() else float("nan")
        p_other = float(np.mean(np.asarray(same_type)[~k_mask])) if (~k_mask).any() else float("nan")
        lines.append(f"{name:<30}{vec.shape[1]:>6}{len(index):>8,}{build:>9.3f}{np.mean(same_type):>10.3f}"
                     f"{np.mean(same_both):>17.3f}{p_known:>11.3f}{p_other:>11.3f}{np.mean(same_colour):>17.3f}"
                     f"{np.median(times):>15.1f} / "
                     f"{np.percentile(times, 95):.1f}")
    lines += ["", f"name words (TF-IDF + truncated SVD to {similar.NAME_DIM}) of {len(candidates[-1][1]):,} products: "
              f"{name_s:.1f} s; name model ({', '.join(similar.NAME_CLASS_WEIGHTS)}; fitted on the run's "
              f"{len(train):,} training products, in the app on every labelled one): {class_s:.1f} s "
              "(both once per index build, in the app's worker)",
              "'+ names': the name words and the name model's classes (the default of the app and `fashion-review "
              "similar`); '+ name words only': the words alone at weight 0.75 (the previous default)"]
    lines += ["", "Exact search cost grows linearly with the catalog: at a million products about 23x the "
              "query time above; see review/similar.py for the approximate index that would serve it."]
    text = "\n".join(lines) + "\n"
    print(text, end="")
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
    ds.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
