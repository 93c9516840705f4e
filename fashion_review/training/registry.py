"""The model registry: one folder per trained run, an "active" run per data set.

No Keras at module level: the app lists runs at start-up (only :func:`load_model` imports Keras,
when it is called)::

    HOME/models/<data-set fingerprint>/
      runs/<run-id>/
        model.keras        the trained model (float32, no optimizer state), loads in safe mode
        heads.keras        instead of model.keras in a "retrain heads" run: only its heads; its
                           backbone is the model of the run run.json names ("backbone"), which
                           :func:`load_model` composes them with
        run.json           what it is: recipe, schemes, classes per scheme, split and data-set
                           fingerprints, corrections seen, image size, created, metrics
        history.json       Keras' per-epoch logs
        split.csv          id,part of every product it saw (train/val/test), for evaluation
        predictions.npz    written by ``fashion-review predict`` (see review.predictions)
        eval/<scheme>/     written by ``fashion-review evaluate``
      active               text file naming the active run id

A run id is ``<YYYYMMDD-HHMMSS>-<scheme or 'multi'>-<recipe>`` (local time; a ``-2``, ``-3`` ...
suffix when two runs start in the same second), so names sort by creation.

A run is written into a temporary folder beside ``runs/`` and renamed into place only when
complete (:class:`RunWriter`): a crash or a cancel never leaves a half run that
:func:`list_runs` would show.  The active run changes only through :func:`activate`.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fashion_review import paths
from fashion_review.errors import ModelError
from fashion_review.fsutil import atomic_write_json, atomic_write_text, move_into_place, remove_stale_temp_dirs, temp_name

if TYPE_CHECKING:
    import pandas as pd

RUNS = "runs"
ACTIVE = "active"
MODEL_FILE = "model.keras"
#: A heads-only run's file: only its heads (features -> outputs); the backbone is another run's.
HEADS_FILE = "heads.keras"
RUN_FILE = "run.json"
HISTORY_FILE = "history.json"
SPLIT_FILE = "split.csv"
PREDICTIONS_FILE = "predictions.npz"
EVAL_DIR = "eval"
#: Version of the run.json layout.
RUN_FORMAT = 1
_TMP_PREFIX = ".tmp-"
_ID_OK = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


@dataclass
class RunInfo:
    """One run folder and its ``run.json`` record (``record`` holds every field)."""

    path: Path
    record: dict[str, Any] = field(repr=False)

    @property
    def id(self) -> str:
        return str(self.record.get("id", self.path.name))

    @property
    def recipe(self) -> str:
        """The recipe's name (the whole recipe is ``record["recipe"]``)."""
        return str(self.record.get("recipe", {}).get("name", ""))

    @property
    def kind(self) -> str:
        return str(self.record.get("recipe", {}).get("kind", ""))

    @property
    def schemes(self) -> list[str]:
        return list(self.record.get("schemes", []))

    @property
    def classes(self) -> dict[str, list[str]]:
        return {s: list(c) for s, c in self.record.get("classes", {}).items()}

    @property
    def image_size(self) -> int | None:
        return self.record.get("image_size")

    @property
    def fingerprint(self) -> str:
        """The fingerprint of the data set it was trained on."""
        return str(self.record.get("data", {}).get("fingerprint", ""))

    @property
    def fingerprints(self) -> list[str]:
        """The data sets it belongs to: the one it was trained on, then the later versions of that
        styles.csv it was carried over to (:func:`adopt_run`)."""
        return [self.fingerprint, *[str(f) for f in self.record.get("carried_to", [])]]

    @property
    def created(self) -> str:
        """When this run was written to this registry (for an imported reference model: imported)."""
        return str(self.record.get("created", ""))

    @property
    def trained(self) -> str:
        """When its model was trained: :attr:`created`, or for an imported reference model the date
        its own record gives (it was trained elsewhere, before it was imported here)."""
        ref = self.record.get("reference")
        if isinstance(ref, dict) and ref.get("created") and not self.record.get("parent"):  # not a run made from it
            return str(ref["created"])
        return self.created

    @property
    def metrics(self) -> dict[str, Any]:
        return dict(self.record.get("metrics", {}))

    @property
    def model_path(self) -> Path:
        return self.path / MODEL_FILE

    @property
    def heads_path(self) -> Path:
        return self.path / HEADS_FILE

    @property
    def backbone_id(self) -> str:
        """The run whose ``model.keras`` holds this run's backbone: itself, unless it stores only
        its heads (a "retrain heads" run, which shares its parent's backbone instead of copying it)."""
        b = self.record.get("backbone")
        return str(b["run"]) if isinstance(b, dict) and b.get("run") else self.id

    @property
    def history_path(self) -> Path:
        return self.path / HISTORY_FILE

    @property
    def split_path(self) -> Path:
        return self.path / SPLIT_FILE

    @property
    def predictions_path(self) -> Path:
        return self.path / PREDICTIONS_FILE

    @property
    def eval_dir(self) -> Path:
        return self.path / EVAL_DIR

    def history(self) -> dict[str, list[float]]:
        """Keras' per-epoch logs (``{}`` when the file is absent)."""
        try:
            return json.loads(self.history_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            raise ModelError(f"{self.history_path}: not a readable history file ({exc})") from exc

    def summary(self) -> str:
        """One line for listings: id, recipe, schemes, test/val accuracy when known."""
        acc = []
        for s in self.schemes:
            m = self.metrics.get(s, {})
            v = m.get("test_accuracy", m.get("val_accuracy"))
            if v is not None:
                which = "test" if "test_accuracy" in m else "val"
                acc.append(f"{s} {which} {100 * v:.2f}%")
        return f"{self.id}  {self.recipe}  {', '.join(acc) or ', '.join(self.schemes)}"


# --------------------------------------------------------------------------------------------
# Reading


def runs_dir(fingerprint: str) -> Path:
    """``HOME/models/<fingerprint>/runs`` (created)."""
    d = paths.models_home(fingerprint) / RUNS
    d.mkdir(parents=True, exist_ok=True)
    return d


def read_run(folder: str | os.PathLike[str]) -> RunInfo:
    """The run stored in ``folder``; ModelError when it is not a run folder."""
    folder = Path(folder)
    f = folder / RUN_FILE
    try:
        record = json.loads(f.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelError(f"{folder}: not a run folder (no {RUN_FILE})") from None
    except (OSError, ValueError) as exc:
        raise ModelError(f"{f}: not a readable run record ({exc})") from exc
    if not isinstance(record, dict) or "schemes" not in record or "classes" not in record:
        raise ModelError(f"{f}: not a run record (no schemes/classes)")
    return RunInfo(folder, record)


def list_runs(fingerprint: str) -> list[RunInfo]:
    """Every complete run of a data set, oldest first (unreadable folders are skipped).

    A new version of a styles.csv that never chose a model lists the earlier version's active run,
    adopted (see :func:`active_run`).
    """
    if not (paths.models_home(fingerprint) / ACTIVE).exists():
        _follow_earlier_version(fingerprint)
    d = paths.models_home(fingerprint) / RUNS
    if not d.is_dir():
        return []
    runs = []
    for p in sorted(d.iterdir()):
        if p.name.startswith(".") or not p.is_dir():
            continue
        try:
            runs.append(read_run(p))
        except ModelError:
            continue
    return runs


def get_run(run_or_path: str | os.PathLike[str] | RunInfo, fingerprint: str | None = None) -> RunInfo:
    """A run by id (in ``fingerprint``'s registry, else in any data set's) or by folder."""
    if isinstance(run_or_path, RunInfo):
        return run_or_path
    s = os.fspath(run_or_path)
    p = Path(s).expanduser()
    if (p / RUN_FILE).exists() or os.sep in s or "/" in s or isinstance(run_or_path, os.PathLike):
        return read_run(p)
    if not _ID_OK.match(s):
        raise ModelError(f"{s!r} is neither a run id nor a run folder")
    if fingerprint is not None:
        candidates = [paths.models_home(fingerprint) / RUNS / s]
    else:
        candidates = sorted((paths.home() / "models").glob(f"*/{RUNS}/{s}"))
    for c in candidates:
        if (c / RUN_FILE).exists():
            return read_run(c)
    known = [r.id for r in list_runs(fingerprint)] if fingerprint is not None else []
    hint = f"; runs of this data set: {', '.join(known[-5:])}" if known else \
        "; `fashion-review models --data DIR` lists the runs"
    raise ModelError(f"no run {s!r} in the registry under {paths.home() / 'models'}{hint}")


def active_run(fingerprint: str) -> RunInfo | None:
    """The data set's active run, or None (none chosen yet, or the chosen run is gone).

    A new version of a styles.csv (its history carried over, :mod:`fashion_review.data.versions`)
    that has no active run yet keeps the earlier version's: it is adopted (:func:`adopt_run`) and
    made active here, so an edit of the file never leaves the app without its model.
    """
    f = paths.models_home(fingerprint) / ACTIVE
    try:
        run_id = f.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return _follow_earlier_version(fingerprint)
    if not run_id:
        return None
    try:
        return read_run(paths.models_home(fingerprint) / RUNS / run_id)
    except ModelError:  # the run was deleted by hand: no active run
        return None


def _follow_earlier_version(fingerprint: str) -> RunInfo | None:
    from fashion_review.data.versions import carried_from

    earlier = carried_from(fingerprint)
    run = active_run(earlier) if earlier is not None and earlier != fingerprint else None
    if run is None:
        return None
    adopted = adopt_run(fingerprint, run)
    return activate(fingerprint, adopted.id)


def _link_or_copy(src: str, dst: str) -> None:
    try:
        os.link(src, dst)  # files are only ever replaced whole (fsutil), so sharing inodes is safe
    except OSError:
        shutil.copy2(src, dst)


def adopt_run(fingerprint: str, run: RunInfo) -> RunInfo:
    """A copy of ``run`` (hard links where possible) in ``fingerprint``'s registry, for a later
    version of the styles.csv it was trained on; its record keeps the data set it was trained on
    and adds ``carried_to``.  The run's feature cache follows too, so retraining its heads on the
    new version computes only the new products' features.  Returns the copy (the run itself when
    it is already there)."""
    target = runs_dir(fingerprint) / run.path.name
    if (target / RUN_FILE).exists():
        return read_run(target)
    tmp = target.parent / f"{temp_name(_TMP_PREFIX)}-{run.path.name}"
    try:
        shutil.copytree(run.path, tmp, copy_function=_link_or_copy)
        record = dict(run.record)
        record["carried_to"] = [*record.get("carried_to", []), fingerprint]
        write_json(tmp / RUN_FILE, record)
        move_into_place(tmp, target, replace=False)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    features = paths.home() / "datasets" / run.path.parent.parent.name / "features" / run.path.name
    new_features = paths.dataset_home(fingerprint) / "features" / run.path.name
    if features.is_dir() and not new_features.exists():
        new_features.parent.mkdir(parents=True, exist_ok=True)
        tmp_f = new_features.parent / f"{temp_name('.adopt-')}-{run.path.name}"
        try:
            shutil.copytree(features, tmp_f, copy_function=_link_or_copy)
            move_into_place(tmp_f, new_features, replace=False)
        except OSError:
            shutil.rmtree(tmp_f, ignore_errors=True)  # only a cache: it is recomputed when needed
    return read_run(target)


def activate(fingerprint: str, run_id: str | RunInfo) -> RunInfo:
    """Make ``run_id`` the data set's active run (it must be in that data set's registry)."""
    if isinstance(run_id, RunInfo):
        if Path(os.path.abspath(run_id.path)).parent != Path(os.path.abspath(runs_dir(fingerprint))):
            raise ModelError(f"run {run_id.id} ({run_id.path}) is not in this data set's registry "
                             f"({runs_dir(fingerprint)}); only registry runs can be active")
        run_id = run_id.path.name
    run = get_run(str(run_id), fingerprint)
    atomic_write_text(paths.models_home(fingerprint) / ACTIVE, run.path.name + "\n")
    return run


# --------------------------------------------------------------------------------------------
# Writing


def new_run_id(recipe_name: str, schemes: list[str] | tuple[str, ...], when: float | None = None) -> str:
    """``<YYYYMMDD-HHMMSS>-<scheme|multi>-<recipe>`` (not yet made unique)."""
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(time.time() if when is None else when))
    what = schemes[0] if len(schemes) == 1 else "multi"
    return re.sub(r"[^A-Za-z0-9._-]+", "-", f"{stamp}-{what}-{recipe_name}")


def write_json(path: Path, data: Any) -> None:
    """Write JSON atomically (:func:`fashion_review.fsutil.atomic_write_json`), numpy values as numbers."""
    atomic_write_json(path, data, default=_json_default)


def _json_default(o: Any) -> Any:
    try:
        import numpy as np

        if isinstance(o, np.generic):
            return o.item()
        if isinstance(o, np.ndarray):
            return o.tolist()
    except ImportError:  # pragma: no cover
        pass
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"{type(o).__name__} is not JSON serialisable")


