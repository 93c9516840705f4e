"""``--strategy multiworker``, run for real: two worker processes on 127.0.0.1 (a TF_CONFIG each)
train one epoch of the lite recipe on the tiny catalog in one shared home.  They must step
together (synchronous all-reduce: neither gets a step ahead), only the chief may write the run, and
that run must load and predict."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest

CHILD = Path(__file__).with_name("multiworker_child.py")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.multiworker,
    pytest.mark.skipif(keras.backend.backend() != "tensorflow", reason="tf.distribute needs the TensorFlow backend"),
]


def _free_ports(n: int) -> list[int]:
    socks = []
    for _ in range(n):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        socks.append(s)
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def _read(log: Path) -> tuple[dict[int, float], dict]:
    steps: dict[int, float] = {}
    result: dict = {}
    for line in log.read_text(encoding="utf-8").splitlines():
        rec = json.loads(line)
        if "result" in rec:
            result = rec["result"]
        else:
            steps.setdefault(int(rec["step"]), float(rec["t"]))  # the first report of each step
    return steps, result


@pytest.mark.timeout(280)
def test_two_workers_train_together_and_only_the_chief_writes(tiny_catalog, tmp_path, monkeypatch):
    home = tmp_path / "shared-home"
    cluster = {"worker": [f"127.0.0.1:{p}" for p in _free_ports(2)]}
    procs = []
    for i in range(2):
        env = {**os.environ, "FASHION_REVIEW_HOME": str(home), "TF_CPP_MIN_LOG_LEVEL": "2",
               "TF_CONFIG": json.dumps({"cluster": cluster, "task": {"type": "worker", "index": i}})}
        procs.append(subprocess.Popen([sys.executable, str(CHILD), str(tiny_catalog), str(tmp_path / f"worker{i}.log")],
                                      env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True))
    outs = []
    try:
        for p in procs:
            outs.append(p.communicate(timeout=240)[0])
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    assert [p.returncode for p in procs] == [0, 0], "\n".join(o[-3000:] for o in outs)

    (steps0, chief), (steps1, worker) = (_read(tmp_path / f"worker{i}.log") for i in range(2))
    # one synchronous step after another: the same steps, and neither finished step k+1 before the
    # other had finished step k (the all-reduce of step k+1 needs both)
    assert sorted(steps0) == sorted(steps1) and len(steps0) >= 2
    for k in sorted(steps0)[1:]:
        assert steps0[k] > steps1[k - 1] and steps1[k] > steps0[k - 1], (k, steps0, steps1)
    for r in (chief, worker):
        assert (r["strategy"], r["replicas"], r["workers"]) == ("multiworker", 2, 2)
        assert r["global_batch"] == 2 * 8
    assert chief["written"] is True and chief["id"]
    assert worker["written"] is False and worker["path"] == os.devnull

    monkeypatch.setenv("FASHION_REVIEW_HOME", str(home))
    from fashion_review.data import open_dataset
    from fashion_review.training import registry
    from fashion_review.training.predict import predict

    ds = open_dataset(tiny_catalog)
    try:
        runs = registry.list_runs(ds.fingerprint)
        assert [r.id for r in runs] == [chief["id"]]  # only the chief wrote, and wrote once
        assert not [p.name for p in registry.runs_dir(ds.fingerprint).parent.rglob(".tmp-*")]
        run = runs[0]
        assert run.record["training"]["strategy"] == "multiworker" and run.record["training"]["workers"] == 2
        registry.load_model(run)
        pred = predict(run, ds, limit=20, batch_size=16)
    finally:
        ds.close()
    assert len(pred) == 20
    for s in run.schemes:
        np.testing.assert_allclose(pred.probs[s].sum(axis=1), 1.0, atol=1e-4)
