"""A task handle for long work (Orange's ``TaskState``, without Qt).

Long operations (validating images, building the image cache, training, predicting) are plain
functions that take a :class:`Task`.  They call :meth:`Task.report` with what they are doing and
check :attr:`Task.cancelled` (or call :meth:`Task.check`) often; the caller decides how progress is
shown: a progress bar on the command line, a worker's throttled signal in the GUI.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable


class Cancelled(Exception):
    """Raised by :meth:`Task.check` when the task was cancelled."""


@dataclass
class Progress:
    """One progress report.  ``fraction`` is in [0, 1] or None when unknown."""

    phase: str
    fraction: float | None = None
    message: str = ""
    info: dict[str, Any] = field(default_factory=dict)


class Task:
    """Progress sink and cancel flag shared between a long function and whoever runs it."""

    def __init__(self, on_progress: Callable[[Progress], None] | None = None) -> None:
        self._cancel = threading.Event()
        self._on_progress = on_progress
        self.last: Progress | None = None
        self.started = time.monotonic()

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def cancel(self) -> None:
        self._cancel.set()

    def check(self) -> None:
        """Raise :class:`Cancelled` if cancel was requested."""
        if self._cancel.is_set():
            raise Cancelled()

    def linked(self, on_progress: Callable[[Progress], None] | None) -> Task:
        """A task that reports to ``on_progress`` and is cancelled when this one is (one step of a
        longer job, whose progress the caller rescales)."""
        child = Task(on_progress)
        child._cancel = self._cancel
        return child

    def report(self, phase: str, fraction: float | None = None, message: str = "", **info: Any) -> None:
        p = Progress(phase, fraction, message, dict(info))
        self.last = p
        if self._on_progress is not None:
            self._on_progress(p)


class ConsoleProgress:
    """Renders progress reports as a one-line text bar on a stream (the CLI's view)."""

    def __init__(self, stream=None, min_interval: float = 0.2) -> None:
        import sys

        self.stream = stream or sys.stderr
        self.min_interval = min_interval
        self._last = 0.0
        self._phase = None

    def __call__(self, p: Progress) -> None:
        now = time.monotonic()
        final = p.fraction is not None and p.fraction >= 1.0
        if p.phase == self._phase and not final and now - self._last < self.min_interval:
            return
        self._last = now
        if p.phase != self._phase and self._phase is not None:
            self.stream.write("\n")
        self._phase = p.phase
        if p.fraction is None:
            bar = ""
        else:
            n = int(round(30 * max(0.0, min(1.0, p.fraction))))
            bar = f"[{'#' * n}{'.' * (30 - n)}] {100 * p.fraction:5.1f}% "
        self.stream.write(f"\r{p.phase}: {bar}{p.message}"[:200].ljust(80))
        if final:
            self.stream.write("\n")
            self._phase = None
        self.stream.flush()
