"""The window's actions, in one table that feeds the menus, the toolbar and the F1 help.

:func:`window_actions` lists the window's own actions (text, what they do, keys, tip, menu);
:data:`MENUS` and :data:`TOOLBAR` place them.  :class:`ActionTable` builds the ``QAction`` of
each row, the menus and the toolbar from them, and the keyboard-shortcut help (F1) from the same
rows, so a key can never be missing from the help.  Parts of the app that bring their own actions
(label issues, similar products, the reference model, conflicts) add them with
:meth:`ActionTable.add`, naming the menu they go in: they are in the help too.

An action's slot is called with no argument, or with the new state (bool) for a checkable action:
``triggered(checked)`` never lands in a slot's optional parameter (that is how "Predict the
catalog" once got ``predict_fn=False``).
"""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QMainWindow, QMenu, QToolBar

from fashion_review.data.schemes import SCHEMES

SK = QKeySequence.StandardKey
#: A separator in MENUS and TOOLBAR.
SEP = "-"


@dataclass(frozen=True)
class ActionSpec:
    """One row of the table: ``window.act_<name>`` is its QAction."""

    name: str
    text: str
    slot: Callable[..., Any] | None
    keys: Sequence[Any] = ()
    tip: str = ""
    checkable: bool = False
    group: str = ""  # exclusive checkable actions share a group (the views, the scheme in focus)


def window_actions(w: Any) -> list[ActionSpec]:  # noqa: ANN401 - a MainWindow
    """The main window's own actions (``w`` has its parts: ``edits``, ``models``, ``picks``)."""
    from fashion_review.gui.catalog_model import SCHEME_TITLES

    e, m, p = w.edits, w.models, w.picks
    rows = [
        ActionSpec("open", "&Open data set…", w.choose_dataset, [SK.Open], "Open a folder with styles.csv and images/"),
        ActionSpec("problems", "Catalog &problems…", w.show_catalog_problems, (),
                   "What the reader found wrong in styles.csv (rows skipped, blank fields, ...)"),
        ActionSpec("quit", "&Quit", w.close, [SK.Quit], "Close the window"),
        ActionSpec("undo", "&Undo", e.undo, ["Ctrl+Z"], "Undo this window's latest change"),
        ActionSpec("redo", "&Redo", e.redo, ["Ctrl+Shift+Z", "Ctrl+Y"], "Redo the change this window undid last"),
        ActionSpec("select_all", "Select &all", p.select_all, [SK.SelectAll], "Select every product shown"),
        ActionSpec("find", "&Find…", w.focus_search, [SK.Find], "Search names and ids"),
        ActionSpec("clear_filters", "&Clear filters", w.filter_bar.clear, ["Ctrl+Shift+F"], "Show every product"),
        ActionSpec("refilter", "Re&apply filter", w.refilter, ["F5"],
                   "Filter again (corrected products stay in place until then)"),
    ]
    for k, (name, text) in enumerate((("grid", "&Grid"), ("table", "&Table"), ("confusion", "&Confusion matrix"))):
        rows.append(ActionSpec(f"view_{name}", text, lambda _on, n=name: w.set_view(n), [f"Ctrl+{k + 1}"],
                               f"Show the {name} view", checkable=True, group="views"))
    rows += [
        ActionSpec("bigger", "&Larger thumbnails", lambda: w.zoom(+1), ["Ctrl++", "Ctrl+="], "Larger thumbnails"),
        ActionSpec("smaller", "&Smaller thumbnails", lambda: w.zoom(-1), ["Ctrl+-"], "Smaller thumbnails"),
        ActionSpec("accept", "&Accept prediction", e.accept_predictions, ["Return", "Enter"],
                   "Set the predicted label of the scheme in focus"),
        ActionSpec("label", "Set &label…", w.detail.focus_label, ["L"], "Type a label for the scheme in focus"),
    ]
    rows += [ActionSpec(f"top{k + 1}", f"Use prediction &{k + 1}", lambda k=k: e.use_top(k), [str(k + 1)],
                        f"Set the model's choice number {k + 1}") for k in range(3)]
    rows += [
        ActionSpec("exclude", "E&xclude / include", e.toggle_excluded, ["X"], "Exclude from training (or include again)"),
        ActionSpec("next", "&Next product", p.next_product, ["J"], "Next product (or the arrow keys)"),
        ActionSpec("prev", "&Previous product", p.previous_product, ["K"], "Previous product (or the arrow keys)"),
        ActionSpec("advance", "Advance after &correcting", e.set_advance, (),
                   "Move to the next product after correcting one", checkable=True),
        ActionSpec("conflicts", "Resol&ve conflicts…", e.open_conflicts, (),
                   "Corrections of fields a newer styles.csv changed to another value: keep yours or take the file's"),
    ]
    rows += [ActionSpec(f"scheme_{s}", SCHEME_TITLES.get(s, s), lambda _on, s=s: w.set_scheme(s), [f"Alt+{k + 1}"],
                        f"Focus the {s} scheme", checkable=True, group="schemes") for k, s in enumerate(SCHEMES)]
    rows += [
        ActionSpec("choose", "&Choose model…", m.choose_model, ["Ctrl+Shift+M"],
                   "Choose the model the app shows among this data set's trained runs"),
        ActionSpec("predict", "&Predict the catalog", m.predict_catalog, ["Ctrl+Shift+P"],
                   "Run the active model over every product (in the background; Cancel stops it)"),
        ActionSpec("retrain", "&Retrain…", m.open_retrain, ["Ctrl+Shift+R"],
                   "Retrain the model on the corrected labels (heads only, or fully)"),
        ActionSpec("shortcuts", "&Keyboard shortcuts", w.show_shortcuts, ["F1"], "Every key of the app"),
        ActionSpec("about", "&About", w.show_about, (), "About Fashion Review"),
    ]
    return rows


