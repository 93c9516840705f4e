"""The window's label-issue work: the "Label issues" view, its keys, and Review > Find label issues.

:class:`LabelIssues` is installed by the main window (one line there) and owns: the view
(:mod:`fashion_review.gui.issues_view`) as a fourth view of the window's stack (View > Label
issues, Ctrl+4), the actions Space ("label is right": a ``confirmed`` correction) and N (next
unreviewed issue), the Find dialog (:mod:`fashion_review.gui.issues_find`), and the queue itself:
rebuilt from the stored probabilities and the window's current labels after every correction,
undo and redo (no retraining: a corrected product leaves the queue at once).

While the view is shown, the window's own keys act on the queue: Enter accepts each selected
product's suggestion, 1-3 its own first, second or third suggestion, J/K move, X excludes, L
labels, Ctrl+Z undoes (the window asks :meth:`active` and delegates).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QApplication, QMessageBox

from fashion_review.errors import FashionReviewError
from fashion_review.gui.issues_view import LabelIssuesView
from fashion_review.gui.workers import SingleJob, Worker, view_pool
from fashion_review.review.issues import StoredIssues, latest_issues, review_marks
from fashion_review.review.queue import IssueQueue, build_queue, mark_changed

VIEW = "issues"


def _load_job(dataset_home, task=None):  # noqa: ANN001, ANN202 - worker body (numpy only)
    return latest_issues(dataset_home)


def _rebuild_job(stored, effective, scheme, marks, task=None):  # noqa: ANN001, ANN202 - worker body (no Qt)
    return build_queue(stored, effective, scheme, marks)


class LabelIssues(QObject):
    """See the module docstring.  ``window`` is the :class:`~fashion_review.gui.main_window.MainWindow`."""

    #: The queue was rebuilt (after loading, a correction, a filter change).
    queue_changed = Signal()

    def __init__(self, window) -> None:  # noqa: ANN001
        super().__init__(window)
        self.w = window
        self.view = LabelIssuesView()
        self.stored: StoredIssues | None = None
        self.queue: IssueQueue | None = None
        self._loading = False
        self._load_job = SingleJob(self)
        # the queue rebuilt after a correction (about a second on 44,000), in a pool of its own
        self._rebuild_job = SingleJob(self, pool=view_pool())
        self._generation = 0  # of the queue shown: a rebuild's result counts only if nothing came after it
        self._pending: int | None = None  # the generation a background rebuild is making, until it is shown
        self._find_dialog = None
        self._last_entries: set[int] = set()
        self._dirty = False  # the labels changed while the view was hidden: rebuild when it shows
        window.stack.addWidget(self.view)
        window.add_view(VIEW, self.view, "&Label issues", "Ctrl+4", "Show the label-issue queue")
        add = window.action_table.add
        self.act_find = add("find_issues", "&Find label issues…", self.open_find, ["Ctrl+Shift+I"],
                            "Cross-validate a model and rank the products whose labels are in doubt (Review > Label "
                            "issues)", menu="&Review", separator=True)
        self.act_confirm = add("confirm", "Label is &right", self.confirm, ["Space"],
                               "Mark the label as reviewed and right: the product leaves the label-issue queue",
                               menu="&Review")
        self.act_next_issue = add("next_issue", "Next &unreviewed issue", self.next_unreviewed, ["N"],
                                  "Jump to the next issue nobody has reviewed", menu="&Review")
        v = self.view
        v.scheme_changed.connect(self._on_view_scheme)
        v.filters_changed.connect(self._show)
        v.current_changed.connect(self._on_current)
        v.find_requested.connect(self.open_find)
        v.accept_requested.connect(self.accept_suggestions)
        v.confirm_requested.connect(self.confirm)
        v.next_requested.connect(self.next_unreviewed)
        v.exclude_flagged_requested.connect(self.exclude_flagged)
        v.accept_flagged_requested.connect(self.accept_flagged)
        v.retrain_requested.connect(lambda: window.models.open_retrain())
        v.suggestion_chosen.connect(self._apply_label)
        v.table.doubleClicked.connect(lambda _i: self.accept_suggestions())
        window.loaded.connect(self._on_loaded)
        window.corrected.connect(self._on_corrected)
        window.filter_bar.scheme_changed.connect(self.view.set_scheme)
        window.thumbs.loaded.connect(self._on_thumbs)
        window.stack.currentChanged.connect(self._on_view_shown)
        self._update_actions()
        self._show()

    # -- state --------------------------------------------------------------------------------

    def active(self) -> bool:
        """Whether the view is the one shown (the window then delegates its keys here)."""
        return self.w.stack.currentWidget() is self.view

    @property
    def scheme(self) -> str:
        return self.view.current_scheme()

    def actions(self) -> tuple:
        """The actions this adds to the window (for the shortcuts list)."""
        return (self.act_find, self.act_confirm, self.act_next_issue)

    def has_entries(self) -> bool:
        return self.view.model.rowCount() > 0

    def is_settled(self) -> bool:
        """Nothing being read or rebuilt (a rebuild's worker ends before its result is shown: both count)."""
        return not self._loading and self._pending is None

    def current_pid(self) -> int | None:
        return self.view.current_pid()

    def selected_pids(self) -> np.ndarray:
        sel = self.view.selected_pids()
        if len(sel):
            return sel
        cur = self.view.current_pid()
        return np.array([cur], dtype=np.int64) if cur is not None else np.zeros(0, np.int64)

    def _update_actions(self) -> None:
        shown = self.active()
        self.w.act_accept.setText("&Accept suggestion" if shown else "&Accept prediction")
        for k, a in enumerate(self.w.act_top):
            a.setText(f"Use suggestion &{k + 1}" if shown else f"Use prediction &{k + 1}")
        on = shown and self.queue is not None
        if shown:  # Enter / 1-3 act on the queue's suggestions (the window re-decides when the view changes)
            for a in (self.w.act_accept, *self.w.act_top):
                a.setEnabled(on and self.has_entries())
        elif self.w.session is not None:
            self.w.update_review_actions()
        self.act_confirm.setEnabled(on and self.has_entries())
        self.act_next_issue.setEnabled(on and self.has_entries())
        self.act_find.setEnabled(self.w.session is not None)

    # -- loading and rebuilding ---------------------------------------------------------------

    def _on_loaded(self) -> None:
        self.stored, self.queue = None, None
        self._generation += 1  # a rebuild for the data set shown before never shows (nor is waited for)
        self._pending = None
        self._loading = True
        self.view.set_scheme(self.w.model.scheme)
        self._show()  # the data set shown before has no queue here: no row of it to act on while this loads
        session = self.w.session
        worker = Worker(_load_job, session.ds.home)
        worker.signals.finished.connect(self._on_load_finished)
        self.w.jobs.start(session, worker, name="label issues", job=self._load_job, result=self._on_stored,
                          errored=self._on_load_error)
        self._update_actions()

    def _on_load_finished(self) -> None:
        if self._load_job.busy:
            return  # a superseded load ended (a data set opened again while it read): the newer one still reads
        self._loading = False
        self._update_actions()

    def _on_load_error(self, message: str, _tb: str = "") -> None:
        self._loading = False
        self.w.statusBar().showMessage(f"Label issues not shown: {message}", 10000)
        self.view.source.setText(f"The stored label issues could not be read: {message}. Find them again.")

    def _on_stored(self, stored: StoredIssues | None) -> None:
        self._loading = False  # the current load's result (a superseded load's never comes)
        self.set_stored(stored)

    def set_stored(self, stored: StoredIssues | None) -> None:
        """Show ``stored`` (just found, or loaded) for the open data set."""
        self.stored = stored
        self.rebuild()

    def rebuild(self, changed: np.ndarray | None = None) -> None:
        """The queue from the stored probabilities and the window's current labels, then shown."""
        self._dirty = False
        self._generation += 1  # a rebuild still running in the background is older than this
        self._pending = None
        s = self.w.session
        if s is None or self.stored is None:
            self.queue = None
            self._show()
            return
        scheme = self.scheme
        try:
            marks = review_marks(s.store, scheme, self.stored.last_seq)
            self.queue = build_queue(self.stored, s.table.effective, scheme, marks)
        except (FashionReviewError, KeyError, ValueError) as exc:
            self.queue = None
            self.w.statusBar().showMessage(f"Could not rank the label issues: {exc}", 10000)
        self._show(changed)

    def _on_corrected(self, pids) -> None:  # noqa: ANN001
        """A correction, undo or redo: the queue as it stands now at once (the product leaves, the next one
        is current), and rebuilt in the background: on the full catalog a rebuild takes about a second, and
        a curator went through the queue at a second and a half per key."""
        if self.stored is None:
            return
        if not self.active():
            self._dirty = True  # corrections in the grid cost no queue rebuild until the view is shown
            return
        changed = np.asarray(pids, dtype=np.int64)
        s = self.w.session
        if s is None or self.queue is None:
            self.rebuild(changed)
            return
        self._generation += 1
        generation, stored, scheme = self._generation, self.stored, self.scheme
        self._pending = generation
        # the rebuilt queue selects a product that comes back (an undo), not one the curator just moved on
        # from (a label the models doubt as well: it stays in the queue, the selection stays where it went)
        back = None if set(changed.tolist()) & self._last_entries else changed
        try:
            marks = review_marks(s.store, scheme, stored.last_seq)  # the store is read on this thread only
            self.queue = mark_changed(self.queue, changed, s.table.effective, marks)
        except (FashionReviewError, KeyError, ValueError):
            self.rebuild(changed)
            return
        self._show(changed)
        worker = Worker(_rebuild_job, stored, s.table.effective.copy(), scheme, marks)
        self.w.jobs.start(s, worker, name="label-issue queue", job=self._rebuild_job,
                          result=lambda q: self._on_rebuilt(q, generation, back),
                          errored=lambda message, _tb="": self._on_rebuild_error(message, generation))

    def _on_rebuilt(self, queue: IssueQueue, generation: int, changed: np.ndarray | None) -> None:
        if generation != self._generation:
            return  # a later correction (or a rebuild of another scheme) came after it
        self._pending = None
        self.queue = queue
        self._show(changed)

    def _on_rebuild_error(self, message: str, generation: int) -> None:
        if generation == self._generation:
            self._pending = None
            self.w.statusBar().showMessage(f"Could not rank the label issues: {message}", 10000)

    def _on_view_scheme(self, scheme: str) -> None:
        if scheme != self.w.model.scheme:
            self.w.set_scheme(scheme)
        if self.active() or self.queue is None:
            self.rebuild()
        else:
            self._dirty = True

    def _on_view_shown(self, _index: int = 0) -> None:
        if self.active() and self._dirty:
            self._dirty = False
            self.rebuild()
        self._update_actions()

    def _show(self, changed: np.ndarray | None = None) -> None:
        v = self.view
        before_pid, before_row = v.current_pid(), v.table.selectionModel().currentIndex().row()
        if self.queue is None:
            v.model.set_frame(pd.DataFrame())
            v.set_pairs(pd.DataFrame(columns=["given", "suggested", "count", "mean_score"]))
            v.progress.setText("")
            if self._loading:
                v.source.setText("Reading the stored label issues…")
            else:
                v.source.setText("No label issues found for this data set yet: Review > Find label issues… "
                                 "(or `fashion-review issues find`)." if self.w.session is not None else "")
            v.detail.clear()
            self._update_actions()
            self.queue_changed.emit()
            return
        q = self.queue
        f = v.filters()
        entries = q.entries(reason=f["reason"], kind=f["kind"], pair=f["pair"], show_reviewed=f["show_reviewed"])
        v.model.set_frame(entries)
        v.set_pairs(q.pairs())
        reviewed, total = q.progress()
        v.progress.setText(f"reviewed {reviewed:,} of {total:,}")
        queued = len(q.entries())
        filtered = bool(f["reason"] or f["kind"] or f["pair"] is not None or f["show_reviewed"])
        shown = f"{len(entries):,} shown of {queued:,}" if filtered else f"{queued:,}"
        v.source.setText(f"{q.scheme}: {shown} in the queue · image probabilities: {q.stored.label}")
        ids = set(entries.index.tolist())
        target = None
        if changed is not None and len(changed) == 1 and int(changed[0]) in ids and int(changed[0]) not in self._last_entries:
            target = v.model.row_of(int(changed[0]))  # it came back (an undo)
        elif before_pid is not None and before_pid in ids:
            target = v.model.row_of(before_pid)
        elif v.model.rowCount():
            target = max(0, before_row)
        self._last_entries = ids
        if target is not None and v.model.rowCount():
            v.select_row(target)
        else:
            v.detail.clear()
        self._update_actions()
        self.queue_changed.emit()

    def _on_current(self) -> None:
        pid = self.view.current_pid()
        q, s = self.queue, self.w.session
        if pid is None or q is None or s is None or pid not in q.table.index:
            self.view.detail.clear()
        else:
            row = q.table.loc[pid]
            group = int(row.get("duplicate_group", -1)) if "duplicate_group" in row else -1
            dups = [int(i) for i in q.table.index[q.table["duplicate_group"] == group] if i != pid] if group >= 0 else []
            labels = {i: str(q.table.at[i, "given"]) for i in dups}
            name = str(s.table.frame.at[pid, "name"]) if pid in s.table.frame.index else ""
            self.view.detail.show_issue(pid, row, name, q.scheme, q.stored.label, self.w.thumbs.get(pid), dups, labels,
                                        self.w.thumbs)
        if self.active():
            self.w.schedule_detail()

    def _on_thumbs(self, arrived) -> None:  # noqa: ANN001
        d = self.view.detail
        if d.pid is not None and (d.pid in arrived or set(d.dup_ids) & set(arrived)):
            self._on_current()

    # -- acting -------------------------------------------------------------------------------

    def _suggestion(self, pid: int, k: int = 0) -> str:
        if self.queue is None or pid not in self.queue.table.index:
            return ""
        sugg = [x for x in str(self.queue.table.at[pid, "suggestions"]).split("|") if x]
        return sugg[k] if k < len(sugg) else ""

    def use_suggestion(self, k: int, pids: np.ndarray | None = None) -> int | None:
        """Set each selected product's own ``k + 1``-th suggestion (Enter: the first; keys 1-3)."""
        if self.w.session is None or self.queue is None:
            return None
        pids = self.selected_pids() if pids is None else pids
        changes = self.w.edits.label_changes(pids, self.scheme, lambda pid: self._suggestion(int(pid), k))
        if not changes:
            self.w.statusBar().showMessage("No suggestion to accept for the selection.", 4000)
            return None
        what = "suggestion" if k == 0 else f"suggestion {k + 1}"
        return self.w.edits.record(changes, len(pids), source="curator",
                                   note=f"accept {self.scheme} {what} (label issues)")

    def accept_suggestions(self) -> int | None:
        return self.use_suggestion(0)

    def _apply_label(self, label: str) -> int | None:
        return self.w.edits.set_label(label)

    def confirm(self) -> int | None:
        """Space: the label of each selected product is right (a ``confirmed`` correction; undoable)."""
        s = self.w.session
        if s is None or self.queue is None or not self.active():
            return None
        pids = [int(p) for p in self.selected_pids().tolist() if p in self.queue.table.index]
        try:
            changes = self.w.edits.confirm_changes(pids, self.scheme)
        except FashionReviewError as exc:
            self.w.statusBar().showMessage(f"Not confirmed: {exc}", 6000)
            return None
        if not changes:
            self.w.statusBar().showMessage("Already confirmed.", 3000)
            return None
        return self.w.edits.record(changes, len(pids), source="curator", note=f"{self.scheme} label is right")

    def next_unreviewed(self) -> None:
        """N: the next issue below the current one that nobody has reviewed (wrapping around)."""
        m = self.view.model
        n = m.rowCount()
        if not n:
            return
        reviewed = m.frame["reviewed"].to_numpy(dtype=bool)
        start = self.view.table.selectionModel().currentIndex().row()
        for step in range(1, n + 1):
            r = (start + step) % n
            if not reviewed[r]:
                self.view.select_row(r)
                return
        self.w.statusBar().showMessage("Every issue shown has been reviewed.", 4000)

    def step(self, delta: int) -> None:
        """J / K: the next or previous issue."""
        row = self.view.table.selectionModel().currentIndex().row()
        self.view.select_row((row if row >= 0 else 0) + delta if row >= 0 else 0)

    def _flagged_below(self, threshold: float):  # noqa: ANN202
        """The unreviewed entries shown (the view's filters: one class pair, one reason ...) up to a score."""
        if self.queue is None:
            return None
        f = self.view.filters()
        e = self.queue.entries(reason=f["reason"], kind=f["kind"], pair=f["pair"])
        return e[(e["score"] <= threshold) & ~e["reviewed"]]

    def _ask(self, title: str, text: str) -> bool:
        if QApplication.platformName() == "offscreen":
            return True
        return QMessageBox.question(self.w, title, text) == QMessageBox.StandardButton.Yes

    def exclude_flagged(self, threshold: float) -> int | None:
        """Exclude from training every unreviewed product shown with score <= ``threshold``."""
        e = self._flagged_below(threshold)
        if e is None or e.empty:
            self.w.statusBar().showMessage(f"No unreviewed issue with score ≤ {threshold:.2f}.", 5000)
            return None
        changes = self.w.edits.exclusion_changes(e.index.to_numpy(np.int64), excluded=True)
        pids = [c.product_id for c in changes]
        if not pids or not self._ask("Exclude from training",
                                     f"Exclude {len(pids):,} flagged products (score ≤ {threshold:.2f}) from training?"):
            return None
        return self.w.edits.record(changes, len(pids), source="bulk",
                              note=f"exclude {len(pids):,} flagged {self.scheme} issues (score ≤ {threshold:.2f})")

    def accept_flagged(self, threshold: float) -> int | None:
        """Accept the suggestion of every unreviewed product shown with score <= ``threshold``."""
        e = self._flagged_below(threshold)
        if e is None or e.empty:
            self.w.statusBar().showMessage(f"No unreviewed issue with score ≤ {threshold:.2f}.", 5000)
            return None
        e = e[e["suggestion"] != ""]
        if e.empty or not self._ask("Accept suggestions",
                                    f"Set the suggested {self.scheme} of {len(e):,} flagged products "
                                    f"(score ≤ {threshold:.2f})?"):
            return None
        changes = self.w.edits.label_changes_of(e["suggestion"].to_dict(), self.scheme)
        return self.w.edits.record(changes, len(e), source="bulk",
                              note=f"accept {len(e):,} {self.scheme} suggestions (label issues, score ≤ {threshold:.2f})")

    # -- finding ------------------------------------------------------------------------------

    def open_find(self):  # noqa: ANN201 - the dialog
        """Review > Find label issues…: the dialog with mode, folds, epochs, progress, ETA and Cancel."""
        if self.w.session is None:
            return None
        from fashion_review.gui.issues_find import FindIssuesDialog

        if self._find_dialog is not None and self._find_dialog.isVisible():
            self._find_dialog.raise_()
            self._find_dialog.activateWindow()
            return self._find_dialog
        session = self.w.session
        dlg = FindIssuesDialog(session.ds, self.w, device=self.w.models.device_name())
        dlg.found.connect(self.w.jobs.guard(session, self._on_found, "label-issue search"))
        dlg.job_started.connect(lambda worker, s=session: self.w.jobs.track(s, worker, "label-issue search"))
        self.w.jobs.attach_dialog(session, dlg)  # closed with its data set
        dlg.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dlg.destroyed.connect(lambda *_: setattr(self, "_find_dialog", None))
        dlg.show()
        dlg.raise_()
        # The keys go to it: Enter is its Find, not the queue's "accept the suggestion" behind it (under
        # X without a window manager to focus a new window, Enter relabelled the queue's product).
        dlg.activateWindow()
        self._find_dialog = dlg
        return dlg

    def _on_found(self, stored: StoredIssues) -> None:
        self.set_stored(stored)
        self.w.set_view(VIEW)
        n = len(self.queue.entries()) if self.queue is not None else 0
        self.w.statusBar().showMessage(f"Label issues found: {n:,} in the {self.scheme} queue.", 8000)
