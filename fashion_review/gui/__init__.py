"""The Qt app (the only package that imports PySide6)."""
