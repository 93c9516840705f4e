"""The confusion-matrix view: counts, clicks, toggles, and recomputation after corrections."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from PySide6.QtCore import QPoint, Qt

from fashion_review.gui.confusion import ConfusionMatrixView
from fashion_review.review import metrics
from fashion_review.review.predictions import Predictions

CLASSES = ["Flats", "Heels", "Sandals"]
IDS = np.array([11, 12, 13, 14, 15, 16, 17, 18])
GIVEN = ["Flats", "Flats", "Flats", "Heels", "Heels", "Sandals", "Sandals", "Heels"]
PRED = ["Flats", "Heels", "Heels", "Heels", "Flats", "Sandals", "Heels", "Heels"]
PARTS = ["test", "test", "train", "test", "test", "test", "test", "val"]


def _predictions(pred=PRED, ids=IDS, version="run-7"):
    probs = np.full((len(ids), len(CLASSES)), 0.1, dtype=np.float32)
    for i, c in enumerate(pred):
        probs[i, CLASSES.index(c)] = 0.8
    return Predictions(ids=np.asarray(ids, np.int64), classes={"articleType": list(CLASSES)},
                       probs={"articleType": probs}, model_version=version)


def _labels(given=GIVEN):
    return {"articleType": pd.Series(given, index=pd.Index(IDS, name="id"), dtype=object)}


def _splits():
    return {"articleType": pd.Series(PARTS, index=pd.Index(IDS, name="id"))}


@pytest.fixture
def view(qtbot):
    v = ConfusionMatrixView()
    qtbot.addWidget(v)
    v.resize(1000, 600)
    v.show()
    v.set_data(_predictions(), _labels(), _splits())
    return v


def test_counts_by_hand_on_the_test_part(view):
    assert view.scheme() == "articleType" and view.part() == "test"
    assert view.classes() == CLASSES
    # test part: ids 11 12 14 15 16 17
    np.testing.assert_array_equal(view.counts(), [[1, 1, 0], [1, 1, 0], [0, 1, 1]])
    assert "run-7" in view.model_label.text() and "6 products" in view.model_label.text()
    view.set_part("all")
    np.testing.assert_array_equal(view.counts(), metrics.confusion(GIVEN, PRED, CLASSES)[0])
    assert view.report.accuracy == pytest.approx(4 / 8)


def test_clicking_a_cell_emits_given_and_predicted_and_ids_match(view, qtbot):
    view.set_part("all")
    index = view.cell_index("Flats", "Heels")
    rect = view.matrix.visualRect(index)
    with qtbot.waitSignal(view.cell_clicked, timeout=2000) as blocker:
        qtbot.mouseClick(view.matrix.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert blocker.args == ["articleType", "Flats", "Heels"]
    ids = view.ids_in_cell("Flats", "Heels")
    assert ids.tolist() == metrics.cell_ids(IDS, GIVEN, PRED, "Flats", "Heels").tolist() == [12, 13]


def test_clicking_class_names_emits_class(view, qtbot):
    header = view.matrix.verticalHeader()
    y = header.sectionViewportPosition(2) + header.sectionSize(2) // 2
    with qtbot.waitSignal(view.class_clicked, timeout=2000) as blocker:
        qtbot.mouseClick(header.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(5, y))
    assert blocker.args == ["articleType", "Sandals"]
    hheader = view.matrix.horizontalHeader()
    x = hheader.sectionViewportPosition(1) + hheader.sectionSize(1) // 2
    with qtbot.waitSignal(view.class_clicked, timeout=2000) as blocker:
        qtbot.mouseClick(hheader.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(x, 10))
    assert blocker.args == ["articleType", "Heels"]
    rect = view.report_table.visualRect(view.report_model.index(0, 0))
    with qtbot.waitSignal(view.class_clicked, timeout=2000) as blocker:
        qtbot.mouseClick(view.report_table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert blocker.args == ["articleType", "Flats"]
    assert view.ids_of_class("Flats").tolist() == [11, 12]  # test part


def test_normalised_toggle_and_report_table(view):
    m = view.matrix_model
    assert m.data(view.cell_index("Sandals", "Heels")) == "1"
    view.set_normalised(True)
    assert m.data(view.cell_index("Sandals", "Heels")) == "50%"
    assert m.data(view.cell_index("Sandals", "Flats")) == ""
    rm = view.report_model
    assert rm.rowCount() == 3 + 3
    assert [rm.data(rm.index(2, c)) for c in range(5)] == ["Sandals", "1.000", "0.500", "0.667", "2"]
    assert rm.data(rm.index(3, 0)) == "accuracy"


def test_recomputes_after_a_correction(view):
    # a curator says 15 is really Flats (the model was right): Heels -> Flats moves to the diagonal
    given = list(GIVEN)
    given[4] = "Flats"
    view.set_data(_predictions(), _labels(given), _splits())
    assert view.part() == "test"
    np.testing.assert_array_equal(view.counts(), [[2, 1, 0], [0, 1, 0], [0, 1, 1]])
    # a new class the model does not know gets its own row (and column)
    given[0] = "Boots"
    view.set_data(_predictions(), _labels(given), _splits())
    assert view.classes() == [*CLASSES, "Boots"]
    assert view.counts()[3].tolist() == [1, 0, 0, 0]
    # ... but the table beside it counts what the header's accuracy counts: classes the model knows
    rm = view.report_model
    names = [rm.data(rm.index(r, 0)) for r in range(rm.rowCount())]
    assert "Boots" not in names and names[:3] == CLASSES
    acc = rm.data(rm.index(names.index("accuracy"), 3))
    assert view.scored.n_unknown == 1 and acc == f"{view.scored.accuracy:.3f}"
    assert "1 more in a class the model does not know" in view.model_label.text()


def test_no_predictions(qtbot):
    v = ConfusionMatrixView()
    qtbot.addWidget(v)
    v.set_data(None, _labels())
    assert v.classes() == [] and v.report is None and "No model" in v.model_label.text()
    assert v.matrix_model.rowCount() == 0


def test_set_dataset_on_the_sample(qtbot, sample_dir):
    from fashion_review.data import open_dataset

    ds = open_dataset(sample_dir)
    try:
        eff = ds.effective()
        usable = ds.usable("articleType", effective=eff)
        classes = sorted(usable.unique())
        rng = np.random.default_rng(0)
        ids = usable.index.to_numpy()
        probs = rng.random((len(ids), len(classes))).astype(np.float32)
        pred = Predictions(ids=ids, classes={"articleType": classes}, probs={"articleType": probs}, model_version="r1")
        v = ConfusionMatrixView()
        qtbot.addWidget(v)
        v.set_dataset(ds, pred, effective=eff)
        v.set_part("all")
        assert v.counts().sum() == len(usable)
        assert v.classes() == classes
        pid = int(ids[0])
        old = usable.loc[pid]
        new = next(c for c in classes if c != old)
        relabel(ds, pid, "articleType", new)
        v.set_dataset(ds, pred)
        assert v.counts().sum() == len(usable)
        assert v.counts()[classes.index(new)].sum() == int((usable == new).sum()) + 1
    finally:
        ds.close()


def relabel(ds, pid: int, scheme: str, label: str) -> int:
    """Record a curator's correction of ``pid`` to ``label`` (the old values from the effective catalog)."""
    from fashion_review.data.corrections import Change
    from fashion_review.data.schemes import fields_for_label

    eff = ds.effective()
    changes = [Change(pid, f, str(eff.at[pid, f]), v) for f, v in fields_for_label(scheme, label).items()]
    return ds.store.record(changes, author="test")


