"""Reading the catalog: ``styles.csv`` plus ``images/<id>.jpg``, checked and reported.

The reader never stops on a bad row.  Every defect becomes a :class:`Problem` with the line it
is on, and the catalog still loads; only a missing required column is fatal.  The 22 rows of the
real file with an unquoted comma in ``productDisplayName`` are recovered (the extra fields are
joined back into the name) unless ``skip_malformed`` asks for the paper's reading (drop them).

Nothing here writes to the data set.
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from fashion_review.errors import DataError

REQUIRED_COLUMNS = (
    "id",
    "gender",
    "masterCategory",
    "subCategory",
    "articleType",
    "baseColour",
    "season",
    "year",
    "usage",
    "productDisplayName",
)
#: The column that absorbs stray commas (the only free-text column).
NAME_COLUMN = "productDisplayName"
#: Columns a curator may correct.
LABEL_FIELDS = ("gender", "masterCategory", "subCategory", "articleType", "baseColour")

#: Optional per-data-set settings file, beside styles.csv.
SETTINGS_FILE = "fashion-review.toml"
_POSITIVE_INT = re.compile(r"[0-9]{1,19}")
#: Ids are stored as int64; a longer digit string is not a usable id.
MAX_ID = 2**63 - 1
#: At most this many located messages per kind are kept; the count is always exact.
MAX_MESSAGES_PER_KIND = 200


@dataclass(frozen=True)
class Problem:
    """One defect found while reading.  ``line`` is the 1-based line of the CSV file."""

    kind: str
    message: str
    line: int | None = None
    product_id: str | None = None
    column: str | None = None


@dataclass
class LoadReport:
    """What the reader found wrong, with exact counts per kind."""

    source: str = ""
    problems: list[Problem] = field(default_factory=list)
    _counts: Counter = field(default_factory=Counter)

    def add(self, kind: str, message: str, **where) -> None:
        self._counts[kind] += 1
        if self._counts[kind] <= MAX_MESSAGES_PER_KIND:
            self.problems.append(Problem(kind, message, **where))

    def counts(self) -> dict[str, int]:
        return dict(self._counts)

    def count(self, kind: str) -> int:
        return self._counts.get(kind, 0)

    def lines(self, kind: str) -> list[int]:
        return [p.line for p in self.problems if p.kind == kind and p.line is not None]

    def of_kind(self, kind: str) -> list[Problem]:
        return [p for p in self.problems if p.kind == kind]

    def summary(self, per_kind: int = 5) -> str:
        if not self._counts:
            return f"{self.source}: no problems found"
        n = sum(self._counts.values())
        out = [f"{self.source}: {n} problem{'s' * (n != 1)}"]
        for kind, n in sorted(self._counts.items()):
            out.append(f"  {kind}: {n}")
            shown = self.of_kind(kind)[:per_kind]
            for p in shown:
                out.append(f"    {p.message}")
            if n > len(shown):
                out.append(f"    ... and {n - len(shown)} more")
        return "\n".join(out)


@dataclass
class Catalog:
    """The products of one data set as read from disk (labels as given, no corrections)."""

    df: pd.DataFrame
    columns: list[str]
    csv_path: Path
    images_dir: Path
    fingerprint: str
    report: LoadReport
    line_terminator: str = "\n"
    had_bom: bool = False
    skip_malformed: bool = False
    settings: dict = field(default_factory=dict)
    #: Rows the reader skipped (a bad or duplicate id, a malformed row with --skip-malformed), as
    #: ``(line, text)``: the record's physical lines as they are in the file, without the final line
    #: end.  The export writes them back verbatim, so nothing the reader did not use is lost.
    skipped_rows: list[tuple[int, str]] = field(default_factory=list)

    @property
    def malformed_lines(self) -> list[int]:
        return self.report.lines("malformed_row")

    def skipped_counts(self) -> dict[str, int]:
        """Rows of the file that are not in the catalog, by why: ``{"duplicate_id": 2, ...}``."""
        kinds = ["bad_id", "duplicate_id"] + (["malformed_row"] if self.skip_malformed else [])
        return {k: self.report.count(k) for k in kinds if self.report.count(k)}

    def no_products_message(self) -> str | None:
        """Why the catalog has no product at all (None when it has some): for a clear error."""
        if len(self.df):
            return None
        skipped = {k: n for k, n in self.report.counts().items() if k in ("bad_id", "duplicate_id", "malformed_row")}
        if skipped:
            detail = ", ".join(f"{k}: {n:,}" for k, n in sorted(skipped.items()))
            return f"{self.csv_path}: no products: every row was skipped ({detail}); `fashion-review check` lists them"
        return f"{self.csv_path}: no products: the file has only its header line"

    def image_path(self, product_id: int) -> Path:
        # Only ever called with validated integer ids: the path cannot escape images_dir.
        return self.images_dir / f"{int(product_id)}.jpg"

    def __len__(self) -> int:
        return len(self.df)


def looks_binary(data: bytes) -> bool:
    """True for bytes that are not text: a NUL, or more than 10 % control characters."""
    if not data:
        return False
    if b"\x00" in data:
        return True
    control = sum(1 for b in data if b < 32 and b not in (9, 10, 13))
    return control > max(3, 0.1 * len(data))


def printable_excerpt(text: str, limit: int = 60) -> str:
    """``text`` safe to print in a terminal or a dialog: at most ``limit`` characters, quoted,
    every character that is not printable shown as a ``\\xNN`` / ``\\uNNNN`` escape."""
    short = text.rstrip("\r\n")
    cut = len(short) > limit
    short = short[:limit]
    shown = "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in short)
    return f"“{shown}”" + (" …" if cut else "")


def fingerprint_bytes(data: bytes) -> str:
    """The data set's identity: a hash of its ``styles.csv`` bytes."""
    return hashlib.sha256(data).hexdigest()[:16]


