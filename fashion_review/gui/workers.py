"""Run long plain functions off the GUI thread (superqt / napari ``create_worker`` style).

A :class:`Worker` is a ``QRunnable`` that calls ``fn(*args, task=Task, **kwargs)`` on a thread
pool; its signals live on a separate :class:`WorkerSignals` ``QObject`` created on the GUI thread,
so every connected slot of a GUI object runs on the GUI thread.  The function knows nothing of Qt:
it reports through the :class:`~fashion_review.tasks.Task` handle and checks its cancel flag.
Workers never touch widgets.

Progress reports are throttled (at most ``1 / min_interval`` per second per phase); a change of
phase, a finished fraction and the phases in ``keep_phases`` (``"epoch_end"``, which the training
curves plot) always go through, and the last report held back is delivered before the result.

    worker = Worker(predict, run, ds)
    worker.signals.progress.connect(self._on_progress)
    worker.signals.result.connect(self._on_predictions)
    self._jobs.start(worker)       # a SingleJob: starting a new job cancels the previous one
"""

from __future__ import annotations

import threading
import time
import traceback
from collections.abc import Callable, Iterable
from typing import Any, ClassVar

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

from fashion_review.tasks import Cancelled, Progress, Task

#: Phases never dropped by the throttle.
KEEP_PHASES = ("epoch_end",)


class WorkerSignals(QObject):
    """What a :class:`Worker` tells the GUI.  ``finished`` always comes last, once."""

    started = Signal()
    progress = Signal(object)  # fashion_review.tasks.Progress
    result = Signal(object)
    errored = Signal(str, str)  # message, traceback
    cancelled = Signal()
    finished = Signal()

    def __init__(self, worker: Worker) -> None:
        super().__init__()
        self._worker: Worker | None = worker
        self.finished.connect(self._on_finished)  # a slot of a GUI-thread object: runs there

    def _on_finished(self) -> None:
        # Release the worker on the GUI thread, after every queued signal of it was delivered.
        worker, self._worker = self._worker, None
        if worker is not None:
            with Worker._alive_lock:
                Worker._alive.discard(worker)


class ProgressThrottle:
    """Forwards progress reports to ``emit`` at most once per ``min_interval`` seconds per phase.

    Thread-safe; :meth:`flush` delivers the report last held back (if any).
    """

    def __init__(self, emit: Callable[[Progress], None], min_interval: float = 0.05,
                 keep_phases: Iterable[str] = KEEP_PHASES) -> None:
        self._emit = emit
        self.min_interval = float(min_interval)
        self.keep_phases = frozenset(keep_phases)
        self._lock = threading.Lock()
        self._last_time = float("-inf")
        self._last_phase: str | None = None
        self._pending: Progress | None = None

    def __call__(self, p: Progress) -> None:
        now = time.monotonic()
        with self._lock:
            urgent = (
                p.phase != self._last_phase
                or p.phase in self.keep_phases
                or (p.fraction is not None and p.fraction >= 1.0)
                or now - self._last_time >= self.min_interval
            )
            if not urgent:
                self._pending = p
                return
            pending, self._pending = self._pending, None
            self._last_time = now
            self._last_phase = p.phase
        if pending is not None and pending.phase != p.phase:
            self._emit(pending)  # the last report of the phase that ends (e.g. the epoch's last batch)
        self._emit(p)

    def flush(self) -> None:
        with self._lock:
            pending, self._pending = self._pending, None
        if pending is not None:
            self._emit(pending)


