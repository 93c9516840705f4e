"""Decoding the product photos: validation and the on-disk image cache.

Two jobs, both over plain inputs (product ids and an images folder, or a function giving each
id's path) so the catalog, the CLI and the GUI can all call them:

* :func:`check_image` decodes one file fully and says whether it is usable and, if not, why;
  :func:`validate_images` does that for a whole data set on all cores and reports per status.
* :func:`build_image_cache` decodes every image once into one ``uint8`` array of shape
  ``(N, 80, 60, 3)`` on disk; :func:`open_image_cache` reopens it (memory-mapped) on every later
  run, and returns ``None`` when it is absent, stale or incomplete.

Work is split into chunks of up to a few hundred paths sent to worker processes, so the cost of a
process round trip is paid per chunk, not per image.  Workers of the cache build write their rows
straight into the memory-mapped output file, so decoded pixels never travel through a pipe.
Progress and cancellation go through :class:`fashion_review.tasks.Task`.
"""

from __future__ import annotations

import json
import math
import multiprocessing
import os
import shutil
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Union

import numpy as np
from PIL import Image, UnidentifiedImageError

from fashion_review.data.ids import index_of
from fashion_review.fsutil import atomic_write_json, fsync_path, remove_stale_temp_dirs, replace_dir, temp_name
from fashion_review.tasks import Task

__all__ = [
    "CACHE_VERSION",
    "EXPECTED_SIZE",
    "IMAGE_SHAPE",
    "SIZE_TOLERANCE",
    "STATUSES",
    "STATUS_CODES",
    "USABLE_STATUSES",
    "ImageCache",
    "ImageCheck",
    "ImageProblem",
    "ValidationResult",
    "CACHE_FOLDER",
    "build_image_cache",
    "ensure_image_cache",
    "check_image",
    "image_path",
    "open_image_cache",
    "validate_images",
]

#: Every status :func:`check_image` can give, in order of their codes in ``status.npy``.
STATUSES: tuple[str, ...] = ("ok", "missing", "unreadable", "truncated", "not_rgb", "wrong_size")
STATUS_CODES: dict[str, int] = {s: i for i, s in enumerate(STATUSES)}
#: Statuses whose image still decodes: the cache converts them to RGB at 80 x 60 and keeps them.
USABLE_STATUSES: frozenset[str] = frozenset({"ok", "not_rgb", "wrong_size"})

#: The photos' nominal size as Pillow gives it: (width, height).
EXPECTED_SIZE: tuple[int, int] = (60, 80)
#: How far (relative, per dimension) a size may be from EXPECTED_SIZE and still count as "ok".
#: 15 %, not 10 %: the real data has nine 53 x 80 photos (11.7 % narrow) that are fine to use,
#: while its 60 x 60 ones (25 % short) are not the expected framing.
SIZE_TOLERANCE: float = 0.15
#: Shape of one cached image: (height, width, channels).
IMAGE_SHAPE: tuple[int, int, int] = (EXPECTED_SIZE[1], EXPECTED_SIZE[0], 3)
#: Bumped whenever the cache layout or its decoding changes, so old caches read as stale.
CACHE_VERSION = 1

#: The image cache's folder under a data set's home.
CACHE_FOLDER = "image-cache"

#: Up to this many paths go to a worker in one message.
MAX_CHUNK = 256

PathLike = Union[str, "os.PathLike[str]"]
#: An images folder (``<folder>/<id>.jpg``) or a function giving the path of a product id.
ImageSource = Union[PathLike, Callable[[int], PathLike]]

_MODE_NAMES = {
    "1": "1-bit black and white",
    "L": "grayscale",
    "LA": "grayscale with alpha",
    "P": "palette",
    "PA": "palette with alpha",
    "RGBA": "RGB with alpha",
    "YCbCr": "YCbCr",
    "I": "32-bit integer grayscale",
    "I;16": "16-bit grayscale",
    "F": "floating-point grayscale",
}


# --------------------------------------------------------------------------------------------
# One image


@dataclass(frozen=True)
class ImageCheck:
    """What decoding one image file found.

    ``status`` is one of :data:`STATUSES`; ``reason`` is a sentence naming the file;
    ``size`` is (width, height) and ``mode`` the Pillow mode, both None when the file could not
    be identified; ``format`` is what the bytes really are (e.g. "JPEG", "PNG").
    """

    status: str
    reason: str
    size: tuple[int, int] | None = None
    mode: str | None = None
    format: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    @property
    def usable(self) -> bool:
        """The image decodes; the cache holds it (converted to RGB, resized to 80 x 60)."""
        return self.status in USABLE_STATUSES


