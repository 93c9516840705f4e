"""The Qt app (the only package that imports PySide6)."""

from fashion_review.gui._compat import protect_singletons

protect_singletons()  # PySide6 6.12 + Python 3.11 drop references to None/True; see _compat
