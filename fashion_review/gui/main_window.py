"""The main window: browse the catalog, see predictions against labels, correct them.

Layout (napari-like layering: the window wires widgets to the headless core and to each other,
the widgets only show and emit): a filter bar over a stack of views (thumbnail grid, table,
confusion matrix) that share one :class:`~fashion_review.gui.catalog_model.CatalogModel` and one
selection; the detail panel and the history panel in docks on the right.

Every correction goes to the corrections store first (committed before ``record`` returns), then
the review table recomputes the rows it touched and the views repaint them.
"""

from __future__ import annotations

import html
from pathlib import Path

import numpy as np
from PySide6.QtCore import QByteArray, QItemSelection, QItemSelectionModel, QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QActionGroup, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QDockWidget,
    QFileDialog,
    QLabel,
    QMainWindow,
    QProgressBar,
    QStackedWidget,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from fashion_review import paths
from fashion_review.data.corrections import EXCLUDED, Change
from fashion_review.data.schemes import SCHEMES, fields_for_label
from fashion_review.errors import FashionReviewError
from fashion_review.gui import dialogs
from fashion_review.gui.catalog_model import SCHEME_TITLES, CatalogModel
from fashion_review.gui.catalog_views import CatalogGrid, CatalogTable, selected_rows
from fashion_review.gui.detail import DetailPanel
from fashion_review.gui.filter_bar import FilterBar
from fashion_review.gui.history import HistoryPanel, local_time
from fashion_review.gui.session import Session, compute_splits, load_session, run_split
from fashion_review.gui.settings import VIEWS, AppSettings
from fashion_review.gui.thumbnails import Thumbnails, cache_loader, jpeg_loader
from fashion_review.gui.workers import SingleJob, Worker
from fashion_review.review.filtering import Filter
from fashion_review.review.predictions import Predictions
from fashion_review.text import plural

WINDOW_INI = "window.ini"
#: Filter.part for each part of the confusion view ("all" = every usable product).
CONFUSION_PART = {"all": "usable", "train": "train", "val": "val", "test": "test"}


def _splits_job(generation: int, session: Session, effective, task=None) -> tuple:  # noqa: ANN001
    """Worker body: the splits of every scheme, tagged so stale results are dropped."""
    return generation, session, compute_splits(session.ds, effective, task=task, run_split=run_split(session.run))


def window_settings() -> QSettings:
    """Window geometry and dock layout, under the home folder (never the user's registry)."""
    return QSettings(str(paths.home() / WINDOW_INI), QSettings.Format.IniFormat)


