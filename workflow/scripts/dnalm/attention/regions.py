"""Per-sequence attention summaries: high-attention regions as BED, TATA presence, entropy."""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from dnalm.motifs.regions import RegionRule, high_attention_regions

__all__ = ["TATA_RE", "attention_entropy", "regions_to_bed", "tata_present"]

TATA_RE = re.compile(r"TATA[AT]A[AT]")
TATA_LEN = 7


def tata_present(
    seqs: Sequence[str], tss_index: int, start: int = -40, end: int = -15
) -> np.ndarray:
    """Whether a TATA box (``TATA[AT]A[AT]``) lies wholly within ``start..end`` of the TSS.

    Parameters
    ----------
    seqs : sequence of str, length N
        Promoter windows on the gene's strand.
    tss_index : int
        Index of the TSS base in each window (``-window[0]`` for a ``[up, down]`` window).
    start, end : int, optional
        Inclusive positions relative to the TSS. Default is -40 and -15.

    Returns
    -------
    numpy.ndarray of bool, shape=(N,)
    """
    lo = max(0, tss_index + start)
    hi = tss_index + end  # last base allowed
    out = np.zeros(len(seqs), dtype=bool)
    for i, s in enumerate(seqs):
        s = s.upper()
        last = min(hi, len(s) - 1) - TATA_LEN + 1  # last allowed start
        out[i] = any(TATA_RE.match(s, st) for st in range(lo, last + 1))
    return out


def attention_entropy(scores: np.ndarray) -> np.ndarray:
    """Normalised entropy of each sequence's attention (1 = perfectly dispersed).

    Parameters
    ----------
    scores : numpy.ndarray, shape=(N, L)
        Non-negative; NaN padding is ignored.

    Returns
    -------
    numpy.ndarray, shape=(N,), dtype=float64
    """
    s = np.nan_to_num(np.asarray(scores, dtype=np.float64), nan=0.0)
    n_valid = np.maximum((~np.isnan(np.asarray(scores, dtype=np.float64))).sum(axis=1), 2)
    p = s / np.maximum(s.sum(axis=1, keepdims=True), 1e-300)
    with np.errstate(divide="ignore", invalid="ignore"):
        h = -np.where(p > 0, p * np.log(p), 0.0).sum(axis=1)
    return h / np.log(n_valid)


def regions_to_bed(
    scores: np.ndarray,
    lengths: np.ndarray,
    chrom: Sequence[str],
    start: np.ndarray,
    end: np.ndarray,
    strand: Sequence[str],
    names: Sequence[str],
    min_len: int = 5,
    rule: RegionRule | None = None,
) -> list[tuple[str, int, int, str, int, str]]:
    """High-attention regions (:func:`dnalm.motifs.high_attention_regions`) in genome coordinates.

    ``rule`` (:class:`dnalm.motifs.RegionRule`) picks the high bases; default DNABERT's.

    A window ``[start, end)`` on ``-`` holds the reverse complement, so sequence index ``j``
    is genome base ``end - 1 - j`` and region ``[a, b)`` maps to ``[end - b, end - a)``.

    Returns
    -------
    list of (chrom, start, end, name, score, strand)
        ``score = int(mean attention * 1000)`` clipped to 0..1000.
    """
    out = []
    for i in range(len(names)):
        ln = int(lengths[i])
        if int(end[i]) - int(start[i]) != ln:
            raise ValueError(
                f"row {names[i]}: window {start[i]}-{end[i]} does not match sequence length {ln}"
            )
        s = np.asarray(scores[i, :ln], dtype=np.float64)
        for a, b in high_attention_regions(s, min_len, rule):
            if strand[i] == "-":
                g0, g1 = int(end[i]) - int(b), int(end[i]) - int(a)
            else:
                g0, g1 = int(start[i]) + int(a), int(start[i]) + int(b)
            sc = int(min(1000, max(0, int(s[a:b].mean() * 1000))))
            out.append((str(chrom[i]), g0, g1, str(names[i]), sc, str(strand[i])))
    out.sort(key=lambda r: (r[0], r[1], r[2], r[3]))
    return out
