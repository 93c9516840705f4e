"""Three-colour palettes of the product photos, named in the catalog's ``baseColour`` vocabulary (numpy, no Qt).

Per photo (the image cache's uint8 80 x 60):

1. **Background.** The studio background is white.  It is removed by a *border flood fill*: the
   near-white pixels (every channel >= :data:`WHITE_LEVEL`) connected to the photo's border
   (``scipy.ndimage.label`` over the whole batch at once, 4-connected, never across photos).  A
   plain threshold would also delete the white *inside* the product (a white logo on a black
   T-shirt, white soles, the body of a white shirt away from its edge) and so bias every palette
   away from White, the catalog's second most common colour; the flood fill keeps whatever the
   product's outline encloses.  When it leaves almost nothing (a white product whose edge melts
   into the background) the palette is taken from the pixels that are not pure white.  A photo
   whose border is grey, not white (a grey backdrop: about 2 % of the catalog), also floods the
   grey pixels close to the border's median colour (:data:`STUDIO_TOLERANCE`).  The
   foreground is then eroded by :data:`ERODE` pixel (4-connected), unless that leaves less than
   :data:`MIN_ERODED` of the photo (a thin chain, a pair of sunglasses): at 80 x 60 the product's
   outline pixels are half background, a pale halo that took a slot of the palette or paled
   its colours (measured: +0.6 points of top-3 agreement, ``benchmarks/results/colour.txt``).
2. **k-means in CIELAB** (D65), k = 3, on up to :data:`SAMPLE` foreground pixels per photo, all
   photos of a batch at once (a few numpy iterations, deterministic start at the 1/6, 1/2 and
   5/6 lightness quantiles), each colour's share of the foreground.
3. **Names.** Each colour takes the name of the nearest reference colour
   (``resources/base-colours.csv``, learnt from the catalog's photos, each row with its source:
   see :mod:`fashion_review.review.colour_names`).

:func:`build_palettes` computes the whole catalog once into ``HOME/datasets/<fp>/palettes/``
(like the image cache); :func:`colour_suggestions` gives per product the suggested colour and a
reason, for the label-issue queue of the ``baseColour`` scheme.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from fashion_review.fsutil import atomic_write_json
# The reference tables and the colour space live in colour_names; they are part of this module's
# interface (the app, the CLI and the benchmark name palettes through ``colour``).
from fashion_review.review.colour_names import (  # noqa: F401
    LIGHTNESS_WEIGHT, NAMED_FILE, PRIOR_WEIGHT, PROTOTYPE_MIN, PROTOTYPES, REFERENCE_FILE,
    References, delta_e2000, lab_to_srgb, learn_references, load_references, measure_references, srgb_to_lab,
    write_references)
from fashion_review.tasks import Task

K = 3
#: Pixels brighter than this in every channel may be background (if connected to the border).
WHITE_LEVEL = 235
#: Foreground pixels sampled per photo for k-means.
SAMPLE = 256
ITERATIONS = 8
#: Below this share of the photo, the flood fill's foreground is taken as a white product's edge.
MIN_FOREGROUND = 0.03
#: A photo whose border's median colour is grey (channels within this of each other) and not white
#: was taken on a grey backdrop: grey pixels within this of that colour may be background too.
STUDIO_TOLERANCE = 20
#: Pixels the foreground loses at its outline, and the share of the photo it must keep to lose them.
ERODE = 1
MIN_ERODED = 0.02
BATCH = 512
FOLDER = "palettes"
#: 2: the foreground is eroded and grey backdrops are background (version 1 palettes are computed again).
VERSION = 2


# --------------------------------------------------------------------------------------------
# Palettes


BACKGROUNDS = ("flood", "threshold")


def foreground_masks(images: np.ndarray, background: str = "flood") -> np.ndarray:
    """Bool (B, H, W): the pixels that are not white background connected to the border
    (``background="threshold"``: not near-white at all; for comparison, see the module docstring)."""
    from scipy import ndimage

    if background not in BACKGROUNDS:
        raise ValueError(f"unknown background removal {background!r}; choose one of {', '.join(BACKGROUNDS)}")
    imgs = np.asarray(images)
    white = (imgs >= WHITE_LEVEL).all(axis=-1)
    if background == "threshold":
        return _erode(_fallback(imgs, ~white))
    white |= _like_a_grey_studio(imgs)
    structure = np.zeros((3, 3, 3), bool)
    structure[1] = ndimage.generate_binary_structure(2, 1)  # 4-connected within a photo, never across
    labels, _ = ndimage.label(white, structure=structure)
    background = np.zeros(labels.max() + 1, bool)
    background[np.unique(_border(labels))] = True
    background[0] = False
    return _erode(_fallback(imgs, ~background[labels]))


def _border(a: np.ndarray) -> np.ndarray:
    """(B, 2(H+W), ...): the border pixels of each photo of ``a`` (B, H, W, ...)."""
    return np.concatenate([a[:, 0], a[:, -1], a[:, :, 0], a[:, :, -1]], axis=1)


def _like_a_grey_studio(imgs: np.ndarray) -> np.ndarray:
    """Bool (B, H, W): in a photo whose border is not white but grey (a grey backdrop, about 2 % of
    the catalog), the grey pixels (channels within :data:`STUDIO_TOLERANCE` of each other) within
    :data:`STUDIO_TOLERANCE` (every channel) of the border's median colour; False everywhere in a
    white-studio photo.  (Accepting every grey no darker than the border's darker greys, for
    backdrops lit brighter in the middle, scored 0.2-0.3 points lower: it takes grey products too.)"""
    border = _border(imgs)  # (B, 2(H+W), 3)
    studio = np.median(border, axis=1)  # (B, 3)
    grey = (studio.min(axis=1) < WHITE_LEVEL) & (np.ptp(studio, axis=1) <= STUDIO_TOLERANCE)
    out = np.zeros(imgs.shape[:3], bool)
    if grey.any():
        px = imgs[grey].astype(np.int16)
        close = (np.abs(px - studio[grey][:, None, None, :].astype(np.int16)) <= STUDIO_TOLERANCE).all(axis=-1)
        out[grey] = close & (np.ptp(px, axis=-1) <= STUDIO_TOLERANCE)
    return out


def _erode(fg: np.ndarray) -> np.ndarray:
    """``fg`` without its outline pixels (:data:`ERODE` times 4-connected; outside the photo counts
    as foreground, so a product cut by the frame keeps its edge), photo by photo, where at least
    :data:`MIN_ERODED` of the photo is left."""
    eroded = fg
    for _ in range(ERODE):
        e = eroded.copy()
        e[:, 1:] &= eroded[:, :-1]
        e[:, :-1] &= eroded[:, 1:]
        e[:, :, 1:] &= eroded[:, :, :-1]
        e[:, :, :-1] &= eroded[:, :, 1:]
        eroded = e
    keep = eroded.reshape(len(fg), -1).mean(axis=1) >= MIN_ERODED
    fg[keep] = eroded[keep]
    return fg


def _fallback(imgs: np.ndarray, fg: np.ndarray) -> np.ndarray:
    small = fg.reshape(len(fg), -1).mean(axis=1) < MIN_FOREGROUND
    if small.any():  # a white product melting into the background: everything not pure white
        fg[small] = (imgs[small] < 250).any(axis=-1)
        still = fg[small].reshape(int(small.sum()), -1).mean(axis=1) < MIN_FOREGROUND
        idx = np.flatnonzero(small)[still]
        fg[idx] = True
    return fg


def _sample(images: np.ndarray, fg: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Up to SAMPLE foreground pixels per photo: (B, S, 3) uint8 and a (B, S) validity mask."""
    b = len(images)
    flat = images.reshape(b, -1, 3)
    keys = rng.random(fg.reshape(b, -1).shape, dtype=np.float32) + (~fg.reshape(b, -1)) * 2.0
    s = min(SAMPLE, keys.shape[1])
    idx = np.argpartition(keys, s - 1, axis=1)[:, :s]
    valid = np.take_along_axis(keys, idx, axis=1) < 2.0
    return np.take_along_axis(flat, idx[..., None], axis=1), valid


