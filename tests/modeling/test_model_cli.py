"""``fashion-review model summary|recipes``."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from fashion_review.cli import main


def test_summary_json_is_the_papers_table_3(capsys):
    assert main(["model", "summary", "--recipe", "xception-paper", "--scheme", "articleType", "--json"]) == 0
    out = capsys.readouterr().out
    assert json.loads(out) == {"total_params": 40810047, "trainable_params": 40755519, "non_trainable_params": 54528}


def test_summary_text_with_overrides(capsys):
    argv = ["model", "summary", "--recipe", "xception-multihead", "--image-size", "71",
            "--classes", "articleType=5", "--classes", "subCategory=4"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "gender_master 12, subCategory 4, articleType 5 classes at 71 x 71" in out
    assert 'Model: "xception_multihead"' in out and "(Functional)" in out  # Keras' own summary table
    assert "Non-trainable params: 54,528" in out


def test_summary_errors(capsys):
    assert main(["model", "summary", "--recipe", "xception-paper"]) == 2
    assert "pass --scheme" in capsys.readouterr().err
    assert main(["model", "summary", "--recipe", "xception-paper", "--scheme", "baseColour"]) == 2
    assert "pass --classes N" in capsys.readouterr().err
    assert main(["model", "summary", "--recipe", "no-such", "--scheme", "articleType"]) == 2
    assert "known recipes" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["model"])


def test_recipes_command(capsys):
    assert main(["model", "recipes"]) == 0
    out = capsys.readouterr().out
    assert "xception-paper" in out and "xception-multihead" in out
    assert main(["model", "recipes", "--json"]) == 0
    names = [r["name"] for r in json.loads(capsys.readouterr().out)]
    assert {"xception-paper", "xception-multihead"} <= set(names)


def test_help_does_not_import_keras():
    code = ("import sys; from fashion_review.cli import build_parser; build_parser(); "
            "import fashion_review.modeling; "
            "bad = [m for m in ('keras', 'tensorflow', 'torch') if m in sys.modules]; "
            "assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