def test_one_split_for_every_scheme(view):
    split = _splits()["articleType"]
    view.set_data(_predictions(), _labels(), split)
    assert view.part() == "test" and view.counts().sum() == 6


def test_set_dataset_takes_the_models_own_parts(qtbot, sample_dir):
    """The view's "test" is what the shown model never saw: its run's split.csv, found in the registry
    by the predictions' model version, not the data set's stored split of each scheme."""
    from _gui_helpers import write_active_run

    from fashion_review.data import open_dataset

    ds = open_dataset(sample_dir)
    try:
        own = ds.split("gender_master")  # what a multihead run records: one part per product
        article = ds.split("articleType")
        common = article.index.intersection(own.index)
        assert (own.loc[common] != article.loc[common]).any()  # the two splits really differ
        pred = write_active_run("own-run", split=own)
        v = ConfusionMatrixView()
        qtbot.addWidget(v)
        v.set_dataset(ds, pred)
        v.set_scheme("articleType")
        v.set_part("test")
        usable = ds.usable("articleType")
        expected = usable.index.intersection(own.index[own == "test"])
        assert int(v.counts().sum()) == len(expected) != len(usable.index.intersection(article.index[article == "test"]))
        assert "the model's test part" in v.model_label.text()
        # a model the registry does not know has no split file: the stored split, and the view says so
        stranger = Predictions(ids=pred.ids, classes=pred.classes, probs=pred.probs, model_version="not-a-run")
        v.set_dataset(ds, stranger)
        v.set_scheme("articleType")
        assert int(v.counts().sum()) == len(usable.index.intersection(article.index[article == "test"]))
        assert "the stored split's test part" in v.model_label.text() and "no split file" in v.model_label.text()
    finally:
        ds.close()


def test_an_empty_part_says_so_instead_of_a_report_of_zeros(view):
    """A model trained without any of these products (the reference model on the bundled sample: its
    split says "test" for all of them), the Products box set to Train: the view showed an empty matrix
    beside a report of 0.000 for every class, as if the model got every class wrong."""
    view.set_data(_predictions(), _labels(), {"articleType": pd.Series("test", index=pd.Index(IDS, name="id"))})
    box = view.part_combo
    box.setCurrentIndex(box.findData("train"))  # as the user picks "Train" in the Products box
    assert view.part() == "train" and view.counts().sum() == 0
    assert view.report_model.rowCount() == 0
    text = view.model_label.text()
    assert "train part holds none of this catalog's products with a usable articleType label" in text
    assert "Choose Test or All usable products." in text
    box.setCurrentIndex(box.findData("test"))
    assert view.report_model.rowCount() > 0 and "accuracy" in view.model_label.text()


def test_enter_on_the_class_table_opens_that_class(view, qtbot):
    view.report_table.setFocus()
    view.report_table.setCurrentIndex(view.report_model.index(1, 0))
    with qtbot.waitSignal(view.class_clicked, timeout=2000) as got:
        qtbot.keyClick(view.report_table, Qt.Key.Key_Return)
    assert got.args == ["articleType", view.report_model.class_at(1)]
