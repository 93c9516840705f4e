"""What "find label issues" stores per data set, and the curators' review marks (numpy/pandas only).

Finding label issues is slow (a cross-validated model: up to an hour on a laptop CPU); ranking
them is fast.  So the finder (:func:`fashion_review.training.issue_finder.find_label_issues`)
stores only what needs the models, and the queue (:mod:`fashion_review.review.queue`) is
recomputed from it and the *current* labels whenever a label changes:

* the image model's out-of-sample probabilities per scheme (``mode`` "cv": K-fold
  cross-validation; "heads": cross-validated heads on the active model's backbone features, whose
  backbone saw most labels: labelled "heads mode" wherever it shows);
* in mode "cv", the active model's own probabilities per scheme too, when the data set has one
  that predicted the catalog: the image signal reads the two averaged (:meth:`StoredIssues.image_witness`,
  why below);
* the name model's out-of-sample probabilities per scheme and each name's strongest word;
* the groups of identical photos;
* each product's closest look-alikes in the image model's feature space (ids; optional: a file
  written before they were stored, or a run without a model to take features from, has none);
* the products flagged when it ran (per scheme), for the "reviewed N of M" count;
* ``meta``: mode, folds, epochs, recipe, the model run (heads mode), the corrections count and
  the last correction's number when it ran, the time each step took.

One file per mode, ``HOME/datasets/<fingerprint>/label-issues/<mode>.npz``, written to a temp
file and renamed into place: a cancelled or failed run leaves the earlier file as it was.

**Why the cv probabilities are averaged with the active model's.** Each fold's model trains on
three quarters of the catalog for the hour's budget, so it is weaker than the active model trained
on all of it; that model saw the labels it is asked about, but the recipe's label smoothing keeps
it from learning the wrong ones by heart.  On 1,632 planted flips of the full catalog
(``benchmarks/label_issues.py``, 4 folds x 8 epochs and the 8-epoch model on the noisy labels)
the image's self-confidence ranks them at precision@k 0.799 from the cv probabilities alone,
0.829 from the active model alone, and 0.834 from their plain average (equal weights, not
tuned; the geometric mean gave 0.833); with the recipe's full 16 epochs for the active model,
0.836 alone and 0.849 averaged.  The two fail differently (the folds' models are
weaker, the active model has seen the label), so each corrects some of the other's misses.  Heads
mode has no such average: its heads stand on the active model's backbone already.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from fashion_review.data.corrections import CONFIRMED, CorrectionStore, confirmed_field
from fashion_review.data.ids import index_of
from fashion_review.data.schemes import SCHEME_FIELDS
from fashion_review.errors import ModelError
from fashion_review.fsutil import atomic_file

FOLDER = "label-issues"
MODES = ("cv", "heads")
FORMAT = 1
DESCRIBE = {"cv": "out of sample", "heads": "heads mode"}
#: How the image signal's reasons describe the cv probabilities averaged with the active model's.
DESCRIBE_JOINED = "out of sample and the active model"
#: The active model's share of the image witness in mode cv (see the module docstring).
ACTIVE_WEIGHT = 0.5


@dataclass
class StoredIssues:
    """The stored inputs of the label-issue queue (see the module docstring)."""

    mode: str
    image_ids: np.ndarray  # int64, sorted
    image_classes: dict[str, list[str]]
    image_probs: dict[str, np.ndarray]  # float32 (len(image_ids), C)
    name_ids: np.ndarray  # int64
    name_classes: dict[str, list[str]]
    name_probs: dict[str, np.ndarray]  # float32 (len(name_ids), C)
    name_words: dict[str, np.ndarray]  # object (len(name_ids),)
    duplicate_groups: pd.Series  # id -> group number
    initial: dict[str, np.ndarray] = field(default_factory=dict)  # scheme -> ids flagged when found
    meta: dict = field(default_factory=dict)
    neighbour_ids: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))  # int64 (M,)
    neighbours: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), np.int64))  # ids (M, k), -1 none
    # mode cv: the active model's own probabilities (optional: none without an active model)
    active_ids: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))  # int64 (A,)
    active_classes: dict[str, list[str]] = field(default_factory=dict)
    active_probs: dict[str, np.ndarray] = field(default_factory=dict)  # float32 (A, C_active)
    _witness: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    @property
    def describe(self) -> str:
        """How the image probabilities were made, as the reasons say it."""
        return DESCRIBE.get(self.mode, self.mode)

    def joined(self, scheme: str) -> bool:
        """Whether the image signal of ``scheme`` averages the active model's probabilities in."""
        return self.mode == "cv" and scheme in self.active_probs and scheme in self.image_probs

    def image_witness(self, scheme: str) -> np.ndarray:
        """The probabilities the image signal of ``scheme`` reads, rows ``image_ids``, columns
        ``image_classes[scheme]``: the stored ones, averaged with the active model's where
        :meth:`joined` (see the module docstring; computed once per scheme)."""
        if not self.joined(scheme):
            return self.image_probs[scheme]
        if scheme not in self._witness:
            self._witness[scheme] = mix_probabilities(
                self.image_ids, self.image_classes[scheme], self.image_probs[scheme],
                self.active_ids, self.active_classes[scheme], self.active_probs[scheme], ACTIVE_WEIGHT)
        return self._witness[scheme]

    def witness_describe(self, scheme: str) -> str:
        """How the image signal's reasons of ``scheme`` say where its probabilities come from."""
        return DESCRIBE_JOINED if self.joined(scheme) else self.describe

    @property
    def label(self) -> str:
        """One line for the app and the CLI: where the probabilities come from and when."""
        m = self.meta
        img = m.get("image") or {}
        if self.mode == "heads":
            how = (f"heads mode: {m.get('folds', '?')}-fold cross-validated heads on the backbone of "
                   f"{m.get('run', '?')} ({heads_caveat(img.get('backbone_trained'), img.get('trained_products'))})")
        else:
            how = (f"{m.get('folds', '?')}-fold cross-validation, {m.get('recipe', '?')}, "
                   f"{m.get('epochs', '?')} epochs (out of sample)")
            if self.active_probs:
                how += f", averaged with the active model {m.get('active_run', '?')}"
        return f"{how}; found {m.get('created', '?')} at {m.get('corrections', 0)} corrections"

    @property
    def last_seq(self) -> int:
        return int(self.meta.get("last_seq", 0))


