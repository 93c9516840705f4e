"""Exporting the corrected styles.csv: round trip, format kept, spreadsheet-safe, atomic, never over the input."""

from __future__ import annotations

import csv
import io

import pandas as pd
import pytest
from _catalog_helpers import HEADER, csv_text, row, tree_digest, write_dataset

from fashion_review.data import export as export_mod
from fashion_review.data.catalog import load_catalog
from fashion_review.data.dataset import open_dataset
from fashion_review.data.export import export_catalog, spreadsheet_safe
from fashion_review.errors import DataError

BOM = b"\xef\xbb\xbf"


def _messy_text(nl="\n", header=HEADER):
    return csv_text(
        row(1),
        row(2, productDisplayName="Puma, Black Shoes"),  # malformed: recovered, then quoted on export
        row(3, productDisplayName="Nike Women's EM Tempo 3.5\" Pink Short"),  # raw quote mid-field
        row(4, productDisplayName='"Say ""Hi"", Bob"'),  # properly quoted, with comma and quotes
        row(5, season="", usage=""),
        row(6, productDisplayName='"Two\nLines"'),
        row(7, gender="Women", articleType="Heels"),
        nl=nl,
        header=header,
    )


def _open(folder, content, images=range(1, 8)):
    return open_dataset(write_dataset(folder, content, images))


def _csv_columns(cat):
    return [c for c in cat.columns if c != "id"]


def _assert_round_trip(ds, out):
    """Re-reading ``out`` gives the effective catalog: same products, columns, order and values."""
    back = load_catalog(csv_path=out, images_dir=ds.catalog.images_dir)
    eff = ds.effective()
    assert back.columns == ds.catalog.columns
    assert list(back.df.index) == list(eff.sort_values("line", kind="stable").index)
    cols = _csv_columns(ds.catalog)
    pd.testing.assert_frame_equal(back.df[cols], eff.loc[back.df.index, cols])
    assert back.report.count("malformed_row") == 0  # now quoted properly
    assert back.report.count("unbalanced_quote") == 0
    return back


@pytest.mark.parametrize(
    ("nl", "bom"), [("\n", False), ("\r\n", False), ("\r\n", True), ("\n", True)],
    ids=["lf", "crlf", "crlf-bom", "lf-bom"],
)
def test_round_trip_keeps_labels_columns_and_format(tmp_path, home_dir, nl, bom):
    raw = _messy_text(nl).encode()
    ds = _open(tmp_path / "data", (BOM if bom else b"") + raw)
    try:
        ds.store.correct(1, "articleType", "Tshirts", old_value="Shirts")
        ds.store.correct(7, "gender", "Men", old_value="Women")
        ds.store.correct(5, "season", "Summer", old_value="")
        out = tmp_path / "out.csv"
        assert export_catalog(ds, out) == 7
        data = out.read_bytes()
        assert data.startswith(BOM) == bom
        assert data.count(BOM) == (1 if bom else 0)
        body = data.decode("utf-8-sig")
        if nl == "\r\n":
            # every record ends in CRLF; the only bare LF is inside the quoted two-line name
            assert body.count("\r\n") == 8 and body.replace("\r\n", "").count("\n") == 1
        else:
            assert "\r" not in body
        back = _assert_round_trip(ds, out)
        assert back.line_terminator == nl and back.had_bom == bom
        assert back.df.at[1, "articleType"] == "Tshirts"
        assert back.df.at[7, "gender"] == "Men"
        assert back.df.at[2, "productDisplayName"] == "Puma, Black Shoes"
        assert back.df.at[3, "productDisplayName"] == "Nike Women's EM Tempo 3.5\" Pink Short"
        assert back.df.at[4, "productDisplayName"] == 'Say "Hi", Bob'
        assert back.df.at[6, "productDisplayName"] == "Two\nLines"
        assert back.df.at[5, "usage"] == ""
        # quoted properly: a plain CSV reader sees exactly 10 fields on every record
        records = list(csv.reader(io.StringIO(body, newline="")))
        assert {len(r) for r in records} == {10}
    finally:
        ds.close()


def test_round_trip_with_extra_and_reordered_columns(tmp_path, home_dir):
    header = "productDisplayName,articleType,id,baseColour,gender,masterCategory,subCategory,season,year,usage,rating"
    text = csv_text(
        "Red Heels,Heels,1,Red,Women,Footwear,Shoe,Summer,2012,Casual,5",
        "Black Shirt,Shirts,2,Black,Men,Apparel,Topwear,Fall,2011,Formal,",
        header=header,
    )
    ds = _open(tmp_path / "data", text, [1, 2])
    try:
        ds.store.correct(2, "rating", "3", old_value="")
        out = tmp_path / "out.csv"
        export_catalog(ds, out)
        lines = out.read_text().splitlines()
        assert lines[0] == header
        assert lines[1] == "Red Heels,Heels,1,Red,Women,Footwear,Shoe,Summer,2012,Casual,5"
        assert lines[2] == "Black Shirt,Shirts,2,Black,Men,Apparel,Topwear,Fall,2011,Formal,3"
        _assert_round_trip(ds, out)
    finally:
        ds.close()


