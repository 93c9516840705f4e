"""The detail panel: the current product enlarged, every attribute, each scheme's given and
predicted labels with the top-3 probabilities, the product's correction history, and the
controls to correct the label of the scheme in focus.

The panel only shows and asks: its buttons emit signals (:attr:`DetailPanel.label_chosen`,
:attr:`~DetailPanel.accept_requested`, :attr:`~DetailPanel.exclude_requested`) and the window
records the change (for the whole selection when several products are selected).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QFont, QPixmap
from PySide6.QtWidgets import (
    QFormLayout,
    QFrame,
    QGridLayout,
    QGroupBox,
    QLabel,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from fashion_review.gui.catalog_model import AGREE_COLOUR, CORRECTED_COLOUR, DISAGREE_COLOUR, SCHEME_TITLES
from fashion_review.gui.label_box import LabelBox
from fashion_review.gui.history import local_time
from fashion_review.review.table import EXCLUDED, ReviewTable, col

#: Attributes shown in the form, in this order (then any other column of the catalog).
ATTRIBUTES = ("gender", "masterCategory", "subCategory", "articleType", "baseColour", "season", "year", "usage")
IMAGE_SIZE = QSize(150, 200)
PART_NAMES = {"train": "train", "val": "validation", "test": "test"}


def _html(text: object) -> str:
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class DetailPanel(QScrollArea):
    """Shows one product; asks for corrections through signals."""

    label_chosen = Signal(str)  # a label for the scheme in focus (the label box or a top-3 button)
    accept_requested = Signal()
    exclude_requested = Signal()
    #: Ctrl+Enter in the label box: a label that is not in the scheme yet (the window asks first).
    new_label_requested = Signal(str)
    #: The label box is done (committed or Escape): the focus goes back to the catalog view.
    label_box_left = Signal()
    #: A message for the status bar (Enter on a text that is no label).
    message = Signal(str)
    #: The panel shows a product (again, after a refresh), or none (the id, or None): its sections follow.
    product_shown = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setMinimumWidth(300)
        self.pid: int | None = None
        self.scheme = "articleType"
        self._top3: list[tuple[str, float]] = []

        body = QWidget()
        lay = QVBoxLayout(body)
        lay.setContentsMargins(10, 8, 10, 8)
        lay.setSpacing(8)

        self.image = QLabel()
        self.image.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.image.setFixedHeight(IMAGE_SIZE.height() + 8)
        self.image.setStyleSheet("background: #f4f4f4; border-radius: 6px;")
        self.title = QLabel("No product selected")
        self.title.setWordWrap(True)
        tf = QFont(self.title.font())
        tf.setPointSizeF(tf.pointSizeF() * 1.15)
        tf.setBold(True)
        self.title.setFont(tf)
        self.title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.subtitle = QLabel("")
        self.subtitle.setTextFormat(Qt.TextFormat.RichText)
        self.subtitle.setWordWrap(True)
        self.selection_note = QLabel("")
        self.selection_note.setStyleSheet("color: #8a5a00; font-weight: bold;")
        self.selection_note.setWordWrap(True)
        self.selection_note.hide()

        # Correcting the scheme in focus.
        self.correct_box = QGroupBox("Label")
        cl = QGridLayout(self.correct_box)
        cl.setContentsMargins(8, 6, 8, 8)
        cl.setHorizontalSpacing(6)
        cl.setVerticalSpacing(6)
        self.label_combo = LabelBox("Type to find a label; Enter sets it when it is exactly a label, "
                                    "Ctrl+Enter adds a new one, Escape leaves the box (L to come back)")
        self.set_button = QPushButton("Set")
        self.set_button.setToolTip("Set this label (Enter in the box)")
        self.top_buttons = [QPushButton("") for _ in range(3)]
        for k, b in enumerate(self.top_buttons):
            b.setToolTip(f"Set the model's choice number {k + 1} ({k + 1})")
            b.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
            b.setStyleSheet("text-align: left; padding: 3px 6px;")
            b.clicked.connect(lambda _=False, k=k: self._on_top(k))
        self.accept_button = QPushButton("Accept prediction")
        self.accept_button.setToolTip("Take the predicted label (Enter)")
        self.exclude_button = QPushButton("Exclude")
        self.exclude_button.setToolTip("Exclude from training, or include again (X)")
        cl.addWidget(self.label_combo, 0, 0, 1, 2)
        cl.addWidget(self.set_button, 0, 2)
        for k, b in enumerate(self.top_buttons):
            cl.addWidget(b, 1 + k, 0, 1, 3)
        cl.addWidget(self.accept_button, 4, 0, 1, 2)
        cl.addWidget(self.exclude_button, 4, 2)
        cl.setColumnStretch(0, 1)

        # Every scheme: given label, then the model's top 3.
        self.schemes = QLabel("")
        self.schemes.setTextFormat(Qt.TextFormat.RichText)
        self.schemes.setWordWrap(True)
        self.schemes.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        schemes_box = QGroupBox("Labels and predictions")
        QVBoxLayout(schemes_box).addWidget(self.schemes)

        self.attributes = QFormLayout()
        self.attributes.setLabelAlignment(Qt.AlignmentFlag.AlignRight)
        self.attributes.setHorizontalSpacing(10)
        self.attributes.setVerticalSpacing(2)
        attr_box = QGroupBox("Attributes")
        attr_box.setLayout(self.attributes)

        self.history = QLabel("")
        self.history.setTextFormat(Qt.TextFormat.RichText)
        self.history.setWordWrap(True)
        self.history.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        hist_box = QGroupBox("Corrections of this product")
        QVBoxLayout(hist_box).addWidget(self.history)

        lay.addWidget(self.image)
        lay.addWidget(self.title)
        lay.addWidget(self.subtitle)
        lay.addWidget(self.selection_note)
        lay.addWidget(self.correct_box)
        lay.addWidget(schemes_box)
        lay.addWidget(attr_box)
        lay.addWidget(hist_box)
        lay.addStretch(1)
        self._layout = lay
        self._sections_at = lay.indexOf(schemes_box)  # sections of other modules go above the labels
        self.setWidget(body)

        self.set_button.clicked.connect(self.apply_combo)
        self.label_combo.committed.connect(self.label_chosen)
        self.label_combo.new_label_requested.connect(self.new_label_requested)
        self.label_combo.left.connect(self.label_box_left)
        self.label_combo.refused.connect(self.message)
        self.accept_button.clicked.connect(self.accept_requested)
        self.exclude_button.clicked.connect(self.exclude_requested)
        self.clear()

    # -- showing ------------------------------------------------------------------------

    def clear(self) -> None:
        self.pid = None
        self.image.clear()
        self.image.setText("")
        self.title.setText("No product selected")
        self.subtitle.setText("Pick a product in the grid or the table.")
        self.schemes.setText("")
        self.history.setText("")
        while self.attributes.rowCount():
            self.attributes.removeRow(0)
        self.correct_box.setEnabled(False)
        # nothing of the last product stays (greyed, its label and "1 Shirts 92 % ✓ current" read as this one's)
        self.label_combo.setEditText("")
        self._top3 = []
        for b in self.top_buttons:
            b.hide()
        self.accept_button.setText("Accept prediction")
        self.exclude_button.setText("Exclude")
        self.product_shown.emit(None)

    def show_product(self, table: ReviewTable, pid: int, scheme: str, *, image_path: Path | None,
                     history: Sequence = (), labels: Sequence[str] = (), n_selected: int = 1) -> None:
        """Show product ``pid`` of ``table``; ``labels`` fill the label combo of ``scheme``."""
        same_product = self.pid == int(pid)
        self.pid = int(pid)
        self.scheme = scheme
        f = table.frame
        eff = table.effective
        self.correct_box.setEnabled(True)

        pm = QPixmap(str(image_path)) if image_path is not None and bool(f.at[pid, "has_image"]) else QPixmap()
        if pm.isNull():
            self.image.setPixmap(QPixmap())
            self.image.setText("no image" if not bool(f.at[pid, "has_image"]) else "image unreadable")
        else:
            self.image.setPixmap(pm.scaled(IMAGE_SIZE, Qt.AspectRatioMode.KeepAspectRatio,
                                           Qt.TransformationMode.SmoothTransformation))
        self.title.setText(str(f.at[pid, "name"]) or "(no name)")
        marks = [f"id {pid}"]
        if bool(f.at[pid, "corrected"]):
            marks.append(f"<span style='color:{CORRECTED_COLOUR.name()}'><b>corrected</b></span>")
        if bool(f.at[pid, EXCLUDED]):
            marks.append("<span style='color:#777'><b>excluded from training</b></span>")
        part = f.at[pid, col("part", scheme)]
        marks.append(f"{_html(PART_NAMES.get(part, part))} part" if part else "in no split part")
        self.subtitle.setText(" · ".join(marks))
        if n_selected > 1:
            self.selection_note.setText(f"{n_selected:,} products selected: label, accept and exclude "
                                        "apply to all of them, as one change.")
            self.selection_note.show()
        else:
            self.selection_note.hide()

        # The scheme in focus: combo + top-3.
        given = table.label(pid, scheme)
        self.correct_box.setTitle(f"Label: {SCHEME_TITLES.get(scheme, scheme)}")
        typing = self.label_combo.hasFocus() and same_product and self.label_combo.scheme == scheme
        if not typing:  # a refresh of the product being typed for leaves the typing alone
            self.label_combo.show_label(labels, given, scheme)
        self._top3 = table.top_k(pid, scheme, 3)
        for k, b in enumerate(self.top_buttons):
            if k < len(self._top3):
                name, p = self._top3[k]
                mark = "  ✓ current" if name == given else ""
                b.setText(f"{k + 1}   {name}   {p:.0%}{mark}")
                b.setEnabled(True)
                b.show()
            else:
                b.setText(f"{k + 1}   —")
                b.setEnabled(False)
                b.setVisible(bool(self._top3))
        pred = table.label(pid, scheme, "pred")
        self.accept_button.setEnabled(bool(pred) and (pred != given or n_selected > 1))
        self.accept_button.setText(f"Accept “{pred}”" if pred else "Accept prediction")
        excluded = bool(f.at[pid, EXCLUDED])
        self.exclude_button.setText("Include" if excluded and n_selected == 1 else "Exclude")

        # Every scheme.
        rows = []
        for s in table.schemes:
            g = table.label(pid, s)
            orig = table.label(pid, s, "original")
            name = _html(SCHEME_TITLES.get(s, s)).replace(" ", "&nbsp;")
            if s == scheme:
                name = f"<b>{name}</b>"
            label = _html(g or "(blank)")
            if g != orig:
                label = (f"<b style='color:{CORRECTED_COLOUR.name()}'>{label}</b> "
                         f"<span style='color:#888'>(was {_html(orig) or 'blank'})</span>")
            top = table.top_k(pid, s, 3)
            if top:
                parts = []
                for k, (n, p) in enumerate(top):
                    colour = (AGREE_COLOUR if n == g else DISAGREE_COLOUR).name() if k == 0 else "#666"
                    parts.append(f"<span style='color:{colour}'>{_html(n).replace(' ', '&nbsp;')}&nbsp;{p:.0%}</span>")
                model = " · ".join(parts)
            else:
                model = "<span style='color:#999'>no prediction</span>"
            rows.append(f"<tr><td style='padding-right:8px'>{name}</td><td>{label}</td></tr>"
                        f"<tr><td></td><td style='padding-bottom:5px'>{model}</td></tr>")
        self.schemes.setText("<table cellspacing=0 cellpadding=1>" + "".join(rows) + "</table>")

        # Attributes.
        while self.attributes.rowCount():
            self.attributes.removeRow(0)
        orig_row = table.original.loc[pid]
        cols = [c for c in ATTRIBUTES if c in eff.columns]
        cols += [c for c in eff.columns if c not in cols and c not in ("productDisplayName", "line", "has_image",
                                                                    EXCLUDED)]
        for c in cols:
            v = str(eff.at[pid, c])
            o = str(orig_row[c]) if c in orig_row.index else v
            text = _html(v) if v == o else f"<b style='color:{CORRECTED_COLOUR.name()}'>{_html(v)}</b> " \
                                            f"<span style='color:#888'>(was {_html(o) or 'blank'})</span>"
            lab = QLabel(text)
            lab.setTextFormat(Qt.TextFormat.RichText)
            lab.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            self.attributes.addRow(f"{c}:", lab)
        self.attributes.addRow("line:", QLabel(str(eff.at[pid, "line"])))
        self.attributes.addRow("image:", QLabel("yes" if bool(f.at[pid, "has_image"]) else "missing"))

        # History.
        if not history:
            self.history.setText("<span style='color:#888'>None yet.</span>")
        else:
            lines = []
            for c in reversed(list(history)):
                when = local_time(c.created_at, short=False)
                src = {"prediction": f"accepted prediction{' of ' + c.model_version if c.model_version else ''}",
                       "bulk": "bulk change", "curator": "by hand", "import": "import"}.get(c.source, c.source)
                what = f"{_html(c.field)}: {_html(c.old_value) or 'blank'} → <b>{_html(c.new_value)}</b>"
                line = f"{when} · {_html(c.author)} · {src}<br>&nbsp;&nbsp;{what}"
                if not c.active:
                    line = f"<span style='color:#999'><s>{line}</s> (undone)</span>"
                lines.append(line)
            self.history.setText("<br>".join(lines))
        self.product_shown.emit(self.pid)  # the same one too: its predictions (and look-alikes) may be new

    def add_section(self, widget: QWidget) -> None:
        """Add a section of another module (similar products, photo checks) below the label box."""
        self._layout.insertWidget(self._sections_at, widget)
        self._sections_at += 1

    # -- asking -------------------------------------------------------------------------

    @property
    def top3(self) -> list[tuple[str, float]]:
        return list(self._top3)

    def apply_combo(self) -> None:
        """Set the label typed in the box (the Set button): only an exact label is committed."""
        self.label_combo.commit()

    def focus_label(self) -> None:
        self.label_combo.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.label_combo.lineEdit().selectAll()

    def combo_has_focus(self) -> bool:
        from PySide6.QtWidgets import QApplication

        w = QApplication.focusWidget()
        return w is not None and (w is self.label_combo or self.label_combo.isAncestorOf(w))

    def _on_top(self, k: int) -> None:
        if k < len(self._top3):
            self.label_chosen.emit(self._top3[k][0])

    def sizeHint(self) -> QSize:  # noqa: N802
        return QSize(360, 700)
