"""The reference model for a catalog that has no model of its own (a view over training.reference).

When a data set opens and its registry holds no run, the window shows a banner under the filter
bar: "No model trained on this catalog yet" with *Predict with the reference model* and *Train
one…*; Models > *Predict with the reference model* does the same.  The bundled sample is predicted
with it at once (in the worker, with progress), so a newcomer's first window shows a confusion
matrix that means something.  The prediction imports the reference model into the data set's
registry as a run marked "reference, not trained on this catalog" (training.reference), so
everything downstream works on it unchanged.  Nothing here imports Keras.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QToolButton

from fashion_review import paths
from fashion_review.errors import FashionReviewError

BANNER_TEXT = ("<b>No model trained on this catalog yet.</b> The reference model shipped with the app "
               "(xception-lite, trained on the full <i>Fashion Product Images</i> catalog) can predict it now; "
               "or train one on this catalog.")


class ReferenceOffer(QObject):
    """The banner and the Models menu item; ``window`` is the MainWindow."""

    def __init__(self, window) -> None:  # noqa: ANN001
        super().__init__(window)
        self.w = window
        self.banner = QFrame()
        self.banner.setObjectName("reference_banner")
        self.banner.setFrameShape(QFrame.Shape.StyledPanel)
        self.banner.setStyleSheet("#reference_banner { background: #fff4d6; border: 1px solid #e0c060; }")
        row = QHBoxLayout(self.banner)
        row.setContentsMargins(10, 6, 6, 6)
        self.label = QLabel(BANNER_TEXT)
        self.label.setWordWrap(True)
        row.addWidget(self.label, 1)
        self.predict_button = QPushButton("Predict with the reference model")
        self.predict_button.clicked.connect(self.predict)
        self.train_button = QPushButton("Train one…")
        self.train_button.clicked.connect(lambda: self.w.models.open_retrain())
        close = QToolButton()
        close.setText("✕")
        close.setToolTip("Hide this note")
        close.setAutoRaise(True)
        close.clicked.connect(self.banner.hide)
        for b in (self.predict_button, self.train_button, close):
            row.addWidget(b)
        self.banner.hide()
        layout = self.w.centralWidget().layout()
        layout.insertWidget(1, self.banner)  # under the filter bar, above the views

        self.act_reference = self.w.action_table.add(
            "reference", "Predict with the &reference model", self.predict, (),
            "Predict this catalog with the model shipped with the app (imported into its models as a run "
            "marked 'reference, not trained on this catalog')", menu="&Models")
        self.w.models_menu.aboutToShow.connect(self._update_action)
        self.w.loaded.connect(self._on_loaded)
        self._update_action()

    # -- state ------------------------------------------------------------------------------

    def _has_runs(self) -> bool:
        from fashion_review.training import registry  # no Keras at module level

        try:
            return bool(registry.list_runs(self.w.session.ds.fingerprint))
        except (FashionReviewError, OSError, ValueError):
            return False

    def available(self) -> bool:
        from fashion_review.training import reference

        return reference.available()

    def _update_action(self) -> None:
        self.act_reference.setEnabled(self.w.session is not None and self.available())

    def _on_loaded(self) -> None:
        self._update_action()
        session = self.w.session
        if session is None or self._has_runs() or not self.available():
            self.banner.hide()
            return
        if Path(session.data_path).resolve() == paths.SAMPLE_CATALOG.resolve():
            self.banner.hide()
            self.predict()  # the bundled sample: a newcomer's first window shows real predictions
            return
        self.banner.show()

    # -- action -----------------------------------------------------------------------------

    def predict(self) -> bool:
        """Import the reference model into this catalog's models and predict the catalog with it."""
        if self.w.session is None or not self.available():
            return False
        from fashion_review.gui.predict_runner import REFERENCE

        started = self.w.models.predict_with(REFERENCE)
        if started:
            self.banner.hide()
            self.w.statusBar().showMessage("Predicting the catalog with the reference model …")
        return started
