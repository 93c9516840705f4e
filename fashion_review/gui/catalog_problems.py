"""File > Catalog problems: what the reader found wrong in ``styles.csv``, kind by kind, with lines.

The reader never stops on a bad row (:mod:`fashion_review.data.catalog`); this is where the app
says what it did about each one: rows skipped (duplicate or bad ids), rows recovered, blank
fields, missing images.  :func:`status_text` is the one line the status bar shows on opening.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLabel,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from fashion_review.text import plural

#: What each kind of problem is, and what the reader did about it.
KINDS = {
    "duplicate_id": "duplicate ids: the row skipped, the first row with the id kept",
    "bad_id": "ids that are not positive integers: the row skipped",
    "malformed_row": "rows with more fields than the header (an unquoted comma in the name)",
    "short_row": "rows with fewer fields than the header: the missing ones left blank",
    "unbalanced_quote": "a quote never closed: those lines read one by one",
    "blank_field": "blank fields",
    "missing_image": "products without an image file",
    "no_images_folder": "no images folder",
    "encoding": "lines with bytes that are not UTF-8 (read as Latin-1)",
    "bom": "a byte-order mark at the start (ignored)",
    "crlf": "Windows line ends (read as usual)",
    "extra_columns": "extra columns (kept as they are)",
    "reordered_columns": "columns in an unusual order (read by name)",
    "settings": "fashion-review.toml settings ignored",
    "no_rows": "no product rows",
}
_SKIP_WORDS = {"duplicate_id": "duplicate ids", "bad_id": "bad ids", "malformed_row": "malformed (--skip-malformed)"}


def status_text(catalog: Any) -> str:
    """``2 rows skipped: duplicate ids, see File > Catalog problems`` (or "" when nothing was wrong)."""
    skipped = catalog.skipped_counts()
    if skipped:
        n = sum(skipped.values())
        why = ", ".join(_SKIP_WORDS[k] + (f" ({v:,})" if len(skipped) > 1 else "") for k, v in skipped.items())
        return f"{plural(n, 'row')} skipped: {why}, see File > Catalog problems"
    total = sum(catalog.report.counts().values())
    if total:
        return f"{plural(total, 'problem')} found reading the catalog, see File > Catalog problems"
    return ""


class CatalogProblemsDialog(QDialog):
    """Every problem of the catalog's :class:`~fashion_review.data.catalog.LoadReport`, grouped by kind."""

    def __init__(self, catalog: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Catalog problems")
        report = catalog.report
        counts = report.counts()
        head = QLabel()
        head.setWordWrap(True)
        head.setTextFormat(Qt.TextFormat.PlainText)
        if counts:
            head.setText(f"{catalog.csv_path}: {plural(sum(counts.values()), 'problem')}; "
                         f"{plural(len(catalog), 'product')} read. The file itself is never changed; "
                         "`fashion-review check` lists the same.")
        else:
            head.setText(f"{catalog.csv_path}: no problems found; {plural(len(catalog), 'product')} read.")
        tree = QTreeWidget()
        tree.setObjectName("problems")
        tree.setHeaderLabels(["Problem", "Line", "Id"])
        tree.header().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        tree.header().setStretchLastSection(False)
        for kind, n in sorted(counts.items(), key=lambda kv: (kv[0] not in catalog.skipped_counts(), kv[0])):
            top = QTreeWidgetItem([f"{KINDS.get(kind, kind)}: {n:,}", "", ""])
            shown = report.of_kind(kind)
            for p in shown:
                top.addChild(QTreeWidgetItem([p.message, "" if p.line is None else str(p.line), p.product_id or ""]))
            if n > len(shown):
                top.addChild(QTreeWidgetItem([f"… and {n - len(shown):,} more (`fashion-review check --show "
                                              f"{n}` lists them all)", "", ""]))
            tree.addTopLevelItem(top)
            top.setFirstColumnSpanned(True)
            top.setExpanded(kind in catalog.skipped_counts() or n <= 5)
        self.tree = tree
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        buttons.accepted.connect(self.accept)
        layout = QVBoxLayout(self)
        layout.addWidget(head)
        layout.addWidget(tree, 1)
        layout.addWidget(buttons)
        self.resize(860, 460)
