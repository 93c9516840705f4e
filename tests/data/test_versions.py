"""A curator's work follows styles.csv through its versions: the export written over the file,
an edit, a grown file.  Nothing looks lost: corrections, exclusions and the active model carry
over; a field the file changed to something else is a conflict the curator resolves."""

from __future__ import annotations

import shutil

import pandas as pd
import pytest
from _catalog_helpers import csv_text, row, write_dataset

from fashion_review.data.catalog import load_catalog
from fashion_review.data.corrections import Change, confirmed_field
from fashion_review.data.dataset import open_dataset
from fashion_review.data.export import export_catalog

LABELS = ["gender", "masterCategory", "subCategory", "articleType", "baseColour"]


def _catalog(folder, extra_rows=()):
    rows = [row(1), row(2, articleType="Tshirts"), row(3, gender="Women"), row(4), row(5), *extra_rows]
    return write_dataset(folder, csv_text(*rows), range(1, 7))


def _register_active_run(ds):
    """A registry run (no model needed to list and activate it) made active for ``ds``."""
    from fashion_review.training import registry

    with registry.RunWriter(ds.fingerprint, "20260101-000000-multi-test") as w:
        (w.path / registry.MODEL_FILE).write_bytes(b"weights")
        (w.path / registry.SPLIT_FILE).write_text("id,part\n1,train\n2,test\n", encoding="utf-8")
        run = w.commit({"schemes": ["articleType"], "classes": {"articleType": ["Shirts", "Tshirts"]},
                        "data": {"fingerprint": ds.fingerprint}})
    registry.activate(ds.fingerprint, run.id)
    features = ds.home / "features" / run.id
    features.mkdir(parents=True)
    (features / "meta.json").write_text("{}", encoding="utf-8")
    return run


def test_export_written_over_styles_csv_then_reopened_loses_nothing(tmp_path, home_dir):
    from fashion_review.training import registry

    data = _catalog(tmp_path / "data")
    ds = open_dataset(data)
    ds.store.correct(1, "articleType", "Tshirts", old_value="Shirts", author="ann")
    ds.store.record([Change(2, "gender", "Men", "Women"), Change(3, EXCLUDED := "excluded", "false", "true")],
                    author="ann", source="bulk")
    ds.store.correct(4, confirmed_field("articleType"), "Shirts", old_value="", author="ann")
    before = ds.effective()
    history = [(c.batch_id, c.product_id, c.field, c.new_value, c.active) for c in ds.store.history()]
    run = _register_active_run(ds)
    out = tmp_path / "corrected.csv"
    export_catalog(ds, out)
    old_fp = ds.fingerprint
    ds.close()

    shutil.copyfile(out, data / "styles.csv")  # the curator writes the export over the original
    ds2 = open_dataset(data)
    try:
        assert ds2.fingerprint != old_fp
        assert ds2.carried == {"from": old_fp, "counts": {"applied": 2, "pending": 2, "conflict": 0, "orphan": 0}}
        assert [(c.batch_id, c.product_id, c.field, c.new_value, c.active) for c in ds2.store.history()] == history
        after = ds2.effective()
        pd.testing.assert_frame_equal(after[LABELS + [EXCLUDED]], before[LABELS + [EXCLUDED]])
        states = {(c["product_id"], c["field"]): c["state"] for c in ds2.store.carried()}
        assert states == {(1, "articleType"): "applied", (2, "gender"): "applied", (3, EXCLUDED): "pending",
                          (4, confirmed_field("articleType")): "pending"}
        assert ds2.store.conflicts() == []
        assert not ds2.store.can_undo()  # the carried batches belong to the earlier file
        assert [r.id for r in registry.list_runs(ds2.fingerprint)] == [run.id]  # the listing follows ...
        active = registry.active_run(ds2.fingerprint)  # ... and so does the active model
        assert active is not None and active.id == run.id and ds2.fingerprint in active.fingerprints
        assert active.path.parent == registry.runs_dir(ds2.fingerprint)
        assert (ds2.home / "features" / run.id / "meta.json").exists()  # its feature cache too
        assert registry.active_run(old_fp).id == run.id  # the earlier version keeps its own
    finally:
        ds2.close()


