"""The curators' corrections store: one SQLite database (WAL) per data set.

Every change a curator makes to a product's label (or to whether it is used for training)
is a *correction*, committed to disk before the call that makes it returns.  Corrections are
grouped in *batches*: a single edit is a batch of one, a bulk action is one batch written in
one transaction.  Undo and redo work on whole batches and never delete anything: an undone
batch stays in the history, marked undone, and each undo/redo is logged as an event.  Undo
state lives in the database, so a later process can undo what an earlier one did.

A curator can also *confirm* a label ("the label is right"): a correction of the field
``confirmed:<scheme>`` whose new value is the label confirmed (:func:`confirmed_field`).  It
changes no label (the effective catalog ignores it), takes a product out of the label-issue queue
while its label stays the one confirmed, and is undone and redone like any other correction.

Only the standard library is used here (no Qt, no TensorFlow).
"""

from __future__ import annotations

import numbers
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from os import PathLike
from pathlib import Path
from types import TracebackType
from typing import Literal, TypedDict

from fashion_review import paths
from fashion_review.errors import DataError

__all__ = [
    "CONFIRMED",
    "EXCLUDED",
    "FILE_NAME",
    "SCHEMA_VERSION",
    "SOURCES",
    "BatchInfo",
    "Change",
    "Correction",
    "CorrectionStore",
    "confirmed_field",
]

#: File name of the store inside a data set's folder.
FILE_NAME = "corrections.sqlite"
#: Stored as ``PRAGMA user_version``; bump it (and migrate) when the schema changes.
SCHEMA_VERSION = 1
#: The special field that says whether a product is excluded from training ("true"/"false").
EXCLUDED = "excluded"
#: The correction kind "the label is right": field ``confirmed:<scheme>``, value the label confirmed.
CONFIRMED = "confirmed"
#: Who or what made a batch of corrections.
SOURCES = ("curator", "prediction", "bulk", "import")

Source = Literal["curator", "prediction", "bulk", "import"]
BatchState = Literal["active", "undone", "discarded"]

_BOOL_VALUES = ("true", "false")
_BUSY_TIMEOUT_S = 10.0

_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS batches (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at    TEXT    NOT NULL,
    author        TEXT    NOT NULL CHECK (author <> ''),
    source        TEXT    NOT NULL CHECK (source IN ({", ".join(repr(s) for s in SOURCES)})),
    model_version TEXT,
    note          TEXT,
    -- active: applies; undone: undone and redoable; discarded: undone, then a new batch
    -- was recorded, so it can no longer be redone.  Rows are never deleted.
    state         TEXT    NOT NULL DEFAULT 'active'
                          CHECK (state IN ('active', 'undone', 'discarded'))
);
CREATE TABLE IF NOT EXISTS corrections (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    batch_id   INTEGER NOT NULL REFERENCES batches (id),
    product_id INTEGER NOT NULL CHECK (typeof(product_id) = 'integer'),
    field      TEXT    NOT NULL CHECK (field <> '' AND field <> 'id'),
    old_value  TEXT    NOT NULL,
    new_value  TEXT    NOT NULL,
    CHECK (field <> '{EXCLUDED}' OR new_value IN ('true', 'false'))
);
CREATE INDEX IF NOT EXISTS corrections_by_target ON corrections (product_id, field, seq);
CREATE INDEX IF NOT EXISTS corrections_by_batch ON corrections (batch_id);
CREATE INDEX IF NOT EXISTS batches_by_state ON batches (state, id);
CREATE TABLE IF NOT EXISTS undo_events (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    batch_id   INTEGER NOT NULL REFERENCES batches (id),
    action     TEXT    NOT NULL CHECK (action IN ('undo', 'redo')),
    created_at TEXT    NOT NULL
);
"""
_OUR_TABLES = {"batches", "corrections", "undo_events", "sqlite_sequence"}


@dataclass(frozen=True)
class Change:
    """One field of one product going from ``old_value`` to ``new_value``."""

    product_id: int
    field: str
    old_value: str
    new_value: str


@dataclass(frozen=True)
class Correction:
    """A recorded change with who made it and when; ``active`` is False once undone."""

    seq: int
    batch_id: int
    product_id: int
    field: str
    old_value: str
    new_value: str
    author: str
    source: str
    model_version: str | None
    note: str | None
    created_at: str
    active: bool


class BatchInfo(TypedDict):
    """One row of the history panel."""

    id: int
    created_at: str
    author: str
    source: str
    model_version: str | None
    note: str | None
    n_changes: int
    state: BatchState


def confirmed_field(scheme: str) -> str:
    """The field a confirmation of ``scheme``'s label is recorded under (``confirmed:articleType``)."""
    if not scheme or ":" in scheme:
        raise ValueError(f"not a scheme name: {scheme!r}")
    return f"{CONFIRMED}:{scheme}"


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")


