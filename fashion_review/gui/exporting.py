"""File > Export corrected catalog…: the catalog with the curators' corrections, as a ``styles.csv``.

A thin view over :func:`fashion_review.data.export.export_catalog` (what ``fashion-review export``
runs): same columns, order and line ends as the input, spreadsheet-safe, written atomically, never
over the data set's own ``styles.csv``.  The file dialog starts in the folder exported to last (the
user's home the first time), not in the data set's folder, which the app never writes to.  Where
products are excluded from training the user chooses whether the file keeps them (the default, as
the command's) or leaves them out (``--drop-excluded``).
"""

from __future__ import annotations

import re
from pathlib import Path

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QFileDialog

from fashion_review.errors import FashionReviewError
from fashion_review.gui import dialogs
from fashion_review.text import plural

TITLE = "Export corrected catalog"
DROP_QUESTION = "Leave out the excluded products?"


def default_name(ds) -> str:  # noqa: ANN001 - a Dataset
    """``<data folder>-corrected.csv``, the folder's name made safe for a file name."""
    folder = ds.catalog.csv_path.parent.name or "catalog"
    return re.sub(r"[^\w.-]+", "-", folder).strip("-") + "-corrected.csv"


class CatalogExport(QObject):
    """The File menu's export action; ``window`` is the MainWindow."""

    def __init__(self, window) -> None:  # noqa: ANN001
        super().__init__(window)
        self.w = window
        self.act = window.action_table.add(
            "export", "&Export corrected catalog…", self.export, ["Ctrl+E"],
            "Write the catalog with the corrections applied as a styles.csv (the input is never changed)",
            menu="&File", before=window.act_quit, separator=True)
        self.act.setEnabled(False)  # until a catalog is open
        window.loaded.connect(lambda: self.act.setEnabled(True))

    def export(self) -> Path | None:
        """Ask where, write, say what was written; returns the file written (None: nothing)."""
        session = self.w.session
        if session is None:
            return None
        ds = session.ds
        settings = self.w.settings
        start = Path(settings.export_dir) if settings.export_dir and Path(settings.export_dir).is_dir() else Path.home()
        out, _ = QFileDialog.getSaveFileName(self.w, TITLE, str(start / default_name(ds)), "CSV files (*.csv);;All files (*)")
        if not out:
            return None
        excluded = int(ds.effective()["excluded"].sum())
        drop = excluded > 0 and dialogs.ask(
            self.w, DROP_QUESTION,
            f"{plural(excluded, 'product is', 'products are')} excluded from training. Leave "
            f"{'it' if excluded == 1 else 'them'} out of the file?\n\nNo keeps every product in it.")
        from fashion_review.data.export import export_catalog

        try:
            n = export_catalog(ds, out, drop_excluded=drop)
        except FashionReviewError as exc:
            dialogs.warn(self.w, TITLE, f"Nothing was exported.\n\n{exc}")
            return None
        settings.export_dir = str(Path(out).resolve().parent)
        settings.save()
        k = ds.store.count()
        self.w.statusBar().showMessage(
            f"Exported {plural(n, 'product')} with {plural(k, 'correction')} applied to {out}"
            + (f" ({plural(excluded, 'excluded product')} left out)" if drop else ""), 10000)
        return Path(out)
