"""Results reach only the catalog they belong to: every job carries the data set it was started on;
closing a data set (opening another, closing the window) stops its jobs, closes its dialogs and
only then its database; a model switch never shows the new model with the old model's parts."""

from __future__ import annotations

import shutil
import threading
import time

import numpy as np
from PySide6.QtCore import Qt

from fashion_review import paths
from fashion_review.review.table import col

from _gui_helpers import write_active_run
from fakes import fake_predictions

S = "articleType"


def other_catalog(tmp_path, n: int = 300):
    """A second data set: the sample's first ``n`` products (their photos linked, not copied)."""
    src = paths.SAMPLE_CATALOG
    d = tmp_path / "other-catalog"
    d.mkdir()
    lines = (src / "styles.csv").read_text(encoding="utf-8").splitlines(keepends=True)
    (d / "styles.csv").write_text("".join(lines[: n + 1]), encoding="utf-8")
    shutil.copyfile(src / "fashion-review.toml", d / "fashion-review.toml")
    (d / "images").symlink_to(src / "images", target_is_directory=True)
    return d


def start_prediction(win, qtbot, predict, monkeypatch):
    from fashion_review.gui import predict_runner

    monkeypatch.setattr(predict_runner, "_device_name", lambda: "CPU (test)")  # no Keras import here
    win.predict_fn = predict
    win.models_menu.aboutToShow.emit()  # what opening the Models menu does
    assert win.act_predict.isEnabled()
    win.act_predict.trigger()


def predict_until_cancelled(started: threading.Event):
    """A prediction that sets ``started`` and runs until it is cancelled (task.check raises then)."""
    def predict(run, ds, limit=None, task=None):  # noqa: ANN001, ANN202
        started.set()
        while True:
            task.check()
            time.sleep(0.01)

    return predict


def test_a_prediction_that_ends_after_another_data_set_opened_is_dropped(make_window, qtbot, tmp_path, monkeypatch):
    from fashion_review.gui import jobs

    monkeypatch.setattr(jobs, "CLOSE_WAIT_S", 0.2)  # the stubborn job below outlives the wait
    other = other_catalog(tmp_path)
    win = make_window(predictions=False)
    write_active_run("run-a")  # the sample's active model; its predictions are made again below
    started, release = threading.Event(), threading.Event()

    def stubborn_predict(run, ds, limit=None, task=None):  # returns all the same after a cancel
        started.set()
        release.wait(30)
        return fake_predictions(ds.effective(), seed=5, model_version=run.id)

    start_prediction(win, qtbot, stubborn_predict, monkeypatch)
    qtbot.waitUntil(started.is_set, timeout=30000)
    first = win.session
    dropped = []
    win.jobs.dropped.connect(dropped.append)
    with qtbot.waitSignal(win.loaded, timeout=30000):
        win.open_dataset(other)
    assert win.session is not first and len(win.session.table) == 300
    assert not first.store._closed  # its prediction still runs: the database stays open for it
    release.set()
    qtbot.waitUntil(lambda: first.store._closed, timeout=30000)  # closed once that job ended
    qtbot.waitUntil(lambda: "prediction" in dropped, timeout=10000)
    assert win.session.table.predictions is None  # the first catalog's predictions never reach this one
    assert "not shown" in win.statusBar().currentMessage()


def test_a_prediction_cancelled_by_opening_another_data_set_says_so(make_window, qtbot, tmp_path, monkeypatch):
    """Its progress dialog went away when another data set was opened and nothing said what became of
    the prediction (seen under Xvfb); the status bar now says it was cancelled, earlier predictions kept."""
    other = other_catalog(tmp_path)
    win = make_window(predictions=False)
    write_active_run("run-a")
    started = threading.Event()
    start_prediction(win, qtbot, predict_until_cancelled(started), monkeypatch)
    qtbot.waitUntil(started.is_set, timeout=30000)
    with qtbot.waitSignal(win.loaded, timeout=30000):
        win.open_dataset(other)
    said = "the prediction of the closed data set was cancelled (its earlier predictions are unchanged)"
    assert said in win.statusBar().currentMessage()
    qtbot.wait(300)  # the cancelled job's own signal arrives after: it once replaced the message with its own
    assert said in win.statusBar().currentMessage()


def test_closing_the_window_stops_its_jobs_then_closes_the_database(make_window, qtbot, monkeypatch):
    win = make_window(predictions=False)
    write_active_run("run-a")
    started = threading.Event()
    start_prediction(win, qtbot, predict_until_cancelled(started), monkeypatch)
    qtbot.waitUntil(started.is_set, timeout=30000)
    session, worker = win.session, win.models.runner.worker
    win.close()
    assert worker.is_done and worker.outcome == "cancelled"
    assert session.store._closed and win.session is None