def kmeans_lab(lab: np.ndarray, valid: np.ndarray, k: int = K, iterations: int = ITERATIONS
               ) -> tuple[np.ndarray, np.ndarray]:
    """Batched k-means: ``lab`` (B, S, 3), ``valid`` (B, S) -> centres (B, k, 3), shares (B, k).

    Starts from the pixels at the (2i + 1) / 2k lightness quantiles of each photo's valid pixels;
    an empty cluster keeps its centre.  Centres come back by share, largest first.
    """
    b, s, _ = lab.shape
    n = valid.sum(axis=1)
    order = np.argsort(np.where(valid, lab[..., 0], np.inf), axis=1)
    q = np.clip(((2 * np.arange(k) + 1) / (2 * k) * n[:, None]).astype(np.int64), 0, s - 1)
    centres = np.take_along_axis(lab, np.take_along_axis(order, q, axis=1)[..., None], axis=1)
    w = valid.astype(np.float32)
    for _ in range(iterations):
        d = ((lab[:, :, None, :] - centres[:, None, :, :]) ** 2).sum(-1)  # (B, S, k)
        assign = d.argmin(-1)
        onehot = (assign[..., None] == np.arange(k)) * w[..., None]  # (B, S, k)
        counts = onehot.sum(1)  # (B, k)
        sums = np.einsum("bsk,bsc->bkc", onehot, lab)
        centres = np.where(counts[..., None] > 0, sums / np.maximum(counts[..., None], 1e-9), centres)
    d = ((lab[:, :, None, :] - centres[:, None, :, :]) ** 2).sum(-1)
    onehot = (d.argmin(-1)[..., None] == np.arange(k)) * w[..., None]
    shares = onehot.sum(1) / np.maximum(n[:, None], 1)
    by = np.argsort(-shares, axis=1, kind="stable")
    return np.take_along_axis(centres, by[..., None], axis=1), np.take_along_axis(shares, by, axis=1)


