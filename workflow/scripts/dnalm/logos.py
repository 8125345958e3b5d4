"""Sequence logos drawn locally with logomaker (DNABERT used Biopython's online WebLogo)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from pathlib import Path

import numpy as np

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
    import logomaker
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import pandas as pd

    arr = np.asarray(pwm, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[1] != 4 or arr.shape[0] < 1:
        raise ValueError(f"`pwm` must have shape (w, 4), got {arr.shape}")
    if np.any(arr < 0) or np.any(np.abs(arr.sum(axis=1) - 1) > 0.01):
        raise ValueError("`pwm` rows must be non-negative and sum to 1")
    probs = pd.DataFrame(arr / arr.sum(axis=1, keepdims=True), columns=list("ACGT"))
    info = logomaker.transform_matrix(probs, from_type="probability", to_type="information")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(max(3.0, 0.35 * arr.shape[0]), 2.0))
    try:
        logomaker.Logo(info, ax=ax, color_scheme="classic")
        ax.set_ylim(0, 2)
        ax.set_ylabel("bits")
        ax.set_xticks(range(arr.shape[0]))
        ax.set_xticklabels([str(i + 1) for i in range(arr.shape[0])], fontsize=6)
        if title:
            ax.set_title(title, fontsize=8)
        fig.tight_layout()
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        os.close(fd)
        try:
            fig.savefig(tmp, format="png", dpi=120)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
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
    index = out / "index.tsv"
    fd, tmp = tempfile.mkstemp(dir=out, prefix=".index.tsv.", suffix=".tmp")
    with os.fdopen(fd, "w") as fh:
        fh.write("\n".join(lines) + "\n")
    os.replace(tmp, index)
    return paths