def update_run(run: RunInfo, **fields: Any) -> RunInfo:
    """Merge ``fields`` into the run's record (dicts merged one level deep) and rewrite run.json."""
    record = dict(run.record)
    for k, v in fields.items():
        if isinstance(v, dict) and isinstance(record.get(k), dict):
            merged = dict(record[k])
            for kk, vv in v.items():
                if isinstance(vv, dict) and isinstance(merged.get(kk), dict):
                    merged[kk] = {**merged[kk], **vv}
                else:
                    merged[kk] = vv
            record[k] = merged
        else:
            record[k] = v
    write_json(run.path / RUN_FILE, record)
    run.record = record
    return run


class RunWriter:
    """Write a run into a temp folder; :meth:`commit` renames it into place.

    ``with RunWriter(fingerprint, run_id) as w: ...; w.commit(record)``.  Leaving the block
    without :meth:`commit` (an exception, a cancel) removes the temp folder.  ``out`` writes the
    run folder there (a path that must not exist yet, or an empty folder) instead of into the
    registry; the temp folder is then created beside it.
    """

    def __init__(self, fingerprint: str, run_id: str, out: str | os.PathLike[str] | None = None) -> None:
        self.fingerprint = fingerprint
        self.run_id = run_id
        self.out = Path(out).expanduser().resolve() if out is not None else None
        parent = self.out.parent if self.out is not None else runs_dir(fingerprint)
        if self.out is not None:
            if self.out.exists() and (not self.out.is_dir() or any(self.out.iterdir())):
                raise ModelError(f"--out {self.out}: exists and is not an empty folder; "
                                 "name a new folder for the run")
            parent.mkdir(parents=True, exist_ok=True)
        remove_stale_temp_dirs(parent, _TMP_PREFIX)
        self.parent = parent
        self.tmp = parent / f"{temp_name(_TMP_PREFIX)}-{run_id}"
        self.final: Path | None = None

    def __enter__(self) -> RunWriter:
        self.tmp.mkdir(parents=True)
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.tmp.exists():
            shutil.rmtree(self.tmp, ignore_errors=True)

    @property
    def path(self) -> Path:
        """The temp folder to write files into."""
        return self.tmp

    def commit(self, record: dict[str, Any], before_rename: Callable[[str], None] | None = None) -> RunInfo:
        """Write run.json and rename the folder into place; returns the run.

        ``before_rename(run_id)`` writes the files that carry the run's final id (its predictions)
        into :attr:`path` just before the rename, and may raise (a cancel) to leave no run at all:
        a run is in the registry with everything it needs, or not there.
        """
        if self.out is not None:
            record = {**record, "id": self.run_id}
            if before_rename is not None:
                before_rename(self.run_id)
            write_json(self.tmp / RUN_FILE, record)
            if self.out.exists():
                self.out.rmdir()  # empty (checked above)
            move_into_place(self.tmp, self.out)
            self.final = self.out
            return RunInfo(self.out, record)
        base = self.run_id
        for n in range(1, 1000):
            rid = base if n == 1 else f"{base}-{n}"
            target = self.parent / rid
            if target.exists():
                continue
            record = {**record, "id": rid}
            if before_rename is not None:
                before_rename(rid)
            write_json(self.tmp / RUN_FILE, record)
            try:
                move_into_place(self.tmp, target, replace=False)  # fails if another writer took the name
            except OSError:
                if target.exists():
                    continue
                raise
            self.run_id = rid
            self.final = target
            return RunInfo(target, record)
        raise ModelError(f"cannot find a free run id for {base} in {self.parent}")