def _size_is_near(size: tuple[int, int]) -> bool:
    return all(abs(got - want) <= SIZE_TOLERANCE * want for got, want in zip(size, EXPECTED_SIZE))


def _describe_mode(mode: str) -> str:
    name = _MODE_NAMES.get(mode)
    return f"{mode} ({name})" if name else mode


def _looks_cut_short(path: str) -> bool:
    """A file that starts like a JPEG but lacks its end marker was most likely cut short."""
    try:
        with open(path, "rb") as f:
            head = f.read(3)
            f.seek(-2, os.SEEK_END)
            tail = f.read(2)
    except OSError:
        return False
    return head == b"\xff\xd8\xff" and tail != b"\xff\xd9"


def _is_truncation(message: str) -> bool:
    """Pillow's ways of saying that the data ended early."""
    m = message.lower()
    return "truncated" in m or "broken data stream" in m or "premature end" in m


def _decode(path: str, want_pixels: bool) -> tuple[ImageCheck, np.ndarray | None]:
    """Decode ``path`` fully; return the check and, when asked and usable, the (80, 60, 3) pixels."""
    try:
        im = Image.open(path)
    except FileNotFoundError:
        return ImageCheck("missing", f"{path}: file does not exist"), None
    except UnidentifiedImageError:
        try:
            nbytes = os.path.getsize(path)
        except OSError:
            nbytes = -1
        if nbytes == 0:
            return ImageCheck("unreadable", f"{path}: empty file (0 bytes)"), None
        if _looks_cut_short(path):
            return ImageCheck(
                "truncated", f"{path}: truncated JPEG (cut off inside its header, {nbytes} bytes)", format="JPEG"
            ), None
        return ImageCheck("unreadable", f"{path}: not an image file Pillow can identify ({nbytes} bytes)"), None
    except OSError as e:  # a folder, no permission, an I/O error, a header cut short
        if _is_truncation(str(e)):
            return ImageCheck("truncated", f"{path}: truncated image (cut off inside its header: {e})"), None
        return ImageCheck("unreadable", f"{path}: cannot read the file ({e.strerror or e})"), None
    except Exception as e:  # Pillow raises e.g. DecompressionBombError, SyntaxError on odd headers
        return ImageCheck("unreadable", f"{path}: cannot open as an image ({type(e).__name__}: {e})"), None

    with im:
        fmt, size, mode = im.format, im.size, im.mode
        try:
            im.load()
        except Exception as e:
            msg = str(e) or type(e).__name__
            if _is_truncation(msg):
                return ImageCheck("truncated", f"{path}: truncated {fmt} (decoder stopped: {msg})", size, mode, fmt), None
            return ImageCheck("unreadable", f"{path}: cannot decode the {fmt} data ({msg})", size, mode, fmt), None

        near = _size_is_near(size)
        if mode != "RGB":
            extra = "" if near else f"; also {size[0]}x{size[1]} pixels, far from {EXPECTED_SIZE[0]}x{EXPECTED_SIZE[1]}"
            check = ImageCheck("not_rgb", f"{path}: colour mode {_describe_mode(mode)}, not RGB{extra}", size, mode, fmt)
        elif not near:
            check = ImageCheck(
                "wrong_size",
                f"{path}: {size[0]}x{size[1]} pixels (width x height), "
                f"far from the expected {EXPECTED_SIZE[0]}x{EXPECTED_SIZE[1]}",
                size, mode, fmt,
            )
        else:
            check = ImageCheck("ok", f"{path}: ok ({size[0]}x{size[1]} {mode} {fmt})", size, mode, fmt)
        if not want_pixels:
            return check, None
        try:
            # Inside `with`: older Pillow drops the pixels of a closed image.
            return check, np.asarray(_to_cache_image(im))
        except Exception as e:  # an exotic mode Pillow cannot convert
            msg = f"{path}: cannot convert colour mode {mode} to RGB ({type(e).__name__}: {e})"
            return ImageCheck("unreadable", msg, size, mode, fmt), None


def _to_cache_image(im: Image.Image) -> Image.Image:
    if im.mode != "RGB":
        if im.mode in ("P", "PA"):  # palette transparency: via RGBA, as Pillow recommends
            im = im.convert("RGBA")
        im = im.convert("RGB")
    if im.size != EXPECTED_SIZE:
        im = im.resize(EXPECTED_SIZE, Image.Resampling.BILINEAR)
    return im


