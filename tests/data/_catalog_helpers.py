"""Helpers for the data tests: tiny catalogs written to tmp_path, with real JPEGs."""

from __future__ import annotations

import hashlib
import io
from functools import lru_cache
from pathlib import Path

from fashion_review.data.catalog import REQUIRED_COLUMNS

HEADER = ",".join(REQUIRED_COLUMNS)
DEFAULTS = {
    "gender": "Men",
    "masterCategory": "Apparel",
    "subCategory": "Topwear",
    "articleType": "Shirts",
    "baseColour": "Blue",
    "season": "Fall",
    "year": "2011",
    "usage": "Casual",
    "productDisplayName": "Plain Shirt",
}


def row(pid, **over) -> str:
    """One CSV line (no line end) for product ``pid``; keyword arguments override columns."""
    vals = {**DEFAULTS, **over}
    return ",".join([str(pid)] + [vals[c] for c in REQUIRED_COLUMNS[1:]])


def csv_text(*rows: str, header: str = HEADER, nl: str = "\n") -> str:
    return nl.join([header, *rows]) + nl


@lru_cache(maxsize=None)
def jpeg_bytes(shade: int = 128, size: tuple[int, int] = (60, 80)) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", size, (shade, 255 - shade, 60)).save(buf, "JPEG", quality=60)
    return buf.getvalue()


def write_dataset(folder: Path, content: str | bytes, images=(), *, placeholder: bool = False) -> Path:
    """Write ``folder/styles.csv`` and ``folder/images/<id>.jpg`` for ``images``; return folder.

    ``placeholder``: empty image files instead of real JPEGs (existence is all the catalog checks).
    """
    folder.mkdir(parents=True, exist_ok=True)
    data = content.encode("utf-8") if isinstance(content, str) else content
    (folder / "styles.csv").write_bytes(data)
    img = folder / "images"
    img.mkdir(exist_ok=True)
    for pid in images:
        (img / f"{pid}.jpg").write_bytes(b"" if placeholder else jpeg_bytes(int(pid) * 37 % 256))
    return folder


def tree_digest(folder: Path) -> dict[str, str]:
    """Relative path -> sha256 of every file under ``folder`` (to prove nothing was written)."""
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }
