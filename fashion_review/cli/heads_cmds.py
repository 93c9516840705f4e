"""``retrain-heads``: the app's "Retrain heads only", from the command line.

Keeps a run's backbone (default: the active model), trains its heads on the corrected labels from
cached backbone features, stores a new run (whole, or not at all) and prints the before / after
test accuracy per scheme on the products neither model trained on.  Progress bar; the first Ctrl+C
cancels cleanly (nothing is written), a second aborts.
"""

from __future__ import annotations

import argparse
import sys

from fashion_review.cli.data_cmds import add_data_args


def cmd_retrain_heads(args: argparse.Namespace) -> int:
    from fashion_review.cli.model_cmds import import_keras
    from fashion_review.cli.train_cmds import EXIT_CANCELLED, _cancel_on_ctrl_c, _open_for_run, _print_json, _task

    import_keras()
    from fashion_review.tasks import Cancelled
    from fashion_review.training import registry
    from fashion_review.training.heads import retrain_heads

    ds, parent = _open_for_run(args, args.run)
    try:
        task = _task(args.json)
        with _cancel_on_ctrl_c(task):
            try:
                res = retrain_heads(ds, parent, epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
                                    min_images=args.min_images, limit=args.limit, task=task, seed=args.seed)
            except Cancelled:
                print("fashion-review: retraining the heads cancelled; nothing was written", file=sys.stderr)
                return EXIT_CANCELLED
        if args.activate:
            registry.activate(ds.fingerprint, res.run.id)
    finally:
        ds.close()
    cmp = res.comparison
    if args.json:
        _print_json({"run": res.run.id, "path": str(res.run.path), "parent": res.parent.id, "active": args.activate,
                     "comparison": cmp.as_dict(), "parts": res.parts, "timings": res.timings})
        return 0
    print(f"run {res.run.id}{'  (active)' if args.activate else ''}: heads of {res.parent.id} retrained\n"
          f"  {res.run.path}")
    print(f"  test accuracy, {cmp.text()}")
    for s in res.after:
        b = res.before.get(s)
        was = f"{100 * b.accuracy:6.2f}%" if b is not None else "     -"
        print(f"  {s:<16} before {was}   after {100 * res.after[s].accuracy:6.2f}%")
    if not args.activate:
        print(f"next: fashion-review models activate {res.run.id}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    from fashion_review.data.schemes import DEFAULT_MIN_IMAGES

    p = sub.add_parser(
        "retrain-heads", help="keep a model's backbone, retrain its heads on the corrected labels (minutes on a CPU)",
        description="Retrain only the heads of a run (default: the active model) on cached backbone features with "
        "today's corrected labels, keeping the parts its backbone was trained with; stores a new run and prints "
        "before / after test accuracy on products neither model trained on.")
    p.add_argument("--run", metavar="RUN", help="the run whose backbone is kept (default: the active model)")
    add_data_args(p)
    p.add_argument("--epochs", type=int, metavar="N", help="head epochs (default 2)")
    p.add_argument("--batch-size", type=int, metavar="N", help="batch size (default 256)")
    p.add_argument("--lr", type=float, metavar="X", help="learning rate (default: the run's recipe's)")
    p.add_argument("--limit", type=int, metavar="N", help="the first N usable products only (smoke runs)")
    p.add_argument("--min-images", type=int, metavar="N",
                   help=f"class filter (default: the run's, else the data set's setting, else {DEFAULT_MIN_IMAGES})")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--activate", action="store_true", help="make the new run the data set's active model")
    p.add_argument("--json", action="store_true", help="no progress bar; print the result as JSON")
    p.set_defaults(func=cmd_retrain_heads)
