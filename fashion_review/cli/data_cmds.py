"""Subcommands over the catalog: stats, check, validate, split, export, corrections."""

from __future__ import annotations

import argparse
import json
import sys

from fashion_review.paths import SAMPLE_CATALOG
from fashion_review.text import plural


def add_data_args(p: argparse.ArgumentParser, *, skip: bool = True) -> None:
    """The options that say which data set to read (shared by every command that reads one)."""
    p.add_argument("--data", metavar="DIR", help="data folder with styles.csv and images/ "
                   "(default: the bundled sample catalog)")
    p.add_argument("--csv", metavar="FILE", help="an explicit styles.csv (with --images)")
    p.add_argument("--images", metavar="DIR", help="an explicit images folder")
    if skip:
        p.add_argument("--skip-malformed", action="store_true",
                       help="drop rows with extra fields, as the paper did (default: recover them)")


def data_kwargs(args: argparse.Namespace) -> dict:
    data = args.data
    if data is None and args.csv is None:
        data = SAMPLE_CATALOG
    return {"data": data, "csv_path": args.csv, "images_dir": args.images,
            "skip_malformed": getattr(args, "skip_malformed", False)}


def open_from_args(args: argparse.Namespace):
    """The data set the options name; DataError when its catalog has no product at all."""
    from fashion_review.data.dataset import open_dataset
    from fashion_review.errors import DataError

    ds = open_dataset(**data_kwargs(args))
    empty = ds.catalog.no_products_message()
    if empty:
        ds.close()
        raise DataError(empty)
    return ds


def _print_json(obj) -> None:
    json.dump(obj, sys.stdout, indent=2, sort_keys=False)
    sys.stdout.write("\n")


def cmd_stats(args) -> int:
    ds = open_from_args(args)
    try:
        stats = ds.stats(args.min_images)
        min_images = ds.default_min_images if args.min_images is None else args.min_images
    finally:
        ds.close()
    if args.json:
        _print_json(stats)
        return 0
    print(ds.catalog.report.summary(per_kind=3), file=sys.stderr)
    print(f"rows: {stats['rows']}  malformed rows: {stats['malformed_rows']}  duplicate ids: "
          f"{stats['duplicate_ids']}  with image: {stats['with_image']}  missing image: {stats['missing_image']}")
    print(f"{'scheme':<15}{'classes before':>16}{'classes after':>15}{'images after':>14}   (min {min_images} images)")
    for name, s in stats["schemes"].items():
        print(f"{name:<15}{s['classes_before']:>16}{s['classes_after']:>15}{s['images_after']:>14}")
    return 0


def cmd_check(args) -> int:
    from fashion_review.data.catalog import load_catalog

    cat = load_catalog(**data_kwargs(args))
    empty = cat.no_products_message()
    if args.json:
        _print_json({"rows": len(cat), "counts": cat.report.counts(),
                     "problems": [p.__dict__ for p in cat.report.problems]})
    else:
        print(cat.report.summary(per_kind=args.show))
    if empty:
        print(f"fashion-review: {empty}", file=sys.stderr)
        return 1
    return 0


def cmd_split(args) -> int:
    ds = open_from_args(args)
    try:
        labels = ds.usable(args.scheme, args.min_images)
        parts = ds.split(args.scheme, args.min_images)
        args.min_images = ds.default_min_images if args.min_images is None else args.min_images
        path = ds.split_path(args.scheme, args.min_images)
    finally:
        ds.close()
    table = (labels.to_frame("label").join(parts).groupby(["label", "part"]).size()
             .unstack("part", fill_value=0).reindex(columns=["train", "val", "test"], fill_value=0))
    totals = {p: int(table[p].sum()) for p in table.columns}
    if args.json:
        _print_json({"scheme": args.scheme, "min_images": args.min_images, "stored_in": str(path),
                     "totals": totals,
                     "classes": {c: {p: int(v) for p, v in row.items()} for c, row in table.iterrows()}})
        return 0
    print(f"{args.scheme}: {plural(len(table), 'class')}, split stored in {path}")
    print(f"{'class':<32}{'train':>8}{'val':>8}{'test':>8}")
    for c, row in table.iterrows():
        print(f"{c:<32}{row['train']:>8}{row['val']:>8}{row['test']:>8}")
    print(f"{'total':<32}{totals['train']:>8}{totals['val']:>8}{totals['test']:>8}")
    return 0


