"""Train a recipe on a data set and store the run in the registry: :func:`train`.

A plain function that takes a task handle (the CLI shows its progress as a bar, the app as a bar
and live curves).  The order of work:

1. the image cache (built once per data set), the products and labels from the effective
   catalog (:mod:`fashion_review.training.pipeline`);
2. the strategy (``default``, ``mirrored``, ``multiworker``), the precision policy (mixed
   float16 on a GPU, via ``modeling.configure_precision``) and the model, built inside the
   strategy's scope;
3. ``fit`` with progress/cancel (:class:`~fashion_review.training.callbacks.TaskProgress`),
   best-validation weights kept (:class:`~fashion_review.training.callbacks.BestWeights`);
4. the run folder, written to a temp folder and renamed into place
   (:class:`~fashion_review.training.registry.RunWriter`).

Cancelling raises :class:`~fashion_review.tasks.Cancelled` within one batch and leaves the
registry as it was.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import keras
import numpy as np

from fashion_review import __version__
from fashion_review.errors import ModelError
from fashion_review.tasks import Task
from fashion_review.training import registry
from fashion_review.training.callbacks import BestWeights, TaskProgress, TimeBudget
from fashion_review.training.pipeline import (
    LabelledSet, ensure_image_cache, keep_validation, labelled_set, make_batches,
)
from fashion_review.training.strategy import make_strategy

MONITOR = "val_loss"


def resolve_schemes(recipe: Any, schemes: list[str] | tuple[str, ...] | str | None) -> list[str]:
    """The schemes a run of ``recipe`` trains: all heads of a multihead recipe, one scheme otherwise."""
    if isinstance(schemes, str):
        schemes = [schemes]
    if recipe.multihead:
        if schemes and set(schemes) != set(recipe.schemes):
            raise ModelError(f"recipe {recipe.name!r} trains its heads together ({', '.join(recipe.schemes)}); "
                             f"it cannot train only {', '.join(schemes)}: use --recipe xception-paper for one scheme")
        return list(recipe.schemes)
    if not schemes:
        if len(recipe.schemes) == 1:
            return list(recipe.schemes)
        raise ModelError(f"recipe {recipe.name!r} trains one model per scheme: name the scheme "
                         f"(--scheme {' | '.join(recipe.schemes)})")
    if len(schemes) != 1:
        raise ModelError(f"recipe {recipe.name!r} trains one model per scheme; got {', '.join(schemes)} "
                         "(train them one after another)")
    from fashion_review.data.schemes import check_scheme

    return [check_scheme(schemes[0])]


def apply_overrides(recipe: Any, *, epochs: int | None = None, batch_size: int | None = None,
                    lr: float | None = None, image_size: int | None = None) -> Any:
    """The recipe with the command line's overrides (validated like the recipe file)."""
    changes = {k: v for k, v in {"epochs": epochs, "batch_size": batch_size, "learning_rate": lr,
                                 "image_size": image_size}.items() if v is not None}
    return recipe.replace(**changes) if changes else recipe


