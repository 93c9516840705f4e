"""Label-issue commands: ``issues find`` (slow: trains) and ``issues list`` (instant: reads).

``issues find`` imports Keras inside the command only; ``issues list`` never does, so it answers
at once from what ``find`` stored and the current labels (corrections made since count at once).
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from typing import Any

from fashion_review.cli.data_cmds import add_data_args, open_from_args
from fashion_review.text import plural

EXIT_CANCELLED = 130
LIST_COLUMNS = ("rank", "id", "score", "given", "suggestion", "suggestions", "kind", "signals", "reviewed", "reasons",
                "name")


def cmd_find(args: argparse.Namespace) -> int:
    from fashion_review.cli.model_cmds import import_keras
    from fashion_review.cli.train_cmds import _cancel_on_ctrl_c, _task

    import_keras()
    from fashion_review.tasks import Cancelled
    from fashion_review.training.crossval import DEFAULT_EPOCHS, HEADS_EPOCHS
    from fashion_review.training.issue_finder import find_label_issues

    epochs = args.epochs if args.epochs is not None else (DEFAULT_EPOCHS if args.mode == "cv" else HEADS_EPOCHS)
    ds = open_from_args(args)
    try:
        if args.mode == "heads":  # as predict: a catalog with no model at all gets the reference model
            from fashion_review.cli.train_cmds import _default_run

            _default_run(ds, reference_fallback=True)
        if not args.json:
            plan = f"{plural(args.folds, 'fold')} x {plural(epochs, 'epoch')}"
            what = (f"{plan} of {args.recipe}, averaged with the active model's probabilities if there is one"
                    if args.mode == "cv" else
                    f"heads mode: {plan} of fresh heads on the active model's backbone")
            print(f"finding label issues: {what}; Ctrl+C cancels (nothing is written)", file=sys.stderr)
        task = _task(args.json)
        with _cancel_on_ctrl_c(task):
            try:
                stored = find_label_issues(ds, mode=args.mode, folds=args.folds, epochs=epochs, recipe=args.recipe,
                                           limit=args.limit, seed=args.seed, batch_size=args.batch_size, task=task)
            except Cancelled:
                print("fashion-review: finding label issues cancelled; nothing was written", file=sys.stderr)
                return EXIT_CANCELLED
        summary = {"mode": stored.mode, "label": stored.label, "seconds": stored.meta.get("seconds"),
                   "flagged": {s: int(len(v)) for s, v in stored.initial.items()},
                   "image": {k: v for k, v in stored.meta.get("image", {}).items() if k != "fits"}}
        if args.json:
            json.dump(summary, sys.stdout, indent=2, default=str)
            sys.stdout.write("\n")
        else:
            print(stored.label)
            for s, n in summary["flagged"].items():
                print(f"  {s}: {n:,} products flagged")
            secs = summary["seconds"] or {}
            print("  time: " + ", ".join(f"{k} {v:.0f} s" for k, v in secs.items()))
            print("next: fashion-review issues list --scheme articleType" + (f" --data {args.data}" if args.data else ""))
    finally:
        ds.close()
    return 0


def _rows(q: Any, args: argparse.Namespace) -> list[dict]:
    pair = tuple(args.pair.split("->", 1)) if args.pair else None
    if pair is not None:
        pair = (pair[0].strip(), pair[1].strip())
    e = q.entries(reason=args.reason, kind=args.kind, pair=pair, show_reviewed=args.show_reviewed)
    if args.limit is not None:
        e = e.head(args.limit)
    rows = []
    for rank, (pid, r) in enumerate(e.iterrows(), start=1):
        rows.append({"rank": rank, "id": int(pid), "score": float(f"{float(r['score']):.3g}"), "given": r["given"],
                     "suggestion": r["suggestion"], "suggestions": [s for s in r["suggestions"].split("|") if s],
                     "kind": r["kind"], "signals": [s for s in r["signals"].split(",") if s],
                     "reviewed": bool(r["reviewed"]), "reasons": r["reasons"],
                     "name": r.get("name", "")})
    return rows


def cmd_list(args: argparse.Namespace) -> int:
    from fashion_review.errors import DataError
    from fashion_review.review.queue import KINDS, current_queue, score_text

    if args.reason and args.reason not in KINDS:
        raise DataError(f"unknown reason {args.reason!r}; choose one of {', '.join(KINDS)}")
    ds = open_from_args(args)
    try:
        eff = ds.effective()
        q = current_queue(ds, args.scheme, mode=args.mode, effective=eff, threshold=args.threshold)
        if q is None:
            raise DataError("no label issues found for this data set yet: run `fashion-review issues find"
                            + (f" --data {args.data}" if args.data else "") + "` first")
        names = eff["productDisplayName"] if "productDisplayName" in eff else None
        q.table["name"] = names.reindex(q.table.index).fillna("").to_numpy(dtype=object) if names is not None else ""
        reviewed, total = q.progress()
        if args.pairs:
            pairs = q.pairs()
            if args.limit is not None:
                pairs = pairs.head(args.limit)
            if args.json:
                json.dump({"scheme": args.scheme, "source": q.stored.label,
                           "pairs": pairs.to_dict(orient="records")}, sys.stdout, indent=2, default=float)
                sys.stdout.write("\n")
            elif args.csv_out:
                pairs.to_csv(sys.stdout, index=False)
            else:
                print(f"{args.scheme}: given -> suggested, products in the queue ({q.stored.label})")
                for r in pairs.itertuples():
                    print(f"  {r.count:6,}  {r.given} -> {r.suggested}  (mean score {r.mean_score:.2f})")
            return 0
        rows = _rows(q, args)
        if args.json:
            json.dump({"scheme": args.scheme, "mode": q.stored.mode, "source": q.stored.label,
                       "reviewed": reviewed, "total": total, "entries": rows}, sys.stdout, indent=2)
            sys.stdout.write("\n")
        elif args.csv_out:
            w = csv.DictWriter(sys.stdout, fieldnames=list(LIST_COLUMNS), lineterminator="\n")
            w.writeheader()
            for r in rows:
                w.writerow({**r, "suggestions": "|".join(r["suggestions"]), "signals": ",".join(r["signals"])})
        else:
            print(f"{args.scheme}: {len(q.entries()):,} in the queue, reviewed {reviewed:,} of {total:,}")
            print(f"  probabilities: {q.stored.label}")
            print("  score: 0 = surely a label issue, 1 = nothing against the label")
            for r in rows:
                mark = " (reviewed)" if r["reviewed"] else ""
                print(f"{r['rank']:5}. {r['id']:>6}  {score_text(r['score']):>7}  {r['given']} -> {r['suggestion'] or '?'}"
                      f"  [{r['kind']}]{mark}\n        {r['reasons']}")
    finally:
        ds.close()
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    from fashion_review.data.schemes import SCHEMES
    from fashion_review.review.issues import MODES
    from fashion_review.review.queue import KINDS, THRESHOLD
    from fashion_review.training.crossval import DEFAULT_FOLDS, DEFAULT_RECIPE

    p = sub.add_parser("issues", help="find label issues (cross-validated models + name, hierarchy, duplicate "
                                      "photos) and list the ranked queue",
                       description="`issues find` computes and stores out-of-sample probabilities; `issues list` "
                                   "ranks the products whose labels are in doubt, from them and today's labels.")
    isub = p.add_subparsers(dest="issues_command", metavar="{find,list}")
    p.set_defaults(func=lambda a: (p.print_help(), 0)[1])

    f = isub.add_parser("find", help="compute the out-of-sample probabilities the queue is ranked from",
                        description="Mode cv (default): K-fold cross-validation of a recipe over the effective "
                        "catalog (xception-lite: 4 folds x 8 epochs take 40-100 minutes on a 2-core CPU, by its "
                        "speed), its image probabilities averaged with those of the active model if the catalog has "
                        "one that predicted it. Mode heads: cross-validated fresh heads on the active model's cached "
                        "backbone features (minutes; not fully out of sample where the backbone trained on the labels: "
                        "the result says on how many; a catalog with no model at all gets the reference model, as "
                        "with predict). Also the name model "
                        "of every scheme and the identical photos. Ctrl+C cancels; nothing half-written is kept.")
    add_data_args(f)
    f.add_argument("--mode", choices=MODES, default="cv", help="cv (default) or heads")
    f.add_argument("--folds", type=int, default=DEFAULT_FOLDS, metavar="K", help="folds (default %(default)s)")
    f.add_argument("--epochs", type=int, metavar="N", help="epochs per fold (default: 8 for cv, 6 for heads)")
    f.add_argument("--recipe", default=DEFAULT_RECIPE, help="the recipe cross-validated in mode cv (default %(default)s)")
    f.add_argument("--batch-size", type=int, metavar="N", help="batch size (default: the recipe's)")
    f.add_argument("--limit", type=int, metavar="N", help="the first N trainable products only (smoke runs)")
    f.add_argument("--seed", type=int, default=0)
    f.add_argument("--json", action="store_true", help="no progress bar; print a summary as JSON")
    f.set_defaults(func=cmd_find)

    ls = isub.add_parser("list", help="the ranked label-issue queue of a scheme (instant)",
                         description="The queue from the stored probabilities and the current labels: score (0 = "
                         "surely a label issue), suggestions, reasons in words. --pairs: the 'given -> suggested' "
                         "class pairs carrying most flagged products.")
    # --csv is this command's output format (as --json), so the explicit styles.csv is --styles-csv here.
    ls.add_argument("--data", metavar="DIR", help="data folder with styles.csv and images/ (default: the bundled sample)")
    ls.add_argument("--styles-csv", dest="csv", metavar="FILE", help="an explicit styles.csv (with --images)")
    ls.add_argument("--images", metavar="DIR", help="an explicit images folder")
    ls.add_argument("--skip-malformed", action="store_true", help="drop rows with extra fields, as the paper did")
    ls.add_argument("--scheme", choices=SCHEMES, required=True)
    ls.add_argument("--reason", metavar="R", help=f"only products where this signal fired ({', '.join(KINDS)})")
    ls.add_argument("--kind", choices=("label", "photo"), help="label: a wrong label; photo: maybe a wrong photo")
    ls.add_argument("--pair", metavar="'GIVEN->SUGGESTED'", help="only one class pair, e.g. 'Tops->Tshirts'")
    ls.add_argument("--limit", type=int, metavar="N", help="the first N entries")
    ls.add_argument("--mode", choices=MODES, help="which stored run (default: the newest)")
    ls.add_argument("--threshold", type=float, default=THRESHOLD, help="flag scores up to this (default %(default)s)")
    ls.add_argument("--show-reviewed", action="store_true", help="also the confirmed and corrected products")
    ls.add_argument("--pairs", action="store_true", help="the class-pair table instead of the products")
    out = ls.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true")
    out.add_argument("--csv", dest="csv_out", action="store_true", help="CSV on standard output")
    ls.set_defaults(func=cmd_list)