def cmd_validate(args) -> int:
    from fashion_review.data.catalog import load_catalog
    from fashion_review.data.images import validate_images
    from fashion_review.tasks import ConsoleProgress, Task

    cat = load_catalog(**data_kwargs(args))
    ids = cat.df.index[cat.df["has_image"].to_numpy()]
    task = Task(ConsoleProgress() if not args.json else None)
    res = validate_images(ids, cat.images_dir, task=task, workers=args.workers)
    problems = [{"id": int(p.id), "path": str(p.path), "status": p.status, "reason": p.reason} for p in res.problems]
    if args.json:
        _print_json({"checked": len(ids), "counts": res.counts, "images_per_s": round(res.images_per_s, 1),
                     "missing_image": cat.report.count("missing_image"), "problems": problems})
    else:
        n_missing = cat.report.count("missing_image")
        print(f"checked {plural(len(ids), 'image')} in {res.elapsed:.2f} s ({res.images_per_s:,.0f} images/s); "
              f"{plural(n_missing, 'product')} {'has' if n_missing == 1 else 'have'} no image file")
        for status, n in sorted(res.counts.items()):
            print(f"  {status}: {n}")
        for p in problems:
            print(f"  {p['reason']}")
    return 1 if problems else 0


def cmd_export(args) -> int:
    from fashion_review.data.export import export_catalog

    ds = open_from_args(args)
    try:
        n = export_catalog(ds, args.out, drop_excluded=args.drop_excluded)
        k = ds.store.count()
        skipped = len(ds.catalog.skipped_rows)
    finally:
        ds.close()
    kept = f"; {plural(skipped, 'row')} the reader skipped kept verbatim" if skipped else ""
    print(f"wrote {plural(n, 'product')} with {plural(k, 'correction')} applied to {args.out}{kept}")
    return 0


def cmd_corrections(args) -> int:
    ds = open_from_args(args)
    try:
        history = ds.store.history()
        carried = {(c["product_id"], c["field"]): c for c in ds.store.carried()}
        carried_batches = {b["id"] for b in ds.store.batches() if b["carried_from"]}
        open_conflicts = len(ds.store.conflicts())
    finally:
        ds.close()
    if carried and not args.json:
        print(f"carried over from an earlier version of the styles.csv: {len(carried)} corrected field(s)"
              + (f", {open_conflicts} conflict(s) to resolve (`fashion-review conflicts`)" if open_conflicts else ""),
              file=sys.stderr)
    rows = [
        {"seq": c.seq, "batch": c.batch_id, "id": c.product_id, "field": c.field, "old": c.old_value,
         "new": c.new_value, "author": c.author, "source": c.source, "model_version": c.model_version,
         "note": c.note, "time": c.created_at, "active": c.active,
         "carried": carried[(c.product_id, c.field)]["state"]
         if c.batch_id in carried_batches and (c.product_id, c.field) in carried else None}
        for c in history
    ]
    if args.json:
        _print_json(rows)
        return 0
    if not rows:
        print("no corrections yet")
    for r in rows:
        state = "" if r["active"] else "  (undone)"
        by = r["author"] + (f" via {r['source']}" if r["source"] != "curator" else "")
        if r["model_version"]:
            by += f" [{r['model_version']}]"
        note = f"  - {r['note']}" if r["note"] else ""
        print(f"#{r['seq']:<5} {r['time']}  id {r['id']}: {r['field']} {r['old']!r} -> {r['new']!r}  by {by}{note}{state}")
    return 0


def register(sub) -> None:
    from fashion_review.data.schemes import DEFAULT_MIN_IMAGES, SCHEMES

    p = sub.add_parser("stats", help="count rows, images and classes per scheme before/after the class filter")
    add_data_args(p)
    p.add_argument("--min-images", type=int, default=None, metavar="N",
                   help=f"drop classes with fewer than N products with an image (default: the data "
                   f"set's fashion-review.toml, else {DEFAULT_MIN_IMAGES})")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_stats)

    p = sub.add_parser("check", help="read the catalog and list every defect found, with its line")
    add_data_args(p)
    p.add_argument("--show", type=int, default=20, metavar="N", help="messages shown per kind (default %(default)s)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("validate", help="decode every image and report unreadable, truncated, non-RGB or odd-sized ones")
    add_data_args(p)
    p.add_argument("--workers", type=int, default=None, metavar="N", help="processes (default: all cores)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("split", help="the stored train/val/test split of a scheme, counted per class")
    add_data_args(p)
    p.add_argument("--scheme", required=True, choices=SCHEMES)
    p.add_argument("--min-images", type=int, default=None, metavar="N",
                   help=f"class filter (default: the data set's setting, else {DEFAULT_MIN_IMAGES})")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_split)

    p = sub.add_parser("export", help="write the corrected styles.csv (atomically, spreadsheet-safe)")
    add_data_args(p)
    p.add_argument("--out", required=True, metavar="FILE")
    p.add_argument("--drop-excluded", action="store_true", help="leave out products excluded from training")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("corrections", help="list the history of curators' corrections")
    add_data_args(p)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_corrections)
