"""The app's own settings: one typed object in a small JSON file under the home folder.

napari's pattern: a dataclass with a ``schema_version``, read tolerantly (a missing, damaged or
unknown field falls back to its default; a file from a newer version is read but never written
over) and written atomically.  Window geometry lives in ``QSettings`` (``window.ini``) instead.
"""

from __future__ import annotations

import getpass
import json
import os
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from fashion_review import paths

SCHEMA_VERSION = 1
FILE_NAME = "settings.json"
MAX_RECENT = 8
VIEWS = ("grid", "table", "confusion", "issues")


def _default_author() -> str:
    try:
        return getpass.getuser() or "curator"
    except Exception:  # noqa: BLE001 - no user name on this system
        return "curator"


@dataclass
class AppSettings:
    """What the app remembers between runs."""

    schema_version: int = SCHEMA_VERSION
    #: The data folder opened last (None: the bundled sample).
    last_data: str | None = None
    #: Recently opened data folders, most recent first.
    recent: list[str] = field(default_factory=list)
    #: The scheme in focus.
    scheme: str = "articleType"
    #: The view shown: grid, table or confusion.
    view: str = "grid"
    #: Who corrections are recorded as.
    author: str = field(default_factory=_default_author)
    #: Move to the next product after correcting one.
    advance: bool = True
    #: The folder File > Export corrected catalog wrote to last ("": the user's home).
    export_dir: str = ""

    # -- file -------------------------------------------------------------------------------

    @staticmethod
    def path() -> Path:
        return paths.home() / FILE_NAME

    @classmethod
    def load(cls) -> AppSettings:
        """The stored settings, or the defaults where the file or a field is missing or bad."""
        s = cls()
        try:
            raw = json.loads(cls.path().read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return s
        if not isinstance(raw, dict):
            return s
        defaults = cls()
        for f in fields(cls):
            if f.name not in raw or f.name == "schema_version":
                continue
            value = raw[f.name]
            want = type(getattr(defaults, f.name))
            if f.name == "last_data":
                ok = value is None or isinstance(value, str)
            elif f.name == "recent":
                ok = isinstance(value, list) and all(isinstance(v, str) for v in value)
            else:
                ok = isinstance(value, want) and not (want is int and isinstance(value, bool))
            if ok:
                setattr(s, f.name, value)
        if s.view not in VIEWS:
            s.view = "grid"
        s.recent = s.recent[:MAX_RECENT]
        version = raw.get("schema_version")
        s._newer = isinstance(version, int) and version > SCHEMA_VERSION  # type: ignore[attr-defined]
        return s

    def save(self) -> bool:
        """Write atomically; False (and nothing written) for a file of a newer version or on error."""
        if getattr(self, "_newer", False):
            return False
        from fashion_review.fsutil import atomic_write_json

        try:
            atomic_write_json(self.path(), asdict(self), indent=2)
        except OSError:
            return False
        return True

    def remember(self, data: str | os.PathLike[str]) -> None:
        """Note ``data`` as the last data set opened, at the top of the recent list."""
        d = str(Path(data).expanduser().resolve())
        self.last_data = d
        self.recent = [d, *[r for r in self.recent if r != d]][:MAX_RECENT]


# -- window geometry (QSettings, apart from the typed settings) ------------------------------------

#: Window geometry, dock layout and thumbnail size, under the home folder (never the user's registry).
WINDOW_INI = "window.ini"


def window_settings():  # noqa: ANN201 - QSettings
    from PySide6.QtCore import QSettings

    return QSettings(str(paths.home() / WINDOW_INI), QSettings.Format.IniFormat)


def restore_window_layout(win) -> None:  # noqa: ANN001 - the MainWindow
    from PySide6.QtCore import QByteArray

    qs = window_settings()
    # Always with a default: PySide6 6.12 drops a reference to None for a missing value.
    geom, state = qs.value("geometry", QByteArray()), qs.value("state", QByteArray())
    if isinstance(geom, QByteArray) and not geom.isEmpty():
        win.restoreGeometry(geom)
    if isinstance(state, QByteArray) and not state.isEmpty():
        win.restoreState(state)
    try:
        win.grid.set_thumb_size(int(qs.value("thumb_step", 0)))
    except (TypeError, ValueError):
        pass


def save_window_layout(win) -> None:  # noqa: ANN001 - the MainWindow
    qs = window_settings()
    qs.setValue("geometry", win.saveGeometry())
    qs.setValue("state", win.saveState())
    qs.setValue("thumb_step", win.grid.thumb_step)
    qs.sync()
