"""Training commands: ``train``, ``evaluate``, ``predict``, ``models`` (list / activate).

Keras is imported inside the commands only (``models`` never imports it), so ``--help`` and the
listing stay instant.  Long work shows a progress bar (:class:`~fashion_review.tasks.ConsoleProgress`);
the first Ctrl+C cancels cleanly within one batch (nothing is written), a second one aborts.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import signal
import sys
import threading
from collections.abc import Iterator
from typing import Any

from fashion_review.cli.data_cmds import add_data_args, open_from_args
from fashion_review.errors import ModelError
from fashion_review.text import plural

EXIT_CANCELLED = 130


def _print_json(obj: Any) -> None:
    json.dump(obj, sys.stdout, indent=2, default=str)
    sys.stdout.write("\n")


@contextlib.contextmanager
def _cancel_on_ctrl_c(task: Any) -> Iterator[None]:
    """First Ctrl+C: ``task.cancel()`` (a clean stop); second: KeyboardInterrupt as usual."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: Any) -> None:
        if task.cancelled:
            raise KeyboardInterrupt
        task.cancel()
        print("\ncancelling after the current batch (Ctrl+C again to abort) ...", file=sys.stderr)

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _task(quiet: bool = False) -> Any:
    from fashion_review.tasks import ConsoleProgress, Task

    return Task(None if quiet else ConsoleProgress())


def _open_for_run(args: argparse.Namespace, run_arg: str | None,
                  reference_fallback: bool = False) -> tuple[Any, Any]:
    """(dataset, run): ``--data`` when given, else the data set the run was trained on.

    Without a run: the data set's active run; with ``reference_fallback`` (predict) and no run at
    all, the reference model shipped with the app, imported into its registry (said on stderr).
    """
    from fashion_review.data.dataset import open_dataset
    from fashion_review.training import registry

    if run_arg is None:  # the data set's active run (predict: the reference model when it has none)
        ds = open_from_args(args)
        try:
            return ds, _default_run(ds, reference_fallback)
        except BaseException:
            ds.close()
            raise
    if args.data is not None or args.csv is not None:
        ds = open_from_args(args)
        try:
            return ds, registry.get_run(run_arg, ds.fingerprint)
        except BaseException:
            ds.close()
            raise
    run = registry.get_run(run_arg)
    data = run.record.get("data", {})
    csv = data.get("csv")
    if not csv:
        raise ModelError(f"run {run.id} does not record its data set; pass --data DIR")
    ds = open_dataset(csv_path=csv, images_dir=data.get("images"),
                      skip_malformed=bool(data.get("skip_malformed", False)))
    return ds, run


def _default_run(ds: Any, reference_fallback: bool = False) -> Any:
    """The data set's active run; with ``reference_fallback`` and no run at all, the reference model."""
    from fashion_review.training import reference, registry

    active = registry.active_run(ds.fingerprint)
    if active is not None:
        print(f"fashion-review: using the active model {active.id}", file=sys.stderr)
        return active
    known = registry.list_runs(ds.fingerprint)
    if known or not reference_fallback:
        hint = (f"`fashion-review models activate RUN` chooses one of its {plural(len(known), 'run')} "
                f"(`fashion-review models` lists them), or pass --run RUN") if known else \
            "train one first (`fashion-review train --activate`), or pass --run RUN"
        raise ModelError(f"no active model for {ds.catalog.csv_path}: {hint}")
    if not reference.available():
        raise ModelError("no model trained on this catalog yet and no reference model shipped with this install: "
                         "train one with `fashion-review train --activate`")
    print("fashion-review: no model trained on this catalog yet: using the reference model shipped with the app "
          f"({reference.NOTE}); train one with `fashion-review train --activate`", file=sys.stderr)
    return reference.import_reference(ds)


# ------------------------------------------------------------------------------------- train

