"""Before the first QApplication: are the system libraries Qt needs there?  Name the missing ones.

On a minimal Linux, Qt's window-system plugin (``xcb``) cannot load until a handful of X11
libraries are installed (``libxcb-cursor0`` and friends), and Qt then aborts the process with a
message that names neither the library nor the package.  :func:`problem` asks ``ldd`` which
libraries of the plugin are not found (falling back to trying to load the usual ones) and says
which Debian / Ubuntu packages provide them, so the app can print one clear line and exit.
Nothing here imports Qt's GUI modules (which may be what fails to load).
"""

from __future__ import annotations

import ctypes
import importlib.util
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

#: The shared libraries Qt's GUI and its xcb plugin link, and the Debian / Ubuntu package of each.
DEBIAN_PACKAGES = {
    "libxcb-cursor.so.0": "libxcb-cursor0",
    "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxcb-image.so.0": "libxcb-image0",
    "libxcb-render-util.so.0": "libxcb-render-util0",
    "libxcb-shape.so.0": "libxcb-shape0",
    "libxcb-randr.so.0": "libxcb-randr0",
    "libxcb-xinerama.so.0": "libxcb-xinerama0",
    "libxcb-xkb.so.1": "libxcb-xkb1",
    "libxcb-xfixes.so.0": "libxcb-xfixes0",
    "libxcb-sync.so.1": "libxcb-sync1",
    "libxcb-shm.so.0": "libxcb-shm0",
    "libxcb-render.so.0": "libxcb-render0",
    "libxcb-util.so.1": "libxcb-util1",
    "libxcb-xinput.so.0": "libxcb-xinput0",
    "libxcb.so.1": "libxcb1",
    "libX11-xcb.so.1": "libx11-xcb1",
    "libX11.so.6": "libx11-6",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
    "libxkbcommon.so.0": "libxkbcommon0",
    "libEGL.so.1": "libegl1",
    "libGL.so.1": "libgl1",
    "libOpenGL.so.0": "libopengl0",
    "libfontconfig.so.1": "libfontconfig1",
    "libfreetype.so.6": "libfreetype6",
    "libdbus-1.so.3": "libdbus-1-3",
    "libglib-2.0.so.0": "libglib2.0-0",
    "libSM.so.6": "libsm6",
    "libICE.so.6": "libice6",
}
#: What the README's apt line installs (the xcb plugin's needs beyond a base system).
README_PACKAGES = ("libegl1", "libgl1", "libfontconfig1", "libxkbcommon-x11-0", "libxcb-cursor0", "libxcb-icccm4",
                   "libxcb-keysyms1", "libxcb-image0", "libxcb-render-util0", "libxcb-shape0", "libxcb-randr0",
                   "libxcb-xinerama0", "libxcb-xkb1", "libdbus-1-3")
_NOT_FOUND = re.compile(r"^\s*(\S+)\s+=>\s+not found", re.MULTILINE)
_IMPORT_LIB = re.compile(r"(lib[\w.+-]+\.so[\w.]*): cannot open shared object file")


def qt_dir() -> Path | None:
    """The Qt folder of the installed PySide6 (without importing its GUI modules)."""
    spec = importlib.util.find_spec("PySide6")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0]) / "Qt"


def platform_name(environ: dict | None = None, platform: str | None = None) -> str:
    """The platform plugin Qt will try: ``QT_QPA_PLATFORM``, else ``xcb`` on Linux (X11 or XWayland)."""
    env = os.environ if environ is None else environ
    name = (env.get("QT_QPA_PLATFORM") or "").split(":")[0].split(";")[0].strip()
    if name:
        return name
    plat = sys.platform if platform is None else platform
    if plat.startswith("linux"):
        wayland = env.get("WAYLAND_DISPLAY") and env.get("XDG_SESSION_TYPE") == "wayland"
        return "wayland" if wayland and not env.get("DISPLAY") else "xcb"
    return ""


def missing_libraries(binary: Path) -> list[str]:
    """The shared libraries ``binary`` needs that the loader cannot find (``ldd``; else a load of each)."""
    ldd = shutil.which("ldd")
    if ldd is not None:
        try:
            out = subprocess.run([ldd, str(binary)], capture_output=True, text=True, timeout=20).stdout
        except (OSError, subprocess.SubprocessError):
            out = None
        if out is not None:
            return sorted(set(_NOT_FOUND.findall(out)))
    missing = []
    for name in DEBIAN_PACKAGES:
        if "xcb" in name or name.startswith(("libX11", "libxkbcommon")):
            try:
                ctypes.CDLL(name)
            except OSError:
                missing.append(name)
    return missing


def describe_missing(libraries: list[str], what: str) -> str:
    """One line: which libraries are missing for ``what``, and the apt line that installs them."""
    packages = sorted({DEBIAN_PACKAGES.get(lib, "") for lib in libraries} - {""})
    line = f"fashion-review: cannot start the app: {what} needs {', '.join(libraries)}, which "
    line += ("is" if len(libraries) == 1 else "are") + " not installed"
    if packages:
        line += f"; on Debian or Ubuntu: sudo apt-get install {' '.join(packages)}"
    return line + " (or make screenshots without a display: fashion-review gui --screenshot FILE.png)"


def problem(environ: dict | None = None) -> str | None:
    """Why a window cannot open here (missing libraries, no display), or None when it can."""
    env = os.environ if environ is None else environ
    name = platform_name(env)
    if name in ("offscreen", "minimal", "vnc") or not sys.platform.startswith("linux"):
        return None
    if name == "xcb" and not env.get("DISPLAY"):
        return ("fashion-review: cannot start the app: no display (DISPLAY is not set); run it in a desktop "
                "session, or make a screenshot without one: fashion-review gui --screenshot FILE.png")
    qt = qt_dir()
    if qt is None:
        return None
    plugin = qt / "plugins" / "platforms" / f"libq{name}.so"
    if not plugin.is_file():
        return None
    missing = missing_libraries(plugin)
    if missing:
        return describe_missing(missing, f"Qt's {name} platform plugin ({plugin.name})")
    return None


def import_problem(exc: ImportError) -> str:
    """The line for a PySide6 module that failed to import because a system library is missing."""
    found = _IMPORT_LIB.findall(str(exc))
    if found:
        return describe_missing(found, "Qt (PySide6)")
    return f"fashion-review: cannot start the app: PySide6 does not load: {exc}"
