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
    named = colour.load_references(colour.NAMED_FILE)
    assert set(refs.names) == set(named.names) and len(named.names) >= 40  # every name, none lost
    assert all(s for s in refs.sources) and refs.counts is not None
    assert {"Black", "White", "Blue", "Navy Blue"} <= set(refs.names)
    per_name = pd.Series(refs.names).value_counts()
    assert per_name.max() <= colour.PROTOTYPES and per_name["Blue"] >= 2
    # the prior is per name: every reference of a name carries the same product count
    counts = pd.DataFrame({"name": refs.names, "n": refs.counts}).groupby("name")["n"].nunique()
    assert (counts == 1).all()


def _lab(rgb) -> np.ndarray:
    return colour.srgb_to_lab(np.array(rgb, np.uint8))


def test_prototypes_keep_a_pale_and_a_dark_blue_apart():
    """Half the "Blue" products are pale shirts, half dark jeans: one median lies between them and the
    pale ones are named White; a reference per mode names both Blue."""
    pale, dark, white, black = (175, 200, 235), (20, 40, 120), (250, 250, 250), (10, 10, 10)

    def palettes(c, n):  # the product's colour, then two white minor colours
        return np.stack([np.stack([_lab(c), _lab(white), _lab(white)])] * n)

    lab = np.concatenate([palettes(pale, 100), palettes(dark, 100), palettes(white, 300), palettes(black, 300)])
    labels = np.array(["Blue"] * 200 + ["White"] * 300 + ["Black"] * 300, dtype=object)
    named = colour.load_references(colour.NAMED_FILE)
    queries = _lab([pale, dark])

    one, counts = colour.measure_references(lab, labels, named)
    assert [one.names[i] for i in one.nearest(queries)[0]] == ["White", "Blue"]
    two, _ = colour.measure_references(lab, labels, named, prototypes=2, prototype_min=150)
    blue = [i for i, n in enumerate(two.names) if n == "Blue"]
    assert len(blue) == 2 and counts["Blue"] == 200 and set(two.counts[blue]) == {200}
    assert [two.names[i] for i in two.nearest(queries)[0]] == ["Blue", "Blue"]
    assert sorted(two.names) == sorted(named.names + ["Blue"])  # White and Black: 300 but a single mode each
    assert "#1 of 2" in two.sources[blue[0]] and "#2 of 2" in two.sources[blue[1]]
    # below prototype_min a name keeps one reference
    few, _ = colour.measure_references(lab, labels, named, prototypes=2, prototype_min=201)
    assert few.names.count("Blue") == 1


