"""Identical product photos: products whose decoded pixels are the same (numpy + Pillow, no Qt, no Keras).

The real catalog holds hundreds of groups of identical photos under different product ids.  They
matter three ways: a group whose labels disagree is a label issue (one of them is wrong), a group
split across train and test inflates test accuracy, and a similar-products query must count such
a group once.

:func:`exact_groups` hashes the decoded pixels as the image cache holds them (uint8 at 80 x 60), so
a re-encoded JPEG of the same photo is not an exact duplicate (that is a near duplicate, see
:mod:`fashion_review.review.duplicates`).  It lives in the data layer because new splits keep each
group in one part (:mod:`fashion_review.data.splits`); ``review.duplicates`` re-exports it.

:func:`dataset_pixel_hashes` gives the digests of a data set's photos, cached under the data set's
home (``duplicates/pixel-hashes.npz``): read from the image cache when there is one, else decoded
from the files exactly as the cache would decode them.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from fashion_review.fsutil import atomic_file, atomic_write_json
from fashion_review.tasks import Task

#: Under a data set's home: the pixel digests (and, from review.duplicates, the perceptual hashes).
FOLDER = "duplicates"
HASHES_FILE = "pixel-hashes.npz"
HASHES_VERSION = 1


def pixel_hashes(images: np.ndarray, rows: Iterable[int] | np.ndarray | None = None,
                 chunk: int = 2048) -> np.ndarray:
    """A 16-byte BLAKE2b digest of each image's pixels (``images[rows]``), as an (N,) ``S16`` array."""
    rows = np.arange(len(images)) if rows is None else np.asarray(rows, dtype=np.int64)
    out = np.empty(len(rows), dtype="S16")
    for start in range(0, len(rows), chunk):
        block = np.ascontiguousarray(images[rows[start:start + chunk]])
        for k, img in enumerate(block):
            out[start + k] = hashlib.blake2b(img.tobytes(), digest_size=16).digest()
    return out


def groups_of_digests(ids: np.ndarray, digests: np.ndarray) -> pd.Series:
    """Series id -> group number over the ids whose digest occurs twice or more (see exact_groups)."""
    ids = np.asarray(ids, dtype=np.int64)
    if len(ids) == 0:
        return pd.Series([], index=pd.Index([], dtype=np.int64, name="id"), dtype=np.int64, name="group")
    frame = pd.DataFrame({"id": ids, "digest": digests}).sort_values("id", kind="stable")
    sizes = frame.groupby("digest", sort=False)["id"].transform("size")
    frame = frame[sizes.to_numpy() >= 2]
    first = frame.groupby("digest", sort=False)["id"].transform("min")
    order = np.unique(first.to_numpy())
    group = np.searchsorted(order, first.to_numpy())
    return pd.Series(group.astype(np.int64), index=pd.Index(frame["id"].to_numpy(), name="id"), name="group")


def exact_groups(ids: Iterable[int] | np.ndarray, images: np.ndarray,
                 rows: Iterable[int] | np.ndarray | None = None) -> pd.Series:
    """Groups of products with identical pixels: Series id -> group number, products in a group of 2+.

    ``images[rows[k]]`` is the photo of ``ids[k]`` (``rows`` defaults to ``0..N-1``).  Group numbers
    are 0, 1, ... in the order of each group's smallest id; within a group, ids ascend.
    """
    ids = np.asarray(ids, dtype=np.int64)
    rows = np.arange(len(ids)) if rows is None else np.asarray(rows, dtype=np.int64)
    if len(ids) != len(rows):
        raise ValueError(f"{len(ids)} ids but {len(rows)} rows")
    if len(ids) == 0:
        return groups_of_digests(ids, np.empty(0, "S16"))
    return groups_of_digests(ids, pixel_hashes(images, rows))


# --------------------------------------------------------------------------------------------
# A data set's digests, cached


def _ids_with_image(ds) -> np.ndarray:  # noqa: ANN001 - data.dataset.Dataset
    df = ds.catalog.df
    return np.sort(df.index[df["has_image"].to_numpy()].to_numpy(dtype=np.int64))


def hashes_path(ds) -> Path:  # noqa: ANN001
    return Path(ds.home) / FOLDER / HASHES_FILE


def _read(path: Path, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    try:
        with np.load(path, allow_pickle=False) as z:
            if int(z["version"]) != HASHES_VERSION or not np.array_equal(z["ids"], ids):
                return None
            return z["digest"], z["ok"]
    except (OSError, KeyError, ValueError):
        return None


def save_npz(path: Path, **arrays: np.ndarray) -> None:
    """Write an ``.npz`` atomically (the one atomic writer, ``fsutil.atomic_file``)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_file(path, "wb") as f:
        np.savez(f, **arrays)


def dataset_pixel_hashes(ds, task: Task | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # noqa: ANN001
    """``(ids, digest, ok)`` for every product of ``ds`` with an image file (ids ascending).

    ``ok`` is False where the image does not decode (its digest is then meaningless).  Cached in
    ``ds.home/duplicates/pixel-hashes.npz`` for this set of ids; computed from the image cache
    when it holds these ids (about a second for 42,000 photos), else by decoding each file as the
    cache does (phase "hash"; about 15 s on one core for the full data set; raises Cancelled).
    """
    from fashion_review.data.images import CACHE_FOLDER, open_image_cache

    ids = _ids_with_image(ds)
    path = hashes_path(ds)
    got = _read(path, ids)
    if got is not None:
        return ids, got[0], got[1]
    t0 = time.perf_counter()
    cache = open_image_cache(Path(ds.home) / CACHE_FOLDER, ids=ids)
    if cache is not None:
        ok = cache.ok.copy()
        digest = pixel_hashes(cache.images)
        source = "image cache"
    else:
        digest, ok = _hash_files(ds, ids, task)
        source = "image files"
    digest[~ok] = b""
    save_npz(path, version=np.asarray(HASHES_VERSION), ids=ids, digest=digest, ok=ok)
    atomic_write_json(path.parent / "pixel-hashes.json",
                      {"source": source, "count": int(len(ids)), "seconds": round(time.perf_counter() - t0, 3),
                       "created": time.strftime("%Y-%m-%dT%H:%M:%S%z")})
    return ids, digest, ok


def _hash_files(ds, ids: np.ndarray, task: Task | None) -> tuple[np.ndarray, np.ndarray]:  # noqa: ANN001
    from fashion_review.data.images import _decode, image_path

    digest = np.empty(len(ids), dtype="S16")
    ok = np.zeros(len(ids), dtype=bool)
    images_dir = ds.catalog.images_dir
    for k, pid in enumerate(ids.tolist()):
        check, pixels = _decode(image_path(images_dir, pid), want_pixels=True)
        if pixels is not None:
            ok[k] = True
            digest[k] = hashlib.blake2b(np.ascontiguousarray(pixels).tobytes(), digest_size=16).digest()
        if task is not None and k % 500 == 0:
            task.check()
            task.report("hash", k / max(1, len(ids)), f"hashing photos: {k:,} of {len(ids):,}")
    return digest, ok


def dataset_exact_groups(ds, task: Task | None = None) -> pd.Series:  # noqa: ANN001
    """The exact-duplicate groups of ``ds``'s photos (see :func:`exact_groups`), from the cached digests."""
    ids, digest, ok = dataset_pixel_hashes(ds, task)
    return groups_of_digests(ids[ok], digest[ok])
