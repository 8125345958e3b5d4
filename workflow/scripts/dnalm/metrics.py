"""Classification metrics for the benchmarks (scikit-learn), robust to degenerate test sets."""

from __future__ import annotations

import math
import warnings

import numpy as np
from sklearn.exceptions import UndefinedMetricWarning
from sklearn.metrics import (
    accuracy_score,
    average_precision_score,
    matthews_corrcoef,
    precision_recall_fscore_support,
    roc_auc_score,
)

__all__ = ["classification_metrics"]


def classification_metrics(y_true, probs) -> dict:
    """Accuracy, precision, recall, F1, MCC, AUROC and AUPRC from class probabilities.

    Binary tasks (2 columns) score class 1 as positive: precision/recall/F1 of class 1,
    AUROC and AUPRC (average precision) of ``probs[:, 1]``. Tasks with more classes
    (e.g. splice: donor/acceptor/non-site) use macro averages, and one-vs-rest AUROC and
    AUPRC averaged over the classes present in ``y_true``.

    Parameters
    ----------
    y_true : array-like of int, shape=(n,)
        Labels in 0..C-1.
    probs : array-like of float, shape=(n, C)
        Class probabilities (C >= 2); predictions are ``argmax`` over classes.

    Returns
    -------
    metrics : dict
        ``n``, ``n_classes``, ``accuracy``, ``precision``, ``recall``, ``f1``, ``mcc``,
        ``auroc``, ``auprc`` (floats; AUROC/AUPRC are nan when undefined, e.g. a test set
        with one class), ``constant_prediction`` (bool: every row predicted the same class)
        and ``note`` (str, empty unless something was undefined).
    """
    y = np.asarray(y_true)
    p = np.asarray(probs, dtype=np.float64)
    if p.ndim != 2 or p.shape[1] < 2:
        raise ValueError(f"`probs` must have shape (n, C) with C >= 2, got {p.shape}")
    if y.ndim != 1 or y.shape[0] != p.shape[0]:
        raise ValueError(f"`y_true` must have shape ({p.shape[0]},), got {y.shape}")
    if y.shape[0] == 0:
        raise ValueError("`y_true` is empty")
    if not np.issubdtype(y.dtype, np.integer):
        raise TypeError(f"`y_true` must hold integers, got dtype {y.dtype}")
    n_classes = p.shape[1]
    if y.min() < 0 or y.max() >= n_classes:
        raise ValueError(f"`y_true` values must be in 0..{n_classes - 1}, got {y.min()}..{y.max()}")
    if not np.isfinite(p).all():
        raise ValueError("`probs` contains nan or inf")
    pred = p.argmax(axis=1)
    notes: list[str] = []
    present = np.unique(y)
    out: dict = {"n": int(y.shape[0]), "n_classes": int(n_classes)}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UndefinedMetricWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        out["accuracy"] = float(accuracy_score(y, pred))
        if n_classes == 2:
            pr, rc, f1, _ = precision_recall_fscore_support(
                y, pred, labels=[0, 1], pos_label=1, average="binary", zero_division=0
            )
        else:
            pr, rc, f1, _ = precision_recall_fscore_support(
                y, pred, labels=list(range(n_classes)), average="macro", zero_division=0
            )
        out["precision"], out["recall"], out["f1"] = float(pr), float(rc), float(f1)
        out["mcc"] = float(matthews_corrcoef(y, pred))
        if len(present) < 2:
            out["auroc"] = out["auprc"] = math.nan
            notes.append(f"only class {int(present[0])} in y_true: AUROC/AUPRC undefined")
        elif n_classes == 2:
            out["auroc"] = float(roc_auc_score(y, p[:, 1]))
            out["auprc"] = float(average_precision_score(y, p[:, 1]))
        else:
            rocs, aps = [], []
            for c in range(n_classes):
                yc = (y == c).astype(np.int64)
                if 0 < yc.sum() < len(yc):
                    rocs.append(roc_auc_score(yc, p[:, c]))
                    aps.append(average_precision_score(yc, p[:, c]))
            absent = sorted(set(range(n_classes)) - {int(c) for c in present})
            if absent:
                notes.append(
                    f"classes {absent} absent from y_true: macro AUROC/AUPRC over the rest"
                )
            out["auroc"] = float(np.mean(rocs))
            out["auprc"] = float(np.mean(aps))
    out["constant_prediction"] = bool(len(np.unique(pred)) == 1)
    if out["constant_prediction"]:
        notes.append(f"all rows predicted class {int(pred[0])}")
    out["note"] = "; ".join(notes)
    return out