def check_image(path: PathLike) -> ImageCheck:
    """Decode one image file fully and say whether it is usable as it is (see :data:`STATUSES`).

    Truncated files are reported, never silently padded: Pillow's ``LOAD_TRUNCATED_IMAGES`` is
    left as it is.
    """
    return _decode(os.fspath(path), want_pixels=False)[0]


# --------------------------------------------------------------------------------------------
# Many images, on all cores


@dataclass(frozen=True)
class ImageProblem:
    """One image that is not "ok": its product id, path, status and a sentence saying why."""

    id: int
    path: str
    status: str
    reason: str


@dataclass
class ValidationResult:
    """What :func:`validate_images` found over a set of product ids."""

    ids: np.ndarray  # int64, in the order given
    codes: np.ndarray  # uint8 status code (index into STATUSES) per id
    counts: dict[str, int]  # every status, zero included
    problems: list[ImageProblem]  # the images that are not "ok", in the order given
    elapsed: float  # seconds
    workers: int  # processes that decoded (1: in this process)
    cpu_seconds: float = 0.0  # CPU time the decoding took, all processes together

    @property
    def total(self) -> int:
        return int(len(self.ids))

    @property
    def images_per_s(self) -> float:
        return self.total / self.elapsed if self.elapsed > 0 else float("inf")

    @property
    def all_ok(self) -> bool:
        return self.counts["ok"] == self.total

    @property
    def usable(self) -> np.ndarray:
        """Bool mask per id: the image decodes (ok, not_rgb, wrong_size)."""
        return np.isin(self.codes, [STATUS_CODES[s] for s in USABLE_STATUSES])

    def status_of(self) -> dict[int, str]:
        """Product id -> status, for the ids that are not "ok"."""
        return {p.id: p.status for p in self.problems}

    def summary(self) -> str:
        parts = ", ".join(f"{n} {s}" for s, n in self.counts.items() if n)
        return (
            f"{self.total} images checked in {self.elapsed:.1f} s "
            f"({self.images_per_s:,.0f} images/s, {self.workers} worker(s)): {parts or 'none'}"
        )


def image_path(source: ImageSource, product_id: int) -> str:
    """The path of a product's image: ``<folder>/<id>.jpg``, or what the function gives."""
    if callable(source):
        return os.fspath(source(product_id))
    return os.path.join(os.fspath(source), f"{product_id}.jpg")


def _as_ids(ids: Iterable[int] | np.ndarray) -> np.ndarray:
    arr = np.asarray(ids if isinstance(ids, (np.ndarray, Sequence)) else list(ids))
    if arr.ndim != 1:
        raise ValueError(f"product ids must be a flat sequence, got shape {arr.shape}")
    if arr.size == 0:
        return np.zeros(0, dtype=np.int64)
    if arr.dtype.kind in "iu":
        return arr.astype(np.int64, copy=False)
    try:
        as_int = arr.astype(np.int64)
    except (TypeError, ValueError, OverflowError):
        raise ValueError("product ids must be integers") from None
    if arr.dtype.kind == "f" and not np.array_equal(as_int, arr):
        raise ValueError("product ids must be integers")
    return as_int


