"""Attention landscapes as class contrasts tested against label permutations.

A per-class mean landscape can peak anywhere both classes share (the window edges, where fewer
k-mers cover a base, always stand out), so a claim such as "attention peaks at the TATA box"
is tested on the *contrast*: mean attention of the positives minus that of the other rows,
position by position. Shuffling the labels ``n_permutations`` times (seeded) gives a 95% band
per position and a permutation p-value for the peak: the share of shuffles whose highest
contrast anywhere in the window reaches the observed peak (a max statistic, so the p-value
already accounts for every position that could have peaked).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

__all__ = ["Contrast", "class_contrast", "has_room", "positions"]


def positions(width: int, tss_index: int | None) -> tuple[np.ndarray, str]:
    """x coordinates of a figure: relative to the TSS when known, else to the window centre.

    Parameters
    ----------
    width : int
        Number of positions (bp).
    tss_index : int or None
        0-based index of the TSS base.

    Returns
    -------
    x : numpy.ndarray, shape=(width,), dtype=int64
    label : str
        Axis label.
    """
    if tss_index is not None:
        return np.arange(width) - tss_index, "position relative to TSS (bp)"
    return np.arange(width) - width // 2, "position relative to window centre (bp)"


def has_room(x: np.ndarray, position: int, margin: int = 20) -> bool:
    """Whether the window ``x`` holds at least ``margin`` bp on each side of ``position``.

    A peak claimed at ``position`` is only testable when the contrast could have peaked on
    either side of it: a 70 bp window ``[-34, 35]`` has 4 bp left of -30, so every upstream
    feature there sits at the edge.
    """
    x = np.asarray(x)
    return bool(x.size) and int(x.min()) <= position - margin and int(x.max()) >= position + margin


class Contrast(NamedTuple):
    """Output of :func:`class_contrast` (arrays of shape (L,) over window positions).

    Attributes
    ----------
    contrast : numpy.ndarray
        Mean attention of the positives minus that of the negatives.
    band_low, band_high : numpy.ndarray
        2.5% and 97.5% of the contrast under shuffled labels, per position.
    mean_positive, mean_negative : numpy.ndarray
        The two class means.
    peak_index : int
        ``argmax`` of ``contrast`` (first on ties).
    peak_contrast : float
    pvalue : float
        ``(1 + #{shuffles whose maximum contrast >= peak_contrast}) / (1 + n_permutations)``.
    n_positive, n_negative, n_permutations : int
    """

    contrast: np.ndarray
    band_low: np.ndarray
    band_high: np.ndarray
    mean_positive: np.ndarray
    mean_negative: np.ndarray
    peak_index: int
    peak_contrast: float
    pvalue: float
    n_positive: int
    n_negative: int
    n_permutations: int


def _contrasts(
    masks: np.ndarray, x: np.ndarray, valid: np.ndarray, total: np.ndarray, count: np.ndarray
) -> np.ndarray:
    """Positive-minus-negative mean per position for each row of ``masks`` (B, N) -> (B, L)."""
    s_pos = masks @ x
    c_pos = masks @ valid
    with np.errstate(invalid="ignore", divide="ignore"):
        return s_pos / c_pos - (total - s_pos) / (count - c_pos)


def class_contrast(
    scores: np.ndarray,
    labels: np.ndarray,
    positive: int = 1,
    n_permutations: int = 1000,
    seed: int = 1,
    batch_size: int = 100,
) -> Contrast:
    """Positive-minus-negative attention landscape with a label-permutation band and peak p.

    Parameters
    ----------
    scores : numpy.ndarray, shape=(N, L)
        Nucleotide attention (NaN = no base, e.g. padding; ignored per position).
    labels : numpy.ndarray of int, shape=(N,)
    positive : int, optional
        The label of the positives; every other label is a negative. Default is 1.
    n_permutations : int, optional
        Label shuffles (at least 99). Default is 1000.
    seed : int, optional
        Seed of the shuffles; same seed, same band and p. Default is 1.
    batch_size : int, optional
        Shuffles evaluated at once (memory ``batch_size x N``). Default is 100; results do
        not depend on it.

    Returns
    -------
    Contrast
    """
    x = np.asarray(scores, dtype=np.float64)
    y = np.asarray(labels)
    if x.ndim != 2 or y.shape != (x.shape[0],):
        raise ValueError(f"`scores` (N, L) and `labels` (N,) expected, got {x.shape}, {y.shape}")
    if n_permutations < 99 or batch_size < 1:
        raise ValueError(
            f"`n_permutations` must be >= 99 and `batch_size` >= 1, got {n_permutations}, "
            f"{batch_size}"
        )
    pos = y == positive
    n_pos, n_neg = int(pos.sum()), int((~pos).sum())
    if n_pos < 2 or n_neg < 2:
        raise ValueError(
            f"`labels` need at least 2 positives ({positive}) and 2 negatives, got {n_pos}, {n_neg}"
        )
    valid = np.isfinite(x).astype(np.float64)
    xz = np.where(valid > 0, x, 0.0)
    total, count = xz.sum(axis=0), valid.sum(axis=0)
    obs = _contrasts(pos[None].astype(np.float64), xz, valid, total, count)[0]
    if not np.isfinite(obs).any():
        raise ValueError("`scores`: no position has attention in both classes")
    peak = int(np.nanargmax(obs))
    rng = np.random.default_rng(seed)
    null = np.empty((n_permutations, x.shape[1]))
    for b0 in range(0, n_permutations, batch_size):
        b = min(batch_size, n_permutations - b0)
        masks = np.stack([rng.permutation(pos) for _ in range(b)]).astype(np.float64)
        null[b0 : b0 + b] = _contrasts(masks, xz, valid, total, count)
    null_max = np.nanmax(np.where(np.isfinite(null), null, -np.inf), axis=1)
    tol = 1e-12 * max(1.0, abs(float(obs[peak])))
    p = (1 + int((null_max >= obs[peak] - tol).sum())) / (1 + n_permutations)
    with np.errstate(invalid="ignore"):
        lo, hi = np.nanquantile(null, [0.025, 0.975], axis=0)
    mean_pos = xz[pos].sum(0) / valid[pos].sum(0)
    mean_neg = xz[~pos].sum(0) / valid[~pos].sum(0)
    return Contrast(
        obs, lo, hi, mean_pos, mean_neg, peak, float(obs[peak]), float(p), n_pos, n_neg,
        int(n_permutations),
    )  # fmt: skip
