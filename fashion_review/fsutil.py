"""Writing files and folders atomically: write beside the target, then rename into place.

Used by the export, the image cache, the model registry and the feature cache, so that a crash,
a kill or a cancel never leaves a half-written file or folder that a reader would accept.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO


def temp_name(prefix: str) -> str:
    """A temp folder name that records the writing process: ``<prefix><pid>-<random>``."""
    return f"{prefix}{os.getpid()}-{uuid.uuid4().hex[:8]}"


def remove_stale_temp_dirs(parent: Path, prefix: str) -> None:
    """Remove ``parent/<prefix><pid>-*`` folders whose writing process is gone (a kill, a crash)."""
    if not parent.is_dir():
        return
    for p in parent.glob(prefix + "*"):
        try:
            pid = int(p.name[len(prefix):].split("-", 1)[0])
        except ValueError:
            continue
        if pid == os.getpid():
            continue  # another writer in this process
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            shutil.rmtree(p, ignore_errors=True)
        except OSError:
            pass  # alive, owned by someone else


def replace_dir(new: Path, final: Path, old_prefix: str) -> None:
    """Rename the finished folder ``new`` to ``final``, replacing (then deleting) one already there."""
    old = None
    if final.exists():
        old = final.parent / temp_name(old_prefix)
        os.replace(final, old)
    os.replace(new, final)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


@contextmanager
def atomic_file(path: Path, mode: str = "w", **open_kwargs) -> Iterator[IO]:
    """Open a temp file beside ``path``; on a clean exit it is fsynced and renamed to ``path``, on
    an error it is removed, so readers see the old file or the whole new one, never a part."""
    tmp = path.with_name(f".{path.name}.{temp_name('tmp')}")
    try:
        with open(tmp, mode, **open_kwargs) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            tmp.unlink(missing_ok=True)
        except OSError:  # e.g. a read-only file system: the temp file was never made there
            pass
        raise