def cmd_train(args: argparse.Namespace) -> int:
    from fashion_review.cli.model_cmds import import_keras

    import_keras()
    from fashion_review.modeling import load_recipe
    from fashion_review.tasks import Cancelled
    from fashion_review.training import registry
    from fashion_review.training.train import train

    from fashion_review.cli.model_cmds import resolve_recipe

    recipe = load_recipe(resolve_recipe(args))
    if args.scheme:
        schemes = [[args.scheme]]
    elif recipe.multihead or len(recipe.schemes) == 1:
        schemes = [None]
    else:  # a single-head recipe over several schemes: one run per scheme, one after another
        schemes = [[s] for s in recipe.schemes]
    if args.activate and (args.out or len(schemes) > 1):
        raise ModelError("--activate needs one run written into the registry "
                         "(not --out, and one --scheme for a per-scheme recipe)")
    ds = open_from_args(args)
    runs = []
    try:
        for sch in schemes:
            out = args.out
            if out is not None and len(schemes) > 1:
                from pathlib import Path

                out = Path(out) / sch[0]
            task = _task(args.json)
            with _cancel_on_ctrl_c(task):
                try:
                    run = train(ds, recipe, schemes=sch, epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
                                image_size=args.image_size, weights=args.weights, limit=args.limit,
                                strategy=args.strategy, out=out, task=task, min_images=args.min_images,
                                seed=args.seed)
                except Cancelled:
                    print("fashion-review: training cancelled; nothing was written", file=sys.stderr)
                    return EXIT_CANCELLED
            runs.append(run)
            if run.record.get("written") is False:
                print("this worker is not the chief: the chief writes the run")
                continue
            if args.activate:
                registry.activate(ds.fingerprint, run.id)
            if not args.json:
                t = run.record["training"]
                active = "  (active)" if args.activate else ""
                print(f"run {run.id}{active}\n  {run.path}")
                print(f"  {plural(t['epochs_run'], 'epoch')}, best {t['best_epoch']}, {t['fit_seconds']:.0f} s fitting, "
                      f"{t['images_per_s'] or 0:,.0f} images/s on {t['device']} ({t['backend']}, {t['precision']}, "
                      f"{t['pipeline']}, strategy {t['strategy']} x{t['replicas']})")
                for s, m in run.metrics.items():
                    if m.get("val_accuracy") is not None:
                        print(f"  {s}: validation accuracy {100 * m['val_accuracy']:.2f}%")
    finally:
        ds.close()
    if args.json:
        _print_json([{"id": r.id, "path": str(r.path), **r.record} for r in runs])
    elif runs and runs[-1].record.get("written") is not False:
        print(next_steps(runs[-1], activated=args.activate, out=bool(args.out), data_args=_data_args_text(args)))
    return 0


def _data_args_text(args: argparse.Namespace) -> str:
    """The data options as the user gave them, to repeat in a hint (`` --data DIR`` or "")."""
    import shlex

    out = ""
    for opt in ("data", "csv", "images"):
        v = getattr(args, opt, None)
        if v is not None:
            out += f" --{opt} {shlex.quote(str(v))}"
    return out


def next_steps(run: Any, *, activated: bool, out: bool = False, data_args: str = "") -> str:
    """What to run after ``train``, true for how it ran: the app shows the *active* model's predictions."""
    if out:  # outside the registry: it can be evaluated and predicted, not activated
        ref = run.path
        return (f"next: fashion-review predict --run {ref}{data_args}   |   fashion-review evaluate --run {ref}{data_args}\n"
                "      (a run written with --out is not in the registry, so the app cannot show it)")
    if activated:
        return (f"next: fashion-review predict{data_args}   (the active model's predictions, which the app shows)\n"
                f"      fashion-review evaluate{data_args}  |  fashion-review gui{data_args}")
    ref = run.id
    return (f"next: fashion-review models activate {ref}{data_args}   (the app shows the active model; "
            "or Models > Choose model in the app)\n"
            f"      fashion-review predict --run {ref}{data_args}  |  fashion-review evaluate --run {ref}{data_args}")


def _run_cancellable(args: argparse.Namespace, work: Any, cancelled_message: str,
                     reference_fallback: bool = False) -> tuple[Any, Any]:
    """Open ``--run``'s data set and call ``work(ds, run, task)`` with a progress bar and Ctrl+C
    cancelling; returns ``(run, result)``, or ``(None, None)`` after saying it was cancelled."""
    from fashion_review.tasks import Cancelled

    ds, run = _open_for_run(args, args.run, reference_fallback)
    try:
        task = _task(args.json)
        with _cancel_on_ctrl_c(task):
            try:
                return run, work(ds, run, task)
            except Cancelled:
                print(f"fashion-review: {cancelled_message}", file=sys.stderr)
                return None, None
    finally:
        ds.close()


# ---------------------------------------------------------------------------------- evaluate

