"""How long does loading the full styles.csv and indexing which images exist take?

    .venv/bin/python benchmarks/load_catalog.py [--data DIR] [--runs 7] [--profile]

Times ``load_catalog(DIR)`` (read and check every row, recover the malformed ones, scan the
images folder) and ``load_catalog(DIR, skip_malformed=True)``: one warm-up run each, then
``--runs`` timed runs, interleaved; prints median, min and max.  Goal: at most 1 s (median).
``--profile`` prints the top of a cProfile of one load instead.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import pandas as pd  # noqa: E402

from fashion_review.data.catalog import load_catalog  # noqa: E402

DEFAULT_DATA = ROOT / ".." / "shared" / "data" / "fashion-product-images-small"
GOAL_S = 1.0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=str(DEFAULT_DATA.resolve()))
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--profile", action="store_true")
    args = ap.parse_args()
    data = Path(args.data)

    if args.profile:
        import cProfile
        import pstats

        load_catalog(data)
        prof = cProfile.Profile()
        prof.enable()
        load_catalog(data)
        prof.disable()
        pstats.Stats(prof).sort_stats("cumulative").print_stats(25)
        return 0

    variants = {"recover malformed (default)": {}, "skip malformed (--skip-malformed)": {"skip_malformed": True}}
    times: dict[str, list[float]] = {name: [] for name in variants}
    last = {}
    for name, kw in variants.items():  # warm-up (file cache, imports)
        last[name] = load_catalog(data, **kw)
    for _ in range(args.runs):
        for name, kw in variants.items():
            t0 = time.perf_counter()
            last[name] = load_catalog(data, **kw)
            times[name].append(time.perf_counter() - t0)

    cat = last["recover malformed (default)"]
    n_images = sum(1 for _ in os.scandir(cat.images_dir))
    print(f"load_catalog on {cat.csv_path}")
    print(f"  {len(cat):,} rows, {cat.report.count('malformed_row')} malformed (recovered), "
          f"{int(cat.df['has_image'].sum()):,} with an image, {n_images:,} files in images/")
    print(f"  python {platform.python_version()}, pandas {pd.__version__}, {os.cpu_count()} CPUs, "
          f"{platform.machine()} {platform.system()}")
    print(f"  {args.runs} runs after one warm-up (interleaved)")
    ok = True
    for name, ts in times.items():
        med = statistics.median(ts)
        ok &= med <= GOAL_S
        print(f"  {name:<34} median {med:.3f} s   min {min(ts):.3f} s   max {max(ts):.3f} s")
    print(f"goal: median <= {GOAL_S:.1f} s  ->  {'met' if ok else 'NOT met'}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
