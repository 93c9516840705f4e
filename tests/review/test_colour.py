"""Palettes on synthetic photos of known colours on a white studio background."""

from __future__ import annotations

import numpy as np
import pandas as pd

from fashion_review.review import colour


def _product(fill, inner=None, size=(80, 60)) -> np.ndarray:
    """A white photo with a filled rectangle (and an inner rectangle of another colour)."""
    img = np.full((*size, 3), 255, np.uint8)
    img[10:70, 10:50] = fill
    if inner is not None:
        img[30:50, 20:40] = inner
    return img


def test_lab_and_ciede2000_known_values():
    assert np.allclose(colour.srgb_to_lab(np.array([255, 255, 255])), [100, 0, 0], atol=0.05)
    assert np.allclose(colour.srgb_to_lab(np.array([0, 0, 0])), [0, 0, 0], atol=0.05)
    # Sharma, Wu & Dalal (2005), test pair 1.
    assert abs(float(colour.delta_e2000(np.array([50, 2.6772, -79.7751]), np.array([50, 0, -82.7485]))) - 2.0425) < 1e-3
    rgb = np.array([[200, 30, 40], [10, 200, 90]], np.uint8)
    assert np.abs(colour.lab_to_srgb(colour.srgb_to_lab(rgb)).astype(int) - rgb).max() <= 1


def test_one_colour_on_white():
    fills = np.array([[240, 5, 5], [5, 5, 230]], np.uint8)
    lab, share = colour.palettes(np.stack([_product(fills[0]), _product(fills[1])]))
    assert colour.delta_e2000(lab[:, 0], colour.srgb_to_lab(fills)).max() < 1.0  # the painted colour
    refs = colour.load_references(colour.NAMED_FILE)
    idx, _ = refs.nearest(lab[:, 0])
    assert [refs.names[i] for i in idx] == ["Red", "Blue"]
    assert share[:, 0].min() > 0.95  # the background is gone: the product is all there is


def test_flood_fill_keeps_white_inside_the_product_threshold_does_not():
    img = _product((10, 10, 10), inner=(255, 255, 255))  # a black T-shirt with a white print
    lab, share = colour.palettes(img[None], background="flood")
    assert lab[0, :, 0].max() > 95 and 0.1 < share[0][np.argmax(lab[0, :, 0])] < 0.3  # white ~1/6
    lab_t, share_t = colour.palettes(img[None], background="threshold")
    assert (share_t[0][lab_t[0, :, 0] > 95] < 0.01).all()


def test_white_product_on_white_is_still_white():
    img = np.full((80, 60, 3), 255, np.uint8)
    img[10:70, 10:50] = 246  # an off-white shirt barely darker than the background
    img[10, 10:50] = img[69, 10:50] = 200  # its outline
    lab, share = colour.palettes(img[None])
    assert lab[0, 0, 0] > 90


def test_suggestions_flag_a_label_the_palette_lacks():
    imgs = np.stack([_product((240, 5, 5)), _product((240, 5, 5))])
    lab, share = colour.palettes(imgs)
    pal = colour.Palettes(np.array([1, 2]), lab, share, {})
    refs = colour.load_references(colour.NAMED_FILE)
    out = colour.colour_suggestions(pal, pd.Series({1: "Red", 2: "Green"}), refs).set_index("id")
    assert not out.at[1, "is_colour_issue"] and out.at[1, "colour_score"] > 0.9
    assert out.at[2, "is_colour_issue"] and out.at[2, "colour_score"] == 0 and out.at[2, "suggested"] == "Red"
    assert "none is Green" in out.at[2, "reason"]


def test_reference_table_has_a_source_per_vocabulary_colour():
    refs = colour.load_references()
    assert len(refs.names) == len(set(refs.names)) >= 40
    assert all(s for s in refs.sources) and refs.counts is not None
    assert {"Black", "White", "Blue", "Navy Blue"} <= set(refs.names)
