"""Recipes: the shipped ones load, and every mistake in a file is named with its file and key."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from fashion_review.errors import ModelError
from fashion_review.modeling.recipes import Head, Recipe, list_recipes, load_recipe
from fashion_review.paths import RECIPES_DIR

PAPER_FILE = RECIPES_DIR / "xception-paper.toml"


def test_shipped_recipes_are_listed_and_valid():
    names = list_recipes()
    assert {"xception-paper", "xception-multihead"} <= set(names)
    for name in names:
        recipe = load_recipe(name)
        assert recipe.name == name
        assert recipe.description
        assert (RECIPES_DIR / "README.md").read_text().count(f"`{name}`") >= 1, f"{name} has no model card"


def test_paper_recipe_is_the_papers_model(paper_recipe):
    r = paper_recipe
    assert (r.kind, r.backbone, r.image_size) == ("single", "xception", 96)
    assert r.schemes == ("gender_master", "subCategory", "articleType")
    assert r.head == Head(units=(1024, 1024), dropout=0.5, pooling="flatten")
    assert (r.loss, r.optimizer, r.learning_rate) == ("categorical_crossentropy", "adam", 1e-4)
    assert (r.batch_size, r.epochs, r.augmentation) == (32, 10, ())
    assert not r.sparse_labels


def test_multihead_recipe(multihead_recipe):
    r = multihead_recipe
    assert r.multihead and r.sparse_labels
    assert r.schemes == ("gender_master", "subCategory", "articleType")
    assert r.augmentation == ("horizontal_flip",)


def test_load_by_path_and_round_trip(tmp_path, paper_recipe):
    copy = tmp_path / "mine.toml"
    copy.write_text(PAPER_FILE.read_text())
    r = load_recipe(copy)
    assert r == paper_recipe and r.source == copy
    assert Recipe.from_dict(r.to_dict()) == r
    quick = r.replace(epochs=1, image_size=71)
    assert (quick.epochs, quick.image_size, quick.name) == (1, 71, r.name)
    with pytest.raises(ModelError, match=r"'epochs' must be an integer >= 1"):
        r.replace(epochs=0)


def _edited(tmp_path: Path, edit) -> Path:  # noqa: ANN001
    text = edit(PAPER_FILE.read_text())
    path = tmp_path / "broken.toml"
    path.write_text(text)
    return path


def _set(key: str, value: str):  # noqa: ANN202
    return lambda text: re.sub(rf"(?m)^{key} = .*$", f"{key} = {value}", text, count=1)


def _drop(key: str):  # noqa: ANN202
    return lambda text: re.sub(rf"(?m)^{key} = .*$\n", "", text, count=1)


@pytest.mark.parametrize(
    ("edit", "key", "message"),
    [
        (_drop("image_size"), "image_size", "missing key"),
        (_set("image_size", "64"), "image_size", "integer >= 71"),
        (_set("image_size", '"96"'), "image_size", "integer >= 71"),
        (_set("kind", '"ensemble"'), "kind", "one of 'single', 'multihead'"),
        (_set("backbone", '"resnet50"'), "backbone", "one of 'xception'"),
        (_set("schemes", '["articleType", "colour"]'), "schemes", "unknown entry 'colour'"),
        (_set("schemes", "[]"), "schemes", "must not be empty"),
        (_set("augmentation", '["rotate"]'), "augmentation", "unknown entry 'rotate'"),
        (_set("learning_rate", "0"), "learning_rate", "number in (0.0"),
        (_set("batch_size", "true"), "batch_size", "integer >= 1"),
        (_set("optimizer", '"sgd"'), "optimizer", "one of 'adam'"),
        (_set("mixed_precision", '"always"'), "mixed_precision", "one of 'auto', 'off'"),
        (_set("dropout", "1.0"), "head.dropout", "number in [0.0, 1.0)"),
        (_set("units", "[]"), "head.units", "non-empty list of positive integers"),
        (_set("pooling", '"max"'), "head.pooling", "one of 'flatten', 'avg'"),
        (lambda t: t + "\nepoch = 3\n", "head.epoch", "is not a recipe key"),
        (lambda t: t.replace("[head]", "learnig_rate = 1\n[head]"), "learnig_rate", "is not a recipe key"),
        (lambda t: t.replace('kind = "single"', 'kind = "multihead"'), "loss", "sparse_categorical_crossentropy"),
    ],
)
def test_validation_errors_name_file_and_key(tmp_path, edit, key, message):
    path = _edited(tmp_path, edit)
    with pytest.raises(ModelError) as info:
        load_recipe(path)
    text = str(info.value)
    assert str(path) in text
    assert f"'{key}'" in text
    assert message in text


def test_loss_weights_of_a_multihead_recipe(multihead_recipe, paper_recipe):
    r = multihead_recipe.replace(loss_weights={"subCategory": 2.0})
    assert r.loss_weights == (("subCategory", 2.0),)
    assert Recipe.from_dict(r.to_dict()) == r
    assert multihead_recipe.loss_weights == ()
    with pytest.raises(ModelError, match=r"'loss_weights.colour' is not a recipe key"):
        multihead_recipe.replace(loss_weights={"colour": 2.0})
    with pytest.raises(ModelError, match=r"'loss_weights.subCategory' must be a number in \(0.0"):
        multihead_recipe.replace(loss_weights={"subCategory": 0})
    with pytest.raises(ModelError, match=r"'loss_weights' is only for a multihead recipe"):
        paper_recipe.replace(loss_weights={"articleType": 2.0})


def test_invalid_toml_and_unknown_names(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "x"\nkind = \n')
    with pytest.raises(ModelError, match=rf"{re.escape(str(bad))}: not valid TOML"):
        load_recipe(bad)
    with pytest.raises(ModelError, match=r"recipe 'no-such-recipe' .* not found; known recipes: .*xception-paper"):
        load_recipe("no-such-recipe")
    with pytest.raises(ModelError, match="not found"):
        load_recipe(tmp_path / "missing.toml")


def test_recipe_is_frozen(paper_recipe):
    with pytest.raises(AttributeError):
        paper_recipe.epochs = 3  # type: ignore[misc]


def test_name_defaults_to_file_stem(tmp_path):
    data = tomllib.loads(PAPER_FILE.read_text())
    del data["name"]
    path = tmp_path / "my-variant.toml"
    path.write_text(PAPER_FILE.read_text().replace('name = "xception-paper"\n', ""))
    assert load_recipe(path).name == "my-variant"
    assert Recipe.from_dict(data, source=path).name == "my-variant"