def _check_change(change: Change) -> Change:
    """Return ``change`` with a plain ``int`` id (numpy ints welcome), or raise."""
    if not isinstance(change, Change):
        raise TypeError(f"expected a Change, got {type(change).__name__}")
    pid = change.product_id
    if isinstance(pid, bool) or not isinstance(pid, numbers.Integral):
        raise TypeError(f"product_id must be an int, got {pid!r}")
    if not isinstance(change.field, str):
        raise TypeError(f"field must be a str, got {change.field!r}")
    if change.field in ("", "id"):
        raise ValueError(f"cannot correct the field {change.field!r}")
    for name in ("old_value", "new_value"):
        value = getattr(change, name)
        if not isinstance(value, str):
            raise TypeError(f"{name} must be a str, got {value!r} for product {pid}")
    if change.field == EXCLUDED:
        for value in (change.old_value, change.new_value):
            if value not in _BOOL_VALUES:
                raise ValueError(f"{EXCLUDED!r} values must be 'true' or 'false', got {value!r}")
    if change.field in (CONFIRMED, CONFIRMED + ":"):
        raise ValueError(f"a confirmation names its scheme ({CONFIRMED}:<scheme>), got {change.field!r}")
    if type(pid) is not int:
        change = Change(int(pid), change.field, change.old_value, change.new_value)
    return change