def test_round_trip_of_the_real_file(shared_data, tmp_path, home_dir):
    ds = open_dataset(shared_data)
    try:
        pid = int(ds.catalog.df.index[100])
        ds.store.correct(pid, "articleType", "Heels", old_value=ds.catalog.df.at[pid, "articleType"])
        out = tmp_path / "styles.csv"
        assert export_catalog(ds, out) == 44_446
        back = _assert_round_trip(ds, out)
        assert back.df.at[pid, "articleType"] == "Heels"
        assert back.report.counts().get("blank_field") == ds.catalog.report.count("blank_field")
        # an export re-exported is byte-identical (the format is stable)
        ds2 = open_dataset(out.parent)
        try:
            export_catalog(ds2, tmp_path / "again.csv")
        finally:
            ds2.close()
        ds2_bytes = (tmp_path / "again.csv").read_bytes()
        # (the correction lives in the first data set's store; the second applies none)
        assert ds2_bytes == out.read_bytes()
    finally:
        ds.close()


@pytest.mark.parametrize("value", ["=1+2", "+SUM(A1)", "-2+3", "@cmd", "\t=1", "=HYPERLINK(\"http://x\",\"y\")"])
def test_formula_cells_are_made_safe(tmp_path, home_dir, value):
    ds = _open(tmp_path / "data", csv_text(row(1), row(2), row(3)), [1, 2, 3])
    try:
        ds.store.correct(1, "productDisplayName", value, old_value="Plain Shirt")
        ds.store.correct(2, "baseColour", value, old_value="Blue")
        out = tmp_path / "out.csv"
        export_catalog(ds, out)
        records = list(csv.reader(io.StringIO(out.read_text(), newline="")))
        by_id = {r[0]: r for r in records[1:]}
        assert by_id["1"][9] == "'" + value
        assert by_id["2"][5] == "'" + value
        assert by_id["3"][9] == "Plain Shirt"
        for r in records[1:]:
            assert all(not cell.startswith(("=", "+", "-", "@", "\t", "\r")) for cell in r)
    finally:
        ds.close()


@pytest.mark.parametrize("value", ["Plain", "a=b", "1-2", "'quoted", "", "Tee @ home", " =spaced"])
def test_ordinary_cells_are_left_alone(value):
    assert spreadsheet_safe(value) == value


def test_export_is_atomic_on_failure_midway(tmp_path, home_dir, monkeypatch):
    rows = [row(i, productDisplayName=f"Product {i}") for i in range(1, 301)]
    ds = _open(tmp_path / "data", csv_text(*rows), [])
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    new_target = out_dir / "new.csv"
    old_target = out_dir / "old.csv"
    old_target.write_bytes(b"previous export\n")
    calls = {"n": 0}
    real = export_mod.spreadsheet_safe

    def failing(value):
        calls["n"] += 1
        if calls["n"] > 1500:  # about half way through 300 rows x 9 cells
            raise OSError("simulated disk error")
        return real(value)

    monkeypatch.setattr(export_mod, "spreadsheet_safe", failing)
    try:
        for target in (new_target, old_target):
            calls["n"] = 0
            with pytest.raises(DataError, match="cannot write there \\(simulated disk error\\)"):
                export_catalog(ds, target)
            assert calls["n"] > 1500  # it really failed midway, after writing rows
        assert not new_target.exists()
        assert old_target.read_bytes() == b"previous export\n"
        assert sorted(p.name for p in out_dir.iterdir()) == ["old.csv"]  # no temp file left
        monkeypatch.setattr(export_mod, "spreadsheet_safe", real)
        assert export_catalog(ds, new_target) == 300
        assert sorted(p.name for p in out_dir.iterdir()) == ["new.csv", "old.csv"]
    finally:
        ds.close()


def test_refuses_to_overwrite_the_data_sets_own_styles_csv(tmp_path, home_dir):
    data = write_dataset(tmp_path / "data", csv_text(row(1), row(2)), [1, 2])
    (tmp_path / "link").symlink_to(data)
    before = tree_digest(data)
    ds = open_dataset(data)
    try:
        ds.store.correct(1, "articleType", "Heels", old_value="Shirts")
        for target in (data / "styles.csv", tmp_path / "data" / ".." / "data" / "styles.csv",
                       tmp_path / "link" / "styles.csv"):
            with pytest.raises(DataError, match="refusing to overwrite the data set's own styles.csv"):
                export_catalog(ds, target)
    finally:
        ds.close()
    assert tree_digest(data) == before


def test_missing_output_folder(tmp_path, home_dir):
    ds = _open(tmp_path / "data", csv_text(row(1)), [1])
    try:
        with pytest.raises(DataError, match="no such folder"):
            export_catalog(ds, tmp_path / "nowhere" / "out.csv")
    finally:
        ds.close()


def test_drop_excluded(tmp_path, home_dir):
    ds = _open(tmp_path / "data", csv_text(row(1), row(2), row(3)), [1, 2, 3])
    try:
        ds.store.correct(2, "excluded", "true", old_value="false")
        assert export_catalog(ds, tmp_path / "all.csv") == 3
        assert export_catalog(ds, tmp_path / "kept.csv", drop_excluded=True) == 2
        kept = load_catalog(csv_path=tmp_path / "kept.csv", images_dir=ds.catalog.images_dir)
        assert list(kept.df.index) == [1, 3]
        everything = load_catalog(csv_path=tmp_path / "all.csv", images_dir=ds.catalog.images_dir)
        assert list(everything.df.index) == [1, 2, 3]
        assert "excluded" not in everything.columns  # exclusion is not a CSV column
    finally:
        ds.close()