def resolve_paths(
    data: str | os.PathLike[str] | None = None,
    csv_path: str | os.PathLike[str] | None = None,
    images_dir: str | os.PathLike[str] | None = None,
) -> tuple[Path, Path]:
    """Work out ``styles.csv`` and the images folder from a data folder or explicit paths."""
    if data is not None:
        d = Path(data).expanduser()
        if d.is_file():  # --data pointed at the CSV itself
            csv_p = d
            d = d.parent
        else:
            csv_p = d / "styles.csv"
        img = Path(images_dir).expanduser() if images_dir else d / "images"
        if csv_path:
            csv_p = Path(csv_path).expanduser()
    elif csv_path is not None:
        csv_p = Path(csv_path).expanduser()
        img = Path(images_dir).expanduser() if images_dir else csv_p.parent / "images"
    else:
        raise DataError("no data set given: pass a data folder (--data DIR) or a CSV path (--csv FILE)")
    if not csv_p.is_file():
        raise DataError(f"{csv_p}: no such file (expected the catalog's styles.csv)")
    return csv_p.resolve(), img.resolve()


def index_images(images_dir: Path) -> set[str]:
    """File names in the images folder (one directory scan, no stat per file)."""
    try:
        with os.scandir(images_dir) as it:
            return {e.name for e in it}
    except FileNotFoundError:
        return set()


def read_settings(path: Path, report: LoadReport) -> dict:
    """The data set's optional ``fashion-review.toml`` (e.g. ``min_images``); bad ones are reported."""
    if not path.is_file():
        return {}
    import tomllib

    try:
        settings = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        report.add("settings", f"{path}: ignored, not valid TOML: {exc}")
        return {}
    mi = settings.get("min_images")
    if mi is not None and (not isinstance(mi, int) or isinstance(mi, bool) or mi < 1):
        report.add("settings", f"{path}: min_images must be a positive integer, not {mi!r}; ignored")
        settings.pop("min_images")
    return settings


