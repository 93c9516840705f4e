"""One worker of the multiworker test (tests/training/test_multiworker.py): trains with
``--strategy multiworker`` from its TF_CONFIG and logs when each of its training steps ended.

Usage: python multiworker_child.py DATA LOG [RECIPE]  (FASHION_REVIEW_HOME and TF_CONFIG set)

Writes ``LOG`` as JSON lines: ``{"step": k, "t": seconds since the epoch}`` per batch, then
``{"result": {...}}`` with the run it returned (the chief's, or ``written: false``).
"""

from __future__ import annotations

import functools
import json
import sys
import time


def main() -> None:
    data, log_path = sys.argv[1], sys.argv[2]
    recipe = sys.argv[3] if len(sys.argv) > 3 else "xception-lite"
    from fashion_review.training import train as train_mod  # builds the strategy before other TF work

    # every batch reported (the progress callback otherwise throttles to 10 reports a second)
    train_mod.TaskProgress = functools.partial(train_mod.TaskProgress, min_interval=0.0)
    from fashion_review.data import open_dataset
    from fashion_review.tasks import Task

    log = open(log_path, "w", encoding="utf-8")

    def on_progress(p):  # noqa: ANN001
        if p.phase == "train" and p.info.get("batch") is not None:
            step = (p.info["epoch"] - 1) * p.info["batches"] + p.info["batch"]
            log.write(json.dumps({"step": step, "t": time.time(), "batches": p.info["batches"]}) + "\n")
            log.flush()

    ds = open_dataset(data)
    try:
        run = train_mod.train(ds, recipe, epochs=1, batch_size=8, strategy="multiworker", task=Task(on_progress))
    finally:
        ds.close()
    rec = run.record
    log.write(json.dumps({"result": {"id": run.id, "path": str(run.path), "written": rec.get("written", True),
                                     "replicas": rec["training"]["replicas"], "workers": rec["training"]["workers"],
                                     "global_batch": rec["training"]["global_batch_size"],
                                     "strategy": rec["training"]["strategy"]}}) + "\n")
    log.close()


if __name__ == "__main__":
    main()
