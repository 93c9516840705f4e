"""How fast are the real images validated (1 vs all workers) and cached?

    .venv/bin/python benchmarks/validate_images.py [--data DIR] [--runs 3]

Warms the file cache by reading every image once, then times ``validate_images`` over every
image id (the ``images/*.jpg`` stems) with 1 and 2 workers (runs interleaved, median of each),
and ``build_image_cache`` once into a temp folder.  Goal: 5,000 images/s on a 2-core machine.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import PIL

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from fashion_review.data.images import build_image_cache, validate_images  # noqa: E402

DEFAULT_DATA = ROOT / ".." / "shared" / "data" / "fashion-product-images-small"
GOAL = 5000.0


def _disk_usage(folder: Path) -> tuple[int, int]:
    """(apparent bytes, allocated bytes) of the files in ``folder``."""
    apparent = allocated = 0
    for p in folder.iterdir():
        st = p.stat()
        apparent += st.st_size
        allocated += getattr(st, "st_blocks", 0) * 512 or st.st_size
    return apparent, allocated


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA, help="data set folder (holds images/)")
    ap.add_argument("--runs", type=int, default=3, help="timed runs per worker count (median)")
    args = ap.parse_args(argv)
    images_dir = (args.data / "images").resolve()
    if not images_dir.is_dir():
        print(f"no images folder at {images_dir}", file=sys.stderr)
        return 2

    ids = sorted(int(p.stem) for p in images_dir.glob("*.jpg") if p.stem.isdigit())
    print(f"data: {images_dir} ({len(ids):,} images)")
    print(
        f"machine: {os.cpu_count()} cores, Python {platform.python_version()}, Pillow {PIL.__version__}, "
        f"numpy {np.__version__}"
    )
    print(f"load average at start: {os.getloadavg()[0]:.2f}; this process' nice value: {os.nice(0)}")

    t0 = time.perf_counter()
    nbytes = 0
    for pid in ids:
        with open(images_dir / f"{pid}.jpg", "rb") as f:
            nbytes += len(f.read())
    print(f"warm-up: read {nbytes / 1e6:.0f} MB in {time.perf_counter() - t0:.2f} s")

    rates: dict[int, list[float]] = {1: [], 2: []}
    cpu_per_image: dict[int, list[float]] = {1: [], 2: []}
    summary = None
    for run in range(args.runs):
        for workers in (1, 2):
            result = validate_images(ids, images_dir, workers=workers)
            rates[workers].append(result.images_per_s)
            cpu_per_image[workers].append(result.cpu_seconds / result.total)
            summary = result
            print(
                f"  run {run + 1}, workers={workers}: {result.elapsed:.2f} s, {result.images_per_s:,.0f} images/s, "
                f"{1e6 * cpu_per_image[workers][-1]:.0f} us CPU per image"
            )
    assert summary is not None
    print(f"statuses: {summary.summary().split(': ', 1)[1]}")

    med = {w: statistics.median(r) for w, r in rates.items()}
    for w in (1, 2):
        print(
            f"validate_images, workers={w}: {med[w]:,.0f} images/s "
            f"(median of {args.runs}; range {min(rates[w]):,.0f} to {max(rates[w]):,.0f})"
        )
    print(f"speed-up 2 vs 1 workers: {med[2] / med[1]:.2f}x")
    best = max(med.values())
    cpu_us = 1e6 * statistics.median(cpu_per_image[2])
    print(
        f"CPU per image (decode in workers): {cpu_us:.0f} us, i.e. at most {2e6 / cpu_us:,.0f} images/s "
        f"on 2 cores that do nothing else"
    )
    print(f"goal {GOAL:,.0f} images/s: {'met' if med[2] >= GOAL else 'NOT met'} with 2 workers "
          f"({med[2] / GOAL:.1f}x the goal; best {best:,.0f})")

    with tempfile.TemporaryDirectory(prefix="image-cache-bench-") as tmp:
        t0 = time.perf_counter()
        cache = build_image_cache(ids, images_dir, Path(tmp) / "image-cache", workers=2)
        elapsed = time.perf_counter() - t0
        apparent, allocated = _disk_usage(cache.path)
        print(
            f"build_image_cache, workers=2: {elapsed:.2f} s, {len(cache) / elapsed:,.0f} images/s "
            f"(decode, convert/resize, write, fsync), {int(cache.ok.sum()):,} of {len(cache):,} usable"
        )
        print(f"cache on disk: {apparent / 1e6:,.0f} MB ({apparent / 2**20:,.0f} MiB; allocated {allocated / 2**20:,.0f} MiB)")
        t0 = time.perf_counter()
        sample = cache.get(np.random.default_rng(0).choice(cache.ids, 1024, replace=False))
        print(f"cache.get of 1,024 random ids: {1000 * (time.perf_counter() - t0):.1f} ms -> {sample.shape}")
        del cache, sample
    print(f"load average at end: {os.getloadavg()[0]:.2f} (the machine is shared: other work slows all figures)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