def test_compute_palettes_does_not_depend_on_the_threads():
    rng = np.random.default_rng(3)
    fills = rng.integers(0, 230, (3 * colour.BATCH // 2, 3)).astype(np.uint8)
    images = np.stack([_product(f, inner=255 - f) for f in fills])
    rows = np.arange(len(images))[::-1]  # any order of rows
    one = colour.compute_palettes(images, rows, workers=1)
    two = colour.compute_palettes(images, rows, workers=2)
    assert np.array_equal(one[0], two[0]) and np.array_equal(one[1], two[1])
    assert colour.delta_e2000(one[0][:, 0], _lab(fills[rows])).max() < 1.0  # the larger colour, row by row


def test_the_outline_halo_is_not_a_palette_colour_and_a_thin_product_keeps_its_pixels(monkeypatch):
    img = _product((200, 20, 20))
    img[10, 10:50] = img[69, 10:50] = img[10:70, 10] = img[10:70, 49] = (228, 138, 138)  # half red, half white

    def pink_share(image):
        lab, share = colour.palettes(image[None])
        pink = colour.delta_e2000(lab[0], _lab([228, 138, 138])) < colour.delta_e2000(lab[0], _lab([200, 20, 20]))
        return share[0][pink].sum()

    assert pink_share(img) == 0  # the outline ring is gone: the palette is the red alone
    monkeypatch.setattr(colour, "ERODE", 0)
    assert pink_share(img) > 0.05  # without the erosion the halo takes a palette slot
    monkeypatch.undo()
    thin = np.full((80, 60, 3), 255, np.uint8)
    thin[5:75, 30:33] = (20, 20, 160)  # a strap three pixels wide: eroded, 1.5 % of the photo would be left
    lab_t, share_t = colour.palettes(thin[None])
    assert colour.delta_e2000(lab_t[0, 0], _lab([20, 20, 160])) < 1.0 and share_t[0, 0] > 0.95


def _two_names(rng, n, centre, spread):
    """n palettes of products whose colours scatter around ``centre`` (CIELAB), each palette that
    product's colour three times, slightly shaded."""
    product = np.asarray(centre, np.float32) + rng.normal(0, spread, (n, 1, 3))
    return (product + rng.normal(0, 1.0, (n, 3, 3))).astype(np.float32)


def test_learnt_references_win_back_a_name_the_medians_lose(tmp_path):
    """Navy palettes overlap Black's: the measured medians plus the prior name them all Black; GLVQ moves
    the boundary so that most navy products show Navy Blue again, Black products keep Black, and the
    learnt table written to CSV names every colour as in memory."""
    rng = np.random.default_rng(0)

    def sample(k):
        black = _two_names(rng, 600 * k, (14, 0, 0), 3)
        navy = _two_names(rng, 150 * k, (16, 1, -6), 3)
        return np.concatenate([black, navy]), np.array(["Black"] * 600 * k + ["Navy Blue"] * 150 * k, dtype=object)

    lab, labels = sample(1)
    test_lab, test_labels = sample(2)
    named = colour.load_references(colour.NAMED_FILE)
    measured, _ = colour.measure_references(lab, labels, named, prototypes=2)
    learnt = colour.learn_references(lab, labels, measured)

    def agreement(refs, name):
        names = np.asarray(refs.names, dtype=object)[refs.nearest(test_lab)[0]]
        m = test_labels == name
        return (names[m] == name).any(axis=1).mean()

    assert agreement(measured, "Navy Blue") < 0.1
    assert agreement(learnt, "Navy Blue") > 0.6 and agreement(learnt, "Black") > 0.95
    assert learnt.bias is not None and learnt.lightness_weight == colour.LIGHTNESS_WEIGHT
    path = tmp_path / "learnt.csv"
    colour.write_references(learnt, path, learnt.sources)
    back = colour.load_references(path)
    assert back.bias is not None and back.names == learnt.names
    assert np.array_equal(back.nearest(test_lab)[0], learnt.nearest(test_lab)[0])


def test_a_learnt_table_without_a_cost_on_every_row_is_refused(tmp_path):
    path = tmp_path / "broken.csv"
    path.write_text("baseColour,hex,products,L,a,b,cost,lightness_weight,source\n"
                    "Black,#000000,10,1,0,0,1.0,0.4,x\nWhite,#FFFFFF,10,99,0,0,,,y\n", encoding="utf-8")
    import pytest

    with pytest.raises(ValueError, match="cost on every row"):
        colour.load_references(path)


def test_a_grey_studio_backdrop_is_background_too_but_a_grey_product_on_white_stays():
    img = np.empty((80, 60, 3), np.uint8)
    img[:] = np.linspace(200, 222, 80).astype(np.uint8)[:, None, None]  # a grey gradient backdrop
    img[20:60, 15:45] = (200, 30, 30)  # a red sandal
    lab, share = colour.palettes(img[None])
    assert colour.delta_e2000(lab[0, 0], _lab([200, 30, 30])) < 1.0 and share[0, 0] > 0.95
    grey = _product((205, 205, 205))  # a grey product on a white studio: its colour is the product's
    lab_g, share_g = colour.palettes(grey[None])
    assert colour.delta_e2000(lab_g[0, 0], _lab([205, 205, 205])) < 1.0 and share_g[0, 0] > 0.95
