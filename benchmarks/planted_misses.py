"""The planted benchmark's "misses", judged by eye: are the products of the combined score's top k
that were NOT planted really wrong guesses, or label errors the catalog had before the planting?

    .venv/bin/python benchmarks/planted_misses.py --home H [--mode cv] [--kind b] [--sample 72] --out DIR

``H`` is a home of ``benchmarks/label_issues.py`` after its ``plant`` and ``find`` steps.  The
benchmark counts only planted flips as errors, so every real defect of the original catalog that the
score ranks among the top k (k = the number of flips) counts against it.  This draws a seeded simple
random sample of those not-planted products, puts each in a group by what the image and name models
say of its label (both below 0.5, the image only, the name only, neither) and writes to ``--out``:

- ``misses.csv``: every not-planted product of the top k (rank, id, given, suggestion, group, the
  image's and the name's p(given), name, reasons), the sampled ones marked; fill the ``verdict``
  column of the sampled rows by eye (wrong label / wrong photo / judgement call / label right) and
  run again: the verdicts are kept and tallied.
- ``sheet-N.png``: the sample as contact sheets, 24 a sheet.
- ``summary.txt`` (also printed): the groups, the tally per group, the estimated number of real
  defects among all the not-planted products (each group's judged share times its size) and the
  precision at k that counts them as errors too, beside the benchmark's planted-only figure.

The issue's goals are measured against the planted flips alone; this does not change them, it says
how much of what they miss is the benchmark's truth rather than the ranking.
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
DEFECTS = ("wrong label", "wrong photo")
GROUPS = ("image and name", "image only", "name only", "neither")


def _group(img_p: np.ndarray, name_p: np.ndarray) -> np.ndarray:
    img, name = img_p < 0.5, name_p < 0.5
    return np.select([img & name, img & ~name, ~img & name], GROUPS[:3], GROUPS[3]).astype(object)


def misses(home: Path, mode: str, kind: str, folds: int, seed: int) -> tuple[pd.DataFrame, int, int]:
    """(not-planted products of the combined top k, k, planted flips in the top k)."""
    from label_issues import _flips, _stored_for, _usable

    from fashion_review.review.queue import build_queue

    flips = _flips(home)
    k = len(flips)
    args = argparse.Namespace(mode=mode, folds=folds, seed=seed)
    stored, eff = _stored_for(kind, home, args)
    q = build_queue(stored, eff, "articleType")
    t = q.table.loc[_usable(home, kind).intersection(q.table.index)]
    # the benchmark's order (label_issues._at_k): most suspicious first, ties by id
    order = np.lexsort((t.index.to_numpy(), t["score"].to_numpy()))
    top = t.iloc[order[:k]]
    planted = top.index.isin(flips.index)
    fp = top[~planted]
    img_p = fp["image_p_given"].astype(float).fillna(1.0).to_numpy() if "image_p_given" in fp else np.ones(len(fp))
    name_p = fp["name_p_given"].astype(float).fillna(1.0).to_numpy() if "name_p_given" in fp else np.ones(len(fp))
    out = pd.DataFrame({"rank": np.flatnonzero(~planted) + 1, "given": fp["given"].to_numpy(),
                        "suggestion": fp["suggestion"].to_numpy(), "group": _group(img_p, name_p),
                        "image_p_given": img_p.round(3), "name_p_given": name_p.round(3),
                        "score": fp["score"].astype(float).round(4).to_numpy(),
                        "name": eff["productDisplayName"].reindex(fp.index).fillna("").to_numpy(),
                        "reasons": fp["reasons"].to_numpy()}, index=pd.Index(fp.index, name="id"))
    return out, k, int(planted.sum())


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--home", type=Path, required=True)
    p.add_argument("--mode", choices=("cv", "heads"), default="cv")
    p.add_argument("--kind", choices=("a", "b"), default="b")
    p.add_argument("--folds", type=int, default=4, help="folds of the name model (as the benchmark's)")
    p.add_argument("--sample", type=int, default=72, help="not-planted products to judge (a seeded random sample)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, required=True)
    args = p.parse_args(argv)
    os.environ["FASHION_REVIEW_HOME"] = str(args.home)

    from contact_sheet import paged_sheets

    from fashion_review.data import open_dataset

    fp, k, tp = misses(args.home, args.mode, args.kind, args.folds, args.seed)
    rng = np.random.default_rng(args.seed)
    pick = np.sort(rng.choice(len(fp), size=min(args.sample, len(fp)), replace=False))
    fp["sampled"] = False
    fp.iloc[pick, fp.columns.get_loc("sampled")] = True
    args.out.mkdir(parents=True, exist_ok=True)
    csv = args.out / "misses.csv"
    fp["verdict"] = ""
    if csv.exists():  # keep the verdicts a person wrote
        old = pd.read_csv(csv, index_col="id", keep_default_na=False)
        fp["verdict"] = old["verdict"].reindex(fp.index).fillna("").astype(str)
    fp.to_csv(csv)

    lines = [f"not-planted products in the combined top k, kind ({args.kind}), {args.mode} mode, home {args.home} "
             f"({time.strftime('%Y-%m-%d %H:%M')})",
             f"k = {k:,}: {tp:,} planted flips (P@k {tp / k:.3f}), {len(fp):,} not planted; "
             f"{len(pick)} of these drawn at random (seed {args.seed}) to judge by eye"]
    sizes = fp["group"].value_counts()
    lines.append("groups (image / name model's p(given) < 0.5): "
                 + ", ".join(f"{g} {int(sizes.get(g, 0)):,}" for g in GROUPS))
    judged = fp[fp["sampled"] & (fp["verdict"] != "")]
    if len(judged):
        est = 0.0
        lines.append(f"verdicts ({len(judged)} of {len(pick)} sampled judged):")
        for g in GROUPS:
            j = judged[judged["group"] == g]
            if not len(j):
                continue
            d = int(j["verdict"].isin(DEFECTS).sum())
            est += sizes.get(g, 0) * d / len(j)
            counts = j["verdict"].value_counts()
            lines.append(f"  {g:15} {len(j):3d} judged: {d} defects; " + ", ".join(f"{v} {n}" for v, n in counts.items()))
        share = judged["verdict"].isin(DEFECTS).mean()
        se = np.sqrt(share * (1 - share) / len(judged)) * len(fp)
        lines.append(f"estimated real defects among the {len(fp):,} not planted: {est:,.0f} "
                     f"(the plain share {100 * share:.0f} % of the judged, +- {se:,.0f} at one standard error)")
        lines.append(f"precision at k counting them as errors too: {(tp + est) / k:.3f} "
                     f"(planted flips only, the goals' measure: {tp / k:.3f})")

    ds = open_dataset(args.home / "planted" / args.kind)
    try:
        sheet = fp[fp["sampled"]].assign(kind="label")
        sheet["reasons"] = [f"[{g}] {r}" + (f"; verdict: {v}" if v else "")
                            for g, r, v in zip(sheet["group"], sheet["reasons"], sheet["verdict"])]
        paged_sheets(sheet, sheet["name"], ds.catalog.image_path, args.out,
                     f"not-planted products of the combined top k, kind ({args.kind}), sampled")
    finally:
        ds.close()
    text = "\n".join(lines)
    print(text)
    (args.out / "summary.txt").write_text(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
