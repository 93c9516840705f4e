"""Training, evaluating and storing models (Keras 3, backend-neutral; no Qt).

* :mod:`~fashion_review.training.pipeline`: image cache, effective labels, shuffled batches
  (``tf.data`` under TensorFlow, a ``PyDataset`` elsewhere).
* :mod:`~fashion_review.training.train`: ``train(ds, recipe, ..., task=)`` -> a registry run.
* :mod:`~fashion_review.training.callbacks`: progress/cancel, best-validation weights, time budget.
* :mod:`~fashion_review.training.strategy`: ``default``, ``mirrored``, ``multiworker``.
* :mod:`~fashion_review.training.registry`: run folders, the active run, safe-mode loading
  (imports no Keras at module level: the app lists runs at start-up).
* :mod:`~fashion_review.training.evaluate`, :mod:`~fashion_review.training.predict`,
  :mod:`~fashion_review.training.plots`.
* :mod:`~fashion_review.training.heads`: retrain only the heads of a run on corrected labels, on
  the backbone features of :mod:`~fashion_review.training.features` (the cache), the model cut by
  :mod:`fashion_review.modeling.surgery`.
* :mod:`~fashion_review.training.compare`: the retrain dialog's numbers, headless (before / after on
  products neither model trained on, the class filter's effect, time estimates).

Nothing is imported here, so ``import fashion_review.training.registry`` stays light.
"""
