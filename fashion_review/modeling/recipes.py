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

BACKBONES = ("xception", "xception-lite")
KINDS = ("single", "multihead")
LOSSES = ("categorical_crossentropy", "sparse_categorical_crossentropy")
OPTIMIZERS = ("adam", "adamw")
SCHEDULES = ("constant", "cosine")
AUGMENTATIONS = ("horizontal_flip", "shift", "zoom")
PRECISIONS = ("auto", "off")
POOLINGS = ("flatten", "avg")
#: Xception's smallest input (``keras.applications.Xception`` refuses anything below).
MIN_IMAGE_SIZE = 71
#: The images' own size (height, width): what ``image_size = "native"`` feeds the network.
NATIVE_HW = (80, 60)

_TOP_KEYS = (
    "name", "description", "kind", "backbone", "image_size", "schemes", "augmentation", "loss",
    "optimizer", "learning_rate", "batch_size", "epochs", "mixed_precision", "head",
    "network", "schedule", "warmup_epochs", "label_smoothing", "weight_decay", "test_time_flip",
    "validation", "loss_weights",
)
_HEAD_KEYS = ("pooling", "units", "dropout")
_NETWORK_KEYS = ("stem", "entry", "middle_blocks", "exit", "squeeze_excite")


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
class Network:
    """Width and depth of the ``xception-lite`` backbone (the ``[network]`` table).

    ``stem``: the filters of the two plain convolutions (the first strided); ``entry``: one
    strided residual block of two separable convolutions per entry; ``middle_blocks`` residual
    blocks of three separable convolutions at the last entry width; ``exit``: one strided residual
    block at ``exit[0]``, ``exit[1]``, then separable convolutions at the remaining widths.
    ``squeeze_excite``: 0 (none), or the reduction ratio of a squeeze-and-excitation gate (Hu et
    al., 2018) on every residual block's branch before its add.
    """

    stem: tuple[int, ...] = (16, 32)
    entry: tuple[int, ...] = (64, 128, 256)
    middle_blocks: int = 4
    exit: tuple[int, ...] = (384, 512, 768)
    squeeze_excite: int = 0

    def to_dict(self) -> dict[str, Any]:
        d = {"stem": list(self.stem), "entry": list(self.entry), "middle_blocks": self.middle_blocks,
             "exit": list(self.exit)}
        if self.squeeze_excite:  # absent when off: recipes and run records written before it read the same
            d["squeeze_excite"] = self.squeeze_excite
        return d


@dataclass(frozen=True)
class Recipe:
    """A validated recipe.  Build one with :func:`load_recipe` or :meth:`Recipe.from_dict`."""

    name: str
    description: str
    kind: str  # "single": one model per scheme; "multihead": one model, one head per scheme
    backbone: str
    image_size: int | None  # square input side the images are resized to; None: native 80 x 60
    schemes: tuple[str, ...]
    head: Head
    loss: str
    optimizer: str
    learning_rate: float
    batch_size: int
    epochs: int
    augmentation: tuple[str, ...] = ()
    mixed_precision: str = "auto"  # "auto": mixed_float16 when a GPU is visible; "off": float32
    network: Network | None = None  # xception-lite only
    schedule: str = "constant"  # learning rate: "constant" or "cosine" decay to 0 over the epochs
    warmup_epochs: float = 0.0  # linear warm-up from 0 (cosine schedule)
    label_smoothing: float = 0.0
    weight_decay: float = 0.0  # decoupled (AdamW) weight decay
    test_time_flip: bool = False  # predict on the image and its mirror, average the probabilities
    #: "part": validate on the stored split's validation part; a fraction f: validate on that share of
    #: the validation part (a seeded hash of the id) and train on the rest of it too (test part untouched)
    validation: str | float = "part"
    #: (scheme, weight) pairs of a multihead recipe: each head's loss is multiplied by its weight
    #: in the sum the backbone learns from (1 for a head not named)
    loss_weights: tuple[tuple[str, float], ...] = ()
    source: Path | None = field(default=None, compare=False)

    @property
    def input_hw(self) -> tuple[int, int]:
        """(height, width) of what the backbone sees."""
        return NATIVE_HW if self.image_size is None else (self.image_size, self.image_size)

    @property
    def size_label(self) -> str:
        """``"96 x 96"`` or ``"80 x 60 (native)"``: the input size in words."""
        h, w = self.input_hw
        return f"{h} x {w}" + (" (native)" if self.image_size is None else "")

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
        if self.image_size is None:
            d["image_size"] = "native"
        d["loss_weights"] = dict(self.loss_weights)
        if self.network is None:
            d.pop("network")
        else:
            d["network"] = self.network.to_dict()
        return d

    def replace(self, **changes: Any) -> Recipe:
        """A copy with some fields changed (e.g. ``epochs=1``), validated like a file would be."""
        d = self.to_dict()
        for key, value in changes.items():
            if key == "head" and isinstance(value, Head):
                value = {"pooling": value.pooling, "units": list(value.units), "dropout": value.dropout}
            if key == "network" and isinstance(value, Network):
                value = value.to_dict()
            if key == "image_size" and value is None:
                value = "native"
            d[key] = value
        return Recipe.from_dict(d, source=self.source, where=f"recipe {self.name!r} (overridden)")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, source: str | os.PathLike[str] | None = None,
                  where: str | None = None) -> Recipe:
        """Validate ``data`` (a parsed TOML document).  Errors name ``where`` (default: the file)."""
        src = Path(source) if source is not None else None
        return _validate(data, src, where or (f"recipe {src}" if src else "recipe"))


