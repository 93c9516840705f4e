"""Models shared by the modeling tests: each Xception is built once per test session.

Image size 71 (Xception's minimum) keeps them fast; only the parameter-count test builds the
paper's 96 x 96 model.  Tests that change weights build their own.
"""

from __future__ import annotations

import numpy as np
import pytest

SMALL = 71
MULTIHEAD_CLASSES = {"gender_master": 12, "subCategory": 15, "articleType": 23}


@pytest.fixture(scope="session")
def paper_recipe():
    from fashion_review.modeling import load_recipe

    return load_recipe("xception-paper")


@pytest.fixture(scope="session")
def multihead_recipe():
    from fashion_review.modeling import load_recipe

    return load_recipe("xception-multihead")


@pytest.fixture(scope="session")
def small_paper_model(paper_recipe):
    from fashion_review.modeling import make_model

    return make_model(paper_recipe, 5, scheme="articleType", image_size=SMALL)


@pytest.fixture(scope="session")
def small_multihead_model(multihead_recipe):
    from fashion_review.modeling import make_model

    return make_model(multihead_recipe, MULTIHEAD_CLASSES, image_size=SMALL)


@pytest.fixture
def uint8_batch():
    rng = np.random.default_rng(7)
    return rng.integers(0, 256, size=(2, 80, 60, 3), dtype=np.uint8)
