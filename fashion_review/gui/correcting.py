"""The window's corrections: from a key or a menu item to a batch in the corrections store.

:class:`Edits` turns the window's actions (accept a prediction, set a label, a prediction number
1-3, exclude / include, undo, redo, resolve conflicts) into field changes with the headless rules
of :mod:`fashion_review.review.editing`, records them as one batch (committed before ``record``
returns), then has the review table recompute the rows it touched and the views repaint them.

Two windows on one data set: Undo and Redo reach this window's batches (and those of windows and
commands that have ended), never another open window's (the store's ``scope="session"``); a
change whose old value another window changed meanwhile is refused by the store
(:class:`~fashion_review.data.corrections.StaleValueError`): one message says so and the rows
show the current values.  The History panel shows what was carried over from an earlier
version of styles.csv, and Review > Resolve conflicts… (:mod:`fashion_review.gui.conflicts`)
settles the fields the new file changed to something else.
"""

from __future__ import annotations

import html
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import numpy as np
from PySide6.QtCore import QObject

from fashion_review.data.corrections import Change, StaleValueError
from fashion_review.errors import FashionReviewError
from fashion_review.gui import dialogs
from fashion_review.gui.history import CARRIED_STATE_TEXT, carried_words, local_time
from fashion_review.review import editing
from fashion_review.text import plural


