"""Review commands: ``similar`` (nearest products by a model's embeddings), ``duplicates`` (exact and
near-identical photos, split hygiene) and ``palettes`` (three-colour palettes against baseColour).

Numpy, pandas and scikit-learn only: no Keras (the vectors come from ``predict``'s files).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from fashion_review.cli.data_cmds import add_data_args, open_from_args
from fashion_review.errors import FashionReviewError


def _print_json(obj: Any) -> None:
    json.dump(obj, sys.stdout, indent=2, default=str)
    sys.stdout.write("\n")


def _task(quiet: bool):  # noqa: ANN202
    from fashion_review.tasks import ConsoleProgress, Task

    return Task(None if quiet else ConsoleProgress())


def _run(ds, run_arg: str | None):  # noqa: ANN001, ANN202
    from fashion_review.training import registry

    run = registry.get_run(run_arg, ds.fingerprint) if run_arg else registry.active_run(ds.fingerprint)
    if run is None:
        raise FashionReviewError("no active model for this data set: train one (fashion-review train --activate) "
                                 "or pass --run RUN")
    return run


# ------------------------------------------------------------------------------------ similar

def cmd_similar(args: argparse.Namespace) -> int:
    from fashion_review.review.similar import build_index, similar_table

    ds = open_from_args(args)
    try:
        if args.id not in ds.catalog.df.index:
            raise FashionReviewError(f"no product {args.id} in {ds.catalog.csv_path}")
        run = _run(ds, args.run)
        index = build_index(ds, run, args.layer, names=not args.look_only)
        if args.id not in index:
            raise FashionReviewError(f"product {args.id} has no embedding in run {run.id} (no image, or predicted "
                                     f"before it was added: run fashion-review predict --run {run.id})")
        table = similar_table(index, args.id, args.k, ds.catalog.df, same_gender=args.same_gender)
        me = ds.catalog.df.loc[args.id]
    finally:
        ds.close()
    if args.json:
        _print_json({"id": args.id, "run": run.id, "vectors": index.source, "k": args.k,
                     "same_gender": args.same_gender, "neighbours": table.to_dict(orient="records")})
        return 0
    print(f"{args.id}  {me.get('productDisplayName', '')}  ({me.get('gender', '')}, {me.get('articleType', '')}, "
          f"{me.get('baseColour', '')})")
    print(f"nearest by {index.source}{', same gender' if args.same_gender else ''}:")
    for r in table.itertuples(index=False):
        print(f"{r.rank:>3}  {r.id:>6}  {r.similarity:6.3f}  {r.gender:<7} {r.articleType:<16} {r.baseColour:<10} {r.name}")
    return 0


# --------------------------------------------------------------------------------- duplicates

def cmd_duplicates(args: argparse.Namespace) -> int:
    from fashion_review.review import duplicates as dup
    from fashion_review.training import registry

    ds = open_from_args(args)
    try:
        task = _task(args.json)
        run = registry.active_run(ds.fingerprint)
        emb = None
        if run is not None and not args.no_model:
            from fashion_review.review.similar import NoEmbeddings, load_vectors

            try:
                emb = load_vectors(run, ds.home)
            except NoEmbeddings:
                emb = None
        found = dup.find_duplicates(ds, emb, task=task)
        summary = found.summary()
        eff = ds.effective()
        labels = {s: ds.labels(s, eff) for s in ("gender_master", "subCategory", "articleType", "baseColour")}
        issues = dup.label_disagreements(found.exact, labels)
        summary["exact_groups_with_disagreeing_labels"] = {
            s: int(issues[issues["scheme"] == s]["group"].nunique()) for s in labels}
        leaks = {}
        if run is not None and run.split_path.is_file():
            leak = dup.twin_leaks(registry.read_split(run), found.exact)
            leaks = {"run": run.id, "test_products": int(len(leak)), "with_an_identical_training_twin": int(leak.sum())}
        summary["split_hygiene"] = leaks
        table = found.table()
    finally:
        ds.close()
    if args.json:
        out = dict(summary)
        out["groups"] = [{"group": int(g), "ids": [int(i) for i in m.index],
                          "exact": [int(i) for i in m.index if table.at[i, "exact_group"] >= 0]}
                         for g, m in table.groupby("near_group") if g >= 0]
        _print_json(out)
        return 0
    e, n = summary["exact"], summary["near"]
    print(f"exact duplicates: {e['groups']:,} groups, {e['products']:,} products, {e['extra_copies']:,} extra copies")
    print(f"near duplicates (exact included): {n['groups']:,} groups, {n['products']:,} products, "
          f"{n['extra_copies']:,} extra copies; pHash within {summary['radius']} bits, confirmed by the pixels"
          + (f" and by {summary['confirmed_by']} (cosine >= {summary['min_similarity']})" if summary["confirmed_by"] else ""))
    print("exact groups whose labels disagree: " + ", ".join(
        f"{s} {c}" for s, c in summary["exact_groups_with_disagreeing_labels"].items()))
    if leaks:
        print(f"split of {leaks['run']}: {leaks['with_an_identical_training_twin']:,} of {leaks['test_products']:,} "
              "test products have an identical photo in its training part")
    if args.list:
        for g, m in table.groupby("near_group"):
            if g >= 0:
                print(f"group {g}: " + " ".join(f"{i}{'=' if table.at[i, 'exact_group'] >= 0 else '~'}" for i in m.index))
    return 0


# ----------------------------------------------------------------------------------- palettes

def cmd_palettes(args: argparse.Namespace) -> int:
    from fashion_review.review import colour

    ds = open_from_args(args)
    try:
        pal = colour.ensure_palettes(ds, _task(args.json))
        table = colour.colour_suggestions(pal, ds.labels("baseColour"))
    finally:
        ds.close()
    if args.id is not None:
        table = table[table["id"] == args.id]
        if table.empty:
            raise FashionReviewError(f"product {args.id} has no palette (no readable image, or no baseColour)")
    elif args.disagree:
        table = table[table["is_colour_issue"]]
    if args.json:
        _print_json({"palettes": int(len(pal.ids)), "seconds": pal.meta.get("seconds"),
                     "disagree": int(table["is_colour_issue"].sum()), "products": table.to_dict(orient="records")})
        return 0
    print(f"{len(pal.ids):,} palettes ({pal.meta.get('images_per_s', '?')} images/s when computed); "
          f"{int(table['is_colour_issue'].sum()):,} of {len(table):,} listed disagree with baseColour")
    for r in table.head(args.limit).itertuples(index=False):
        mark = "!" if r.is_colour_issue else " "
        print(f"{mark} {r.id:>6}  {str(r.label):<14} suggested {r.suggested:<14} {r.palette}")
    if len(table) > args.limit:
        print(f"... {len(table) - args.limit:,} more (--limit N, --json)")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("similar", help="the products most like one product (a model's embeddings)")
    p.add_argument("id", type=int, help="product id")
    add_data_args(p)
    p.add_argument("--k", type=int, default=10, help="how many (default 10)")
    p.add_argument("--same-gender", action="store_true", help="only products of the same gender")
    p.add_argument("--run", help="the model (default: the data set's active run)")
    p.add_argument("--layer", default="pooled", help="pooled (default), heads, head:<scheme>")
    p.add_argument("--look-only", action="store_true",
                   help="the photo's look alone (default: the look and the product name)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_similar)

    p = sub.add_parser("duplicates", help="exact and near-identical photos; test products with a training twin")
    add_data_args(p)
    p.add_argument("--list", action="store_true", help="print every group (= exact twin, ~ near)")
    p.add_argument("--no-model", action="store_true", help="confirm near pairs by their pixels only")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_duplicates)

    p = sub.add_parser("palettes", help="three-colour palettes and where they disagree with baseColour")
    add_data_args(p)
    p.add_argument("--id", type=int, help="one product")
    p.add_argument("--disagree", action="store_true", help="only products whose palette disagrees with baseColour")
    p.add_argument("--limit", type=int, default=30, help="rows printed (default 30)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_palettes)
