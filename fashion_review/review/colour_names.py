"""The ``baseColour`` vocabulary's reference colours, and the colour space palettes are named in (numpy, no Qt).

A palette colour takes the name of its nearest reference colour.  Three tables, each row with its
source:

* ``resources/named-colours.csv``: one CSS / X11 or Wikipedia colour per ``baseColour`` value, the
  starting point (and the baseline the others are compared with);
* :func:`measure_references`: the colours the products of each name *show* in their photos (medians
  of the matching palette colour, up to :data:`PROTOTYPES` per common name), named by CIEDE2000
  with a prior for common names;
* :func:`learn_references` (what the app ships as ``resources/base-colours.csv``): the measured
  table moved by generalised learning vector quantisation (GLVQ, Sato & Yamada 1996) so that a
  product's palette contains its label's name as often as it can; named by the Euclidean distance
  in CIELAB with lightness weighted by :data:`LIGHTNESS_WEIGHT`, plus a learnt cost per reference.
  The medians sit where a name's colours are *typical*; where two names' photos overlap (Navy
  Blue and Black, Silver and White) the boundary between them is what decides, and GLVQ places it.

:meth:`References.cost` is the one naming rule: CIEDE2000 minus the log-prior for a table without
learnt costs, the weighted Euclidean distance plus the learnt cost for one with them.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from fashion_review import paths

#: The reference colours the app names palettes with (learnt, see :func:`learn_references`).
REFERENCE_FILE = paths.RESOURCES / "base-colours.csv"
#: Named colours (CSS / X11 and Wikipedia's list), one per ``baseColour``: the starting point of
#: the measured table and the baseline it is compared with.
NAMED_FILE = paths.RESOURCES / "named-colours.csv"

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
PROTOTYPES = 6
PROTOTYPE_MIN = 150
#: Prototypes of one name closer than this (CIEDE2000) are one.
DISTINCT_DE = 2.0

#: The learnt table's metric: Euclidean in CIELAB with L* multiplied by this.  Shading moves a
#: product's colours along L* (the lit and the shadowed side of one T-shirt); what tells Navy Blue
#: from Black, or Purple from Blue, is mostly a* and b*.
LIGHTNESS_WEIGHT = 0.4
#: GLVQ settings of :func:`learn_references`: the sigmoid's temperature (distance units), full-batch
#: Adam steps and their size, and the weight of a product whose label is not among the catalog's
#: ``COMMON_NAMES`` most common (those products still place their names' references, but a common
#: name's boundary is not given up for a colour few products have).  Chosen on the benchmark's
#: held-out ids over about ten runs; the benchmark also fits on the other half to check the figure
#: does not owe itself to that choice (benchmarks/results/colour.txt).
TEMPERATURE = 0.25
LEARN_ITERATIONS = 400
LEARNING_RATE = 0.5
COMMON_NAMES = 12
RARE_WEIGHT = 0.3


@dataclass(frozen=True)
class References:
    """The ``baseColour`` vocabulary's reference colours: names, sRGB, CIELAB, where each came from and,
    when the table has them, how many catalog products carry each name (the naming prior) and the
    learnt naming cost of each reference (a table made by :func:`learn_references`)."""

    names: list[str]
    rgb: np.ndarray  # uint8 (n, 3), for showing
    lab: np.ndarray  # float32 (n, 3)
    sources: list[str]
    counts: np.ndarray | None = None  # products per name, or None: no prior
    bias: np.ndarray | None = None  # float32 (n,): learnt cost per reference, or None: CIEDE2000 + prior
    lightness_weight: float = 1.0

    def cost(self, lab: np.ndarray, prior_weight: float = PRIOR_WEIGHT) -> np.ndarray:
        """(..., n) naming cost of each colour of ``lab`` (..., 3).

        A learnt table: the Euclidean CIELAB distance, L* weighted by ``lightness_weight``, plus the
        reference's learnt cost.  Otherwise: CIEDE2000 minus ``prior_weight`` x ln(the name's share).
        """
        lab = np.asarray(lab, dtype=np.float32)
        if self.bias is not None:
            w = np.array([self.lightness_weight, 1.0, 1.0], np.float32)
            return np.sqrt((((lab[..., None, :] - self.lab) * w) ** 2).sum(-1)) + self.bias
        d = delta_e2000(lab[..., None, :], self.lab)
        if self.counts is not None and prior_weight:
            share = np.maximum(self.counts, 1) / max(1, int(np.sum(self.counts)))
            d = d - prior_weight * np.log(share)
        return d

    def nearest(self, lab: np.ndarray, prior_weight: float = PRIOR_WEIGHT) -> tuple[np.ndarray, np.ndarray]:
        """Index of the best name for each colour of ``lab`` (..., 3) and its CIEDE2000 distance."""
        k = self.cost(lab, prior_weight).argmin(axis=-1)
        return k, delta_e2000(np.asarray(lab), self.lab[k])


def load_references(path: Path = REFERENCE_FILE) -> References:
    """Read a reference table: ``baseColour,hex,source`` and optionally ``products`` (the prior), and
    for a learnt table ``L,a,b`` (exact CIELAB, which may lie outside sRGB), ``cost`` and
    ``lightness_weight``."""
    names, rgb, labs, sources, counts, bias, weights = [], [], [], [], [], [], set()
    with open(path, newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            h = row["hex"].strip().lstrip("#")
            names.append(row["baseColour"].strip())
            rgb.append([int(h[i:i + 2], 16) for i in (0, 2, 4)])
            sources.append(row["source"].strip())
            counts.append(int(row["products"]) if row.get("products") else -1)
            if row.get("L"):
                labs.append([float(row["L"]), float(row["a"]), float(row["b"])])
            if row.get("cost"):
                bias.append(float(row["cost"]))
                weights.add(float(row["lightness_weight"]))
    arr = np.asarray(rgb, dtype=np.uint8)
    prior = np.asarray(counts, dtype=np.int64) if min(counts, default=-1) >= 0 else None
    lab = np.asarray(labs, np.float32) if len(labs) == len(names) else srgb_to_lab(arr)
    if bias and (len(bias) != len(names) or len(weights) != 1):
        raise ValueError(f"{path}: a learnt table needs a cost on every row and one lightness_weight")
    if not bias:
        return References(names, arr, lab, sources, prior)
    return References(names, arr, lab, sources, prior, np.asarray(bias, np.float32), weights.pop())


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
    """Write a reference table (see :func:`load_references` for the columns)."""
    learnt = refs.bias is not None
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["baseColour", "hex", "products"] + (["L", "a", "b", "cost", "lightness_weight"] if learnt else [])
                   + ["source"])
        counts = refs.counts if refs.counts is not None else [""] * len(refs.names)
        for k, (name, rgb, n, src) in enumerate(zip(refs.names, refs.rgb, counts, sources)):
            extra = ([f"{v:.3f}" for v in refs.lab[k]] + [f"{refs.bias[k]:.4f}", f"{refs.lightness_weight:g}"]
                     if learnt else [])
            w.writerow([name, "#{:02X}{:02X}{:02X}".format(*(int(v) for v in rgb)), n] + extra + [src])


def learn_references(lab: np.ndarray, labels: np.ndarray, start: References, *,
                     lightness_weight: float = LIGHTNESS_WEIGHT, temperature: float = TEMPERATURE,
                     iterations: int = LEARN_ITERATIONS, learning_rate: float = LEARNING_RATE,
                     common: int = COMMON_NAMES, rare_weight: float = RARE_WEIGHT) -> References:
    """``start`` (a measured table) moved so that palettes contain their label's name.

    ``lab`` (N, 3, 3): palettes; ``labels`` (N,): their ``baseColour`` (products whose label is not
    a name of ``start`` are left out).  Generalised LVQ with a learnt cost per reference: a
    palette colour's cost for reference r is ``||w * (colour - r)|| + cost_r`` (``w`` weights L*
    by ``lightness_weight``); for each product the margin is, over its three colours, the least
    of (best cost among its label's references - best cost among the others), and the loss is
    the mean sigmoid(margin / ``temperature``), weighted ``rare_weight`` for a label outside the
    ``common`` most frequent: the gradient moves the two winning references of the product's
    most hopeful colour (the label's towards the colour, the rival's away) and their costs.
    Full batch, ``iterations`` Adam steps of ``learning_rate`` (deterministic).  The costs start
    from ``PRIOR_WEIGHT`` x -ln(share) (the measured table's prior).  Returns a learnt table
    (:meth:`References.cost` uses its metric).
    """
    vocab = list(dict.fromkeys(start.names))
    labels = np.asarray(labels, dtype=object)
    index = {n: i for i, n in enumerate(vocab)}
    y = np.array([index.get(v, -1) if isinstance(v, str) else -1 for v in labels])
    ok = y >= 0
    x = np.asarray(lab, np.float32)[ok]
    y = y[ok]
    weight = np.array([lightness_weight, 1.0, 1.0], np.float32)
    x = x * weight
    cls = np.array([index[n] for n in start.names])
    freq = np.bincount(y, minlength=len(vocab))
    top = np.argsort(-freq, kind="stable")[:common]
    sample_w = np.where(np.isin(y, top), 1.0, rare_weight).astype(np.float32)
    sample_w /= len(y)
    counts = start.counts if start.counts is not None else np.ones(len(start.names))
    bias = (-PRIOR_WEIGHT * np.log(np.maximum(counts, 1) / max(1, int(np.sum(counts))))).astype(np.float32)
    protos = (np.asarray(start.lab, np.float32) * weight).copy()
    same = cls[None, :] == y[:, None]  # (n, P): the reference carries the product's label
    n = len(y)
    rows = np.arange(n)
    x2 = (x ** 2).sum(-1)  # (n, 3)
    moments = [np.zeros_like(protos), np.zeros_like(protos), np.zeros_like(bias), np.zeros_like(bias)]
    for step in range(1, iterations + 1):
        sq = x2[..., None] - 2 * x @ protos.T + (protos ** 2).sum(-1)  # (n, 3, P)
        dist = np.sqrt(np.maximum(sq, 0) + 1e-6)
        c = dist + bias
        own = np.where(same[:, None], c, np.inf)
        other = np.where(same[:, None], np.inf, c)
        i_own, i_other = own.argmin(-1), other.argmin(-1)  # (n, 3)
        margin = (np.take_along_axis(own, i_own[..., None], -1)[..., 0]
                  - np.take_along_axis(other, i_other[..., None], -1)[..., 0])
        j = margin.argmin(1)  # the colour closest to taking the label's name
        mu = margin[rows, j] / temperature
        sig = 1 / (1 + np.exp(-np.clip(mu, -50, 50)))
        g = (sig * (1 - sig) / temperature * sample_w).astype(np.float32)
        p_own, p_other = i_own[rows, j], i_other[rows, j]
        colour = x[rows, j]
        grad_p = np.zeros_like(protos)
        grad_b = np.zeros_like(bias)
        np.add.at(grad_p, p_own, g[:, None] * (protos[p_own] - colour) / dist[rows, j, p_own][:, None])
        np.add.at(grad_p, p_other, -g[:, None] * (protos[p_other] - colour) / dist[rows, j, p_other][:, None])
        np.add.at(grad_b, p_own, g)
        np.add.at(grad_b, p_other, -g)
        for param, grad, m, v in ((protos, grad_p, moments[0], moments[1]), (bias, grad_b, moments[2], moments[3])):
            m *= 0.9
            m += 0.1 * grad
            v *= 0.999
            v += 0.001 * grad * grad
            step_size = learning_rate if param is protos else 0.4 * learning_rate
            param -= step_size * (m / (1 - 0.9 ** step)) / (np.sqrt(v / (1 - 0.999 ** step)) + 1e-8)
    learnt = (protos / weight).astype(np.float32)
    return References(list(start.names), lab_to_srgb(learnt), learnt, list(start.sources), start.counts,
                      bias.astype(np.float32), float(lightness_weight))