# --------------------------------------------------------------------------------------------
# Loading a model (imports Keras)


def model_layers_with(path: Path, class_names: tuple[str, ...] = ("Lambda",)) -> list[str]:
    """Paths (``model/inner/layer``) of layers of the given classes in a ``.keras`` file's config."""
    with zipfile.ZipFile(path) as z:
        config = json.loads(z.read("config.json"))
    found: list[str] = []

    def walk(node: Any, where: list[str]) -> None:
        if isinstance(node, dict):
            name = node.get("config", {}).get("name") if isinstance(node.get("config"), dict) else None
            here = where + [name] if isinstance(name, str) and "class_name" in node else where
            if node.get("class_name") in class_names:
                found.append("/".join(here))
            for v in node.values():
                walk(v, here)
        elif isinstance(node, list):
            for v in node:
                walk(v, where)

    walk(config, [])
    return found


def load_model(run: RunInfo | str | os.PathLike[str], fingerprint: str | None = None):
    """Load a run's model with Keras' safe mode, checking it against the run's record.

    Refused with ModelError: a model with a ``Lambda`` layer (arbitrary Python code, which safe
    mode never runs), a missing, truncated or corrupt file, and a model whose outputs do not
    match the schemes and class counts in run.json.
    """
    run = get_run(run, fingerprint)
    if run.backbone_id != run.id:
        return _load_heads_run(run)
    path = run.model_path
    if not path.exists():
        raise ModelError(f"{path}: the run has no model file")
    try:
        lambdas = model_layers_with(path)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise ModelError(f"{path}: not a readable Keras model file (truncated or corrupt: "
                         f"{type(exc).__name__}: {exc})") from exc
    if lambdas:
        raise ModelError(f"{path}: refused: the model contains a Lambda layer ({', '.join(lambdas)}), "
                         "i.e. arbitrary Python code, which Keras' safe mode does not load; "
                         "retrain it with a shipped recipe")

    import keras

    from fashion_review.modeling.losses import custom_objects

    try:
        model = keras.saving.load_model(path, safe_mode=True, compile=False, custom_objects=custom_objects())
    except Exception as exc:  # noqa: BLE001 - Keras, h5py and zipfile raise many kinds
        text = " ".join(str(exc).split())[:300]
        if "safe_mode" in text or "lambda" in text.lower():
            raise ModelError(f"{path}: refused by Keras' safe mode (it holds arbitrary code): {text}") from exc
        raise ModelError(f"{path}: cannot load the model (truncated or corrupt file?): "
                         f"{type(exc).__name__}: {text}") from exc
    check_model_matches(model, run)
    return model


