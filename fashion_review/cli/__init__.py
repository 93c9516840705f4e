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
    "fashion_review.cli.review_cmds",
    "fashion_review.cli.issue_cmds",
    "fashion_review.cli.edit_cmds",
    "fashion_review.cli.heads_cmds",
    "fashion_review.cli.gui_cmds",
)


def describe_os_error(exc: OSError) -> str:
    """``PATH: reason`` for an OSError (``[Errno 30] Read-only file system: '/x'`` -> ``/x: read-only file system``)."""
    reason = exc.strerror or str(exc) or type(exc).__name__
    reason = reason[:1].lower() + reason[1:]
    where = exc.filename if exc.filename is not None else ""
    return f"{where}: {reason}" if where else reason


def build_parser() -> argparse.ArgumentParser:
    import importlib

    parser = argparse.ArgumentParser(
        prog="fashion-review",
        description="Review and correct the labels of a fashion catalog with Xception classifiers. "
        "With no subcommand, opens the app: `fashion-review --data DIR` is `fashion-review gui --data DIR`.",
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


#: Options of the top-level parser that take a value (``--home DIR``).
_TOP_VALUE_OPTIONS = ("--home",)


def with_default_command(argv: Sequence[str], commands: Sequence[str], default: str = "gui") -> list[str]:
    """``argv`` with ``default`` inserted where the subcommand would be, when none is given.

    ``fashion-review --data DIR`` is ``fashion-review gui --data DIR``: the first word after the
    top-level options (``--home DIR``, ``--version``, ``-h``) is the subcommand if it names one;
    an option there (or nothing at all) means the app.  A word that names no command is left for
    argparse to reject ("invalid choice").
    """
    argv = list(argv)
    i = 0
    while i < len(argv):
        a = argv[i]
        if a in ("-h", "--help", "--version"):
            return argv
        if a in _TOP_VALUE_OPTIONS:
            i += 2
            continue
        if any(a.startswith(o + "=") for o in _TOP_VALUE_OPTIONS):
            i += 1
            continue
        if a in commands or not a.startswith("-"):
            return argv
        break  # an option of the default command
    return [*argv[:i], default, *argv[i:]]


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    if parser.get_default("_has_gui"):
        argv = with_default_command(argv, list(sub.choices))
    args = parser.parse_args(argv)
    if args.home:
        from fashion_review.paths import set_home

        set_home(args.home)
    if getattr(args, "func", None) is None:  # no subcommand, and no app in this build
        print("fashion-review: the app is not available in this build; see `fashion-review --help`.",
              file=sys.stderr)
        return 2
    func = args.func
    try:
        return int(func(args) or 0)
    except FashionReviewError as exc:
        print(f"fashion-review: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # output piped into `head` and the like
        return 0
    except OSError as exc:  # a file the user named cannot be read or written: one line, not a traceback
        print(f"fashion-review: error: {describe_os_error(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("fashion-review: interrupted", file=sys.stderr)
        return 130