def test_a_retrain_dialog_closes_with_its_data_set_and_says_so(make_window, qtbot, tmp_path, monkeypatch):
    from fashion_review.gui import retrain
    from fashion_review.gui.retrain_jobs import registry_runs

    started = threading.Event()

    def endless_training(ds, recipe, *, task, **_kwargs):
        started.set()
        while True:
            task.check()
            time.sleep(0.01)

    monkeypatch.setattr(retrain, "full_job", endless_training)
    other = other_catalog(tmp_path)
    win = make_window(predictions=False)  # no model yet: the dialog offers full retraining
    win.act_retrain.trigger()
    dlg = win.models.retrain_dialog
    qtbot.waitExposed(dlg)
    fp, first = win.session.ds.fingerprint, win.session
    before = registry_runs(fp)
    qtbot.mouseClick(dlg.start_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(started.is_set, timeout=30000)
    messages = []
    win.statusBar().messageChanged.connect(messages.append)
    with qtbot.waitSignal(win.loaded, timeout=30000):
        win.open_dataset(other)
    qtbot.waitUntil(lambda: win.models.retrain_dialog is None, timeout=10000)  # closed (and deleted)
    assert first.store._closed  # after its training stopped: never a job on a closed database
    said = [m for m in messages if "retrain dialog closed with its data set" in m]
    assert said and "its training was cancelled; nothing was written" in said[0], messages
    assert registry_runs(fp) == before


def test_a_model_switch_while_its_parts_are_computed_never_shows_the_old_models_parts(qtbot, monkeypatch):
    from fashion_review.data import open_dataset
    from fashion_review.gui import parts as parts_mod
    from fashion_review.gui.main_window import MainWindow
    from fashion_review.gui.settings import AppSettings
    from fashion_review.training import registry

    ds = open_dataset(paths.SAMPLE_CATALOG)
    try:
        own_a, own_b = ds.split(S), ds.split("gender_master")
        usable = set(ds.usable(S).index.tolist())
    finally:
        ds.close()
    test_a = usable & set(own_a.index[own_a == "test"].tolist())
    test_b = set(own_b.index[own_b == "test"].tolist())  # run-b's test part (usable in the scheme or not)
    assert test_a != usable & test_b
    write_active_run("run-b", seed=2, split=own_b)
    write_active_run("run-a", split=own_a)  # the window opens with run-a
    real, calls, returned = parts_mod.compute_splits, [], []
    blocked, release = threading.Event(), threading.Event()

    def slow_second(ds, effective, **kwargs):  # the job after the correction: in flight at the switch
        calls.append(1)
        if len(calls) == 2:
            blocked.set()
            release.wait(30)
        try:
            return real(ds, effective, **kwargs)  # the superseded one stops at its first task.check()
        finally:
            returned.append(1)

    monkeypatch.setattr(parts_mod, "compute_splits", slow_second)
    win = MainWindow(AppSettings(author="tester"))
    qtbot.addWidget(win)
    win.show()
    with qtbot.waitSignals([win.loaded, win.splits_ready], timeout=60000):
        win.open_dataset(paths.SAMPLE_CATALOG)
    view = win.confusion
    view.set_scheme(S)
    view.set_part("test")

    def shown_ids() -> set:
        ids = [view.ids_of_class(c) for c in view.classes()]
        return set(np.concatenate(ids).tolist()) if ids else set()

    assert shown_ids() == test_a
    seen = []
    view.updated.connect(lambda: seen.append((view._model_name, view.parts_source, shown_ids())))
    win.activateWindow()
    win.grid.setFocus()
    qtbot.keyClick(win.grid, Qt.Key.Key_X)  # a correction: the parts follow in the background
    qtbot.waitUntil(blocked.is_set, timeout=10000)
    registry.activate(win.session.ds.fingerprint, "run-b")  # `fashion-review models activate run-b`
    assert win.models.active_watcher.check()  # the app notices (its poll) and shows run-b
    assert win.session.run_key == "run-b"
    qtbot.waitUntil(lambda: win.parts.done and win.parts.splits_for == "run-b", timeout=30000)
    release.set()
    qtbot.waitUntil(lambda: len(returned) == len(calls) and not win.parts.busy, timeout=30000)
    qtbot.wait(50)  # the old job's late signals
    assert ("run-b", "pending", set()) in seen  # while its own parts were computed: none shown
    for name, source, ids in seen:
        if name == "run-b" and source != "pending":
            assert ids <= test_b, "run-b shown with run-a's test part"
    usable_now = set(win.parts.splits[S]["usable"].index.tolist())  # the product excluded above left it
    assert view.parts_source == "model" and shown_ids() == usable_now & test_b
    frame = win.session.table.frame
    assert set(frame.index[frame[col("part", S)] == "test"].tolist()) == test_b


def test_a_correction_made_while_the_data_set_reloads_is_shown_and_the_next_one_is_not_refused(
        make_window, qtbot, monkeypatch):
    """The load reads the corrections, then builds the table in its worker; a correction recorded
    meanwhile (here by the window still showing the data set, as a curator keeps working while
    File > Open recent reopens it) must be in the table the new session shows, or the next change of
    that product is refused as stale ("changed since this window showed it")."""
    from fashion_review.gui import session as session_mod

    win = make_window(predictions=False)
    pid = int(win.session.table.frame.index[0])
    before = str(win.session.table.effective.at[pid, S])
    other = next(c for c in win.session.table.known_labels(S) if c != before)
    built, go_on = threading.Event(), threading.Event()
    real_build = session_mod.ReviewTable.build

    def slow_build(*args, **kwargs):  # the worker has read the corrections, the table is not built yet
        built.set()
        go_on.wait(30)
        return real_build(*args, **kwargs)

    monkeypatch.setattr(session_mod.ReviewTable, "build", slow_build)
    with qtbot.waitSignal(win.loaded, timeout=60000):
        win.open_dataset(win.session.data_path)
        qtbot.waitUntil(built.is_set, timeout=30000)
        win.select_pids(np.array([pid]), pid)
        assert win.edits.set_label(other) is not None  # recorded by the old session's window
        go_on.set()
    assert str(win.session.table.effective.at[pid, S]) == other  # the new session shows it
    third = next(c for c in win.session.table.known_labels(S) if c not in (before, other))
    win.select_pids(np.array([pid]), pid)
    assert win.edits.set_label(third) is not None  # not refused as stale
    assert win.session.store.effective()[(pid, S)] == third