class Edits(QObject):
    """The correction dispatch of one window (``window``: the MainWindow; see the module docstring)."""

    def __init__(self, window: Any) -> None:  # noqa: ANN401
        super().__init__(window)
        self.w = window
        #: batch id -> Counter of the carried states of its fields (batches carried over from an
        #: earlier styles.csv never change, so this is computed on opening and after resolving).
        self._carried_by_batch: dict[int, Counter] = {}

    # -- helpers ----------------------------------------------------------------------------

    @property
    def store(self) -> Any:  # noqa: ANN401 - data.corrections.CorrectionStore
        return self.w.session.store

    def _effective(self) -> Any:  # noqa: ANN401
        return self.w.session.table.effective

    def _status(self, text: str, ms: int = 6000) -> None:
        self.w.statusBar().showMessage(text, ms)

    def label_changes(self, pids: Iterable[int], scheme: str, label_of: Callable[[int], str]) -> list[Change]:
        """Each product's own label (``label_of(pid)``, blank: unchanged) as field changes."""
        labels = {int(p): label_of(int(p)) for p in pids}
        return editing.label_changes_each(self._effective(), labels, scheme)

    def label_changes_of(self, labels: Mapping[int, str], scheme: str) -> list[Change]:
        return editing.label_changes_each(self._effective(), dict(labels), scheme)

    def exclusion_changes(self, pids: Iterable[int], excluded: bool | None = None) -> list[Change]:
        return editing.exclusion_changes(self._effective(), pids, excluded)

    def confirm_changes(self, pids: Iterable[int], scheme: str) -> list[Change]:
        return editing.confirm_changes(self._effective(), pids, scheme, self.store.effective())

    # -- recording ----------------------------------------------------------------------------

    def record(self, changes: list[Change], n_targets: int, *, source: str, note: str,
               model_version: str | None = None) -> int | None:
        """Record ``changes`` as one batch (committed), then show them; returns the batch id."""
        if self.w.session is None:
            return None
        if not changes:
            self._status("Nothing to change: the labels are already so.", 4000)
            return None
        if n_targets > 1:
            source = "bulk"
        try:
            batch = self.store.record(changes, author=self.w.settings.author or "curator", source=source,
                                      model_version=model_version, note=note)
        except StaleValueError as exc:
            self._stale(exc, "The change was not recorded")
            return None
        except (FashionReviewError, ValueError) as exc:
            self.w.error("The change was not recorded", str(exc))
            return None
        pids = np.unique(np.fromiter((c.product_id for c in changes), dtype=np.int64))
        self.after_change(pids)
        self._status(f"{note} · {plural(len(pids), 'product')} · batch {batch} (Ctrl+Z to undo)")
        return batch

    def _stale(self, exc: StaleValueError, title: str) -> None:
        """Values changed underneath (another window): show the current ones, and say so once."""
        pids = np.unique(np.array([c.product_id for c, _ in exc.stale], dtype=np.int64))
        self.after_change(pids)
        shown = "; ".join(f"product {c.product_id} {c.field} is {now or 'blank'!r} now" for c, now in exc.stale[:4])
        more = f" (and {len(exc.stale) - 4} more)" if len(exc.stale) > 4 else ""
        text = (f"{plural(len(exc.stale), 'value')} changed since this window showed {'them' if len(exc.stale) > 1 else 'it'} "
                f"(another window or command on this data set): {shown}{more}.\n\nNothing was changed; the "
                "window shows the current values now.")
        self._status(f"{title}: {plural(len(exc.stale), 'value')} changed elsewhere; the current values are shown.",
                     10000)
        dialogs.warn(self.w, title, text)

    def after_change(self, pids: np.ndarray) -> None:
        """The store changed for ``pids``: recompute their rows and repaint (not the whole table)."""
        s = self.w.session
        pos = s.table.apply_corrections(pids, s.store.effective())
        self.w.model.refresh(pos)
        self.refresh_history()
        self.w.schedule_detail()
        self.w.parts.update_soon()
        self.w.corrected.emit(pids)

    def _advance(self, n_targets: int) -> None:
        if self.w.settings.advance and n_targets == 1:
            self.w.picks.next_product()

    def set_advance(self, on: bool) -> None:
        self.w.settings.advance = bool(on)

    # -- the actions ---------------------------------------------------------------------------

    def accept_predictions(self) -> int | None:
        """Set the predicted label of the scheme in focus (Enter), for the selection."""
        w = self.w
        if w.session is None:
            return None
        if w.issues_active():
            return w.label_issues.accept_suggestions()
        t, s = w.session.table, w.model.scheme
        if not t.has_predictions(s):
            self._status(f"No predictions for {s}.", 4000)
            return None
        pids = w.targets()
        changes = self.label_changes(pids, s, lambda pid: t.label(pid, s, "pred"))
        batch = self.record(changes, len(pids), source="prediction", model_version=t.model_version or None,
                            note=f"accept {s} prediction")
        self._advance(len(pids))
        return batch

    def set_label(self, label: str, *, new: bool = False) -> int | None:
        """Set ``label`` for the scheme in focus on the selection (the label box).

        Only a label the scheme has (case aside) is set; a new class takes ``new=True``, which
        only :meth:`add_new_label` passes, after asking."""
        w = self.w
        label = label.strip()
        if w.session is None or not label:
            return None
        from fashion_review.gui.label_box import resolve_label

        s = w.model.scheme
        exact = resolve_label(label, w.session.table.known_labels(s))
        if exact is not None:
            label = exact
        elif not new:
            self._status(f"“{label}” is not a {s} label of this catalog; nothing changed "
                         "(Ctrl+Enter in the label box makes a new label).", 8000)
            return None
        pids = w.targets()
        try:
            changes = self.label_changes(pids, s, lambda _pid: label)
        except FashionReviewError as exc:
            w.error("Not a label of this scheme", str(exc))
            return None
        batch = self.record(changes, len(pids), source="curator", note=f"set {s} to {label}")
        self._advance(len(pids))
        return batch

    def add_new_label(self, label: str) -> int | None:
        """Ctrl+Enter in the label box: make ``label`` a new class of the scheme, after asking (default No)."""
        w = self.w
        if w.session is None or not label.strip():
            return None
        s, n = w.model.scheme, len(w.targets())
        if not dialogs.ask(w, "New label", f"“{label.strip()}” is not a {s} label of this catalog yet.\n\nMake it a "
                                           f"new {s} class and set it for {plural(n, 'product')}?"):
            self._status("No new label made; nothing changed.", 5000)
            return None
        return self.set_label(label, new=True)

    def use_top(self, k: int) -> int | None:
        """Set each selected product's own choice number ``k + 1`` of the model (keys 1-3); in the
        Label issues view, each one's own ``k + 1``-th suggestion."""
        w = self.w
        if w.session is None:
            return None
        if w.issues_active():
            return w.label_issues.use_suggestion(k)
        pids = w.targets()
        if not len(pids):
            return None
        t, s = w.session.table, w.model.scheme

        def own(pid: int) -> str:
            top = t.top_k(int(pid), s, 3)
            return top[k][0] if k < len(top) else ""

        changes = self.label_changes(pids, s, own)
        batch = self.record(changes, len(pids), source="curator", note=f"set {s} to each one's prediction {k + 1}")
        self._advance(len(pids))
        return batch

    def toggle_excluded(self) -> int | None:
        """Exclude the selection from training (X); when all are excluded already, include them."""
        w = self.w
        if w.session is None:
            return None
        pids = w.targets()
        if not len(pids):
            return None
        changes = self.exclusion_changes(pids)
        excluding = bool(changes) and changes[0].new_value == "true"
        batch = self.record(changes, len(pids), source="curator",
                            note="exclude from training" if excluding else "include in training")
        self._advance(len(pids))
        return batch

    # -- undo / redo -------------------------------------------------------------------------------

    def undo(self) -> int | None:
        return self._undo_redo(undo=True)

    def redo(self) -> int | None:
        return self._undo_redo(undo=False)

    def _undo_redo(self, undo: bool) -> int | None:
        w = self.w
        if w.session is None:
            return None
        store, verb = self.store, "undo" if undo else "redo"
        try:
            # this window's batches (and those of ended sessions), never another open window's
            batch = store.undo(scope="session") if undo else store.redo(scope="session")
        except StaleValueError as exc:
            self._stale(exc, f"Batch not {'undone' if undo else 'redone'}")
            return None
        except FashionReviewError as exc:
            w.error("Undo failed" if undo else "Redo failed", str(exc))
            return None
        if batch is None:
            self._status(self._nothing_to(verb), 6000)
            return None
        pids = np.unique(np.array([c.product_id for c in store.history() if c.batch_id == batch], dtype=np.int64))
        self.after_change(pids)
        self._status(f"{'Undid' if undo else 'Redid'} batch {batch} · {plural(len(pids), 'product')}", 5000)
        if len(pids) == 1:
            w.select_pids(pids, int(pids[0]))
        return batch

    def _nothing_to(self, verb: str) -> str:
        """Why there is nothing of this window's to undo (or redo), in words."""
        store = self.store
        others = store.can_undo("any") if verb == "undo" else store.can_redo("any")
        if others:
            whose = "the latest changes are" if verb == "undo" else "the changes undone last are"
            return (f"Nothing of this window's to {verb}: {whose} another window's still open on this data set "
                    f"({verb} them there).")
        if verb == "undo" and any(b["carried_from"] and b["state"] == "active" for b in store.batches()):
            return ("Nothing of this window's to undo: the corrections carried over from the earlier styles.csv "
                    "stay (correct the labels again to change them).")
        return f"Nothing to {verb}."

    # -- history -----------------------------------------------------------------------------------

    def refresh_history(self) -> None:
        """The Undo / Redo actions and the History panel, for this window's session."""
        w = self.w
        if w.session is None:
            w.act_undo.setEnabled(False)
            w.act_redo.setEnabled(False)
            w.history.set_batches([], False, False)
            w.history.set_carried("")
            return
        store = self.store
        # Enabled while this window has something to undo, or another window has (pressing it then
        # says whose it is: this window never undoes another open window's batch).
        can_undo = store.can_undo("session") or store.can_undo("any")
        can_redo = store.can_redo("session") or store.can_redo("any")
        w.act_undo.setEnabled(can_undo)
        w.act_redo.setEnabled(can_redo)
        w.history.set_batches(store.batches(), can_undo, can_redo, self._carried_by_batch)

    def on_opened(self) -> str:
        """A data set was opened: what was carried over from an earlier styles.csv, in words."""
        self._carried_by_batch = {}
        self.refresh_carried()
        self.refresh_history()
        s = self.w.session
        ds = s.ds
        notes = []
        if getattr(ds, "carry_problem", None):
            notes.append(ds.carry_problem)
        carried = getattr(ds, "carried", None)
        if carried:
            counts = carried.get("counts", {})
            n = sum(counts.values())
            states = ", ".join(carried_words(k, v) for k, v in counts.items() if v)
            notes.append(f"styles.csv changed: {plural(n, 'corrected field')} carried over from its earlier version"
                         + (f" ({states})" if states else ""))
        n_conflicts = len(s.store.conflicts())
        if n_conflicts:
            notes.append(f"{plural(n_conflicts, 'conflict')} with the edited styles.csv to resolve "
                         "(Review > Resolve conflicts…)")
        return " · ".join(notes)

    def refresh_carried(self) -> None:
        """The carried-over states per batch and the History panel's summary of them."""
        w = self.w
        store = self.store
        rows = store.carried()
        if not rows:
            self._carried_by_batch = {}
            w.history.set_carried("")
            return
        state_of = {(int(r["product_id"]), str(r["field"])): ("resolved" if r["state"] == "conflict" and r["resolved"]
                                                              else str(r["state"])) for r in rows}
        carried_batches = {b["id"] for b in store.batches() if b["carried_from"]}
        by_batch: dict[int, Counter] = {}
        for c in store.history():
            if c.batch_id in carried_batches and c.active and (c.product_id, c.field) in state_of:
                by_batch.setdefault(c.batch_id, Counter())[state_of[(c.product_id, c.field)]] += 1
        self._carried_by_batch = by_batch
        counts = Counter(state_of.values())
        lineage = store.lineage()
        when = local_time(str(lineage[-1]["carried_at"]), short=False) if lineage else ""
        open_ = counts.get("conflict", 0)
        parts = ", ".join(carried_words(k, counts[k]) for k in CARRIED_STATE_TEXT if counts.get(k))
        text = (f"Carried over from the earlier styles.csv{f' ({when})' if when else ''}: "
                f"{plural(len(rows), 'corrected field')}: {html.escape(parts)}.")
        if open_:
            text += f" <a href='conflicts'>Resolve {plural(open_, 'conflict')}…</a>"
        w.history.set_carried(text)

    def open_conflicts(self) -> int:
        """Review > Resolve conflicts…: the dialog; returns how many conflicts were resolved."""
        w = self.w
        if w.session is None:
            return 0
        from fashion_review.gui.conflicts import ConflictsDialog

        dlg = ConflictsDialog(self.store, w.session.table.frame, w, author=w.settings.author or "curator")
        dlg.exec()
        if dlg.resolved:
            changed = np.unique(np.array([pid for pid, _f, keep in dlg.resolved if keep == "file"], dtype=np.int64))
            self.refresh_carried()
            if len(changed):
                self.after_change(changed)
            else:
                self.refresh_history()
            kept = sum(1 for *_x, keep in dlg.resolved if keep == "mine")
            self._status(f"Resolved {plural(len(dlg.resolved), 'conflict')}: {kept:,} kept yours, "
                         f"{len(dlg.resolved) - kept:,} took the file's value.", 8000)
        return len(dlg.resolved)

    # -- tooltips ------------------------------------------------------------------------------------

    def correction_note(self, pid: int) -> str:
        """Tooltip lines for a corrected product: given label, new label, who and how."""
        if self.w.session is None:
            return ""
        lines = []
        for c in reversed(self.store.history(pid)):
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
