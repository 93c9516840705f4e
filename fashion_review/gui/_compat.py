"""A work-around for reference-count bugs of PySide6 6.12 on Python 3.11 and older.

With PySide6-Essentials 6.12.0 on CPython < 3.12, Python loses a reference to a singleton on
many everyday calls: to ``None`` on every Qt method that returns nothing (``widget.update()``,
``app.processEvents()``, ``label.setText()``...) and on every read of an empty ``QVariant``
(``index.data(role)`` without data, ``combo.currentData()`` of None, ``QSettings.value()`` of a
missing key); to ``True`` on every ``signal.emit(...)``.  After some thousands of such calls
(scrolling the grid, a worker's progress signals) the interpreter deallocates the singleton and
aborts ("Fatal Python error: none_dealloc" / "bool_dealloc").  From Python 3.12 on these objects
are immortal and the bug is harmless.

:func:`protect_singletons` detects the bug with a few probe calls and, only then, gives ``None``,
``True`` and ``False`` reference counts so large (2**40) that no session can exhaust them: what
Python 3.12 does for them.  It runs when ``fashion_review.gui`` is imported.  Remove this module
once the project requires Python >= 3.12 or a fixed PySide6.
"""

from __future__ import annotations

import sys

_PROBES = 200
_BUMP = 1 << 40
_done = False


def refs_dropped_per_call() -> dict[str, float]:
    """References lost per call: to None by a void Qt method, to True by ``signal.emit``."""
    from PySide6.QtCore import QObject, Signal

    class _Probe(QObject):
        fired = Signal()

    obj = _Probe()
    before = sys.getrefcount(None)
    for _ in range(_PROBES):
        obj.setObjectName("probe")
    none = (before - sys.getrefcount(None)) / _PROBES
    before = sys.getrefcount(True)
    for _ in range(_PROBES):
        obj.fired.emit()
    true = (before - sys.getrefcount(True)) / _PROBES
    return {"None": none, "True": true}


def protect_singletons() -> bool:
    """Make None, True and False immortal when this PySide6 build drops references to them."""
    global _done
    if _done or sys.version_info >= (3, 12) or sys.implementation.name != "cpython":
        return False
    _done = True
    dropped = refs_dropped_per_call()
    if max(dropped.values()) < 0.5:
        return False
    import ctypes

    for obj in (None, True, False):
        ctypes.c_ssize_t.from_address(id(obj)).value += _BUMP  # ob_refcnt is the first field
    return True


protect_none = protect_singletons  # the first name of this work-around
