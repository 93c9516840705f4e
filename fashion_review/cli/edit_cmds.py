"""The curator's commands: ``correct``, ``confirm``, ``undo``, ``redo``, ``conflicts``, ``resolve``.

What the app's keys do, from the command line (the rules are :mod:`fashion_review.review.editing`):
each command is one batch in the corrections store, with the old values it saw; a value that
changed underneath (another window) refuses the batch with a message.  ``undo`` / ``redo`` reach
this command's batches and those of sessions that have ended, never a window still open on the
data set (``--any`` asks otherwise).  No Keras, no Qt.
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from typing import Any

from fashion_review.cli.data_cmds import add_data_args, open_from_args


def default_author() -> str:
    try:
        return getpass.getuser() or "curator"
    except Exception:  # noqa: BLE001 - no user name on this system
        return "curator"


def _print_json(obj: Any) -> None:
    json.dump(obj, sys.stdout, indent=2, default=str)
    sys.stdout.write("\n")


def _describe(changes: list) -> str:
    fields = sorted({c.field for c in changes})
    values = sorted({c.new_value for c in changes})
    products = len({c.product_id for c in changes})
    what = f"{', '.join(fields)} -> {', '.join(repr(v) for v in values[:3])}{' ...' if len(values) > 3 else ''}"
    return f"{len(changes)} change(s) on {products} product(s): {what}"


def _record(args: argparse.Namespace, ds: Any, changes: list, note: str) -> int:
    if not changes:
        print("nothing to change: the values are already so")
        return 0
    source = "bulk" if len({c.product_id for c in changes}) > 1 else "curator"
    batch = ds.store.record(changes, author=args.author, source=source, note=args.note or note)
    if args.json:
        _print_json({"batch": batch, "changes": [c.__dict__ for c in changes]})
    else:
        print(f"batch {batch}: {_describe(changes)} (by {args.author}; `fashion-review undo` undoes it)")
    return 0


def cmd_correct(args: argparse.Namespace) -> int:
    from fashion_review.errors import DataError
    from fashion_review.review import editing

    ds = open_from_args(args)
    try:
        eff = ds.effective()
        if args.exclude or args.include:
            changes = editing.exclusion_changes(eff, args.ids, excluded=bool(args.exclude))
            note = "exclude from training" if args.exclude else "include in training"
        else:
            if not args.scheme or args.label is None:
                raise DataError("say what to change: --scheme S --label L, or --exclude / --include")
            changes = editing.label_changes(eff, args.ids, args.scheme, args.label)
            note = f"{args.scheme} = {args.label}"
        return _record(args, ds, changes, note)
    finally:
        ds.close()


def cmd_confirm(args: argparse.Namespace) -> int:
    from fashion_review.review import editing

    ds = open_from_args(args)
    try:
        changes = editing.confirm_changes(ds.effective(), args.ids, args.scheme, ds.store.effective())
        return _record(args, ds, changes, f"{args.scheme} label confirmed")
    finally:
        ds.close()


def cmd_undo_redo(args: argparse.Namespace) -> int:
    undo = args.command == "undo"
    ds = open_from_args(args)
    try:
        store = ds.store
        scope = "any" if args.any else "session"
        batch = store.undo(scope=scope) if undo else store.redo(scope=scope)
        if batch is None:
            others = store.can_undo("any") if undo else store.can_redo("any")
            carried = undo and any(b["carried_from"] and b["state"] == "active" for b in store.batches())
            hint = (" (only batches of a window still open on this data set: --any reaches them)" if others else
                    " (the corrections made before styles.csv last changed stay: correct the labels again to "
                    "change them)" if carried else "")
            print(f"nothing to {args.command}{hint}")
            return 1
        changes = [c for c in store.history() if c.batch_id == batch]
        info = next(b for b in store.batches() if b["id"] == batch)
    finally:
        ds.close()
    if args.json:
        _print_json({"batch": batch, "action": args.command, "author": info["author"], "note": info["note"],
                     "changes": len(changes)})
    else:
        verb = "undid" if undo else "redid"
        print(f"{verb} batch {batch} ({info['author']}, {info['note'] or info['source']}): {len(changes)} change(s)")
    return 0


def cmd_conflicts(args: argparse.Namespace) -> int:
    ds = open_from_args(args)
    try:
        rows = ds.store.conflicts()
        lineage = ds.store.lineage()
    finally:
        ds.close()
    if args.json:
        _print_json({"carried_from": [x["fingerprint"] for x in lineage], "conflicts": rows})
        return 0
    if not rows:
        print("no conflicts with the edited styles.csv" + ("" if lineage else " (no earlier version carried over)"))
        return 0
    print(f"{len(rows)} correction(s) of a field the edited styles.csv changed to another value "
          "(the curator's value is in force until resolved):")
    for r in rows:
        print(f"  id {r['product_id']} {r['field']}: corrected to {r['corrected_value']!r}, the file now says "
              f"{r['file_value']!r}")
    print("resolve: fashion-review resolve ID FIELD --keep mine|file   (or --all --keep mine|file)")
    return 1


def cmd_resolve(args: argparse.Namespace) -> int:
    from fashion_review.errors import DataError

    ds = open_from_args(args)
    try:
        store = ds.store
        if args.all:
            targets = [(int(r["product_id"]), str(r["field"])) for r in store.conflicts()]
        elif args.id is not None and args.field:
            targets = [(args.id, args.field)]
        else:
            raise DataError("name the conflict (ID FIELD) or pass --all")
        done = []
        for pid, fld in targets:
            done.append((pid, fld, store.resolve(pid, fld, args.keep, author=args.author)))
    finally:
        ds.close()
    for pid, fld, batch in done:
        how = f"the file's value (batch {batch})" if batch is not None else "the curator's value"
        print(f"id {pid} {fld}: kept {how}")
    if not done:
        print("no conflicts to resolve")
    return 0


def _common(p: argparse.ArgumentParser) -> None:
    add_data_args(p)
    p.add_argument("--author", default=default_author(), help="who makes the change (default: your user name)")
    p.add_argument("--json", action="store_true")


def register(sub: argparse._SubParsersAction) -> None:
    from fashion_review.data.schemes import SCHEMES

    p = sub.add_parser("correct", help="relabel products under a scheme, or exclude / include them (one batch)",
                       description="Record one batch of corrections, as the app's keys do: give products a label "
                       "under a scheme (gender_master sets gender and masterCategory), or exclude them from "
                       "training / include them again.")
    p.add_argument("ids", nargs="+", type=int, metavar="ID", help="product ids")
    p.add_argument("--scheme", choices=SCHEMES)
    p.add_argument("--label", help="the new label (e.g. Tshirts, 'Men Apparel')")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--exclude", action="store_true", help="exclude from training")
    g.add_argument("--include", action="store_true", help="include in training again")
    p.add_argument("--note", help="a note kept with the batch")
    _common(p)
    p.set_defaults(func=cmd_correct)

    p = sub.add_parser("confirm", help="confirm products' current label under a scheme (the label is right)")
    p.add_argument("ids", nargs="+", type=int, metavar="ID")
    p.add_argument("--scheme", choices=SCHEMES, required=True)
    p.add_argument("--note")
    _common(p)
    p.set_defaults(func=cmd_confirm)

    for name, what in (("undo", "undo the latest batch of corrections"), ("redo", "redo the latest undone batch")):
        p = sub.add_parser(name, help=f"{what} (not a window's still open on the data set, unless --any)")
        p.add_argument("--any", action="store_true", help="whoever made it, even a window still open")
        _common(p)
        p.set_defaults(func=cmd_undo_redo)

    p = sub.add_parser("conflicts", help="corrections of fields the edited styles.csv changed to another value")
    _common(p)
    p.set_defaults(func=cmd_conflicts)

    p = sub.add_parser("resolve", help="resolve a conflict with the edited styles.csv: keep mine or the file's")
    p.add_argument("id", nargs="?", type=int, metavar="ID")
    p.add_argument("field", nargs="?", metavar="FIELD")
    p.add_argument("--all", action="store_true", help="every open conflict")
    p.add_argument("--keep", choices=("mine", "file"), required=True)
    _common(p)
    p.set_defaults(func=cmd_resolve)
