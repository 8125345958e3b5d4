"""Sequence logos drawn locally with logomaker (DNABERT used Biopython's online WebLogo)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np

from dnalm.atomic import atomic_path, write_text

__all__ = ["draw_logo", "draw_logos"]


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)


def draw_logo(pwm: np.ndarray, path: str | Path, title: str = "") -> Path:
    """Draw an information-content logo of one motif to a PNG (atomically).

    Parameters
    ----------
    pwm : numpy.ndarray, shape=(w, 4)
        A, C, G, T probabilities per position (rows sum to 1).
    path : str or pathlib.Path
    title : str, optional
        Default is "" (no title).

    Returns
    -------
    pathlib.Path
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    arr = np.asarray(pwm, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[1] != 4 or arr.shape[0] < 1:
        raise ValueError(f"`pwm` must have shape (w, 4), got {arr.shape}")
    if np.any(arr < 0) or np.any(np.abs(arr.sum(axis=1) - 1) > 0.01):
        raise ValueError("`pwm` rows must be non-negative and sum to 1")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(max(3.0, 0.35 * arr.shape[0]), 2.0))
    try:
        _logo_on_axis(arr, ax, title)
        fig.tight_layout()
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format="png", dpi=120)
    finally:
        plt.close(fig)
    return path


def _logo_on_axis(arr: np.ndarray, ax, title: str = "") -> None:
    """Draw an information-content logo of a (w, 4) ACGT probability matrix on ``ax``."""
    import logomaker
    import pandas as pd

    probs = pd.DataFrame(arr / arr.sum(axis=1, keepdims=True), columns=list("ACGT"))
    info = logomaker.transform_matrix(probs, from_type="probability", to_type="information")
    logomaker.Logo(info, ax=ax, color_scheme="classic")
    ax.set_ylim(0, 2)
    ax.set_ylabel("bits")
    ax.set_xticks(range(arr.shape[0]))
    ax.set_xticklabels([str(i + 1) for i in range(arr.shape[0])], fontsize=6)
    if title:
        ax.set_title(title, fontsize=8)


def draw_logo_panel(
    motifs: Mapping[str, np.ndarray],
    matches,
    known: Mapping[str, np.ndarray] | None,
    path: str | Path,
    titles: Mapping[str, str] | None = None,
    max_motifs: int = 12,
    empty_message: str | None = None,
) -> Path:
    """One figure for the report: each discovered motif's logo next to its best known match.

    Parameters
    ----------
    motifs : dict of str to numpy.ndarray, shape=(w, 4)
        Discovered motifs, in the order to show (at most ``max_motifs``).
    matches : pandas.DataFrame
        TOMTOM-style matches (columns query, target, strand, q; see :mod:`dnalm.tomtom`).
    known : dict of str to numpy.ndarray, shape=(w, 4), optional
        The known motifs matched against. Default is None (no right-hand column).
    path : str or pathlib.Path
        PNG written atomically. With no motif it says so in the figure.
    titles : dict of str to str, optional
    max_motifs : int, optional
        Default is 12.
    empty_message : str, optional
        What the figure says, in red, when there is no motif (e.g. the discovery status and
        its reason). Default is None ("no significant attention motif").
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(motifs)[:max_motifs]
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    n = max(1, len(names))
    fig, axes = plt.subplots(n, 2, figsize=(11, 1.9 * n), squeeze=False)
    try:
        if not names:
            for ax in axes[0]:
                ax.axis("off")
            import textwrap

            msg = empty_message or "no significant attention motif"
            wrapped = "\n".join(textwrap.fill(p, 110) for p in msg.split("\n"))
            fig.text(0.5, 0.5, wrapped, ha="center", va="center", color="C3", fontsize=9)
        for row, name in enumerate(names):
            _logo_on_axis(
                np.asarray(motifs[name], float), axes[row, 0], (titles or {}).get(name, name)
            )
            best = matches[matches["query"] == name].sort_values("q") if len(matches) else matches
            ax = axes[row, 1]
            if known and len(best) and best.iloc[0]["target"] in known:
                hit = best.iloc[0]
                pwm = np.asarray(known[hit["target"]], float)
                if hit.get("strand", "+") == "-":
                    pwm = pwm[::-1, ::-1]  # reverse complement (ACGT columns)
                _logo_on_axis(
                    pwm,
                    ax,
                    f"best match {hit['target']} ({hit.get('strand', '+')})  q={float(hit['q']):.2g}",
                )
            else:
                ax.axis("off")
                ax.text(0.5, 0.5, "no known-motif match", ha="center", va="center", fontsize=8)
        fig.tight_layout()
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format="png", dpi=100)
    finally:
        plt.close(fig)
    return path


def draw_logos(
    motifs: Mapping[str, np.ndarray],
    out_dir: str | Path,
    titles: Mapping[str, str] | None = None,
) -> list[Path]:
    """One logo PNG per motif (``<out_dir>/<name>.png``) plus ``index.tsv`` (motif, file).

    Parameters
    ----------
    motifs : dict of str to numpy.ndarray, shape=(w, 4)
    out_dir : str or pathlib.Path
        Created if needed; an empty ``motifs`` leaves only the header of ``index.tsv``.
    titles : dict of str to str, optional
        Default is the motif names.

    Returns
    -------
    list of pathlib.Path
        The PNGs written, in ``motifs`` order.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    lines = ["motif\tfile"]
    for name, pwm in motifs.items():
        fname = f"{_safe(name)}.png"
        paths.append(draw_logo(pwm, out / fname, (titles or {}).get(name, name)))
        lines.append(f"{name}\t{fname}")
    write_text(out / "index.tsv", "\n".join(lines) + "\n")
    return paths