def cmd_evaluate(args: argparse.Namespace) -> int:
    from fashion_review.cli.model_cmds import import_keras

    import_keras()
    from fashion_review.training.evaluate import evaluate, summary_text

    run, summary = _run_cancellable(
        args, lambda ds, run, task: evaluate(run, ds, task=task, out=args.out), "evaluation cancelled")
    if run is None:
        return EXIT_CANCELLED
    if args.json:
        _print_json(summary)
    else:
        print(summary_text(summary), end="")
        print(f"written to {args.out or run.eval_dir}")
    return 0


# ----------------------------------------------------------------------------------- predict

def cmd_predict(args: argparse.Namespace) -> int:
    from fashion_review.cli.model_cmds import import_keras

    import_keras()
    from fashion_review.training.predict import predict

    run, pred = _run_cancellable(
        args,
        lambda ds, run, task: predict(run, ds, limit=args.limit, task=task, out=args.out, batch_size=args.batch_size),
        "prediction cancelled; the earlier predictions file is unchanged", reference_fallback=True)
    if run is None:
        return EXIT_CANCELLED
    path = args.out or run.predictions_path
    if args.json:
        _print_json({"run": run.id, "path": str(path), "products": len(pred), "schemes": pred.schemes,
                     "classes": {s: len(c) for s, c in pred.classes.items()},
                     "embeddings": {s: list(e.shape) for s, e in pred.embeddings.items()}})
    else:
        heads = ", ".join(f"{s} ({plural(len(c), 'class')})" for s, c in pred.classes.items())
        print(f"{plural(len(pred), 'product')} x {heads}"
              f" predicted by {run.id}\n  {path}")
    return 0


# ------------------------------------------------------------------------------------ models

def _run_row(run: Any, active_id: str | None) -> dict[str, Any]:
    return {
        "id": run.id, "active": run.id == active_id, "path": str(run.path), "recipe": run.recipe,
        "kind": run.kind, "schemes": run.schemes, "classes": {s: len(c) for s, c in run.classes.items()},
        "image_size": run.image_size, "created": run.created, "trained": run.trained,
        "corrections": run.record.get("data", {}).get("corrections"),
        "products": run.record.get("data", {}).get("products"),
        "metrics": run.metrics, "has_predictions": run.predictions_path.exists(),
        "evaluated": run.eval_dir.exists(),
    }


def cmd_models(args: argparse.Namespace) -> int:
    from fashion_review.data.catalog import load_catalog
    from fashion_review.cli.data_cmds import data_kwargs
    from fashion_review.training import registry

    fingerprint = load_catalog(**data_kwargs(args)).fingerprint
    if getattr(args, "models_command", None) == "activate":
        run = registry.activate(fingerprint, args.run_id)
        note = "" if run.predictions_path.exists() else \
            " (no predictions yet: `fashion-review predict`, or the app predicts when it is chosen there)"
        print(f"active model: {run.id}{note}")
        return 0
    runs = registry.list_runs(fingerprint)
    active = registry.active_run(fingerprint)
    active_id = active.id if active is not None else None
    rows = [_run_row(r, active_id) for r in runs]
    if args.json:
        _print_json({"fingerprint": fingerprint, "registry": str(registry.runs_dir(fingerprint)),
                     "active": active_id, "runs": rows})
        return 0
    if not rows:
        print(f"no trained models for this data set yet ({registry.runs_dir(fingerprint)}); "
              "train one with `fashion-review train`")
        return 0
    w_id = max(len("run"), *(len(r["id"]) for r in rows))
    w_recipe = max(len("recipe"), *(len(r["recipe"]) for r in rows))
    print(f"  {'run':<{w_id}}  {'recipe':<{w_recipe}}  {'corrections':>11}  accuracy (test; val until evaluated)")
    for r in rows:
        accs = []
        for s in r["schemes"]:
            m = r["metrics"].get(s, {})
            test, val = m.get("test_accuracy"), m.get("val_accuracy")
            if test is not None:
                accs.append(f"{s} {100 * test:.1f}%")
            elif val is not None:
                accs.append(f"{s} {100 * val:.1f}% (val)")
        corr = "-" if r["corrections"] is None else str(r["corrections"])
        mark = "* " if r["active"] else "  "
        print(f"{mark}{r['id']:<{w_id}}  {r['recipe']:<{w_recipe}}  {corr:>11}  {', '.join(accs) or '-'}")
    print("(* active)" if active_id else "(no active model: `fashion-review models activate RUN --data DIR`)")
    return 0


