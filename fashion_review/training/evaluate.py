"""Evaluate a run, per scheme, the way the paper reports it: :func:`evaluate`.

Written under ``<run>/eval/`` (or ``out``)::

    summary.json, summary.txt      train / validation / test accuracy per scheme (Table 5 rows)
    <scheme>/metrics.json          accuracies, product counts, macro / weighted F1, mean AP
    <scheme>/report.txt, .json     per-class precision / recall / F1 / support, accuracy, macro and
                                   weighted averages over the test part (Table 4 layout)
    <scheme>/confusion.json        classes, counts and row-normalised matrix (test part)
    <scheme>/confusion.png, confusion_normalised.png
    <scheme>/pr_curves.json, .png  per-class precision-recall curves with average precision
    <scheme>/training_curves.png   loss and accuracy per epoch (from history.json)

The products and parts are those the run saw (its ``split.csv``); the labels are today's
effective labels (corrections applied): a product counts for a scheme while it is usable there
(not excluded, its class kept by the class filter) and its class is one the model knows.  The
numbers come from :mod:`fashion_review.review.metrics` (scikit-learn's), which the app's
confusion view also uses.  Probabilities are taken from the run's ``predictions.npz`` when it
covers these products, else computed.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from fashion_review.data.splits import PARTS
from fashion_review.errors import ModelError
from fashion_review.fsutil import atomic_write_text
from fashion_review.review import metrics
from fashion_review.tasks import Task
from fashion_review.text import plural
from fashion_review.training import plots, registry
from fashion_review.training.registry import read_split  # noqa: F401  (re-exported: retrain, tests)

_CURVE_POINTS = 200


def _thin(a: np.ndarray, n: int = _CURVE_POINTS) -> list[float]:
    a = np.asarray(a, dtype=float)
    if len(a) > n:
        a = a[np.unique(np.linspace(0, len(a) - 1, n).round().astype(int))]
    return [round(float(v), 5) for v in a]


def cached_probs(run: registry.RunInfo, ids: np.ndarray) -> dict[str, np.ndarray] | None:
    """The probabilities of ``ids`` from the run's predictions file, when it has them all."""
    from fashion_review.review.predictions import load_predictions

    if not run.predictions_path.exists():
        return None
    try:
        pred = load_predictions(run.predictions_path)
    except ModelError:
        return None
    if pred.model_version != run.id or any(pred.classes.get(s) != c for s, c in run.classes.items()):
        return None
    rows = pred.index_of(ids)
    if (rows < 0).any():
        return None
    return {s: pred.probs[s][rows] for s in run.schemes}


