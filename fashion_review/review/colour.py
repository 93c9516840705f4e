"""Three-colour palettes of the product photos, named in the catalog's ``baseColour`` vocabulary (numpy, no Qt).

Per photo (the image cache's uint8 80 x 60):

1. **Background.** The studio background is white.  It is removed by a *border flood fill*: the
   near-white pixels (every channel >= :data:`WHITE_LEVEL`) connected to the photo's border
   (``scipy.ndimage.label`` over the whole batch at once, 4-connected, never across photos).  A
   plain threshold would also delete the white *inside* the product (a white logo on a black
   T-shirt, white soles, the body of a white shirt away from its edge) and so bias every palette
   away from White, the catalog's second most common colour; the flood fill keeps whatever the
   product's outline encloses.  When it leaves almost nothing (a white product whose edge melts
   into the background) the palette is taken from the pixels that are not pure white.
2. **k-means in CIELAB** (D65), k = 3, on up to :data:`SAMPLE` foreground pixels per photo, all
   photos of a batch at once (a few numpy iterations, deterministic start at the 1/6, 1/2 and
   5/6 lightness quantiles), each colour's share of the foreground.
3. **Names.** Each colour takes the name of the nearest reference colour in CIEDE2000
   (``resources/base-colours.csv``: one reference per ``baseColour`` value, up to
   :data:`PROTOTYPES` for the common ones, each with its source).

:func:`build_palettes` computes the whole catalog once into ``HOME/datasets/<fp>/palettes/``
(like the image cache); :func:`colour_suggestions` gives per product the suggested colour and a
reason, for the label-issue queue of the ``baseColour`` scheme.
"""

from __future__ import annotations

import csv
import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from fashion_review import paths
from fashion_review.fsutil import atomic_write_json
from fashion_review.tasks import Task

K = 3
#: Pixels brighter than this in every channel may be background (if connected to the border).
WHITE_LEVEL = 235
#: Foreground pixels sampled per photo for k-means.
SAMPLE = 256
ITERATIONS = 8
#: Below this share of the photo, the flood fill's foreground is taken as a white product's edge.
MIN_FOREGROUND = 0.03
BATCH = 512
#: The reference colours the app names palettes with (measured, see :func:`measure_references`).
REFERENCE_FILE = paths.RESOURCES / "base-colours.csv"
#: Named colours (CSS / X11 and Wikipedia's list), one per ``baseColour``: the starting point of
#: the measured table and the baseline it is compared with.
NAMED_FILE = paths.RESOURCES / "named-colours.csv"
FOLDER = "palettes"
VERSION = 1


# --------------------------------------------------------------------------------------------
# Colour space


