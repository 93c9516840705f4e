"""Thumbnails loaded off the GUI thread and kept in an LRU cache.

The grid asks :meth:`Thumbnails.get` for each product it paints.  A miss queues the id; queued ids
are read in batches by ``QRunnable`` jobs on a small pool of their own (JPEG decoding with
``QImage``, or a row of the on-disk image cache when there is one), newest request first, so the
products on screen load before those scrolled past.  Finished images come back to the GUI thread
through a signal, become ``QPixmap``s and land in the LRU; :attr:`Thumbnails.loaded` then tells
the model which products to repaint.  Requests beyond :data:`MAX_QUEUED` drop the oldest (they
have scrolled out of sight and are asked for again if they come back).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable

import numpy as np
from PySide6.QtCore import QObject, QRunnable, QThreadPool, QTimer, Signal
from PySide6.QtGui import QImage, QPixmap

#: Thumbnails kept in memory (a 60 x 80 pixmap is about 19 KB: 5,000 are about 100 MB).
CAPACITY = 5000
#: Ids waiting to load; older requests are dropped beyond this.
MAX_QUEUED = 600
#: Ids per job.
BATCH = 48
#: Jobs in flight at once.
MAX_JOBS = 2

ImageLoader = Callable[[int], QImage]


def jpeg_loader(path_of: Callable[[int], str]) -> ImageLoader:
    """A loader reading each product's JPEG (thread-safe: ``QImage`` only, no ``QPixmap``)."""

    def load(pid: int) -> QImage:
        return QImage(path_of(pid))

    return load


def cache_loader(cache, fallback: ImageLoader | None = None) -> ImageLoader:  # noqa: ANN001 - data.images.ImageCache
    """A loader reading rows of the on-disk image cache (80 x 60 RGB), else ``fallback``."""

    def load(pid: int) -> QImage:
        pos = int(cache.index_of([pid])[0])
        if pos < 0 or not bool(cache.ok[pos]):
            return fallback(pid) if fallback is not None else QImage()
        arr = np.ascontiguousarray(cache.images[pos])
        h, w, _ = arr.shape
        return QImage(arr.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()

    return load


class _JobSignals(QObject):
    done = Signal(object)  # list[(pid, QImage)]


class _LoadJob(QRunnable):
    def __init__(self, ids: list[int], load: ImageLoader, signals: _JobSignals) -> None:
        super().__init__()
        self.ids = ids
        self.load = load
        self.signals = signals

    def run(self) -> None:
        out = []
        for pid in self.ids:
            try:
                img = self.load(pid)
            except Exception:  # noqa: BLE001 - an unreadable file shows as "no image"
                img = QImage()
            out.append((pid, img))
        try:
            self.signals.done.emit(out)
        except RuntimeError:  # the window closed meanwhile: nobody wants them any more
            pass


class Thumbnails(QObject):
    """Product thumbnails: an LRU of pixmaps filled by background jobs."""

    #: Product ids whose thumbnail just arrived (or failed: ``get`` then returns a null pixmap).
    loaded = Signal(object)
    #: Nothing queued nor loading any more.
    idle = Signal()

    def __init__(self, load: ImageLoader, capacity: int = CAPACITY, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._load = load
        self.capacity = int(capacity)
        self._lru: OrderedDict[int, QPixmap] = OrderedDict()
        self._queued: OrderedDict[int, None] = OrderedDict()
        self._inflight: set[int] = set()
        self._jobs = 0
        self._signals = _JobSignals(self)
        self._signals.done.connect(self._on_done)
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(MAX_JOBS)
        self._pump_timer = QTimer(self)
        self._pump_timer.setSingleShot(True)
        self._pump_timer.setInterval(0)
        self._pump_timer.timeout.connect(self._pump)

    # -- asking -------------------------------------------------------------------------

    def get(self, pid: int) -> QPixmap | None:
        """The thumbnail if loaded (a null pixmap when there is no readable image), else None
        (and the product is queued)."""
        pid = int(pid)
        pm = self._lru.get(pid)
        if pm is not None:
            self._lru.move_to_end(pid)
            return pm
        self.request(pid)
        return None

    def cached(self, pid: int) -> bool:
        return int(pid) in self._lru

    def request(self, pid: int) -> None:
        """Queue ``pid`` (newest first); a no-op when cached or loading."""
        pid = int(pid)
        if pid in self._lru or pid in self._inflight:
            return
        self._queued[pid] = None
        self._queued.move_to_end(pid)
        while len(self._queued) > MAX_QUEUED:
            self._queued.popitem(last=False)
        if not self._pump_timer.isActive():
            self._pump_timer.start()

    def request_many(self, pids) -> None:  # noqa: ANN001 - iterable of ints
        """Queue several; the last ones load first."""
        for pid in pids:
            self.request(pid)

    @property
    def is_idle(self) -> bool:
        return not self._queued and not self._inflight

    def clear(self) -> None:
        """Forget every thumbnail and queued request (another data set was opened)."""
        self._lru.clear()
        self._queued.clear()
        self._inflight.clear()

    def set_loader(self, load: ImageLoader) -> None:
        self.clear()
        self._load = load

    def __len__(self) -> int:
        return len(self._lru)

    # -- loading ------------------------------------------------------------------------

    def _pump(self) -> None:
        while self._jobs < MAX_JOBS and self._queued:
            ids = []
            while self._queued and len(ids) < BATCH:
                pid, _ = self._queued.popitem(last=True)  # newest first
                ids.append(pid)
            self._inflight.update(ids)
            self._jobs += 1
            self.pool.start(_LoadJob(ids, self._load, self._signals))

    def _on_done(self, results: list) -> None:
        self._jobs -= 1
        arrived = []
        for pid, img in results:
            if pid not in self._inflight:
                continue  # cleared meanwhile
            self._inflight.discard(pid)
            pm = QPixmap.fromImage(img) if not img.isNull() else QPixmap()
            self._lru[pid] = pm
            arrived.append(pid)
        while len(self._lru) > self.capacity:
            self._lru.popitem(last=False)
        if self._queued:
            self._pump()
        if arrived:
            self.loaded.emit(arrived)
        if self.is_idle:
            self.idle.emit()

    def shutdown(self) -> None:
        """Drop queued work and wait for running jobs (called when the window closes)."""
        self._queued.clear()
        self.pool.clear()
        self.pool.waitForDone(5000)
