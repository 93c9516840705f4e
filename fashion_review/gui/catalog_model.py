"""One Qt table model over the review table, shared by the thumbnail grid and the table view.

The model holds a :class:`~fashion_review.review.table.ReviewTable` and an index array ``rows``
of positions into it: view row ``r`` shows product ``table.frame.iloc[rows[r]]``.  Filtering and
sorting make a new index array with the pure functions of
:mod:`fashion_review.review.filtering` (Orange's ``AbstractSortTableModel`` idea); Qt never walks
the rows.  ``data()`` only indexes numpy arrays, so the views stay fast on 44,000 products.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QFont

from fashion_review.data.schemes import SCHEMES
from fashion_review.review.filtering import Filter, apply_filter, sort_rows
from fashion_review.review.table import EXCLUDED, ReviewTable, col

ROLE = Qt.ItemDataRole
PID_ROLE = ROLE.UserRole + 1  # product id (int)
GIVEN_ROLE = ROLE.UserRole + 2  # effective label of the scheme in focus ("" when blank)
PRED_ROLE = ROLE.UserRole + 3  # predicted label ("" without a prediction)
CONF_ROLE = ROLE.UserRole + 4  # its probability (float, NaN without)
CORRECTED_ROLE = ROLE.UserRole + 5  # bool
EXCLUDED_ROLE = ROLE.UserRole + 6  # bool
ORIGINAL_ROLE = ROLE.UserRole + 7  # the label as first given
THUMB_ROLE = ROLE.UserRole + 8  # QPixmap (null: unreadable), NO_IMAGE without a file, None while loading
HAS_IMAGE_ROLE = ROLE.UserRole + 9  # bool

SCHEME_TITLES = {
    "gender_master": "Gender + category",
    "subCategory": "Sub-category",
    "articleType": "Article type",
    "baseColour": "Colour",
}

CORRECTED_COLOUR = QColor(232, 145, 30)  # the marker of a corrected product (both views)
EXCLUDED_COLOUR = QColor(150, 150, 150)
DISAGREE_COLOUR = QColor(200, 40, 40)
AGREE_COLOUR = QColor(30, 130, 60)


@dataclass(frozen=True)
class Column:
    key: str  # "id", "name", "given", "pred", "part", "corrected", "score"
    scheme: str | None = None  # for given/pred; None: the scheme in focus (part, score)

    def title(self, focus: str) -> str:
        if self.key == "id":
            return "ID"
        if self.key == "name":
            return "Name"
        if self.key == "given":
            return SCHEME_TITLES.get(self.scheme, self.scheme)
        if self.key == "pred":
            return f"{SCHEME_TITLES.get(self.scheme, self.scheme)} predicted"
        if self.key == "part":
            return "Split part"
        if self.key == "corrected":
            return "Corrected"
        return "Review score"


def default_columns(focus: str = "articleType", schemes=SCHEMES) -> list[Column]:  # noqa: ANN001
    """ID and name, the scheme in focus (label, prediction, score, part), correction state,
    then the other schemes' labels and predictions."""
    cols = [Column("id"), Column("name"), Column("given", focus), Column("pred", focus), Column("score"),
            Column("part"), Column("corrected")]
    for s in schemes:
        if s != focus:
            cols += [Column("given", s), Column("pred", s)]
    return cols


def part_tooltip(scheme: str, model: str = "") -> str:
    """What the "Split part" column shows, and what a blank there means."""
    if model:
        return (f"The part of model {model}'s own split: train, validation or test, the same in every scheme "
                "(it holds each product in one part for all its heads); its test part is what "
                "`fashion-review evaluate` scores.\nBlank: a product the model never saw (it was trained on "
                "fewer products, or the product was excluded or had no image then).")
    return (f"Train / validation / test part of the {scheme} scheme's stored split (each scheme has its own "
            "until a model's predictions are shown; then the model's parts).\nBlank: a product the "
            f"{scheme} scheme does not use (no image, excluded from training, or a class under the class filter).")


