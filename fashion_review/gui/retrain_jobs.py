"""What the retrain dialog's worker runs, headless (no Qt): a heads-only or a full retrain, then the
honest before / after comparison (:func:`fashion_review.training.compare.compare_on_test`), and
whether the run it made is in the registry whole; and the dialog's time estimate
(:func:`estimate_retrain`, over the estimates of :mod:`fashion_review.training.compare`).

Keras is imported inside the jobs, on the worker's thread.  A run is wholly in the registry with
everything it needs, or not there (``RunWriter.commit``): a cancelled or failed job leaves none,
and :func:`registry_runs` lets the dialog check that rather than assume it.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from fashion_review.review import metrics
from fashion_review.tasks import Task
from fashion_review.text import plural
from fashion_review.training.compare import (
    Estimate,
    cached_features,
    estimate_full,
    estimate_heads,
    measured_heads_rate,
    measured_train_rate,
    rates_for,
)

HEADS, FULL = "heads", "full"


@dataclass
class RetrainOutcome:
    """What a retrain produced: the new run and the numbers the dialog compares."""

    mode: str
    run: Any  # training.registry.RunInfo
    parent: Any  # RunInfo of the model it is compared with (None when there was none)
    before: dict[str, metrics.ClassReport]
    after: dict[str, metrics.ClassReport]
    seconds: float
    timings: dict[str, float] = field(default_factory=dict)
    #: training.compare.Comparison: on how many products, what was left out and why, what was not counted.
    comparison: Any = None

    def accuracy_rows(self) -> list[tuple[str, float | None, float]]:
        """(scheme, accuracy before, after) on the test part with today's labels."""
        return [(s, self.before[s].accuracy if s in self.before else None, self.after[s].accuracy)
                for s in self.after]

    def recall_changes(self, top: int = 5) -> list[tuple[str, str, float, float]]:
        """(scheme, class, recall before, after), largest changes first, over every scheme."""
        rows = []
        for s in self.after:
            if s in self.before:
                rows += [(s, *r) for r in metrics.recall_changes(self.before[s], self.after[s], top=top)]
        rows.sort(key=lambda r: (-abs(r[3] - r[2]), r[0], r[1]))
        return rows[:top]

    def comparison_text(self) -> str:
        """The comparison in words ("scored on N test products that neither model trained on; ...")."""
        if self.comparison is None:
            return ""
        text = self.comparison.text()
        # why a scheme's count is below the products scored (Comparison.text leaves this out)
        unusable = [f"{s}: {n:,} not counted (no usable {s} label today: excluded, blank or a class under the "
                    "class filter)" for s, nc in self.comparison.not_counted.items()
                    if (n := int(nc.get("not_usable_now", 0)))]
        if unusable:
            text = text.rstrip(".") + "; " + "; ".join(unusable) + "."
        return text[:1].upper() + text[1:]


def heads_job(ds: Any, run: Any = None, *, epochs: int | None = None, limit: int | None = None,
              min_images: int | None = None, task: Task) -> RetrainOutcome:
    """Retrain the heads of ``run`` (default: the active run); see :func:`~fashion_review.training.heads.retrain_heads`."""
    from fashion_review.training.heads import retrain_heads

    t0 = time.perf_counter()
    res = retrain_heads(ds, run, epochs=epochs, limit=limit, min_images=min_images, task=task)
    return RetrainOutcome(HEADS, res.run, res.parent, res.before, res.after, time.perf_counter() - t0,
                          dict(res.timings), res.comparison)


def full_job(ds: Any, recipe: str, *, parent: Any = None, scheme: str | None = None, epochs: int | None = None,
             image_size: int | None = None, limit: int | None = None, min_images: int | None = None,
             weights: str = "none", task: Task) -> RetrainOutcome:
    """Train ``recipe`` from scratch on the corrected labels, then score it and ``parent`` on its test
    products ``parent`` never trained on (:func:`~fashion_review.training.compare.compare_on_test`).

    A cancel or failure during the scoring removes the new run again, so a cancelled job never leaves one.
    """
    from fashion_review.training import registry
    from fashion_review.training.compare import compare_on_test
    from fashion_review.training.train import train

    t0 = time.perf_counter()
    run = train(ds, recipe, schemes=scheme, epochs=epochs, image_size=image_size, limit=limit, task=task,
                min_images=min_images, weights=weights)
    timings = {"train_s": time.perf_counter() - t0}
    try:
        t = time.perf_counter()
        comparison = compare_on_test(ds, run, parent, task)
        timings["evaluate_s"] = time.perf_counter() - t
    except BaseException:
        if run.path.parent == registry.runs_dir(ds.fingerprint):
            shutil.rmtree(run.path, ignore_errors=True)
        raise
    return RetrainOutcome(FULL, run, parent, comparison.before, comparison.after, time.perf_counter() - t0, timings,
                          comparison)


def registry_runs(fingerprint: str) -> set[str]:
    """The run folders in the data set's registry now (temp folders of runs being written left out)."""
    from fashion_review.training import registry

    d = registry.runs_dir(fingerprint)
    try:
        return {p.name for p in d.iterdir() if p.is_dir() and not p.name.startswith(".")}
    except OSError:
        return set()


