"""The curator's commands (correct, confirm, undo, redo, conflicts, resolve): what the app's keys do."""

from __future__ import annotations

import json

from _catalog_helpers import csv_text, row, write_dataset

from fashion_review.cli import main
from fashion_review.data.corrections import CorrectionStore, confirmed_field
from fashion_review.data.dataset import open_dataset


def _data(tmp_path):
    return write_dataset(tmp_path / "data", csv_text(row(1), row(2), row(3, gender="Women")), [1, 2, 3])


def _effective(data):
    ds = open_dataset(data)
    try:
        return ds.effective(), ds.store.effective()
    finally:
        ds.close()


def test_correct_undo_redo(tmp_path, home_dir, capsys):
    data = _data(tmp_path)
    assert main(["correct", "1", "2", "--scheme", "articleType", "--label", "Tshirts", "--data", str(data),
                 "--author", "ann"]) == 0
    out = capsys.readouterr().out
    assert "batch 1: 2 change(s) on 2 product(s): articleType -> 'Tshirts'" in out
    eff, _ = _effective(data)
    assert eff.loc[[1, 2], "articleType"].tolist() == ["Tshirts", "Tshirts"]
    assert main(["correct", "3", "--scheme", "gender_master", "--label", "Men Footwear", "--data", str(data)]) == 0
    eff, _ = _effective(data)
    assert (eff.at[3, "gender"], eff.at[3, "masterCategory"]) == ("Men", "Footwear")
    assert main(["correct", "2", "--exclude", "--data", str(data)]) == 0
    assert bool(_effective(data)[0].at[2, "excluded"])
    assert main(["correct", "2", "--exclude", "--data", str(data)]) == 0
    assert "nothing to change" in capsys.readouterr().out

    assert main(["undo", "--data", str(data)]) == 0  # an earlier command's batch: its session has ended
    assert "undid batch 3" in capsys.readouterr().out
    assert not bool(_effective(data)[0].at[2, "excluded"])
    assert main(["redo", "--data", str(data), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["batch"] == 3


def test_undo_never_reaches_a_window_still_open(tmp_path, home_dir, capsys):
    data = _data(tmp_path)
    ds = open_dataset(data)  # "the app", still open
    try:
        window = CorrectionStore(ds.store.path)
        window.correct(1, "articleType", "Tops", old_value="Shirts", author="bob")
        assert main(["undo", "--data", str(data)]) == 1
        assert "--any reaches them" in capsys.readouterr().out
        assert ds.store.effective() == {(1, "articleType"): "Tops"}
        assert main(["undo", "--any", "--data", str(data)]) == 0
        assert ds.store.effective() == {}
        window.close()
    finally:
        ds.close()


def test_a_stale_old_value_refuses_the_batch(tmp_path, home_dir, capsys):
    data = _data(tmp_path)
    ds = open_dataset(data)
    try:
        eff = ds.effective()  # this "window" read the catalog ...
        assert main(["correct", "1", "--scheme", "articleType", "--label", "Tops", "--data", str(data)]) == 0
        from fashion_review.data.corrections import StaleValueError
        from fashion_review.review import editing

        changes = editing.label_changes(eff, [1], "articleType", "Jeans")  # ... before the command changed it
        try:
            ds.store.record(changes)
        except StaleValueError as exc:
            assert "it was 'Shirts'" in str(exc) and "'Tops'" in str(exc)
        else:
            raise AssertionError("a change on a stale value was recorded")
    finally:
        ds.close()


def test_confirm(tmp_path, home_dir, capsys):
    data = _data(tmp_path)
    assert main(["confirm", "1", "3", "--scheme", "articleType", "--data", str(data)]) == 0
    eff, store_values = _effective(data)
    f = confirmed_field("articleType")
    assert store_values == {(1, f): "Shirts", (3, f): "Shirts"}
    assert eff.at[1, "articleType"] == "Shirts"  # a confirmation changes no label
    assert main(["confirm", "1", "--scheme", "articleType", "--data", str(data)]) == 0
    assert "nothing to change" in capsys.readouterr().out


def test_conflicts_and_resolve(tmp_path, home_dir, capsys):
    data = _data(tmp_path)
    assert main(["correct", "1", "--scheme", "articleType", "--label", "Tshirts", "--data", str(data)]) == 0
    assert main(["correct", "2", "--scheme", "baseColour", "--label", "Red", "--data", str(data)]) == 0
    (data / "styles.csv").write_text(csv_text(row(1, articleType="Tops"), row(2, baseColour="Black"),
                                              row(3, gender="Women")), encoding="utf-8")
    capsys.readouterr()
    assert main(["conflicts", "--data", str(data)]) == 1
    out = capsys.readouterr().out
    assert "id 1 articleType: corrected to 'Tshirts', the file now says 'Tops'" in out
    assert main(["resolve", "1", "articleType", "--keep", "file", "--data", str(data)]) == 0
    assert main(["resolve", "--all", "--keep", "mine", "--data", str(data)]) == 0
    assert "id 2 baseColour: kept the curator's value" in capsys.readouterr().out
    assert main(["conflicts", "--data", str(data), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["conflicts"] == []
    assert main(["undo", "--data", str(data)]) == 0  # the resolution taking the file's value
    assert main(["undo", "--data", str(data)]) == 1  # the earlier file's batches stay
    assert "before styles.csv last changed" in capsys.readouterr().out
    assert main(["redo", "--data", str(data)]) == 0
    capsys.readouterr()
    eff, _ = _effective(data)
    assert (eff.at[1, "articleType"], eff.at[2, "baseColour"]) == ("Tops", "Red")
    assert main(["corrections", "--data", str(data), "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["carried"] for r in rows] == ["conflict", "conflict", None]  # the third: the resolution
