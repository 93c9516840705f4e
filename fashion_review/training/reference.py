"""The reference model shipped with the app, and its import into a data set's registry.

``resources/reference-model/`` (written by ``scripts/train_reference.py``) holds an
``xception-lite`` model trained on the full *Fashion Product Images (Small)* data set with the
bundled sample's products held out, so a curator without a GPU (or without an hour to train) sees
real predictions on the first day::

    weights.npz         the model's weights in float16 (half the size of a float32 ``.keras``: the
                        app's resources stay under 10 MB; float16 keeps ~3 significant digits,
                        which changes no prediction measurably: see the model card)
    reference.json      recipe, schemes, classes, test metrics, what it was trained on, date, commit
    seen.csv.gz         id, part, name_crc of every product it trained or validated on
    MODEL_CARD.md       data, split, accuracy, date, commit

:func:`import_reference` copies it into a data set's registry as an ordinary run marked
``"reference": {...}`` ("reference, not trained on this catalog"), so the confusion view, the
review score, retrain heads and evaluate work on it unchanged.  Its classes are its own; the
catalog's labels are matched to them by name (a label the model does not know is counted as
such wherever accuracy is shown).  The run's ``split.csv`` says which of this catalog's products
the model has seen: a product counts as seen when its id *and* its name are those of a product it
trained on (``train``) or validated on (``val``); every other product is ``test``, i.e. out of
sample.  No Keras at module level: the app imports this module at start-up; importing the model
into a registry builds it (in a worker, in the app).
"""

from __future__ import annotations

import gzip
import io
import json
import shutil
import time
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from fashion_review import paths
from fashion_review.errors import ModelError
from fashion_review.fsutil import atomic_file
from fashion_review.training import registry

REFERENCE_FILE = "reference.json"
WEIGHTS_FILE = "weights.npz"
SEEN_FILE = "seen.csv.gz"
CARD_FILE = "MODEL_CARD.md"
RUN_PREFIX = "reference-"
NOTE = "reference, not trained on this catalog"


def reference_dir() -> Path:
    return paths.REFERENCE_MODEL


def available(folder: Path | None = None) -> bool:
    """Whether a reference model is shipped (the model and its record are there)."""
    folder = reference_dir() if folder is None else folder
    return (folder / WEIGHTS_FILE).is_file() and (folder / REFERENCE_FILE).is_file()


