"""The ``gui`` subcommand (also what ``fashion-review`` with no subcommand runs).

Qt is imported only when the command runs, so ``fashion-review --help`` stays instant.
"""

from __future__ import annotations

import argparse

VIEWS = ("grid", "table", "confusion", "issues")


def cmd_gui(args: argparse.Namespace) -> int:
    from fashion_review.gui.app import run

    if args.json and not args.screenshot:
        from fashion_review.errors import FashionReviewError

        raise FashionReviewError("--json reports what a --screenshot run showed; add --screenshot FILE.png")
    return run(data=args.data, screenshot=args.screenshot, view=args.view, report_json=args.json)


def register(sub) -> None:  # noqa: ANN001 - argparse's subparsers action
    p = sub.add_parser("gui", help="open the review app (the default command)",
                       description="Open the review app on a data set (default: the last one opened, "
                                   "else the bundled sample catalog).")
    p.add_argument("--data", metavar="DIR", help="data folder with styles.csv and images/")
    p.add_argument("--screenshot", metavar="FILE.png",
                   help="run offscreen, wait until the catalog (and cached predictions) and the thumbnails "
                        "on screen are shown, save the window to FILE.png and exit")
    p.add_argument("--view", choices=VIEWS, help="the view to show (default: the one used last)")
    p.add_argument("--json", action="store_true",
                   help="with --screenshot: print what was shown (data set, products, the model whose predictions "
                        "are shown) as one JSON line")
    p.set_defaults(func=cmd_gui)
