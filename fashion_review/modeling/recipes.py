"""Model recipes: one TOML file per recipe in ``models/``, validated into a frozen :class:`Recipe`.

A recipe says what to build (backbone, input size, head) and how to train it (loss, optimizer,
learning rate, batch size, epochs, schemes, augmentation, precision).  Nothing here imports Keras,
so listing and validating recipes is instant.  Every validation error is a
:class:`~fashion_review.errors.ModelError` naming the file and the key.
"""

from __future__ import annotations

import dataclasses
import math
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from fashion_review.errors import ModelError
from fashion_review.paths import RECIPES_DIR

BACKBONES = ("xception",)
KINDS = ("single", "multihead")
LOSSES = ("categorical_crossentropy", "sparse_categorical_crossentropy")
OPTIMIZERS = ("adam",)
AUGMENTATIONS = ("horizontal_flip",)
PRECISIONS = ("auto", "off")
POOLINGS = ("flatten", "avg")
#: Xception's smallest input (``keras.applications.Xception`` refuses anything below).
MIN_IMAGE_SIZE = 71

_TOP_KEYS = (
    "name", "description", "kind", "backbone", "image_size", "schemes", "augmentation", "loss",
    "optimizer", "learning_rate", "batch_size", "epochs", "mixed_precision", "head",
)
_HEAD_KEYS = ("pooling", "units", "dropout")


@dataclass(frozen=True)
class Head:
    """The classifier head on top of the backbone (one per scheme in a multihead model).

    ``pooling`` turns the backbone's feature map into a vector (``flatten`` as in the paper, or
    ``avg`` global average pooling); then one ReLU ``Dense`` layer per entry of ``units``, each
    followed by ``Dropout(dropout)``; then the softmax.  The last ``Dense`` is the embedding.
    """

    units: tuple[int, ...]
    dropout: float
    pooling: str = "flatten"


@dataclass(frozen=True)
class Recipe:
    """A validated recipe.  Build one with :func:`load_recipe` or :meth:`Recipe.from_dict`."""

    name: str
    description: str
    kind: str  # "single": one model per scheme; "multihead": one model, one head per scheme
    backbone: str
    image_size: int
    schemes: tuple[str, ...]
    head: Head
    loss: str
    optimizer: str
    learning_rate: float
    batch_size: int
    epochs: int
    augmentation: tuple[str, ...] = ()
    mixed_precision: str = "auto"  # "auto": mixed_float16 when a GPU is visible; "off": float32
    source: Path | None = field(default=None, compare=False)

    @property
    def sparse_labels(self) -> bool:
        """True when the loss takes class indices (-1 = no label), False for one-hot rows."""
        return self.loss == "sparse_categorical_crossentropy"

    @property
    def multihead(self) -> bool:
        return self.kind == "multihead"

    def heads_for(self, scheme: str | None = None) -> list[str]:
        """The schemes one model of this recipe predicts: every head of a multihead recipe, else the
        scheme asked for (which may be left out when the recipe has only one)."""
        if self.multihead:
            if scheme is not None:
                raise ModelError(f"recipe {self.name!r} is multihead (heads: {', '.join(self.schemes)}): it has a "
                                 "head for each of its schemes, so do not name one (drop --scheme / scheme=)")
            return list(self.schemes)
        if scheme is None:
            if len(self.schemes) != 1:
                raise ModelError(f"recipe {self.name!r} builds one model per scheme: name the scheme, i.e. "
                                 f"pass --scheme (one of {', '.join(self.schemes)})")
            return [self.schemes[0]]
        return [scheme]

    def to_dict(self) -> dict[str, Any]:
        """The recipe as plain TOML/JSON-compatible data (what :meth:`from_dict` reads back)."""
        d = dataclasses.asdict(self)
        d.pop("source")
        d["schemes"] = list(self.schemes)
        d["augmentation"] = list(self.augmentation)
        d["head"] = {"pooling": self.head.pooling, "units": list(self.head.units), "dropout": self.head.dropout}
        return d

    def replace(self, **changes: Any) -> Recipe:
        """A copy with some fields changed (e.g. ``epochs=1``), validated like a file would be."""
        d = self.to_dict()
        for key, value in changes.items():
            if key == "head" and isinstance(value, Head):
                value = {"pooling": value.pooling, "units": list(value.units), "dropout": value.dropout}
            d[key] = value
        return Recipe.from_dict(d, source=self.source, where=f"recipe {self.name!r} (overridden)")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, source: str | os.PathLike[str] | None = None,
                  where: str | None = None) -> Recipe:
        """Validate ``data`` (a parsed TOML document).  Errors name ``where`` (default: the file)."""
        src = Path(source) if source is not None else None
        return _validate(data, src, where or (f"recipe {src}" if src else "recipe"))


