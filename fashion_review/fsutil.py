"""Writing files and folders atomically: write beside the target, then rename into place.

The one writer of every file the program writes (the export, splits, predictions, the registry's
JSON and CSV files, plots, settings, the feature and image caches): a temp file in the target's
own folder, named uniquely per host, process and thread, flushed and fsynced, renamed over the
target, and the folder fsynced so the rename itself survives a power cut.  A crash, a kill or a
cancel never leaves a half-written file or folder that a reader would accept, and two threads
(or two processes, or two machines sharing a home) writing the same file never share a temp file.

Temp names record who writes them (:func:`temp_name`: ``<prefix><host>+<pid>+<thread>+<random>``)
so that :func:`remove_stale_temp_dirs` removes only what a process *of this machine* left behind
when it died: another machine's process ids mean nothing here, so its folders are never touched.
"""

from __future__ import annotations

import errno
import json
import os
import random
import re
import shutil
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

_SEP = "+"


def host_name() -> str:
    """This machine's name as temp names carry it (characters other than ``A-Za-z0-9.-`` as ``_``)."""
    return re.sub(r"[^A-Za-z0-9.-]", "_", socket.gethostname() or "localhost")


def temp_name(prefix: str) -> str:
    """A temp name that records its writer: ``<prefix><host>+<pid>+<thread>+<random>``.

    Unique per host, process and thread (and random within a thread), so concurrent writers of
    the same target never collide.
    """
    return _SEP.join((f"{prefix}{host_name()}", str(os.getpid()), str(threading.get_ident()), uuid.uuid4().hex[:8]))


def temp_owner(name: str, prefix: str) -> tuple[str | None, int] | None:
    """``(host, pid)`` of a name made by :func:`temp_name` with ``prefix`` (host None for a name of the
    earlier ``<prefix><pid>-<random>`` form, which did not record it); None for another name."""
    if not name.startswith(prefix):
        return None
    rest = name[len(prefix):]
    fields = rest.split(_SEP)
    if len(fields) >= 4 and fields[1].isdigit():
        return fields[0], int(fields[1])
    head = rest.split("-", 1)[0]
    return (None, int(head)) if head.isdigit() else None


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # alive, owned by someone else
    return True


def remove_stale_temp_dirs(parent: Path, prefix: str) -> list[Path]:
    """Remove ``parent/<prefix>...`` folders whose writing process is gone (a kill, a crash).

    Only folders written on *this* host are judged (a process id says nothing about another
    machine's processes, so on a shared home another host's folders are left alone), and never
    one of this process.  Returns the folders removed.
    """
    removed: list[Path] = []
    if not parent.is_dir():
        return removed
    me = host_name()
    for p in parent.glob(prefix + "*"):
        owner = temp_owner(p.name, prefix)
        if owner is None:
            continue
        host, pid = owner
        if host is not None and host != me:
            continue  # another machine's writer: it may well be alive
        if pid == os.getpid() or _process_alive(pid):
            continue
        shutil.rmtree(p, ignore_errors=True)
        removed.append(p)
    return removed


def fsync_path(path: Path) -> None:
    """fsync a file, or a folder (so renames in it are on disk); a no-op where folders cannot be
    opened (Windows)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        if Path(path).is_dir():
            return
        raise
    try:
        os.fsync(fd)
    except OSError:
        if not Path(path).is_dir():
            raise
    finally:
        os.close(fd)


def move_into_place(src: Path, dst: Path, *, replace: bool = True) -> None:
    """Rename ``src`` to ``dst`` (same folder), then fsync the folder.

    ``replace=False`` refuses to take a name already used (``os.rename`` of a folder onto an
    existing non-empty folder fails): the registry's way to claim a run id.
    """
    (os.replace if replace else os.rename)(src, dst)
    fsync_path(Path(dst).parent)


def replace_dir(new: Path, final: Path, old_prefix: str, attempts: int = 100) -> None:
    """Rename the finished folder ``new`` to ``final``, replacing (then deleting) one already there.

    Two writers may finish at once (two workers of a shared home building the same cache): a
    rename onto a folder another writer has just put in place fails (ENOTEMPTY), and is tried again
    after moving that one aside, with a short random pause so that writers racing in step fall out
    of it; the last writer's folder wins and neither fails.
    """
    for attempt in range(attempts):
        old = None
        if final.exists():
            old = final.parent / temp_name(old_prefix)
            try:
                os.replace(final, old)
            except FileNotFoundError:  # another writer moved it aside first
                old = None
        try:
            move_into_place(new, final)
            return
        except OSError as exc:
            if exc.errno not in (errno.ENOTEMPTY, errno.EEXIST) or attempt == attempts - 1:
                raise
        finally:
            if old is not None:
                shutil.rmtree(old, ignore_errors=True)
        # another writer installed its folder in between: move that aside, try again
        time.sleep(random.uniform(0, min(0.05, 0.001 * 2 ** attempt)))


@contextmanager
def atomic_file(path: str | os.PathLike[str], mode: str = "w", **open_kwargs: Any) -> Iterator[IO]:
    """Open a temp file beside ``path``; on a clean exit it is fsynced and renamed to ``path`` (and
    the folder fsynced), on an error it is removed, so readers see the old file or the whole new
    one, never a part."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{temp_name('tmp-')}")
    try:
        with open(tmp, mode, **open_kwargs) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        move_into_place(tmp, path)
    except BaseException:
        try:
            tmp.unlink(missing_ok=True)
        except OSError:  # e.g. a read-only file system: the temp file was never made there
            pass
        raise


def atomic_write_text(path: str | os.PathLike[str], text: str, *, encoding: str = "utf-8",
                      newline: str | None = None, mkdir: bool = True) -> Path:
    """Write ``text`` to ``path`` atomically (see :func:`atomic_file`)."""
    path = Path(path)
    if mkdir:
        path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_file(path, "w", encoding=encoding, newline=newline) as f:
        f.write(text)
    return path


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes, *, mkdir: bool = True) -> Path:
    path = Path(path)
    if mkdir:
        path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_file(path, "wb") as f:
        f.write(data)
    return path


def atomic_write_json(path: str | os.PathLike[str], data: Any, *, indent: int | None = 1,
                      default: Callable[[Any], Any] | None = None) -> Path:
    """Write ``data`` as JSON (UTF-8, a final newline) atomically."""
    return atomic_write_text(path, json.dumps(data, indent=indent, default=default) + "\n")
