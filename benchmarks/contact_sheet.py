"""A contact sheet of label issues for a person to judge: one tile per product with its photo, rank,
id, given label, suggestion, kind and reasons (matplotlib; used by ``benchmarks/label_issues.py``)."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pandas as pd

COLS = 5
TILE_W, TILE_H = 4.6, 2.0  # inches


def contact_sheet(entries: pd.DataFrame, names: pd.Series, image_path: Callable[[int], Path], out: Path,
                  title: str = "", cols: int = COLS, dpi: int = 80) -> Path:
    """Write ``entries`` (queue rows: given, suggestion, kind, score, reasons; index id) as a PNG grid
    of ``cols`` tiles a row at ``dpi`` (fewer columns and more dots: text a person can read on screen)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from PIL import Image

    n = len(entries)
    rows = max(1, -(-n // cols))
    fig = plt.figure(figsize=(cols * TILE_W, rows * TILE_H + 0.6), dpi=dpi)
    if title:
        fig.suptitle(textwrap.fill(title, 160), fontsize=11, y=1 - 0.25 / (rows * TILE_H + 0.6))
    top = 1 - 0.6 / (rows * TILE_H + 0.6)
    for k, (pid, r) in enumerate(entries.iterrows()):
        row, col = divmod(k, cols)
        x0 = col / cols
        y0 = top - (row + 1) * top / rows
        ax = fig.add_axes((x0 + 0.003, y0 + 0.004, 0.26 / cols, top / rows - 0.008))
        ax.axis("off")
        try:
            ax.imshow(Image.open(image_path(int(pid))).convert("RGB"))
        except OSError:
            ax.text(0.5, 0.5, "no image", ha="center", va="center", fontsize=8)
        reasons = "\n".join(textwrap.wrap(str(r["reasons"]), 48)[:6])
        text = (f"#{k + 1}  id {pid}  score {r['score']:.3f}{'  PHOTO?' if r['kind'] == 'photo' else ''}\n"
                f"given: {r['given']}\nsuggested: {r['suggestion'] or '-'}\n"
                f"{textwrap.shorten(str(names.get(pid, '')), 52)}\n{reasons}")
        fig.text(x0 + 0.28 / cols, y0 + top / rows - 0.006, text, fontsize=6.6, va="top", ha="left", family="DejaVu Sans")
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out)
    plt.close(fig)
    return out


def paged_sheets(entries: pd.DataFrame, names: pd.Series, image_path: Callable[[int], Path], out_dir: Path,
                 title: str, per_sheet: int = 24) -> list[Path]:
    """``entries`` as ``out_dir/sheet-N.png``, ``per_sheet`` tiles each, 4 a row at a size a person reads
    on screen; each sheet's title is ``title`` followed by which of the entries it holds."""
    out = []
    for k in range(0, len(entries), per_sheet):
        last = min(k + per_sheet, len(entries))
        out.append(contact_sheet(entries.iloc[k:last], names, image_path, out_dir / f"sheet-{k // per_sheet + 1}.png",
                                 title=f"{title}, {k + 1}-{last} of {len(entries)}", cols=4, dpi=110))
    return out
