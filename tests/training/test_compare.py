"""The retrain dialog's before / after, headless (training/compare.py): both models scored on the new
run's test products that neither trained on, with how many were left out and why, and products in
a class a model does not know counted rather than silently dropped."""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest

from fashion_review.tasks import Task
from fashion_review.training import compare, registry


def test_score_counts_products_in_a_class_the_model_does_not_know():
    classes = ["Heels", "Flats"]
    given = np.array(["Heels", "Flats", "Sandals", "", "Heels"], dtype=object)
    probs = np.array([[0.9, 0.1], [0.2, 0.8], [0.5, 0.5], [0.5, 0.5], [0.1, 0.9]], dtype=np.float32)
    report, unknown = compare.score(given, probs, classes)
    assert unknown == 1  # Sandals: the model cannot predict it; not a silent miss, not a silent drop
    assert report.total == 3 and report.accuracy == pytest.approx(2 / 3)
    before, after, nc = compare.compare_reports({"articleType": given}, {"articleType": probs},
                                                {"articleType": classes}, {"articleType": probs[:, ::-1]},
                                                {"articleType": ["Flats", "Heels"]})
    assert nc["articleType"] == {"unknown_to_new": 1, "not_usable_now": 1, "unknown_to_parent": 1}


@pytest.fixture
def two_runs(tmp_path, monkeypatch, sample_dir):
    """The tiny parent run and a 'child' (the same model) whose split puts in its test part products
    the parent trained on (what a child of another scheme's split, or of another home, has)."""
    from _model_fixtures import sample_with_tiny_run

    monkeypatch.setenv("FASHION_REVIEW_HOME", str(tmp_path / "home"))
    ds, parent = sample_with_tiny_run(sample_dir)
    child_dir = registry.runs_dir(ds.fingerprint) / (parent.id + "-child")
    shutil.copytree(parent.path, child_dir)
    frame = pd.read_csv(child_dir / registry.SPLIT_FILE)
    trained = frame.index[frame["part"].eq("train").to_numpy()][:25]
    frame.loc[trained, "part"] = "test"
    frame.to_csv(child_dir / registry.SPLIT_FILE, index=False)
    registry.update_run(registry.read_run(child_dir), id=child_dir.name, parent=parent.id)
    yield ds, parent, registry.read_run(child_dir), frame.loc[trained, "id"].to_numpy()
    ds.close()


def test_both_models_are_scored_on_products_neither_trained_on(two_runs):
    ds, parent, child, parents_train = two_runs
    result = compare.compare_on_test(ds, child, parent, Task())
    before, after = result  # unpacks as the dialog reads it
    test = registry.read_split(child)
    n_test = int((test == "test").sum())
    assert result.left_out["trained_by_parent"] == len(parents_train)
    assert result.products == n_test - len(parents_train) - result.left_out["no_image"]
    assert set(before) == set(after) == set(child.schemes)
    for s in child.schemes:
        counted = after[s].total + result.not_counted[s]["unknown_to_new"] + result.not_counted[s]["not_usable_now"]
        assert counted == result.products
        assert before[s].total == after[s].total  # the same products for both: same classes here
    assert "neither model trained on" in result.text() and "25 left out" in result.text()


def test_no_before_when_the_parent_has_no_split_file(two_runs):
    ds, parent, child, _ = two_runs
    parent.split_path.unlink()
    result = compare.compare_on_test(ds, child, parent, Task())
    assert result.before == {} and set(result.after) == set(child.schemes)
    assert "no split file" in result.note


def test_evaluations_summary_says_what_it_did_not_count():
    from fashion_review.training.evaluate import summary_text

    scheme = {"train_accuracy": 0.9, "val_accuracy": 0.8, "test_accuracy": 0.75, "macro_f1": 0.7,
              "products": {"train": 10, "val": 3, "test": 4}, "not_counted": {"unknown_class": 2, "not_usable_now": 1}}
    text = summary_text({"run": "r", "recipe": "x", "schemes": {"articleType": scheme,
                                                                  "subCategory": {**scheme, "not_counted": {}}}})
    assert "articleType: 2 products now in a class the model does not know are not counted" in text
    assert "subCategory:" not in text


def test_the_measured_training_rate_is_this_machines_not_an_imported_models():
    """The reference model's record carries the rate of the machine that trained it; the Retrain
    dialog took it for "measured in an earlier run on this device"."""
    from types import SimpleNamespace

    from fashion_review.training.compare import estimate_full, measured_train_rate

    def run(rate, **training):
        return SimpleNamespace(recipe="xception-lite", image_size=None,
                               record={"training": {"device": "CPU", "images_per_s": rate, **training}})

    here, imported = run(164.8), run(334.7, imported=True)
    assert measured_train_rate([here, imported], "xception-lite", None, "CPU") == 164.8  # the newest is imported
    assert measured_train_rate([imported], "xception-lite", None, "CPU") is None
    typical = estimate_full(800, 100, 16, None, "CPU", None, backbone="xception-lite", validation=0.1)
    assert "typical of a CPU" in typical.basis and "measured" not in typical.basis


def test_heads_estimate_takes_an_earlier_heads_runs_rate_and_the_lite_models_own():
    """Retraining the reference's heads on the full data took 13 s; the dialog said about 69 s (the
    paper-sized heads' 1,300/s and 20 s of overhead, over the stored split's train part)."""
    from types import SimpleNamespace

    from fashion_review.training.compare import estimate_heads, measured_heads_rate

    def heads_run(backbone, train_s, n, device="CPU"):
        return SimpleNamespace(record={"recipe": {"backbone": backbone}, "data": {"products": {"train": n}},
                                       "training": {"heads_only": True, "device": device, "epochs_run": 2,
                                                    "seconds": {"train_s": train_s}}})

    full = SimpleNamespace(record={"recipe": {"backbone": "xception-lite"}, "training": {"device": "CPU"}})
    runs = [heads_run("xception-lite", 8.85, 38288), heads_run("xception", 40.0, 30000), full]
    assert measured_heads_rate(runs, "xception-lite", "CPU") == pytest.approx(2 * 38288 / 8.85)
    assert measured_heads_rate(runs, "xception", "CPU") == pytest.approx(1500.0)
    assert measured_heads_rate(runs, "xception-lite", "GPU: H100") is None  # another kind of device
    assert measured_heads_rate([full], "xception-lite", "CPU") is None
    typical = estimate_heads(0, 38288, 2, None, "CPU", n_total=42072, backbone="xception-lite")
    assert 10 <= typical.seconds <= 20 and "typical of a CPU" in typical.basis  # measured: 12.5 s in all
    measured = estimate_heads(0, 38288, 2, None, "CPU", n_total=42072, backbone="xception-lite",
                              heads_rate=measured_heads_rate(runs, "xception-lite", "CPU"))
    assert "8,653/s, measured here" in measured.basis and measured.seconds < typical.seconds