def _records(rows, physical: list[str], ncols: int, report: LoadReport, name: str):
    """Yield ``(line, end, fields)`` per record: its first and last physical line and its fields.

    A quoted field may legitimately span lines.  A quote that is never closed (or closed only
    rows later) would swallow the rows after it; such a record is reported and its lines are
    read again one by one, the quote taken literally.
    """
    end = rows.line_num
    for fields in rows:
        start, end = end + 1, rows.line_num
        if end > start and (len(fields) != ncols or not _quotes_balance(physical[start - 1 : end])):
            report.add(
                "unbalanced_quote",
                f"{name}:{start}: a quote opened on this line is not closed where the field ends "
                f"(it ran to line {end}); lines {start}-{end} read one by one, the quote kept as text",
                line=start,
            )
            for k in range(start, end + 1):
                yield k, k, next(csv.reader([physical[k - 1]], quoting=csv.QUOTE_NONE), [])
        else:
            yield start, end, fields


def _quotes_balance(lines: list[str]) -> bool:
    try:
        for _ in csv.reader(lines, strict=True):
            pass
    except csv.Error:
        return False
    return True


def load_catalog(
    data: str | os.PathLike[str] | None = None,
    *,
    csv_path: str | os.PathLike[str] | None = None,
    images_dir: str | os.PathLike[str] | None = None,
    skip_malformed: bool = False,
) -> Catalog:
    """Read and check a catalog; see the module docstring."""
    csv_p, img_dir = resolve_paths(data, csv_path, images_dir)
    try:
        raw = csv_p.read_bytes()
    except OSError as exc:
        raise DataError(f"{csv_p}: cannot read: {exc.strerror or exc}") from exc
    report = LoadReport(source=str(csv_p))
    fp = fingerprint_bytes(raw)

    had_bom = raw.startswith(b"\xef\xbb\xbf")
    if had_bom:
        raw = raw[3:]
        report.add("bom", f"{csv_p.name}: starts with a UTF-8 byte-order mark (ignored)", line=1)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        # Only the lines with bad bytes are read as Latin-1; the others stay UTF-8.
        decoded = []
        for line, chunk in enumerate(raw.splitlines(keepends=True), start=1):
            try:
                decoded.append(chunk.decode("utf-8"))
            except UnicodeDecodeError:
                decoded.append(chunk.decode("latin-1"))
                report.add(
                    "encoding",
                    f"{csv_p.name}:{line}: bytes that are not UTF-8 (this line read as Latin-1)",
                    line=line,
                )
        text = "".join(decoded)
    crlf = "\r\n" in text[:65536]
    if crlf:
        report.add("crlf", f"{csv_p.name}: Windows (CRLF) line ends (read as usual)", line=1)
    if not text.strip():
        raise DataError(f"{csv_p}: the file is empty (expected a header line with {', '.join(REQUIRED_COLUMNS)})")

    # Physical lines as csv.reader counts them (split at \n, \r\n and \r, ends kept).
    physical = io.StringIO(text, newline="").readlines()
    rows = csv.reader(physical)
    header = [h.strip() for h in next(rows)]
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        if looks_binary(raw[:512]):
            raise DataError(
                f"{csv_p}: not a text CSV file (binary data; its first bytes: {raw[:12].hex(' ')} ...); "
                f"expected a header line with {', '.join(REQUIRED_COLUMNS)}"
            )
        raise DataError(
            f"{csv_p}:1: required column{'s' if len(missing) > 1 else ''} "
            f"{', '.join(repr(c) for c in missing)} missing from the header "
            f"(found: {printable_excerpt(', '.join(header)) if header else 'nothing'})"
        )
    dupe_cols = [c for c, n in Counter(header).items() if n > 1]
    if dupe_cols:
        raise DataError(f"{csv_p}:1: column(s) {', '.join(map(repr, dupe_cols))} appear more than once in the header")
    extra = [c for c in header if c not in REQUIRED_COLUMNS]
    if extra:
        report.add("extra_columns", f"{csv_p.name}:1: extra column(s) kept as they are: {', '.join(extra)}", line=1)
    if [c for c in header if c in REQUIRED_COLUMNS] != list(REQUIRED_COLUMNS):
        report.add("reordered_columns", f"{csv_p.name}:1: columns in an unusual order (read by name)", line=1)

    ncols = len(header)
    name_pos = header.index(NAME_COLUMN)
    id_pos = header.index("id")
    records: list[list[str]] = []
    lines: list[int] = []
    seen: dict[int, int] = {}
    skipped: list[tuple[int, str]] = []

    def skip(first: int, last: int) -> None:
        text = "".join(physical[first - 1:last])
        skipped.append((first, text[:-2] if text.endswith("\r\n") else text.rstrip("\r\n")))

    for line, end, fields in _records(rows, physical, ncols, report, csv_p.name):
        if not fields or (len(fields) == 1 and not fields[0].strip()):
            continue  # blank line
        n = len(fields)
        if n > ncols:
            extra_n = n - ncols
            if skip_malformed:
                report.add(
                    "malformed_row",
                    f"{csv_p.name}:{line}: {n} fields instead of {ncols}; row skipped (--skip-malformed)",
                    line=line,
                )
                skip(line, end)
                continue
            name = ",".join(fields[name_pos : name_pos + extra_n + 1])
            fields = fields[:name_pos] + [name] + fields[name_pos + extra_n + 1 :]
            report.add(
                "malformed_row",
                f"{csv_p.name}:{line}: {n} fields instead of {ncols} (an unquoted comma in "
                f"{NAME_COLUMN}); recovered by joining them into the name",
                line=line,
            )
        elif n < ncols:
            report.add(
                "short_row",
                f"{csv_p.name}:{line}: {n} field(s) instead of {ncols}; the missing ones are left blank",
                line=line,
            )
            fields = fields + [""] * (ncols - n)
        raw_id = fields[id_pos].strip()
        if not _POSITIVE_INT.fullmatch(raw_id) or not 0 < int(raw_id) <= MAX_ID:
            shown = raw_id if raw_id else "(blank)"
            report.add(
                "bad_id",
                f"{csv_p.name}:{line}: id {shown!r} is not a positive integer; row skipped",
                line=line,
                product_id=raw_id,
            )
            skip(line, end)
            continue
        pid = int(raw_id)
        if pid in seen:
            report.add(
                "duplicate_id",
                f"{csv_p.name}:{line}: id {pid} already on line {seen[pid]}; the first is kept",
                line=line,
                product_id=raw_id,
            )
            skip(line, end)
            continue
        seen[pid] = line
        fields[id_pos] = raw_id
        records.append(fields)
        lines.append(line)

    if not records:
        report.add("no_rows", f"{csv_p.name}: no product rows after the header line", line=1)
    df = pd.DataFrame.from_records(records, columns=header) if records else pd.DataFrame(columns=header)
    ids = pd.array([int(x) for x in df["id"]], dtype="int64") if len(df) else pd.array([], dtype="int64")
    df = df.drop(columns="id")
    for col in df.columns:
        df[col] = df[col].astype(object)
    df.index = pd.Index(ids, name="id")
    df["line"] = pd.array(lines, dtype="int64")

    for col in REQUIRED_COLUMNS[1:]:
        values = df[col].str.strip()
        blank = (values == "").to_numpy()
        for pid, line in zip(df.index[blank], df["line"].to_numpy()[blank]):
            report.add("blank_field", f"{csv_p.name}:{line}: id {pid}: {col} is blank", line=int(line),
                       product_id=str(pid), column=col)
        if col != NAME_COLUMN:  # surrounding spaces are never meaningful in a label
            df[col] = values

    if not img_dir.is_dir():
        report.add("no_images_folder", f"{img_dir}: images folder not found; every product is without image")
    present = index_images(img_dir)
    df["has_image"] = np.array([f"{pid}.jpg" in present for pid in df.index], dtype=bool)
    no_img = ~df["has_image"].to_numpy()
    for pid, line in zip(df.index[no_img], df["line"].to_numpy()[no_img]):
        report.add("missing_image", f"images/{pid}.jpg: not found (product on line {line})",
                   product_id=str(pid), line=int(line))

    settings = read_settings(csv_p.parent / SETTINGS_FILE, report)

    return Catalog(
        df=df,
        settings=settings,
        columns=header,
        csv_path=csv_p,
        images_dir=img_dir,
        fingerprint=fp,
        report=report,
        line_terminator="\r\n" if crlf else "\n",
        had_bom=had_bom,
        skip_malformed=skip_malformed,
        skipped_rows=skipped,
    )
