"""Versions of one styles.csv: a curator's work follows the file when it is edited or grows.

A data set is identified by the fingerprint of its styles.csv, so any edit (a grown file, or the
tool's own export written over it) opens a new data set folder.  Each folder's ``source.json``
says which file it was read from; the *earlier versions* of a data set are the other folders read
from the same path, newest first.  On the first opening of a new version:

* the corrections history of the newest earlier version that has one is carried over
  (:meth:`fashion_review.data.corrections.CorrectionStore.carry_over_from`: each corrected field
  is *applied*, *pending*, a *conflict* to resolve, or an *orphan*), and ``lineage.json`` records
  where it came from;
* the splits start from the earlier version's (``Dataset.split``), and the model registry follows
  (``training.registry.active_run`` adopts the earlier version's active run, see there).

No Qt, no TensorFlow.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from fashion_review import paths
from fashion_review.fsutil import atomic_write_json

SOURCE_FILE = "source.json"
LINEAGE_FILE = "lineage.json"


def earlier_versions(fingerprint: str, csv_path: str | Path) -> list[Path]:
    """Home folders of the other data sets read from ``csv_path``, the most recently opened first."""
    found: list[tuple[str, Path]] = []
    for src in paths.home().joinpath("datasets").glob(f"*/{SOURCE_FILE}"):
        if src.parent.name == fingerprint:
            continue
        try:
            info = json.loads(src.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(info, dict) and info.get("csv_path") == str(csv_path):
            found.append((str(info.get("opened", "")), src.parent))
    found.sort(key=lambda t: t[0], reverse=True)
    return [p for _, p in found]


def newest_earlier_with(fingerprint: str, csv_path: str | Path, relative: str | Path) -> Path | None:
    """``<folder>/relative`` of the newest earlier version that has it."""
    for folder in earlier_versions(fingerprint, csv_path):
        candidate = folder / relative
        if candidate.exists():
            return candidate
    return None


def carried_from(fingerprint: str) -> str | None:
    """The fingerprint of the earlier version this data set's history was carried over from."""
    try:
        info = json.loads((paths.home() / "datasets" / fingerprint / LINEAGE_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    value = info.get("carried_from") if isinstance(info, dict) else None
    return str(value) if value else None


def carry_over(ds: Any) -> dict[str, Any] | None:
    """Carry the newest earlier version's corrections into ``ds`` (a new version), once.

    Only into a store with no history of its own and no lineage yet.  Returns what was done
    (``{"from": fingerprint, "counts": {state: n}}``), or None when there was nothing to carry.
    """
    from fashion_review.data.corrections import FILE_NAME

    store = ds.store
    if store.lineage() or store.batches():
        return None
    earlier_db = newest_earlier_with(ds.fingerprint, ds.catalog.csv_path, FILE_NAME)
    if earlier_db is None:
        return None
    earlier_fp = earlier_db.parent.name
    df = ds.catalog.df
    columns = set(ds.catalog.columns) - {"id"}

    def file_value(pid: int, field: str) -> str | None:
        if pid not in df.index:
            return None
        return str(df.at[pid, field]) if field in columns else ""

    counts = store.carry_over_from(earlier_db, earlier_fp, str(ds.catalog.csv_path), file_value, columns)
    atomic_write_json(ds.home / LINEAGE_FILE, {
        "carried_from": earlier_fp, "csv_path": str(ds.catalog.csv_path),
        "carried_at": datetime.now(timezone.utc).isoformat(), "counts": counts})
    return {"from": earlier_fp, "counts": counts}
