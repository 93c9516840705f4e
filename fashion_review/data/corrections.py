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

**Sessions.**  Each store object is a *session* (a window, a command), recorded with its host and
process.  Undo and redo reach the batches of this session and of sessions that have ended (a
closed window, an earlier command), never those of another session still open: two windows on
one data set each undo their own work (``scope="any"`` asks otherwise).  A change records the old
value it saw; :meth:`CorrectionStore.record` refuses it (:class:`StaleValueError`, nothing
recorded) when the value changed underneath, e.g. in another window.

**Versions of styles.csv.**  An edited or grown styles.csv is a new data set (a new
fingerprint); the earlier version's whole history is carried over into the new version's empty
store and each corrected field classified against the new file (applied / pending / conflict /
orphan): :mod:`fashion_review.data.versions`, whose methods the store has
(:meth:`~CorrectionStore.carry_over_from`, ``carried``, ``conflicts``, ``resolve``, ``lineage``).
Carried batches belong to the earlier file: undo stops at them.

Only the standard library is used here (no Qt, no TensorFlow).
"""

from __future__ import annotations

import numbers
import os
import socket
import sqlite3
import threading
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from os import PathLike
from pathlib import Path
from types import TracebackType
from typing import Literal, TypedDict

from fashion_review import paths
from fashion_review.data.versions import CARRIED_STATES, VersionHistory
from fashion_review.errors import DataError

__all__ = [
    "CARRIED_STATES",
    "CONFIRMED",
    "EXCLUDED",
    "FILE_NAME",
    "SCHEMA_VERSION",
    "SOURCES",
    "BatchInfo",
    "Change",
    "Correction",
    "CorrectionStore",
    "StaleValueError",
    "confirmed_field",
]

#: File name of the store inside a data set's folder.
FILE_NAME = "corrections.sqlite"
#: Stored as ``PRAGMA user_version``; bump it (and migrate) when the schema changes.
#: 2: batches.session and batches.carried_from, the sessions, carried and lineage tables.
SCHEMA_VERSION = 2
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
# Schema 2 (created, or added to a schema 1 file, on opening).
_SCHEMA_2 = f"""
CREATE TABLE IF NOT EXISTS sessions (
    id         TEXT PRIMARY KEY,
    host       TEXT    NOT NULL,
    pid        INTEGER NOT NULL,
    started_at TEXT    NOT NULL,
    ended_at   TEXT
);
CREATE TABLE IF NOT EXISTS lineage (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    fingerprint TEXT NOT NULL,
    csv_path    TEXT NOT NULL,
    carried_at  TEXT NOT NULL,
    batches     INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS carried (
    product_id      INTEGER NOT NULL,
    field           TEXT    NOT NULL,
    state           TEXT    NOT NULL CHECK (state IN ({", ".join(repr(s) for s in CARRIED_STATES)})),
    corrected_value TEXT    NOT NULL,
    file_value      TEXT,
    resolved        TEXT    CHECK (resolved IS NULL OR resolved IN ('mine', 'file')),
    resolved_at     TEXT,
    resolved_by     TEXT,
    PRIMARY KEY (product_id, field)
);
"""
_OUR_TABLES = {"batches", "corrections", "undo_events", "sqlite_sequence", "sessions", "lineage", "carried"}
#: Undo / redo scopes: this session and ended ones (the default), or every session.
SCOPES = ("session", "any")


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
    session: str | None  # the session that recorded it (None: before sessions were recorded)
    carried_from: str | None  # the fingerprint of the earlier styles.csv it was recorded on


class StaleValueError(DataError):
    """A change's old value is not the value the field holds now: it changed underneath."""

    def __init__(self, message: str, stale: list[tuple[Change, str]]) -> None:
        super().__init__(message)
        self.stale = stale  # (change, the value the field holds now)


def confirmed_field(scheme: str) -> str:
    """The field a confirmation of ``scheme``'s label is recorded under (``confirmed:articleType``)."""
    if not scheme or ":" in scheme:
        raise ValueError(f"not a scheme name: {scheme!r}")
    return f"{CONFIRMED}:{scheme}"


def _host() -> str:
    return socket.gethostname() or "localhost"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


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


class CorrectionStore(VersionHistory):
    """Corrections of one data set, kept in a SQLite database.

    Safe to share between threads (one connection behind a lock) and between processes
    (SQLite locking).  Use as a context manager, or call :meth:`close` (which ends the session).

    ``base_value(product_id, field)``, when set (``open_dataset`` sets it), gives the value a
    field holds in the catalog file, or None when unknown; :meth:`record` then checks a change's
    old value against it where no correction applies.
    """

    def __init__(self, path: str | PathLike[str]) -> None:
        self.path = Path(path)
        self._lock = threading.RLock()  # re-entrant: carry_over_from attaches, then _write()s under it
        #: This session: host, process and a random part (two stores in one process are two sessions).
        self.session = f"{_host()}+{os.getpid()}+{uuid.uuid4().hex[:8]}"
        self.base_value: Callable[[int, str], str | None] | None = None
        self._closed = False
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
        # Always write once on opening (the schema, this session's row), so a read-only file or
        # folder is reported now rather than at the curator's first edit.
        try:
            conn.executescript(f"BEGIN IMMEDIATE; {_SCHEMA}; {_SCHEMA_2}")
            columns = {r[1] for r in conn.execute("PRAGMA table_info(batches)")}
            for col in ("session", "carried_from"):
                if col not in columns:  # a schema 1 file: add the column (NULL for earlier batches)
                    conn.execute(f"ALTER TABLE batches ADD COLUMN {col} TEXT")
            conn.execute("INSERT INTO sessions (id, host, pid, started_at) VALUES (?, ?, ?, ?)",
                         (self.session, _host(), os.getpid(), _now()))
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            conn.execute("COMMIT")
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

        Clears this session's redo stack (undone batches stay in the history, no longer
        redoable; another open window keeps its own).  Raises TypeError/ValueError for a malformed
        change and StaleValueError when a change's old value is not the field's value now (another
        window changed it), and records nothing then.
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
            self._check_old_values(conn, checked)
            return self._insert_batch(conn, checked, author, source, model_version, note)

    def _insert_batch(self, conn: sqlite3.Connection, checked: list[Change], author: str, source: str,
                      model_version: str | None, note: str | None) -> int:
        # A new batch ends what this session could redo (other open sessions keep theirs).
        reach = self._reachable(conn, "session")
        undone = [b for (b,) in conn.execute("SELECT id FROM batches WHERE state = 'undone'") if reach(b)]
        conn.executemany("UPDATE batches SET state = 'discarded' WHERE id = ?", [(b,) for b in undone])
        cur = conn.execute(
            "INSERT INTO batches (created_at, author, source, model_version, note, session)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (_now(), author, source, model_version, note, self.session),
        )
        batch_id = cur.lastrowid
        assert batch_id is not None
        conn.executemany(
            "INSERT INTO corrections (batch_id, product_id, field, old_value, new_value)"
            " VALUES (?, ?, ?, ?, ?)",
            [(batch_id, c.product_id, c.field, c.old_value, c.new_value) for c in checked],
        )
        return int(batch_id)

    def _current(self, conn: sqlite3.Connection, keys: Sequence[tuple[int, str]],
                 exclude_batch: int | None = None) -> dict[tuple[int, str], tuple[str, int, str]]:
        """(product, field) -> (new value, batch, author) of its latest active correction, for ``keys``."""
        out: dict[tuple[int, str], tuple[str, int, str]] = {}
        sql = ("SELECT c.new_value, c.batch_id, b.author FROM corrections AS c JOIN batches AS b ON b.id = c.batch_id"
               " WHERE c.product_id = ? AND c.field = ? AND b.state = 'active' AND b.id IS NOT ?"
               " ORDER BY c.seq DESC LIMIT 1")
        for key in dict.fromkeys(keys):
            row = conn.execute(sql, (key[0], key[1], exclude_batch)).fetchone()
            if row is not None:
                out[key] = (row[0], int(row[1]), row[2])
        return out

    def _check_old_values(self, conn: sqlite3.Connection, changes: Sequence[Change],
                          exclude_batch: int | None = None, what: str = "The change") -> None:
        """StaleValueError unless each change's old value is what its field holds now."""
        now = self._current(conn, [(c.product_id, c.field) for c in changes], exclude_batch)
        stale: list[tuple[Change, str, str]] = []
        for c in changes:
            hit = now.get((c.product_id, c.field))
            if hit is not None:
                value, batch, who = hit
                where = f"batch {batch} by {who}"
            else:
                value = self.base_value(c.product_id, c.field) if self.base_value is not None else None
                where = "the catalog file"
            if value is not None and value != c.old_value:
                stale.append((c, value, where))
        if stale:
            shown = "; ".join(f"product {c.product_id} {c.field}: it was {c.old_value!r} when the change was "
                              f"made, it is {v!r} now ({w})" for c, v, w in stale[:5])
            more = f" (and {len(stale) - 5} more)" if len(stale) > 5 else ""
            raise StaleValueError(
                f"{what} was not recorded: {len(stale)} value(s) changed underneath, e.g. in another window: "
                f"{shown}{more}. Nothing was changed; reload the data set and try again.",
                [(c, v) for c, v, _ in stale])

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

    def undo(self, scope: str = "session") -> int | None:
        """Undo the latest active batch this session may undo; return its id, or None.

        ``scope="session"``: batches of this session and of ended sessions (never another open
        window's); ``"any"``: the latest batch of anyone.  Batches carried over from an earlier
        styles.csv are never undone.  StaleValueError when a later batch changed one of its
        fields since (undoing it would not bring the old value back).
        """
        with self._write() as conn:
            batch = self._undoable(conn, scope)
            if batch is None:
                return None
            rows = conn.execute("SELECT product_id, field, old_value, new_value FROM corrections"
                                " WHERE batch_id = ?", (batch,)).fetchall()
            later = self._current(conn, [(r[0], r[1]) for r in rows])
            moved = [(r, later[(r[0], r[1])]) for r in rows if later.get((r[0], r[1]), (None, batch))[1] > batch]
            if moved:
                (pid, fld, _, _), (value, other, who) = moved[0]
                raise StaleValueError(
                    f"Batch {batch} was not undone: product {pid} {fld} was changed since by batch {other} "
                    f"({who}) to {value!r}; undo that one first" + (f" ({len(moved) - 1} more such fields)"
                                                                     if len(moved) > 1 else "") + ".",
                    [(Change(r[0], r[1], r[3], r[2]), v) for r, (v, _, _) in moved])
            self._set_state(conn, batch, "undone", "undo")
            return batch

    def redo(self, scope: str = "session") -> int | None:
        """Redo the most recently undone batch this session may redo (see :meth:`undo`); its id or None.

        StaleValueError when one of its fields changed since it was undone (redoing would
        overwrite that change)."""
        with self._write() as conn:
            batch = self._redoable(conn, scope)
            if batch is None:
                return None
            rows = conn.execute("SELECT product_id, field, old_value, new_value FROM corrections"
                                " WHERE batch_id = ?", (batch,)).fetchall()
            self._check_old_values(conn, [Change(*r) for r in rows], exclude_batch=batch,
                                   what=f"Batch {batch} was not redone")
            self._set_state(conn, batch, "active", "redo")
            return batch

    @staticmethod
    def _set_state(conn: sqlite3.Connection, batch_id: int, state: str, action: str) -> None:
        conn.execute("UPDATE batches SET state = ? WHERE id = ?", (state, batch_id))
        conn.execute(
            "INSERT INTO undo_events (batch_id, action, created_at) VALUES (?, ?, ?)",
            (batch_id, action, _now()),
        )

    def _reachable(self, conn: sqlite3.Connection, scope: str) -> Callable[[int], bool]:
        """Whether a batch (by id) is within reach of this session's undo / redo."""
        if scope not in SCOPES:
            raise ValueError(f"scope must be one of {SCOPES}, got {scope!r}")
        info = {int(r[0]): (r[1], r[2]) for r in conn.execute("SELECT id, session, carried_from FROM batches")}
        if scope == "any":
            return lambda b: info.get(b, (None, None))[1] is None
        here = _host()
        live = set()
        for sid, host, pid in conn.execute("SELECT id, host, pid FROM sessions WHERE ended_at IS NULL"):
            if sid != self.session and (host != here or _alive(int(pid))):
                live.add(sid)  # another window or command still open (another host's: assumed so)

        def ok(b: int) -> bool:
            session, carried = info.get(b, (None, None))
            return carried is None and (session == self.session or session not in live)

        return ok

    def _undoable(self, conn: sqlite3.Connection, scope: str) -> int | None:
        reach = self._reachable(conn, scope)
        for (b,) in conn.execute("SELECT id FROM batches WHERE state = 'active' ORDER BY id DESC"):
            if reach(int(b)):
                return int(b)
        return None

    def _redoable(self, conn: sqlite3.Connection, scope: str = "session") -> int | None:
        reach = self._reachable(conn, scope)
        rows = conn.execute(
            "SELECT b.id FROM batches AS b JOIN undo_events AS e"
            " ON e.batch_id = b.id AND e.action = 'undo'"
            " WHERE b.state = 'undone' ORDER BY e.id DESC"
        ).fetchall()
        for (b,) in rows:
            if reach(int(b)):
                return int(b)
        return None

    # -- reading -----------------------------------------------------------------------

    def _read(self, sql: str, params: tuple[object, ...] = ()) -> list[tuple]:
        with self._lock:
            try:
                return self._conn.execute(sql, params).fetchall()
            except sqlite3.Error as exc:
                if isinstance(exc, sqlite3.ProgrammingError):
                    raise
                raise self._error(exc) from exc

    def _reading(self, fn: Callable[[sqlite3.Connection], object]) -> object:
        with self._lock:
            try:
                return fn(self._conn)
            except sqlite3.Error as exc:
                if isinstance(exc, sqlite3.ProgrammingError):
                    raise
                raise self._error(exc) from exc

    def can_undo(self, scope: str = "session") -> bool:
        """Whether there is an active batch this session may undo (see :meth:`undo`)."""
        return self._reading(lambda conn: self._undoable(conn, scope)) is not None

    def can_redo(self, scope: str = "session") -> bool:
        """Whether there is an undone batch this session may redo."""
        return self._reading(lambda conn: self._redoable(conn, scope)) is not None

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
            " (SELECT count(*) FROM corrections AS c WHERE c.batch_id = b.id), b.state, b.session,"
            " b.carried_from FROM batches AS b ORDER BY b.id"
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
                session=r[8],
                carried_from=r[9],
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
        """End this session and close the database (idempotent)."""
        with self._lock:
            if not self._closed:
                self._closed = True
                try:
                    self._conn.execute("UPDATE sessions SET ended_at = ? WHERE id = ?", (_now(), self.session))
                except sqlite3.Error:
                    pass  # a read-only or vanished file: the session then counts as ended by its process
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