# ---------------------------------------------------------------------------------- register

def register(sub: argparse._SubParsersAction) -> None:
    from fashion_review.cli.model_cmds import add_image_size_option, add_recipe_option, add_weights_option
    from fashion_review.data.schemes import DEFAULT_MIN_IMAGES, SCHEMES
    from fashion_review.training.strategy import STRATEGIES

    p = sub.add_parser(
        "train", help="train a recipe on a data set and store the run in the model registry",
        description="Train a recipe on the effective catalog (corrections applied, excluded products dropped) "
        "and store the run (model, classes, split, history, metrics) in the registry, or in --out. A per-scheme "
        "recipe (xception-paper) without --scheme trains each of its schemes in turn. Ctrl+C cancels cleanly.")
    add_data_args(p)
    add_recipe_option(p)
    p.add_argument("--scheme", choices=SCHEMES, help="the scheme of a per-scheme recipe (default: each of its schemes)")
    p.add_argument("--epochs", type=int, metavar="N", help="epochs (default: the recipe's)")
    p.add_argument("--batch-size", type=int, metavar="N", help="batch size per replica (default: the recipe's)")
    p.add_argument("--lr", type=float, metavar="X", help="learning rate (default: the recipe's)")
    add_image_size_option(p)
    add_weights_option(p)
    p.add_argument("--limit", type=int, metavar="N", help="train on the first N usable products only (smoke runs)")
    p.add_argument("--strategy", choices=STRATEGIES, default="default",
                   help="default: one device; mirrored: all local GPUs (tf.distribute.MirroredStrategy); "
                   "multiworker: several machines, from TF_CONFIG (MultiWorkerMirroredStrategy); the last two "
                   "need Keras' TensorFlow backend")
    p.add_argument("--min-images", type=int, metavar="N",
                   help=f"class filter (default: the data set's setting, else {DEFAULT_MIN_IMAGES})")
    p.add_argument("--out", metavar="DIR", help="write the run folder here instead of into the registry")
    p.add_argument("--activate", action="store_true", help="make the new run the data set's active model")
    p.add_argument("--seed", type=int, default=0, help="random seed (default %(default)s)")
    p.add_argument("--json", action="store_true", help="no progress bar; print the run record(s) as JSON")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser(
        "evaluate", help="per-scheme accuracies, per-class report, confusion matrix, PR curves, training curves",
        description="Evaluate a run on the products it saw (its split), with today's effective labels; writes "
        "<run>/eval/<scheme>/ (or --out). RUN is a run id or a run folder (default: the active model of --data); "
        "with --run and without --data, the data set the run was trained on.")
    p.add_argument("--run", metavar="RUN", help="run id or run folder (default: the data set's active model)")
    add_data_args(p)
    p.add_argument("--out", metavar="DIR", help="write the evaluation here instead of <run>/eval")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser(
        "predict", help="class probabilities and embeddings for every product with an image",
        description="Run a model over every product with an image; stores predictions.npz in the run (or --out), "
        "which the app opens without recomputing. Without --run, the active model of --data (default: the bundled "
        "sample), or the reference model shipped with the app when the data set has no model at all; with --run "
        "and without --data, the data set the run was trained on.")
    p.add_argument("--run", metavar="RUN", help="run id or run folder (default: the data set's active model; "
                   "with no model at all, the reference model shipped with the app)")
    add_data_args(p)
    p.add_argument("--limit", type=int, metavar="N", help="only the first N products with an image")
    p.add_argument("--out", metavar="FILE.npz", help="write the predictions here instead of <run>/predictions.npz")
    p.add_argument("--batch-size", type=int, default=128, metavar="N", help="images per batch (default %(default)s)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_predict)

    p = sub.add_parser("models", help="list the trained runs of a data set (* = active); `models activate RUN`")
    add_data_args(p, skip=True)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_models, models_command=None)
    msub = p.add_subparsers(dest="models_command", metavar="{activate}")
    a = msub.add_parser("activate", help="make RUN the data set's active model",
                        argument_default=argparse.SUPPRESS)
    a.add_argument("run_id", metavar="RUN", help="a run id of this data set's registry")
    add_data_args(a, skip=True)
    a.set_defaults(func=cmd_models)

