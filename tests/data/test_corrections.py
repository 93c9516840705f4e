"""Tests of the curators' corrections store (fashion_review.data.corrections)."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
from datetime import datetime, timezone
from pathlib import Path

import pytest

from fashion_review import paths
from fashion_review.data import corrections
from fashion_review.data.corrections import EXCLUDED, Change, CorrectionStore
from fashion_review.errors import DataError

PROJECT_ROOT = Path(__file__).resolve().parents[2]
CHILD = Path(__file__).with_name("corrections_child.py")


@pytest.fixture
def db(tmp_path) -> Path:
    return tmp_path / "corrections.sqlite"


@pytest.fixture
def store(db):
    with CorrectionStore(db) as s:
        yield s


def _raw(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(path, isolation_level=None)


# -- recording and effective values --------------------------------------------------------


def test_for_dataset_opens_the_file_under_the_home_folder(home_dir):
    with CorrectionStore.for_dataset("abc123") as s:
        s.correct(1, "gender", "Women", old_value="Men")
        assert s.path == home_dir / "datasets" / "abc123" / "corrections.sqlite"
    assert s.path.exists()
    with CorrectionStore(paths.dataset_home("abc123") / "corrections.sqlite") as s2:
        assert s2.effective() == {(1, "gender"): "Women"}


def test_record_returns_batch_ids_and_effective_takes_the_latest(store):
    b1 = store.correct(7, "baseColour", "Blue", old_value="Navy Blue")
    b2 = store.correct(7, "baseColour", "Black", old_value="Blue", note="darker")
    b3 = store.correct(8, "gender", "Women", old_value="Men")
    assert b1 < b2 < b3
    assert store.effective() == {(7, "baseColour"): "Black", (8, "gender"): "Women"}
    assert store.count() == 3


def test_correction_carries_author_source_time_and_note(store):
    before = datetime.now(timezone.utc)
    batch = store.correct(
        5, "articleType", "Shirts", old_value="Tshirts",
        author="model", source="prediction", model_version="run-42", note="accepted",
    )
    after = datetime.now(timezone.utc)
    (c,) = store.history()
    assert (c.batch_id, c.product_id, c.field, c.old_value, c.new_value) == (
        batch, 5, "articleType", "Tshirts", "Shirts")
    assert (c.author, c.source, c.model_version, c.note, c.active) == (
        "model", "prediction", "run-42", "accepted", True)
    created = datetime.fromisoformat(c.created_at)
    assert created.utcoffset().total_seconds() == 0
    assert before <= created <= after


def test_numpy_style_integer_ids_are_accepted_as_int(store):
    import numpy as np
    store.correct(np.int64(12), "gender", "Boys", old_value="Men")
    assert store.effective() == {(12, "gender"): "Boys"}
    assert type(next(iter(store.effective()))[0]) is int


@pytest.mark.parametrize(
    ("change", "kwargs", "error"),
    [
        (Change("1", "gender", "Men", "Women"), {}, TypeError),
        (Change(True, "gender", "Men", "Women"), {}, TypeError),
        (Change(1, 3, "Men", "Women"), {}, TypeError),
        (Change(1, "gender", "Men", None), {}, TypeError),
        (Change(1, "", "Men", "Women"), {}, ValueError),
        (Change(1, "id", "1", "2"), {}, ValueError),
        (Change(1, EXCLUDED, "false", "yes"), {}, ValueError),
        (Change(1, "gender", "Men", "Women"), {"source": "robot"}, ValueError),
        (Change(1, "gender", "Men", "Women"), {"author": ""}, ValueError),
    ],
)
def test_malformed_changes_are_refused(store, change, kwargs, error):
    with pytest.raises(error):
        store.record([change], **kwargs)
    assert store.history() == [] and store.batches() == []


def test_empty_batch_is_refused(store):
    with pytest.raises(ValueError):
        store.record([])


# -- batches ------------------------------------------------------------------------------


def test_bulk_batch_is_one_batch(store):
    changes = [Change(pid, "articleType", "Tshirts", "Tops") for pid in range(100, 150)]
    batch = store.record(changes, source="bulk", note="relabel selection")
    (info,) = store.batches()
    assert info == {
        "id": batch, "created_at": info["created_at"], "author": "curator", "source": "bulk",
        "model_version": None, "note": "relabel selection", "n_changes": 50, "state": "active",
        "session": store.session, "carried_from": None,
    }
    assert {c.batch_id for c in store.history()} == {batch}
    assert store.undo() == batch
    assert store.effective() == {}
    assert store.count() == 0


def test_bulk_batch_with_a_bad_change_records_nothing(store):
    store.correct(1, "gender", "Women", old_value="Men")
    good = [Change(pid, "gender", "Men", "Women") for pid in range(10, 20)]
    with pytest.raises(TypeError):
        store.record(good + [Change(99, 5, "x", "y")] + good)
    assert store.count() == 1
    assert len(store.batches()) == 1
    assert store.effective() == {(1, "gender"): "Women"}


def test_bulk_batch_is_rolled_back_when_the_database_refuses_a_change(store, db, monkeypatch):
    # Bypass the Python-side checks so the failure happens inside the transaction, after
    # the batch row and several corrections were already inserted.
    monkeypatch.setattr(corrections, "_check_change", lambda c: c)
    store.correct(1, "gender", "Women", old_value="Men")
    good = [Change(pid, "gender", "Men", "Women") for pid in range(10, 20)]
    with pytest.raises(sqlite3.IntegrityError):  # CHECK (typeof(product_id) = 'integer')
        store.record(good + [Change("P-99", "gender", "x", "y")] + good, source="bulk")
    assert store.count() == 1
    assert [b["n_changes"] for b in store.batches()] == [1]
    assert store.effective() == {(1, "gender"): "Women"}
    with _raw(db) as raw:
        assert raw.execute("SELECT count(*) FROM corrections").fetchone() == (1,)
        assert raw.execute("SELECT count(*) FROM batches").fetchone() == (1,)
    raw.close()
    # The store is still usable afterwards.
    store.correct(2, "gender", "Men", old_value="Women")
    assert store.count() == 2


def test_gender_master_relabel_changes_two_fields_atomically(store):
    batch = store.record([
        Change(3, "gender", "Men", "Women"),
        Change(3, "masterCategory", "Apparel", "Footwear"),
    ])
    assert store.effective() == {(3, "gender"): "Women", (3, "masterCategory"): "Footwear"}
    assert store.undo() == batch
    assert store.effective() == {}


# -- undo / redo --------------------------------------------------------------------------


def test_undo_shows_the_previous_value_and_redo_restores(store):
    assert store.undo() is None and store.redo() is None
    assert not store.can_undo() and not store.can_redo()
    b1 = store.correct(1, "gender", "Women", old_value="Men")
    b2 = store.correct(1, "gender", "Girls", old_value="Women")
    assert store.can_undo() and not store.can_redo()

    assert store.undo() == b2
    assert store.effective() == {(1, "gender"): "Women"}
    assert store.can_redo()
    assert store.undo() == b1
    assert store.effective() == {}
    assert not store.can_undo()
    assert store.undo() is None

    assert store.redo() == b1  # most recently undone first
    assert store.effective() == {(1, "gender"): "Women"}
    assert store.redo() == b2
    assert store.effective() == {(1, "gender"): "Girls"}
    assert store.redo() is None
    assert not store.can_redo()


def test_new_batch_after_undo_clears_the_redo_stack(store):
    b1 = store.correct(1, "gender", "Women", old_value="Men")
    b2 = store.correct(2, "gender", "Women", old_value="Men")
    assert store.undo() == b2
    b3 = store.correct(3, "gender", "Women", old_value="Men")
    assert not store.can_redo()
    assert store.redo() is None
    assert store.effective() == {(1, "gender"): "Women", (3, "gender"): "Women"}
    assert [(b["id"], b["state"]) for b in store.batches()] == [
        (b1, "active"), (b2, "discarded"), (b3, "active")]
    # Undo goes back past the discarded batch, never into it.
    assert store.undo() == b3
    assert store.undo() == b1
    assert store.undo() is None
    assert store.redo() == b1
    assert store.redo() == b3
    assert store.redo() is None


def test_history_keeps_everything_after_undo(store, db):
    b1 = store.correct(1, "gender", "Women", old_value="Men")
    b2 = store.record([Change(2, "gender", "Men", "Boys"), Change(3, "gender", "Men", "Boys")])
    store.undo()
    store.undo()
    store.redo()
    hist = store.history()
    assert [(c.batch_id, c.product_id, c.new_value, c.active) for c in hist] == [
        (b1, 1, "Women", True), (b2, 2, "Boys", False), (b2, 3, "Boys", False)]
    assert [c.seq for c in hist] == sorted(c.seq for c in hist)
    assert [c.product_id for c in store.history(product_id=3)] == [3]
    assert store.count() == 1
    # Every undo and redo is logged, with its time.
    with _raw(db) as raw:
        events = raw.execute("SELECT batch_id, action, created_at FROM undo_events ORDER BY id").fetchall()
    raw.close()
    assert [(b, a) for b, a, _ in events] == [(b2, "undo"), (b1, "undo"), (b1, "redo")]
    assert all(datetime.fromisoformat(t).tzinfo is not None for _, _, t in events)


def test_undo_state_survives_reopening(db):
    with CorrectionStore(db) as s:
        b1 = s.correct(1, "gender", "Women", old_value="Men")
        b2 = s.correct(2, "gender", "Women", old_value="Men")
        b3 = s.correct(3, "gender", "Women", old_value="Men")
        assert s.undo() == b3
    with CorrectionStore(db) as s:
        assert s.effective() == {(1, "gender"): "Women", (2, "gender"): "Women"}
        assert s.can_redo()
        assert s.undo() == b2  # undoes what the earlier session did
    with CorrectionStore(db) as s:
        assert s.redo() == b2
        assert s.redo() == b3
        assert s.count() == 3
        assert len(s.history()) == 3
        assert s.undo() == b3
    with CorrectionStore(db) as s:
        assert s.undo() == b2
        assert s.undo() == b1
        assert s.effective() == {}
        assert len(s.history()) == 3


def test_two_stores_on_one_file_see_each_others_changes(db):
    with CorrectionStore(db) as a, CorrectionStore(db) as b:
        batch = a.correct(1, "gender", "Women", old_value="Men")
        assert b.effective() == {(1, "gender"): "Women"}
        assert b.undo() is None and not b.can_undo()  # a's batch: a is still open
        assert b.undo(scope="any") == batch  # unless asked otherwise
        assert a.effective() == {}
        assert b.redo() is None  # a's batch, a still open
        assert a.redo() == batch


# -- sessions: two windows on one data set -------------------------------------------------


def test_undo_in_one_window_never_undoes_the_other_windows_batch(db):
    with CorrectionStore(db) as a, CorrectionStore(db) as b:
        ba = a.correct(1, "gender", "Women", old_value="Men", author="ann")
        bb = b.correct(2, "gender", "Women", old_value="Men", author="bob")  # the latest batch overall
        assert a.undo() == ba
        assert b.effective() == {(2, "gender"): "Women"}
        b2 = b.correct(3, "gender", "Women", old_value="Men")
        assert a.can_redo() and a.redo() == ba  # b's new batch did not discard a's redo
        assert b.undo() == b2 and b.undo() == bb and b.undo() is None
        assert [x["session"] for x in a.batches()] == [a.session, b.session, b.session]


def test_a_closed_windows_batches_can_be_undone_later(db):
    with CorrectionStore(db) as a:
        batch = a.correct(1, "gender", "Women", old_value="Men")
    with CorrectionStore(db) as later:
        assert later.undo() == batch


def test_a_change_made_on_a_stale_value_is_refused(db):
    with CorrectionStore(db) as a, CorrectionStore(db) as b:
        a.correct(1, "articleType", "Tops", old_value="Shirts", author="ann")
        # b still shows "Shirts" for product 1 and relabels it: refused, with a message, nothing recorded
        with pytest.raises(corrections.StaleValueError, match=r"product 1 articleType: it was 'Shirts'.*'Tops'.*ann") as e:
            b.record([Change(2, "articleType", "Shirts", "Tshirts"), Change(1, "articleType", "Shirts", "Tshirts")])
        assert [c.product_id for c, _ in e.value.stale] == [1]
        assert b.effective() == {(1, "articleType"): "Tops"}
        # with the catalog's own value known, a stale base value is refused too
        b.base_value = lambda pid, fld: {(3, "articleType"): "Jeans"}.get((pid, fld))
        with pytest.raises(corrections.StaleValueError, match="catalog file"):
            b.correct(3, "articleType", "Shorts", old_value="Trousers")
        assert b.correct(3, "articleType", "Shorts", old_value="Jeans")


def test_redo_refuses_to_overwrite_a_later_change(db):
    with CorrectionStore(db) as a, CorrectionStore(db) as b:
        batch = a.correct(1, "gender", "Women", old_value="Men")
        assert a.undo() == batch
        b.correct(1, "gender", "Boys", old_value="Men")
        with pytest.raises(corrections.StaleValueError, match="not redone"):
            a.redo()
        assert a.effective() == {(1, "gender"): "Boys"}


def test_schema_1_file_is_migrated_in_place(db):
    raw = _raw(db)
    raw.executescript(corrections._SCHEMA + "; PRAGMA user_version = 1;")
    raw.execute("INSERT INTO batches (created_at, author, source) VALUES ('2026-01-01T00:00:00+00:00', 'old', 'curator')")
    raw.execute("INSERT INTO corrections (batch_id, product_id, field, old_value, new_value) VALUES (1, 5, 'gender', 'Men', 'Women')")
    raw.close()
    with CorrectionStore(db) as s:
        assert s.effective() == {(5, "gender"): "Women"}
        assert s.batches()[0]["session"] is None
        assert s.undo() == 1  # a batch from before sessions: its session has ended


# -- exclusion and counts ---------------------------------------------------------------


def test_excluded_ids_follow_the_latest_active_exclusion(store):
    store.correct(1, EXCLUDED, "true", old_value="false")
    store.correct(2, EXCLUDED, "true", old_value="false")
    store.correct(2, EXCLUDED, "false", old_value="true")
    store.record([Change(3, EXCLUDED, "false", "true"), Change(4, EXCLUDED, "false", "true")],
                 source="bulk")
    store.correct(5, "gender", "true", old_value="Men")  # not an exclusion
    assert store.excluded_ids() == {1, 3, 4}
    store.undo()
    store.undo()
    assert store.excluded_ids() == {1}
    store.undo()
    assert store.excluded_ids() == {1, 2}
    assert store.effective()[(2, EXCLUDED)] == "true"


def test_count_is_the_number_of_active_corrections(store):
    assert store.count() == 0
    store.correct(1, "gender", "Women", old_value="Men")
    store.correct(1, "gender", "Girls", old_value="Women")
    store.record([Change(p, "usage", "Casual", "Sports") for p in range(10)])
    assert store.count() == 12
    store.undo()
    assert store.count() == 2
    store.redo()
    assert store.count() == 12


def test_threads_can_share_a_store(store):
    errors: list[BaseException] = []

    def work(offset: int) -> None:
        try:
            for i in range(25):
                store.correct(offset + i, "season", "Summer", old_value="Fall")
                store.effective()
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(k * 1000,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert store.count() == 100
    assert len(store.batches()) == 100


# -- the database file ------------------------------------------------------------------


def test_database_uses_wal_full_sync_and_a_schema_version(store, db):
    store.correct(1, "gender", "Women", old_value="Men")
    with store._lock:
        assert store._conn.execute("PRAGMA synchronous").fetchone() == (2,)  # FULL
    with _raw(db) as raw:
        assert raw.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert raw.execute("PRAGMA user_version").fetchone() == (corrections.SCHEMA_VERSION,)
    raw.close()


def test_file_that_is_not_sqlite_raises_data_error_and_is_left_untouched(db):
    content = b"id,gender\n1,Men\n" * 400
    db.write_bytes(content)
    with pytest.raises(DataError) as info:
        CorrectionStore(db)
    assert str(db) in str(info.value)
    assert "move it aside" in str(info.value)
    assert db.read_bytes() == content
    assert sorted(p.name for p in db.parent.iterdir()) == [db.name]


def test_damaged_database_raises_data_error_and_is_left_untouched(db):
    with CorrectionStore(db) as s:
        s.record([Change(p, "productDisplayName", "old", "new " * 50) for p in range(2000)])
    size = db.stat().st_size
    assert size > 20 * 4096
    data = bytearray(db.read_bytes())
    for page in range(3, size // 4096, 2):  # scribble over every other page's header
        data[page * 4096: page * 4096 + 64] = b"\xa5" * 64
    db.write_bytes(bytes(data))
    with pytest.raises(DataError, match="damaged") as info:
        CorrectionStore(db)
    assert str(db) in str(info.value)
    assert db.read_bytes() == bytes(data)


def test_foreign_sqlite_database_is_refused_and_left_untouched(db):
    with _raw(db) as raw:
        raw.execute("CREATE TABLE styles (id INTEGER, gender TEXT)")
    raw.close()
    content = db.read_bytes()
    with pytest.raises(DataError, match="not a corrections database"):
        CorrectionStore(db)
    assert db.read_bytes() == content


def test_database_from_a_newer_version_is_refused(db):
    with CorrectionStore(db) as s:
        s.correct(1, "gender", "Women", old_value="Men")
    with _raw(db) as raw:
        raw.execute(f"PRAGMA user_version = {corrections.SCHEMA_VERSION + 1}")
    raw.close()
    with pytest.raises(DataError, match="newer version"):
        CorrectionStore(db)


def _read_only_folder(tmp_path: Path) -> Path:
    if os.name == "posix" and os.geteuid() != 0:
        folder = tmp_path / "ro"
        folder.mkdir()
        folder.chmod(0o555)
        return folder
    if Path("/proc/self").is_dir():  # root ignores permissions; /proc takes no new files
        return Path("/proc")
    pytest.skip("no read-only folder available to this user")


def test_read_only_location_raises_data_error(tmp_path):
    folder = _read_only_folder(tmp_path)
    try:
        with pytest.raises(DataError, match="read-only") as info:
            CorrectionStore(folder / "corrections.sqlite")
        assert str(folder / "corrections.sqlite") in str(info.value)
    finally:
        if folder != Path("/proc"):
            folder.chmod(0o755)


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root ignores file modes")
def test_read_only_existing_database_raises_data_error(db):
    with CorrectionStore(db) as s:
        s.correct(1, "gender", "Women", old_value="Men")
    db.chmod(0o444)
    try:
        with pytest.raises(DataError, match="read-only"):
            CorrectionStore(db)
    finally:
        db.chmod(0o644)


# -- durability -------------------------------------------------------------------------


def test_every_reported_correction_survives_sigkill(db):
    """A child commits corrections one by one; SIGKILL midway loses none it reported."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PROJECT_ROOT), env.get("PYTHONPATH")]))
    proc = subprocess.Popen(
        [sys.executable, str(CHILD), str(db), "1000"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )
    watchdog = threading.Timer(60, proc.kill)
    watchdog.start()
    reported: list[tuple[int, int, str]] = []
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            batch, pid, value = line.split()
            reported.append((int(batch), int(pid), value))
            if len(reported) == 300:
                proc.send_signal(signal.SIGKILL)
                break
        proc.wait()
        # Lines already in the pipe were printed after their commit, too.
        for line in proc.stdout:
            batch, pid, value = line.split()
            reported.append((int(batch), int(pid), value))
        stderr = proc.stderr.read() if proc.stderr else ""
    finally:
        watchdog.cancel()
        proc.kill()
        proc.wait()
        for stream in (proc.stdout, proc.stderr):
            if stream:
                stream.close()
    assert proc.returncode == -signal.SIGKILL, stderr
    assert 300 <= len(reported) < 1000, "the child was not killed midway"

    with _raw(db) as raw:
        assert raw.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    raw.close()
    with CorrectionStore(db) as s:
        found = {(c.batch_id, c.product_id, c.new_value) for c in s.history()}
        assert set(reported) <= found
        # At most one more correction was committed but not yet reported.
        assert len(found) - len(reported) in (0, 1)
        assert all(c.active for c in s.history())
        assert s.count() == len(found)
