"""Get the paper benchmark onto a GPU machine: the shared data and Keras, in 64 MiB.

The GPU machines have PyTorch, JAX, pandas, scikit-learn, matplotlib and Pillow but no Keras and
no network; a call carries at most 64 MiB (the working tree included).  The shared data is 57 MiB
of JPEG bytes in 42,072 files (170 MB on disk: a tar's headers alone would add 20 MiB), so it is
packed as one blob of the concatenated files plus an index, without the images of products that
no paper scheme uses (classes the filter drops everywhere: nothing the benchmark computes changes),
which fits:

    # here (needs PyPI for the wheels once), writes .gpu/ (git-ignored):
    .venv/bin/python benchmarks/gpu_bundle.py pack [--data DIR]
    # then the device call, carry [".gpu"], at most 9 minutes:
    python3 benchmarks/gpu_bundle.py unpack --to /tmp/fpis && \\
      python3 -m pip install -q --no-index --find-links .gpu/wheels keras && \\
      KERAS_BACKEND=torch python3 benchmarks/paper_protocol.py --data /tmp/fpis --total-s 500 --out-dir $OUT

``unpack`` needs only the standard library and numpy.
"""

from __future__ import annotations

import argparse
import lzma
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
BUNDLE = ROOT / ".gpu"
DEFAULT_DATA = ROOT / ".." / "shared" / "data" / "fashion-product-images-small"
#: What Keras needs that the GPU image lacks (pure Python, or a wheel for its Python 3.12).
WHEELS = ("keras==3.15.1", "namex", "optree")
LIMIT_MIB = 64


def used_ids(data: Path, min_images: int = 500) -> set[int]:
    """Products usable in at least one of the paper's schemes: the only images the benchmark reads.

    Leaving out the others changes nothing it computes: they are in classes the filter drops in
    every scheme, and fewer images in a dropped class keep it dropped.
    """
    sys.path.insert(0, str(ROOT))
    import os
    import tempfile

    os.environ["FASHION_REVIEW_HOME"] = tempfile.mkdtemp(prefix="fr-bundle-")
    from fashion_review.data import PAPER_SCHEMES, open_dataset

    ds = open_dataset(data)
    try:
        eff = ds.effective()
        ids: set[int] = set()
        for s in PAPER_SCHEMES:
            ids |= set(int(i) for i in ds.usable(s, min_images, eff).index)
    finally:
        ds.close()
    return ids


def pack(data: Path, out: Path, python_version: str = "3.12", all_images: bool = False) -> None:
    out.mkdir(parents=True, exist_ok=True)
    files = sorted((data / "images").glob("*.jpg"))
    if not all_images:
        keep = used_ids(data)
        files = [f for f in files if f.stem.isdigit() and int(f.stem) in keep]
    index = []
    with open(out / "images.bin", "wb") as blob:
        for f in files:
            b = f.read_bytes()
            blob.write(b)
            index.append((int(f.stem), len(b)))
    np.save(out / "images-index.npy", np.array(index, dtype=np.int64).reshape(-1, 2))
    with open(data / "styles.csv", "rb") as src, lzma.open(out / "styles.csv.xz", "wb", preset=9) as dst:
        shutil.copyfileobj(src, dst)
    for extra in ("fashion-review.toml",):
        if (data / extra).exists():
            shutil.copyfile(data / extra, out / extra)
    wheels = out / "wheels"
    wheels.mkdir(exist_ok=True)
    subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary=:all:",
                    "--python-version", python_version, "--platform", "manylinux2014_x86_64",
                    "--platform", "manylinux_2_17_x86_64", "-d", str(wheels), *WHEELS], check=True)
    exclude = ROOT / ".git" / "info" / "exclude"
    if out.resolve() == BUNDLE.resolve() and exclude.exists() and "/.gpu/" not in exclude.read_text(encoding="utf-8").split():
        with open(exclude, "a", encoding="utf-8") as f:
            f.write("/.gpu/\n")
    total = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    tracked = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    tree = sum((ROOT / n).stat().st_size for n in tracked.decode().split("\0") if n and (ROOT / n).is_file())
    print(f"{len(files):,} images, bundle {total / 2**20:.1f} MiB + working tree {tree / 2**20:.1f} MiB "
          f"= {(total + tree) / 2**20:.1f} MiB (limit {LIMIT_MIB} MiB) in {out}")


def unpack(bundle: Path, to: Path) -> None:
    images = to / "images"
    images.mkdir(parents=True, exist_ok=True)
    index = np.load(bundle / "images-index.npy")
    with open(bundle / "images.bin", "rb") as blob:
        for pid, n in index.tolist():
            (images / f"{pid}.jpg").write_bytes(blob.read(n))
    with lzma.open(bundle / "styles.csv.xz", "rb") as src, open(to / "styles.csv", "wb") as dst:
        shutil.copyfileobj(src, dst)
    for extra in ("fashion-review.toml",):
        if (bundle / extra).exists():
            shutil.copyfile(bundle / extra, to / extra)
    print(f"{len(index):,} images and styles.csv in {to}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("pack")
    p.add_argument("--data", type=Path, default=DEFAULT_DATA)
    p.add_argument("--out", type=Path, default=BUNDLE)
    p.add_argument("--all-images", action="store_true",
                   help="also the images of products no paper scheme uses (does not fit 64 MiB)")
    u = sub.add_parser("unpack")
    u.add_argument("--bundle", type=Path, default=BUNDLE)
    u.add_argument("--to", type=Path, required=True)
    args = ap.parse_args()
    if args.cmd == "pack":
        pack(args.data.resolve(), args.out, all_images=args.all_images)
    else:
        unpack(args.bundle, args.to)
    return 0


if __name__ == "__main__":
    sys.exit(main())
