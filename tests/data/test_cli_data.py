"""The data subcommands: stats, check, split, export, corrections, validate."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys

import pytest
from _catalog_helpers import csv_text, jpeg_bytes, row, tree_digest, write_dataset

from fashion_review.cli import main
from fashion_review.data.catalog import REQUIRED_COLUMNS, load_catalog
from fashion_review.data.dataset import open_dataset

SUBCOMMANDS = ["stats", "check", "split", "export", "corrections", "validate"]


def _args(cmd, data, tmp_path):
    extra = {"split": ["--scheme", "articleType"], "export": ["--out", str(tmp_path / "out.csv")],
             "validate": ["--workers", "1"]}
    return [cmd, "--data", str(data), *extra.get(cmd, [])]


@pytest.mark.parametrize("cmd", SUBCOMMANDS)
def test_each_subcommand_runs_on_the_sample(cmd, sample_dir, tmp_path, capsys):
    before = tree_digest(sample_dir)
    rc = main(_args(cmd, sample_dir, tmp_path))
    out, err = capsys.readouterr()
    assert rc == 0, err
    assert out.strip()
    assert tree_digest(sample_dir) == before


def test_stats_json_on_the_sample(sample_dir, capsys):
    assert main(["stats", "--data", str(sample_dir), "--json"]) == 0
    got = json.loads(capsys.readouterr().out)
    d = open_dataset(sample_dir)
    try:
        assert got == d.stats()
    finally:
        d.close()
    with open(sample_dir / "styles.csv", newline="", encoding="utf-8") as f:
        records = list(csv.reader(f))[1:]
    assert got["rows"] == len(records)
    assert got["malformed_rows"] == sum(len(r) == 11 for r in records) > 0
    assert got["with_image"] + got["missing_image"] == got["rows"]


def test_stats_text_and_options(sample_dir, capsys):
    assert main(["stats", "--data", str(sample_dir), "--min-images", "40"]) == 0
    out, err = capsys.readouterr()
    assert "(min 40 images)" in out
    assert "articleType" in out and "malformed_row: 4" in err
    assert main(["stats", "--data", str(sample_dir), "--skip-malformed", "--json"]) == 0
    got = json.loads(capsys.readouterr().out)
    assert got["rows"] == len(load_catalog(sample_dir, skip_malformed=True))


def test_no_data_option_reads_the_bundled_sample(sample_dir, capsys):
    assert main(["check", "--json"]) == 0
    got = json.loads(capsys.readouterr().out)
    assert got["rows"] == len(load_catalog(sample_dir))


def test_check_json_lists_every_problem_with_its_line(tmp_path, capsys):
    data = write_dataset(tmp_path / "d", csv_text(row(1), row(2, productDisplayName="A, B"), row(1)), [1, 2])
    assert main(["check", "--data", str(data), "--json"]) == 0
    got = json.loads(capsys.readouterr().out)
    assert got["counts"] == {"malformed_row": 1, "duplicate_id": 1}
    assert [(p["kind"], p["line"]) for p in got["problems"]] == [("malformed_row", 3), ("duplicate_id", 4)]
    assert main(["check", "--data", str(data)]) == 0
    out = capsys.readouterr().out
    assert "styles.csv:4: id 1 already on line 2; the first is kept" in out


def test_split_json(sample_dir, capsys, home_dir):
    assert main(["split", "--data", str(sample_dir), "--scheme", "articleType", "--json"]) == 0
    got = json.loads(capsys.readouterr().out)
    d = open_dataset(sample_dir)
    try:
        parts = d.split("articleType")
        usable = d.usable("articleType")
    finally:
        d.close()
    assert got["min_images"] == 20 and got["scheme"] == "articleType"
    assert got["totals"] == {p: int((parts == p).sum()) for p in ("train", "val", "test")}
    assert set(got["classes"]) == set(usable.unique())
    assert sum(sum(c.values()) for c in got["classes"].values()) == len(usable)
    assert got["stored_in"].startswith(str(home_dir))


def test_export_and_corrections_commands(tmp_path, capsys, home_dir):
    data = write_dataset(tmp_path / "d", csv_text(row(1), row(2)), [1, 2])
    assert main(["corrections", "--data", str(data), "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []
    assert main(["corrections", "--data", str(data)]) == 0
    assert "no corrections yet" in capsys.readouterr().out
    d = open_dataset(data)
    d.store.correct(2, "articleType", "Heels", old_value="Shirts", note="was wrong")
    d.store.correct(1, "excluded", "true", old_value="false")
    d.close()
    assert main(["corrections", "--data", str(data), "--json"]) == 0
    hist = json.loads(capsys.readouterr().out)
    assert [(h["id"], h["field"], h["old"], h["new"], h["note"]) for h in hist] == [
        (2, "articleType", "Shirts", "Heels", "was wrong"), (1, "excluded", "false", "true", None)]
    out = tmp_path / "exported.csv"
    assert main(["export", "--data", str(data), "--out", str(out), "--drop-excluded"]) == 0
    assert f"wrote 1 product with 2 corrections applied to {out}" in capsys.readouterr().out
    back = load_catalog(csv_path=out, images_dir=data / "images")
    assert list(back.df.index) == [2] and back.df.at[2, "articleType"] == "Heels"


def test_export_onto_the_input_is_refused(tmp_path, capsys):
    data = write_dataset(tmp_path / "d", csv_text(row(1)), [1])
    before = tree_digest(data)
    assert main(["export", "--data", str(data), "--out", str(data / "styles.csv")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "refusing to overwrite the data set's own styles.csv" in err[0]
    assert tree_digest(data) == before


@pytest.mark.parametrize("cmd", SUBCOMMANDS)
def test_missing_column_gives_exit_2_and_one_line(cmd, tmp_path, capsys):
    header = ",".join(c for c in REQUIRED_COLUMNS if c != "articleType")
    data = write_dataset(tmp_path / "d", f"{header}\n1,Men,Apparel,Topwear,Blue,Fall,2011,Casual,x\n", [1])
    rc = main(_args(cmd, data, tmp_path))
    out, err = capsys.readouterr()
    assert rc == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("fashion-review: error: ")
    assert "styles.csv:1: required column 'articleType' missing from the header" in lines[0]
    assert "Traceback" not in err and out == ""


@pytest.mark.parametrize("cmd", SUBCOMMANDS)
def test_missing_data_folder_gives_exit_2(cmd, tmp_path, capsys):
    rc = main(_args(cmd, tmp_path / "nowhere", tmp_path))
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1
    assert "nowhere/styles.csv: no such file" in err[0]


def test_bad_arguments_exit_2(capsys):
    with pytest.raises(SystemExit) as e:
        main(["split", "--data", "x", "--scheme", "colour"])
    assert e.value.code == 2
    assert "invalid choice: 'colour'" in capsys.readouterr().err


@pytest.mark.parametrize("where", ["before", "after"])
def test_home_option_before_and_after_the_subcommand(where, tmp_path, capsys, home_dir):
    data = write_dataset(tmp_path / "d", csv_text(*(row(i) for i in range(1, 11))), range(1, 11))
    chosen = tmp_path / f"home-{where}"
    args = ["split", "--data", str(data), "--scheme", "articleType", "--min-images", "1", "--json"]
    argv = ["--home", str(chosen), *args] if where == "before" else [*args, "--home", str(chosen)]
    assert main(argv) == 0
    got = json.loads(capsys.readouterr().out)
    assert got["stored_in"].startswith(str(chosen.resolve()))
    fp = load_catalog(data).fingerprint
    assert (chosen / "datasets" / fp / "splits" / "articleType-min1.csv").is_file()
    assert (chosen / "datasets" / fp / "corrections.sqlite").is_file()
    assert not (home_dir / "datasets").exists()  # the default home was not used


def test_python_m_help_in_a_subprocess(tmp_path):
    env = {**os.environ, "FASHION_REVIEW_HOME": str(tmp_path / "h")}
    res = subprocess.run([sys.executable, "-m", "fashion_review", "--help"], capture_output=True, text=True,
                         env=env, timeout=60)
    assert res.returncode == 0, res.stderr
    assert res.stdout.startswith("usage: fashion-review")
    for cmd in SUBCOMMANDS:
        assert cmd in res.stdout
    res = subprocess.run([sys.executable, "-m", "fashion_review", "stats", "--help"], capture_output=True,
                         text=True, env=env, timeout=60)
    assert res.returncode == 0 and "--skip-malformed" in res.stdout and "--min-images" in res.stdout


def test_validate_reports_an_image_that_does_not_decode(tmp_path, capsys):
    data = write_dataset(tmp_path / "d", csv_text(row(1), row(2), row(3), row(4)), [1, 2])
    (data / "images" / "3.jpg").write_bytes(b"this is not a JPEG at all" * 10)
    (data / "images" / "4.jpg").write_bytes(jpeg_bytes(90)[:200])  # cut short
    rc = main(["validate", "--data", str(data), "--workers", "1", "--json"])
    got = json.loads(capsys.readouterr().out)
    assert rc == 1
    assert got["checked"] == 4
    by_id = {p["id"]: p for p in got["problems"]}
    assert set(by_id) == {3, 4}
    assert by_id[3]["status"] == "unreadable" and "3.jpg" in by_id[3]["reason"]
    assert by_id[4]["status"] == "truncated" and "4.jpg" in by_id[4]["reason"]
    assert got["counts"]["ok"] == 2
    # and in text form, one line per bad image with its reason
    rc = main(["validate", "--data", str(data), "--workers", "1"])
    out = capsys.readouterr().out
    assert rc == 1 and by_id[3]["reason"] in out and by_id[4]["reason"] in out