def heads_caveat(trained: int | None, total: int | None) -> str:
    """How out of sample heads mode is: its backbone trained on ``trained`` of the ``total`` labels
    the heads were cross-validated on (None: not known, as in results stored before this was)."""
    if trained is None or total is None:
        return "not known which of these labels the backbone trained on: not fully out of sample, as a rule"
    if trained == 0:
        return f"the backbone trained on none of these {total:,} products: out of sample"
    return f"the backbone trained on {trained:,} of these {total:,} labels: not fully out of sample"


def mix_probabilities(ids: np.ndarray, classes: list[str], probs: np.ndarray, other_ids: np.ndarray,
                      other_classes: list[str], other_probs: np.ndarray, weight: float) -> np.ndarray:
    """``(1 - weight) * probs + weight * other``, float32, shaped as ``probs`` (rows ``ids``,
    columns ``classes``): ``other``'s rows matched by id and columns by class name.

    Where ``other`` has no row for a product, or no column for a class (a model trained before a
    class was kept, or one that knows classes ``classes`` lacks), ``probs``' own values stand in,
    and ``other``'s row is renormalised over ``classes`` first, so every row still sums to one.
    """
    p = np.asarray(probs, dtype=np.float64)
    other = p.copy()
    rows = index_of(np.asarray(other_ids, dtype=np.int64), np.asarray(ids, dtype=np.int64))
    cols = pd.Index(list(other_classes), dtype=object).get_indexer(pd.Index(list(classes), dtype=object))
    have_row, have_col = rows >= 0, cols >= 0
    if have_row.any() and have_col.any():
        src = np.asarray(other_probs, dtype=np.float64)[rows[have_row]][:, cols[have_col]]
        block = other[have_row]
        block[:, have_col] = src
        total = block.sum(axis=1, keepdims=True)
        other[have_row] = np.where(total > 0, block / np.where(total > 0, total, 1.0), p[have_row])
    return ((1.0 - weight) * p + weight * other).astype(np.float32)


