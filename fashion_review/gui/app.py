"""Starting the app: the QApplication, the main window, and the headless screenshot mode.

Nothing here (nor in anything it imports at module level) imports TensorFlow or Keras: the
window comes up first; models load only when a job needs them.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

#: How long the screenshot mode waits for the catalog, splits and visible thumbnails.
SCREENSHOT_TIMEOUT_S = 120.0


def make_app(argv: list[str] | None = None):  # noqa: ANN201 - QApplication
    """The QApplication (created once), with the app's name and a consistent style."""
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance()
    if app is None:
        app = QApplication(argv if argv is not None else [sys.argv[0]])
    app.setApplicationName("fashion-review")
    app.setApplicationDisplayName("Fashion Review")
    app.setOrganizationName("fashion-review")
    app.setStyle("Fusion")
    return app


def run(data: str | os.PathLike[str] | None = None, screenshot: str | os.PathLike[str] | None = None,
        view: str | None = None, report_json: bool = False) -> int:
    """Open the app on ``data`` (else the last data set, else the bundled sample); returns the exit code.

    With ``screenshot``, runs offscreen: waits until the catalog (and cached predictions), the
    splits and the thumbnails on screen are shown, saves the window to that PNG and exits; no
    message box opens (warnings go to stderr).  ``report_json`` then prints what was shown
    (:func:`shown`) as one JSON line, for scripts and CI.  Missing system libraries (a minimal
    Linux) are named before Qt could abort on them (:mod:`fashion_review.gui.preflight`).
    """
    if screenshot is not None:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from fashion_review.gui import preflight

    problem = preflight.problem()
    if problem:
        print(problem, file=sys.stderr)
        return 2
    try:
        import PySide6.QtWidgets  # noqa: F401 - the first import of Qt's GUI libraries
    except ImportError as exc:
        print(preflight.import_problem(exc), file=sys.stderr)
        return 2
    from fashion_review import paths
    from fashion_review.gui import dialogs
    from fashion_review.gui.main_window import MainWindow
    from fashion_review.gui.settings import AppSettings

    dialogs.set_headless(screenshot is not None)

    app = make_app()
    settings = AppSettings.load()
    if data is None:
        last = settings.last_data
        data = last if last and (Path(last) / "styles.csv").is_file() else paths.SAMPLE_CATALOG
    win = MainWindow(settings)
    if view is not None:
        win.set_view(view)
    if screenshot is not None:
        win.resize(1440, 900)
    win.open_dataset(data)  # reading starts in a worker while the window comes up
    win.show()
    if screenshot is None:
        return int(app.exec())

    out = Path(screenshot)
    state = {"code": 1, "error": ""}
    start = time.monotonic()

    def failed(message: str) -> None:
        state["error"] = message
        app.exit(2)

    def poll() -> None:
        if state["error"]:
            return
        done = win.is_settled()
        if done or time.monotonic() - start > SCREENSHOT_TIMEOUT_S:
            app.processEvents()
            ok = win.grab().save(str(out), "PNG")
            state["code"] = 0 if ok and done else 1
            if not ok:
                state["error"] = f"could not write {out}"
            elif not done:
                state["error"] = f"timed out after {SCREENSHOT_TIMEOUT_S:.0f} s; saved what was shown"
            app.exit(state["code"])
            return
        QTimer.singleShot(50, poll)

    from PySide6.QtCore import QTimer

    win.load_failed.connect(failed)
    QTimer.singleShot(50, poll)
    code = app.exec()
    if state["error"]:
        print(f"fashion-review gui: {state['error']}", file=sys.stderr)
    if report_json:
        import json

        print(json.dumps({"screenshot": str(out), **shown(win)}))
    win.close()
    return int(code if code else state["code"])


def shown(win) -> dict:  # noqa: ANN001 - a MainWindow
    """What the window shows: data set, products, the model whose predictions are shown (or null)."""
    s = win.session
    t = s.table if s is not None else None
    pred = t.predictions if t is not None else None
    return {
        "data": str(s.data_path) if s is not None else None,
        "products": len(t) if t is not None else 0,
        "model": (t.model_version or None) if pred is not None else None,
        "predicted": len(pred) if pred is not None else 0,
        "view": win.view_name,
        "title": win.windowTitle(),
        "status": win.model_label.text(),
        "settled": win.is_settled(),
    }
