"""Versions of one styles.csv: a curator's work follows the file when it is edited or grows.

Each corrected field carried over stands in one of :data:`CARRIED_STATES` against the new file
(:func:`field_state`): *applied* (the file now holds the corrected value, e.g. the tool's own export
written over it), *pending* (the file still holds the old value: the correction applies as
before), *conflict* (the file changed the field to something else: the curator's value stays in
force until the curator resolves it, keeping theirs or taking the file's) or *orphan* (the product
is gone).  :class:`VersionHistory` holds the corrections store's part of it (the store is one).

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
import sqlite3
from collections.abc import Callable
from datetime import datetime, timezone
from os import PathLike
from pathlib import Path
from types import ModuleType
from typing import Any

from fashion_review import paths
from fashion_review.errors import DataError
from fashion_review.fsutil import atomic_write_json

#: How a correction carried over from an earlier version of styles.csv stands against the new file.
CARRIED_STATES = ("applied", "pending", "conflict", "orphan")

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


def field_state(file_now: str | None, corrected: str, first_old: str, in_file: bool) -> str:
    """The state of one carried-over correction (see the module docstring).

    ``file_now``: the new file's value (None: the product is gone); ``corrected``: the value the
    correction set; ``first_old``: the value the field held before its first correction;
    ``in_file``: whether the file has the field at all (``excluded`` and confirmations do not).
    """
    if file_now is None:
        return "orphan"
    if not in_file:
        return "pending"
    if file_now == corrected:
        return "applied"
    if file_now == first_old:
        return "pending"
    return "conflict"


def _corrections() -> ModuleType:
    from fashion_review.data import corrections  # imports this module at its top: here, at call time

    return corrections


class VersionHistory:
    """The corrections store's versions part: carry an earlier version's history over, its
    carried states, the conflicts and their resolution.  Mixed into
    :class:`~fashion_review.data.corrections.CorrectionStore` (its connection, lock and writers)."""

    def lineage(self) -> list[dict[str, object]]:
        """The earlier versions whose history this store carries, oldest first."""
        rows = self._read("SELECT fingerprint, csv_path, carried_at, batches FROM lineage ORDER BY id")
        return [{"fingerprint": r[0], "csv_path": r[1], "carried_at": r[2], "batches": r[3]} for r in rows]

    def carry_over_from(self, earlier: str | PathLike[str], fingerprint: str, csv_path: str,
                        file_value: Callable[[int, str], str | None], file_fields: set[str]) -> dict[str, int]:
        """Copy the whole history of the earlier version's store ``earlier`` into this (empty) store
        and classify each corrected field against the new file (see the module docstring: :func:`field_state`).

        ``file_value(product, field)``: the new file's value, None when the product is not in it;
        ``file_fields``: the fields the file holds (others, like ``excluded``, stay *pending*).
        Returns the count per state.  DataError when this store already has a history.
        """
        earlier = Path(earlier)
        with self._lock:
            conn = self._conn
            try:
                conn.execute("ATTACH DATABASE ? AS earlier", (str(earlier),))  # not allowed inside a transaction
            except sqlite3.Error as exc:
                raise self._error(exc) from exc
            try:
                with self._write() as conn:  # the store's one write transaction, inside the attachment
                    counts = self._carry(conn, earlier, fingerprint, csv_path, file_value, file_fields)
            finally:
                conn.execute("DETACH DATABASE earlier")
        return counts

    def _carry(self, conn: sqlite3.Connection, earlier: Path, fingerprint: str, csv_path: str,
               file_value: Callable[[int, str], str | None], file_fields: set[str]) -> dict[str, int]:
        if conn.execute("SELECT count(*) FROM batches").fetchone()[0]:
            raise DataError(f"{self.path} already has corrections of its own; the history of "
                            f"{earlier} was not carried over")
        cols = {r[1] for r in conn.execute("PRAGMA earlier.table_info(batches)")}
        if not cols:
            raise DataError(f"{earlier}: not a corrections database")
        session = "session" if "session" in cols else "NULL"
        carried = "carried_from" if "carried_from" in cols else "NULL"
        conn.execute(
            "INSERT INTO batches (id, created_at, author, source, model_version, note, state, session,"
            f" carried_from) SELECT id, created_at, author, source, model_version, note, state, {session},"
            f" coalesce({carried}, ?) FROM earlier.batches ORDER BY id", (fingerprint,))
        conn.execute("INSERT INTO corrections (seq, batch_id, product_id, field, old_value, new_value)"
                     " SELECT seq, batch_id, product_id, field, old_value, new_value FROM earlier.corrections"
                     " ORDER BY seq")
        conn.execute("INSERT INTO undo_events (id, batch_id, action, created_at)"
                     " SELECT id, batch_id, action, created_at FROM earlier.undo_events ORDER BY id")
        tables = {r[0] for r in conn.execute("SELECT name FROM earlier.sqlite_master WHERE type = 'table'")}
        if "lineage" in tables:
            conn.execute("INSERT INTO lineage (fingerprint, csv_path, carried_at, batches)"
                         " SELECT fingerprint, csv_path, carried_at, batches FROM earlier.lineage ORDER BY id")
        resolved: dict = {}
        if "carried" in tables:
            resolved = {(r[0], r[1]): r[2:] for r in conn.execute(
                "SELECT product_id, field, resolved, resolved_at, resolved_by, corrected_value, file_value"
                " FROM earlier.carried WHERE resolved IS NOT NULL")}
        n = conn.execute("SELECT count(*) FROM earlier.batches").fetchone()[0]
        conn.execute("INSERT INTO lineage (fingerprint, csv_path, carried_at, batches) VALUES (?, ?, ?, ?)",
                     (fingerprint, csv_path, _corrections()._now(), int(n)))
        counts = dict.fromkeys(CARRIED_STATES, 0)
        rows = conn.execute(
            "SELECT c.product_id, c.field, c.new_value, max(c.seq),"
            " (SELECT c0.old_value FROM corrections AS c0 WHERE c0.product_id = c.product_id"
            "  AND c0.field = c.field ORDER BY c0.seq LIMIT 1)"
            " FROM corrections AS c JOIN batches AS b ON b.id = c.batch_id"
            " WHERE b.state = 'active' GROUP BY c.product_id, c.field").fetchall()
        out = []
        for pid, fld, value, _seq, first_old in rows:
            now = file_value(int(pid), fld)
            state = field_state(now, value, first_old, fld in file_fields)
            choice = resolved.get((pid, fld))
            if state == "conflict" and choice is not None and choice[0] == "mine" and choice[3] == value \
                    and choice[4] == now:
                out.append((pid, fld, state, value, now, *choice[:3]))  # the same conflict, resolved before
            else:
                out.append((pid, fld, state, value, now, None, None, None))
            counts[state] += 1
        conn.executemany("INSERT INTO carried (product_id, field, state, corrected_value, file_value, resolved,"
                         " resolved_at, resolved_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", out)
        return counts

    def carried(self, state: str | None = None) -> list[dict[str, object]]:
        """The corrections carried over from the earlier version, with their state against the new file."""
        sql = ("SELECT product_id, field, state, corrected_value, file_value, resolved, resolved_at, resolved_by"
               " FROM carried" + (" WHERE state = ?" if state else "") + " ORDER BY product_id, field")
        rows = self._read(sql, (state,) if state else ())
        keys = ("product_id", "field", "state", "corrected_value", "file_value", "resolved", "resolved_at",
                "resolved_by")
        return [dict(zip(keys, r)) for r in rows]

    def conflicts(self) -> list[dict[str, object]]:
        """Carried corrections of a field the edited file changed to another value, not yet resolved.

        Until resolved, the curator's value stays in force (nothing a curator did is dropped).
        """
        return [c for c in self.carried("conflict") if c["resolved"] is None]

    def resolve(self, product_id: int, field: str, keep: str, *, author: str = "curator") -> int | None:
        """Resolve a conflict: ``keep="mine"`` keeps the curator's value; ``keep="file"`` takes the
        file's, recorded as a correction (source "import", undoable).  Returns that batch id (None
        for "mine")."""
        if keep not in ("mine", "file"):
            raise ValueError(f"keep must be 'mine' or 'file', got {keep!r}")
        with self._write() as conn:
            row = conn.execute("SELECT corrected_value, file_value, resolved FROM carried WHERE product_id = ?"
                               " AND field = ? AND state = 'conflict'", (int(product_id), field)).fetchone()
            if row is None:
                raise DataError(f"product {product_id} {field}: no conflict with the edited styles.csv to resolve")
            if row[2] is not None:
                raise DataError(f"product {product_id} {field}: resolved already (kept {row[2]})")
            batch = None
            if keep == "file":
                now = self._current(conn, [(int(product_id), field)]).get((int(product_id), field))
                current = now[0] if now is not None else row[0]
                batch = self._insert_batch(conn, [_corrections().Change(int(product_id), field, current, row[1])], author,
                                           "import", None, "conflict with the edited styles.csv: the file's value")
            conn.execute("UPDATE carried SET resolved = ?, resolved_at = ?, resolved_by = ? WHERE product_id = ?"
                         " AND field = ?", (keep, _corrections()._now(), author, int(product_id), field))
            return batch
