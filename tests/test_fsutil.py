"""The one atomic writer (fsutil): unique temp files per thread, fsync of the file and its folder,
the stale-temp-folder rule on a shared home, and no second hand-made copy anywhere in the package."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import threading
from pathlib import Path

import pandas as pd
import pytest

from fashion_review import fsutil

PKG = Path(__file__).resolve().parents[1] / "fashion_review"


def _hammer(n_threads: int, rounds: int, write) -> list[BaseException]:  # noqa: ANN001
    errors: list[BaseException] = []
    barrier = threading.Barrier(n_threads)

    def run(k: int) -> None:
        try:
            barrier.wait()
            for r in range(rounds):
                write(k, r)
        except BaseException as exc:  # noqa: BLE001 - collected for the assertion
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(k,)) for k in range(n_threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return errors


def test_two_threads_writing_one_split_file_never_collide(tmp_path):
    from fashion_review.data.splits import read_split_file, write_split_file

    path = tmp_path / "splits" / "articleType-min20.csv"
    frames = {k: pd.Series(["train", "val", "test"][k % 3], index=pd.Index(range(k, k + 500), name="id"),
                           dtype=object) for k in range(4)}
    errors = _hammer(4, 30, lambda k, r: write_split_file(path, frames[k]))
    assert errors == []
    got = read_split_file(path)
    assert any(got.equals(f.rename("part")) for f in frames.values())  # one writer's whole file
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]  # no temp file left


def test_temp_names_differ_per_thread_and_name_host_and_process():
    names: list[str] = []
    lock = threading.Lock()

    def take(k: int, r: int) -> None:
        with lock:
            names.append(fsutil.temp_name(".tmp-"))

    assert _hammer(3, 5, take) == []
    assert len(set(names)) == len(names)
    owners = {fsutil.temp_owner(n, ".tmp-") for n in names}
    assert owners == {(fsutil.host_name(), os.getpid())}
    threads = {n.split("+")[2] for n in names}
    assert len(threads) == 3


def test_atomic_file_fsyncs_the_file_and_its_folder(tmp_path, monkeypatch):
    synced: list[Path] = []
    real = fsutil.fsync_path
    monkeypatch.setattr(fsutil, "fsync_path", lambda p: (synced.append(Path(p)), real(p)))
    fsyncs: list[int] = []
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (fsyncs.append(fd), real_fsync(fd)))
    target = tmp_path / "a.json"
    fsutil.atomic_write_json(target, {"x": 1})
    assert target.read_text() == '{\n "x": 1\n}\n'
    assert synced == [tmp_path]  # the folder, after the rename
    assert len(fsyncs) >= 2  # the file's data, then the folder


def test_a_failed_write_leaves_the_old_file(tmp_path):
    target = tmp_path / "f.txt"
    with fsutil.atomic_file(target) as f:
        f.write("old")
    with pytest.raises(RuntimeError):
        with fsutil.atomic_file(target) as f:
            f.write("new, half")
            raise RuntimeError("crash")
    assert target.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["f.txt"]


def _dead_pid() -> int:
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


def test_stale_rule_judges_only_this_hosts_folders(tmp_path):
    dead = _dead_pid()
    me = fsutil.host_name()
    mine_dead = tmp_path / f".tmp-{me}+{dead}+1+abcdef12-run"
    other_host = tmp_path / f".tmp-build-node-7.cluster+{dead}+1+abcdef12-run"  # same pid number elsewhere
    mine_alive = tmp_path / f".tmp-{me}+{os.getppid()}+1+abcdef12-run"
    legacy_dead = tmp_path / f".tmp-{dead}-abcdef12-run"  # the earlier <pid>-<random> form
    unrelated = tmp_path / ".tmp-notapid"
    for p in (mine_dead, other_host, mine_alive, legacy_dead, unrelated):
        p.mkdir()
    removed = fsutil.remove_stale_temp_dirs(tmp_path, ".tmp-")
    assert sorted(removed) == sorted([mine_dead, legacy_dead])
    assert other_host.exists() and mine_alive.exists() and unrelated.exists()
    assert fsutil.temp_owner(other_host.name, ".tmp-") == ("build-node-7.cluster", dead)


def test_every_write_goes_through_fsutil():
    """No module but fsutil renames files itself (each such copy was a second atomic writer)."""
    offenders = []
    for path in sorted(PKG.rglob("*.py")):
        if path.name == "fsutil.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                f = node.func
                if f.attr in ("replace", "rename") and isinstance(f.value, ast.Name) and f.value.id == "os":
                    offenders.append(f"{path.relative_to(PKG.parent)}:{node.lineno}: os.{f.attr}")
                if f.attr in ("write_text", "write_bytes"):
                    offenders.append(f"{path.relative_to(PKG.parent)}:{node.lineno}: .{f.attr}")
    assert offenders == []


def test_two_writers_installing_one_folder_at_once_both_succeed(tmp_path):
    final = tmp_path / "image-cache"

    def install(k: int, r: int) -> None:
        new = tmp_path / fsutil.temp_name(".image-cache.tmp-")
        new.mkdir()
        (new / "meta.json").write_text(f"{k}-{r}")
        fsutil.replace_dir(new, final, ".image-cache.old-")

    assert _hammer(4, 25, install) == []
    assert (final / "meta.json").read_text().split("-")[0] in {"0", "1", "2", "3"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["image-cache"]  # nothing left aside
