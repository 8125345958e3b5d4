"""Classification metrics for the benchmarks (scikit-learn), robust to degenerate test sets;
regression metrics (Pearson r, r²) with bootstrap CIs for the expression tasks."""

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

__all__ = ["CI_METRICS", "bootstrap_ci", "classification_metrics", "paired_bootstrap", "regression_metrics"]


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


# ----------------------------------------------------------------------------- bootstrap CIs

#: Metrics that get a bootstrap confidence interval (the test-set metrics of classification_metrics).
CI_METRICS = ("accuracy", "precision", "recall", "f1", "mcc", "auroc", "auprc")


def _group_sums(w: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Sum the columns of ``w`` (B, n) within the groups that begin at ``starts`` -> (B, G)."""
    return np.add.reduceat(w, starts, axis=1) if w.shape[1] else np.zeros((w.shape[0], 0))


def _weighted_auc_ap(score: np.ndarray, positive: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """AUROC and average precision of ``score`` for each row of bootstrap weights ``w``.

    Ties are grouped as scikit-learn groups them (AUROC counts a tie as half; AP steps once per
    distinct score). Rows with no positive or no negative weight give nan.
    """
    order = np.argsort(-score, kind="mergesort")  # descending
    s = score[order]
    starts = np.flatnonzero(np.r_[True, s[1:] != s[:-1]])
    pos = positive[order].astype(np.float64)
    wp = _group_sums(w[:, order] * pos, starts)  # (B, G) positive weight per distinct score
    wn = _group_sums(w[:, order] * (1.0 - pos), starts)
    P = wp.sum(1)
    N = wn.sum(1)
    with np.errstate(invalid="ignore", divide="ignore"):
        # AUROC: a positive beats the negatives below it (groups after it) and ties half of its own.
        neg_below = N[:, None] - np.cumsum(wn, axis=1)
        auc = (wp * (neg_below + 0.5 * wn)).sum(1) / (P * N)
        tp = np.cumsum(wp, axis=1)
        fp = np.cumsum(wn, axis=1)
        prec = np.where(tp + fp > 0, tp / (tp + fp), 0.0)
        ap = (wp * prec).sum(1) / P
    bad = (P == 0) | (N == 0)
    auc[bad] = np.nan
    ap[P == 0] = np.nan
    return auc, ap


def _from_confusion(cm: np.ndarray, binary: bool) -> dict[str, np.ndarray]:
    """Threshold metrics from confusion matrices ``cm`` (B, C, C) [true, predicted]."""
    n = cm.sum((1, 2))
    tp = np.diagonal(cm, axis1=1, axis2=2)
    pred_tot = cm.sum(1)  # (B, C) predicted as c
    true_tot = cm.sum(2)  # (B, C) truly c
    with np.errstate(invalid="ignore", divide="ignore"):
        prec_c = np.where(pred_tot > 0, tp / pred_tot, 0.0)
        rec_c = np.where(true_tot > 0, tp / true_tot, 0.0)
        f1_c = np.where(prec_c + rec_c > 0, 2 * prec_c * rec_c / (prec_c + rec_c), 0.0)
        correct = tp.sum(1)
        cov_ytyp = correct * n - (true_tot * pred_tot).sum(1)
        cov_ypyp = n * n - (pred_tot * pred_tot).sum(1)
        cov_ytyt = n * n - (true_tot * true_tot).sum(1)
        denom = np.sqrt(cov_ytyt * cov_ypyp)
        mcc = np.where(denom > 0, cov_ytyp / np.where(denom > 0, denom, 1), 0.0)
    if binary:
        prec, rec, f1 = prec_c[:, 1], rec_c[:, 1], f1_c[:, 1]
    else:
        prec, rec, f1 = prec_c.mean(1), rec_c.mean(1), f1_c.mean(1)
    return {"accuracy": correct / n, "precision": prec, "recall": rec, "f1": f1, "mcc": mcc}


def bootstrap_ci(
    y_true,
    probs,
    n_boot: int = 1000,
    alpha: float = 0.05,
    random_state: int = 0,
    batch_size: int = 100,
) -> dict[str, tuple[float, float]]:
    """Percentile bootstrap confidence intervals of every test metric (resampling test rows).

    The metrics are those of :func:`classification_metrics`, computed in a vectorised way from
    multinomial resampling weights (exact bootstrap resamples), so 1,000 resamples of 20,000 rows
    take about a second.

    Parameters
    ----------
    y_true : array-like of int, shape=(n,)
    probs : array-like of float, shape=(n, C)
    n_boot : int, optional
        Bootstrap resamples. Default is 1000.
    alpha : float, optional
        1 - confidence level. Default is 0.05 (95% intervals).
    random_state : int, optional
        Seed; same seed, same intervals. Default is 0.
    batch_size : int, optional
        Resamples evaluated at once (memory is ``batch_size * n`` floats). Default is 100.

    Returns
    -------
    ci : dict
        ``{metric: (low, high)}`` for each of :data:`CI_METRICS`; (nan, nan) when undefined in
        too many resamples (e.g. AUROC on a test set with one class).
    """
    y = np.asarray(y_true)
    p = np.asarray(probs, dtype=np.float64)
    if p.ndim != 2 or p.shape[1] < 2 or y.shape != (p.shape[0],) or y.size == 0:
        raise ValueError(f"`y_true` (n,) and `probs` (n, C>=2) expected, got {y.shape} and {p.shape}")
    if not 0 < alpha < 1 or n_boot < 10:
        raise ValueError(f"`alpha` must be in (0, 1) and `n_boot` >= 10, got {alpha}, {n_boot}")
    n, C = p.shape
    pred = p.argmax(1)
    cell = np.zeros((n, C * C))
    cell[np.arange(n), y * C + pred] = 1.0
    present = [c for c in range(C) if (y == c).any() and not (y == c).all()]
    rng = np.random.default_rng(random_state)
    draws: dict[str, list[np.ndarray]] = {m: [] for m in CI_METRICS}
    for start in range(0, n_boot, batch_size):
        b = min(batch_size, n_boot - start)
        w = rng.multinomial(n, np.full(n, 1.0 / n), size=b).astype(np.float64)  # (b, n)
        cm = (w @ cell).reshape(b, C, C)
        for name, v in _from_confusion(cm, C == 2).items():
            draws[name].append(v)
        if C == 2:
            auc, ap = _weighted_auc_ap(p[:, 1], y == 1, w)
        else:
            pairs = [_weighted_auc_ap(p[:, c], y == c, w) for c in present]
            with np.errstate(invalid="ignore"), warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                auc = np.nanmean([a for a, _ in pairs], axis=0) if pairs else np.full(b, np.nan)
                ap = np.nanmean([a for _, a in pairs], axis=0) if pairs else np.full(b, np.nan)
        draws["auroc"].append(auc)
        draws["auprc"].append(ap)
    out: dict[str, tuple[float, float]] = {}
    for name, parts in draws.items():
        v = np.concatenate(parts)
        v = v[np.isfinite(v)]
        if v.size < 0.9 * n_boot:
            out[name] = (math.nan, math.nan)
        else:
            lo, hi = np.quantile(v, [alpha / 2, 1 - alpha / 2])
            out[name] = (float(lo), float(hi))
    return out


def paired_bootstrap(
    y_true,
    probs_a,
    probs_b,
    metric: str = "mcc",
    n_boot: int = 2000,
    random_state: int = 0,
    batch_size: int = 100,
) -> np.ndarray:
    """Bootstrap draws of ``metric(a) - metric(b)`` for two models scored on the same test rows.

    Both models are evaluated on each resample (the same weights), so the draws carry the
    pairing: their spread is the uncertainty of the difference, not of either model alone.

    Parameters
    ----------
    y_true : array-like of int, shape=(n,)
    probs_a, probs_b : array-like of float, shape=(n, C)
    metric : {"mcc", "accuracy", "f1", "auroc"}, optional
        Default is "mcc".
    n_boot, random_state, batch_size : int, optional
        Default is 2000, 0, 100.

    Returns
    -------
    numpy.ndarray, shape=(n_boot,), dtype=float64
        Differences; nan where the metric is undefined in a resample.
    """
    y = np.asarray(y_true)
    pa = np.asarray(probs_a, dtype=np.float64)
    pb = np.asarray(probs_b, dtype=np.float64)
    if pa.shape != pb.shape or pa.ndim != 2 or y.shape != (pa.shape[0],):
        raise ValueError(f"`probs_a`, `probs_b` (n, C) and `y_true` (n,) expected, got {pa.shape}, {pb.shape}, {y.shape}")
    if metric not in ("mcc", "accuracy", "f1", "auroc"):
        raise ValueError(f"`metric` must be mcc, accuracy, f1 or auroc, got {metric!r}")
    n, C = pa.shape
    rng = np.random.default_rng(random_state)
    cells = []
    for p in (pa, pb):
        cell = np.zeros((n, C * C))
        cell[np.arange(n), y * C + p.argmax(1)] = 1.0
        cells.append(cell)
    out = []
    for start in range(0, n_boot, batch_size):
        b = min(batch_size, n_boot - start)
        w = rng.multinomial(n, np.full(n, 1.0 / n), size=b).astype(np.float64)
        vals = []
        for p, cell in zip((pa, pb), cells, strict=True):
            if metric == "auroc":
                if C == 2:
                    vals.append(_weighted_auc_ap(p[:, 1], y == 1, w)[0])
                else:
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore", RuntimeWarning)
                        vals.append(np.nanmean([_weighted_auc_ap(p[:, c], y == c, w)[0] for c in range(C)], axis=0))
            else:
                vals.append(_from_confusion((w @ cell).reshape(b, C, C), C == 2)[metric])
        out.append(vals[0] - vals[1])
    return np.concatenate(out)


def _weighted_regression(y: np.ndarray, p: np.ndarray, w: np.ndarray) -> dict[str, np.ndarray]:
    """Pearson r and R² (1 - SSE/SST) under resampling weights ``w`` (b, n)."""
    n = w.sum(1)
    my, mp = (w @ y) / n, (w @ p) / n
    syy = w @ (y * y) / n - my**2
    spp = w @ (p * p) / n - mp**2
    syp = w @ (y * p) / n - my * mp
    with np.errstate(invalid="ignore", divide="ignore"):
        r = syp / np.sqrt(syy * spp)
        sse = w @ ((y - p) ** 2) / n
        r2_det = 1.0 - sse / syy
    return {"pearson_r": r, "r2": r * r, "r2_score": r2_det}


def regression_metrics(
    y_true, y_pred, n_boot: int = 1000, alpha: float = 0.05, random_state: int = 0
) -> dict:
    """Pearson r, r² (its square, Xpresso's and DNAGPT's metric) and R² with bootstrap CIs.

    Parameters
    ----------
    y_true, y_pred : array-like of float, shape=(n,)
    n_boot : int, optional
        Bootstrap resamples of the test rows. Default is 1000.
    alpha : float, optional
        1 - confidence level. Default is 0.05.
    random_state : int, optional
        Default is 0.

    Returns
    -------
    metrics : dict
        ``n``, ``pearson_r``, ``r2`` (= pearson_r²), ``r2_score`` (1 - SSE/SST), ``mse`` and
        ``ci`` ``{metric: [low, high]}`` (nan when undefined, e.g. a constant prediction).
    """
    y = np.asarray(y_true, dtype=np.float64)
    p = np.asarray(y_pred, dtype=np.float64)
    if y.ndim != 1 or y.shape != p.shape or y.size < 3:
        raise ValueError(f"`y_true` and `y_pred` must be (n,) with n >= 3, got {y.shape} and {p.shape}")
    if not (np.isfinite(y).all() and np.isfinite(p).all()):
        raise ValueError("`y_true` and `y_pred` must be finite")
    if not 0 < alpha < 1 or n_boot < 10:
        raise ValueError(f"`alpha` must be in (0, 1) and `n_boot` >= 10, got {alpha}, {n_boot}")
    point = {k: float(v[0]) for k, v in _weighted_regression(y, p, np.ones((1, y.size))).items()}
    rng = np.random.default_rng(random_state)
    draws: dict[str, list[np.ndarray]] = {k: [] for k in point}
    for start in range(0, n_boot, 100):
        b = min(100, n_boot - start)
        w = rng.multinomial(y.size, np.full(y.size, 1.0 / y.size), size=b).astype(np.float64)
        for k, v in _weighted_regression(y, p, w).items():
            draws[k].append(v)
    ci = {}
    for k, parts in draws.items():
        v = np.concatenate(parts)
        v = v[np.isfinite(v)]
        ci[k] = [math.nan, math.nan] if v.size < 0.9 * n_boot else [float(x) for x in np.quantile(v, [alpha / 2, 1 - alpha / 2])]
    return {"n": int(y.size), **point, "mse": float(np.mean((y - p) ** 2)), "ci": ci}
