"""The main window: browse the catalog, see predictions against labels, correct them.

Layout (napari-like layering: the window wires widgets to the headless core and to each other,
the widgets only show and emit): a filter bar over a stack of views (thumbnail grid, table,
confusion matrix) that share one :class:`~fashion_review.gui.catalog_model.CatalogModel` and one
selection; the detail panel and the history panel in docks on the right.

The window's work is in rooms of its own, each installed here in one line: the actions, menus,
toolbar and F1 help (:mod:`~fashion_review.gui.actions`), the corrections
(:mod:`~fashion_review.gui.correcting`, over the headless rules of ``review/editing.py``), the
models (:mod:`~fashion_review.gui.model_control`), the split parts and the confusion view
(:mod:`~fashion_review.gui.parts`), the selection (:mod:`~fashion_review.gui.selection`) and the
jobs of each open data set (:mod:`~fashion_review.gui.jobs`: a result reaches only the catalog it
was started on; closing a data set stops its jobs and closes its dialogs).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (
    QDockWidget,
    QFileDialog,
    QLabel,
    QMainWindow,
    QProgressBar,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from fashion_review import paths
from fashion_review.data.schemes import SCHEMES
from fashion_review.gui import dialogs
from fashion_review.gui.actions import ActionTable, window_actions
from fashion_review.gui.catalog_model import CatalogModel
from fashion_review.gui.catalog_views import CatalogGrid, CatalogTable, selected_rows
from fashion_review.gui.confusion import ConfusionMatrixView
from fashion_review.gui.correcting import Edits
from fashion_review.gui.detail import DetailPanel
from fashion_review.gui.enter_keys import KeysStayWithControls, mark_product_view
from fashion_review.gui.filter_bar import FilterBar
from fashion_review.gui.history import HistoryPanel
from fashion_review.gui.jobs import SessionJobs
from fashion_review.gui.model_control import Models
from fashion_review.gui.parts import Parts
from fashion_review.gui.selection import Picks
from fashion_review.gui.screen import fit_to_screen
from fashion_review.gui.session import Session, load_session
from fashion_review.gui.settings import VIEWS, AppSettings, restore_window_layout, save_window_layout
from fashion_review.gui.thumbnails import Thumbnails, cache_loader, jpeg_loader
from fashion_review.gui.workers import SingleJob, Worker
from fashion_review.review.filtering import Filter
from fashion_review.text import plural

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
        self._closing = False
        self._loading_path: Path | None = None
        #: Replaces ``training.predict.predict`` in the prediction worker (tests); None: the real one.
        self.predict_fn = None
        self.setWindowTitle("Fashion Review")
        fit_to_screen(self, 1440, 900)

        # Model, views, panels.
        self.model = CatalogModel(self)
        self.thumbs = Thumbnails(jpeg_loader(lambda pid: ""), parent=self)
        self.model.thumbnail = self.thumbs.get
        self.thumbs.loaded.connect(self.model.thumbnails_arrived)
        self.grid = mark_product_view(CatalogGrid())  # Enter and Space are the window's here, not elsewhere
        self.grid.setModel(self.model)
        self.table_view = mark_product_view(CatalogTable())
        self.table_view.setModel(self.model)
        self.selection = self.grid.selectionModel()
        old = self.table_view.selectionModel()
        self.table_view.setSelectionModel(self.selection)
        if old is not None and old is not self.selection:
            old.deleteLater()
        self.confusion = ConfusionMatrixView()
        self.stack = QStackedWidget()
        self._views: dict[str, QWidget] = {"grid": self.grid, "table": self.table_view, "confusion": self.confusion}
        for view in self._views.values():
            self.stack.addWidget(view)
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
        self.detail_dock = self._dock("Product", "detail_dock", self.detail)
        self.history = HistoryPanel()
        self.history_dock = self._dock("History", "history_dock", self.history)
        self.resizeDocks([self.detail_dock, self.history_dock], [600, 220], Qt.Orientation.Vertical)
        self.resizeDocks([self.detail_dock], [380], Qt.Orientation.Horizontal)
        self._make_status_bar()
        self._keys = KeysStayWithControls(self, (self.detail_dock, self.history_dock))

        # The rooms of the window's work (see the module docstring).
        self.jobs = SessionJobs(lambda: self.session, self)
        self.picks = Picks(self)
        self.current_pid, self.selected_pids, self.targets = (self.picks.current_pid, self.picks.selected_pids,
                                                              self.picks.targets)
        self.select_rows, self.select_pids = self.picks.select_rows, self.picks.select_pids
        self.visible_thumbnails_loaded = self.picks.visible_thumbnails_loaded
        self.edits = Edits(self)
        self.model.correction_note = self.edits.correction_note
        self.models = Models(self)
        self.parts = Parts(self)
        self._load_job = SingleJob(self)
        self._detail_timer = QTimer(self)
        self._detail_timer.setSingleShot(True)
        self._detail_timer.setInterval(0)
        self._detail_timer.timeout.connect(self._update_detail)

        self.action_table = ActionTable(self)
        self.toolbar = self.action_table.build(window_actions(self), {"recent": self._make_recent_menu,
                                                                      "docks": self._add_dock_toggles})
        menus = self.action_table.menus
        self.view_menu, self.review_menu, self.models_menu = menus["&View"], menus["&Review"], menus["&Models"]
        self.act_views = {n: getattr(self, f"act_view_{n}") for n in ("grid", "table", "confusion")}
        self.act_schemes = {s: getattr(self, f"act_scheme_{s}") for s in SCHEMES}
        self.act_top = [self.act_top1, self.act_top2, self.act_top3]
        self.act_problems.setEnabled(False)  # until a catalog is open
        self.act_conflicts.setEnabled(False)
        self.act_advance.setChecked(self.settings.advance)
        self._connect()
        from fashion_review.gui.lookalikes import install as install_lookalikes

        self.lookalikes = install_lookalikes(self)  # similar products, duplicates, colour palettes
        from fashion_review.gui.label_issues import LabelIssues

        self.label_issues = LabelIssues(self)  # the Label issues view, its keys, Review > Find label issues
        from fashion_review.gui.reference_offer import ReferenceOffer

        self.reference_offer = ReferenceOffer(self)  # a catalog with no model: the shipped reference model
        from fashion_review.gui.exporting import CatalogExport

        self.catalog_export = CatalogExport(self)  # File > Export corrected catalog…
        self.set_view(self.settings.view if self.settings.view in VIEWS else "grid")
        restore_window_layout(self)
        self.edits.refresh_history()

    # -- building -----------------------------------------------------------------------

    def _dock(self, title: str, name: str, widget: QWidget) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(name)
        dock.setWidget(widget)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
        return dock

    def _make_status_bar(self) -> None:
        """Message, progress, counts, the model shown, the device."""
        from fashion_review.modeling.device import guess_device

        self.progress = QProgressBar()
        self.progress.setMaximumWidth(180)
        self.progress.setTextVisible(False)
        self.progress.hide()
        self.count_label = QLabel("")
        self.model_label = QLabel("No model predictions")
        self.model_label.setToolTip("The model whose cached predictions are shown")
        #: The device models run on (GPU name or CPU): guessed from the driver and the installed
        #: packages at start (no Keras import), confirmed by Keras when the Models menu is opened.
        self.device_label = QLabel(f"Device: {guess_device()}")
        self.device_label.setToolTip("The device the models run on (confirmed by Keras when the Models menu "
                                     "is first opened)")
        for w in (self.progress, self.count_label, self.model_label, self.device_label):
            self.statusBar().addPermanentWidget(w)

    def _make_recent_menu(self, menu) -> None:  # noqa: ANN001 - the File menu
        self.recent_menu = menu.addMenu("Open &recent")
        self.recent_menu.aboutToShow.connect(self._fill_recent)
        self._fill_recent()

    def _add_dock_toggles(self, menu) -> None:  # noqa: ANN001 - the View menu
        menu.addAction(self.detail_dock.toggleViewAction())
        menu.addAction(self.history_dock.toggleViewAction())

    def add_view(self, name: str, widget: QWidget, text: str, shortcut: str, tip: str):  # noqa: ANN201 - QAction
        """Another view in the stack, with its checkable View menu action (after the built-in ones)."""
        self._views[name] = widget
        after = self.view_menu.actions()[len(self.act_views)] if len(self.view_menu.actions()) > len(self.act_views) \
            else None
        a = self.action_table.add(f"view_{name}", text, lambda _on, n=name: self.set_view(n), [shortcut], tip,
                                  checkable=True, group="views", menu="&View", before=after)
        self.act_views[name] = a
        return a

    def issues_active(self) -> bool:
        """The Label issues view is shown: the keys act on its queue (gui/label_issues.py)."""
        return self.label_issues is not None and self.label_issues.active()

    def _connect(self) -> None:
        self.filter_bar.changed.connect(self._on_filter_changed)
        self.filter_bar.scheme_changed.connect(self._on_bar_scheme)
        self.model.rows_changed.connect(self._on_rows_changed)
        self.selection.currentChanged.connect(self.schedule_detail)
        self.selection.selectionChanged.connect(self.schedule_detail)
        self.grid.visible_changed.connect(self.picks.prefetch)
        self.grid.doubleClicked.connect(lambda _i: self.set_view("table"))
        self.detail.label_chosen.connect(self.edits.set_label)
        self.detail.new_label_requested.connect(self.edits.add_new_label)
        self.detail.label_box_left.connect(self.focus_view)
        self.detail.message.connect(lambda text: self.statusBar().showMessage(text, 8000))
        self.detail.accept_requested.connect(self.edits.accept_predictions)
        self.detail.exclude_requested.connect(self.edits.toggle_excluded)
        self.history.undo_requested.connect(self.edits.undo)
        self.history.redo_requested.connect(self.edits.redo)
        self.history.batch_activated.connect(self.show_batch)
        self.history.conflicts_requested.connect(self.edits.open_conflicts)
        self.models_menu.aboutToShow.connect(self.models.on_menu)

    # -- opening ------------------------------------------------------------------------

    def open_dataset(self, data: str | Path | None = None) -> None:
        """Open a data folder (the bundled sample when None) in the background; emits loaded."""
        path = Path(data) if data is not None else paths.SAMPLE_CATALOG
        self.statusBar().showMessage(f"Opening {path} …")
        self.progress.setRange(0, 0)
        self.progress.show()
        self._loading_path = path
        # A load superseded by a newer one closes the data set it opened (nobody will show it).
        worker = Worker(load_session, str(path), on_dropped=Session.close)
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
            a = self.recent_menu.addAction("Bundled sample catalog" if r == sample else r)
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
        path, cat = session.data_path, session.ds.catalog
        old, self.session = self.session, session
        session.catch_up()  # corrections recorded while it loaded (this window's included) are shown
        jpeg = jpeg_loader(lambda pid, d=str(cat.images_dir): f"{d}/{int(pid)}.jpg")
        self.thumbs.set_loader(cache_loader(session.image_cache, jpeg) if session.image_cache is not None else jpeg)
        flt = self.filter_bar.filter()
        self.model.set_scheme(flt.scheme, refilter=False)  # its columns first in the table
        self.model.filter = flt
        self.model.set_table(session.table)
        self.parts.reset()
        self.update_classes()
        self.table_view.fit_columns()
        if self.model.rowCount():
            self.select_rows([0])
        self.settings.remember(path)
        self.settings.save()
        is_sample = path.resolve() == paths.SAMPLE_CATALOG.resolve()
        # The platform adds the application's display name ("… — Fashion Review"): only the data set here.
        self.setWindowTitle("Bundled sample catalog" if is_sample else path.name)
        carried = self.edits.on_opened()
        self.parts.update_confusion()
        self.models.on_opened()
        # The data set shown before: its jobs stopped, its dialogs closed, then its database.
        closed = self.jobs.close(old) if old is not None else ""
        from fashion_review.gui.catalog_problems import status_text

        # What became of the closed data set's dialogs and what was carried over first: a long line is cut.
        msg = " · ".join(m for m in (closed, carried, f"Opened {path} · {plural(len(session.table), 'product')}",
                                     status_text(cat), session.warning) if m)
        self.statusBar().showMessage(msg, 15000)
        self.act_problems.setEnabled(True)
        empty = cat.no_products_message()
        if empty:
            dialogs.warn(self, "No products", f"{empty}.\n\nThere is nothing to review; File > Open data set… "
                                              "opens another folder.")
        self.loaded.emit()

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
        self.picks.restore(current, selected)
        self.update_classes(scheme)
        if self.session and self.session.table.has_predictions(scheme):
            try:
                self.confusion.set_scheme(scheme)
            except ValueError:
                pass
        self.grid.viewport().update()

    def update_classes(self, scheme: str | None = None) -> None:
        if self.session is None:
            return
        s = scheme or self.filter_bar.filter().scheme
        t = self.session.table
        self.filter_bar.set_classes(t.known_labels(s), t.classes(s))
        if s in self.act_schemes:
            self.act_schemes[s].setChecked(True)

    def _on_filter_changed(self, flt: Filter) -> None:
        current, selected = self.current_pid(), self.selected_pids()
        self.model.set_filter(flt)
        self.picks.restore(current, selected)
        self.schedule_detail()

    def refilter(self) -> None:
        self._on_filter_changed(self.filter_bar.filter())

    def show_batch(self, batch_id: int) -> None:
        """Filter to the products of one batch of the history."""
        if self.session is None:
            return
        ids = sorted({c.product_id for c in self.session.store.history() if c.batch_id == batch_id})
        self.filter_bar.set_filter(Filter(scheme=self.model.scheme, ids=tuple(ids),
                                          ids_note=f"the {plural(len(ids), 'product')} of batch {batch_id}"))
        self.statusBar().showMessage(f"Products of batch {batch_id} (Clear filters to see all)", 6000)

    def _on_rows_changed(self, shown: int, total: int) -> None:
        self.filter_bar.set_count(shown, total)
        self.count_label.setText(f"{shown:,} / {total:,}")

    def set_view(self, name: str) -> None:
        """Show the grid, the table, the confusion matrix (or a view added with :meth:`add_view`)."""
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
            self.schedule_detail()
        elif name != "confusion":
            cur = self.selection.currentIndex()
            if cur.isValid():
                widget.scrollTo(cur)
            widget.setFocus()

    @property
    def view_name(self) -> str:
        w = self.stack.currentWidget()
        return next((n for n, v in self._views.items() if v is w), "grid")

    def zoom(self, step: int) -> None:
        self.grid.set_thumb_size(self.grid.thumb_step + step)

    def focus_search(self) -> None:
        if self.view_name == "confusion":
            self.set_view("grid")
        self.filter_bar.search.setFocus()
        self.filter_bar.search.selectAll()

    def focus_view(self) -> None:
        """Give the keyboard back to the catalog view shown (after the label box, Escape)."""
        if self.view_name != "confusion":
            (self.table_view if self.view_name == "table" else self.grid).setFocus(Qt.FocusReason.OtherFocusReason)

    # -- detail, status ----------------------------------------------------------------------

    def schedule_detail(self, *_args) -> None:  # noqa: ANN002
        self._detail_timer.start()

    def _update_detail(self) -> None:
        pid = self.current_pid()
        if self.session is None or pid is None:
            self.detail.clear()
            self.update_review_actions()
            return
        t, scheme = self.session.table, self.model.scheme
        self.detail.show_product(t, pid, scheme, image_path=self.session.ds.catalog.image_path(pid),
                                 history=self.session.store.history(pid), labels=t.known_labels(scheme),
                                 n_selected=max(1, len(selected_rows(self.grid))))
        self.update_review_actions()

    def update_review_actions(self) -> None:
        has = self.session is not None and self.current_pid() is not None
        preds = has and self.session.table.has_predictions(self.model.scheme)
        if self.issues_active():
            preds = has and self.label_issues.has_entries()  # Enter / 1-3: the queue's suggestions
        for a in (self.act_label, self.act_exclude, self.act_next, self.act_prev):
            a.setEnabled(has)
        for a in (self.act_accept, *self.act_top):
            a.setEnabled(bool(preds))
        self.act_conflicts.setEnabled(self.session is not None)

    def on_job_progress(self, p) -> None:  # noqa: ANN001 - tasks.Progress
        """A job's progress in the status bar (a prediction, duplicates, palettes)."""
        if p.fraction is None:
            self.progress.setRange(0, 0)
        else:
            self.progress.setRange(0, 1000)
            self.progress.setValue(int(1000 * max(0.0, min(1.0, p.fraction))))
        if p.message:
            self.statusBar().showMessage(p.message)

    def error(self, title: str, message: str) -> None:
        self.statusBar().showMessage(f"{title}: {message}", 10000)
        dialogs.warn(self, title, message)

    def is_settled(self) -> bool:
        """Catalog, predictions and splits shown, and the thumbnails on screen loaded."""
        if self.session is None or not self.parts.done or self.parts.busy:
            return False
        if self._load_job.busy or self._detail_timer.isActive() or self.models.busy:  # e.g. the first prediction
            return False
        if self.label_issues is not None and not self.label_issues.is_settled():
            return False
        if self.lookalikes.busy:  # the detail panel's similar products, duplicates, palette
            return False
        if self.view_name == "grid":
            first, _ = self.grid.visible_rows()
            if first >= 0 and not self.visible_thumbnails_loaded():
                self.picks.prefetch(*self.grid.visible_rows())
                return False
        return True

    # -- help ---------------------------------------------------------------------------------

    def show_shortcuts(self) -> None:
        """Help > Keyboard shortcuts (F1): every key, from the one table of actions."""
        dialogs.inform(self, "Keyboard shortcuts", self.action_table.shortcut_help())

    def show_about(self) -> None:
        from fashion_review import __version__

        dialogs.about(self, "About Fashion Review", f"<b>Fashion Review</b> {__version__}<br>Review and correct the "
                                                    "labels of a fashion catalog with image classifiers.")

    # -- layout memory, closing -----------------------------------------------------------------

    def save_layout(self) -> None:
        save_window_layout(self)

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802
        self._closing = True
        self.save_layout()
        self.settings.save()
        self._load_job.cancel()
        self.models.shutdown()
        self.thumbs.shutdown()
        if self.session is not None:
            session, self.session = self.session, None
            self.jobs.close(session)  # its jobs stopped and its dialogs closed, then its database
        super().closeEvent(event)