def backbone_run(run: RunInfo) -> RunInfo:
    """The run holding ``run``'s backbone (``run`` itself for a full model); ModelError when it is gone."""
    if run.backbone_id == run.id:
        return run
    folder = run.path.parent / run.backbone_id
    try:
        base = read_run(folder)
    except ModelError:
        raise ModelError(f"run {run.id} stores only its heads ({HEADS_FILE}); its backbone is the model of run "
                         f"{run.backbone_id}, which is missing ({folder}): restore that run folder") from None
    if base.backbone_id != base.id:
        raise ModelError(f"{base.path}: run {base.id}, named as the backbone of {run.id}, holds no backbone itself")
    return base


def _load_heads_run(run: RunInfo):  # noqa: ANN202 - keras.Model
    """A heads-only run's model: its backbone run's model with the heads from ``heads.keras`` on it."""
    base = backbone_run(run)
    model = load_model(base)
    path = run.heads_path
    if not path.exists():
        raise ModelError(f"{path}: the run has no heads file")
    try:
        lambdas = model_layers_with(path)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise ModelError(f"{path}: not a readable Keras model file (truncated or corrupt: "
                         f"{type(exc).__name__}: {exc})") from exc
    if lambdas:
        raise ModelError(f"{path}: refused: the heads contain a Lambda layer ({', '.join(lambdas)})")
    import keras

    from fashion_review.modeling.losses import custom_objects
    from fashion_review.modeling.surgery import compose

    try:
        saved = keras.saving.load_model(path, safe_mode=True, compile=False, custom_objects=custom_objects())
    except Exception as exc:  # noqa: BLE001 - Keras, h5py and zipfile raise many kinds
        text = " ".join(str(exc).split())[:300]
        raise ModelError(f"{path}: cannot load the heads (truncated or corrupt file?): "
                         f"{type(exc).__name__}: {text}") from exc
    composed = compose(model, base.classes, run.classes, saved)
    check_model_matches(composed, run)
    return composed


