"""The correction rules, headless: from an action on a selection of products to the list of field
changes to record (no Qt; the CLI's ``correct`` / ``confirm`` use them, the app's actions can too).

Each change carries the old value the caller saw (the effective catalog it passes), which the
corrections store checks when it records them: a value changed underneath refuses the batch.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd

from fashion_review.data.corrections import EXCLUDED, Change, confirmed_field
from fashion_review.data.schemes import fields_for_label, scheme_labels
from fashion_review.errors import DataError


def _ids(effective: pd.DataFrame, ids: Iterable[int]) -> list[int]:
    out = [int(i) for i in ids]
    missing = [i for i in out if i not in effective.index]
    if missing:
        shown = ", ".join(map(str, missing[:10])) + (" ..." if len(missing) > 10 else "")
        raise DataError(f"no product with id {shown} in this catalog")
    return list(dict.fromkeys(out))


def value(effective: pd.DataFrame, pid: int, field: str) -> str:
    """The effective value of one field as the store records it ("" when blank)."""
    if field == EXCLUDED:
        return "true" if bool(effective.at[pid, EXCLUDED]) else "false"
    v = effective.at[pid, field]
    return "" if v is None or (isinstance(v, float) and np.isnan(v)) else str(v)


def label_changes(effective: pd.DataFrame, ids: Iterable[int], scheme: str, label: str) -> list[Change]:
    """Give ``ids`` the label ``label`` under ``scheme`` (gender_master sets two fields); only the
    fields that change."""
    pids = _ids(effective, ids)
    return label_changes_each(effective, dict.fromkeys(pids, label), scheme)


def label_changes_each(effective: pd.DataFrame, labels: Mapping[int, str], scheme: str) -> list[Change]:
    """Give each product its own label under ``scheme`` (``labels``: id -> label, e.g. each one's
    own prediction or suggestion); a blank label leaves its product as it is.  Only the fields
    that change; DataError for a label the scheme cannot take."""
    pids = _ids(effective, labels)
    out = []
    fields_of: dict[str, dict[str, str]] = {}
    for pid in pids:
        label = labels[pid]
        if not label:
            continue
        if label not in fields_of:
            fields_of[label] = fields_for_label(scheme, label)
        for fld, new in fields_of[label].items():
            old = value(effective, pid, fld)
            if old != new:
                out.append(Change(pid, fld, old, new))
    return out


def exclusion_changes(effective: pd.DataFrame, ids: Iterable[int], excluded: bool | None = None) -> list[Change]:
    """Exclude ``ids`` from training (``excluded=True``), include them (False), or toggle as the app's
    X does (None: include when all are excluded already, else exclude)."""
    pids = _ids(effective, ids)
    now = effective.loc[pids, EXCLUDED].to_numpy(dtype=bool) if pids else np.zeros(0, bool)
    target = (not now.all()) if excluded is None else bool(excluded)
    new = "true" if target else "false"
    return [Change(p, EXCLUDED, "true" if e else "false", new) for p, e in zip(pids, now) if bool(e) != target]


def confirm_changes(effective: pd.DataFrame, ids: Iterable[int], scheme: str,
                    current: dict[tuple[int, str], str] | None = None) -> list[Change]:
    """Confirm the current label of ``ids`` under ``scheme`` ("the label is right"): a correction of the
    field ``confirmed:<scheme>`` to the label (:func:`fashion_review.data.corrections.confirmed_field`).

    ``current``: the store's effective values (``store.effective()``), for the old value of an
    earlier confirmation.  Products without a label in the scheme cannot be confirmed.
    """
    fld = confirmed_field(scheme)
    pids = _ids(effective, ids)
    labels = scheme_labels(effective.loc[pids], scheme)
    blank = [p for p in pids if not isinstance(labels.get(p), str) or not labels.get(p)]
    if blank:
        raise DataError(f"{len(blank)} product(s) have no {scheme} label to confirm (e.g. {blank[0]})")
    current = current or {}
    out = []
    for pid in pids:
        old = current.get((pid, fld), "")
        if old != labels[pid]:
            out.append(Change(pid, fld, old, str(labels[pid])))
    return out
