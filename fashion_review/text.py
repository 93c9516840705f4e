"""Wording shared by the command line and the app (no Qt, no pandas)."""

from __future__ import annotations

#: Plurals that are not the word + "s".
_IRREGULAR = {"class": "classes", "batch": "batches", "is": "are", "was": "were", "has": "have"}


def plural(n: int, word: str, words: str | None = None) -> str:
    """``1 product``, ``2 products``, ``1,052 products``, ``0 classes`` (``words``: the plural when irregular)."""
    many = words or _IRREGULAR.get(word, word + "s")
    return f"{n:,} {word if n == 1 else many}"