class CatalogModel(QAbstractTableModel):
    """Products of a review table, filtered and sorted by index arrays."""

    #: The rows shown changed (filter, sort or a new table): (rows shown, rows in the table).
    rows_changed = Signal(int, int)
    #: The columns were reordered (the scheme in focus comes first).
    columns_changed = Signal()

    def __init__(self, parent=None) -> None:  # noqa: ANN001
        super().__init__(parent)
        self.table: ReviewTable | None = None
        self.scheme = "articleType"
        self.columns = default_columns(self.scheme)
        self.filter = Filter(scheme=self.scheme)
        self.sort_key: Column | None = None
        self.sort_order = Qt.SortOrder.AscendingOrder
        self.rows = np.zeros(0, np.int64)
        self._nrows = 0
        self._ncols = len(self.columns)
        self._row_of_pos = np.zeros(0, np.int64)
        self._arr: dict[str, np.ndarray] = {}
        self._ids = np.zeros(0, np.int64)
        #: Set by the window: gives a thumbnail (or None while it loads) for a product id.
        self.thumbnail: Callable[[int], object] | None = None
        #: Set by the window: a corrected product's tooltip text.
        self.correction_note: Callable[[int], str] | None = None
        #: Set by the window: the run whose own split gives the parts ("" when each scheme's stored split does).
        self.part_model = ""
        self._bold = QFont()
        self._bold.setBold(True)
        self._grey = QBrush(EXCLUDED_COLOUR)
        self._red = QBrush(DISAGREE_COLOUR)
        self._green = QBrush(AGREE_COLOUR)
        self._corr_bg = QBrush(QColor(253, 236, 206))

    # -- content -------------------------------------------------------------------------

    def set_table(self, table: ReviewTable | None) -> None:
        """Show ``table`` with the current filter and sort."""
        self.table = table
        self._cache_arrays()
        self._apply(reset=True)

    def set_filter(self, flt: Filter) -> None:
        self.filter = flt
        if flt.scheme != self.scheme:
            self.set_scheme(flt.scheme, refilter=False)
        self._apply(reset=True)

    def set_scheme(self, scheme: str, refilter: bool = True) -> None:
        """Focus ``scheme``: the grid's labels, the part and score columns follow it, and its
        columns move to the front of the table."""
        changed = scheme != self.scheme
        self.scheme = scheme
        if self.filter.scheme != scheme:
            self.filter = self.filter.replace(scheme=scheme)
        if changed:
            self.beginResetModel()
            self.columns = default_columns(scheme, self.table.schemes if self.table is not None else SCHEMES)
            self._ncols = len(self.columns)
            self.endResetModel()
            self.columns_changed.emit()
        if refilter:
            self._apply(reset=True)

    @property
    def sort_column(self) -> int:
        """The column sorted by, -1 when none."""
        if self.sort_key is None:
            return -1
        try:
            return self.columns.index(self.sort_key)
        except ValueError:
            return -1

    def refresh(self, positions: np.ndarray | None = None) -> None:
        """The table's rows at ``positions`` changed (a correction): repaint them, keep the rows."""
        self._cache_arrays()
        if not len(self.rows):
            return
        if positions is None:
            top, bottom = 0, len(self.rows) - 1
        else:
            shown = self._row_of_pos[np.asarray(positions, dtype=np.int64)]
            shown = shown[shown >= 0]
            if not len(shown):
                return
            top, bottom = int(shown.min()), int(shown.max())
        self.dataChanged.emit(self.index(top, 0), self.index(bottom, self.columnCount() - 1))

    def refresh_ids(self, ids) -> None:  # noqa: ANN001
        if self.table is None:
            return
        pos = self.table.positions(np.asarray(ids, dtype=np.int64))
        self.refresh(pos[pos >= 0])

    def thumbnails_arrived(self, ids) -> None:  # noqa: ANN001
        """Repaint the products whose thumbnails just loaded."""
        if self.table is None or not len(self.rows):
            return
        pos = self.table.positions(np.asarray(ids, dtype=np.int64))
        rows = self._row_of_pos[pos[pos >= 0]]
        rows = rows[rows >= 0]
        if len(rows):
            self.dataChanged.emit(self.index(int(rows.min()), 0), self.index(int(rows.max()), 0),
                                  [THUMB_ROLE, ROLE.DecorationRole])

    def _cache_arrays(self) -> None:
        t = self.table
        self._arr = {}
        if t is None:
            self._ids = np.zeros(0, np.int64)
            return
        f = t.frame
        self._ids = t.ids
        for c in f.columns:
            if c != "search":
                self._arr[c] = f[c].to_numpy()
        for s in t.schemes:
            self._arr[col("score", s)] = t.review_score(s)

    def _apply(self, reset: bool) -> None:
        if self.table is None:
            rows = np.zeros(0, np.int64)
        else:
            if self.filter.text.strip():
                self.table.ensure_search()
            rows = apply_filter(self.table.frame, self.filter)
            rows = self._sorted(rows)
        self._set_rows(rows)

    def _sorted(self, rows: np.ndarray) -> np.ndarray:
        if self.sort_key is None or self.table is None:
            return rows
        key = self._sort_key(self.sort_key)
        return sort_rows(self.table.frame, rows, key, self.sort_order == Qt.SortOrder.DescendingOrder)

    def _sort_key(self, c: Column):  # noqa: ANN202 - a column name or an array
        s = c.scheme or self.scheme
        if c.key == "id":
            return "id"
        if c.key == "name":
            return "name"
        if c.key == "given":
            return col("given", s)
        if c.key == "pred":
            return col("pred", s)
        if c.key == "part":
            return col("part", s)
        if c.key == "corrected":
            return (~self._arr["corrected"]).astype(np.float64) + 2 * self._arr[EXCLUDED].astype(np.float64)
        return self._arr[col("score", s)]

    def _set_rows(self, rows: np.ndarray) -> None:
        self.beginResetModel()
        self.rows = np.asarray(rows, dtype=np.int64)
        self._nrows = len(self.rows)
        n = len(self.table) if self.table is not None else 0
        self._row_of_pos = np.full(n, -1, np.int64)
        self._row_of_pos[self.rows] = np.arange(len(self.rows))
        self.endResetModel()
        self.rows_changed.emit(len(self.rows), n)

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:  # noqa: D401
        """Sort in numpy (stable; blanks last), keeping the selection (the views restore it)."""
        if column < 0 or column >= len(self.columns):
            self.sort_key = None
        else:
            self.sort_key, self.sort_order = self.columns[column], order
        if self.table is None:
            return
        self.layoutAboutToBeChanged.emit()
        old = self.rows
        old_persistent = self.persistentIndexList()
        new = self._sorted(apply_filter(self.table.frame, self.filter)) if self.sort_key is None else \
            self._sorted(old)
        self.rows = new
        self._nrows = len(new)
        self._row_of_pos[:] = -1
        self._row_of_pos[new] = np.arange(len(new))
        if old_persistent:
            ncol = self.columnCount()
            from_list, to_list = [], []
            for idx in old_persistent:
                r = idx.row()
                if 0 <= r < len(old):
                    nr = int(self._row_of_pos[old[r]])
                    from_list.append(idx)
                    to_list.append(self.index(nr, min(idx.column(), ncol - 1)))
            self.changePersistentIndexList(from_list, to_list)
        self.layoutChanged.emit()

    # -- lookups -------------------------------------------------------------------------

    def pid(self, row: int) -> int:
        return int(self._ids[self.rows[row]])

    def pids(self, rows) -> np.ndarray:  # noqa: ANN001
        rows = np.asarray(rows, dtype=np.int64)
        return self._ids[self.rows[rows]] if len(rows) else np.zeros(0, np.int64)

    def row_of(self, pid: int) -> int:
        """The view row of product ``pid``, -1 when filtered out or unknown."""
        if self.table is None:
            return -1
        pos = self.table.positions([int(pid)])[0]
        return int(self._row_of_pos[pos]) if pos >= 0 else -1

    def rows_of(self, pids) -> np.ndarray:  # noqa: ANN001
        if self.table is None:
            return np.zeros(0, np.int64)
        pos = self.table.positions(np.asarray(pids, dtype=np.int64))
        out = np.where(pos >= 0, self._row_of_pos[np.maximum(pos, 0)], -1)
        return out[out >= 0]

    def column_of(self, key: str, scheme: str | None = None) -> int:
        for i, c in enumerate(self.columns):
            if c.key == key and (scheme is None or c.scheme == scheme):
                return i
        raise KeyError(key)

    # -- Qt ------------------------------------------------------------------------------

    # Qt calls these twice per row when it lays the grid out (QAbstractItemModel::index checks
    # them): keep them to an attribute read.
    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else self._nrows

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else self._ncols

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = ROLE.DisplayRole):  # noqa: ANN201, N802
        if orientation != Qt.Orientation.Horizontal or not 0 <= section < len(self.columns):
            return None
        c = self.columns[section]
        if role == ROLE.DisplayRole:
            return c.title(self.scheme)
        if role == ROLE.ToolTipRole:
            s = c.scheme or self.scheme
            return {
                "id": "Product id",
                "name": "Product display name",
                "given": f"Label of the {s} scheme, corrections applied",
                "pred": f"The model's {s} class and its probability",
                "part": part_tooltip(s, self.part_model),
                "corrected": "Whether a curator corrected a label (or excluded the product)",
                "score": f"1 - the model's probability of the {s} label: high when the model doubts it",
            }.get(c.key)
        if role == ROLE.FontRole and c.scheme == self.scheme:
            return self._bold
        return None

    def flags(self, index: QModelIndex | QPersistentModelIndex) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemNeverHasChildren

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = ROLE.DisplayRole):  # noqa: ANN201, C901, PLR0911, PLR0912
        if not index.isValid() or self.table is None:
            return None
        r = index.row()
        if r >= len(self.rows):
            return None
        p = int(self.rows[r])
        a = self._arr
        s = self.scheme
        if role == ROLE.DisplayRole:
            c = self.columns[index.column()]
            k = c.key
            if k == "id":
                return str(int(self._ids[p]))
            if k == "name":
                return a["name"][p]
            if k == "given":
                v = a[col("given", c.scheme)][p]
                return v if isinstance(v, str) else ""
            if k == "pred":
                v = a[col("pred", c.scheme)][p]
                if not v:
                    return ""
                return f"{v}  {a[col('conf', c.scheme)][p]:.0%}"
            if k == "part":
                return a[col("part", s)][p]
            if k == "corrected":
                parts = []
                if a["corrected"][p]:
                    parts.append("corrected")
                if a[EXCLUDED][p]:
                    parts.append("excluded")
                return ", ".join(parts)
            if k == "score":
                v = a[col("score", s)][p]
                if not np.isnan(v):
                    return f"{v:.2f}"
                return "—" if self._unknown_class(p, s) else ""
            return None
        if role == PID_ROLE:
            return int(self._ids[p])
        if role == THUMB_ROLE:
            if not a["has_image"][p]:
                return NO_IMAGE
            return self.thumbnail(int(self._ids[p])) if self.thumbnail is not None else None
        if role == GIVEN_ROLE:
            v = a[col("given", s)][p]
            return v if isinstance(v, str) else ""
        if role == PRED_ROLE:
            return a[col("pred", s)][p]
        if role == CONF_ROLE:
            return float(a[col("conf", s)][p])
        if role == CORRECTED_ROLE:
            return bool(a["corrected"][p])
        if role == EXCLUDED_ROLE:
            return bool(a[EXCLUDED][p])
        if role == HAS_IMAGE_ROLE:
            return bool(a["has_image"][p])
        if role == ORIGINAL_ROLE:
            v = a[col("original", s)][p]
            return v if isinstance(v, str) else ""
        if role == ROLE.ToolTipRole:
            return self._tooltip(p, self.columns[index.column()])
        if role == ROLE.FontRole:
            if a["corrected"][p]:
                return self._bold
            return None
        if role == ROLE.ForegroundRole:
            if a[EXCLUDED][p]:
                return self._grey
            c = self.columns[index.column()]
            if c.key == "pred":
                pv = a[col("pred", c.scheme)][p]
                if pv:
                    return self._green if pv == a[col("given", c.scheme)][p] else self._red
            return None
        if role == ROLE.BackgroundRole:
            if a["corrected"][p]:
                return self._corr_bg
            return None
        if role == ROLE.TextAlignmentRole:
            if self.columns[index.column()].key in ("id", "score"):
                return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            return None
        return None

    def _unknown_class(self, p: int, s: str) -> bool:
        """Whether product ``p`` is predicted but its ``s`` label is a class the model does not know
        (its review score is then NaN, as for a product with no prediction or no label)."""
        a = self._arr
        given = a[col("given", s)][p]
        return bool(a[col("pred", s)][p]) and isinstance(given, str) and bool(given) \
            and bool(np.isnan(a[col("score", s)][p]))

    def _tooltip(self, p: int, c: Column) -> str:
        a = self._arr
        pid = int(self._ids[p])
        s = c.scheme or self.scheme
        lines = [f"<b>{pid}</b> {_html(a['name'][p])}"]
        given = a[col("given", s)][p]
        given = given if isinstance(given, str) else "(blank)"
        lines.append(f"{_html(s)}: <b>{_html(given)}</b>")
        pred = a[col("pred", s)][p]
        if pred:
            lines.append(f"predicted: {_html(pred)} ({a[col('conf', s)][p]:.0%})")
        if c.key == "score" and self._unknown_class(p, s):
            lines.append(f"no review score: the model does not know the class {_html(given)} (its class filter "
                         "dropped it, or it is a curator's new one), so it cannot say how likely that label is")
        if a["corrected"][p] or a[EXCLUDED][p]:
            note = self.correction_note(pid) if self.correction_note is not None else ""
            if note:
                lines.append(note)
        return "<br>".join(lines)


def _html(text: object) -> str:
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


#: THUMB_ROLE's value for a product without an image file.
NO_IMAGE = "no image"
