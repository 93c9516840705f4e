"""Where training runs: one device, all local GPUs, or several machines (``--strategy``).

* ``default``: whatever device Keras picks (a GPU when there is one).  Every backend.
* ``mirrored``: ``tf.distribute.MirroredStrategy()``, a replica on every local GPU, gradients
  all-reduced each step.  TensorFlow backend only.
* ``multiworker``: ``tf.distribute.MultiWorkerMirroredStrategy()``, the same across machines,
  configured from the ``TF_CONFIG`` environment variable (the same command is started on every
  machine, each with its own ``task.index``).  TensorFlow backend only; create it before any
  other TensorFlow work in the process (``train`` does).

``--batch-size`` is per replica: the global batch is ``batch_size * replicas``.  TensorFlow is
imported only when the Keras backend is TensorFlow.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
from dataclasses import dataclass
from typing import Any

from fashion_review.errors import ModelError

STRATEGIES = ("default", "mirrored", "multiworker")


@dataclass
class Distribution:
    """A built strategy: ``scope()`` to build the model in, replica count, chief or not."""

    name: str
    strategy: Any = None  # a tf.distribute.Strategy, or None outside TensorFlow
    replicas: int = 1
    chief: bool = True  # only the chief writes the run into the registry
    workers: int = 1

    def scope(self) -> contextlib.AbstractContextManager:
        return self.strategy.scope() if self.strategy is not None else contextlib.nullcontext()

    def fitting(self, model: Any) -> contextlib.AbstractContextManager:
        """The context ``model.fit`` runs in (see :func:`_multiworker_fit`)."""
        if self.name == "multiworker" and self.workers > 1:
            return _multiworker_fit(model)
        return contextlib.nullcontext()


@contextlib.contextmanager
def _multiworker_fit(model: Any) -> Any:
    """Let ``fit`` run under MultiWorkerMirroredStrategy with more than one worker.

    Keras 3 (TensorFlow backend, 3.15 here) has two steps that break there, so ``--strategy
    multiworker`` could never train (found by tests/training/test_multiworker.py, the first test
    to run it):

    * before the first step it takes one batch to learn the shapes of the inputs and targets, by
      ``strategy.reduce("MEAN", batch)`` of the whole (images, {scheme: labels}) structure: with
      several workers a collective all-reduce, which fails on a nested batch (``Attempt to convert
      a value (PerReplica ...)``) and on uint8 images.  Only shapes and dtypes matter there: this
      worker's own first replica's batch is used instead, with no collective;
    * each step's logs (loss, accuracy) are reduced across workers with ``strategy.reduce("MEAN",
      v, axis=0)``, which fails on a scalar.  The steps return each log as a one-element vector, so
      that reduce gives the mean over the workers, a scalar again.

    (Private Keras trainer API, the only such use outside modeling/surgery.py; the multiworker
    test fails should Keras change it.)
    """
    import keras
    import tensorflow as tf
    from keras import tree

    strategy = model.distribute_strategy

    def local(v: Any) -> Any:
        return strategy.experimental_local_results(v)[0] if isinstance(v, tf.distribute.DistributedValues) else v

    def build(iterator: Any = None, data_batch: Any = None) -> None:
        if iterator is not None and data_batch is None:
            for _, _, it in iterator:
                data_batch = tree.map_structure(local, next(it))
                break
        with strategy.scope():
            model._symbolic_build(data_batch=data_batch)  # noqa: SLF001 - see the docstring

    def vectors(step: Any) -> Any:
        def run(data: Any) -> Any:
            return tree.map_structure(lambda v: tf.reshape(v, [1]) if v.shape.rank == 0 else v, step(data))
        return run

    model._maybe_symbolic_build = build  # noqa: SLF001
    model.train_step = vectors(functools.partial(keras.Model.train_step, model))
    model.test_step = vectors(functools.partial(keras.Model.test_step, model))
    try:
        yield
    finally:
        for name in ("_maybe_symbolic_build", "train_step", "test_step"):
            model.__dict__.pop(name, None)



def parse_tf_config(text: str | None = None) -> dict:
    """Validate ``TF_CONFIG`` (default: from the environment) and return it as a dict.

    Expected: ``{"cluster": {"worker": ["host:port", ...], "chief": [...]?}, "task": {"type":
    "worker" | "chief", "index": i}}``.  Every problem is a ModelError saying what to fix.
    """
    if text is None:
        text = os.environ.get("TF_CONFIG")
    if not text:
        raise ModelError("--strategy multiworker needs the TF_CONFIG environment variable, e.g. "
                         'TF_CONFIG=\'{"cluster": {"worker": ["host1:12345", "host2:12345"]}, '
                         '"task": {"type": "worker", "index": 0}}\' on the first machine '
                         '(index 1 on the second)')
    try:
        cfg = json.loads(text)
    except ValueError as exc:
        raise ModelError(f"TF_CONFIG is not valid JSON: {exc}") from None
    if not isinstance(cfg, dict):
        raise ModelError("TF_CONFIG must be a JSON object with 'cluster' and 'task'")
    cluster, task = cfg.get("cluster"), cfg.get("task")
    if not isinstance(cluster, dict) or not cluster:
        raise ModelError("TF_CONFIG has no 'cluster' object (e.g. {\"worker\": [\"host1:12345\"]})")
    for role, addrs in cluster.items():
        if role not in ("worker", "chief", "evaluator"):
            raise ModelError(f"TF_CONFIG cluster role {role!r} is not used by MultiWorkerMirroredStrategy "
                             "(roles: worker, chief)")
        if not isinstance(addrs, list) or not addrs or not all(isinstance(a, str) and ":" in a for a in addrs):
            raise ModelError(f"TF_CONFIG cluster.{role} must be a non-empty list of 'host:port' strings, got {addrs!r}")
    if "worker" not in cluster and "chief" not in cluster:
        raise ModelError("TF_CONFIG cluster lists no 'worker'")
    if not isinstance(task, dict) or "type" not in task or "index" not in task:
        raise ModelError("TF_CONFIG has no 'task' object with 'type' and 'index' (e.g. {\"type\": \"worker\", \"index\": 0})")
    role, index = task["type"], task["index"]
    if role not in cluster:
        raise ModelError(f"TF_CONFIG task type {role!r} is not a role of the cluster ({', '.join(cluster)})")
    if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < len(cluster[role]):
        raise ModelError(f"TF_CONFIG task index {index!r} is out of range for {len(cluster[role])} {role}(s)")
    return cfg


def is_chief(cfg: dict) -> bool:
    """The chief writes checkpoints and the run: the 'chief' task, else worker 0."""
    role, index = cfg["task"]["type"], cfg["task"]["index"]
    if "chief" in cfg["cluster"]:
        return role == "chief"
    return role == "worker" and index == 0


def make_strategy(name: str = "default") -> Distribution:
    """Build the named strategy (see the module docstring); ModelError when it cannot be used."""
    import keras

    if name not in STRATEGIES:
        raise ModelError(f"unknown strategy {name!r}; choose one of {', '.join(STRATEGIES)}")
    backend = keras.backend.backend()
    if name == "default":
        if backend == "tensorflow":
            import tensorflow as tf

            return Distribution("default", tf.distribute.get_strategy(), 1, True)
        return Distribution("default")
    if backend != "tensorflow":
        raise ModelError(f"--strategy {name} uses tf.distribute, which needs Keras' TensorFlow backend; "
                         f"this process runs Keras on {backend!r} (unset KERAS_BACKEND or set it to "
                         "'tensorflow'), or use --strategy default")
    import tensorflow as tf

    if name == "mirrored":
        s = tf.distribute.MirroredStrategy()
        return Distribution("mirrored", s, int(s.num_replicas_in_sync), True)
    cfg = parse_tf_config()
    try:
        s = tf.distribute.MultiWorkerMirroredStrategy()
    except RuntimeError as exc:
        raise ModelError(f"cannot start MultiWorkerMirroredStrategy ({exc}); it must be created before any "
                         "other TensorFlow work in the process: run `fashion-review train --strategy "
                         "multiworker ...` as its own process on every machine") from exc
    workers = sum(len(v) for k, v in cfg["cluster"].items() if k in ("worker", "chief"))
    return Distribution("multiworker", s, int(s.num_replicas_in_sync), is_chief(cfg), workers)