def list_recipes(directory: str | os.PathLike[str] | None = None) -> list[str]:
    """Names of the recipes shipped in ``models/`` (the file stems), sorted."""
    d = Path(directory) if directory is not None else RECIPES_DIR
    return sorted(p.stem for p in d.glob("*.toml"))


def recipe_path(name_or_path: str | os.PathLike[str]) -> Path:
    """The file of a recipe given by name (``xception-paper``) or by path."""
    s = os.fspath(name_or_path)
    looks_like_path = isinstance(name_or_path, os.PathLike) or s.endswith(".toml") or os.sep in s or "/" in s
    path = Path(s).expanduser() if looks_like_path else RECIPES_DIR / f"{s}.toml"
    if not path.is_file():
        known = ", ".join(list_recipes()) or "none"
        what = f"recipe file {path}" if looks_like_path else f"recipe {s!r} ({path})"
        raise ModelError(f"{what} not found; known recipes: {known}")
    return path


def load_recipe(name_or_path: str | os.PathLike[str] | Recipe) -> Recipe:
    """Read and validate a recipe, by name (a file in ``models/``) or by path."""
    if isinstance(name_or_path, Recipe):
        return name_or_path
    path = recipe_path(name_or_path)
    try:
        with path.open("rb") as f:
            data = tomllib.load(f)
    except tomllib.TOMLDecodeError as exc:
        raise ModelError(f"recipe {path}: not valid TOML: {exc}") from exc
    except OSError as exc:
        raise ModelError(f"recipe {path}: cannot be read: {exc}") from exc
    return Recipe.from_dict(data, source=path)


# --------------------------------------------------------------------------------------- checks

class _Checker:
    def __init__(self, data: Mapping[str, Any], where: str, prefix: str = "") -> None:
        self.data = data
        self.where = where
        self.prefix = prefix

    def fail(self, key: str, message: str) -> ModelError:
        return ModelError(f"{self.where}: key '{self.prefix}{key}' {message}")

    def get(self, key: str, default: Any = dataclasses.MISSING) -> Any:
        if key not in self.data:
            if default is dataclasses.MISSING:
                return self._missing(key)
            return default
        return self.data[key]

    def _missing(self, key: str) -> Any:
        raise ModelError(f"{self.where}: missing key '{self.prefix}{key}'")

    def unknown(self, allowed: tuple[str, ...]) -> None:
        extra = [k for k in self.data if k not in allowed]
        if extra:
            raise self.fail(extra[0], f"is not a recipe key (allowed: {', '.join(allowed)})")

    def string(self, key: str, default: Any = dataclasses.MISSING, choices: tuple[str, ...] | None = None) -> str:
        v = self.get(key, default)
        if not isinstance(v, str):
            raise self.fail(key, f"must be a string, got {v!r}")
        if choices is not None and v not in choices:
            raise self.fail(key, f"must be one of {', '.join(repr(c) for c in choices)}, got {v!r}")
        return v

    def integer(self, key: str, minimum: int, default: Any = dataclasses.MISSING) -> int:
        v = self.get(key, default)
        if isinstance(v, bool) or not isinstance(v, int) or v < minimum:
            raise self.fail(key, f"must be an integer >= {minimum}, got {v!r}")
        return v

    def number(self, key: str, *, low: float, high: float | None = None, low_open: bool = False,
               high_open: bool = False, default: Any = dataclasses.MISSING) -> float:
        v = self.get(key, default)
        ok = isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
        if ok:
            ok = (v > low if low_open else v >= low) and (high is None or (v < high if high_open else v <= high))
        if not ok:
            lo = "(" if low_open else "["
            hi = ("inf)" if high is None else f"{high}{')' if high_open else ']'}")
            raise self.fail(key, f"must be a number in {lo}{low}, {hi}, got {v!r}")
        return float(v)

    def strings(self, key: str, default: Any = dataclasses.MISSING, choices: tuple[str, ...] | None = None,
                nonempty: bool = False) -> tuple[str, ...]:
        v = self.get(key, default)
        if not isinstance(v, list) or not all(isinstance(s, str) for s in v):
            raise self.fail(key, f"must be a list of strings, got {v!r}")
        if nonempty and not v:
            raise self.fail(key, "must not be empty")
        if len(set(v)) != len(v):
            raise self.fail(key, f"lists an entry twice: {v!r}")
        if choices is not None:
            bad = [s for s in v if s not in choices]
            if bad:
                raise self.fail(key, f"has unknown entry {bad[0]!r} (known: {', '.join(choices)})")
        return tuple(v)


