"""The model registry: atomic run folders, unique ids, the active run, loading in safe mode.

Most of it needs no Keras (the app lists runs at start-up without it); the loading checks use
small Keras models made here, not Xceptions.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from fashion_review.errors import ModelError
from fashion_review.training import registry

FP = "0123456789abcdef"


def _record(**extra):
    return {"format": 1, "recipe": {"name": "r", "kind": "single"}, "schemes": ["articleType"],
            "classes": {"articleType": ["a", "b", "c"]}, "data": {"fingerprint": FP}, "metrics": {}, **extra}


def _write_run(run_id: str, **extra) -> registry.RunInfo:
    with registry.RunWriter(FP, run_id) as w:
        (w.path / "model.keras").write_bytes(b"not yet")
        return w.commit(_record(**extra))


def test_registry_module_imports_no_keras():
    code = ("import sys\nimport fashion_review.training.registry\n"
            "print([m for m in ('keras', 'tensorflow', 'torch', 'jax') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_run_id_is_sortable_and_names_scheme_and_recipe():
    rid = registry.new_run_id("xception-paper", ["articleType"], when=1795000000)
    assert rid[:15].replace("-", "").isdigit() and rid.endswith("-articleType-xception-paper")
    assert registry.new_run_id("xception-multihead", ["a", "b"]).endswith("-multi-xception-multihead")


def test_commit_renames_into_place_and_ids_stay_unique(home_dir):
    a = _write_run("20260101-000000-articleType-r")
    b = _write_run("20260101-000000-articleType-r")  # same second: a suffix, never a clobber
    assert a.id == "20260101-000000-articleType-r" and b.id == "20260101-000000-articleType-r-2"
    assert json.loads((b.path / "run.json").read_text())["id"] == b.id
    assert [r.id for r in registry.list_runs(FP)] == [a.id, b.id]
    assert not [p for p in registry.runs_dir(FP).iterdir() if p.name.startswith(".")]


def test_a_failure_while_writing_leaves_nothing(home_dir):
    with pytest.raises(RuntimeError):
        with registry.RunWriter(FP, "20260101-000000-x-r") as w:
            (w.path / "model.keras").write_bytes(b"half")
            raise RuntimeError("crash")
    assert list(registry.runs_dir(FP).iterdir()) == []
    assert registry.list_runs(FP) == []


def test_stale_temp_folder_of_a_dead_process_is_removed(home_dir):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True, check=True).stdout.strip()
    stale = registry.runs_dir(FP) / f".tmp-{dead}-abcdef12-20260101-000000-x-r"
    stale.mkdir()
    (stale / "model.keras").write_bytes(b"half")
    assert registry.list_runs(FP) == []  # never listed
    _write_run("20260101-000001-x-r")
    assert not stale.exists()


def test_out_folder_instead_of_registry(home_dir, tmp_path):
    out = tmp_path / "elsewhere" / "run"
    with registry.RunWriter(FP, "20260101-000000-x-r", out=out) as w:
        run = w.commit(_record())
    assert run.path == out.resolve() and (out / "run.json").is_file()
    assert registry.list_runs(FP) == []
    assert registry.get_run(out).id == "20260101-000000-x-r"
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("x")
    with pytest.raises(ModelError, match="not an empty folder"):
        registry.RunWriter(FP, "r", out=tmp_path / "full")
    with pytest.raises(ModelError, match="only registry runs"):
        registry.activate(FP, run)


def test_active_run_changes_only_when_asked(home_dir):
    assert registry.active_run(FP) is None
    a = _write_run("20260101-000000-x-r")
    assert registry.active_run(FP) is None  # a new run is not made active
    registry.activate(FP, a.id)
    b = _write_run("20260101-000002-x-r")
    assert registry.active_run(FP).id == a.id
    registry.activate(FP, b)
    assert registry.active_run(FP).id == b.id
    with pytest.raises(ModelError, match="no run 'nope'"):
        registry.activate(FP, "nope")
    assert registry.active_run(FP).id == b.id


def test_get_run_by_id_path_and_errors(home_dir, tmp_path):
    a = _write_run("20260101-000000-x-r")
    assert registry.get_run(a.id, FP).path == a.path
    assert registry.get_run(a.id).path == a.path  # searched in every data set's registry
    assert registry.get_run(str(a.path)).id == a.id
    with pytest.raises(ModelError, match="no run"):
        registry.get_run("20990101-000000-x-r", FP)
    with pytest.raises(ModelError, match="not a run folder"):
        registry.get_run(tmp_path)
    (tmp_path / "run.json").write_text("{broken")
    with pytest.raises(ModelError, match="not a readable run record"):
        registry.get_run(tmp_path)


def test_update_run_merges_metrics(home_dir):
    a = _write_run("20260101-000000-x-r", metrics={"articleType": {"val_accuracy": 0.5}})
    registry.update_run(a, metrics={"articleType": {"test_accuracy": 0.4}})
    again = registry.get_run(a.id, FP)
    assert again.metrics == {"articleType": {"val_accuracy": 0.5, "test_accuracy": 0.4}}
    assert "articleType test 40.00%" in again.summary()


# ----------------------------------------------------------------------------- safe loading


def _small_model(n: int = 3, lam: bool = False):
    import keras  # noqa: E402  (a hard dependency: failing to import it must fail, not skip)
    inp = keras.Input((4,), name="image")
    x = keras.layers.Dense(5, name="hidden")(inp)
    if lam:
        x = keras.layers.Lambda(lambda t: t * 2.0, name="sneaky")(x)
    out = keras.layers.Dense(n, activation="softmax", name="articleType")(x)
    return keras.Model(inp, out)


def _run_with_model(model, run_id: str) -> registry.RunInfo:
    with registry.RunWriter(FP, run_id) as w:
        model.save(w.path / "model.keras")
        return w.commit(_record())


def test_a_lambda_layer_is_refused_naming_it(home_dir):
    run = _run_with_model(_small_model(lam=True), "20260101-000000-lambda-r")
    with pytest.raises(ModelError) as err:
        registry.load_model(run)
    msg = str(err.value)
    assert "Lambda" in msg and "sneaky" in msg and "safe mode" in msg and str(run.model_path) in msg


def test_a_good_model_loads_and_class_counts_are_checked(home_dir):
    ok = _run_with_model(_small_model(3), "20260101-000000-ok-r")
    model = registry.load_model(ok.id, FP)
    assert model.get_layer("articleType").output.shape[-1] == 3
    wrong = _run_with_model(_small_model(4), "20260101-000000-wrong-r")
    with pytest.raises(ModelError, match="class counts do not match.*model 4, record 3"):
        registry.load_model(wrong)


def test_corrupt_and_missing_model_files_are_refused(home_dir):
    run = _run_with_model(_small_model(3), "20260101-000000-cut-r")
    data = run.model_path.read_bytes()
    run.model_path.write_bytes(data[: len(data) // 3])
    with pytest.raises(ModelError, match="truncated or corrupt"):
        registry.load_model(run)
    run.model_path.write_bytes(b"PK\x03\x04 garbage")
    with pytest.raises(ModelError, match="truncated or corrupt"):
        registry.load_model(run)
    run.model_path.unlink()
    with pytest.raises(ModelError, match="no model file"):
        registry.load_model(run)