def issues_dir(dataset_home: Path) -> Path:
    return Path(dataset_home) / FOLDER


def issues_path(dataset_home: Path, mode: str) -> Path:
    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r}; choose one of {', '.join(MODES)}")
    return issues_dir(dataset_home) / f"{mode}.npz"


def save_issues(stored: StoredIssues, path: Path) -> Path:
    """Write atomically (temp file, then rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    arrays: dict[str, np.ndarray] = {
        "format": np.asarray(FORMAT), "mode": np.asarray(stored.mode),
        "meta": np.asarray(json.dumps(stored.meta, default=str)),
        "image_ids": np.asarray(stored.image_ids, dtype=np.int64),
        "image_schemes": np.asarray(list(stored.image_classes), dtype=str),
        "name_ids": np.asarray(stored.name_ids, dtype=np.int64),
        "name_schemes": np.asarray(list(stored.name_classes), dtype=str),
        "dup_ids": stored.duplicate_groups.index.to_numpy(dtype=np.int64),
        "dup_groups": stored.duplicate_groups.to_numpy(dtype=np.int64),
        "initial_schemes": np.asarray(list(stored.initial), dtype=str),
        "nb_ids": np.asarray(stored.neighbour_ids, dtype=np.int64),
        "nb_neighbours": np.asarray(stored.neighbours, dtype=np.int64),
        "active_ids": np.asarray(stored.active_ids, dtype=np.int64),
        "active_schemes": np.asarray(list(stored.active_classes), dtype=str),
    }
    for s, c in stored.image_classes.items():
        arrays[f"image_classes__{s}"] = np.asarray(c, dtype=str)
        arrays[f"image_probs__{s}"] = np.asarray(stored.image_probs[s], dtype=np.float32)
    for s, c in stored.name_classes.items():
        arrays[f"name_classes__{s}"] = np.asarray(c, dtype=str)
        arrays[f"name_probs__{s}"] = np.asarray(stored.name_probs[s], dtype=np.float32)
        arrays[f"name_words__{s}"] = np.asarray([str(w) for w in stored.name_words[s]], dtype=str)
    for s, ids in stored.initial.items():
        arrays[f"initial__{s}"] = np.asarray(ids, dtype=np.int64)
    for s, c in stored.active_classes.items():
        arrays[f"active_classes__{s}"] = np.asarray(c, dtype=str)
        arrays[f"active_probs__{s}"] = np.asarray(stored.active_probs[s], dtype=np.float32)
    with atomic_file(path, "wb") as f:
        np.savez(f, **arrays)
    return path


def load_issues(path: Path) -> StoredIssues:
    """Read a stored file; a damaged one raises ModelError naming it."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as z:
            if int(z["format"]) != FORMAT:
                raise ValueError(f"format {int(z['format'])}, this version reads {FORMAT}")
            img_s = [str(s) for s in z["image_schemes"]]
            name_s = [str(s) for s in z["name_schemes"]]
            init_s = [str(s) for s in z["initial_schemes"]]
            stored = StoredIssues(
                mode=str(z["mode"]),
                image_ids=z["image_ids"].astype(np.int64),
                image_classes={s: [str(c) for c in z[f"image_classes__{s}"]] for s in img_s},
                image_probs={s: z[f"image_probs__{s}"].astype(np.float32) for s in img_s},
                name_ids=z["name_ids"].astype(np.int64),
                name_classes={s: [str(c) for c in z[f"name_classes__{s}"]] for s in name_s},
                name_probs={s: z[f"name_probs__{s}"].astype(np.float32) for s in name_s},
                name_words={s: z[f"name_words__{s}"].astype(object) for s in name_s},
                duplicate_groups=pd.Series(z["dup_groups"].astype(np.int64),
                                           index=pd.Index(z["dup_ids"].astype(np.int64), name="id"), name="group"),
                initial={s: z[f"initial__{s}"].astype(np.int64) for s in init_s},
                meta=json.loads(str(z["meta"])),
            )
            if "nb_ids" in z.files:  # files written before the look-alike signal have none
                stored.neighbour_ids = z["nb_ids"].astype(np.int64)
                stored.neighbours = z["nb_neighbours"].astype(np.int64)
            if "active_ids" in z.files:  # nor before the active model's probabilities
                act_s = [str(s) for s in z["active_schemes"]]
                stored.active_ids = z["active_ids"].astype(np.int64)
                stored.active_classes = {s: [str(c) for c in z[f"active_classes__{s}"]] for s in act_s}
                stored.active_probs = {s: z[f"active_probs__{s}"].astype(np.float32) for s in act_s}
    except FileNotFoundError:
        raise ModelError(f"{path}: no label issues found yet (run `fashion-review issues find`)") from None
    except Exception as exc:  # zipfile.BadZipFile, KeyError, ValueError ...
        raise ModelError(f"{path}: not a readable label-issues file ({type(exc).__name__}: {exc})") from exc
    for s, p in stored.image_probs.items():
        if p.shape != (len(stored.image_ids), len(stored.image_classes[s])):
            raise ModelError(f"{path}: image probabilities of {s} have shape {p.shape}")
    for s, p in stored.name_probs.items():
        if p.shape != (len(stored.name_ids), len(stored.name_classes[s])):
            raise ModelError(f"{path}: name probabilities of {s} have shape {p.shape}")
    for s, p in stored.active_probs.items():
        if p.shape != (len(stored.active_ids), len(stored.active_classes[s])):
            raise ModelError(f"{path}: the active model's probabilities of {s} have shape {p.shape}")
    if len(stored.neighbours) != len(stored.neighbour_ids):
        raise ModelError(f"{path}: {len(stored.neighbours)} neighbour rows for {len(stored.neighbour_ids)} products")
    return stored


