"""Which label issues to call "photo" (maybe a wrong photo): the family rule against people's verdicts.

    python benchmarks/photo_kind.py [--tally CSV] [--data DIR]

Reads the judged top 100 of the real articleType queue (``tally.csv`` of ``label_issues.py --steps
real``: each entry's kind, its reasons, and the verdict people gave after looking at the photo) and
the catalog it came from, and counts the verdicts of the "photo" entries under the rule before
2026-12-08 (the image contradicts a label that the name supports) and under the family rule of
``review/queue.py`` (also: the image's class is of another family than the label's, another
subCategory for an articleType).  The image's class is read from the entry's reasons ("image says
X (0.89, heads mode)"), so no model runs; the families come from the catalog's labels.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from fashion_review.data import open_dataset  # noqa: E402
from fashion_review.review.hierarchy import class_families  # noqa: E402

IMAGE_SAYS = re.compile(r"image says ([^;(]+?) \(")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tally", default=str(ROOT / "benchmarks/results/label-issues-real-heads/tally.csv"))
    ap.add_argument("--data", default=str(ROOT.parent / "shared/data/fashion-product-images-small"))
    args = ap.parse_args(argv)
    tally = pd.read_csv(args.tally)
    ds = open_dataset(args.data)
    try:
        family = class_families(ds.effective(), "articleType")
    finally:
        ds.close()
    photo = tally[tally["kind"] == "photo"].copy()
    photo["image_says"] = [m.group(1).strip() if (m := IMAGE_SAYS.search(r)) else "" for r in photo["reasons"]]
    photo["siblings"] = [family.get(a) is not None and family.get(a) == family.get(g)
                         for a, g in zip(photo["image_says"], photo["given"])]
    shown = Path(args.tally).resolve()
    shown = shown.relative_to(ROOT) if shown.is_relative_to(ROOT) else shown
    print(f"{shown}: {len(tally)} judged entries, {len(photo)} of kind 'photo' (the rule before)")
    print(photo[["rank", "id", "given", "image_says", "siblings", "verdict"]].to_string(index=False))
    before = photo["verdict"].value_counts()
    after = photo[~photo["siblings"]]["verdict"].value_counts()
    for name, counts in (("before: image against name and label", before),
                         ("family rule: and the image's class in another subCategory", after)):
        n, right = int(counts.sum()), int(counts.get("wrong photo", 0))
        print(f"{name}: {n} 'photo' entries, {right} wrong photos ({right / max(n, 1):.0%}); "
              + ", ".join(f"{v} {k}" for k, v in counts.items()))
    lost = photo[photo["siblings"] & (photo["verdict"] == "wrong photo")]
    print(f"wrong photos the family rule calls 'label': {len(lost)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
