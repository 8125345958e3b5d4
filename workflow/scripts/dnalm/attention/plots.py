"""Attention figures: landscape contrast and per-class curves, top-example heatmaps, per-head context."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from dnalm import atomic
from dnalm.attention.contrast import Contrast, positions
from dnalm.attention.regions import attention_entropy

__all__ = ["plot_context", "plot_heatmaps", "plot_landscape", "positions"]


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path: str | Path) -> None:
    try:
        with atomic.atomic_path(path) as tmp:
            fig.savefig(tmp, format="png", dpi=110)
    finally:
        _plt().close(fig)


def plot_landscape(
    scores: np.ndarray,
    labels: np.ndarray,
    path: str | Path,
    tss_index: int | None = None,
    tata: np.ndarray | None = None,
    title: str = "",
    contrast: Contrast | None = None,
) -> dict[str, np.ndarray]:
    """The class contrast with its permutation band, the per-class means, and dispersion.

    Top left: positives minus negatives per position (:func:`dnalm.attention.class_contrast`)
    with the 95% band of shuffled labels, the peak marked with its permutation p. Bottom left:
    mean attention per class (and TATA / non-TATA positives) +- s.e.m.; both classes share the
    window-edge rise, which the contrast cancels. Right: normalised entropy per sequence.

    Parameters
    ----------
    scores : numpy.ndarray, shape=(N, L)
    labels : numpy.ndarray, shape=(N,)
    path : str or pathlib.Path
        PNG written atomically.
    tss_index : int, optional
        Index of the TSS (promoter tasks): the x axis becomes TSS-relative.
    tata : numpy.ndarray of bool, shape=(N,), optional
        TATA presence; adds TATA and non-TATA positive curves.
    title : str, optional
    contrast : Contrast, optional
        Drawn in the top panel; None writes why there is none. Default is None.

    Returns
    -------
    dict of str to numpy.ndarray, shape=(L,)
        The plotted mean curves by group name.
    """
    plt = _plt()
    scores = np.asarray(scores, dtype=np.float64)
    labels = np.asarray(labels)
    x, xlabel = positions(scores.shape[1], tss_index)
    groups: dict[str, np.ndarray] = {}
    for c in np.unique(labels):
        groups[f"class {int(c)}"] = labels == c
    if tata is not None:
        groups["class 1, TATA"] = (labels == 1) & tata
        groups["class 1, no TATA"] = (labels == 1) & ~tata
    fig = plt.figure(figsize=(12, 7))
    grid = fig.add_gridspec(2, 2, width_ratios=[3, 1])
    axc = fig.add_subplot(grid[0, 0])
    ax = fig.add_subplot(grid[1, 0], sharex=axc)
    ax2 = fig.add_subplot(grid[:, 1])
    if contrast is not None:
        axc.fill_between(
            x, contrast.band_low, contrast.band_high, color="grey", alpha=0.3,
            label=f"95% band, {contrast.n_permutations} label shuffles",
        )  # fmt: skip
        axc.plot(x, contrast.contrast, color="C3", lw=1.3, label="positives - negatives")
        px = int(x[contrast.peak_index])
        axc.plot([px], [contrast.peak_contrast], "v", color="k", ms=7)
        axc.set_title(
            f"{title or 'attention landscape'}: contrast peaks at {px} "
            f"(permutation p = {contrast.pvalue:.3g}; n = {contrast.n_positive} vs "
            f"{contrast.n_negative})",
            fontsize=10,
        )
        axc.legend(fontsize=7)
    else:
        axc.text(0.5, 0.5, "no class contrast (needs >= 2 rows of each class)",
                 ha="center", va="center", transform=axc.transAxes, color="C3")  # fmt: skip
        axc.set_title(title or "attention landscape", fontsize=10)
    axc.axhline(0, color="k", lw=0.6)
    axc.set_ylabel("attention contrast")
    if tss_index is not None:
        axc.axvline(0, color="grey", lw=0.8, ls="--")
    curves = {}
    for name, m in groups.items():
        if not m.any():
            continue
        mean = np.nanmean(scores[m], axis=0)
        sem = np.nanstd(scores[m], axis=0) / np.sqrt(max(1, int(m.sum())))
        curves[name] = mean
        ax.plot(x, mean, label=f"{name} (n={int(m.sum())})", lw=1.2)
        ax.fill_between(x, mean - sem, mean + sem, alpha=0.2)
    if tss_index is not None:
        ax.axvline(0, color="grey", lw=0.8, ls="--")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("mean attention (L2-normalised)")
    ax.set_title("mean attention per class (+- s.e.m.)", fontsize=10)
    ax.legend(fontsize=7)
    ent = attention_entropy(scores)
    for c in np.unique(labels):
        e = ent[labels == c]
        ax2.hist(
            e, bins=30, range=(0.8, 1.0), alpha=0.5, label=f"class {int(c)} (mean {e.mean():.3f})"
        )
    ax2.set_xlabel("normalised attention entropy\n(1 = dispersed)")
    ax2.set_ylabel("sequences")
    ax2.legend(fontsize=7)
    fig.tight_layout()
    _save(fig, path)
    return curves


def plot_heatmaps(
    scores: np.ndarray,
    probs: np.ndarray,
    path: str | Path,
    n: int = 20,
    tss_index: int | None = None,
    title: str = "",
) -> np.ndarray:
    """Attention heatmaps of the ``n`` test examples with the highest P(class 1).

    Returns
    -------
    numpy.ndarray, shape=(min(n, N),), dtype=int64
        The rows shown, top first.
    """
    plt = _plt()
    probs = np.asarray(probs)
    col = 1 if probs.shape[1] > 1 else 0
    top = np.argsort(-probs[:, col], kind="mergesort")[:n]
    x, xlabel = positions(scores.shape[1], tss_index)
    fig, ax = plt.subplots(figsize=(12, 0.3 * max(len(top), 4) + 1.5))
    data = np.asarray(scores[top], dtype=np.float64)
    im = ax.imshow(
        data if data.size else np.zeros((1, scores.shape[1])),
        aspect="auto",
        cmap="viridis",
        interpolation="nearest",
        extent=(x[0] - 0.5, x[-1] + 0.5, len(top) - 0.5, -0.5) if len(x) else None,
    )
    ax.set_yticks(range(len(top)))
    ax.set_yticklabels([f"#{int(i)} p={probs[i, col]:.2f}" for i in top], fontsize=6)
    ax.set_xlabel(xlabel)
    ax.set_title(title or f"attention of the top {len(top)} examples")
    fig.colorbar(im, ax=ax, fraction=0.02, label="attention")
    fig.tight_layout()
    _save(fig, path)
    return top


def plot_context(
    context: np.ndarray, token: int, labels: Sequence[str], path: str | Path, title: str = ""
):
    """Heatmap of :func:`head_context`: heads (rows) x attending tokens (columns)."""
    plt = _plt()
    h, t = context.shape
    fig, ax = plt.subplots(figsize=(12, 0.35 * h + 1.8))
    im = ax.imshow(context, aspect="auto", cmap="magma", interpolation="nearest")
    ax.axvline(token, color="cyan", lw=0.8)
    ax.set_yticks(range(h))
    ax.set_yticklabels([f"head {i + 1}" for i in range(h)], fontsize=7)
    step = max(1, t // 25)
    ax.set_xticks(range(0, t, step))
    ax.set_xticklabels([labels[i] for i in range(0, t, step)], rotation=90, fontsize=6)
    ax.set_xlabel("attending token")
    ax.set_title(title or f"last layer: attention paid to token {token} ({labels[token]}) per head")
    fig.colorbar(im, ax=ax, fraction=0.02)
    fig.tight_layout()
    _save(fig, path)
