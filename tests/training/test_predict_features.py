"""``predict`` fills the feature cache "retrain heads" reads, in its one pass over the catalog.

The tiny catalog (a cut of the bundled sample, see conftest) and an untrained run of the tiny
lite network (``_model_fixtures.tiny_lite_recipe``) in a home of this module's own: after a predict, retrain heads runs no backbone
and trains the same heads as when it computes the features itself; a cancelled predict leaves
no cache that heads.py accepts; a predict with ``limit`` covers those products only.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

import keras  # noqa: E402

from fashion_review.tasks import Cancelled, Task  # noqa: E402
from fashion_review.training import features, heads  # noqa: E402
from fashion_review.training.predict import predict  # noqa: E402


@pytest.fixture(scope="module")
def setup(tmp_path_factory, tiny_catalog):
    from fashion_review.data import open_dataset
    from fashion_review.training import registry

    home = tmp_path_factory.mktemp("predict-features-home")  # its own home: the catalog's store is not shared
    mp = pytest.MonkeyPatch()
    mp.setenv("FASHION_REVIEW_HOME", str(home))
    ds = open_dataset(tiny_catalog)
    from _model_fixtures import register_untrained_run, tiny_lite_recipe

    run = register_untrained_run(ds, tiny_lite_recipe(), image_size=None)
    registry.activate(ds.fingerprint, run.id)
    yield ds, run
    ds.close()
    mp.undo()


def _feature_dir(ds, run) -> Path:
    return heads.features_dir(Path(ds.home), run.id)


def _clear(ds, run) -> None:
    shutil.rmtree(_feature_dir(ds, run), ignore_errors=True)


def _retrain(ds, run):
    keras.utils.set_random_seed(0)  # the new heads' dropout seeds are drawn when they are built
    return heads.retrain_heads(ds, run, epochs=2, batch_size=16, lr=3e-3, seed=0)


def test_cancelled_predict_leaves_no_accepted_cache(setup, monkeypatch):
    ds, run = setup
    _clear(ds, run)
    discarded = []
    real_discard = heads.FeatureWriter.discard

    def discard(self):
        discarded.append(self.tmp)
        real_discard(self)

    monkeypatch.setattr(heads.FeatureWriter, "discard", discard)

    def cancel_mid_pass(p):
        if p.phase == "predict" and p.fraction is not None and p.fraction < 1:
            task.cancel()

    task = Task(cancel_mid_pass)
    with pytest.raises(Cancelled):
        predict(run, ds, batch_size=16, task=task)
    assert discarded and not discarded[0].exists()  # the pass was writing features when cancelled
    assert heads.open_feature_cache(_feature_dir(ds, run), run.id) is None
    assert not [p.name for p in _feature_dir(ds, run).parent.glob("*")]  # no temp folder left either


def test_retrain_heads_after_predict_runs_no_backbone(setup, monkeypatch):
    from fashion_review.review.predictions import load_predictions

    ds, run = setup
    # the reference: retrain heads computing every feature itself
    _clear(ds, run)
    ref = _retrain(ds, run)
    assert ref.feature_stats["computed"] > 0 and ref.feature_stats["cached"] == 0
    own = heads.open_feature_cache(_feature_dir(ds, run), run.id)
    own_ids, own_feats = own.ids.copy(), np.array(own.features)
    del own

    _clear(ds, run)
    pred = predict(run, ds, batch_size=16)
    cache = heads.open_feature_cache(_feature_dir(ds, run), run.id)
    assert cache is not None and cache.meta["complete"]
    np.testing.assert_array_equal(cache.ids, pred.ids)
    np.testing.assert_array_equal(cache.ids, own_ids)  # what heads.py would extract for the whole catalog
    assert cache.features.dtype == np.float32 and cache.features.shape == own_feats.shape  # pooled: float32
    np.testing.assert_allclose(np.asarray(cache.features), own_feats, rtol=1e-5, atol=1e-5)
    del cache

    def no_backbone(*args, **kwargs):
        raise AssertionError("retrain heads ran the backbone after a predict")

    monkeypatch.setattr(features, "extract_features", no_backbone)  # what ensure_features calls
    res = _retrain(ds, run)
    assert res.feature_stats["computed"] == 0 and res.feature_stats["cached"] == len(pred.ids)
    for k, v in ref.history.items():
        np.testing.assert_allclose(res.history[k], v, rtol=1e-4, atol=1e-4, err_msg=k)
    a = load_predictions(ref.run.predictions_path)
    b = load_predictions(res.run.predictions_path)
    np.testing.assert_array_equal(a.ids, b.ids)
    for s in run.schemes:
        np.testing.assert_allclose(b.probs[s], a.probs[s], atol=1e-4)
        assert res.after[s].accuracy == pytest.approx(ref.after[s].accuracy)


def test_predict_with_limit_caches_those_products_only(setup):
    ds, run = setup
    _clear(ds, run)
    reports = []
    pred = predict(run, ds, limit=20, batch_size=16, task=Task(reports.append))
    # after the last batch, the writing is said (the app's bar stood at "batch 2/2" meanwhile)
    msgs = [(p.phase, p.message) for p in reports]
    saving = msgs.index(("save", "Saving the predictions of 20 products and the backbone's features ..."))
    assert msgs[saving - 1][1].startswith("batch 2/2") and msgs[-1][1].startswith("20 products predicted")
    cache = heads.open_feature_cache(_feature_dir(ds, run), run.id)
    np.testing.assert_array_equal(cache.ids, pred.ids)
    assert len(cache.ids) == 20
    del cache
    res = _retrain(ds, run)  # the whole catalog: heads.py computes the rest
    assert res.feature_stats["cached"] == 20
    assert res.feature_stats["computed"] == len(load_ids(ds)) - 20
    # a second limited predict keeps the products cached before (the cache is merged, not shrunk)
    n_all = len(heads.open_feature_cache(_feature_dir(ds, run), run.id).ids)
    predict(run, ds, limit=5, batch_size=16)  # all cached already: nothing rewritten
    assert len(heads.open_feature_cache(_feature_dir(ds, run), run.id).ids) == n_all


def load_ids(ds):
    from fashion_review.training.pipeline import ensure_image_cache
    from fashion_review.training.predict import prediction_ids

    return prediction_ids(ds, ensure_image_cache(ds))