def train(
    ds: Any,
    recipe: Any,
    *,
    schemes: list[str] | tuple[str, ...] | str | None = None,
    epochs: int | None = None,
    batch_size: int | None = None,
    lr: float | None = None,
    image_size: int | None = None,
    weights: str | os.PathLike[str] | None = "none",
    limit: int | None = None,
    strategy: str = "default",
    out: str | os.PathLike[str] | None = None,
    task: Task | None = None,
    min_images: int | None = None,
    seed: int = 0,
    time_budget_s: float | None = None,
    run_eagerly: bool = False,
    parts: Any = None,
) -> registry.RunInfo:
    """Train ``recipe`` (a name, a path or a Recipe) on ``ds`` and store the run; return it.

    ``schemes``: the scheme of a single-head recipe (required when the recipe lists several);
    a multihead recipe trains all its heads.  ``epochs``, ``batch_size`` (per replica), ``lr``,
    ``image_size`` override the recipe.  ``weights``: "none", "imagenet" or a local no-top
    weights file.  ``limit``: only the first N usable products (smoke runs).  ``out``: write the
    run folder there instead of into the registry.  ``time_budget_s``: stop after the epoch when
    the next one would end past this many seconds of training (benchmarks).  ``run_eagerly``:
    no graph compilation (debugging, and tiny runs where TensorFlow's tracing of the model would
    take longer than the few batches themselves).  ``parts``: a Series id -> "train"/"val"/"test"
    that replaces the stored split (cross-validation's folds; products it does not name are left
    out).  Raises Cancelled
    (leaving the registry unchanged), ModelError, DataError.
    """
    from fashion_review.modeling import compile_model, configure_precision, load_recipe, make_model

    t_start = time.time()
    t0 = time.perf_counter()
    task = task if task is not None else Task()
    recipe = apply_overrides(load_recipe(recipe), epochs=epochs, batch_size=batch_size, lr=lr,
                             image_size=image_size)
    schemes = resolve_schemes(recipe, schemes)
    dist = make_strategy(strategy)  # first: MultiWorkerMirroredStrategy must precede other TF work
    task.check()

    cache = ensure_image_cache(ds, task)
    task.check()
    task.report("prepare", None, "labels from the effective catalog")
    eff = ds.effective()
    data = labelled_set(ds, schemes, multihead=recipe.multihead, min_images=min_images, limit=limit,
                        cache=cache, effective=eff)
    if parts is not None:  # explicit parts (cross-validation folds) as given
        data = data.with_parts(parts)
    elif recipe.validation != "part":
        data.parts = keep_validation(data.ids, data.parts, float(recipe.validation))
        data.counts = {p: int((data.parts == p).sum()) for p in ("train", "val", "test")}
    n_corrections = ds.store.count()
    n_excluded = int(eff["excluded"].sum()) if "excluded" in eff else 0
    train_ids, train_labels = data.part("train")
    val_ids, val_labels = data.part("val")
    if len(train_ids) == 0:
        raise ModelError(f"no training products ({len(data)} usable in all{', --limit ' + str(limit) if limit else ''})")
    for s in schemes:
        if (train_labels[s] >= 0).sum() == 0:
            raise ModelError(f"no training product has a {s} label among the {len(train_ids)} selected")
    task.check()

    keras.utils.set_random_seed(seed)
    previous_policy = keras.mixed_precision.global_policy().name
    batches = val_batches = None
    try:
        task.report("build", None, f"building {recipe.name} at {recipe.size_label}")
        policy = configure_precision(recipe)
        n_classes = {s: len(data.classes[s]) for s in schemes}
        global_batch = recipe.batch_size * dist.replicas
        with dist.scope():
            if recipe.multihead:
                model = make_model(recipe, n_classes, weights=weights)
            else:
                model = make_model(recipe, n_classes[schemes[0]], scheme=schemes[0], weights=weights)
            compile_model(model, recipe, run_eagerly=run_eagerly,
                          steps_per_epoch=-(-len(train_ids) // global_batch))
        task.check()

        one_hot = None if recipe.sparse_labels else n_classes
        # Eagerly, tearing down a tf.data iterator that maps through numpy takes seconds: use the PyDataset.
        tf_data = False if run_eagerly else None
        train_x = cache.get(train_ids)
        batches = make_batches(train_x, np.arange(len(train_ids)), train_labels, global_batch, shuffle=True,
                               seed=seed, one_hot=one_hot, multihead=recipe.multihead, tf_data=tf_data)
        if len(val_ids):
            val_x = cache.get(val_ids)
            val_batches = make_batches(val_x, np.arange(len(val_ids)), val_labels, global_batch,
                                       one_hot=one_hot, multihead=recipe.multihead, tf_data=tf_data)
        progress = TaskProgress(task, epochs=recipe.epochs, batches=batches.batches, samples=batches.samples,
                                batch_size=global_batch, val_batches=val_batches.batches if val_batches else 0)
        best = BestWeights(MONITOR, "min")
        callbacks: list[Any] = [progress, best]
        budget = TimeBudget(time_budget_s) if time_budget_s else None
        if budget is not None:
            callbacks.append(budget)
        t_fit = time.perf_counter()
        with dist.fitting(model):
            hist = model.fit(batches.data, validation_data=val_batches.data if val_batches else None,
                             epochs=recipe.epochs, verbose=0, callbacks=callbacks, shuffle=False)
        fit_seconds = time.perf_counter() - t_fit
        task.check()
        history = {k: [float(v) for v in vs] for k, vs in hist.history.items()}

        record = _record(
            ds, recipe, data, schemes, weights, dist, policy, history, best, progress, budget,
            n_corrections=n_corrections, n_excluded=n_excluded, seed=seed, fit_seconds=fit_seconds,
            started=t_start, batches_kind=batches.kind, global_batch=global_batch,
        )
        if not dist.chief:
            task.report("save", 1.0, "done (a worker other than the chief writes no run)")
            return registry.RunInfo(Path(os.devnull), {**record, "id": "", "written": False})

        task.report("save", None, "saving the model")
        run_id = registry.new_run_id(recipe.name, schemes, when=t_start)
        with registry.RunWriter(ds.fingerprint, run_id, out=out) as writer:
            save_model(model, recipe, n_classes, writer.path / registry.MODEL_FILE)
            registry.write_json(writer.path / registry.HISTORY_FILE, history)
            data.split_frame().to_csv(writer.path / registry.SPLIT_FILE, index=False)
            task.check()
            record["training"]["seconds"] = round(time.perf_counter() - t0, 2)
            run = writer.commit(record)
        task.report("save", 1.0, f"run {run.id} saved in {run.path}")
        return run
    finally:
        for b in (batches, val_batches):
            if b is not None:
                b.close()
        keras.mixed_precision.set_global_policy(previous_policy)


def save_model(model: Any, recipe: Any, n_classes: dict[str, int], path: Path) -> None:
    """Save a float32, optimizer-free copy of ``model`` as ``.keras`` (loads anywhere, in safe mode).

    The copy is built by the same factory and takes the trained weights (mixed-precision
    variables are float32 already), so the file holds no optimizer state (a third of the size of
    an Adam-compiled model) and no policy that only suits a GPU.
    """
    from fashion_review.modeling import make_model

    previous = keras.mixed_precision.global_policy().name
    keras.mixed_precision.set_global_policy("float32")
    try:
        if recipe.multihead:
            clean = make_model(recipe, n_classes, weights="none")
        else:
            ((scheme, n),) = n_classes.items()
            clean = make_model(recipe, n, scheme=scheme, weights="none")
        clean.set_weights([np.asarray(w, dtype=np.float32) for w in model.get_weights()])
        clean.save(path)
    finally:
        keras.mixed_precision.set_global_policy(previous)


def _scheme_key(recipe: Any, scheme: str, metric: str) -> str:
    return metric if not recipe.multihead else f"{scheme}_{metric}"


def _record(ds: Any, recipe: Any, data: LabelledSet, schemes: list[str], weights: Any, dist: Any, policy: str,
            history: dict[str, list[float]], best: BestWeights, progress: TaskProgress, budget: TimeBudget | None,
            *, n_corrections: int, n_excluded: int, seed: int, fit_seconds: float, started: float,
            batches_kind: str, global_batch: int) -> dict[str, Any]:
    from fashion_review.modeling import describe_device

    epochs_run = len(history.get("loss", []))
    best_i = (best.best_epoch - 1) if best.best_epoch else epochs_run - 1
    metrics: dict[str, Any] = {}
    for s in schemes:
        m: dict[str, Any] = {"best_epoch": best_i + 1}
        for name, key in (("train_accuracy", _scheme_key(recipe, s, "accuracy")),
                          ("val_accuracy", "val_" + _scheme_key(recipe, s, "accuracy")),
                          ("val_loss", "val_" + _scheme_key(recipe, s, "loss") if recipe.multihead else "val_loss")):
            if key in history and 0 <= best_i < len(history[key]):
                m[name] = history[key][best_i]
        metrics[s] = m
    labelled = {s: {p: int(((data.parts == p) & (data.labels[s] >= 0)).sum()) for p in ("train", "val", "test")}
                for s in schemes}
    if isinstance(weights, (str, os.PathLike)) and str(weights).strip().lower() not in ("none", "", "imagenet"):
        weights_desc = str(Path(weights).expanduser().resolve())
    else:
        weights_desc = str(weights if weights is not None else "none").lower()
    return {
        "format": registry.RUN_FORMAT,
        "recipe": recipe.to_dict(),
        "schemes": schemes,
        "classes": data.classes,
        "image_size": recipe.image_size,
        "input_shape": [80, 60, 3],
        "weights": weights_desc,
        "min_images": data.min_images,
        "data": {
            "fingerprint": ds.fingerprint,
            "csv": str(ds.catalog.csv_path),
            "images": str(ds.catalog.images_dir),
            "skip_malformed": bool(getattr(ds.catalog, "skip_malformed", False)),
            "split_fingerprint": data.split_fingerprint,
            "part_scheme": data.part_scheme,
            "corrections": n_corrections,
            "excluded": n_excluded,
            "products": data.counts,
            "labelled": labelled,
            "limit": data.limit,
            "unreadable_images": data.unreadable,
        },
        "training": {
            "epochs": recipe.epochs,
            "epochs_run": epochs_run,
            "best_epoch": best_i + 1,
            "monitor": MONITOR,
            "stopped_by_time_budget": bool(budget is not None and budget.stopped_epoch),
            "batch_size": recipe.batch_size,
            "global_batch_size": global_batch,
            "learning_rate": recipe.learning_rate,
            "strategy": dist.name,
            "replicas": dist.replicas,
            "workers": dist.workers,
            "backend": keras.backend.backend(),
            "device": describe_device(),
            "precision": policy,
            "pipeline": batches_kind,
            "seed": seed,
            "fit_seconds": round(fit_seconds, 2),
            "images_per_s": round(progress.images_per_s, 1) if progress.images_per_s else None,
        },
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(started)),
        "versions": {"fashion_review": __version__, "keras": keras.__version__},
        "metrics": metrics,
    }