def srgb_to_lab(rgb: np.ndarray) -> np.ndarray:
    """sRGB (uint8 or 0-255 floats, last axis R, G, B) to CIELAB under D65 (float32)."""
    c = np.asarray(rgb, dtype=np.float32) / 255.0
    lin = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    m = np.array([[0.4124564, 0.3575761, 0.1804375],
                  [0.2126729, 0.7151522, 0.0721750],
                  [0.0193339, 0.1191920, 0.9503041]], dtype=np.float32)
    xyz = lin @ m.T / np.array([0.95047, 1.0, 1.08883], dtype=np.float32)
    f = np.where(xyz > (6 / 29) ** 3, np.cbrt(xyz), xyz / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.stack([116 * f[..., 1] - 16, 500 * (f[..., 0] - f[..., 1]), 200 * (f[..., 1] - f[..., 2])],
                    axis=-1).astype(np.float32)


def lab_to_srgb(lab: np.ndarray) -> np.ndarray:
    """CIELAB (D65) back to sRGB uint8 (clipped), for showing a palette."""
    lab = np.asarray(lab, dtype=np.float64)
    fy = (lab[..., 0] + 16) / 116
    f = np.stack([fy + lab[..., 1] / 500, fy, fy - lab[..., 2] / 200], axis=-1)
    xyz = np.where(f > 6 / 29, f ** 3, 3 * (6 / 29) ** 2 * (f - 4 / 29)) * np.array([0.95047, 1.0, 1.08883])
    m = np.array([[3.2404542, -1.5371385, -0.4985314],
                  [-0.9692660, 1.8760108, 0.0415560],
                  [0.0556434, -0.2040259, 1.0572252]])
    lin = np.clip(xyz @ m.T, 0, 1)
    c = np.where(lin <= 0.0031308, 12.92 * lin, 1.055 * lin ** (1 / 2.4) - 0.055)
    return np.clip(np.round(c * 255), 0, 255).astype(np.uint8)


def delta_e2000(lab1: np.ndarray, lab2: np.ndarray) -> np.ndarray:
    """CIEDE2000 colour difference (Sharma, Wu & Dalal 2005), broadcasting over leading axes."""
    L1, a1, b1 = np.moveaxis(np.asarray(lab1, dtype=np.float64), -1, 0)
    L2, a2, b2 = np.moveaxis(np.asarray(lab2, dtype=np.float64), -1, 0)
    C1, C2 = np.hypot(a1, b1), np.hypot(a2, b2)
    Cm7 = ((C1 + C2) / 2) ** 7
    G = 0.5 * (1 - np.sqrt(Cm7 / (Cm7 + 25.0 ** 7)))
    a1p, a2p = (1 + G) * a1, (1 + G) * a2
    C1p, C2p = np.hypot(a1p, b1), np.hypot(a2p, b2)
    h1p = np.degrees(np.arctan2(b1, a1p)) % 360
    h2p = np.degrees(np.arctan2(b2, a2p)) % 360
    dLp, dCp = L2 - L1, C2p - C1p
    dh = h2p - h1p
    dh = np.where(dh > 180, dh - 360, np.where(dh < -180, dh + 360, dh))
    dh = np.where(C1p * C2p == 0, 0, dh)
    dHp = 2 * np.sqrt(C1p * C2p) * np.sin(np.radians(dh) / 2)
    Lpm, Cpm = (L1 + L2) / 2, (C1p + C2p) / 2
    hsum = h1p + h2p
    hpm = np.where(np.abs(h1p - h2p) > 180, np.where(hsum < 360, hsum + 360, hsum - 360), hsum) / 2
    hpm = np.where(C1p * C2p == 0, hsum, hpm)
    T = (1 - 0.17 * np.cos(np.radians(hpm - 30)) + 0.24 * np.cos(np.radians(2 * hpm))
         + 0.32 * np.cos(np.radians(3 * hpm + 6)) - 0.20 * np.cos(np.radians(4 * hpm - 63)))
    SL = 1 + 0.015 * (Lpm - 50) ** 2 / np.sqrt(20 + (Lpm - 50) ** 2)
    SC, SH = 1 + 0.045 * Cpm, 1 + 0.015 * Cpm * T
    Cpm7 = Cpm ** 7
    RT = -2 * np.sqrt(Cpm7 / (Cpm7 + 25.0 ** 7)) * np.sin(np.radians(60 * np.exp(-(((hpm - 275) / 25) ** 2))))
    return np.sqrt((dLp / SL) ** 2 + (dCp / SC) ** 2 + (dHp / SH) ** 2 + RT * (dCp / SC) * (dHp / SH))


# --------------------------------------------------------------------------------------------
# Reference colours


#: How much a common name is preferred: a colour takes the name minimising
#: ``CIEDE2000 - PRIOR_WEIGHT * ln(share of the catalog with that name)`` (chosen on the even ids,
#: see benchmarks/results/colour.txt).
PRIOR_WEIGHT = 4.0
#: References per common name in the measured table (``benchmarks/colour.py`` compares 1 with this)
#: and the products a name needs to get more than one.
PROTOTYPES = 4
PROTOTYPE_MIN = 150
#: Prototypes of one name closer than this (CIEDE2000) are one.
DISTINCT_DE = 2.0


@dataclass(frozen=True)
class References:
    """The ``baseColour`` vocabulary's reference colours: names, sRGB, CIELAB, where each came from and,
    when the table has them, how many catalog products carry each name (the naming prior)."""

    names: list[str]
    rgb: np.ndarray  # uint8 (n, 3)
    lab: np.ndarray  # float32 (n, 3)
    sources: list[str]
    counts: np.ndarray | None = None  # products per name, or None: no prior

    def cost(self, lab: np.ndarray, prior_weight: float = PRIOR_WEIGHT) -> np.ndarray:
        """(..., n) naming cost of each colour of ``lab`` (..., 3): CIEDE2000 minus the log-prior term."""
        d = delta_e2000(np.asarray(lab)[..., None, :], self.lab)
        if self.counts is not None and prior_weight:
            share = np.maximum(self.counts, 1) / max(1, int(np.sum(self.counts)))
            d = d - prior_weight * np.log(share)
        return d

    def nearest(self, lab: np.ndarray, prior_weight: float = PRIOR_WEIGHT) -> tuple[np.ndarray, np.ndarray]:
        """Index of the best name for each colour of ``lab`` (..., 3) and its CIEDE2000 distance."""
        k = self.cost(lab, prior_weight).argmin(axis=-1)
        return k, delta_e2000(np.asarray(lab), self.lab[k])


def load_references(path: Path = REFERENCE_FILE) -> References:
    """Read the reference table (``baseColour,hex,source``)."""
    names, rgb, sources, counts = [], [], [], []
    with open(path, newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            h = row["hex"].strip().lstrip("#")
            names.append(row["baseColour"].strip())
            rgb.append([int(h[i:i + 2], 16) for i in (0, 2, 4)])
            sources.append(row["source"].strip())
            counts.append(int(row["products"]) if row.get("products") else -1)
    arr = np.asarray(rgb, dtype=np.uint8)
    prior = np.asarray(counts, dtype=np.int64) if min(counts, default=-1) >= 0 else None
    return References(names, arr, srgb_to_lab(arr), sources, prior)


def measure_references(lab: np.ndarray, labels: np.ndarray, start: References, *, min_products: int = 20,
                       rounds: int = 4, prototypes: int = 1, prototype_min: int = PROTOTYPE_MIN
                       ) -> tuple[References, dict[str, int]]:
    """Reference colours as the vocabulary's colours look in the catalog's photos.

    ``lab`` (N, 3, 3): palettes; ``labels`` (N,): their ``baseColour``.  For each name with at
    least ``min_products`` products, the reference is the median CIELAB, over those products, of
    the palette colour nearest the current reference (``rounds`` times, starting from ``start``,
    the named colours): the colour a product of that label actually shows, wherever it sits in its
    palette.  Other names keep their named colour.

    ``prototypes`` > 1: a name with at least ``prototype_min`` products gets that many references,
    the distinct medians of a k-means (CIELAB, started at lightness quantiles) of those picked colours: a
    "Blue" is a pale shirt, a mid-blue T-shirt or dark jeans, and one median between them lies
    nearer White or Black than any of them.  Every reference of a name carries the name's product
    count (the naming prior is per name, not per reference).  Returns the table and the products
    per name.
    """
    names_in = list(start.names)
    labels = np.asarray(labels, dtype=object)
    names: list[str] = []
    labs: list[np.ndarray] = []
    sources: list[str] = []
    counts: dict[str, int] = {}
    for k, name in enumerate(names_in):
        m = labels == name
        counts[name] = int(m.sum())
        centre = start.lab[k].astype(np.float64)
        if m.sum() < min_products:
            names.append(name), labs.append(centre), sources.append(start.sources[k])
            continue
        for _ in range(rounds):
            d = delta_e2000(lab[m], centre)  # (n, 3)
            picked = np.take_along_axis(lab[m], d.argmin(axis=1)[:, None, None], axis=1)[:, 0]
            centre = np.median(picked, axis=0)
        if prototypes > 1 and m.sum() >= prototype_min:
            distinct: list[np.ndarray] = []
            for c in _medians_kmeans(picked.astype(np.float64), prototypes):
                if all(float(delta_e2000(c, d)) >= DISTINCT_DE for d in distinct):  # one mode: one reference
                    distinct.append(c)
            for j, c in enumerate(distinct):
                names.append(name), labs.append(c)
                sources.append(f"{start.sources[k]} #{j + 1} of {len(distinct)}" if len(distinct) > 1 else start.sources[k])
        else:
            names.append(name), labs.append(centre), sources.append(start.sources[k])
    rgb = lab_to_srgb(np.asarray(labs))
    prior = np.array([counts[n] for n in names], dtype=np.int64)
    return References(names, rgb, srgb_to_lab(rgb), sources, prior), counts


def _medians_kmeans(x: np.ndarray, k: int, iterations: int = 10) -> np.ndarray:
    """(k, 3) cluster medians of ``x`` (n, 3) (k-means assignments, medians as centres), darkest first."""
    order = np.argsort(x[:, 0], kind="stable")
    c = x[order[(np.linspace(0.5 / k, 1 - 0.5 / k, k) * len(x)).astype(np.int64)]]
    for _ in range(iterations):
        a = ((x[:, None, :] - c[None]) ** 2).sum(-1).argmin(1)
        c = np.array([np.median(x[a == j], axis=0) if (a == j).any() else c[j] for j in range(k)])
    return c[np.argsort(c[:, 0], kind="stable")]


def write_references(refs: References, path: Path, sources: list[str]) -> None:
    """Write a reference table (``baseColour,hex,source``)."""
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["baseColour", "hex", "products", "source"])
        counts = refs.counts if refs.counts is not None else [""] * len(refs.names)
        for name, rgb, n, src in zip(refs.names, refs.rgb, counts, sources):
            w.writerow([name, "#{:02X}{:02X}{:02X}".format(*(int(v) for v in rgb)), n, src])


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
        return _fallback(imgs, ~white)
    structure = np.zeros((3, 3, 3), bool)
    structure[1] = ndimage.generate_binary_structure(2, 1)  # 4-connected within a photo, never across
    labels, _ = ndimage.label(white, structure=structure)
    border = np.concatenate([labels[:, 0, :], labels[:, -1, :], labels[:, :, 0], labels[:, :, -1]], axis=1)
    background = np.zeros(labels.max() + 1, bool)
    background[np.unique(border)] = True
    background[0] = False
    return _fallback(imgs, ~background[labels])


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
            "background": "border flood fill", "white_level": WHITE_LEVEL, "k": K, "sample": SAMPLE,
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
