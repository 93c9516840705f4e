"""The ``fashion-review`` command: one entry point, with subcommands.

Each area registers its own subcommands (``data_cmds``, ``model_cmds``, ``gui_cmds``) and imports
its heavy dependencies (pandas, Keras, Qt) only when its command runs, so ``--help`` is instant.
"""

from __future__ import annotations

import argparse
import sys
from typing import Sequence

from fashion_review import __version__
from fashion_review.errors import FashionReviewError

_AREAS = (
    "fashion_review.cli.data_cmds",
    "fashion_review.cli.model_cmds",
    "fashion_review.cli.train_cmds",
    "fashion_review.cli.edit_cmds",
    "fashion_review.cli.heads_cmds",
    "fashion_review.cli.gui_cmds",
)


def build_parser() -> argparse.ArgumentParser:
    import importlib

    parser = argparse.ArgumentParser(
        prog="fashion-review",
        description="Review and correct the labels of a fashion catalog with Xception classifiers. "
        "With no subcommand, opens the app.",
    )
    parser.add_argument("--version", action="version", version=f"fashion-review {__version__}")
    parser.add_argument(
        "--home",
        metavar="DIR",
        help="folder for corrections, splits, caches and models "
        "(default: $FASHION_REVIEW_HOME, else the user data folder)",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in _AREAS:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:  # an area not written yet
            if exc.name != name:
                raise
            continue
        module.register(sub)
    _add_home_everywhere(sub)
    parser.set_defaults(_has_gui="gui" in sub.choices)
    return parser


def _add_home_everywhere(sub) -> None:
    """Accept ``--home`` after the subcommand too (``fashion-review stats --home DIR``)."""
    for p in sub.choices.values():
        if not any("--home" in a.option_strings for a in p._actions):
            p.add_argument("--home", metavar="DIR", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
        for a in p._actions:
            if isinstance(a, argparse._SubParsersAction):
                _add_home_everywhere(a)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.home:
        from fashion_review.paths import set_home

        set_home(args.home)
    if getattr(args, "func", None) is None:  # no subcommand: open the app
        if not args._has_gui:
            print("fashion-review: the app is not available in this build; see `fashion-review --help`.",
                  file=sys.stderr)
            return 2
        args = parser.parse_args([*(sys.argv[1:] if argv is None else argv), "gui"])
    func = args.func
    try:
        return int(func(args) or 0)
    except FashionReviewError as exc:
        print(f"fashion-review: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # output piped into `head` and the like
        return 0
    except KeyboardInterrupt:
        print("fashion-review: interrupted", file=sys.stderr)
        return 130
