"""What the retrain dialog shows, headless: the class filter's effect, time estimates, and the
before / after comparison of two models on products neither of them trained on.

No Keras at module level (the dialog opens before Keras loads); :func:`compare_on_test` imports
it when it scores a model.

**Honest before / after.**  A new run's test part is not necessarily unseen by the model it is
compared with: a full retrain of another recipe (an ``xception-paper`` child of a multihead
parent) takes its parts from another scheme's split, and a copied run or another home can have
other stored splits.  :func:`compare_on_test` therefore scores both models on the new run's test
products that the parent did *not* train on (its own ``split.csv``), and says how many were left
out and why.  A product whose label (today's) is a class a model does not know cannot count for
that model; it is counted under ``not_counted`` instead of silently leaving the figure.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from fashion_review.review import metrics
from fashion_review.text import plural


@dataclass
class FilterSummary:
    """What the class filter keeps and drops in one scheme with the current corrections."""

    scheme: str
    min_images: int
    kept: dict[str, int]  # class -> products with an image, not excluded
    dropped: dict[str, int]
    newly_kept: list[str] = field(default_factory=list)  # kept now, unknown to the active model
    newly_dropped: list[str] = field(default_factory=list)  # known to the active model, dropped now

    @property
    def images_kept(self) -> int:
        return int(sum(self.kept.values()))


def filter_summaries(ds: Any, schemes: Sequence[str], min_images: int | None = None,
                     effective: pd.DataFrame | None = None,
                     model_classes: Mapping[str, Sequence[str]] | None = None) -> dict[str, FilterSummary]:
    """:meth:`Dataset.class_filter` per scheme, compared with the classes the active model knows."""
    eff = ds.effective() if effective is None else effective
    out = {}
    for s in schemes:
        cf = ds.class_filter(s, min_images, effective=eff)
        counts = {str(k): int(v) for k, v in cf.counts_before.items()}
        kept = {c: counts[c] for c in cf.kept}
        dropped = {c: counts[c] for c in cf.dropped}
        known = set(model_classes.get(s, [])) if model_classes else set()
        out[s] = FilterSummary(s, cf.min_images, kept, dropped,
                               sorted(set(kept) - known) if known else [],
                               sorted(known - set(kept)) if known else [])
    return out


#: Images per second by backbone and device kind, used when the registry holds no measured run.
#: "train": full training (forward + backward); "features": the backbone alone (inference);
#: "heads": head-training samples per second on cached features (multihead, 3 heads).
#: ``xception``: at 96 x 96 (scaled by the pixel count for other sizes); CPU figures from this
#: project's 2-core development machine under load (benchmarks/retrain_heads.py: 54-72 feature
#: images/s, ~1,300 head-training products/s); GPU figures an H100-class card.
#: ``xception-lite``: at its native 80 x 60; CPU figures from benchmarks/cpu_protocol.py on the same
#: machine, quiet (about 405 training images/s over a whole run, ~1,500 images/s inference); the GPU
#: figures are a guess (no GPU was available to measure), and a measured run replaces them.
#: Estimates only: other machines differ.
RATES = {
    "xception": {
        "CPU": {"train": 15.0, "features": 55.0, "heads": 1300.0},
        "GPU": {"train": 1500.0, "features": 5000.0, "heads": 50000.0},
    },
    "xception-lite": {  # heads: 8,650/s measured retraining the reference's heads on the full data, 2026-12-08
        "CPU": {"train": 405.0, "features": 1500.0, "heads": 8000.0},
        "GPU": {"train": 10000.0, "features": 30000.0, "heads": 50000.0},
    },
}
#: The pixels RATES["xception"] were measured at.
_RATE_PIXELS = 96 * 96


def rates_for(device: str | None, backbone: str = "xception", image_size: int | None = 96) -> dict[str, float]:
    """RATES for a backbone on a kind of device at an input size (None: the images' native 80 x 60)."""
    table = RATES.get(backbone, RATES["xception"])[device_kind(device)]
    if backbone == "xception-lite" and image_size is None:
        return dict(table)
    pixels = (image_size * image_size) if image_size else 80 * 60
    base = _RATE_PIXELS if backbone != "xception-lite" else 80 * 60
    scale = base / pixels
    return {k: (v * scale if k != "heads" else v) for k, v in table.items()}


def size_text(image_size: int | None) -> str:
    """``"96 x 96"``, or ``"80 x 60 (native)"`` for a model fed the images as they are."""
    return "80 x 60 (native)" if image_size is None else f"{image_size} x {image_size}"


def device_kind(device: str | None) -> str:
    """The kind of device a device line (``describe_device``) names: "GPU" or "CPU"."""
    return "GPU" if device and device.upper().startswith("GPU") else "CPU"


def measured_train_rate(runs: Sequence[Any], recipe: str, image_size: int | None,
                        device: str | None) -> float | None:
    """Training images/s of the newest full run of ``recipe`` at ``image_size`` on this kind of device.

    An imported run (the reference model) does not count: its rate was measured on the machine that
    trained it (335 images/s), and the Retrain dialog said "measured in an earlier run on this device"
    for it; a full retraining of the bundled sample took 2.4 times its estimate on a slower day."""
    for run in reversed(list(runs)):
        tr = run.record.get("training", {}) if isinstance(run.record.get("training"), dict) else {}
        if tr.get("heads_only") or tr.get("imported") or run.recipe != recipe or run.image_size != image_size:
            continue
        if device_kind(tr.get("device")) != device_kind(device):
            continue
        rate = tr.get("images_per_s")
        if rate:
            return float(rate)
    return None


@dataclass
class Estimate:
    seconds: float
    basis: str  # how it was estimated, for the tooltip
    products: int = 0  # the training products it counts (validation share moved in, as training does)

    def text(self) -> str:
        return f"about {format_duration(self.seconds)} (an estimate: {self.basis})"


def format_duration(seconds: float) -> str:
    s = max(0, int(round(seconds)))
    if s < 90:
        return f"{s} s"
    if s < 90 * 60:
        return f"{round(s / 60)} min"
    return f"{s / 3600:.1f} h"


def estimate_full(n_train: int, n_val: int, epochs: int, image_size: int | None, device: str | None,
                  measured: float | None = None, backbone: str = "xception",
                  validation: str | float = "part") -> Estimate:
    """Full training: epochs x (train images / training rate + validation images / inference rate).

    ``n_train``, ``n_val``: the stored split's parts; a recipe's ``validation`` fraction moves all
    but that share of the validation part into training, as :func:`~fashion_review.training.train.train` does.
    """
    rates = rates_for(device, backbone, image_size)
    if validation != "part":
        kept = int(round(n_val * float(validation)))
        n_train, n_val = n_train + n_val - kept, kept
    train_rate = measured if measured else rates["train"]
    secs = epochs * (n_train / train_rate + n_val / rates["features"]) + 30.0
    basis = (f"{train_rate:,.0f} training images/s measured in an earlier run on this device" if measured
             else f"{train_rate:,.0f} training images/s, typical of a {device_kind(device)} for this model")
    return Estimate(secs, basis + f", {plural(epochs, 'epoch')} over {plural(n_train, 'product')}", n_train)


#: Seconds a heads retraining spends besides its epochs (loading the model, saving the run): measured
#: 3 s for xception-lite (load 1.2, save 0.4, and the rest), about 20 for the paper's Xception.
HEADS_OVERHEAD_S = {"xception": 20.0, "xception-lite": 5.0}


def measured_heads_rate(runs: Sequence[Any], backbone: str, device: str | None) -> float | None:
    """Head-training images/s of the newest heads-only run on this kind of device whose backbone is
    ``backbone``: its epochs x training products over its training seconds."""
    for run in reversed(list(runs)):
        rec = run.record
        tr = rec.get("training", {}) if isinstance(rec.get("training"), dict) else {}
        recipe = rec.get("recipe", {}) if isinstance(rec.get("recipe"), dict) else {}
        if not tr.get("heads_only") or str(recipe.get("backbone", "xception")) != backbone:
            continue
        if device_kind(tr.get("device")) != device_kind(device):
            continue
        secs = (tr.get("seconds") or {}).get("train_s") if isinstance(tr.get("seconds"), dict) else None
        n = ((rec.get("data") or {}).get("products") or {}).get("train") if isinstance(rec.get("data"), dict) else None
        epochs = tr.get("epochs_run") or tr.get("epochs")
        if secs and n and epochs:
            return float(epochs) * float(n) / float(secs)
    return None


def estimate_heads(n_missing_features: int, n_train: int, epochs: int, image_size: int | None, device: str | None,
                   feature_rate: float | None = None, n_total: int = 0, backbone: str = "xception",
                   heads_rate: float | None = None) -> Estimate:
    """Heads: backbone features for products not cached yet, then head epochs on cached features (at
    ``heads_rate`` when an earlier heads run here measured it), then every product predicted."""
    rates = rates_for(device, backbone, image_size)
    f_rate = feature_rate or rates["features"]
    h_rate = heads_rate or rates["heads"]
    secs = (n_missing_features / f_rate + epochs * n_train / h_rate + n_total / (4 * h_rate)
            + HEADS_OVERHEAD_S.get(backbone, 20.0))
    basis = (f"{plural(n_missing_features, 'image')} through the backbone at {f_rate:,.0f}/s"
             if n_missing_features else "backbone features already cached")
    how = "measured here" if heads_rate else f"typical of a {device_kind(device)}"
    return Estimate(secs, basis + f", then {plural(epochs, 'head epoch')} over {plural(n_train, 'product')} "
                    f"at {h_rate:,.0f}/s, {how}", n_train)


def cached_features(ds: Any, run_id: str) -> tuple[int, float | None]:
    """(products whose backbone features of ``run_id`` are cached, the extraction's images/s).

    Reads the cache's ``meta.json`` (layout of :mod:`fashion_review.training.features`) without
    importing Keras.
    """
    import json

    try:
        meta = json.loads((ds.home / "features" / run_id / "meta.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return 0, None
    if not meta.get("complete") or meta.get("run_id") != run_id:
        return 0, None
    return int(meta.get("count", 0)), meta.get("images_per_s")


# --------------------------------------------------------------------------------------------
# Scoring on products neither model trained on


def score(given: np.ndarray, probs: np.ndarray, classes: Sequence[str]) -> tuple[metrics.ClassReport, int]:
    """Per-class report of one scheme over the products whose ``given`` label the model knows, and
    how many it does not know (they are not counted: the model cannot predict a class it lacks).

    ``given``: today's label per product (object array, "" or NaN where not usable);
    ``probs``: the model's probabilities (N x len(classes)).
    """
    given = np.asarray(given, dtype=object)
    names = np.asarray(list(classes), dtype=object)
    labelled = np.array([isinstance(g, str) and g != "" for g in given], dtype=bool)
    known = labelled & np.isin(given, names)
    pred = names[np.asarray(probs)[known].argmax(axis=1)] if known.any() else np.zeros(0, dtype=object)
    return metrics.per_class_report(given[known].astype(str), pred.astype(str), list(classes)), \
        int((labelled & ~known).sum())


@dataclass
class Comparison:
    """Before / after per-class reports on the same products, with what was left out and why.

    Unpacks as ``before, after`` (what the retrain dialog reads).
    """

    before: dict[str, metrics.ClassReport]
    after: dict[str, metrics.ClassReport]
    products: int  # products scored: in the new run's test part, never trained on by either model
    left_out: dict[str, int] = field(default_factory=dict)  # test products not scored, by reason
    #: scheme -> {"unknown_to_new": n, "unknown_to_parent": n, "not_usable_now": n}
    not_counted: dict[str, dict[str, int]] = field(default_factory=dict)
    note: str = ""  # why there is no "before", when there is none

    def __iter__(self) -> Iterator[dict[str, metrics.ClassReport]]:
        yield self.before
        yield self.after

    def text(self) -> str:
        """One paragraph: on how many products, what was left out, what was not counted."""
        out = [f"scored on {plural(self.products, 'test product')} that neither model trained on"]
        reasons = {"trained_by_parent": "the earlier model trained on them",
                   "no_image": "no image that decodes"}
        gone = [f"{n:,} left out ({reasons.get(k, k)})" for k, n in self.left_out.items() if n]
        if gone:
            out.append("; ".join(gone))
        for s, nc in self.not_counted.items():
            parts = []
            if nc.get("unknown_to_parent"):
                parts.append(f"{nc['unknown_to_parent']:,} in a class the earlier model does not know")
            if nc.get("unknown_to_new"):
                parts.append(f"{nc['unknown_to_new']:,} in a class the new model does not know")
            if parts:
                out.append(f"{s}: not counted: " + ", ".join(parts))
        if self.note:
            out.append(self.note)
        return "; ".join(out) + "."

    def as_dict(self) -> dict[str, Any]:
        return {"products": self.products, "left_out": dict(self.left_out), "not_counted": self.not_counted,
                "note": self.note,
                "before": {s: r.accuracy for s, r in self.before.items()},
                "after": {s: r.accuracy for s, r in self.after.items()}}


def trained_ids(run: Any) -> np.ndarray | None:
    """The products ``run`` trained on (the "train" part of its split.csv), None when it has no
    readable split file (then nobody can tell)."""
    from fashion_review.errors import ModelError
    from fashion_review.training.registry import read_split

    try:
        split = read_split(run)
    except ModelError:
        return None
    return np.sort(split.index[split.to_numpy() == "train"].to_numpy(np.int64))


def compare_reports(given: Mapping[str, np.ndarray], after_probs: Mapping[str, np.ndarray],
                    after_classes: Mapping[str, Sequence[str]], before_probs: Mapping[str, np.ndarray] | None,
                    before_classes: Mapping[str, Sequence[str]] | None) -> tuple[dict, dict, dict]:
    """(before, after, not_counted) per scheme of ``after_probs`` for the same products."""
    before, after, not_counted = {}, {}, {}
    for s, probs in after_probs.items():
        g = np.asarray(given[s], dtype=object)
        after[s], unknown_new = score(g, probs, after_classes[s])
        nc = {"unknown_to_new": unknown_new,
              "not_usable_now": int(sum(not (isinstance(v, str) and v != "") for v in g))}
        if before_probs is not None and before_classes is not None and s in before_probs:
            before[s], nc["unknown_to_parent"] = score(g, before_probs[s], before_classes[s])
        not_counted[s] = nc
    return before, after, not_counted


def compare_on_test(ds: Any, run: Any, parent: Any, task: Any) -> Comparison:
    """Reports of ``parent`` (before) and ``run`` (after) with today's labels, on the products of
    ``run``'s test part that ``parent`` never trained on (and that have an image that decodes).

    Without a parent, or a parent without a split file (then what it trained on is unknown),
    there is no "before"; :attr:`Comparison.note` says why.  Phase "evaluate"; raises Cancelled.
    """
    from fashion_review.training import registry
    from fashion_review.training.evaluate import cached_probs
    from fashion_review.training.pipeline import ensure_image_cache
    from fashion_review.training.predict import infer, test_time_flip

    split = registry.read_split(run)
    test_ids = np.sort(split.index[split.to_numpy() == "test"].to_numpy(np.int64))
    left_out: dict[str, int] = {}
    note = ""
    common = [s for s in run.schemes if parent is not None and s in parent.schemes]
    if parent is None:
        note = "no earlier model to compare with"
    elif not common:
        note = f"the earlier model {parent.id} predicts none of {', '.join(run.schemes)}"
    else:
        seen = trained_ids(parent)
        if seen is None:
            note = (f"no 'before': the earlier model {parent.id} has no split file, so which products it "
                    "trained on is unknown")
            common = []
        else:
            keep = ~np.isin(test_ids, seen)
            left_out["trained_by_parent"] = int((~keep).sum())
            test_ids = test_ids[keep]
    cache = ensure_image_cache(ds, task)
    ok, pos = cache.readable(test_ids)
    left_out["no_image"] = int((~ok).sum())
    test_ids, pos = test_ids[ok], pos[ok]
    eff = ds.effective()
    min_images = run.record.get("min_images")
    given = {s: ds.usable(s, min_images, eff).reindex(test_ids).to_numpy(dtype=object) for s in run.schemes}

    task.report("evaluate", None, f"scoring the new model on {len(test_ids):,} test products")
    after_probs, _ = infer(registry.load_model(run), run.schemes, cache.images, pos, task=task, phase="evaluate",
                           flip=test_time_flip(run))
    before_probs = None
    if common:
        before_probs = cached_probs(parent, test_ids)
        if before_probs is None:
            task.report("evaluate", None, f"scoring the current model {parent.id} on the same products")
            before_probs, _ = infer(registry.load_model(parent), common, cache.images, pos, task=task,
                                    phase="evaluate", flip=test_time_flip(parent))
        before_probs = {s: before_probs[s] for s in common if s in before_probs}
    before, after, not_counted = compare_reports(given, after_probs, run.classes, before_probs,
                                                 parent.classes if parent is not None else None)
    return Comparison(before, after, int(len(test_ids)), left_out, not_counted, note)
