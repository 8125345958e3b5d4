"""In-silico saturation mutagenesis (ISM) maps from a fine-tuned classifier.

Every position of a window is changed to each of the three other bases (3·L mutants,
predicted in batches); the map holds ``p(mutant) - p(reference)`` for the positive
class, 0 at the reference base. Positions holding N are left at 0.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from dnalm import atomic
from dnalm._validate import validate_seqs

__all__ = ["ISM_BASES", "saturation_mutagenesis", "plot_mutation_maps"]

ISM_BASES = "ACGT"  # row order of the maps


def saturation_mutagenesis(
    model,
    seq: str,
    k: int,
    batch_size: int = 64,
    device=None,
    positive_class: int = 1,
    verbose: bool = False,
) -> tuple[np.ndarray, float]:
    """ISM map of one window.

    Parameters
    ----------
    model : transformers.BertForSequenceClassification
    seq : str, length L
        Window in the model's orientation (ACGTN, any case; upper-cased).
    k : int
    batch_size : int, optional
        Default is 64. Results do not depend on it.
    device : str or torch.device, optional
        Default is cuda if available, else cpu.
    positive_class : int, optional
        Class whose probability is mapped. Default is 1.
    verbose : bool, optional
        Default is False.

    Returns
    -------
    delta : numpy.ndarray, shape=(4, L), dtype=float64
        Rows A, C, G, T (:data:`ISM_BASES`): ``p(mutant) - p(ref)``; 0 at the reference
        base and at N positions.
    p_ref : float
        Probability of the unmutated window.
    """
    from dnalm.predict import predict_proba

    (seq,) = validate_seqs([seq], "seq")
    seq = seq.upper()
    L = len(seq)
    muts: list[str] = []
    where: list[tuple[int, int]] = []
    for i, b in enumerate(seq):
        if b not in ISM_BASES:
            continue
        for r, nb in enumerate(ISM_BASES):
            if nb != b:
                muts.append(seq[:i] + nb + seq[i + 1 :])
                where.append((r, i))
    probs = predict_proba(model, [seq, *muts], k, batch_size=batch_size, device=device,
                          verbose=verbose)[:, positive_class]
    delta = np.zeros((4, L), dtype=np.float64)
    if where:
        rows, cols = np.array(where).T
        delta[rows, cols] = probs[1:] - probs[0]
    return delta, float(probs[0])


#: Letter size (points) of the sequence under each map, and the most bases drawn as letters.
MAP_LETTER_PT = 9
MAP_MAX_LETTERS = 150


def plot_mutation_maps(
    maps: Sequence[np.ndarray],
    seqs: Sequence[str],
    titles: Sequence[str],
    marks: Sequence[int],
    path: str | Path,
) -> None:
    """Stack ISM heatmaps (one panel per window) into one PNG, marking the variant column.

    The figure is as wide as the windows need for the reference bases to be written under
    their columns at :data:`MAP_LETTER_PT` points (windows longer than
    :data:`MAP_MAX_LETTERS` get position ticks every 10 bp instead); titles sit above their
    own panel (constrained layout), so they never cover the previous panel's letters.

    Parameters
    ----------
    maps : sequence of numpy.ndarray, each shape=(4, L)
    seqs : sequence of str
        Reference windows (x tick labels when short enough).
    titles : sequence of str
    marks : sequence of int
        0-based column of the variant in each window (a box is drawn around it).
    path : path
        Output PNG (written atomically). An empty ``maps`` gives a panel saying so.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = len(maps)
    L = max((m.shape[1] for m in maps), default=10)
    letters = L <= MAP_MAX_LETTERS
    # one column per base: 1.5 x the letter size leaves a gap between neighbouring letters
    col_in = 1.5 * MAP_LETTER_PT / 72 if letters else 0.05
    width = max(8.0, col_in * L + 2.5)
    fig, axes = plt.subplots(max(n, 1), 1, figsize=(width, 2.0 * max(n, 1) + 0.4),
                             squeeze=False, layout="constrained")
    if n == 0:
        axes[0, 0].text(0.5, 0.5, "no variants scored: no mutation maps", ha="center",
                        va="center", fontsize=12)
        axes[0, 0].set_axis_off()
    vmax = max((float(np.abs(m).max()) for m in maps), default=1.0) or 1.0
    for ax, m, s, t, c in zip(axes[:, 0], maps, seqs, titles, marks, strict=False):
        im = ax.imshow(m, aspect="auto", cmap="RdBu_r", vmin=-vmax, vmax=vmax,
                       interpolation="nearest")
        ax.set_yticks(range(4), list(ISM_BASES), fontsize=MAP_LETTER_PT + 1)
        if letters:
            ax.set_xticks(range(len(s)), list(s), fontsize=MAP_LETTER_PT, family="monospace")
            ax.tick_params(axis="x", length=0, pad=2)
        else:
            ax.set_xticks(range(0, len(s), 10))
            ax.set_xlabel("position in window (bp)", fontsize=10)
        ax.add_patch(plt.Rectangle((c - 0.5, -0.5), 1, 4, fill=False, lw=1.5, ec="black"))
        ax.set_title(t, fontsize=11, loc="left")
    if n:
        cb = fig.colorbar(im, ax=axes[:, 0].tolist(), shrink=0.8, pad=0.01)
        cb.set_label("p(mutant) - p(ref)", fontsize=11)
    _save(fig, path)
    plt.close(fig)


def _save(fig, path: str | Path) -> None:
    with atomic.atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110, format="png", bbox_inches="tight")