def read_reference(folder: Path | None = None) -> dict[str, Any]:
    folder = reference_dir() if folder is None else folder
    f = folder / REFERENCE_FILE
    try:
        record = json.loads(f.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelError(f"no reference model in {folder} (this install ships none; train one with "
                         "`fashion-review train`)") from None
    except (OSError, ValueError) as exc:
        raise ModelError(f"{f}: not a readable reference record ({exc})") from exc
    if not isinstance(record, dict) or "schemes" not in record or "classes" not in record:
        raise ModelError(f"{f}: not a reference record (no schemes/classes)")
    return record


def name_crc(names: Any) -> np.ndarray:
    """CRC-32 of each product name (how ``seen.csv.gz`` tells the same product under the same id)."""
    return np.array([zlib.crc32(str(n).strip().encode("utf-8")) for n in names], dtype=np.int64)


def write_seen(path: Path, ids: np.ndarray, parts: np.ndarray, names: Any) -> None:
    frame = pd.DataFrame({"id": np.asarray(ids, dtype=np.int64), "part": np.asarray(parts, dtype=object),
                          "name_crc": name_crc(names)}).sort_values("id")
    buf = io.StringIO()
    frame.to_csv(buf, index=False)
    # mtime 0 and the target's own name in the header: the same bytes for the same content.
    with atomic_file(path, "wb") as raw, gzip.GzipFile(str(path), "wb", fileobj=raw, mtime=0) as f:
        f.write(buf.getvalue().encode("utf-8"))


def read_seen(folder: Path | None = None) -> pd.DataFrame:
    folder = reference_dir() if folder is None else folder
    f = folder / SEEN_FILE
    if not f.exists():
        return pd.DataFrame({"id": pd.Series([], dtype=np.int64), "part": pd.Series([], dtype=object),
                             "name_crc": pd.Series([], dtype=np.int64)})
    return pd.read_csv(f, dtype={"id": np.int64, "part": str, "name_crc": np.int64})


def write_weights(path: Path, model: Any) -> None:
    """The model's weights as float16 arrays ``w000, w001, ...`` in ``model.get_weights()`` order."""
    arrays = {f"w{i:03d}": np.asarray(w, dtype=np.float16) for i, w in enumerate(model.get_weights())}
    with atomic_file(path, "wb") as f:
        np.savez_compressed(f, **arrays)


def build_model(ref: dict[str, Any], folder: Path | None = None) -> Any:
    """The reference model (float32) from its recipe, classes and float16 weights (imports Keras)."""
    from fashion_review.modeling import make_model
    from fashion_review.modeling.recipes import Recipe

    folder = reference_dir() if folder is None else folder
    recipe = Recipe.from_dict(ref["recipe"], where=f"{folder / REFERENCE_FILE} (recipe)")
    model = make_model(recipe, {s: len(ref["classes"][s]) for s in ref["schemes"]}, weights="none")
    try:
        with np.load(folder / WEIGHTS_FILE) as z:
            weights = [z[k].astype(np.float32) for k in sorted(z.files)]
        model.set_weights(weights)
    except (OSError, ValueError, KeyError) as exc:
        raise ModelError(f"{folder / WEIGHTS_FILE}: the reference weights cannot be read or do not fit its "
                         f"recipe ({type(exc).__name__}: {exc})") from exc
    return model


def find_imported(fingerprint: str) -> registry.RunInfo | None:
    """The data set's run imported from the reference model, if any (the newest)."""
    for run in reversed(registry.list_runs(fingerprint)):
        if is_reference(run):
            return run
    return None


def parts_for(ds: Any, seen: pd.DataFrame) -> pd.DataFrame:
    """``id, part`` for every product of ``ds`` with an image: what the reference model saw of it."""
    df = ds.catalog.df
    ids = df.index[df["has_image"].to_numpy()].to_numpy(dtype=np.int64)
    names = df.loc[ids, "productDisplayName"] if "productDisplayName" in df else pd.Series("", index=ids)
    crc = name_crc(names.to_numpy())
    known = seen.set_index("id")
    part = np.full(len(ids), "test", dtype=object)
    hit = np.isin(ids, known.index.to_numpy())
    if hit.any():
        rows = known.loc[ids[hit]]
        same = rows["name_crc"].to_numpy() == crc[hit]
        idx = np.flatnonzero(hit)[same]
        part[idx] = rows["part"].to_numpy(dtype=object)[same]
    return pd.DataFrame({"id": ids, "part": part})


def import_reference(ds: Any, *, activate: bool = True, folder: Path | None = None) -> registry.RunInfo:
    """Copy the reference model into ``ds``'s registry as a run (once; later calls return it)."""
    existing = find_imported(ds.fingerprint)
    if existing is not None:
        if activate and registry.active_run(ds.fingerprint) is None:
            registry.activate(ds.fingerprint, existing.id)
        return existing
    folder = reference_dir() if folder is None else folder
    ref = read_reference(folder)
    split = parts_for(ds, read_seen(folder))
    run_id = RUN_PREFIX + str(ref.get("id", "xception-lite"))
    seen = int((split["part"] != "test").sum())
    record = {
        "format": registry.RUN_FORMAT,
        "recipe": ref["recipe"],
        "schemes": ref["schemes"],
        "classes": ref["classes"],
        "image_size": ref.get("image_size"),
        "input_shape": ref.get("input_shape", [80, 60, 3]),
        "weights": "reference model",
        "min_images": ds.default_min_images,
        "reference": {
            "note": NOTE,
            "source": str(folder),
            "trained_on": ref.get("trained_on", {}),
            "reference_metrics": ref.get("metrics", {}),
            "created": ref.get("created"),
            "commit": ref.get("commit"),
            "products_seen_in_training": seen,
        },
        "data": {
            "fingerprint": ds.fingerprint, "csv": str(ds.catalog.csv_path), "images": str(ds.catalog.images_dir),
            "skip_malformed": bool(getattr(ds.catalog, "skip_malformed", False)),
            "part_scheme": "reference", "corrections": None, "excluded": None,
            "products": {p: int((split["part"] == p).sum()) for p in ("train", "val", "test")},
        },
        "training": {"imported": True, "device": ref.get("training", {}).get("device"),
                     "images_per_s": ref.get("training", {}).get("images_per_s")},
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "versions": ref.get("versions", {}),
        "metrics": {},
    }
    model = build_model(ref, folder)
    with registry.RunWriter(ds.fingerprint, run_id) as writer:
        model.save(writer.path / registry.MODEL_FILE)
        if (folder / registry.HISTORY_FILE).exists():
            shutil.copyfile(folder / registry.HISTORY_FILE, writer.path / registry.HISTORY_FILE)
        split.to_csv(writer.path / registry.SPLIT_FILE, index=False)
        run = writer.commit(record)
    if activate and registry.active_run(ds.fingerprint) is None:
        registry.activate(ds.fingerprint, run.id)
    return run


def is_reference(run: Any) -> bool:
    """Whether ``run`` is the imported reference model itself.  A run made from it (retrained heads:
    ``parent``) is not, though heads runs made before 2026-12-08 copied its ``reference`` record."""
    rec = getattr(run, "record", {})
    return bool(rec.get("reference")) and not rec.get("parent")


def parts_kept_from(parent: Any) -> tuple[str, ...]:
    """The parts of ``parent``'s recorded split that a retraining of its heads keeps for a product: all
    of them, but of the reference model only train and val.  Its split says "test" for every product
    it never saw (all of the bundled sample), not for a test part of this catalog: those take the
    stored split's part like any product the parent never saw (else on the sample nothing trains)."""
    from fashion_review.data.splits import PARTS

    return ("train", "val") if is_reference(parent) else PARTS