#: Where the window's actions go: menu title -> entries (an action name, SEP, "@hook" filled by the
#: window: the recent list, the docks' toggles), or (submenu title, entries).
MENUS: tuple = (
    ("&File", ("open", "@recent", "problems", SEP, "quit")),
    ("&Edit", ("undo", "redo", SEP, "select_all", "find")),
    ("&View", ("view_grid", "view_table", "view_confusion", SEP, "bigger", "smaller", SEP, "clear_filters",
               "refilter", SEP, "@docks")),
    ("&Review", ("accept", "label", "top1", "top2", "top3", "exclude", SEP, "next", "prev", SEP,
                 ("&Scheme in focus", tuple(f"scheme_{s}" for s in SCHEMES)), "advance", SEP, "conflicts")),
    ("&Models", ("choose", "predict", "retrain")),
    ("&Help", ("shortcuts", "about")),
)
TOOLBAR: tuple = ("view_grid", "view_table", "view_confusion", SEP, "undo", "redo", SEP, "accept", "exclude", SEP,
                  "prev", "next")


def key_text(action: QAction) -> str:
    return ", ".join(k.toString(QKeySequence.SequenceFormat.NativeText) for k in action.shortcuts())


class ActionTable:
    """The QActions of one window, its menus and toolbar, and the shortcut help, from one table."""

    def __init__(self, window: QMainWindow) -> None:
        self.w = window
        self.by_name: dict[str, QAction] = {}
        self.menus: dict[str, QMenu] = {}
        self._where: dict[int, str] = {}  # id(action) -> top menu title (for the help's sections)
        self._order: list[QAction] = []
        self._groups: dict[str, QActionGroup] = {}

    # -- making actions ---------------------------------------------------------------------

    def make(self, spec: ActionSpec) -> QAction:
        a = QAction(spec.text, self.w)
        keys = [k if isinstance(k, QKeySequence) else QKeySequence(k) for k in spec.keys]
        if keys:
            a.setShortcuts(keys)
            a.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        shown = ", ".join(k.toString(QKeySequence.SequenceFormat.NativeText) for k in keys[:2])
        tip = spec.tip or spec.text.replace("&", "").rstrip("…")
        a.setToolTip(tip + (f"  ({shown})" if shown else ""))
        a.setStatusTip(tip)
        a.setCheckable(spec.checkable)
        if spec.group:
            if spec.group not in self._groups:
                self._groups[spec.group] = QActionGroup(self.w)
            self._groups[spec.group].addAction(a)
        if spec.slot is not None:
            if spec.checkable:
                a.triggered.connect(lambda checked=False, f=spec.slot: f(bool(checked)))
            else:
                a.triggered.connect(lambda _checked=False, f=spec.slot: f())
        self.w.addAction(a)  # shortcuts work even when the menu bar is hidden
        self.by_name[spec.name] = a
        self._order.append(a)
        return a

    def add(self, name: str, text: str, slot: Callable[..., Any] | None, keys: Sequence[Any] = (), tip: str = "",
            *, checkable: bool = False, menu: str | None = None, group: str = "",
            before: QAction | None = None, separator: bool = False) -> QAction:
        """A further action (another part of the app's), in ``menu`` (a top menu's title) and the help."""
        a = self.make(ActionSpec(name, text, slot, keys, tip, checkable, group))
        if menu is not None:
            m = self.menus[menu]
            if separator:
                m.insertSeparator(before) if before is not None else m.addSeparator()
            m.insertAction(before, a) if before is not None else m.addAction(a)
            self._where[id(a)] = menu
        return a

    def __getitem__(self, name: str) -> QAction:
        return self.by_name[name]

    def group(self, name: str) -> QActionGroup:
        return self._groups[name]

    # -- menus and toolbar -----------------------------------------------------------------------

    def build(self, specs: Sequence[ActionSpec], hooks: dict[str, Callable[[QMenu], None]]) -> QToolBar:
        """Every spec's action, :data:`MENUS` in the window's menu bar and :data:`TOOLBAR`; returns the toolbar."""
        for spec in specs:
            setattr(self.w, f"act_{spec.name}", self.make(spec))
        bar = self.w.menuBar()
        for title, entries in MENUS:
            menu = bar.addMenu(title)
            self.menus[title] = menu
            self._fill(menu, title, entries, hooks)
        tb = QToolBar("Main")
        tb.setObjectName("main_toolbar")
        tb.setMovable(False)
        tb.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        for entry in TOOLBAR:
            tb.addSeparator() if entry == SEP else tb.addAction(self.by_name[entry])
        self.w.addToolBar(Qt.ToolBarArea.TopToolBarArea, tb)
        return tb

    def _fill(self, menu: QMenu, top: str, entries: Sequence[Any], hooks: dict[str, Callable[[QMenu], None]]) -> None:
        for entry in entries:
            if entry == SEP:
                menu.addSeparator()
            elif isinstance(entry, tuple):
                self._fill(menu.addMenu(entry[0]), top, entry[1], hooks)
            elif entry.startswith("@"):
                hooks[entry[1:]](menu)
            else:
                a = self.by_name[entry]
                menu.addAction(a)
                self._where[id(a)] = top

    # -- the help -----------------------------------------------------------------------------------

    def with_keys(self) -> list[tuple[str, QAction]]:
        """(menu title, action) of every action with a shortcut, menu by menu in the table's order."""
        titles = [t for t, _ in MENUS]
        rows = [(self._where.get(id(a), ""), a) for a in self._order if a.shortcuts()]
        return sorted(rows, key=lambda r: titles.index(r[0]) if r[0] in titles else len(titles))

    def shortcut_help(self) -> str:
        """The F1 text: every key of the app, under the menu its action is in.

        The menus' sections in two columns, split where the rows are about even: in one column the
        box was 800 pixels high, its OK button below a laptop screen's edge (768)."""
        def cell(text: str) -> str:  # unbroken: the box's text is narrow, and "Use prediction / 1" wrapped
            return html.escape(text).replace(" ", "&nbsp;")

        sections: list[tuple[str, list[str]]] = []
        last = None
        for where, a in self.with_keys():
            if where != last:
                sections.append((where.replace("&", "") or "Other", []))
                last = where
            sections[-1][1].append(f"<tr><td><b>{cell(key_text(a))}</b></td><td>{cell(a.text().replace('&', ''))}</td></tr>")
        sizes = [len(rows) + 2 for _, rows in sections]  # a title takes about two rows
        total, run, cut = sum(sizes), 0, len(sections)
        for i, n in enumerate(sizes):
            if run + n / 2 >= total / 2:
                cut = i
                break
            run += n
        cut = max(1, cut)

        def column(part: list[tuple[str, list[str]]]) -> str:
            return "<table cellspacing=3>" + "".join(
                f"<tr><td colspan=2><br><b><u>{html.escape(title)}</u></b></td></tr>" + "".join(rows)
                for title, rows in part) + "</table>"

        return ("<table><tr><td valign=top>" + column(sections[:cut]) + "</td><td width=24></td><td valign=top>"
                + column(sections[cut:]) + "</td></tr></table>"
                "<p>Arrow keys move too; with several products selected, label, accept and exclude apply to "
                "all of them as one change.</p>")