#: The default recipe where no GPU is visible (trains in minutes on a laptop CPU) and where one is.
CPU_DEFAULT_RECIPE = "xception-lite"
GPU_DEFAULT_RECIPE = "xception-multihead"


def default_recipe(device: str | None = None) -> tuple[str, str]:
    """(the recipe ``train`` and the Retrain dialog start from, why) for ``device``.

    ``device`` is a device line such as ``"CPU"`` or ``"GPU: NVIDIA H100"``; by default the guess
    from the NVIDIA driver and the installed build (no Keras import).
    """
    if device is None:
        from fashion_review.modeling.device import guess_device

        device = guess_device()
    if device.upper().startswith("GPU"):
        return GPU_DEFAULT_RECIPE, f"a GPU is visible ({device.split(':', 1)[-1].strip()}): the full Xception backbone"
    return CPU_DEFAULT_RECIPE, ("no GPU is visible: the CPU-sized Xception, which trains on a laptop CPU in "
                                "minutes (xception-multihead would take hours per epoch)")


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
    lite = backbone == "xception-lite"
    if lite and c.get("image_size", "native") == "native":
        image_size: int | None = None
    else:
        # Keras' Xception needs 71 x 71 at least; the lite network's strides need 32.
        image_size = c.integer("image_size", 32 if lite else MIN_IMAGE_SIZE)
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
    schedule = c.string("schedule", "constant", choices=SCHEDULES)
    warmup_epochs = c.number("warmup_epochs", low=0.0, default=0.0)
    if warmup_epochs >= epochs:
        raise c.fail("warmup_epochs", f"must be less than epochs ({epochs}), got {warmup_epochs!r}")
    label_smoothing = c.number("label_smoothing", low=0.0, high=1.0, high_open=True, default=0.0)
    weight_decay = c.number("weight_decay", low=0.0, high=1.0, default=0.0)
    if weight_decay and optimizer != "adamw":
        raise c.fail("weight_decay", "needs optimizer = 'adamw' (decoupled weight decay)")
    test_time_flip = c.get("test_time_flip", False)
    if not isinstance(test_time_flip, bool):
        raise c.fail("test_time_flip", f"must be true or false, got {test_time_flip!r}")
    validation = c.get("validation", "part")
    if validation != "part":
        validation = c.number("validation", low=0.0, low_open=True, high=1.0)
    network = _network(c, where) if lite else None
    loss_weights = _loss_weights(c, kind, schemes)
    if not lite and "network" in data:
        raise c.fail("network", f"is only for backbone 'xception-lite' (this recipe's backbone is {backbone!r})")

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
        mixed_precision=mixed_precision, network=network, schedule=schedule, warmup_epochs=warmup_epochs,
        label_smoothing=label_smoothing, weight_decay=weight_decay, test_time_flip=test_time_flip,
        validation=validation, loss_weights=loss_weights, source=source,
    )


def _loss_weights(c: _Checker, kind: str, schemes: tuple[str, ...]) -> tuple[tuple[str, float], ...]:
    data = c.get("loss_weights", {})
    if not isinstance(data, Mapping):
        raise c.fail("loss_weights", f"must be a table ([loss_weights]: scheme = weight), got {data!r}")
    if data and kind != "multihead":
        raise c.fail("loss_weights", "is only for a multihead recipe (one loss per head)")
    w = _Checker(data, c.where, prefix="loss_weights.")
    w.unknown(schemes)
    return tuple((s, w.number(s, low=0.0, low_open=True, high=100.0)) for s in schemes if s in data)


def _positive_ints(c: _Checker, key: str, default: Any) -> tuple[int, ...]:
    v = c.get(key, default)
    if (not isinstance(v, list) or not v
            or not all(isinstance(u, int) and not isinstance(u, bool) and u >= 1 for u in v)):
        raise c.fail(key, f"must be a non-empty list of positive integers, got {v!r}")
    return tuple(v)


def _network(c: _Checker, where: str) -> Network:
    data = c.get("network", {})
    if not isinstance(data, Mapping):
        raise c.fail("network", f"must be a table ([network]), got {data!r}")
    n = _Checker(data, where, prefix="network.")
    n.unknown(_NETWORK_KEYS)
    d = Network()
    stem = _positive_ints(n, "stem", list(d.stem))
    if len(stem) != 2:
        raise n.fail("stem", f"must list 2 widths (a strided and a plain convolution), got {list(stem)!r}")
    exit_ = _positive_ints(n, "exit", list(d.exit))
    if len(exit_) < 2:
        raise n.fail("exit", f"must list at least 2 widths (the exit block's two convolutions), got {list(exit_)!r}")
    return Network(stem=stem, entry=_positive_ints(n, "entry", list(d.entry)),
                   middle_blocks=n.integer("middle_blocks", 0, d.middle_blocks), exit=exit_,
                   squeeze_excite=n.integer("squeeze_excite", 0, d.squeeze_excite))
