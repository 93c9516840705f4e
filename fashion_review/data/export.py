"""Writing the corrected catalog back out as a ``styles.csv``.

Same columns in the same order, same line ends (and byte-order mark) as the input, every field
quoted where CSV needs it, and cells that a spreadsheet would run as a formula made inert with a
leading apostrophe (OWASP's advice for CSV injection).  Written to a temporary file beside the
target and renamed into place, so a crash never leaves half a file; never over the input.

Rows the reader skipped (a duplicate or bad id, a malformed row read with ``--skip-malformed``)
are written back verbatim at their place (``Catalog.skipped_rows``): the export drops nothing of
the file, so writing it over styles.csv loses no row (the reader skips them again).
"""

from __future__ import annotations

import csv
import os
from pathlib import Path

from fashion_review.data.dataset import EXCLUDED_FIELD, Dataset
from fashion_review.errors import DataError
from fashion_review.fsutil import atomic_file

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value: str) -> str:
    """Prefix a cell that a spreadsheet would evaluate as a formula."""
    return "'" + value if value.startswith(FORMULA_PREFIXES) else value


def export_catalog(ds: Dataset, out: str | os.PathLike[str], *, drop_excluded: bool = False) -> int:
    """Write the effective catalog to ``out``; returns the number of products written."""
    out_p = Path(out).expanduser().resolve()
    cat = ds.catalog
    if out_p == cat.csv_path or (out_p.exists() and cat.csv_path.exists() and os.path.samefile(out_p, cat.csv_path)):
        raise DataError(f"{out_p}: refusing to overwrite the data set's own styles.csv; choose another file")
    if out_p.is_dir():
        raise DataError(f"{out_p}: is a folder; name the file to write, e.g. {out_p / 'styles.csv'}")
    if not out_p.parent.is_dir():
        raise DataError(f"{out_p}: no such folder {out_p.parent}")
    eff = ds.effective()
    if drop_excluded:
        eff = eff[~eff[EXCLUDED_FIELD]]
    eff = eff.sort_values("line", kind="stable")
    cols = [c for c in cat.columns if c != "id"]
    verbatim = sorted(cat.skipped_rows)
    try:
        with atomic_file(out_p, "w", encoding="utf-8-sig" if cat.had_bom else "utf-8", newline="") as f:
            w = csv.writer(f, lineterminator=cat.line_terminator, quoting=csv.QUOTE_MINIMAL)
            w.writerow(cat.columns)
            values = eff[cols].to_numpy()
            k = 0
            for pid, line, row in zip(eff.index, eff["line"].to_numpy(), values):
                while k < len(verbatim) and verbatim[k][0] < line:
                    f.write(verbatim[k][1] + cat.line_terminator)
                    k += 1
                by_col = dict(zip(cols, row))
                w.writerow([str(pid) if c == "id" else spreadsheet_safe(str(by_col[c])) for c in cat.columns])
            for _, text in verbatim[k:]:
                f.write(text + cat.line_terminator)
    except OSError as exc:  # read-only file system, no permission, a full disk, /proc ...
        reason = (exc.strerror or str(exc)).lower()
        raise DataError(f"{out_p}: cannot write there ({reason}); nothing was written") from exc
    return len(eff)