class Worker(QRunnable):
    """Runs ``fn(*args, task=<Task>, **kwargs)`` on a thread pool and reports through :attr:`signals`.

    Create it on the GUI thread (its signals object is made there).  :meth:`cancel` sets the
    task's cancel flag; the function stops at its next check and the worker emits ``cancelled``
    (never ``result``) then ``finished``; a function that returns all the same (the cancel came
    after its last check, its work is done) emits ``result``.  A function that raises emits ``errored(message,
    traceback)``.  Pass ``task_arg=None`` for a function that takes no task.  :meth:`wait` blocks until
    the function is done (closing a data set waits for its jobs); :attr:`outcome` says how it ended;
    ``on_dropped`` disposes of a value a superseded job returned (a data set it opened).
    """

    #: Workers running or queued: keeps the Python objects alive until they finish.
    _alive: ClassVar[set[Worker]] = set()
    _alive_lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, fn: Callable[..., Any], *args: Any, task_arg: str | None = "task",
                 min_interval: float = 0.05, on_dropped: Callable[[Any], None] | None = None,
                 **kwargs: Any) -> None:
        super().__init__()
        self.setAutoDelete(False)
        self.fn = fn
        self.args = args
        self.kwargs = kwargs
        self.signals = WorkerSignals(self)
        self._throttle = ProgressThrottle(self.signals.progress.emit, min_interval)
        self.task = Task(self._throttle)
        self.task_arg = task_arg
        self._state = "new"  # new, queued, running, done
        self._superseded = False
        self._done = threading.Event()
        #: Called (on the worker's thread) with a value a superseded job returned all the same and
        #: that nobody will receive: what it holds open (a data set's database) is closed there.
        self.on_dropped = on_dropped
        #: How the function ended: "result" (it returned), "cancelled", "errored"; None until then.
        self.outcome: str | None = None

    # -- control (GUI thread) -----------------------------------------------------------

    def start(self, pool: QThreadPool | None = None) -> Worker:
        """Queue the worker on ``pool`` (the global pool by default); returns itself."""
        if self._state != "new":
            raise RuntimeError("a worker runs once; create a new one")
        self._state = "queued"
        with Worker._alive_lock:
            Worker._alive.add(self)
        (pool or QThreadPool.globalInstance()).start(self)
        return self

    def cancel(self) -> None:
        """Ask the function to stop (it notices at its next ``task.check()`` / ``task.cancelled``)."""
        self.task.cancel()

    def supersede(self) -> None:
        """Cancel, and drop the result should the function return all the same (a newer job of the
        same view replaced this one: :class:`SingleJob`)."""
        self._superseded = True
        self.task.cancel()

    @property
    def is_cancelled(self) -> bool:
        return self.task.cancelled

    @property
    def is_running(self) -> bool:
        return self._state in ("queued", "running")

    @property
    def is_done(self) -> bool:
        return self._state == "done"

    def wait(self, timeout_s: float | None = None) -> bool:
        """Block until the function has returned (or never will run); True when it has.

        For closing what the job uses (a data set) only once it is done with it; the signals it
        emitted are still delivered later, through the event loop.
        """
        if self._state == "new":
            return True
        return self._done.wait(timeout_s)

    # -- the thread -----------------------------------------------------------------------

    def run(self) -> None:  # noqa: D401 - QRunnable API
        self._state = "running"
        sig = self.signals
        try:
            if self.task.cancelled:
                self.outcome = "cancelled"
                sig.cancelled.emit()
                return
            sig.started.emit()
            kwargs = dict(self.kwargs)
            if self.task_arg is not None:
                kwargs[self.task_arg] = self.task
            try:
                value = self.fn(*self.args, **kwargs)
            except Cancelled:
                self.outcome = "cancelled"
                self._throttle.flush()
                sig.cancelled.emit()
                return
            except BaseException as exc:  # noqa: BLE001 - reported to the GUI, never lost
                self._throttle.flush()
                if self.task.cancelled:
                    self.outcome = "cancelled"
                    sig.cancelled.emit()
                else:
                    self.outcome = "errored"
                    message = str(exc) or type(exc).__name__
                    sig.errored.emit(message, traceback.format_exc())
                return
            self.outcome = "result"
            self._throttle.flush()
            if self._superseded:
                sig.cancelled.emit()  # a newer job of the same view replaced it: its result is not wanted
                if self.on_dropped is not None:
                    try:
                        self.on_dropped(value)
                    except Exception:  # noqa: BLE001 - tidying up after a result nobody wants
                        traceback.print_exc()
            else:
                try:
                    sig.result.emit(value)  # it returned: its work is done, even if a cancel came after its last check
                except RuntimeError:  # its signals were deleted: the application is quitting, nobody to tell
                    pass
        finally:
            self._state = "done"
            self._done.set()
            try:
                sig.finished.emit()
            except RuntimeError:  # as above: the application quit while this job ended
                pass


class SingleJob(QObject):
    """One job at a time for a view (Orange's pattern): starting a new one cancels the previous."""

    def __init__(self, parent: QObject | None = None, pool: QThreadPool | None = None) -> None:
        super().__init__(parent)
        self.pool = pool
        self.current: Worker | None = None

    def start(self, worker: Worker) -> Worker:
        if self.current is not None and not self.current.is_done:
            self.current.supersede()  # its result, should it still come, would be stale
        self.current = worker
        worker.signals.finished.connect(self._on_finished)
        return worker.start(self.pool)

    def cancel(self) -> None:
        if self.current is not None and not self.current.is_done:
            self.current.cancel()

    @property
    def busy(self) -> bool:
        return self.current is not None and not self.current.is_done

    def _on_finished(self) -> None:
        if self.current is not None and self.current.is_done:
            self.current = None


_pools: dict[str, QThreadPool] = {}


def _pool(name: str) -> QThreadPool:
    """The one-thread pool ``name`` (made on first use, kept for the process)."""
    if name not in _pools:
        pool = QThreadPool()
        pool.setMaxThreadCount(1)
        pool.setObjectName(f"fashion_review.{name}")
        _pools[name] = pool
    return _pools[name]


def long_pool() -> QThreadPool:
    """A pool for minutes-long jobs (training, prediction), apart from the global pool that
    loads thumbnails: one job at a time, so a training run never starves the grid."""
    return _pool("long_pool")


def view_pool() -> QThreadPool:
    """A pool for a view's second-long recomputation (the label-issue queue after a key): apart from the
    global pool, where thumbnails load and the device is described (a Keras import, seconds), which held a
    rebuild back for more than 5 s under a loaded CI machine."""
    return _pool("view_pool")


def run_in_worker(fn: Callable[..., Any], *args: Any, result: Callable[[Any], None] | None = None,
                  errored: Callable[[str, str], None] | None = None,
                  progress: Callable[[Progress], None] | None = None,
                  pool: QThreadPool | None = None, task_arg: str | None = "task", **kwargs: Any) -> Worker:
    """Shortcut: make a worker, connect the given callbacks, start it."""
    worker = Worker(fn, *args, task_arg=task_arg, **kwargs)
    if result is not None:
        worker.signals.result.connect(result)
    if errored is not None:
        worker.signals.errored.connect(errored)
    if progress is not None:
        worker.signals.progress.connect(progress)
    return worker.start(pool)
