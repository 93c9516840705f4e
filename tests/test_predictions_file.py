import numpy as np
import pytest

from fashion_review.errors import ModelError
from fashion_review.review.predictions import Predictions, load_predictions, save_predictions


def make(n=5):
    rng = np.random.default_rng(0)
    p = rng.random((n, 3)).astype(np.float32)
    p /= p.sum(1, keepdims=True)
    return Predictions(ids=np.arange(10, 10 + n, dtype=np.int64) * 3, classes={"articleType": ["Flats", "Heels", "Tops"]},
                       probs={"articleType": p}, model_version="run-1",
                       embeddings={"articleType": rng.random((n, 4)).astype(np.float16)})


def test_roundtrip(tmp_path):
    pred = make()
    save_predictions(pred, tmp_path / "p.npz")
    back = load_predictions(tmp_path / "p.npz")
    assert back.model_version == "run-1" and back.schemes == ["articleType"]
    np.testing.assert_array_equal(back.ids, pred.ids)
    np.testing.assert_allclose(back.probs["articleType"], pred.probs["articleType"])
    np.testing.assert_array_equal(back.embeddings["articleType"], pred.embeddings["articleType"])
    assert [p.name for p in tmp_path.iterdir()] == ["p.npz"]


def test_predicted_top_k_and_index():
    pred = make()
    names, conf = pred.predicted("articleType")
    p = pred.probs["articleType"]
    assert list(names) == [pred.classes["articleType"][i] for i in p.argmax(1)]
    np.testing.assert_allclose(conf, p.max(1))
    top, tp = pred.top_k("articleType", 2)
    assert top.shape == (5, 2) and (tp[:, 0] >= tp[:, 1]).all()
    assert list(pred.index_of([pred.ids[3], 999, pred.ids[0]])) == [3, -1, 0]


def test_damaged_file(tmp_path):
    bad = tmp_path / "p.npz"
    bad.write_bytes(b"not a zip")
    with pytest.raises(ModelError, match="p.npz"):
        load_predictions(bad)
    with pytest.raises(ModelError, match="no predictions"):
        load_predictions(tmp_path / "missing.npz")
