"""Jobs that belong to an open data set: their results reach only the catalog they were started on.

Every background job of the window (a prediction, a retrain, a label-issue search, the
look-alike and duplicate workers, the splits) works on one :class:`~fashion_review.gui.session.Session`:
the data set that was open when it started.  :class:`SessionJobs` starts (or tracks) each job with
that session and delivers its result, error and progress only while that session is still the one
shown; a result for another one is dropped (and said so through :attr:`SessionJobs.dropped`).
Closing a session (another data set opened, the window closed) cancels its jobs, closes the
dialogs bound to it, waits for the jobs to stop and only then closes its database; a job that does
not stop within :data:`CLOSE_WAIT_S` keeps the database open until it finishes.

    jobs = SessionJobs(lambda: window.session, window)
    jobs.start(session, Worker(build_index, session.ds), result=self._on_index, job=self._index_job)
    jobs.track(session, runner.start(run, session.ds), "prediction")     # a worker started elsewhere
    jobs.attach_dialog(session, retrain_dialog)                           # closed with the data set
    note = jobs.close(old_session)                                        # what closing it did, in words
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QThreadPool, Signal

from fashion_review.gui.workers import SingleJob, Worker
from fashion_review.text import plural

#: How long closing a data set waits for its jobs to stop before leaving the database open to them.
CLOSE_WAIT_S = 10.0


#: What closing a data set says about a job of it that the user started and watched, by the job's name
#: and how it ended (the Retrain and Find label issues dialogs say it for theirs).  Without it the
#: prediction's progress dialog vanished when another data set was opened, and nothing said why.
SAID_WHEN_CLOSED = {
    "prediction": {"cancelled": "the prediction of the closed data set was cancelled (its earlier predictions "
                                "are unchanged)",
                   "result": "the prediction of the closed data set had finished; its predictions are stored",
                   "errored": "the prediction of the closed data set failed"},
}


class SessionJobs(QObject):
    """The jobs and session-bound dialogs of each open data set (see the module docstring)."""

    #: A job's result (or error) arrived for a data set that is no longer shown: (job name).
    dropped = Signal(str)
    #: A session was closed (its jobs stopped and its database closed): (the session).
    closed = Signal(object)

    def __init__(self, current: Callable[[], Any], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._current = current
        self._jobs: dict[int, list[tuple[str, Worker]]] = {}
        self._dialogs: dict[int, list[Any]] = {}
        self._sessions: dict[int, Any] = {}

    # -- starting -------------------------------------------------------------------------

    def is_current(self, session: Any) -> bool:
        return session is not None and self._current() is session

    def guard(self, session: Any, slot: Callable[..., Any], name: str = "job") -> Callable[..., None]:
        """``slot``, called only while ``session`` is the one shown (else the call is dropped)."""

        def call(*args: Any) -> None:
            if self.is_current(session):
                slot(*args)
            else:
                self.dropped.emit(name)

        return call

    def start(self, session: Any, worker: Worker, *, name: str = "job", job: SingleJob | None = None,
              pool: QThreadPool | None = None, result: Callable[[Any], None] | None = None,
              errored: Callable[[str, str], None] | None = None, cancelled: Callable[[], None] | None = None,
              progress: Callable[[Any], None] | None = None) -> Worker:
        """Connect ``worker``'s signals (guarded by ``session``), track it, start it (through ``job``
        when given: one job at a time for a view)."""
        s = worker.signals
        for signal, slot in ((s.result, result), (s.errored, errored), (s.cancelled, cancelled),
                             (s.progress, progress)):
            if slot is not None:
                signal.connect(self.guard(session, slot, name))
        self.track(session, worker, name)
        if job is not None:
            return job.start(worker)
        return worker.start(pool)

    def track(self, session: Any, worker: Worker | None, name: str = "job") -> Worker | None:
        """Count ``worker`` (started elsewhere) as a job of ``session``: closing it waits for it."""
        if worker is None or session is None:
            return worker
        key = id(session)
        self._sessions[key] = session
        jobs = self._jobs.setdefault(key, [])
        jobs[:] = [(n, w) for n, w in jobs if not w.is_done]
        jobs.append((name, worker))
        return worker

    def attach_dialog(self, session: Any, dialog: Any) -> None:
        """A dialog working on ``session``'s data set: closed with it (its ``close_with_dataset()``
        says in words what became of its work)."""
        key = id(session)
        self._sessions[key] = session
        self._dialogs.setdefault(key, []).append(dialog)
        dialog.destroyed.connect(lambda *_a, k=key, d=dialog: self._forget_dialog(k, d))

    def _forget_dialog(self, key: int, dialog: Any) -> None:
        dialogs = self._dialogs.get(key, [])
        if dialog in dialogs:
            dialogs.remove(dialog)

    # -- state ----------------------------------------------------------------------------

    def running(self, session: Any = None) -> list[tuple[str, Worker]]:
        """(name, worker) of the jobs not done yet (of ``session``, or of every session)."""
        keys = [id(session)] if session is not None else list(self._jobs)
        return [(n, w) for k in keys for n, w in self._jobs.get(k, []) if not w.is_done]

    def busy(self, session: Any = None) -> bool:
        return bool(self.running(session))

    # -- closing --------------------------------------------------------------------------

    def close(self, session: Any, wait_s: float | None = None) -> str:
        """Close ``session``: its dialogs, then cancel its jobs, wait for them, close its database.

        Returns what was done, in words ("" when there was nothing to say).  A job still running
        after ``wait_s`` (default :data:`CLOSE_WAIT_S`) keeps the database open; it is closed when the
        last such job finishes.
        """
        if session is None:
            return ""
        wait_s = CLOSE_WAIT_S if wait_s is None else wait_s
        key = id(session)
        notes = []
        for dialog in list(self._dialogs.pop(key, [])):
            try:
                text = dialog.close_with_dataset()
            except RuntimeError:  # its C++ object is gone already
                continue
            if text:
                notes.append(text)
        jobs = [(n, w) for n, w in self._jobs.pop(key, []) if not w.is_done]
        for _, w in jobs:
            w.cancel()
        deadline = time.monotonic() + wait_s
        left = [(n, w) for n, w in jobs if not w.wait(max(0.0, deadline - time.monotonic()))]
        for n, w in jobs:  # a job the user started and watches (its progress dialog goes): what became of it
            if n in SAID_WHEN_CLOSED and w.is_done:
                notes.append(SAID_WHEN_CLOSED[n].get(w.outcome, ""))
        notes = [t for t in notes if t]
        self._sessions.pop(key, None)
        if not left:
            session.close()
            self.closed.emit(session)
        else:
            names = sorted({n for n, _ in left})
            notes.append(f"{plural(len(left), 'job')} of the closed data set still stopping ({', '.join(names)}); "
                         "its corrections database closes when they end")
            pending = {id(w) for _, w in left}

            def one_done(wid: int) -> None:
                if wid not in pending:
                    return
                pending.discard(wid)
                if not pending:
                    session.close()
                    self.closed.emit(session)

            for _, w in left:
                w.signals.finished.connect(lambda wid=id(w): one_done(wid))
            for _, w in left:  # one may have ended before its connection was made
                if w.is_done:
                    one_done(id(w))
        return "; ".join(notes)

    def close_all(self, wait_s: float | None = None) -> str:
        """Close every session still known (the window closes)."""
        notes = [self.close(s, wait_s) for s in list(self._sessions.values())]
        return "; ".join(n for n in notes if n)
