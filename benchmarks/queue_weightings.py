"""Weightings of the combined label-issue score side by side, on planted flips and on real errors.

    python benchmarks/queue_weightings.py --home H [--real-home R --verdicts CSV [CSV ...]] [--name-weights W ...]

``--home``: the home of a ``benchmarks/label_issues.py`` run whose plant, baseline and find steps
ran (``H/planted``): precision@k (k = the planted flips) and AUROC of the combined articleType score
under each weighting, kinds (a) label only and (b) label and name.  ``--real-home``: the home in
which ``label_issues.py --steps real`` found the issues of the original catalog; each weighting's
top 100 counted against the verdicts that people gave (``tally.csv`` files of that step: columns
``id`` and ``verdict``, the first file that has a product wins); products nobody judged yet are
listed, with their name, to be looked at and added.

Every weighting is scored on the same signal tables in one run, so the figures compare; the
shipped weights are :data:`fashion_review.review.queue.WEIGHTS`.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
S = "articleType"
DEFECTS = ("wrong label", "wrong photo")


def variants(name_weights: tuple[float, ...] = ()) -> dict[str, dict[str, float]]:
    """The weightings compared; ``name_weights``: the shipped one with the name signal's weight set to each."""
    from fashion_review.review.queue import WEIGHTS

    return {
        "shipped": dict(WEIGHTS),
        "image 1, look-alikes 0.5 (added)": {**WEIGHTS, "image": 1.0, "neighbours": 0.5},
        "image 1, look-alikes 0.25 (added)": {**WEIGHTS, "image": 1.0, "neighbours": 0.25},
        "image 1, no look-alikes": {**WEIGHTS, "image": 1.0, "neighbours": 0.0},
        "image 0.67, look-alikes 0.33 (shared)": {**WEIGHTS, "image": 0.67, "neighbours": 0.33},
        "image 0.5, look-alikes 0.5 (shared)": {**WEIGHTS, "image": 0.5, "neighbours": 0.5},
        **{f"name {w:g} (shipped: {WEIGHTS['name']:g})": {**WEIGHTS, "name": w} for w in name_weights},
        "image alone (every other weight 0)": {**{k: 0.0 for k in WEIGHTS}, "image": 1.0},
    }


def _scores(stored, eff: pd.DataFrame, weights: dict[str, dict[str, float]]):  # noqa: ANN001, ANN202
    """(the signal tables, each weighting's combined score) of ``eff``'s articleType labels."""
    from fashion_review.data.schemes import scheme_labels
    from fashion_review.review.queue import combine, signal_tables

    given = scheme_labels(eff, S)
    given = given[given.notna()]
    tables = signal_tables(stored, eff, S)
    return tables, {name: combine(tables, given, w)["score"] for name, w in weights.items()}


def _top(score: pd.Series, k: int) -> np.ndarray:
    """The ids of the ``k`` lowest scores (most suspicious), ties by id, as the queue orders them."""
    return score.index.to_numpy()[np.lexsort((score.index.to_numpy(), score.to_numpy()))[:k]]


def planted(home: Path, args) -> None:  # noqa: ANN001
    from label_issues import _at_k, _flips, _stored_kinds, _usable

    flips = _flips(home)
    k = len(flips)
    ws = variants(tuple(args.name_weights))
    res = {}
    others = {}
    for kind, stored, eff in _stored_kinds(home, args):
        tables, scores = _scores(stored, eff, ws)
        pop = _usable(home, kind).intersection(next(iter(scores.values())).index)
        truth = pd.Series(pop.isin(flips.index), index=pop)
        res[kind] = {n: _at_k(1 - s.reindex(pop).fillna(1.0), truth, k) for n, s in scores.items()}
        others[kind] = _not_planted_in_top(tables, scores["shipped"].reindex(pop).fillna(1.0), truth, k)
    print(f"planted: k = {k:,} flips, {home}")
    print(f"{'weighting':40} {'(a) P@k':>8} {'AUROC':>6}   {'(b) P@k':>8} {'AUROC':>6}")
    for n in ws:
        a, b = res["a"][n], res["b"][n]
        print(f"{n:40} {a[0]:8.3f} {a[2]:6.3f}   {b[0]:8.3f} {b[2]:6.3f}")
    for kind, (n, both, image_only, name_only, neither) in others.items():
        print(f"({kind}) the {n:,} products of the shipped score's top k that were not planted: image and name both "
              f"give their label < 0.5 for {both:,} (a label error the catalog had before the planting, if the real "
              f"top 100 is a guide), the image alone {image_only:,}, the name alone {name_only:,}, neither {neither:,}")