def usable_cores() -> int:
    """The CPU cores this process may run on (its affinity where the OS says, else the count)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def _chunk_size(n: int, workers: int) -> int:
    # A few chunks per worker balances the load and lets progress and cancel come through
    # often (about every 50 ms at ~6,000 images/s per core); more would only add IPC.
    return max(1, min(MAX_CHUNK, math.ceil(n / (workers * 4))))


def _mp_context() -> multiprocessing.context.BaseContext:
    """Worker processes that are safe to start from any thread (the GUI calls from a worker).

    A plain fork of a multi-threaded process can deadlock; the fork server forks from a clean
    process that has already imported numpy and Pillow, so starting workers stays cheap.
    """
    if sys.platform.startswith("linux"):
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload([__name__])
        return ctx
    return multiprocessing.get_context("spawn")


#: What a chunk gives back: (start, count, [(position, check)] of the non-ok ones, CPU seconds).
ChunkResult = tuple[int, int, list[tuple[int, ImageCheck]], float]


def _check_chunk(start: int, paths: list[str]) -> ChunkResult:
    """Worker: check each path; return its non-ok checks."""
    cpu0 = time.process_time()
    bad = []
    for i, p in enumerate(paths):
        check = _decode(p, want_pixels=False)[0]
        if check.status != "ok":
            bad.append((start + i, check))
    return start, len(paths), bad, time.process_time() - cpu0


def _cache_chunk(
    start: int, paths: list[str], images_file: str | None = None, out: np.ndarray | None = None
) -> ChunkResult:
    """Worker: decode each path into rows ``start...`` of the cache file (or of ``out``)."""
    cpu0 = time.process_time()
    rows = np.load(images_file, mmap_mode="r+") if out is None else out
    bad = []
    try:
        for i, p in enumerate(paths):
            check, pixels = _decode(p, want_pixels=True)
            if pixels is not None:
                rows[start + i] = pixels
            if check.status != "ok":
                bad.append((start + i, check))
    finally:
        if out is None:
            rows.flush()
            del rows
    return start, len(paths), bad, time.process_time() - cpu0


def _run_chunks(
    fn: Callable[..., ChunkResult],
    paths: list[str],
    workers: int,
    task: Task | None,
    phase: str,
    extra: tuple[Any, ...] = (),
    local_extra: tuple[Any, ...] | None = None,
) -> tuple[list[tuple[int, ImageCheck]], int, float]:
    """Run ``fn(start, chunk, *extra)`` over chunks of ``paths``; gather the non-ok checks.

    Returns (non-ok checks sorted by position, processes used, CPU seconds of all chunks).  Reports progress after each
    chunk and raises Cancelled (after stopping the workers) as soon as the task is cancelled.
    """
    n = len(paths)
    size = _chunk_size(n, workers)
    jobs = [(s, paths[s : s + size]) for s in range(0, n, size)]
    workers = min(workers, len(jobs)) or 1
    bad: list[tuple[int, ImageCheck]] = []
    done = 0

    cpu = 0.0

    def finished(result: ChunkResult) -> None:
        nonlocal done, cpu
        done += result[1]
        bad.extend(result[2])
        cpu += result[3]
        if task is not None:
            task.report(phase, done / n, f"{done:,} of {n:,} images")

    if task is not None:
        task.check()
        task.report(phase, 0.0 if n else 1.0, f"0 of {n:,} images")
    if workers == 1:
        for start, chunk in jobs:
            finished(fn(start, chunk, *(local_extra if local_extra is not None else extra)))
            if task is not None:
                task.check()
    else:
        executor = ProcessPoolExecutor(max_workers=workers, mp_context=_mp_context())
        try:
            pending: set[Future] = {executor.submit(fn, start, chunk, *extra) for start, chunk in jobs}
            while pending:
                # A timeout, so a cancel is noticed even while no chunk finishes.
                ready, pending = wait(pending, timeout=0.1, return_when=FIRST_COMPLETED)
                for f in ready:
                    finished(f.result())
                if task is not None:
                    task.check()
        finally:
            # On cancel or error: drop the queued chunks, let the running ones end (they take
            # milliseconds), so no worker still writes once we return.
            executor.shutdown(wait=True, cancel_futures=True)
    bad.sort(key=lambda pc: pc[0])
    return bad, workers, cpu


def validate_images(
    ids: Iterable[int] | np.ndarray,
    images_dir: ImageSource,
    *,
    task: Task | None = None,
    workers: int | None = None,
) -> ValidationResult:
    """Decode every product's image and report, per status, which ones are not usable as they are.

    ``images_dir`` is the images folder (``<folder>/<id>.jpg``) or a function id -> path.
    ``workers`` defaults to the number of cores; 1 decodes in this process.  Reports progress as
    phase "validate" and raises :class:`fashion_review.tasks.Cancelled` when ``task`` is cancelled.
    """
    t0 = time.perf_counter()
    id_arr = _as_ids(ids)
    paths = [image_path(images_dir, int(i)) for i in id_arr.tolist()]
    nworkers = usable_cores() if workers is None else int(workers)
    if nworkers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")
    bad, used, cpu = _run_chunks(_check_chunk, paths, nworkers, task, "validate")
    return _result(id_arr, paths, bad, time.perf_counter() - t0, used, cpu)


def _result(
    id_arr: np.ndarray,
    paths: list[str],
    bad: list[tuple[int, ImageCheck]],
    elapsed: float,
    workers: int,
    cpu_seconds: float,
) -> ValidationResult:
    codes = np.zeros(len(id_arr), dtype=np.uint8)
    problems = []
    for pos, check in bad:
        codes[pos] = STATUS_CODES[check.status]
        problems.append(ImageProblem(int(id_arr[pos]), paths[pos], check.status, check.reason))
    counts = dict.fromkeys(STATUSES, 0)
    for code, count in zip(*np.unique(codes, return_counts=True)):
        counts[STATUSES[int(code)]] = int(count)
    return ValidationResult(id_arr, codes, counts, problems, elapsed, workers, cpu_seconds)


# --------------------------------------------------------------------------------------------
# The image cache


class ImageCache:
    """The decoded images of a data set, memory-mapped from ``cache_dir/images.npy``.

    ``ids`` are sorted ascending; ``images[k]`` is the (80, 60, 3) uint8 image of ``ids[k]``;
    ``status[k]`` is its code in :data:`STATUSES`: "ok" for every image the cache holds (also
    those converted to RGB or resized: ``problems`` keeps what validation said about them), the
    failure otherwise, with an all-zero image.
    """

    def __init__(self, path: Path, ids: np.ndarray, images: np.ndarray, status: np.ndarray, meta: dict) -> None:
        self.path = path
        self.ids = ids
        self.images = images
        self.status = status
        self.meta = meta

    def __len__(self) -> int:
        return int(len(self.ids))

    def __repr__(self) -> str:
        return f"ImageCache({str(self.path)!r}, {len(self)} images, {int(self.ok.sum())} ok)"

    @property
    def ok(self) -> np.ndarray:
        """Bool mask: the image decoded and is in the cache."""
        return self.status == STATUS_CODES["ok"]

    @property
    def counts(self) -> dict[str, int]:
        """Per-status counts as validation gave them (not_rgb / wrong_size kept apart)."""
        return dict(self.meta["counts"])

    @property
    def problems(self) -> list[ImageProblem]:
        """Every image that was not "ok" when the cache was built, converted ones included."""
        return [ImageProblem(**p) for p in self.meta.get("problems", [])]

    def index_of(self, ids: Iterable[int] | np.ndarray) -> np.ndarray:
        """Positions of ``ids`` in the cache (int64), -1 for ids it does not hold."""
        return index_of(self.ids, _as_ids(ids))

    def readable(self, ids: Iterable[int] | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(mask, positions)``: which of ``ids`` are in the cache with an image that decoded, and
        their positions (-1 where not in the cache).  The one "image decodes" test of the program."""
        pos = self.index_of(ids)
        ok = pos >= 0
        ok[ok] = self.ok[pos[ok]]
        return ok, pos

    def get(self, ids: Iterable[int] | np.ndarray) -> np.ndarray:
        """The images of ``ids``, shape (len(ids), 80, 60, 3) uint8 (a copy, not a view)."""
        pos = self.index_of(ids)
        if (pos < 0).any():
            unknown = _as_ids(ids)[pos < 0]
            shown = ", ".join(map(str, unknown[:10].tolist())) + (" ..." if len(unknown) > 10 else "")
            raise KeyError(f"{len(unknown)} product id(s) not in the image cache {self.path}: {shown}")
        return np.asarray(self.images[pos])


