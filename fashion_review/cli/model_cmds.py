"""Model commands: ``fashion-review model recipes|summary`` (train, evaluate, predict, models follow).

Layout for adding a command: write ``_add_<command>(sub)`` that adds its parser and sets
``func=_<command>`` (``func(args) -> int`` exit status), append it to :data:`_COMMANDS`, and reuse
the shared options below (``add_recipe_option``, ``add_image_size_option``, ``add_weights_option``).
Keras is imported inside the ``func`` (through :func:`import_keras`), never at module level, so
``fashion-review --help`` stays instant.  Errors the user can fix are raised as
:class:`~fashion_review.errors.ModelError`: the entry point prints them as one line, exit status 2.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any, Callable

from fashion_review.errors import ModelError


# ------------------------------------------------------------------------------- shared options

def add_recipe_option(p: argparse.ArgumentParser) -> None:
    """``--recipe``; when left out, :func:`resolve_recipe` picks the default for this machine."""
    from fashion_review.modeling.recipes import CPU_DEFAULT_RECIPE, GPU_DEFAULT_RECIPE

    p.add_argument("--recipe", default=None, metavar="NAME|FILE",
                   help=f"a recipe in models/ by name, or a recipe file (default: {CPU_DEFAULT_RECIPE} where no GPU "
                        f"is visible, {GPU_DEFAULT_RECIPE} with one; see `fashion-review model recipes`)")


def resolve_recipe(args: argparse.Namespace) -> str:
    """The ``--recipe`` given, or this machine's default (said on stderr, with the reason)."""
    if args.recipe is not None:
        return args.recipe
    from fashion_review.modeling.recipes import default_recipe

    name, why = default_recipe()
    print(f"fashion-review: recipe {name} ({why}; choose another with --recipe)", file=sys.stderr)
    return name


def add_image_size_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--image-size", type=int, metavar="N",
                   help="input size N x N the images are resized to in the model (default: the recipe's; >= 71 "
                        "for Xception; xception-lite takes the native 80 x 60)")


def add_weights_option(p: argparse.ArgumentParser, default: str = "none") -> None:
    p.add_argument("--weights", default=default, metavar="none|imagenet|PATH",
                   help="starting weights of the backbone: none (from scratch), imagenet (Keras' download, "
                        "needs a network once), or a local Keras Xception no-top weights file "
                        f"(e.g. xception_weights_tf_dim_ordering_tf_kernels_notop.h5) (default: {default})")


def add_scheme_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--scheme", metavar="SCHEME",
                   help="the label scheme of a single-scheme model (gender_master, subCategory, articleType, ...)")


def import_keras() -> Any:
    """Import Keras for a command (TensorFlow's C++ start-up chatter silenced)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras

    return keras


def parse_classes(values: list[str] | None, recipe: Any, scheme: str | None) -> dict[str, int]:
    """Class counts per scheme from ``--classes`` (``N`` for ``--scheme``, or ``SCHEME=N``).

    Schemes not given default to the paper's filtered counts.
    """
    from fashion_review.modeling.factory import PAPER_CLASS_COUNTS

    wanted = recipe.heads_for(scheme)
    given: dict[str, int] = {}
    for item in values or []:
        name, sep, number = item.rpartition("=")
        if not sep:
            if len(wanted) != 1:
                raise ModelError(f"--classes {item}: name the head, e.g. --classes {wanted[0]}={item}")
            name = wanted[0]
        if name not in wanted:
            raise ModelError(f"--classes {item}: {name!r} is not a scheme of this model ({', '.join(wanted)})")
        try:
            given[name] = int(number)
        except ValueError:
            raise ModelError(f"--classes {item}: {number!r} is not a number") from None
    counts = {}
    for name in wanted:
        if name in given:
            counts[name] = given[name]
        elif name in PAPER_CLASS_COUNTS:
            counts[name] = PAPER_CLASS_COUNTS[name]
        else:
            raise ModelError(f"no default class count for scheme {name!r}: pass --classes N")
    return counts


# ------------------------------------------------------------------------------ fashion-review model

def _add_model(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("model", help="model recipes and architectures",
                       description="Inspect the model recipes (models/*.toml) and the models they build.")
    msub = p.add_subparsers(dest="model_command", metavar="SUBCOMMAND", required=True)

    r = msub.add_parser("recipes", help="list the recipes", description="List the recipes in models/.")
    r.add_argument("--json", action="store_true", help="print the recipes as JSON")
    r.set_defaults(func=_model_recipes)

    s = msub.add_parser("summary", help="build a recipe's model and print its layers and parameter counts",
                        description="Build a recipe's model (no data needed, random weights) and print Keras' "
                                    "summary and its parameter counts.")
    add_recipe_option(s)
    add_scheme_option(s)
    s.add_argument("--classes", action="append", metavar="N|SCHEME=N",
                   help="number of classes of the scheme's output (repeat SCHEME=N for a multihead model); "
                        "default: the paper's filtered counts, gender_master 12, subCategory 15, articleType 23")
    add_image_size_option(s)
    s.add_argument("--json", action="store_true",
                   help='print only {"total_params", "trainable_params", "non_trainable_params"} as JSON')
    s.set_defaults(func=_model_summary)


def _model_recipes(args: argparse.Namespace) -> int:
    from fashion_review.modeling.recipes import list_recipes, load_recipe

    recipes = [load_recipe(name) for name in list_recipes()]
    if args.json:
        print(json.dumps([r.to_dict() for r in recipes], indent=2))
        return 0
    for r in recipes:
        first = r.description.split(". ")[0].rstrip(".")
        print(f"{r.name:24} {r.kind:9} {r.size_label:<16}  {', '.join(r.schemes)}")
        if first:
            print(f"{'':24} {first}.")
    return 0


def _model_summary(args: argparse.Namespace) -> int:
    from fashion_review.modeling.recipes import load_recipe

    recipe = load_recipe(resolve_recipe(args))
    classes = parse_classes(args.classes, recipe, args.scheme)
    import_keras()
    from fashion_review.modeling.factory import make_model, parameter_counts

    model = make_model(recipe, classes, image_size=args.image_size)
    counts = parameter_counts(model)
    if args.json:
        print(json.dumps(counts))
        return 0
    model.summary()
    heads = ", ".join(f"{k} {v}" for k, v in classes.items())
    size = recipe.replace(image_size=args.image_size).size_label if args.image_size else recipe.size_label
    print(f"{recipe.name}: {heads} classes at {size}")
    print(f"Total params: {counts['total_params']:,}")
    print(f"Trainable params: {counts['trainable_params']:,}")
    print(f"Non-trainable params: {counts['non_trainable_params']:,}")
    sys.stdout.flush()
    return 0


#: Every command this module adds, in the order ``--help`` lists them.
_COMMANDS: list[Callable[[argparse._SubParsersAction], None]] = [_add_model]


def register(sub: argparse._SubParsersAction) -> None:
    """Add this module's commands to the ``fashion-review`` parser."""
    for add in _COMMANDS:
        add(sub)