def palettes(images: np.ndarray, seed: int = 0, background: str = "flood") -> tuple[np.ndarray, np.ndarray]:
    """Three-colour palettes of ``images`` (B, H, W, 3 uint8): CIELAB centres (B, 3, 3), shares (B, 3)."""
    imgs = np.asarray(images)
    fg = foreground_masks(imgs, background)
    px, valid = _sample(imgs, fg, np.random.default_rng(seed))
    return kmeans_lab(srgb_to_lab(px), valid)


@dataclass
class Palettes:
    """The catalog's palettes: ``lab[k]`` / ``share[k]`` are ``ids[k]``'s three colours, largest first."""

    ids: np.ndarray  # int64, ascending
    lab: np.ndarray  # float32 (N, 3, 3)
    share: np.ndarray  # float32 (N, 3)
    meta: dict

    def index_of(self, ids) -> np.ndarray:  # noqa: ANN001
        q = np.asarray(ids, dtype=np.int64)
        pos = np.searchsorted(self.ids, q)
        clipped = np.minimum(pos, max(len(self.ids) - 1, 0))
        ok = (pos < len(self.ids)) & (self.ids[clipped] == q) if len(self.ids) else np.zeros(len(q), bool)
        return np.where(ok, pos, -1)

    def named(self, refs: References | None = None, prior_weight: float = PRIOR_WEIGHT) -> tuple[np.ndarray, np.ndarray]:
        """(N, 3) reference names (object) and CIEDE2000 distances of each palette colour."""
        refs = refs if refs is not None else load_references()
        idx, dist = refs.nearest(self.lab, prior_weight)
        return np.asarray(refs.names, dtype=object)[idx], dist

    def rgb(self) -> np.ndarray:
        """(N, 3, 3) uint8 sRGB of each palette colour (for swatches)."""
        return lab_to_srgb(self.lab)


def palettes_dir(ds) -> Path:  # noqa: ANN001
    return Path(ds.home) / FOLDER


def open_palettes(folder: Path, ids: np.ndarray | None = None) -> Palettes | None:
    """The palettes cached in ``folder``, or None when absent, of another version or other products."""
    try:
        meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
        if meta.get("version") != VERSION:
            return None
        with np.load(folder / "palettes.npz", allow_pickle=False) as z:
            pal = Palettes(z["ids"], z["lab"], z["share"], meta)
    except (OSError, ValueError, KeyError):
        return None
    if ids is not None and not np.array_equal(np.unique(np.asarray(ids, dtype=np.int64)), pal.ids):
        return None
    return pal


