"""The correction rules, headless (review/editing.py): what the app's keys and the CLI record."""

from __future__ import annotations

import pandas as pd
import pytest

from fashion_review.data.corrections import EXCLUDED, Change
from fashion_review.errors import DataError
from fashion_review.review import editing


def _effective() -> pd.DataFrame:
    df = pd.DataFrame({"gender": ["Men", "Women", "Men"], "masterCategory": ["Apparel", "Apparel", "Footwear"],
                       "articleType": ["Shirts", "Tops", ""]}, index=pd.Index([11, 12, 13], name="id"))
    df[EXCLUDED] = [False, True, False]
    return df


def test_each_product_takes_its_own_label_and_only_changed_fields_are_recorded():
    eff = _effective()
    changes = editing.label_changes_each(eff, {11: "Tshirts", 12: "Tops", 13: ""}, "articleType")
    assert changes == [Change(11, "articleType", "Shirts", "Tshirts")]  # 12 is so already, 13 has no label to set
    two = editing.label_changes_each(eff, {11: "Women Apparel", 13: "Men Apparel"}, "gender_master")
    assert two == [Change(11, "gender", "Men", "Women"), Change(13, "masterCategory", "Footwear", "Apparel")]
    assert editing.label_changes(eff, [11, 12], "articleType", "Tops") == [Change(11, "articleType", "Shirts", "Tops")]


def test_bad_ids_and_labels_are_refused():
    eff = _effective()
    with pytest.raises(DataError, match="no product with id 99"):
        editing.label_changes_each(eff, {99: "Tops"}, "articleType")
    with pytest.raises(DataError, match="not a gender_master label"):
        editing.label_changes_each(eff, {11: "Apparel"}, "gender_master")


def test_exclusion_toggles_as_the_x_key_does():
    eff = _effective()
    assert editing.exclusion_changes(eff, [11, 12]) == [Change(11, EXCLUDED, "false", "true")]  # not all excluded
    assert editing.exclusion_changes(eff, [12]) == [Change(12, EXCLUDED, "true", "false")]  # all excluded: include
    assert editing.exclusion_changes(eff, [11, 12], excluded=True) == [Change(11, EXCLUDED, "false", "true")]