def _tmp_dir_prefixes(cache_dir: Path) -> tuple[str, str]:
    """Name prefixes of a build's temp folder and of a replaced cache awaiting removal."""
    return f".{cache_dir.name}.tmp-", f".{cache_dir.name}.old-"


def _remove_stale_tmp_dirs(cache_dir: Path) -> None:
    """Remove temp folders left by builds that were killed (their process is gone)."""
    for prefix in _tmp_dir_prefixes(cache_dir):
        remove_stale_temp_dirs(cache_dir.parent, prefix)


def build_image_cache(
    ids: Iterable[int] | np.ndarray,
    images_dir: ImageSource,
    cache_dir: PathLike,
    *,
    task: Task | None = None,
    workers: int | None = None,
) -> ImageCache:
    """Decode every product's image once into ``cache_dir`` and open it.

    Images are converted to RGB and resized (bilinear) to 80 x 60 where needed; images that do
    not decode are stored as zeros with their failure status.  The cache is built in a temp
    folder beside ``cache_dir`` and renamed into place at the end, so a crash or a cancel (phase
    "cache", raises Cancelled) never leaves a cache that :func:`open_image_cache` accepts.
    Replaces an existing cache at ``cache_dir``.
    """
    t0 = time.perf_counter()
    cache_dir = Path(cache_dir)
    id_arr = np.sort(_as_ids(ids))
    if len(id_arr) > 1 and (dupes := id_arr[1:][id_arr[1:] == id_arr[:-1]]).size:
        raise ValueError(f"duplicate product ids for the image cache: {np.unique(dupes)[:10].tolist()}")
    nworkers = usable_cores() if workers is None else int(workers)
    if nworkers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")
    paths = [image_path(images_dir, int(i)) for i in id_arr.tolist()]

    cache_dir.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_tmp_dirs(cache_dir)
    tmp_prefix, old_prefix = _tmp_dir_prefixes(cache_dir)
    tmp = cache_dir.parent / temp_name(tmp_prefix)
    tmp.mkdir()
    try:
        images_file = tmp / "images.npy"
        out = np.lib.format.open_memmap(images_file, mode="w+", dtype=np.uint8, shape=(len(id_arr), *IMAGE_SHAPE))
        try:
            bad, used, cpu = _run_chunks(
                _cache_chunk, paths, nworkers, task, "cache",
                extra=(str(images_file),), local_extra=(None, out),
            )
            out.flush()
        finally:
            del out
        result = _result(id_arr, paths, bad, time.perf_counter() - t0, used, cpu)
        status = np.where(result.usable, STATUS_CODES["ok"], result.codes).astype(np.uint8)
        np.save(tmp / "ids.npy", id_arr)
        np.save(tmp / "status.npy", status)
        meta = {
            "version": CACHE_VERSION,
            "count": int(len(id_arr)),
            "shape": list(IMAGE_SHAPE),
            "dtype": "uint8",
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "source": str(images_dir) if not callable(images_dir) else getattr(images_dir, "__qualname__", "function"),
            "counts": result.counts,
            "usable": int((status == STATUS_CODES["ok"]).sum()),
            "seconds": round(result.elapsed, 3),
            "problems": [asdict(p) for p in result.problems],
        }
        if task is not None:
            task.check()
        for name in ("images.npy", "ids.npy", "status.npy"):
            fsync_path(tmp / name)
        # meta.json last: a folder without it is never accepted.
        atomic_write_json(tmp / "meta.json", meta)
        replace_dir(tmp, cache_dir, old_prefix)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if task is not None:
        task.report("cache", 1.0, f"{len(id_arr):,} images cached in {time.perf_counter() - t0:.1f} s")
    cache = open_image_cache(cache_dir)
    if cache is None:  # pragma: no cover - we just wrote it
        raise RuntimeError(f"the image cache just written to {cache_dir} cannot be read back")
    return cache