def check_model_matches(model: Any, run: RunInfo) -> None:
    """ModelError unless the model's outputs are the run's schemes with its class counts."""
    names = list(model.output_names)
    outputs = model.outputs
    counts = {n: int(o.shape[-1]) for n, o in zip(names, outputs)}
    expected = {s: len(c) for s, c in run.classes.items()}
    if set(counts) != set(expected):
        raise ModelError(f"{run.model_path}: the model's outputs {sorted(counts)} do not match the schemes "
                         f"of the run record {sorted(expected)} ({run.path / RUN_FILE})")
    bad = {s: (counts[s], expected[s]) for s in expected if counts[s] != expected[s]}
    if bad:
        detail = ", ".join(f"{s}: model {m}, record {r}" for s, (m, r) in bad.items())
        raise ModelError(f"{run.model_path}: class counts do not match the run record ({detail}); "
                         f"the model file and {RUN_FILE} are from different runs")


def read_split(run: RunInfo) -> pd.Series:
    """id -> part of the products the run trained and was validated / tested on (its split.csv).

    A multihead run takes every product's part from one scheme's split, so for its models this,
    not ``Dataset.split(scheme)``, says which products were held out.
    """
    import pandas as pd

    try:
        df = pd.read_csv(run.split_path, usecols=["id", "part"], dtype={"id": "int64", "part": str})
    except FileNotFoundError:
        raise ModelError(f"{run.split_path}: the run has no split file; it cannot be evaluated") from None
    except (ValueError, pd.errors.ParserError) as exc:
        raise ModelError(f"{run.split_path}: not a readable split file ({exc})") from exc
    return pd.Series(df["part"].to_numpy(dtype=object), index=pd.Index(df["id"].to_numpy(), name="id"), name="part")
