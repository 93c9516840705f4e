"""Similar products, duplicate photos and colour palettes in the app (views over ``review.similar``,
``review.duplicates`` and ``review.colour``).

:func:`install` adds to the window, in one call:

* the detail panel's **Similar products** strip (thumbnails of the nearest products by the active
  model's embeddings; click one to jump to it) and its **Photo** section (the three-colour palette
  as swatches with names and shares, whether it agrees with ``baseColour``, and the product's
  duplicate-photo group as thumbnails);
* **Review > Show similar** (S, and the grid's and table's context menu): the grid filtered to the
  product and its nearest products, nearest first;
* the filter bar's **Duplicates** and **Colour ≠ baseColour** filters: the catalog-wide work
  (duplicates, palettes) runs in a worker the first time a filter asks for it and its result
  becomes review-table columns the filter reads.

No Keras: the vectors are read from the model's files.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from PySide6.QtCore import QObject, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QIcon, QPixmap
from PySide6.QtWidgets import (
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from fashion_review.gui.workers import SingleJob, Worker
from fashion_review.review.filtering import COLOUR_DISAGREES, DUPLICATE_GROUP, Filter
from fashion_review.review.table import col

STRIP_K = 10  # thumbnails in the detail panel
SHOW_K = 48  # products "Show similar" puts in the grid besides the product itself
THUMB = QSize(45, 60)


class ThumbStrip(QWidget):
    """A few product thumbnails in rows of five; clicking one emits :attr:`activated` (its id)."""

    activated = Signal(int)

    def __init__(self, thumbs, per_row: int = 5, parent: QWidget | None = None) -> None:  # noqa: ANN001
        super().__init__(parent)
        self.thumbs = thumbs  # gui.thumbnails.Thumbnails
        self.per_row = per_row
        self.ids: list[int] = []
        self.buttons: list[QToolButton] = []
        self._grid = QGridLayout(self)
        self._grid.setContentsMargins(0, 0, 0, 0)
        self._grid.setSpacing(3)

    def set_products(self, ids: list[int], tips: list[str]) -> None:
        if [int(i) for i in ids] == self.ids and tips == [b.toolTip() for b in self.buttons]:
            self.refresh()  # the same products (the panel shown again): no new buttons waiting for thumbnails
            return
        for b in self.buttons:
            b.deleteLater()
        self.buttons, self.ids = [], [int(i) for i in ids]
        for k, (pid, tip) in enumerate(zip(self.ids, tips)):
            b = QToolButton()
            b.setIconSize(THUMB)
            b.setFixedSize(THUMB + QSize(6, 6))
            b.setToolTip(tip)
            b.setAutoRaise(True)
            b.clicked.connect(lambda _=False, pid=pid: self.activated.emit(pid))
            self._grid.addWidget(b, k // self.per_row, k % self.per_row)
            self.buttons.append(b)
        self.refresh()

    def refresh(self, _ids=None) -> None:  # noqa: ANN001
        for pid, b in zip(self.ids, self.buttons):
            pm = self.thumbs.get(pid)
            if isinstance(pm, QPixmap) and not pm.isNull():
                b.setIcon(QIcon(pm))
            else:
                b.setText("…" if pm is None else "no image")


def _swatch(rgb: np.ndarray, text: str) -> QLabel:
    r, g, b = (int(v) for v in rgb)
    fg = "#000" if 0.299 * r + 0.587 * g + 0.114 * b > 140 else "#fff"
    lab = QLabel(text)
    lab.setAlignment(Qt.AlignmentFlag.AlignCenter)
    lab.setMinimumHeight(34)
    lab.setWordWrap(True)
    lab.setStyleSheet(f"background: rgb({r},{g},{b}); color: {fg}; border: 1px solid #bbb; border-radius: 4px;"
                      " padding: 2px;")
    return lab


def _predictions_key(pred) -> str:  # noqa: ANN001 - review.predictions.Predictions
    """Which predictions a similar-products index was built from."""
    return pred.model_version or str(id(pred))


def _build_index(ds, run, predictions, effective):  # noqa: ANN001, ANN202
    from fashion_review.review.similar import build_index

    return build_index(ds, run, predictions=predictions, effective=effective)


def _find_duplicates(ds, run, predictions, task=None):  # noqa: ANN001, ANN202
    from fashion_review.review.duplicates import find_duplicates
    from fashion_review.review.similar import NoEmbeddings, load_vectors

    try:
        emb = load_vectors(run, ds.home, predictions=predictions) if (run or predictions) else None
    except (NoEmbeddings, ValueError):
        emb = None
    return find_duplicates(ds, emb, task=task)


def _palettes(ds, task=None):  # noqa: ANN001, ANN202
    from fashion_review.review.colour import ensure_palettes

    return ensure_palettes(ds, task)


class Lookalikes(QObject):
    """The similar-products, duplicates and colour features of one window (see the module docstring)."""

    #: The similar-products index of the shown model is ready.
    index_ready = Signal()
    #: The catalog-wide duplicates / palettes are known (and the filters can use them).
    duplicates_ready = Signal()
    palettes_ready = Signal()

    def __init__(self, window) -> None:  # noqa: ANN001 - gui.main_window.MainWindow
        super().__init__(window)
        self.w = window
        self.index = None
        self.duplicates = None
        self.palettes = None
        self._refs = None
        self._pending_show: int | None = None
        self._jobs = {name: SingleJob(self) for name in ("index", "duplicates", "palettes")}
        self._index_key: str | None = None
        self._failed_key: str | None = None  # the predictions whose index could not be built

        # Detail panel sections.
        self.similar_box = QGroupBox("Similar products")
        v = QVBoxLayout(self.similar_box)
        v.setContentsMargins(8, 6, 8, 8)
        self.similar_note = QLabel("")
        self.similar_note.setWordWrap(True)
        self.similar_note.setStyleSheet("color: #666;")
        self.strip = ThumbStrip(window.thumbs)
        v.addWidget(self.similar_note)
        v.addWidget(self.strip)
        self.photo_box = QGroupBox("Photo: colours and duplicates")
        pv = QVBoxLayout(self.photo_box)
        pv.setContentsMargins(8, 6, 8, 8)
        self.swatches = QHBoxLayout()
        self.swatches.setSpacing(4)
        pv.addLayout(self.swatches)
        self.colour_note = QLabel("")
        self.colour_note.setWordWrap(True)
        self.dup_note = QLabel("")
        self.dup_note.setWordWrap(True)
        self.find_dups = QPushButton("Find duplicate photos")
        self.find_dups.setToolTip("Hash every photo of the catalog (in the background, once) to find identical "
                                  "and near-identical ones")
        self.dup_strip = ThumbStrip(window.thumbs)
        pv.addWidget(self.colour_note)
        pv.addWidget(self.dup_note)
        pv.addWidget(self.find_dups)
        pv.addWidget(self.dup_strip)
        window.detail.add_section(self.similar_box)
        window.detail.add_section(self.photo_box)

        # Show similar: Review menu, key S, the views' context menus.
        self.act_similar = window.action_table.add(
            "similar", "Show si&milar", self.show_similar, ["S"],
            "Show this product's most similar products in the grid, nearest first", menu="&Review", separator=True)
        for view in (window.grid, window.table_view):
            view.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)
            view.addAction(self.act_similar)

        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(0)
        self._timer.timeout.connect(self.update_sections)
        # the panel's product, not the selection's current index: a filter that leaves no product changes no
        # current index, and the strip kept the last product's look-alikes under "No product selected".
        # The panel shows its product again after every correction and new predictions: so do these.
        window.detail.product_shown.connect(lambda _pid: self._timer.start())
        window.loaded.connect(self._on_loaded)
        window.filter_bar.changed.connect(self._on_filter)
        window.thumbs.loaded.connect(self.strip.refresh)
        window.thumbs.loaded.connect(self.dup_strip.refresh)
        self.strip.activated.connect(self.jump_to)
        self.dup_strip.activated.connect(self.jump_to)
        self.find_dups.clicked.connect(self.find_duplicates)

    # -- state --------------------------------------------------------------------------

    def _on_loaded(self) -> None:
        """A new data set (or model): what was computed for the old one no longer holds."""
        for job in self._jobs.values():
            job.cancel()
        for key in ("duplicates", "palettes"):
            self.w.filter_bar.set_waiting(key, None)
        self.index = self.duplicates = self.palettes = None
        self._index_key = None
        self._on_filter(self.w.filter_bar.filter())
        self._timer.start()

    def _model(self):  # noqa: ANN202 - (run or stand-in, predictions) of the predictions shown
        s = self.w.session
        if s is None or s.table.predictions is None:
            return None, None
        pred = s.table.predictions
        run = s.run if s.run is not None else None
        return run, pred

    @property
    def busy(self) -> bool:
        """The similar-products index, the duplicate groups or the palettes are being computed, or the
        panel is about to show them (what the screenshot mode waits for)."""
        if any(job.busy for job in self._jobs.values()) or self._timer.isActive():
            return True
        if any(self.w.thumbs.get(pid) is None for pid in self.strip.ids):  # the strip's thumbnails on their way
            return True  # (a first open's screenshot showed "…" for each: the index came last, its thumbnails after)
        # an index asked for (by the detail panel of a current product) that is neither built nor failed: a
        # result on its way, even once its job has ended with the result still queued. An index nobody asked
        # for is not awaited (a window opened on the Label issues view never asks: its screenshot waited forever).
        _, pred = self._model()
        key = None if pred is None else _predictions_key(pred)
        return key is not None and key == self._index_key and key != self._failed_key and self.index is None

    def _ensure_index(self) -> bool:
        """True when the index of the predictions shown is ready; else starts building it."""
        run, pred = self._model()
        if pred is None:
            return False
        key = _predictions_key(pred)
        if self.index is not None and self._index_key == key:
            return True
        if self._jobs["index"].busy and self._index_key == key:
            return False
        self._index_key = key
        self.index = None
        s = self.w.session
        worker = Worker(_build_index, s.ds, run, pred, s.table.effective.copy(), task_arg=None)
        self.w.jobs.start(s, worker, name="similar products", job=self._jobs["index"],
                          result=lambda index, key=key: self._on_index(key, index),
                          errored=lambda msg, _tb, key=key: self._index_failed(key, msg))
        return False

    def _index_failed(self, key: str, msg: str) -> None:
        self._failed_key = key
        self._note_similar(f"No similar products: {msg}")

    def _on_index(self, key: str, index) -> None:  # noqa: ANN001
        if key != self._index_key:
            return
        self.index = index
        self.index_ready.emit()
        if self._pending_show is not None:
            pid, self._pending_show = self._pending_show, None
            self.show_similar(pid=pid)
        self._timer.start()

    def find_duplicates(self) -> None:
        s = self.w.session
        if s is None or self._jobs["duplicates"].busy:
            return
        run, pred = self._model()
        worker = Worker(_find_duplicates, s.ds, run, pred)
        worker.signals.finished.connect(self.w.progress.hide)
        self.w.progress.show()
        self.w.statusBar().showMessage("Finding duplicate photos …")
        self.dup_note.setText("Finding duplicate photos …")
        self.w.jobs.start(s, worker, name="duplicates", job=self._jobs["duplicates"],
                          result=lambda d, s=s: self._on_duplicates(s, d),
                          errored=lambda msg, _tb: self._failed("duplicates", "Finding duplicates failed", msg),
                          progress=self.w.on_job_progress)

    def _failed(self, key: str, title: str, message: str) -> None:
        self.w.filter_bar.set_waiting(key, None)
        self.w.error(title, message)

    def _on_duplicates(self, session, dups) -> None:  # noqa: ANN001 - only while ``session`` is shown (jobs.guard)
        self.w.filter_bar.set_waiting("duplicates", None)
        self.duplicates = dups
        frame = session.table.frame
        frame[DUPLICATE_GROUP] = dups.near.reindex(frame.index).fillna(-1).astype(np.int64).to_numpy()
        sm = dups.summary()
        self.w.statusBar().showMessage(
            f"Duplicate photos: {sm['near']['groups']:,} groups, {sm['near']['products']:,} products "
            f"({sm['exact']['groups']:,} groups of identical photos)", 8000)
        self._after_columns()
        self.duplicates_ready.emit()

    def compute_palettes(self) -> None:
        s = self.w.session
        if s is None or self._jobs["palettes"].busy:
            return
        worker = Worker(_palettes, s.ds)
        worker.signals.finished.connect(self.w.progress.hide)
        self.w.progress.show()
        self.w.statusBar().showMessage("Computing the colour palettes …")
        self.w.jobs.start(s, worker, name="colour palettes", job=self._jobs["palettes"],
                          result=lambda p, s=s: self._on_palettes(s, p),
                          errored=lambda msg, _tb: self._failed("palettes", "Colour palettes failed", msg),
                          progress=self.w.on_job_progress)

    def _on_palettes(self, session, pal) -> None:  # noqa: ANN001 - only while ``session`` is shown (jobs.guard)
        self.w.filter_bar.set_waiting("palettes", None)
        self.palettes = pal
        self._set_colour_column()
        self.w.statusBar().showMessage(f"Colour palettes of {len(pal.ids):,} photos", 6000)
        self._after_columns()
        self.palettes_ready.emit()

    def _set_colour_column(self) -> None:
        from fashion_review.review.colour import colour_suggestions

        table = self.w.session.table
        given = pd.Series(table.frame[col("given", "baseColour")].to_numpy(dtype=object), index=table.frame.index)
        sugg = colour_suggestions(self.palettes, given, self._references())
        flag = pd.Series(sugg["is_colour_issue"].to_numpy(), index=sugg["id"].to_numpy())
        table.frame[COLOUR_DISAGREES] = flag.reindex(table.frame.index).fillna(False).astype(bool).to_numpy()

    def _after_columns(self) -> None:
        """New review-table columns: the model reads them again, the filter is applied again."""
        self.w.model.refresh()
        self.w.refilter()
        self._timer.start()

    def _references(self):  # noqa: ANN202
        if self._refs is None:
            from fashion_review.review.colour import load_references

            self._refs = load_references()
        return self._refs

    def _on_filter(self, flt: Filter) -> None:
        if self.w.session is None:
            return
        if flt.duplicates and self.duplicates is None:
            self.find_duplicates()
            self.w.filter_bar.set_waiting("duplicates", "finding duplicate photos …")
        if flt.colour_disagrees and self.palettes is None:
            self.compute_palettes()
            self.w.filter_bar.set_waiting("palettes", "computing colour palettes …")

    # -- the detail panel ---------------------------------------------------------------

    def _note_similar(self, text: str, tip: str = "") -> None:
        self.similar_note.setText(text)
        self.similar_box.setToolTip(tip)  # the note and the strip show their box's tooltip
        self.similar_note.show()

    def update_sections(self) -> None:
        pid = self.w.current_pid()
        if self.w.session is None or pid is None:
            self.strip.set_products([], [])
            self._note_similar("")
            self._clear_swatches()
            return
        self._update_similar(pid)
        self._update_photo(pid)

    def _tip(self, pid: int, extra: str = "") -> str:
        f = self.w.session.table.frame
        name = str(f.at[pid, "name"]) if pid in f.index else ""
        return f"{pid} {name}{extra}"

    def _update_similar(self, pid: int) -> None:
        if not self._ensure_index():
            self.strip.set_products([], [])
            run, pred = self._model()
            self._note_similar("No model predictions: similar products come from a model's embeddings."
                               if pred is None else "Finding similar products …")
            return
        if pid not in self.index:
            self.strip.set_products([], [])
            self._note_similar("This product has no embedding (no image, or not predicted).")
            return
        nbs = self.index.query(pid, STRIP_K)
        self.strip.set_products([n.id for n in nbs], [self._tip(n.id, f"\nsimilarity {n.similarity:.2f}")
                                                      for n in nbs])
        # One short line: the thumbnails need the panel's height more than the source's description.
        self._note_similar("Nearest first: click one to go there, S shows them all in the grid.",
                           tip=f"Found by {self.index.source}")

    def _clear_swatches(self) -> None:
        while self.swatches.count():
            item = self.swatches.takeAt(0)
            if item.widget() is not None:
                item.widget().deleteLater()

    def palette_of(self, pid: int) -> tuple[np.ndarray, np.ndarray] | None:
        """(CIELAB (3, 3), shares (3,)) of ``pid``'s photo: from the catalog's palettes, else computed now."""
        from fashion_review.review import colour

        if self.palettes is not None:
            k = int(self.palettes.index_of([pid])[0])
            if k >= 0:
                return self.palettes.lab[k], self.palettes.share[k]
        cache = self.w.session.image_cache
        img = None
        if cache is not None:
            pos = int(cache.index_of([pid])[0])
            if pos >= 0 and bool(cache.ok[pos]):
                img = np.asarray(cache.images[pos])
        if img is None:
            from fashion_review.data.images import _decode

            _, img = _decode(str(self.w.session.ds.catalog.image_path(pid)), want_pixels=True)
        if img is None:
            return None
        lab, share = colour.palettes(img[None])
        return lab[0], share[0]

    def _update_photo(self, pid: int) -> None:
        from fashion_review.review.colour import lab_to_srgb

        self._clear_swatches()
        f = self.w.session.table.frame
        got = self.palette_of(pid) if bool(f.at[pid, "has_image"]) else None
        if got is None:
            self.colour_note.setText("No readable photo: no palette.")
        else:
            lab, share = got
            refs = self._references()
            idx, _ = refs.nearest(lab)
            names = [refs.names[i] for i in idx]
            rgb = lab_to_srgb(lab)
            for n, s, c in zip(names, share, rgb):
                if s > 0:
                    self.swatches.addWidget(_swatch(c, f"{n}\n{100 * s:.0f} %"))
            given = f.at[pid, col("given", "baseColour")]
            given = given if isinstance(given, str) else ""
            if not given:
                verdict = "No baseColour label."
            elif given not in refs.names:
                verdict = f"baseColour {given}: no reference colour to compare."
            elif given in names:
                verdict = f"baseColour <b>{given}</b> is in the palette."
            else:
                verdict = (f"<span style='color:#c82828'><b>Colour disagrees:</b></span> baseColour <b>{given}</b> "
                           f"is not in the palette; it looks <b>{names[0]}</b>.")
            self.colour_note.setText(verdict)
        # Duplicate photos.
        if self.duplicates is None:
            self.dup_note.setText("Duplicate photos: not searched yet.")
            self.find_dups.setVisible(not self._jobs["duplicates"].busy)
            self.dup_strip.set_products([], [])
            return
        self.find_dups.hide()
        others = self.duplicates.group_of(pid)
        if not others:
            self.dup_note.setText("No duplicate photo.")
            self.dup_strip.set_products([], [])
            return
        kinds = [self.duplicates.kind_of(pid, o) for o in others]
        n_exact = kinds.count("exact")
        self.dup_note.setText(f"Same photo as {len(others)} other product{'s' if len(others) != 1 else ''} "
                              f"({n_exact} identical, {len(others) - n_exact} near-identical):")
        self.dup_strip.set_products(others, [self._tip(o, f"\n{k} duplicate") for o, k in zip(others, kinds)])

    # -- actions ------------------------------------------------------------------------

    def jump_to(self, pid: int) -> None:
        """Make ``pid`` the current product (clearing the filter when it hides it)."""
        w = self.w
        if w.view_name == "confusion":
            w.set_view("grid")
        if w.model.row_of(pid) < 0:
            w.filter_bar.set_filter(Filter(scheme=w.model.scheme))
        w.select_pids([pid], pid)

    def show_similar(self, _checked: bool = False, pid: int | None = None) -> bool:
        """The grid filtered to the current product and its most similar products, nearest first."""
        w = self.w
        pid = w.current_pid() if pid is None else pid
        if w.session is None or pid is None:
            return False
        if not self._ensure_index():
            run, pred = self._model()
            if pred is None:
                w.statusBar().showMessage("No model predictions: similar products need a model "
                                          "(Models > Predict the catalog).", 6000)
                return False
            self._pending_show = pid
            w.statusBar().showMessage("Finding similar products …")
            return False
        if pid not in self.index:
            w.statusBar().showMessage(f"Product {pid} has no embedding (no image, or not predicted).", 6000)
            return False
        ids = [pid] + [n.id for n in self.index.query(pid, SHOW_K)]
        w.model.sort(-1)  # ranked: nearest first, not by a column
        w.filter_bar.set_filter(Filter(scheme=w.model.scheme, ids=tuple(ids), ranked=True,
                                       ids_note=f"product {pid} and the {len(ids) - 1} most like it"))
        w.set_view("grid")
        w.select_pids([pid], pid)
        w.statusBar().showMessage(f"Product {pid} and the {len(ids) - 1} products most like it, nearest first "
                                  "(Clear filters to see all)", 8000)
        return True


def install(window) -> Lookalikes:  # noqa: ANN001
    """Add similar products, duplicates and colour palettes to ``window`` (see the module docstring)."""
    return Lookalikes(window)

