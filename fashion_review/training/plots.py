"""PNG figures for evaluation: confusion matrices, precision-recall curves, training curves.

Matplotlib's object API on the Agg canvas (``Figure`` + ``FigureCanvasAgg``): no pyplot, so no
GUI backend is ever chosen and nothing global changes (safe from the app's worker threads).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from fashion_review.fsutil import atomic_file


def _figure(width: float, height: float):  # noqa: ANN202
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _save(fig, path: Path) -> Path:  # noqa: ANN001
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_file(path, "wb") as f:
        fig.savefig(f, format="png")
    return path


def confusion_png(matrix: np.ndarray, classes: Sequence[str], path: Path, *, title: str,
                  normalised: bool = False) -> Path:
    """A confusion matrix (rows: given labels, columns: predictions) as a heat map with numbers."""
    k = len(classes)
    size = max(4.0, 0.42 * k + 2.5)
    fig = _figure(size + 1.0, size)
    ax = fig.add_subplot()
    m = np.asarray(matrix, dtype=float)
    im = ax.imshow(m, cmap="Blues", vmin=0, vmax=1 if normalised else max(1.0, m.max()))
    fig.colorbar(im, ax=ax, shrink=0.8)
    ax.set_xticks(range(k), labels=list(classes), rotation=90, fontsize=7)
    ax.set_yticks(range(k), labels=list(classes), fontsize=7)
    ax.set_xlabel("predicted")
    ax.set_ylabel("given (effective label)")
    ax.set_title(title, fontsize=10)
    if k <= 30:
        threshold = (1 if normalised else max(1.0, m.max())) / 2
        for i in range(k):
            for j in range(k):
                v = m[i, j]
                if v == 0:
                    continue
                text = f"{v:.2f}" if normalised else f"{int(v)}"
                ax.text(j, i, text, ha="center", va="center", fontsize=6,
                        color="white" if v > threshold else "black")
    return _save(fig, path)


def pr_curves_png(curves: Mapping[str, tuple[np.ndarray, np.ndarray, float]], path: Path, *, title: str) -> Path:
    """Per-class precision-recall curves, ``{class: (precision, recall, average_precision)}``."""
    fig = _figure(9.0, 6.0)
    ax = fig.add_subplot()
    import matplotlib

    cmap = matplotlib.colormaps["tab20"]
    for i, (name, (prec, rec, ap)) in enumerate(sorted(curves.items(), key=lambda kv: -kv[1][2])):
        ax.step(rec, prec, where="post", lw=1.2, color=cmap(i % 20), label=f"{name} (AP {ap:.3f})")
    ax.set_xlim(0, 1.01)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("recall")
    ax.set_ylabel("precision")
    mean_ap = float(np.mean([c[2] for c in curves.values()])) if curves else float("nan")
    ax.set_title(f"{title} (mean AP {mean_ap:.3f})", fontsize=10)
    ax.grid(alpha=0.3)
    if curves:
        ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=7, frameon=False)
    return _save(fig, path)


def training_curves_png(history: Mapping[str, Sequence[float]], path: Path, *, title: str,
                        loss_key: str = "loss", accuracy_key: str = "accuracy",
                        best_epoch: int | None = None) -> Path:
    """Loss and accuracy per epoch, training and validation (``val_`` keys), from Keras' history."""
    fig = _figure(10.0, 4.0)
    for n, (key, label) in enumerate(((loss_key, "loss"), (accuracy_key, "accuracy"))):
        ax = fig.add_subplot(1, 2, n + 1)
        for k, style in ((key, "-o"), (f"val_{key}", "--s")):
            values = history.get(k)
            if values:
                ax.plot(range(1, len(values) + 1), values, style, ms=3, label=k)
        if best_epoch:
            ax.axvline(best_epoch, color="grey", lw=0.8, ls=":", label=f"best epoch {best_epoch}")
        ax.set_xlabel("epoch")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle(title, fontsize=10)
    return _save(fig, path)