def evaluate(run: Any, ds: Any, *, task: Task | None = None, out: str | os.PathLike[str] | None = None,
             batch_size: int = 128) -> dict[str, Any]:
    """Write the evaluation of ``run`` on ``ds`` (see the module docstring); return the summary.

    ``out``: write the ``eval`` folder's contents there; otherwise into the run, whose run.json
    then gets the test metrics.  Phases "cache", "evaluate"; raises Cancelled.
    """
    run = registry.get_run(run, ds.fingerprint)
    task = task if task is not None else Task()
    if run.fingerprint and ds.fingerprint not in run.fingerprints:
        raise ModelError(f"run {run.id} was trained on data set {run.fingerprint} "
                         f"({run.record.get('data', {}).get('csv', '?')}), not on {ds.fingerprint} "
                         f"({ds.catalog.csv_path}); pass --data for its data set")
    split = read_split(run)
    eval_dir = Path(out) if out is not None else run.eval_dir
    min_images = run.record.get("min_images")
    eff = ds.effective()

    # The products to score: those of the split that are usable now in at least one scheme.
    usable = {s: ds.usable(s, min_images, eff) for s in run.schemes}
    ids = np.sort(split.index.to_numpy(dtype=np.int64))
    task.report("evaluate", None, f"scoring {plural(len(ids), 'product')}")
    probs = cached_probs(run, ids)
    source = "predictions.npz"
    if probs is None:
        from fashion_review.training.pipeline import ensure_image_cache
        from fashion_review.training.predict import infer, test_time_flip

        cache = ensure_image_cache(ds, task)
        ok, pos = cache.readable(ids)
        ids = ids[ok]
        model = registry.load_model(run)
        task.check()
        probs, _ = infer(model, run.schemes, cache.images, pos[ok], batch_size=batch_size, task=task,
                         phase="evaluate", flip=test_time_flip(run))
        source = "model"
    task.check()

    history = run.history()
    best_epoch = run.record.get("training", {}).get("best_epoch")
    multihead = len(run.schemes) > 1 or run.kind == "multihead"
    summary: dict[str, Any] = {"run": run.id, "recipe": run.recipe, "evaluated": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                               "probabilities_from": source, "schemes": {}}
    run_metrics: dict[str, Any] = {}
    part_of = split.reindex(ids).to_numpy(dtype=object)
    # Test products whose identical photo (another id) sits in the training part: scored apart too.
    from fashion_review.review.duplicates import twin_leaks

    leak = twin_leaks(split, ds.exact_groups())
    has_twin = np.isin(ids, leak.index[leak.to_numpy()].to_numpy(dtype=np.int64))
    for s in run.schemes:
        classes = run.classes[s]
        known = set(classes)
        now = usable[s].reindex(ids)
        given = now.to_numpy(dtype=object)
        in_scheme = np.array([isinstance(g, str) and g in known for g in given], dtype=bool)
        unknown_class = int(sum(isinstance(g, str) and g not in known for g in given))
        pred_names = np.asarray(classes, dtype=object)[probs[s].argmax(axis=1)]
        sdir = eval_dir / s
        sdir.mkdir(parents=True, exist_ok=True)

        acc, counts = {}, {}
        for part in PARTS:
            m = in_scheme & (part_of == part)
            counts[part] = int(m.sum())
            acc[part] = metrics.accuracy(given[m], pred_names[m]) if m.any() else None
        test = in_scheme & (part_of == "test")
        clean = test & ~has_twin
        acc_clean = metrics.accuracy(given[clean], pred_names[clean]) if clean.any() else None
        g_test, p_test = given[test].astype(str), pred_names[test].astype(str)
        report = metrics.per_class_report(g_test, p_test, classes)
        counts_cm, names = metrics.confusion(g_test, p_test, classes)
        norm = metrics.row_normalised(counts_cm)
        curves = metrics.pr_curves(g_test, probs[s][test], classes)
        mean_ap = float(np.mean([c.average_precision for c in curves.values()])) if curves else None

        atomic_write_text(sdir / "report.txt", f"{s}: test part, {plural(counts['test'], 'product')}, run {run.id}\n\n"
                          + report.text())
        registry.write_json(sdir / "report.json", report.as_dict())
        registry.write_json(sdir / "confusion.json", {
            "scheme": s, "part": "test", "rows": "given (effective label)", "columns": "predicted",
            "classes": names, "counts": counts_cm.tolist(), "normalised": np.round(norm, 6).tolist(),
        })
        plots.confusion_png(counts_cm, names, sdir / "confusion.png", title=f"{s}: confusion matrix (test, counts)")
        plots.confusion_png(norm, names, sdir / "confusion_normalised.png", normalised=True,
                            title=f"{s}: confusion matrix (test, each row sums to 1)")
        registry.write_json(sdir / "pr_curves.json", {
            "scheme": s, "part": "test", "mean_average_precision": mean_ap,
            "average_precision": {c: v.average_precision for c, v in curves.items()},
            "curves": {c: {"precision": _thin(v.precision), "recall": _thin(v.recall)} for c, v in curves.items()},
        })
        plots.pr_curves_png({c: (v.precision, v.recall, v.average_precision) for c, v in curves.items()},
                            sdir / "pr_curves.png", title=f"{s}: precision-recall per class (test)")
        loss_key = f"{s}_loss" if multihead else "loss"
        acc_key = f"{s}_accuracy" if multihead else "accuracy"
        plots.training_curves_png(history, sdir / "training_curves.png", title=f"{s}: training curves ({run.id})",
                                  loss_key=loss_key, accuracy_key=acc_key, best_epoch=best_epoch)
        scheme_summary = {
            "train_accuracy": acc["train"], "val_accuracy": acc["val"], "test_accuracy": acc["test"],
            "test_accuracy_without_twins": acc_clean, "test_with_training_twin": int((test & has_twin).sum()),
            "products": counts, "classes": len(classes),
            "macro_f1": report.macro["f1-score"], "weighted_f1": report.weighted["f1-score"],
            "mean_average_precision": mean_ap,
            "not_counted": {"unknown_class": unknown_class,
                            "not_usable_now": int(len(ids) - in_scheme.sum() - unknown_class)},
        }
        registry.write_json(sdir / "metrics.json", {"scheme": s, "run": run.id, **scheme_summary})
        summary["schemes"][s] = scheme_summary
        run_metrics[s] = {k: scheme_summary[k] for k in ("train_accuracy", "val_accuracy", "test_accuracy",
                                                          "macro_f1", "weighted_f1", "mean_average_precision")}
        task.check()

    registry.write_json(eval_dir / "summary.json", summary)
    atomic_write_text(eval_dir / "summary.txt", summary_text(summary))
    if out is None:
        registry.update_run(run, metrics=run_metrics, evaluated=summary["evaluated"])
    task.report("evaluate", 1.0, f"evaluation written to {eval_dir}")
    return summary


def summary_text(summary: dict[str, Any]) -> str:
    """The Table 5 rows: train / validation / test accuracy per scheme, in percent."""
    lines = [f"run {summary['run']} ({summary['recipe']})", "",
             f"{'scheme':<16}{'train':>9}{'val':>9}{'test':>9}{'macro F1':>10}{'test n':>8}"
             f"{'test w/o twins':>16}{'twins':>7}"]

    def pct(v: float | None) -> str:
        return f"{100 * v:8.2f}%" if v is not None else f"{'-':>9}"

    for s, m in summary["schemes"].items():
        f1 = f"{m['macro_f1']:10.4f}" if m.get("macro_f1") is not None else f"{'-':>10}"
        lines.append(f"{s:<16}{pct(m['train_accuracy'])}{pct(m['val_accuracy'])}{pct(m['test_accuracy'])}"
                     f"{f1}{m['products']['test']:>8}{pct(m.get('test_accuracy_without_twins')):>16}"
                     f"{m.get('test_with_training_twin', 0):>7}")
    lines += ["", "Accuracy over the products of the run's own train / validation / test part, with today's labels "
              "(corrections applied),", "counting a product while it is usable and its class is one the model "
              "knows: the app's confusion view (Products: Test)", "counts the same products.",
              "test w/o twins: test accuracy leaving out the test products with an identical photo (another "
              "id) in the training part; twins: how many those are."]
    unknown = {s: m.get("not_counted", {}).get("unknown_class", 0) for s, m in summary["schemes"].items()}
    for s, n in unknown.items():
        if n:
            lines.append(f"{s}: {plural(n, 'product')} now in a class the model does not know "
                         f"{'is' if n == 1 else 'are'} not counted")
    return "\n".join(lines) + "\n"