class CorrectionStore:
    """Corrections of one data set, kept in a SQLite database.

    Safe to share between threads (one connection behind a lock) and between processes
    (SQLite locking).  Use as a context manager, or call :meth:`close`.
    """

    def __init__(self, path: str | PathLike[str]) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._conn = self._open()

    @classmethod
    def for_dataset(cls, fingerprint: str) -> CorrectionStore:
        """The store of the data set with this fingerprint, under the home folder."""
        try:
            folder = paths.dataset_home(fingerprint)
        except OSError as exc:
            raise DataError(
                f"Cannot create the data set folder for the corrections database ({exc}). "
                "Choose a writable home folder with --home DIR or FASHION_REVIEW_HOME."
            ) from exc
        return cls(folder / FILE_NAME)

    # -- opening -----------------------------------------------------------------------

    def _open(self) -> sqlite3.Connection:
        try:
            conn = sqlite3.connect(
                self.path,
                timeout=_BUSY_TIMEOUT_S,
                isolation_level=None,  # we issue BEGIN/COMMIT ourselves
                check_same_thread=False,  # guarded by self._lock
            )
        except sqlite3.Error as exc:
            raise self._error(exc) from exc
        try:
            self._prepare(conn)
        except BaseException as exc:
            conn.close()
            if isinstance(exc, sqlite3.Error):
                raise self._error(exc) from exc
            raise
        return conn

    def _prepare(self, conn: sqlite3.Connection) -> None:
        # Read before writing anything: a file that is not ours must be left untouched.
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise DataError(
                f"{self.path} was written by a newer version of fashion-review (schema "
                f"{version}, this version reads up to {SCHEMA_VERSION}). Upgrade fashion-review."
            )
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if version == 0 and tables - _OUR_TABLES:
            raise DataError(
                f"{self.path} is an SQLite database but not a corrections database; it was left "
                "untouched. Move it aside or choose another home folder (--home DIR)."
            )
        check = [r[0] for r in conn.execute("PRAGMA quick_check")]
        if check != ["ok"]:
            raise self._damaged("; ".join(check[:3]))
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            raise DataError(
                f"Cannot use write-ahead logging for {self.path} (journal mode stays {mode!r}); "
                "put the home folder on a local disk (--home DIR)."
            )
        conn.execute("PRAGMA synchronous = FULL")
        conn.execute("PRAGMA foreign_keys = ON")
        # Always write once on opening, so a read-only file or folder is reported now
        # rather than at the curator's first edit.
        try:
            conn.executescript(
                f"BEGIN IMMEDIATE; {_SCHEMA}; PRAGMA user_version = {SCHEMA_VERSION}; COMMIT;"
            )
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise

    def _damaged(self, detail: str) -> DataError:
        return DataError(
            f"The corrections database {self.path} is not a valid SQLite database or is "
            f"damaged ({detail}). It was left untouched: move it aside (or restore a backup) "
            "and reopen the data set to start a new one."
        )

    def _error(self, exc: sqlite3.Error) -> DataError:
        """A user-facing DataError for an SQLite error on this store's file."""
        name = getattr(exc, "sqlite_errorname", "") or ""
        if name.startswith(("SQLITE_NOTADB", "SQLITE_CORRUPT")):
            return self._damaged(str(exc))
        if name.startswith(("SQLITE_READONLY", "SQLITE_CANTOPEN", "SQLITE_PERM")):
            return DataError(
                f"Cannot write the corrections database {self.path} ({exc}): the file or its "
                f"folder {self.path.parent} is missing or read-only. Choose a writable home "
                "folder with --home DIR (or FASHION_REVIEW_HOME), or fix the permissions."
            )
        if name.startswith(("SQLITE_FULL", "SQLITE_IOERR")):
            return DataError(
                f"Cannot write the corrections database {self.path} ({exc}). Check that the "
                "disk is not full and is still mounted, then retry."
            )
        if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")):
            return DataError(
                f"The corrections database {self.path} is locked by another program ({exc}). "
                "Close other fashion-review windows using this data set and retry."
            )
        return DataError(f"Corrections database {self.path}: {exc}")

    # -- writing -----------------------------------------------------------------------

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, committed (and synced) on exit, rolled back on error."""
        with self._lock:
            conn = self._conn
            try:
                conn.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise self._error(exc) from exc
            try:
                yield conn
                conn.execute("COMMIT")
            except BaseException as exc:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                if isinstance(exc, sqlite3.Error) and not isinstance(exc, sqlite3.IntegrityError):
                    raise self._error(exc) from exc
                raise

    def record(
        self,
        changes: Sequence[Change],
        *,
        author: str = "curator",
        source: Source = "curator",
        model_version: str | None = None,
        note: str | None = None,
    ) -> int:
        """Record ``changes`` as one batch, atomically; return its batch id.

        Clears the redo stack (undone batches stay in the history, no longer redoable).
        Raises TypeError/ValueError for a malformed change, and records nothing then.
        """
        if isinstance(changes, Change):
            raise TypeError("record() takes a sequence of Change; use correct() for one")
        checked = [_check_change(c) for c in changes]
        if not checked:
            raise ValueError("a batch needs at least one change")
        if source not in SOURCES:
            raise ValueError(f"source must be one of {SOURCES}, got {source!r}")
        if not isinstance(author, str) or not author:
            raise ValueError(f"author must be a non-empty str, got {author!r}")
        for name, value in (("model_version", model_version), ("note", note)):
            if value is not None and not isinstance(value, str):
                raise TypeError(f"{name} must be a str or None, got {value!r}")
        with self._write() as conn:
            conn.execute("UPDATE batches SET state = 'discarded' WHERE state = 'undone'")
            cur = conn.execute(
                "INSERT INTO batches (created_at, author, source, model_version, note)"
                " VALUES (?, ?, ?, ?, ?)",
                (_now(), author, source, model_version, note),
            )
            batch_id = cur.lastrowid
            assert batch_id is not None
            conn.executemany(
                "INSERT INTO corrections (batch_id, product_id, field, old_value, new_value)"
                " VALUES (?, ?, ?, ?, ?)",
                [(batch_id, c.product_id, c.field, c.old_value, c.new_value) for c in checked],
            )
        return batch_id

    def correct(
        self,
        product_id: int,
        field: str,
        new_value: str,
        *,
        old_value: str,
        author: str = "curator",
        source: Source = "curator",
        model_version: str | None = None,
        note: str | None = None,
    ) -> int:
        """Record one change as a batch of one; return its batch id."""
        return self.record(
            [Change(product_id, field, old_value, new_value)],
            author=author,
            source=source,
            model_version=model_version,
            note=note,
        )

    def undo(self) -> int | None:
        """Undo the latest active batch; return its id, or None if there is nothing to undo."""
        with self._write() as conn:
            row = conn.execute(
                "SELECT id FROM batches WHERE state = 'active' ORDER BY id DESC LIMIT 1"
            ).fetchone()
            if row is None:
                return None
            self._set_state(conn, row[0], "undone", "undo")
            return int(row[0])

    def redo(self) -> int | None:
        """Redo the most recently undone batch; return its id, or None if there is none."""
        with self._write() as conn:
            row = self._redoable(conn)
            if row is None:
                return None
            self._set_state(conn, row, "active", "redo")
            return row

    @staticmethod
    def _set_state(conn: sqlite3.Connection, batch_id: int, state: str, action: str) -> None:
        conn.execute("UPDATE batches SET state = ? WHERE id = ?", (state, batch_id))
        conn.execute(
            "INSERT INTO undo_events (batch_id, action, created_at) VALUES (?, ?, ?)",
            (batch_id, action, _now()),
        )

    @staticmethod
    def _redoable(conn: sqlite3.Connection) -> int | None:
        row = conn.execute(
            "SELECT b.id FROM batches AS b JOIN undo_events AS e"
            " ON e.batch_id = b.id AND e.action = 'undo'"
            " WHERE b.state = 'undone' ORDER BY e.id DESC LIMIT 1"
        ).fetchone()
        return None if row is None else int(row[0])

    # -- reading -----------------------------------------------------------------------

    def _read(self, sql: str, params: tuple[object, ...] = ()) -> list[tuple]:
        with self._lock:
            try:
                return self._conn.execute(sql, params).fetchall()
            except sqlite3.Error as exc:
                if isinstance(exc, sqlite3.ProgrammingError):
                    raise
                raise self._error(exc) from exc

    def can_undo(self) -> bool:
        """Whether there is an active batch to undo."""
        return bool(self._read("SELECT EXISTS (SELECT 1 FROM batches WHERE state = 'active')")[0][0])

    def can_redo(self) -> bool:
        """Whether there is an undone batch that can be redone."""
        return bool(self._read("SELECT EXISTS (SELECT 1 FROM batches WHERE state = 'undone')")[0][0])

    def history(self, product_id: int | None = None) -> list[Correction]:
        """Every correction ever recorded (of one product, if given), oldest first."""
        sql = (
            "SELECT c.seq, c.batch_id, c.product_id, c.field, c.old_value, c.new_value,"
            " b.author, b.source, b.model_version, b.note, b.created_at, b.state = 'active'"
            " FROM corrections AS c JOIN batches AS b ON b.id = c.batch_id"
        )
        params: tuple[object, ...] = ()
        if product_id is not None:
            sql += " WHERE c.product_id = ?"
            params = (int(product_id),)
        rows = self._read(sql + " ORDER BY c.seq", params)
        return [Correction(*r[:11], active=bool(r[11])) for r in rows]

    def batches(self) -> list[BatchInfo]:
        """Every batch ever recorded, oldest first, with its number of changes and state."""
        rows = self._read(
            "SELECT b.id, b.created_at, b.author, b.source, b.model_version, b.note,"
            " (SELECT count(*) FROM corrections AS c WHERE c.batch_id = b.id), b.state"
            " FROM batches AS b ORDER BY b.id"
        )
        return [
            BatchInfo(
                id=r[0],
                created_at=r[1],
                author=r[2],
                source=r[3],
                model_version=r[4],
                note=r[5],
                n_changes=r[6],
                state=r[7],
            )
            for r in rows
        ]

    def effective(self) -> dict[tuple[int, str], str]:
        """(product id, field) -> new value of its latest active correction."""
        # SQLite takes the bare columns of an aggregate query from the row holding max().
        rows = self._read(
            "SELECT c.product_id, c.field, c.new_value, max(c.seq)"
            " FROM corrections AS c JOIN batches AS b ON b.id = c.batch_id"
            " WHERE b.state = 'active' GROUP BY c.product_id, c.field"
        )
        return {(r[0], r[1]): r[2] for r in rows}

    def excluded_ids(self) -> set[int]:
        """Products whose effective ``excluded`` value is "true"."""
        rows = self._read(
            "SELECT c.product_id, c.new_value, max(c.seq)"
            " FROM corrections AS c JOIN batches AS b ON b.id = c.batch_id"
            " WHERE b.state = 'active' AND c.field = ? GROUP BY c.product_id",
            (EXCLUDED,),
        )
        return {r[0] for r in rows if r[1] == "true"}

    def last_seq(self) -> int:
        """The number of the latest correction recorded (0 when there is none): later ones are newer."""
        return int(self._read("SELECT coalesce(max(seq), 0) FROM corrections")[0][0])

    def count(self) -> int:
        """Number of active corrections (rows, so a product corrected twice counts twice)."""
        return int(
            self._read(
                "SELECT count(*) FROM corrections AS c JOIN batches AS b ON b.id = c.batch_id"
                " WHERE b.state = 'active'"
            )[0][0]
        )

    # -- closing -----------------------------------------------------------------------

    def close(self) -> None:
        """Close the database (idempotent)."""
        with self._lock:
            self._conn.close()

    def __enter__(self) -> CorrectionStore:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"CorrectionStore({str(self.path)!r})"