def test_a_field_the_file_changed_otherwise_is_a_conflict_the_curator_resolves(tmp_path, home_dir):
    data = _catalog(tmp_path / "data")
    ds = open_dataset(data)
    ds.store.correct(1, "articleType", "Tshirts", old_value="Shirts", author="ann")
    ds.store.correct(2, "baseColour", "Red", old_value="Blue", author="ann")
    ds.store.correct(3, "baseColour", "Green", old_value="Blue", author="ann")
    ds.close()
    # someone edits the file: product 1 becomes Tops (not what ann chose), product 2 Red (what she chose),
    # product 5 leaves the file, a product 6 arrives
    text = csv_text(row(1, articleType="Tops"), row(2, articleType="Tshirts", baseColour="Red"), row(3, gender="Women"),
                    row(4), row(6))
    (data / "styles.csv").write_text(text, encoding="utf-8")
    ds2 = open_dataset(data)
    try:
        assert ds2.carried["counts"] == {"applied": 1, "pending": 1, "conflict": 1, "orphan": 0}
        (conflict,) = ds2.store.conflicts()
        assert (conflict["product_id"], conflict["field"], conflict["corrected_value"], conflict["file_value"]) == (
            1, "articleType", "Tshirts", "Tops")
        assert ds2.effective().at[1, "articleType"] == "Tshirts"  # the curator's value until resolved
        batch = ds2.store.resolve(1, "articleType", "file", author="ann")
        assert ds2.effective().at[1, "articleType"] == "Tops" and ds2.store.conflicts() == []
        assert ds2.store.batches()[-1]["id"] == batch and ds2.store.batches()[-1]["source"] == "import"
        assert ds2.store.undo() == batch  # the resolution is an ordinary, undoable change
        assert ds2.effective().at[1, "articleType"] == "Tshirts"
    finally:
        ds2.close()


def test_the_history_follows_every_version(tmp_path, home_dir):
    data = _catalog(tmp_path / "data")
    with_row = []
    for k in range(3):  # the file grows twice; a correction on each version
        with_row.append(row(10 + k))
        ds = open_dataset(data)
        try:
            ds.store.correct(1 + k, "usage", f"Sports{k}", old_value="Casual")
            assert len(ds.store.history()) == k + 1
            assert len(ds.store.lineage()) == k
        finally:
            ds.close()
        _catalog(data, with_row)


def test_export_keeps_the_rows_the_reader_skipped_verbatim(tmp_path, home_dir):
    text = csv_text(row(1), "x7,Men,Apparel,Topwear,Shirts,Blue,Fall,2011,Casual,Bad id", row(2),
                    row(1, productDisplayName="Duplicate of one"), row(3, productDisplayName="Puma, Black Shoes"))
    data = write_dataset(tmp_path / "data", text, [1, 2, 3])
    for skip in (False, True):
        ds = open_dataset(data, skip_malformed=skip)
        try:
            out = tmp_path / f"out-{skip}.csv"
            n = export_catalog(ds, out)
            lines = out.read_text(encoding="utf-8").splitlines()
            assert lines[2] == "x7,Men,Apparel,Topwear,Shirts,Blue,Fall,2011,Casual,Bad id"  # at its place
            assert lines[4] == row(1, productDisplayName="Duplicate of one")
            if skip:
                assert lines[5] == row(3, productDisplayName="Puma, Black Shoes") and n == 2
            back = load_catalog(csv_path=out, images_dir=data / "images", skip_malformed=skip)
            assert back.report.count("bad_id") == 1 and back.report.count("duplicate_id") == 1
            assert sorted(back.skipped_rows) == sorted(ds.catalog.skipped_rows)
            assert list(back.df.index) == list(ds.catalog.df.index)
        finally:
            ds.close()


@pytest.mark.parametrize("crlf", [False, True])
def test_verbatim_rows_keep_the_files_line_ends(tmp_path, home_dir, crlf):
    nl = "\r\n" if crlf else "\n"
    data = write_dataset(tmp_path / "data", csv_text(row(1), row(1, usage="Dup"), row(2), nl=nl), [1, 2])
    ds = open_dataset(data)
    try:
        export_catalog(ds, tmp_path / "out.csv")
        assert (tmp_path / "out.csv").read_bytes() == (data / "styles.csv").read_bytes()
    finally:
        ds.close()


def test_the_state_of_a_carried_field_against_the_new_file():
    from fashion_review.data.versions import field_state

    # the product gone; a field the file does not have (exclusion); the file took the correction;
    # the file still holds the value the correction replaced; the file changed it to a third value
    assert field_state(None, "Tshirts", "Shirts", True) == "orphan"
    assert field_state("", "true", "false", False) == "pending"
    assert field_state("Tshirts", "Tshirts", "Shirts", True) == "applied"
    assert field_state("Shirts", "Tshirts", "Shirts", True) == "pending"
    assert field_state("Kurtas", "Tshirts", "Shirts", True) == "conflict"