def missing_parts(run: Any) -> list[str]:
    """What a run folder lacks of what it needs to load and be shown ([] for a whole run)."""
    from fashion_review.errors import ModelError
    from fashion_review.training import registry

    try:
        info = registry.read_run(run.path)
    except ModelError as exc:
        return [str(exc)]
    if info.backbone_id != info.id:  # heads only: its predictions are written before it enters the registry
        need = [registry.HEADS_FILE, registry.SPLIT_FILE, registry.PREDICTIONS_FILE]
    else:  # a full run: predicted when it is activated
        need = [registry.MODEL_FILE, registry.SPLIT_FILE]
    return [n for n in need if not (run.path / n).is_file()]


def product_counts(ds: Any, schemes: Any, effective: pd.DataFrame, min_images: int | None = None,
                   limit: int | None = None, parent: Any = None) -> tuple[int, int, int]:
    """(train, val, all) products a run of these schemes would see (usable in any scheme); with ``parent``
    (retraining its heads) the parts its split gives, as ``training.heads.parts_from_parent`` does: the
    stored split's train part alone said 26,837 products where the heads of the reference trained on 38,288."""
    union = None
    parts = None
    for s in schemes:
        usable = ds.usable(s, min_images, effective=effective)
        union = usable.index if union is None else union.union(usable.index)
        if parts is None:
            try:
                parts = ds.split(s, min_images, effective=effective)
            except Exception:  # noqa: BLE001 - only for an estimate
                parts = None
    if parent is not None and parts is not None:
        parts = _parent_parts(parts, parent)
    n = len(union) if union is not None else 0
    if limit is not None:
        n = min(n, limit)
    share = parts.value_counts(normalize=True) if parts is not None and len(parts) else {}
    return int(n * share.get("train", 0.8)), int(n * share.get("val", 0.1)), n


def _parent_parts(parts: pd.Series, parent: Any) -> pd.Series:
    """``parts`` with the parent's recorded part where a retraining of its heads keeps it (the rule of
    ``training.heads.parts_from_parent``)."""
    from fashion_review.training.reference import parts_kept_from
    from fashion_review.training.registry import read_split

    try:
        recorded = read_split(parent)
    except Exception:  # noqa: BLE001 - only for an estimate (the retrain says what is wrong)
        return parts
    given = recorded.reindex(parts.index)
    have = given.isin(parts_kept_from(parent)).to_numpy()
    out = parts.astype(object).copy()
    out[have] = given[have]
    return out


def estimate_retrain(ds: Any, mode: str, *, schemes: Any, epochs: int, size: int | None, device: str | None,
                     effective: pd.DataFrame, active_run: Any = None, recipe: Any = None, runs: Any = (),
                     min_images: int | None = None, limit: int | None = None) -> Estimate:
    """How long the retrain the dialog is set up for takes: heads on cached features (the features not
    cached yet first), or a full training of ``recipe`` (a measured run's rate when there is one), plus
    scoring both models on the test part."""
    heads = mode == HEADS and active_run is not None
    n_train, n_val, n = product_counts(ds, schemes, effective, min_images, limit,
                                       parent=active_run if heads else None)
    if heads:
        cached, rate = cached_features(ds, active_run.backbone_id)
        n_with_image = int(effective["has_image"].sum()) if limit is None else n
        backbone = str((active_run.record.get("recipe") or {}).get("backbone", "xception"))
        return estimate_heads(max(0, n_with_image - cached), n_train, epochs, size, device, rate, n_with_image,
                              backbone=backbone, heads_rate=measured_heads_rate(runs, backbone, device))
    measured = measured_train_rate(runs, recipe.name, size, device)
    est = estimate_full(n_train, n_val, epochs, size, device, measured, backbone=recipe.backbone,
                        validation=recipe.validation)
    if active_run is not None:  # scoring old and new models on the test part
        est.seconds += 2 * max(0, n - n_train - n_val) / rates_for(device, recipe.backbone, size)["features"]
    return est


def nothing_to_train(summaries: Mapping[str, Any]) -> str:
    """Why no model can be trained with the class filter as it is (a scheme keeping fewer than two
    classes), in words with the way out; "" when each scheme keeps two or more."""
    short = [fs for fs in summaries.values() if len(fs.kept) < 2]
    if not short:
        return ""
    what = "; ".join(f"{fs.scheme} keeps {plural(len(fs.kept), 'class')} with at least "
                     f"{plural(fs.min_images, 'image')}" for fs in short)
    return (f"<b>Nothing to train:</b> {what}, and a classifier needs two or more. The class filter's threshold "
            f"is the data set's <tt>min_images</tt> (the paper's 500 unless its folder's "
            f"<tt>fashion-review.toml</tt> sets another; the bundled sample sets 20).")


def weaker_note(active_run: Any, n_train: int) -> str:
    """Full retraining from scratch on ``n_train`` products where the active model is the reference,
    trained on far more: on the bundled sample (831 against its 33,513) the new model scored 19 points
    lower on articleType, and nothing had said to expect it.  "" when that is not the case."""
    from fashion_review.training.reference import is_reference

    if active_run is None or not is_reference(active_run):
        return ""
    ref = active_run.record.get("reference") or {}
    theirs = int(((ref.get("trained_on") or {}).get("products") or {}).get("train", 0))
    if not theirs or n_train * 4 > theirs:
        return ""
    return (f"<br><b>Likely weaker than the active model:</b> from scratch on {plural(n_train, 'product')}, where "
            f"the reference model learned from {theirs:,}. Retrain heads only keeps its backbone.")
