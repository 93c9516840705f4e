"""How long the label-issue queue takes to rebuild after a correction, on a data set with stored issues.

The app rebuilds the queue of the scheme shown after every correction, undo and redo (in the
background since 2026-12-08; the view shows the corrected product leaving at once).  This times
:func:`fashion_review.review.queue.build_queue` per scheme (the median of ``--repeat`` runs) and the
look-alike vote alone, which was the largest part.

    python benchmarks/queue_rebuild.py --data DIR --home HOME [--mode heads] [--repeat 5]

``HOME`` holds the data set's stored label issues (``fashion-review --home HOME issues find``).
Run it at another commit (``PYTHONPATH=<worktree> python benchmarks/queue_rebuild.py ...``) to compare.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import time
from pathlib import Path


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True)
    ap.add_argument("--home", required=True)
    ap.add_argument("--mode", default=None, help="cv or heads (default: the newest stored)")
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    os.environ["FASHION_REVIEW_HOME"] = args.home

    import fashion_review
    from fashion_review.data import open_dataset
    from fashion_review.data.schemes import SCHEMES, scheme_labels
    from fashion_review.review.issues import latest_issues, review_marks
    from fashion_review.review.neighbour_signal import neighbour_signal
    from fashion_review.review.queue import build_queue

    src = Path(fashion_review.__file__).resolve().parent.parent
    commit = subprocess.run(["git", "-C", str(src), "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True).stdout.strip() or "?"
    ds = open_dataset(args.data)
    try:
        stored = latest_issues(ds.home, args.mode)
        if stored is None:
            raise SystemExit(f"no stored label issues in {args.home}: run `fashion-review issues find` first")
        eff = ds.effective()
        print(f"commit {commit} · {len(eff):,} products · stored issues: {stored.label}")
        print(f"median of {args.repeat} runs, seconds")
        for s in SCHEMES:
            marks = review_marks(ds.store, s, stored.last_seq)
            times, nb = [], []
            for _ in range(args.repeat):
                t = time.perf_counter()
                q = build_queue(stored, eff, s, marks)
                times.append(time.perf_counter() - t)
                given = scheme_labels(eff, s)
                given = given[given.notna()]
                t = time.perf_counter()
                neighbour_signal(stored.neighbour_ids, stored.neighbours, given)
                nb.append(time.perf_counter() - t)
            print(f"  {s:<14} build_queue {statistics.median(times):.3f}   of it the look-alike vote "
                  f"{statistics.median(nb):.3f}   ({len(q.entries()):,} in the queue)")
    finally:
        ds.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