def compute_palettes(images: np.ndarray, rows: np.ndarray, *, background: str = "flood",
                     workers: int | None = None, task: Task | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Palettes of ``images[rows]`` (e.g. the image cache's memory map): CIELAB (N, 3, 3), shares (N, 3).

    Batches of :data:`BATCH` photos run on ``workers`` threads (default: the usable cores; numpy
    and scipy release the GIL in the heavy parts); batch ``i`` is seeded by its first row's
    position, so the result does not depend on the number of threads.  ``task``: phase
    "palettes", checked between batches (raises Cancelled).
    """
    from concurrent.futures import ThreadPoolExecutor

    from fashion_review.data.images import usable_cores

    rows = np.asarray(rows, dtype=np.int64)
    lab = np.zeros((len(rows), K, 3), np.float32)
    share = np.zeros((len(rows), K), np.float32)
    starts = list(range(0, len(rows), BATCH))

    def one(s: int) -> int:
        if task is not None:
            task.check()
        lab[s:s + BATCH], share[s:s + BATCH] = palettes(np.asarray(images[rows[s:s + BATCH]]), seed=s,
                                                        background=background)
        return s

    n = max(1, workers or usable_cores())
    with ThreadPoolExecutor(max_workers=n) as pool:
        for done, _ in enumerate(pool.map(one, starts) if n > 1 else map(one, starts)):
            if task is not None:
                task.report("palettes", (done + 1) / max(1, len(starts)),
                            f"colour palettes: {min(len(rows), (done + 1) * BATCH):,} of {len(rows):,}")
    return lab, share


def build_palettes(ds, task: Task | None = None) -> Palettes:  # noqa: ANN001
    """Compute (phase "palettes"; raises Cancelled) and cache the palette of every photo of ``ds``."""
    from fashion_review.data.identical import save_npz
    from fashion_review.data.images import ensure_image_cache

    cache = ensure_image_cache(ds, task)
    rows = np.flatnonzero(cache.ok)
    ids = cache.ids[rows]
    t0 = time.perf_counter()
    lab, share = compute_palettes(cache.images, rows, task=task)
    seconds = time.perf_counter() - t0
    folder = palettes_dir(ds)
    meta = {"version": VERSION, "count": int(len(ids)), "seconds": round(seconds, 3),
            "images_per_s": round(len(ids) / seconds, 1) if seconds > 0 else None,
            "background": "border flood fill", "white_level": WHITE_LEVEL, "erode": ERODE, "k": K, "sample": SAMPLE,
            "iterations": ITERATIONS, "created": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    save_npz(folder / "palettes.npz", ids=ids, lab=lab, share=share)
    atomic_write_json(folder / "meta.json", meta)
    if task is not None:
        task.report("palettes", 1.0, f"{len(ids):,} palettes in {seconds:.1f} s")
    return Palettes(ids, lab, share, meta)


def ensure_palettes(ds, task: Task | None = None) -> Palettes:  # noqa: ANN001
    """The data set's cached palettes, computed on first use."""
    df = ds.catalog.df
    pal = open_palettes(palettes_dir(ds))
    if pal is not None:
        with_image = df.index[df["has_image"].to_numpy()].to_numpy(dtype=np.int64)
        if np.isin(pal.ids, with_image).all() and len(pal.ids) <= len(with_image):
            return pal
    return build_palettes(ds, task)


# --------------------------------------------------------------------------------------------
# What the palettes tell about the labels


def colour_suggestions(pal: Palettes, labels: pd.Series, refs: References | None = None) -> pd.DataFrame:
    """Per product of ``pal`` with a ``baseColour`` label (``labels``: id -> label): the palette's
    suggested colour and whether the label disagrees with it, for the label-issue queue.

    Columns: ``id``, ``label``, ``suggested`` (the largest palette colour's name), ``palette``
    (e.g. "Blue 61 %, White 24 %, Black 15 %"), ``is_colour_issue`` (the label has a reference
    colour and none of the three palette colours takes its name), ``colour_score`` (the share of
    the product's pixels whose palette colour takes the label's name: 0 = none, surely an issue;
    NaN for labels without a reference colour, e.g. "Multi") and ``reason``.
    """
    refs = refs if refs is not None else load_references()
    names, _ = pal.named(refs)
    lab = labels.reindex(pal.ids)
    has = lab.notna().to_numpy() & (lab.astype(str).str.strip() != "").to_numpy()
    known = set(refs.names)
    label = lab.to_numpy(dtype=object)
    match = names == label[:, None]
    score = (pal.share * match).sum(axis=1).astype(np.float64)
    in_vocab = np.array([isinstance(v, str) and v in known for v in label])
    score[~in_vocab] = np.nan
    issue = in_vocab & ~match.any(axis=1)
    text = [", ".join(f"{n} {100 * s:.0f} %" for n, s in zip(nm, sh) if s > 0) for nm, sh in zip(names, pal.share)]
    reason = [
        (f"palette {t}: none is {lb}" if bad else f"palette {t}")
        if ok else f"palette {t}; {lb!r} has no reference colour"
        for t, lb, bad, ok in zip(text, label, issue, in_vocab)
    ]
    out = pd.DataFrame({"id": pal.ids, "label": label, "suggested": names[:, 0], "palette": text,
                        "is_colour_issue": issue, "colour_score": score, "reason": reason})
    return out[has].reset_index(drop=True)
