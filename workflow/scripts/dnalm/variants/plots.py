"""Figures of the variant stage: scores by ClinVar class against the null, top candidates.

The mutation maps of the top variants are drawn by :func:`dnalm.mutagenesis.plot_mutation_maps`.
Every figure is written atomically (:func:`dnalm.atomic.atomic_path`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from dnalm import atomic

__all__ = ["plot_scores", "plot_top"]

_CLASS_ORDER = ["pathogenic", "benign", "uncertain", "conflicting", "other", "missing"]
_CLASS_COLOR = {"pathogenic": "#c0392b", "benign": "#2e86c1", "uncertain": "#7f8c8d",
                "conflicting": "#8e44ad", "other": "#b7950b", "missing": "#aaaaaa",
                ".": "#555555"}


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path: str | Path) -> None:
    path = Path(path)
    with atomic.atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110, bbox_inches="tight", format=path.suffix.lstrip(".") or "png")


def plot_scores(df: pd.DataFrame, null: np.ndarray, path: str | Path) -> None:
    """Box plots of the ranking score per ClinVar class, dbSNP-only variants and the null.

    Parameters
    ----------
    df : pandas.DataFrame
        Scored variants (``score``, ``clinvar_class``, ``source``).
    null : numpy.ndarray, shape=(m,)
        Ranking scores of the random SNVs.
    path : path
        Output PNG.
    """
    plt = _plt()
    groups, names = [], []
    for cls in _CLASS_ORDER:
        v = df.loc[df["clinvar_class"] == cls, "score"].to_numpy(float)
        if v.size:
            groups.append(v)
            names.append(f"ClinVar {cls}\n(n={v.size})")
    v = df.loc[df["source"] == "dbsnp", "score"].to_numpy(float)
    if v.size:
        groups.append(v)
        names.append(f"dbSNP only\n(n={v.size})")
    if len(null):
        groups.append(np.asarray(null, float))
        names.append(f"random SNVs\n(n={len(null)})")
    fig, ax = plt.subplots(figsize=(1.4 * max(len(groups), 2) + 2, 4))
    if groups:
        ax.boxplot(groups, showfliers=False)
        rng = np.random.default_rng(0)
        for i, g in enumerate(groups, start=1):
            ax.scatter(i + rng.uniform(-0.15, 0.15, g.size), g, s=6, alpha=0.5, color="k")
        ax.set_xticks(range(1, len(names) + 1), names, fontsize=8)
    else:
        ax.text(0.5, 0.5, "no variants scored", ha="center", va="center", transform=ax.transAxes)
    ax.set_ylabel("|logOR| (ranking score)")
    ax.set_title("Variant scores by ClinVar significance")
    _save(fig, path)
    plt.close(fig)


def plot_top(df: pd.DataFrame, path: str | Path, n: int = 20) -> None:
    """Horizontal bars of the ``n`` best-ranked variants, coloured by ClinVar class.

    Parameters
    ----------
    df : pandas.DataFrame
        Scored variants sorted by ``score`` (descending).
    path : path
        Output PNG.
    n : int, optional
        Default is 20.
    """
    plt = _plt()
    top = df.head(n)
    fig, ax = plt.subplots(figsize=(8, 0.3 * max(len(top), 3) + 1))
    if len(top):
        lab = [f"{r.contig}:{r.pos} {r.ref}>{r.alt} [{r.source}]" for r in top.itertuples()]
        col = [_CLASS_COLOR.get(c, "#555555") for c in top["clinvar_class"]]
        ax.barh(range(len(top)), top["score"], color=col)
        ax.set_yticks(range(len(top)), lab, fontsize=7)
        ax.invert_yaxis()
        for c in _CLASS_ORDER + ["."]:
            if (top["clinvar_class"] == c).any():
                ax.barh([0], [0], color=_CLASS_COLOR[c], label="not in ClinVar" if c == "." else c)
        ax.legend(fontsize=7, loc="lower right")
    else:
        ax.text(0.5, 0.5, "no variants scored", ha="center", va="center", transform=ax.transAxes)
    ax.set_xlabel("|logOR| (ranking score)")
    ax.set_title(f"Top {len(top)} candidate functional variants")
    _save(fig, path)
    plt.close(fig)