class MainWindow(QMainWindow):
    """The review app's window."""

    #: A data set's catalog (and its active model's cached predictions) is shown.
    loaded = Signal()
    #: Opening a data set failed (message).
    load_failed = Signal(str)
    #: The split parts of every scheme are known (after loading and after corrections).
    splits_ready = Signal()
    #: Products changed by a correction, undo or redo (ids; the store has it, the views show it).
    corrected = Signal(object)

    def __init__(self, settings: AppSettings | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.settings = settings if settings is not None else AppSettings.load()
        self.session: Session | None = None
        self._splits: dict | None = None
        self._splits_generation = 0
        self._splits_done = False
        self._closing = False
        self._loading_path: Path | None = None
        self._runner = None  # gui.predict_runner.PredictionRunner, made on first use
        #: Replaces ``training.predict.predict`` in the prediction worker (tests); None: the real one.
        self.predict_fn = None
        self._device_asked = False
        self._retrain_dialog = None
        self.setWindowTitle("Fashion Review")
        self.resize(1440, 900)

        # Model, views, panels.
        self.model = CatalogModel(self)
        self.thumbs = Thumbnails(jpeg_loader(lambda pid: ""), parent=self)
        self.model.thumbnail = self.thumbs.get
        self.model.correction_note = self._correction_note
        self.thumbs.loaded.connect(self.model.thumbnails_arrived)

        self.grid = CatalogGrid()
        self.grid.setModel(self.model)
        self.table_view = CatalogTable()
        self.table_view.setModel(self.model)
        self.selection = self.grid.selectionModel()
        old = self.table_view.selectionModel()
        self.table_view.setSelectionModel(self.selection)
        if old is not None and old is not self.selection:
            old.deleteLater()
        self.confusion = self._make_confusion_view()

        self.stack = QStackedWidget()
        self.stack.addWidget(self.grid)
        self.stack.addWidget(self.table_view)
        self.stack.addWidget(self.confusion)
        self._views: dict[str, QWidget] = {"grid": self.grid, "table": self.table_view, "confusion": self.confusion}
        self.label_issues = None  # gui.label_issues.LabelIssues, installed below
        self.filter_bar = FilterBar()
        self.filter_bar.scheme.setCurrentIndex(max(0, self.filter_bar.scheme.findData(self.settings.scheme)))
        central = QWidget()
        cl = QVBoxLayout(central)
        cl.setContentsMargins(0, 0, 0, 0)
        cl.setSpacing(0)
        cl.addWidget(self.filter_bar)
        cl.addWidget(self.stack, 1)
        self.setCentralWidget(central)

        self.detail = DetailPanel()
        self.detail_dock = QDockWidget("Product", self)
        self.detail_dock.setObjectName("detail_dock")
        self.detail_dock.setWidget(self.detail)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.detail_dock)
        self.history = HistoryPanel()
        self.history_dock = QDockWidget("History", self)
        self.history_dock.setObjectName("history_dock")
        self.history_dock.setWidget(self.history)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.history_dock)
        self.resizeDocks([self.detail_dock, self.history_dock], [600, 220], Qt.Orientation.Vertical)
        self.resizeDocks([self.detail_dock], [380], Qt.Orientation.Horizontal)

        # Status bar: message, progress, counts, model.
        self.progress = QProgressBar()
        self.progress.setMaximumWidth(180)
        self.progress.setTextVisible(False)
        self.progress.hide()
        self.count_label = QLabel("")
        self.model_label = QLabel("No model predictions")
        self.model_label.setToolTip("The model whose cached predictions are shown")
        #: The device models run on (GPU name or CPU): guessed from the driver and the installed
        #: packages at start (no Keras import), confirmed by Keras when the Models menu is opened.
        from fashion_review.modeling.device import guess_device

        self.device_label = QLabel(f"Device: {guess_device()}")
        self.device_label.setToolTip("The device the models run on (confirmed by Keras when the Models menu "
                                     "is first opened)")
        sb = self.statusBar()
        sb.addPermanentWidget(self.progress)
        sb.addPermanentWidget(self.count_label)
        sb.addPermanentWidget(self.model_label)
        sb.addPermanentWidget(self.device_label)

        from fashion_review.gui.model_chooser import ActiveRunWatcher

        #: Notices `fashion-review models activate` done outside the app.
        self.active_watcher = ActiveRunWatcher(self)
        self.active_watcher.changed.connect(self._on_active_changed_elsewhere)
        self._load_job = SingleJob(self)
        self._splits_job = SingleJob(self)
        self._splits_timer = QTimer(self)
        self._splits_timer.setSingleShot(True)
        self._splits_timer.setInterval(800)
        self._splits_timer.timeout.connect(self._start_splits)
        self._detail_timer = QTimer(self)
        self._detail_timer.setSingleShot(True)
        self._detail_timer.setInterval(0)
        self._detail_timer.timeout.connect(self._update_detail)

        self._make_actions()
        self._make_menus()
        self._make_toolbar()
        self._connect()
        from fashion_review.gui.lookalikes import install as install_lookalikes

        self.lookalikes = install_lookalikes(self)  # similar products, duplicates, colour palettes

        from fashion_review.gui.label_issues import LabelIssues

        self.label_issues = LabelIssues(self)  # the Label issues view, its keys, Review > Find label issues

        from fashion_review.gui.reference_offer import ReferenceOffer

        self.reference_offer = ReferenceOffer(self)  # a catalog with no model: the shipped reference model
        self.set_view(self.settings.view if self.settings.view in VIEWS else "grid")
        self._restore_layout()
        self._update_undo_actions()

    # -- building -----------------------------------------------------------------------

    def _make_confusion_view(self) -> QWidget:
        """The confusion-matrix view (gui/confusion.py), or a placeholder until it exists."""
        try:
            from fashion_review.gui.confusion import ConfusionMatrixView
        except ImportError:
            ConfusionMatrixView = None  # noqa: N806
        if ConfusionMatrixView is None:
            label = QLabel("The confusion-matrix view is not available in this build.")
            label.setAlignment(Qt.AlignmentFlag.AlignCenter)
            return label
        view = ConfusionMatrixView()
        view.cell_clicked.connect(self._on_confusion_cell)
        view.class_clicked.connect(self._on_confusion_class)
        return view

    def _action(self, text: str, slot, shortcuts=(), tip: str = "", checkable: bool = False) -> QAction:  # noqa: ANN001
        """An action of the window.  ``slot`` is called with no argument, or with the new state
        (bool) for a ``checkable`` action: ``triggered(checked)`` never lands in a slot's
        optional parameter (that is how "Predict the catalog" once got ``predict_fn=False``)."""
        a = QAction(text, self)
        keys = [QKeySequence(k) if not isinstance(k, QKeySequence) else k for k in shortcuts]
        if keys:
            a.setShortcuts(keys)
            a.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        shown = ", ".join(k.toString(QKeySequence.SequenceFormat.NativeText) for k in keys[:2])
        a.setToolTip(f"{tip or text.replace('&', '').rstrip('…')}" + (f"  ({shown})" if shown else ""))
        a.setStatusTip(tip or text.replace("&", ""))
        a.setCheckable(checkable)
        if slot is not None:
            if checkable:
                a.triggered.connect(lambda checked=False, f=slot: f(bool(checked)))
            else:
                a.triggered.connect(lambda _checked=False, f=slot: f())
        self.addAction(a)  # shortcuts work even when the menu bar is hidden
        return a

    def add_view(self, name: str, widget: QWidget, text: str, shortcut: str, tip: str) -> QAction:
        """Another view in the stack, with its checkable View menu action (after the built-in ones)."""
        self._views[name] = widget
        a = self._action(text, lambda _=False, n=name: self.set_view(n), [shortcut], tip, checkable=True)
        next(iter(self.act_views.values())).actionGroup().addAction(a)
        self.act_views[name] = a
        actions = self.view_menu.actions()
        self.view_menu.insertAction(actions[len(self.act_views) - 1] if len(actions) >= len(self.act_views) else None, a)
        return a

    def _issues_active(self) -> bool:
        """The Label issues view is shown: the keys act on its queue (gui/label_issues.py)."""
        return self.label_issues is not None and self.label_issues.active()

    def _make_actions(self) -> None:
        A = self._action  # noqa: N806
        SK = QKeySequence.StandardKey  # noqa: N806
        self.act_open = A("&Open data set…", self.choose_dataset, [SK.Open], "Open a folder with styles.csv and images/")
        self.act_problems = A("Catalog &problems…", self.show_catalog_problems, (),
                              "What the reader found wrong in styles.csv (rows skipped, blank fields, ...)")
        self.act_problems.setEnabled(False)  # until a catalog is open
        self.act_quit = A("&Quit", self.close, [SK.Quit])
        self.act_undo = A("&Undo", self.undo, ["Ctrl+Z"], "Undo the latest change")
        self.act_redo = A("&Redo", self.redo, ["Ctrl+Shift+Z", "Ctrl+Y"], "Redo the change undone last")
        self.act_select_all = A("Select &all", self._select_all, [SK.SelectAll], "Select every product shown")
        self.act_find = A("&Find…", self._focus_search, [SK.Find], "Search names and ids")
        self.act_clear_filters = A("&Clear filters", self.filter_bar.clear, ["Ctrl+Shift+F"], "Show every product")
        self.act_refilter = A("Re&apply filter", self._refilter, ["F5"],
                              "Filter again (corrected products stay in place until then)")
        group = QActionGroup(self)
        self.act_views = {}
        for k, (name, text) in enumerate((("grid", "&Grid"), ("table", "&Table"), ("confusion", "&Confusion matrix"))):
            a = A(text, lambda _on, n=name: self.set_view(n), [f"Ctrl+{k + 1}"], f"Show the {name} view",
                  checkable=True)
            group.addAction(a)
            self.act_views[name] = a
        self.act_bigger = A("&Larger thumbnails", lambda: self._zoom(+1), ["Ctrl++", "Ctrl+="])
        self.act_smaller = A("&Smaller thumbnails", lambda: self._zoom(-1), ["Ctrl+-"])
        self.act_accept = A("&Accept prediction", self.accept_predictions, ["Return", "Enter"],
                            "Set the predicted label of the scheme in focus")
        self.act_label = A("Set &label…", self.detail.focus_label, ["L"], "Type a label for the scheme in focus")
        self.act_top = [A(f"Use prediction &{k + 1}", lambda k=k: self.use_top(k), [str(k + 1)],
                          f"Set the model's choice number {k + 1}") for k in range(3)]
        self.act_exclude = A("E&xclude / include", self.toggle_excluded, ["X"],
                             "Exclude from training (or include again)")
        self.act_next = A("&Next product", self.next_product, ["J"], "Next product (or the arrow keys)")
        self.act_prev = A("&Previous product", self.previous_product, ["K"], "Previous product (or the arrow keys)")
        self.act_advance = A("Advance after &correcting", self._on_advance_toggled, (),
                             "Move to the next product after correcting one", checkable=True)
        self.act_advance.setChecked(self.settings.advance)
        sgroup = QActionGroup(self)
        self.act_schemes = {}
        for k, s in enumerate(SCHEMES):
            a = A(SCHEME_TITLES.get(s, s), lambda _on, s=s: self.set_scheme(s), [f"Alt+{k + 1}"],
                  f"Focus the {s} scheme", checkable=True)
            sgroup.addAction(a)
            self.act_schemes[s] = a
        self.act_choose = A("&Choose model…", self.choose_model, ["Ctrl+Shift+M"],
                            "Choose the model the app shows among this data set's trained runs")
        self.act_predict = A("&Predict the catalog", self.predict_catalog, ["Ctrl+Shift+P"],
                             "Run the active model over every product (in the background; Cancel stops it)")
        self.act_retrain = A("&Retrain…", self.open_retrain, ["Ctrl+Shift+R"],
                             "Retrain the model on the corrected labels (heads only, or fully)")
        self.act_shortcuts = A("&Keyboard shortcuts", self._show_shortcuts, ["F1"])
        self.act_about = A("&About", self._show_about)

    def _make_menus(self) -> None:
        mb = self.menuBar()
        m = mb.addMenu("&File")
        m.addAction(self.act_open)
        self.recent_menu = m.addMenu("Open &recent")
        self.recent_menu.aboutToShow.connect(self._fill_recent)
        self._fill_recent()
        m.addAction(self.act_problems)
        m.addSeparator()
        m.addAction(self.act_quit)
        m = mb.addMenu("&Edit")
        m.addAction(self.act_undo)
        m.addAction(self.act_redo)
        m.addSeparator()
        m.addAction(self.act_select_all)
        m.addAction(self.act_find)
        m = mb.addMenu("&View")
        self.view_menu = m
        for a in self.act_views.values():
            m.addAction(a)
        m.addSeparator()
        m.addAction(self.act_bigger)
        m.addAction(self.act_smaller)
        m.addSeparator()
        m.addAction(self.act_clear_filters)
        m.addAction(self.act_refilter)
        m.addSeparator()
        m.addAction(self.detail_dock.toggleViewAction())
        m.addAction(self.history_dock.toggleViewAction())
        m = mb.addMenu("&Review")
        self.review_menu = m
        m.addAction(self.act_accept)
        m.addAction(self.act_label)
        for a in self.act_top:
            m.addAction(a)
        m.addAction(self.act_exclude)
        m.addSeparator()
        m.addAction(self.act_next)
        m.addAction(self.act_prev)
        m.addSeparator()
        sm = m.addMenu("&Scheme in focus")
        for a in self.act_schemes.values():
            sm.addAction(a)
        m.addAction(self.act_advance)
        self.models_menu = mb.addMenu("&Models")
        self.models_menu.addAction(self.act_choose)
        self.models_menu.addAction(self.act_predict)
        self.models_menu.addAction(self.act_retrain)
        self.models_menu.aboutToShow.connect(self._on_models_menu)
        m = mb.addMenu("&Help")
        m.addAction(self.act_shortcuts)
        m.addAction(self.act_about)

    def _make_toolbar(self) -> None:
        tb = QToolBar("Main")
        tb.setObjectName("main_toolbar")
        tb.setMovable(False)
        tb.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        for a in self.act_views.values():
            tb.addAction(a)
        tb.addSeparator()
        tb.addAction(self.act_undo)
        tb.addAction(self.act_redo)
        tb.addSeparator()
        tb.addAction(self.act_accept)
        tb.addAction(self.act_exclude)
        tb.addSeparator()
        tb.addAction(self.act_prev)
        tb.addAction(self.act_next)
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, tb)
        self.toolbar = tb

    def _connect(self) -> None:
        self.filter_bar.changed.connect(self._on_filter_changed)
        self.filter_bar.scheme_changed.connect(self._on_bar_scheme)
        self.model.rows_changed.connect(self._on_rows_changed)
        self.selection.currentChanged.connect(self._schedule_detail)
        self.selection.selectionChanged.connect(self._schedule_detail)
        self.grid.visible_changed.connect(self._prefetch)
        self.grid.doubleClicked.connect(lambda _i: self.set_view("table"))
        self.detail.label_chosen.connect(self.set_label)
        self.detail.new_label_requested.connect(self.add_new_label)
        self.detail.label_box_left.connect(self.focus_view)
        self.detail.message.connect(lambda text: self.statusBar().showMessage(text, 8000))
        self.detail.accept_requested.connect(self.accept_predictions)
        self.detail.exclude_requested.connect(self.toggle_excluded)
        self.history.undo_requested.connect(self.undo)
        self.history.redo_requested.connect(self.redo)
        self.history.batch_activated.connect(self.show_batch)

    # -- opening ------------------------------------------------------------------------

    def open_dataset(self, data: str | Path | None = None) -> None:
        """Open a data folder (the bundled sample when None) in the background; emits loaded."""
        path = Path(data) if data is not None else paths.SAMPLE_CATALOG
        self.statusBar().showMessage(f"Opening {path} …")
        self.progress.setRange(0, 0)
        self.progress.show()
        self._loading_path = path
        worker = Worker(load_session, str(path))
        worker.signals.result.connect(self._on_session)
        worker.signals.errored.connect(self._on_load_error)
        worker.signals.finished.connect(self.progress.hide)
        self._load_job.start(worker)

    def show_catalog_problems(self) -> None:
        """File > Catalog problems: what the reader found wrong in the open catalog."""
        if self.session is None:
            return
        from fashion_review.gui.catalog_problems import CatalogProblemsDialog

        CatalogProblemsDialog(self.session.ds.catalog, self).exec()

    def choose_dataset(self) -> None:
        start = self.settings.last_data or str(Path.home())
        folder = QFileDialog.getExistingDirectory(self, "Open a data set (a folder with styles.csv)", start)
        if folder:
            self.open_dataset(folder)

    def _fill_recent(self) -> None:
        self.recent_menu.clear()
        recent = [r for r in self.settings.recent if r]
        sample = str(paths.SAMPLE_CATALOG.resolve())
        for r in recent:
            name = "Bundled sample catalog" if r == sample else r
            a = self.recent_menu.addAction(name)
            a.setEnabled(Path(r).exists())
            a.triggered.connect(lambda _=False, r=r: self.open_dataset(r))
        if sample not in recent:
            if recent:
                self.recent_menu.addSeparator()
            a = self.recent_menu.addAction("Bundled sample catalog")
            a.triggered.connect(lambda: self.open_dataset(paths.SAMPLE_CATALOG))

    def _on_load_error(self, message: str, _traceback: str = "") -> None:
        path = self._loading_path
        self.statusBar().showMessage(f"Could not open {path}: {message}")
        self.load_failed.emit(message)
        if self.isVisible():
            dialogs.warn(self, "Could not open the data set", f"{path}\n\n{message}")

    def _on_session(self, session: Session) -> None:
        if self._closing:
            session.close()
            return
        path = session.data_path
        old, self.session = self.session, session
        self._splits = None
        self._splits_done = False
        cache = session.image_cache
        cat = session.ds.catalog
        jpeg = jpeg_loader(lambda pid, d=str(cat.images_dir): f"{d}/{int(pid)}.jpg")
        self.thumbs.set_loader(cache_loader(cache, jpeg) if cache is not None else jpeg)
        flt = self.filter_bar.filter()
        self.model.set_scheme(flt.scheme, refilter=False)  # its columns first in the table
        self.model.filter = flt
        self.model.set_table(session.table)
        self._update_classes()
        self._update_model_label()
        self.table_view.fit_columns()
        if self.model.rowCount():
            self.select_rows([0])
        self.settings.remember(path)
        self.settings.save()
        is_sample = path.resolve() == paths.SAMPLE_CATALOG.resolve()
        # The platform adds the application's display name ("… — Fashion Review"): only the data set here.
        self.setWindowTitle("Bundled sample catalog" if is_sample else path.name)
        self._refresh_history()
        self._update_confusion()
        self.active_watcher.watch(session.ds.fingerprint)
        if old is not None:
            old.close()
        n = len(session.table)
        msg = f"Opened {path} · {plural(n, 'product')}"
        from fashion_review.gui.catalog_problems import status_text

        problems = status_text(cat)
        if problems:
            msg += f" · {problems}"
        if session.warning:
            msg += f" · {session.warning}"
        self.statusBar().showMessage(msg, 15000)
        self.act_problems.setEnabled(True)
        empty = cat.no_products_message()
        if empty:
            dialogs.warn(self, "No products", f"{empty}.\n\nThere is nothing to review; File > Open data set… "
                                              "opens another folder.")
        self.loaded.emit()
        # The splits (pandas, in a worker) start once the grid has painted: the worker would
        # otherwise hold the interpreter lock while the first screen is drawn.
        self._splits_timer.start(150)

    # -- splits (background) ----------------------------------------------------------

    def _start_splits(self) -> None:
        if self.session is None:
            return
        self._splits_generation += 1
        gen = self._splits_generation
        s = self.session
        worker = Worker(_splits_job, gen, s, s.table.effective.copy())
        worker.signals.result.connect(self._on_splits)
        worker.signals.errored.connect(self._on_splits_error)
        self._splits_job.start(worker)

    def _on_splits_error(self, message: str, _traceback: str = "") -> None:
        self.statusBar().showMessage(f"Could not compute the splits: {message}", 8000)

    def _on_splits(self, out: tuple) -> None:
        gen, session, result = out
        if gen != self._splits_generation or session is not self.session:
            return
        self._splits = result
        for s, d in result.items():
            session.table.set_parts(s, d["split"])
        self.model.part_model = getattr(session.run, "id", "") if run_split(session.run) is not None else ""
        self.model.refresh()
        self._splits_done = True
        self._update_confusion()
        self._schedule_detail()
        self.splits_ready.emit()

    # -- predictions --------------------------------------------------------------------

    def set_predictions(self, pred: Predictions | None) -> None:
        """Show ``pred`` (e.g. just computed) instead of the cached predictions."""
        if self.session is None:
            raise RuntimeError("no data set open")
        current, selected = self.current_pid(), self.selected_pids()
        previous_run = self.session.run
        self.session.run = self._run_of(pred)
        self.session.table.set_predictions(pred)
        self.model.set_table(self.session.table)
        self._restore_selection(current, selected)
        self._update_classes()
        self._update_model_label()
        self._update_confusion()
        self._schedule_detail()
        if getattr(self.session.run, "id", None) != getattr(previous_run, "id", None) and self._splits_done:
            self._start_splits()  # the parts the new model held out

    def _run_of(self, pred: Predictions | None):  # noqa: ANN202 - training.registry.RunInfo | None
        """The registry run that made ``pred`` (for its own train/val/test parts), if known."""
        if pred is None or not pred.model_version or self.session is None:
            return None
        from fashion_review.errors import FashionReviewError
        from fashion_review.training import registry  # no Keras at module level

        try:
            return registry.get_run(pred.model_version, self.session.ds.fingerprint)
        except (FashionReviewError, OSError, ValueError):
            return None

    def _update_model_label(self) -> None:
        text, hint = self._model_state()
        self._update_model_actions()
        self.model_label.setText(text)
        self.model_label.setToolTip(hint or "The model whose predictions are shown")
        if hasattr(self.confusion, "set_empty_hint"):
            self.confusion.set_empty_hint(hint)

    def _model_state(self) -> tuple[str, str]:
        """(status-bar text, what to do when no predictions are shown: for the confusion view too)."""
        t = self.session.table if self.session else None
        if self.session is None:
            return "No model predictions", "Open a data set (File > Open data set…)."
        from fashion_review.training import registry

        fp = self.session.ds.fingerprint
        try:
            active, runs = registry.active_run(fp), registry.list_runs(fp)
        except (FashionReviewError, OSError, ValueError):
            active, runs = None, []
        if t is not None and t.predictions is not None:
            shown = t.model_version or "unnamed"
            if active is not None and active.id != shown:
                return (f"Model: {shown} (the active model {active.id} has no predictions yet)",
                        f"Models > Predict the catalog predicts with the active model {active.id}.")
            return f"Model: {shown}", ""
        if active is not None:
            return (f"Model {active.id}: no predictions yet",
                    f"The active model {active.id} has not predicted this catalog yet: Models > Predict the "
                    "catalog (Ctrl+Shift+P), or “fashion-review predict” on the command line.")
        if runs:
            return (f"No active model ({plural(len(runs), 'trained run')}: Models > Choose model)",
                    f"No active model: Models > Choose model… (Ctrl+Shift+M) picks one of the "
                    f"{plural(len(runs), 'trained run')} of this data set (it predicts the catalog if it "
                    "has not yet), or “fashion-review models activate RUN”.")
        return ("No model yet",
                "No model has been trained on this data set yet: Models > Retrain… trains one, or on the command "
                "line “fashion-review train --activate”, then “fashion-review predict”.")

    def _update_confusion(self) -> None:
        view = self.confusion
        if not hasattr(view, "set_data") or self.session is None:
            return
        t = self.session.table
        if t.predictions is None or self._splits is None:
            view.set_data(t.predictions if self._splits is not None else None, {}, {})
            return
        labels = {s: d["usable"] for s, d in self._splits.items()}
        splits = {s: d["split"] for s, d in self._splits.items()}
        view.set_data(t.predictions, labels, splits)
        if hasattr(view, "set_scheme") and self.model.scheme in t.predictions.classes:
            try:
                view.set_scheme(self.model.scheme)
            except ValueError:
                pass

    def _on_confusion_cell(self, scheme: str, given: str, predicted: str) -> None:
        part = CONFUSION_PART.get(getattr(self.confusion, "part", lambda: "all")(), "usable")
        self.filter_bar.set_filter(Filter(scheme=scheme, given=given, predicted=predicted, part=part))
        self.set_view("grid")

    def _on_confusion_class(self, scheme: str, name: str, axis: str = "given") -> None:
        part = CONFUSION_PART.get(getattr(self.confusion, "part", lambda: "all")(), "usable")
        flt = Filter(scheme=scheme, part=part, **({"predicted": name} if axis == "predicted" else {"given": name}))
        self.filter_bar.set_filter(flt)
        self.set_view("grid")

    # -- running the models (gui/predict_runner.py, gui/retrain.py) -------------------------

    def _active_run(self):  # noqa: ANN202 - training.registry.RunInfo | None
        if self.session is None:
            return None
        from fashion_review.training import registry  # no Keras at module level

        return registry.active_run(self.session.ds.fingerprint)

    def _on_models_menu(self) -> None:
        self._update_model_actions()
        if self.session is not None and not self._device_asked:
            self._describe_device()

    def _update_model_actions(self) -> None:
        """Enable the Models actions for the data set's state (its active run, a data set at all)."""
        has = self.session is not None
        try:
            run = self._active_run() if has else None
        except (FashionReviewError, OSError, ValueError):
            run = None
        self.act_predict.setEnabled(run is not None)
        self.act_predict.setStatusTip("Run the active model over every product" if run is not None
                                      else "No active model yet: Models > Choose model, or Models > Retrain")
        self.act_retrain.setEnabled(has)
        self.act_choose.setEnabled(has)

    def _describe_device(self) -> None:
        """Confirm the device the status bar names (imports Keras in a worker: only when asked)."""
        from fashion_review.gui.predict_runner import describe_device_async

        self._device_asked = True
        describe_device_async(self.set_device)

    def set_device(self, name: str) -> None:
        self.device_label.setText(f"Device: {name}")

    def predict_catalog(self) -> bool:
        """Predict the catalog with the active model in a worker; the result replaces the
        cached predictions (Models > Predict the catalog)."""
        if self.session is None:
            return False
        run = self._active_run()
        if run is None:
            self.statusBar().showMessage("No active model yet: choose one (Models > Choose model) or train one "
                                         "(Models > Retrain).", 6000)
            return False
        return self.predict_with(run)

    def predict_with(self, run) -> bool:  # noqa: ANN001 - a RunInfo, or predict_runner.REFERENCE
        """Predict the catalog with ``run`` in the worker (progress in the status bar and a dialog)."""
        if self.session is None:
            return False
        from fashion_review.gui.predict_runner import PredictionRunner

        if self._runner is not None and self._runner.busy:
            self.statusBar().showMessage("The catalog is being predicted already (Cancel in its progress "
                                         "dialog stops it).", 5000)
            return False
        if self._runner is None:
            self._runner = PredictionRunner(self, predict_fn=self.predict_fn)
            self._runner.device_described.connect(self.set_device)
            self._runner.progress.connect(self._on_job_progress)
            self._runner.finished.connect(self._on_predicted)
            self._runner.failed.connect(lambda msg, _tb: self._error("Prediction failed", msg))
            self._runner.cancelled.connect(lambda: self.statusBar().showMessage("Prediction cancelled.", 5000))
        else:
            self._runner.predict_fn = self.predict_fn
        self.progress.setRange(0, 1000)
        self.progress.show()
        self._runner.start(run, self.session.ds)
        return True

    def _on_job_progress(self, p) -> None:  # noqa: ANN001 - tasks.Progress
        if p.fraction is None:
            self.progress.setRange(0, 0)
        else:
            self.progress.setRange(0, 1000)
            self.progress.setValue(int(1000 * max(0.0, min(1.0, p.fraction))))
        if p.message:
            self.statusBar().showMessage(p.message)

    def _on_predicted(self, pred: Predictions) -> None:
        self.progress.hide()
        self.set_predictions(pred)
        self.statusBar().showMessage(f"Predictions of {pred.model_version} for {plural(len(pred), 'product')}.", 8000)

    def open_retrain(self):  # noqa: ANN201 - the dialog
        """The one-click retrain dialog (non-modal); activating its run shows its predictions."""
        if self.session is None:
            return None
        from fashion_review.gui.retrain import RetrainDialog

        dlg = RetrainDialog(self.session.ds, self, effective=self.session.table.effective.copy(),
                            device=self._device_name())
        dlg.activated.connect(self._on_run_activated)
        dlg.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dlg.show()
        dlg.raise_()
        dlg.activateWindow()  # its Enter (Start) must not reach the window behind (accept a prediction)
        self._retrain_dialog = dlg
        return dlg

    def _device_name(self) -> str | None:
        text = self.device_label.text()
        return text.removeprefix("Device: ") if text.startswith("Device: ") and "…" not in text else None

    def choose_model(self):  # noqa: ANN201 - training.registry.RunInfo | None
        """Models > Choose model: list the runs, activate the one chosen, show (or first make) its predictions."""
        if self.session is None:
            return None
        from PySide6.QtWidgets import QDialog

        from fashion_review.gui.model_chooser import ChooseModelDialog, run_rows
        from fashion_review.training import registry

        fp = self.session.ds.fingerprint
        dlg = ChooseModelDialog(run_rows(fp), self)
        if dlg.exec() != QDialog.DialogCode.Accepted or not dlg.chosen:
            return None
        try:
            run = registry.activate(fp, dlg.chosen)
        except (FashionReviewError, OSError) as exc:
            self._error("The model was not activated", str(exc))
            return None
        self._on_run_activated(run)
        return run

    def _on_run_activated(self, run, *, elsewhere: bool = False) -> None:  # noqa: ANN001 - registry.RunInfo
        """``run`` became the active model: show its stored predictions, else predict the catalog
        with it (only when the app activated it: an activation from the command line only says so)."""
        from fashion_review.review.predictions import load_predictions

        self.active_watcher.sync()
        where = " (activated outside the app)" if elsewhere else ""
        path = getattr(run, "predictions_path", None)
        if path is not None and path.is_file():
            try:
                pred = load_predictions(path)
            except FashionReviewError as exc:
                self._error(f"The predictions of {run.id} cannot be read", str(exc))
                return
            self.set_predictions(pred)
            self.statusBar().showMessage(f"Model {run.id} is active{where}; its predictions are shown.", 8000)
        elif elsewhere:
            self._update_model_label()
            self.statusBar().showMessage(f"Model {run.id} is active{where}; it has no predictions yet: "
                                         "Models > Predict the catalog.", 10000)
        else:
            self.statusBar().showMessage(f"Model {run.id} is active; predicting the catalog with it …")
            self.predict_catalog()

    def _on_active_changed_elsewhere(self, run_id: str) -> None:
        """The registry's active pointer changed outside the app (``fashion-review models activate``)."""
        if self.session is None:
            return
        shown = getattr(self.session.run, "id", None) or self.session.table.model_version or None
        if run_id and run_id == shown:
            return
        from fashion_review.training import registry

        run = registry.active_run(self.session.ds.fingerprint)
        if run is None:
            self._update_model_label()
            return
        self._on_run_activated(run, elsewhere=True)

    # -- scheme, filter, views ------------------------------------------------------------

    def set_scheme(self, scheme: str) -> None:
        i = self.filter_bar.scheme.findData(scheme)
        if i >= 0:
            self.filter_bar.scheme.setCurrentIndex(i)  # -> _on_bar_scheme, then the filter

    def _on_bar_scheme(self, scheme: str) -> None:
        self.settings.scheme = scheme
        if scheme in self.act_schemes:
            self.act_schemes[scheme].setChecked(True)
        current, selected = self.current_pid(), self.selected_pids()
        self.model.set_scheme(scheme, refilter=False)
        self._restore_selection(current, selected)
        self._update_classes(scheme)
        if hasattr(self.confusion, "set_scheme") and self.session and self.session.table.has_predictions(scheme):
            try:
                self.confusion.set_scheme(scheme)
            except ValueError:
                pass
        self.grid.viewport().update()

    def _update_classes(self, scheme: str | None = None) -> None:
        if self.session is None:
            return
        s = scheme or self.filter_bar.filter().scheme
        t = self.session.table
        self.filter_bar.set_classes(t.known_labels(s), t.classes(s))
        if s in self.act_schemes:
            self.act_schemes[s].setChecked(True)

    def _on_filter_changed(self, flt: Filter) -> None:
        current = self.current_pid()
        selected = self.selected_pids()
        self.model.set_filter(flt)
        self._restore_selection(current, selected)
        self._schedule_detail()

    def _refilter(self) -> None:
        self._on_filter_changed(self.filter_bar.filter())

    def apply_filter(self, flt: Filter) -> None:
        """Show the products ``flt`` keeps (also sets the filter bar)."""
        self.filter_bar.set_filter(flt)

    def show_batch(self, batch_id: int) -> None:
        """Filter to the products of one batch of the history."""
        if self.session is None:
            return
        ids = sorted({c.product_id for c in self.session.store.history() if c.batch_id == batch_id})
        self.filter_bar.set_filter(Filter(scheme=self.model.scheme, ids=tuple(ids)))
        self.statusBar().showMessage(f"Products of batch {batch_id} (Clear filters to see all)", 6000)

    def _on_rows_changed(self, shown: int, total: int) -> None:
        self.filter_bar.set_count(shown, total)
        self.count_label.setText(f"{shown:,} / {total:,}")

    def set_view(self, name: str) -> None:
        """Show the grid, the table or the confusion matrix."""
        if name not in VIEWS:
            raise ValueError(f"unknown view {name!r}; choose one of {', '.join(VIEWS)}")
        if name not in self._views:
            raise ValueError(f"the {name} view is not available in this build")
        widget = self._views[name]
        self.stack.setCurrentWidget(widget)
        self.act_views[name].setChecked(True)
        self.filter_bar.setVisible(name in ("grid", "table"))
        self.settings.view = name
        if name == "issues":
            widget.table.setFocus()
            self._schedule_detail()
        elif name != "confusion":
            cur = self.selection.currentIndex()
            if cur.isValid():
                widget.scrollTo(cur)
            widget.setFocus()

    @property
    def view_name(self) -> str:
        w = self.stack.currentWidget()
        return next((n for n, v in self._views.items() if v is w), "grid")

    def _zoom(self, step: int) -> None:
        self.grid.set_thumb_size(self.grid.thumb_step + step)

    def _focus_search(self) -> None:
        if self.view_name == "confusion":
            self.set_view("grid")
        self.filter_bar.search.setFocus()
        self.filter_bar.search.selectAll()

    # -- selection ------------------------------------------------------------------------

    def current_pid(self) -> int | None:
        if self._issues_active():
            return self.label_issues.current_pid()
        idx = self.selection.currentIndex()
        return self.model.pid(idx.row()) if idx.isValid() and idx.row() < self.model.rowCount() else None

    def selected_pids(self) -> np.ndarray:
        if self._issues_active():
            return self.label_issues.view.selected_pids()
        rows = selected_rows(self.grid)
        rows = rows[rows < self.model.rowCount()]
        return self.model.pids(rows)

    def targets(self) -> np.ndarray:
        """The products an action applies to: the selection, else the current product."""
        sel = self.selected_pids()
        if len(sel):
            return sel
        cur = self.current_pid()
        return np.array([cur], dtype=np.int64) if cur is not None else np.zeros(0, np.int64)

    def select_rows(self, rows, current: int | None = None) -> None:  # noqa: ANN001
        """Select view ``rows`` (runs of rows become ranges) and make ``current`` (or the first) current."""
        rows = np.unique(np.asarray(rows, dtype=np.int64))
        sel = QItemSelection()
        last_col = self.model.columnCount() - 1
        if len(rows):
            breaks = np.flatnonzero(np.diff(rows) != 1)
            starts = np.concatenate([[rows[0]], rows[breaks + 1]])
            ends = np.concatenate([rows[breaks], [rows[-1]]])
            for a, b in zip(starts.tolist(), ends.tolist()):
                sel.select(self.model.index(a, 0), self.model.index(b, last_col))
        cur = int(rows[0]) if current is None and len(rows) else current
        flags = QItemSelectionModel.SelectionFlag
        if cur is not None and cur >= 0:
            self.selection.setCurrentIndex(self.model.index(cur, 0), flags.NoUpdate)
        self.selection.select(sel, flags.ClearAndSelect | flags.Rows)
        if cur is not None and cur >= 0:
            view = self.table_view if self.view_name == "table" else self.grid
            view.scrollTo(self.model.index(cur, 0))

    def select_pids(self, pids, current: int | None = None) -> None:  # noqa: ANN001
        rows = self.model.rows_of(pids)
        cur = self.model.row_of(current) if current is not None else None
        self.select_rows(rows, cur if cur is None or cur >= 0 else None)

    def _restore_selection(self, current: int | None, selected: np.ndarray) -> None:
        rows = self.model.rows_of(selected) if len(selected) else np.zeros(0, np.int64)
        cur = self.model.row_of(current) if current is not None else -1
        if len(rows) or cur >= 0:
            self.select_rows(rows if len(rows) else [cur], cur if cur >= 0 else None)
        elif self.model.rowCount():
            self.select_rows([0])
        else:
            self._schedule_detail()

    def _select_all(self) -> None:
        if self._issues_active():
            self.label_issues.view.table.selectAll()
            return
        if self.view_name == "confusion":
            return
        self.select_rows(np.arange(self.model.rowCount()), self.selection.currentIndex().row())

    def next_product(self) -> None:
        self._step(+1)

    def previous_product(self) -> None:
        self._step(-1)

    def _step(self, delta: int) -> None:
        if self._issues_active():
            self.label_issues.step(delta)
            return
        n = self.model.rowCount()
        if not n:
            return
        idx = self.selection.currentIndex()
        row = 0 if not idx.isValid() else max(0, min(n - 1, idx.row() + delta))
        self.select_rows([row])

    def _prefetch(self, first: int, last: int) -> None:
        """Queue the thumbnails of the next screenful, then those on screen (which load first)."""
        if first < 0 or self.session is None:
            return
        n = self.model.rowCount()
        span = last - first + 1
        ahead = np.arange(min(n, last + 1), min(n, last + 1 + span))
        shown = np.arange(first, last + 1)[::-1]
        has_image = self.session.table.frame["has_image"].to_numpy()
        for rows in (ahead, shown):
            if len(rows):
                pids = self.model.pids(rows)
                pos = self.model.rows[rows]
                self.thumbs.request_many(pids[has_image[pos]].tolist())

    def visible_thumbnails_loaded(self) -> bool:
        """Every product on screen in the grid has its thumbnail (or has none to load)."""
        if self.session is None:
            return False
        first, last = self.grid.visible_rows()
        if first < 0:
            return True
        pids = self.model.pids(np.arange(first, last + 1))
        has_image = self.session.table.frame["has_image"].to_numpy()[self.model.rows[np.arange(first, last + 1)]]
        return all(self.thumbs.cached(p) for p in pids[has_image].tolist())

    def is_settled(self) -> bool:
        """Catalog, predictions and splits shown, and the thumbnails on screen loaded."""
        if self.session is None or not self._splits_done or self._splits_timer.isActive():
            return False
        if self._load_job.busy or self._detail_timer.isActive():
            return False
        if self.label_issues is not None and not self.label_issues.is_settled():
            return False
        if self._runner is not None and self._runner.busy:  # e.g. the sample's first prediction
            return False
        if self.view_name == "grid":
            first, _ = self.grid.visible_rows()
            if first >= 0 and not self.visible_thumbnails_loaded():
                self._prefetch(*self.grid.visible_rows())
                return False
        return True

    # -- detail -----------------------------------------------------------------------------

    def _schedule_detail(self, *_args) -> None:  # noqa: ANN002
        self._detail_timer.start()

    def _update_detail(self) -> None:
        pid = self.current_pid()
        if self.session is None or pid is None:
            self.detail.clear()
            self._update_review_actions()
            return
        t = self.session.table
        scheme = self.model.scheme
        n_sel = max(1, len(selected_rows(self.grid)))
        self.detail.show_product(
            t, pid, scheme,
            image_path=self.session.ds.catalog.image_path(pid),
            history=self.session.store.history(pid),
            labels=t.known_labels(scheme),
            n_selected=n_sel,
        )
        self._update_review_actions()

    def _update_review_actions(self) -> None:
        has = self.session is not None and self.current_pid() is not None
        preds = has and self.session.table.has_predictions(self.model.scheme)
        if self._issues_active():
            preds = has and self.label_issues.has_entries()  # Enter / 1-3: the queue's suggestions
        for a in (self.act_label, self.act_exclude, self.act_next, self.act_prev):
            a.setEnabled(has)
        self.act_accept.setEnabled(bool(preds))
        for a in self.act_top:
            a.setEnabled(bool(preds))

    def _correction_note(self, pid: int) -> str:
        """Tooltip lines for a corrected product: given label, new label, who and how."""
        if self.session is None:
            return ""
        lines = []
        for c in reversed(self.session.store.history(pid)):
            if not c.active:
                continue
            who = {"prediction": f"accepted prediction of {c.model_version}" if c.model_version else "accepted prediction",
                   "bulk": "bulk change", "curator": "by hand"}.get(c.source, c.source)
            lines.append(f"{html.escape(c.field)}: given <i>{html.escape(c.old_value) or 'blank'}</i> → "
                         f"<b>{html.escape(c.new_value)}</b> · {html.escape(c.author)}, {who}, "
                         f"{local_time(c.created_at, short=False)}")
            if len(lines) >= 6:
                break
        return "<br>".join(lines)

    # -- correcting ---------------------------------------------------------------------------

    def _value(self, pid: int, field: str) -> str:
        eff = self.session.table.effective
        if field == EXCLUDED:
            return "true" if bool(eff.at[pid, EXCLUDED]) else "false"
        v = eff.at[pid, field]
        return "" if v is None or (isinstance(v, float) and np.isnan(v)) else str(v)

    def _label_changes(self, pids, scheme: str, label_of) -> list[Change]:  # noqa: ANN001
        changes = []
        for pid in pids:
            label = label_of(pid)
            if not label:
                continue
            for fld, new in fields_for_label(scheme, label).items():
                old = self._value(pid, fld)
                if old != new:
                    changes.append(Change(int(pid), fld, old, new))
        return changes

    def _record(self, changes: list[Change], n_targets: int, *, source: str, note: str,
                model_version: str | None = None) -> int | None:
        """Record ``changes`` as one batch (committed), then show them; returns the batch id."""
        if self.session is None:
            return None
        if not changes:
            self.statusBar().showMessage("Nothing to change: the labels are already so.", 4000)
            return None
        if n_targets > 1:
            source = "bulk"
        try:
            batch = self.session.store.record(changes, author=self.settings.author or "curator", source=source,
                                              model_version=model_version, note=note)
        except (FashionReviewError, ValueError) as exc:
            self._error("The change was not recorded", str(exc))
            return None
        pids = np.unique(np.fromiter((c.product_id for c in changes), dtype=np.int64))
        self._after_change(pids)
        n = len(pids)
        self.statusBar().showMessage(f"{note} · {plural(n, 'product')} · batch {batch} "
                                     "(Ctrl+Z to undo)", 6000)
        return batch

    def accept_predictions(self) -> int | None:
        """Set the predicted label of the scheme in focus (Enter), for the selection."""
        if self.session is None:
            return None
        if self._issues_active():
            return self.label_issues.accept_suggestions()
        t = self.session.table
        s = self.model.scheme
        if not t.has_predictions(s):
            self.statusBar().showMessage(f"No predictions for {s}.", 4000)
            return None
        pids = self.targets()
        changes = self._label_changes(pids, s, lambda pid: t.label(pid, s, "pred"))
        batch = self._record(changes, len(pids), source="prediction", model_version=t.model_version or None,
                             note=f"accept {s} prediction")
        self._advance(len(pids))
        return batch

    def set_label(self, label: str, *, new: bool = False) -> int | None:
        """Set ``label`` for the scheme in focus on the selection (the label box, 1-3).

        Only a label the scheme has (case aside) is set; a new class takes ``new=True``, which
        only :meth:`add_new_label` passes, after asking."""
        if self.session is None:
            return None
        s = self.model.scheme
        label = label.strip()
        if not label:
            return None
        from fashion_review.gui.label_box import resolve_label

        known = self.session.table.known_labels(s)
        exact = resolve_label(label, known)
        if exact is not None:
            label = exact
        elif not new:
            self.statusBar().showMessage(f"“{label}” is not a {s} label of this catalog; nothing changed "
                                         "(Ctrl+Enter in the label box makes a new label).", 8000)
            return None
        pids = self.targets()
        try:
            changes = self._label_changes(pids, s, lambda _pid: label)
        except FashionReviewError as exc:
            self._error("Not a label of this scheme", str(exc))
            return None
        batch = self._record(changes, len(pids), source="curator", note=f"set {s} to {label}")
        self._advance(len(pids))
        return batch

    def add_new_label(self, label: str) -> int | None:
        """Ctrl+Enter in the label box: make ``label`` a new class of the scheme, after asking (default No)."""
        if self.session is None or not label.strip():
            return None
        s = self.model.scheme
        n = len(self.targets())
        if not dialogs.ask(self, "New label",
                           f"“{label.strip()}” is not a {s} label of this catalog yet.\n\nMake it a new "
                           f"{s} class and set it for {plural(n, 'product')}?"):
            self.statusBar().showMessage("No new label made; nothing changed.", 5000)
            return None
        return self.set_label(label, new=True)

    def focus_view(self) -> None:
        """Give the keyboard back to the catalog view shown (after the label box, Escape)."""
        view = self.table_view if self.view_name == "table" else self.grid
        if self.view_name != "confusion":
            view.setFocus(Qt.FocusReason.OtherFocusReason)

    def use_top(self, k: int) -> int | None:
        """Set each selected product's own choice number ``k + 1`` of the model (keys 1-3); in the
        Label issues view, each one's own ``k + 1``-th suggestion."""
        if self.session is None:
            return None
        if self._issues_active():
            return self.label_issues.use_suggestion(k)
        pids = self.targets()
        if not len(pids):
            return None
        t, s = self.session.table, self.model.scheme

        def own(pid: int) -> str:
            top = t.top_k(int(pid), s, 3)
            return top[k][0] if k < len(top) else ""

        changes = self._label_changes(pids, s, own)
        batch = self._record(changes, len(pids), source="curator", note=f"set {s} to each one's prediction {k + 1}")
        self._advance(len(pids))
        return batch

    def toggle_excluded(self) -> int | None:
        """Exclude the selection from training (X); when all are excluded already, include them."""
        if self.session is None:
            return None
        pids = self.targets()
        if not len(pids):
            return None
        excluded = self.session.table.frame[EXCLUDED]
        now = excluded.reindex(pids).to_numpy(dtype=bool)
        new = "false" if now.all() else "true"
        changes = [Change(int(p), EXCLUDED, "true" if e else "false", new) for p, e in zip(pids, now)
                   if (new == "true") != bool(e)]
        batch = self._record(changes, len(pids), source="curator",
                             note="exclude from training" if new == "true" else "include in training")
        self._advance(len(pids))
        return batch

    def undo(self) -> int | None:
        return self._undo_redo(undo=True)

    def redo(self) -> int | None:
        return self._undo_redo(undo=False)

    def _undo_redo(self, undo: bool) -> int | None:
        if self.session is None:
            return None
        store = self.session.store
        try:
            batch = store.undo() if undo else store.redo()
        except FashionReviewError as exc:
            self._error("Undo failed" if undo else "Redo failed", str(exc))
            return None
        if batch is None:
            self.statusBar().showMessage("Nothing to undo." if undo else "Nothing to redo.", 3000)
            return None
        pids = np.unique(np.array([c.product_id for c in store.history() if c.batch_id == batch], dtype=np.int64))
        self._after_change(pids)
        self.statusBar().showMessage(f"{'Undid' if undo else 'Redid'} batch {batch} · {plural(len(pids), 'product')}", 5000)
        if len(pids) == 1:
            self.select_pids(pids, int(pids[0]))
        return batch

    def _after_change(self, pids: np.ndarray) -> None:
        """The store changed for ``pids``: recompute their rows and repaint (not the whole table)."""
        s = self.session
        values = s.store.effective()
        pos = s.table.apply_corrections(pids, values)
        self.model.refresh(pos)
        self._refresh_history()
        self._schedule_detail()
        self._update_confusion_soon()
        self.corrected.emit(pids)

    def _update_confusion_soon(self) -> None:
        self._splits_done = False
        self._splits_timer.start(800)  # splits + confusion follow the corrections, in the background

    def _advance(self, n_targets: int) -> None:
        if self.settings.advance and n_targets == 1:
            self.next_product()

    def _on_advance_toggled(self, on: bool) -> None:
        self.settings.advance = bool(on)

    def _refresh_history(self) -> None:
        self._update_undo_actions()

    def _update_undo_actions(self) -> None:
        if self.session is None:
            self.act_undo.setEnabled(False)
            self.act_redo.setEnabled(False)
            self.history.set_batches([], False, False)
            return
        store = self.session.store
        can_undo, can_redo = store.can_undo(), store.can_redo()
        self.act_undo.setEnabled(can_undo)
        self.act_redo.setEnabled(can_redo)
        self.history.set_batches(store.batches(), can_undo, can_redo)

    def _error(self, title: str, message: str) -> None:
        self.statusBar().showMessage(f"{title}: {message}", 10000)
        dialogs.warn(self, title, message)

    # -- help ---------------------------------------------------------------------------------

    def _show_shortcuts(self) -> None:
        rows = []
        for a in (self.act_accept, self.act_label, *self.act_top, self.act_exclude, self.act_next, self.act_prev,
                  self.act_undo, self.act_redo, self.act_select_all, self.act_find, self.act_clear_filters,
                  self.act_refilter, *self.act_views.values(), *self.act_schemes.values(),
                  *(self.label_issues.actions() if self.label_issues is not None else ())):
            keys = ", ".join(k.toString(QKeySequence.SequenceFormat.NativeText) for k in a.shortcuts())
            rows.append(f"<tr><td><b>{html.escape(keys)}</b></td><td>{html.escape(a.text().replace('&', ''))}</td></tr>")
        dialogs.inform(self, "Keyboard shortcuts",
                                "<table cellspacing=4>" + "".join(rows) + "</table>"
                                "<p>Arrow keys move too; with several products selected, label, accept and "
                                "exclude apply to all of them as one change.</p>")

    def _show_about(self) -> None:
        from fashion_review import __version__

        dialogs.about(self, "About Fashion Review",
                          f"<b>Fashion Review</b> {__version__}<br>Review and correct the labels of a fashion "
                          "catalog with image classifiers.")

    # -- layout memory ----------------------------------------------------------------------

    def _restore_layout(self) -> None:
        qs = window_settings()
        # Always with a default: PySide6 6.12 drops a reference to None for a missing value.
        geom = qs.value("geometry", QByteArray())
        state = qs.value("state", QByteArray())
        if isinstance(geom, QByteArray) and not geom.isEmpty():
            self.restoreGeometry(geom)
        if isinstance(state, QByteArray) and not state.isEmpty():
            self.restoreState(state)
        step = qs.value("thumb_step", 0)
        try:
            self.grid.set_thumb_size(int(step))
        except (TypeError, ValueError):
            pass

    def save_layout(self) -> None:
        qs = window_settings()
        qs.setValue("geometry", self.saveGeometry())
        qs.setValue("state", self.saveState())
        qs.setValue("thumb_step", self.grid.thumb_step)
        qs.sync()

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802
        self._closing = True
        self.save_layout()
        self.settings.save()
        self._load_job.cancel()
        self._splits_job.cancel()
        if self._runner is not None:
            self._runner.cancel()
        self.thumbs.shutdown()
        if self.session is not None:
            self.session.close()
            self.session = None
        super().closeEvent(event)