def _not_planted_in_top(tables: dict[str, pd.DataFrame], score: pd.Series, truth: pd.Series, k: int):  # noqa: ANN202
    """(count, both, image only, name only, neither): the not-planted products among the top k of
    ``score`` (lower = more suspicious), by which of the image and name models give their label < 0.5."""
    top = _top(score, k)
    fp = top[~truth.reindex(top).to_numpy(dtype=bool)]
    img = tables["image"]["image_p_given"].reindex(fp).fillna(1.0).to_numpy() < 0.5
    name = tables["name"]["name_p_given"].reindex(fp).fillna(1.0).to_numpy() < 0.5
    return len(fp), int((img & name).sum()), int((img & ~name).sum()), int((~img & name).sum()), int((~img & ~name).sum())


def real(home: Path, verdict_files: list[Path], data: Path, name_weights: tuple[float, ...] = ()) -> None:
    from fashion_review.data import open_dataset
    from fashion_review.review.issues import latest_issues

    known = pd.Series(dtype=object)
    for f in verdict_files:
        v = pd.read_csv(f).set_index("id")["verdict"].dropna()
        known = pd.concat([known, v[~v.index.isin(known.index)]])
    os.environ["FASHION_REVIEW_HOME"] = str(home)
    ds = open_dataset(data)
    try:
        stored = latest_issues(ds.home, "heads") or latest_issues(ds.home)
        if stored is None:
            raise SystemExit(f"no stored issues of {data} under {home}: run label_issues.py --steps real first")
        eff = ds.effective()
    finally:
        ds.close()
    ws = variants(name_weights)
    _, scores = _scores(stored, eff, ws)
    print(f"real: the top 100 of the original catalog's articleType queue ({stored.label}); "
          f"{len(known):,} products judged in {', '.join(str(f) for f in verdict_files)}")
    print(f"{'weighting':40} {'defects':>7} {'judgement':>9} {'right':>5} {'unjudged':>8}")
    unjudged: set[int] = set()
    for n, s in scores.items():
        top = _top(s, 100)
        v = known.reindex(top)
        counts = v.value_counts()
        miss = top[v.isna().to_numpy()]
        unjudged |= {int(i) for i in miss}
        print(f"{n:40} {int(sum(counts.get(d, 0) for d in DEFECTS)):7d} {int(counts.get('judgement call', 0)):9d} "
              f"{int(counts.get('label right', 0)):5d} {len(miss):8d}")
    names = eff["productDisplayName"]
    for i in sorted(unjudged):
        print(f"  unjudged: {i} {eff.loc[i, S]} | {names.get(i)}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--home", help="home of a label_issues.py run with planted flips")
    ap.add_argument("--real-home", help="home in which label_issues.py --steps real found the original catalog's issues")
    ap.add_argument("--verdicts", nargs="*", default=[], help="tally.csv files with people's verdicts")
    ap.add_argument("--data", default=str(ROOT / ".." / "shared" / "data" / "fashion-product-images-small"))
    ap.add_argument("--mode", default="heads")
    ap.add_argument("--folds", type=int, default=4)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--name-weights", type=float, nargs="*", default=[],
                    help="also the shipped weighting with the name signal's weight set to each of these")
    args = ap.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    print(f"# combined-score weightings ({time.strftime('%Y-%m-%d %H:%M')})")
    if args.home:
        os.environ["FASHION_REVIEW_HOME"] = str(args.home)
        planted(Path(args.home), args)
    if args.real_home:
        real(Path(args.real_home), [Path(f) for f in args.verdicts], Path(args.data), tuple(args.name_weights))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