def latest_issues(dataset_home: Path, mode: str | None = None) -> StoredIssues | None:
    """The stored issues of ``mode``, or the newest of either mode; None when there are none."""
    paths = [issues_path(dataset_home, m) for m in ((mode,) if mode else MODES)]
    paths = [p for p in paths if p.is_file()]
    if not paths:
        return None
    return load_issues(max(paths, key=lambda p: p.stat().st_mtime_ns))


# -- review marks -------------------------------------------------------------------------------


@dataclass
class ReviewMarks:
    """What curators did about a scheme's issues: confirmed labels and labels corrected since."""

    confirmed: dict[int, str]  # product -> the label a curator confirmed as right
    corrected: set[int]  # products whose label of the scheme was corrected after the issues were found


def review_marks(store: CorrectionStore, scheme: str, since_seq: int = 0) -> ReviewMarks:
    """The scheme's confirmations (active) and the label corrections recorded after ``since_seq``."""
    fields = set(SCHEME_FIELDS[scheme])
    cfield = confirmed_field(scheme)
    confirmed: dict[int, str] = {}
    for (pid, fld), value in store.effective().items():
        if fld == cfield and value:
            confirmed[int(pid)] = value
    corrected = {c.product_id for c in store.history() if c.active and c.seq > since_seq and c.field in fields}
    return ReviewMarks(confirmed, corrected)


__all__ = ["ACTIVE_WEIGHT", "CONFIRMED", "DESCRIBE", "DESCRIBE_JOINED", "MODES", "ReviewMarks", "StoredIssues",
           "issues_dir", "issues_path", "latest_issues", "load_issues", "mix_probabilities", "review_marks",
           "save_issues"]
