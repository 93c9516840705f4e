"""Progress/cancel callbacks on a small model, and the distribution strategies on the CPU."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import keras  # noqa: E402

from fashion_review.errors import ModelError  # noqa: E402
from fashion_review.tasks import Cancelled, Task  # noqa: E402
from fashion_review.training.callbacks import BestWeights, TaskProgress, TimeBudget  # noqa: E402
from fashion_review.training.strategy import is_chief, make_strategy, parse_tf_config  # noqa: E402

TF = keras.backend.backend() == "tensorflow"


def _tiny():
    keras.utils.set_random_seed(0)
    inp = keras.Input((6,))
    out = keras.layers.Dense(3, activation="softmax")(keras.layers.Dense(8, activation="relu")(inp))
    m = keras.Model(inp, out)
    m.compile(optimizer=keras.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return m


def _data(n=64):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, 6)).astype("float32")
    return x, (x[:, 0] > 0).astype("int32") + (x[:, 1] > 1).astype("int32")


class _Count(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.batches = 0

    def on_train_batch_begin(self, batch, logs=None):
        self.batches += 1


def test_progress_reports_every_field_the_app_plots():
    x, y = _data()
    reports = []
    cb = TaskProgress(Task(reports.append), epochs=2, batches=8, samples=64, batch_size=8, min_interval=0.0)
    _tiny().fit(x, y, batch_size=8, epochs=2, validation_data=(x[:16], y[:16]), verbose=0, callbacks=[cb])
    train = [p for p in reports if p.phase == "train" and not p.info.get("validating")]
    assert len(train) == 16
    keys = {"epoch", "epochs", "batch", "batches", "loss", "accuracy", "images_per_s", "eta_s"}
    assert all(keys <= set(p.info) for p in train)
    assert [(p.info["epoch"], p.info["batch"]) for p in train][:3] == [(1, 1), (1, 2), (1, 3)]
    assert train[-1].fraction == pytest.approx(1.0) and train[-1].info["epochs"] == 2
    assert train[5].info["images_per_s"] > 0 and train[5].info["eta_s"] >= 0
    ends = [p for p in reports if p.phase == "epoch_end"]
    assert [p.info["epoch"] for p in ends] == [1, 2]
    assert {"loss", "accuracy", "val_loss", "val_accuracy"} <= set(ends[0].info["logs"])
    assert cb.images_per_s and cb.images_per_s > 0


def test_cancel_stops_within_one_batch_and_skips_validation():
    x, y = _data()
    task = Task()
    count = _Count()
    validated = []

    class _Val(keras.callbacks.Callback):
        def on_test_begin(self, logs=None):
            validated.append(True)

    def cancel_at_3(p):
        if p.phase == "train" and p.info["batch"] == 3:
            task.cancel()

    task._on_progress = cancel_at_3
    cb = TaskProgress(task, epochs=3, batches=8, samples=64, batch_size=8, min_interval=0.0)
    with pytest.raises(Cancelled):
        _tiny().fit(x, y, batch_size=8, epochs=3, validation_data=(x, y), verbose=0, callbacks=[count, cb, _Val()])
    assert count.batches == 3 and validated == []


def test_cancel_before_fit_starts_runs_no_batch():
    x, y = _data()
    task = Task()
    task.cancel()
    count = _Count()
    with pytest.raises(Cancelled):
        _tiny().fit(x, y, batch_size=8, epochs=1, verbose=0,
                    callbacks=[count, TaskProgress(task, epochs=1, batches=8, samples=64, batch_size=8)])
    assert count.batches == 0


def test_best_weights_are_restored():
    x, y = _data()
    model = _tiny()
    best = BestWeights("val_loss")
    seen = []

    class _Snap(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            seen.append((logs["val_loss"], [np.array(w) for w in self.model.get_weights()]))

    # a learning rate that diverges after a few epochs, so the last epoch is not the best
    model.optimizer.learning_rate.assign(3.0)
    model.fit(x, y, batch_size=8, epochs=6, validation_data=(x, y), verbose=0, callbacks=[_Snap(), best])
    i = int(np.argmin([v for v, _ in seen]))
    assert best.best_epoch == i + 1
    for w, want in zip(model.get_weights(), seen[i][1]):
        np.testing.assert_array_equal(np.asarray(w), want)


def test_time_budget_stops_after_an_epoch():
    x, y = _data()
    budget = TimeBudget(0.0)
    hist = _tiny().fit(x, y, batch_size=8, epochs=5, verbose=0, callbacks=[budget])
    assert budget.stopped_epoch == 1 and len(hist.history["loss"]) == 1


# -------------------------------------------------------------------------------- strategies


def test_tf_config_is_checked_with_clear_messages(monkeypatch):
    good = {"cluster": {"worker": ["a:1", "b:2"]}, "task": {"type": "worker", "index": 1}}
    assert parse_tf_config(json.dumps(good)) == good
    assert not is_chief(good)
    assert is_chief({**good, "task": {"type": "worker", "index": 0}})
    assert is_chief({"cluster": {"chief": ["c:1"], "worker": ["a:1"]}, "task": {"type": "chief", "index": 0}})
    monkeypatch.delenv("TF_CONFIG", raising=False)
    with pytest.raises(ModelError, match="needs the TF_CONFIG"):
        parse_tf_config()
    for bad, msg in [("{x", "not valid JSON"), ("[]", "JSON object"), ('{"task": {}}', "no 'cluster'"),
                     (json.dumps({"cluster": {"worker": "a:1"}, "task": {"type": "worker", "index": 0}}), "list of"),
                     (json.dumps({"cluster": {"worker": ["a:1"]}}), "no 'task'"),
                     (json.dumps({"cluster": {"worker": ["a:1"]}, "task": {"type": "worker", "index": 3}}), "out of range"),
                     (json.dumps({"cluster": {"ps": ["a:1"]}, "task": {"type": "ps", "index": 0}}), "not used")]:
        with pytest.raises(ModelError, match=msg):
            parse_tf_config(bad)


def test_default_strategy_builds_everywhere():
    d = make_strategy("default")
    assert d.replicas == 1 and d.chief
    with d.scope():
        _tiny()
    with pytest.raises(ModelError, match="unknown strategy"):
        make_strategy("ring")


@pytest.mark.skipif(TF, reason="the non-TensorFlow refusal")
def test_tf_distribute_strategies_need_tensorflow():
    for name in ("mirrored", "multiworker"):
        with pytest.raises(ModelError, match="needs Keras' TensorFlow backend"):
            make_strategy(name)


@pytest.mark.skipif(not TF, reason="tf.distribute needs the TensorFlow backend")
def test_mirrored_strategy_builds_on_the_cpu():
    import tensorflow as tf

    d = make_strategy("mirrored")
    assert isinstance(d.strategy, tf.distribute.MirroredStrategy) and d.replicas >= 1
    with d.scope():
        m = _tiny()
    x, y = _data(16)
    m.fit(x, y, batch_size=8, epochs=1, verbose=0)


@pytest.mark.skipif(not TF, reason="tf.distribute needs the TensorFlow backend")
def test_multiworker_strategy_builds_from_tf_config_in_its_own_process():
    # MultiWorkerMirroredStrategy must be created before any other TensorFlow work in a process,
    # so it gets a fresh one: a one-worker cluster on a free localhost port.
    with socket.socket() as s:
        s.bind(("localhost", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3",
           "TF_CONFIG": json.dumps({"cluster": {"worker": [f"localhost:{port}"]}, "task": {"type": "worker", "index": 0}})}
    code = textwrap.dedent("""
        import tensorflow as tf
        from fashion_review.training.strategy import make_strategy
        d = make_strategy("multiworker")
        print(isinstance(d.strategy, tf.distribute.MultiWorkerMirroredStrategy), d.replicas, d.chief, d.workers)
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=180)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split()[-4:] == ["True", "1", "True", "1"]


def test_predict_progress_says_how_long_is_left(monkeypatch):
    """Predicting the full catalog in the app said only "batch 26/329" for minutes: now the time left,
    at the rate since the first batch ended (the time before it is start-up, not the rate)."""
    import time

    from fashion_review.training.predict import PredictProgress

    reports = []
    task = Task(reports.append)
    cb = PredictProgress(task, batches=10, min_interval=0.0)
    clock = iter([130.0 + 2 * k for k in range(10)])  # the first batch ends after 30 s of start-up
    monkeypatch.setattr(time, "perf_counter", lambda: next(clock))
    for b in range(10):
        cb.on_predict_batch_end(b)
    msgs = [p.message for p in reports]
    assert msgs[:2] == ["batch 1/10", "batch 2/10"]  # no rate yet
    assert msgs[2] == "batch 3/10 · about 14 s left"  # 2 s a batch since the first, 7 batches left
    assert reports[2].info["eta_s"] == pytest.approx(14.0)
    assert msgs[-1] == "batch 10/10"