def open_image_cache(cache_dir: PathLike, *, ids: Iterable[int] | np.ndarray | None = None) -> ImageCache | None:
    """Open the cache in ``cache_dir``, or None if it is absent, incomplete or stale.

    Stale means written by another cache version, or (when ``ids`` is given) holding another
    set of product ids than ``ids``.
    """
    cache_dir = Path(cache_dir)
    try:
        with open(cache_dir / "meta.json", encoding="utf-8") as f:
            meta = json.load(f)
        if meta.get("version") != CACHE_VERSION or tuple(meta.get("shape", ())) != IMAGE_SHAPE:
            return None
        count = int(meta["count"])
        stored_ids = np.load(cache_dir / "ids.npy")
        status = np.load(cache_dir / "status.npy")
        images = np.load(cache_dir / "images.npy", mmap_mode="r")
    except (OSError, ValueError, KeyError, TypeError, json.JSONDecodeError):
        return None
    if (
        stored_ids.dtype != np.int64
        or stored_ids.shape != (count,)
        or status.shape != (count,)
        or images.dtype != np.uint8
        or images.shape != (count, *IMAGE_SHAPE)
        or (count > 1 and not (stored_ids[1:] > stored_ids[:-1]).all())
    ):
        return None
    if ids is not None and not np.array_equal(np.unique(_as_ids(ids)), stored_ids):
        return None
    return ImageCache(cache_dir, stored_ids, images, status, meta)


def ensure_image_cache(ds: Any, task: Task | None = None) -> ImageCache:
    """The data set's image cache (``ds.home / "image-cache"``), built once on first use.

    Rebuilt when absent, stale or holding another set of products than the catalog's products
    with an image (reports phase "cache"; raises Cancelled when cancelled).
    """
    df = ds.catalog.df
    ids = df.index[df["has_image"].to_numpy()].to_numpy(dtype=np.int64)
    cache_dir = Path(ds.home) / CACHE_FOLDER
    cache = open_image_cache(cache_dir, ids=ids)
    if cache is None:
        cache = build_image_cache(ids, ds.catalog.images_dir, cache_dir, task=task)
    return cache