def known_schemes() -> tuple[str, ...]:
    """The label schemes a recipe may name (from :mod:`fashion_review.data.schemes`)."""
    from fashion_review.data.schemes import SCHEMES

    return tuple(SCHEMES)


def _validate(data: Mapping[str, Any], source: Path | None, where: str) -> Recipe:
    if not isinstance(data, Mapping):
        raise ModelError(f"{where}: must be a table of keys, got {type(data).__name__}")
    c = _Checker(data, where)
    c.unknown(_TOP_KEYS)
    name = c.string("name", source.stem if source is not None else dataclasses.MISSING)
    if not name.strip():
        raise c.fail("name", "must not be empty")
    description = c.string("description", "")
    kind = c.string("kind", choices=KINDS)
    backbone = c.string("backbone", choices=BACKBONES)
    image_size = c.integer("image_size", MIN_IMAGE_SIZE)
    schemes = c.strings("schemes", choices=known_schemes(), nonempty=True)
    augmentation = c.strings("augmentation", [], choices=AUGMENTATIONS)
    loss = c.string("loss", choices=LOSSES)
    if kind == "multihead" and loss != "sparse_categorical_crossentropy":
        raise c.fail("loss", "must be 'sparse_categorical_crossentropy' for a multihead recipe "
                     "(a product without a class in one scheme is masked there by label -1)")
    optimizer = c.string("optimizer", choices=OPTIMIZERS)
    learning_rate = c.number("learning_rate", low=0.0, low_open=True, high=1.0)
    batch_size = c.integer("batch_size", 1)
    epochs = c.integer("epochs", 1)
    mixed_precision = c.string("mixed_precision", "auto", choices=PRECISIONS)

    head_data = c.get("head")
    if not isinstance(head_data, Mapping):
        raise c.fail("head", f"must be a table ([head]), got {head_data!r}")
    h = _Checker(head_data, where, prefix="head.")
    h.unknown(_HEAD_KEYS)
    units = h.get("units")
    if (not isinstance(units, list) or not units
            or not all(isinstance(u, int) and not isinstance(u, bool) and u >= 1 for u in units)):
        raise h.fail("units", f"must be a non-empty list of positive integers, got {units!r}")
    head = Head(
        units=tuple(units),
        dropout=h.number("dropout", low=0.0, high=1.0, high_open=True),
        pooling=h.string("pooling", "flatten", choices=POOLINGS),
    )
    return Recipe(
        name=name, description=description, kind=kind, backbone=backbone, image_size=image_size,
        schemes=schemes, head=head, loss=loss, optimizer=optimizer, learning_rate=learning_rate,
        batch_size=batch_size, epochs=epochs, augmentation=augmentation,
        mixed_precision=mixed_precision, source=source,
    )
