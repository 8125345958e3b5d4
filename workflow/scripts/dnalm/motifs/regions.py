"""Step 1 of motif discovery: high-attention regions of the positives and their candidates.

See :mod:`dnalm.motifs` for the rules (DNABERT's ``find_high_attention`` and the candidate modes).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["CANDIDATE_MODES", "attention_candidates", "high_attention_regions"]


def high_attention_regions(score: np.ndarray, min_len: int = 5) -> np.ndarray:
    """Maximal runs of high attention (DNABERT's ``find_high_attention``).

    Parameters
    ----------
    score : numpy.ndarray, shape=(L,)
        Attention of one sequence (only its real bases).
    min_len : int, optional
        Minimum run length. Default is 5.

    Returns
    -------
    regions : numpy.ndarray, shape=(r, 2), dtype=int64
        ``[start, end)`` of each run, left to right.
    """
    s = np.asarray(score, dtype=np.float64).reshape(-1)
    if s.size == 0:
        return np.zeros((0, 2), dtype=np.int64)
    if not np.all(np.isfinite(s)):
        raise ValueError("`score` contains nan or inf")
    high = (s > s.mean()) & (s > 10.0 * s.min())
    edges = np.diff(np.concatenate([[0], high.astype(np.int8), [0]]))
    starts = np.flatnonzero(edges == 1)
    ends = np.flatnonzero(edges == -1)
    keep = (ends - starts) >= min_len
    return np.stack([starts[keep], ends[keep]], axis=1).astype(np.int64)


CANDIDATE_MODES = ("regions", "kmers")


def _attention_regions(
    seqs: Sequence[str], scores: np.ndarray, pos_idx: np.ndarray, min_len: int
) -> list[tuple[int, int, int]]:
    """Every high-attention region of the positives as (seq_index, start, end), in scan order."""
    lens = np.fromiter((len(seqs[i]) for i in pos_idx), dtype=np.int64, count=pos_idx.size)
    found: list[tuple[int, int, int]] = []  # (order in positive_index, start, end)
    for ln in np.unique(lens):
        rows = np.flatnonzero(lens == ln)
        if ln == 0:
            continue
        s = np.asarray(scores[pos_idx[rows], :ln], dtype=np.float64)
        bad = ~np.isfinite(s).all(axis=1)
        if bad.any():
            i = int(pos_idx[rows[np.flatnonzero(bad)[0]]])
            raise ValueError(f"`scores`[{i}] has nan or inf within its {ln} bp")
        high = (s > s.mean(axis=1, keepdims=True)) & (s > 10.0 * s.min(axis=1, keepdims=True))
        padded = np.zeros((rows.size, ln + 2), dtype=np.int8)
        padded[:, 1:-1] = high
        edges = np.diff(padded, axis=1)  # +1 at run starts, -1 at run ends (row-major order)
        r0, st = np.nonzero(edges == 1)
        _r1, en = np.nonzero(edges == -1)
        keep = (en - st) >= min_len
        found.extend(
            zip(rows[r0[keep]].tolist(), st[keep].tolist(), en[keep].tolist(), strict=True)
        )
    found.sort()
    return [(int(pos_idx[r]), start, end) for r, start, end in found]


def _candidates_with_regions(
    seqs: Sequence[str],
    regions: Sequence[tuple[int, int, int]],
    mode: str,
    candidate_len: int,
) -> dict[str, list[tuple[int, int, int, int]]]:
    """Candidates -> instances (seq_index, start, end, region number), first-appearance order."""
    cands: dict[str, list[tuple[int, int, int, int]]] = {}
    for r, (i, start, end) in enumerate(regions):
        if mode == "regions" or end - start <= candidate_len:
            cands.setdefault(seqs[i][start:end], []).append((i, start, end, r))
            continue
        seen: set[str] = set()
        s = seqs[i]
        for a in range(start, end - candidate_len + 1):
            kmer = s[a : a + candidate_len]
            if kmer not in seen:  # distinct k-mers of the region: first position only
                seen.add(kmer)
                cands.setdefault(kmer, []).append((i, a, a + candidate_len, r))
    return cands


def _check_mode(mode: str, candidate_len: int, min_len: int) -> None:
    if mode not in CANDIDATE_MODES:
        raise ValueError(f"`candidates` must be one of {CANDIDATE_MODES}, got {mode!r}")
    if mode == "kmers" and candidate_len < min_len:
        raise ValueError(
            f"`candidate_len` ({candidate_len}) must be >= `min_len` ({min_len}) in kmers mode"
        )


def attention_candidates(
    seqs: Sequence[str],
    scores: np.ndarray,
    positive_index: Sequence[int],
    min_len: int = 5,
    candidates: str = "regions",
    candidate_len: int = 8,
) -> dict[str, list[tuple[int, int, int]]]:
    """Candidate motifs from the high-attention regions of the positive sequences.

    Vectorised over sequences of equal length; the rule is :func:`high_attention_regions`.

    Parameters
    ----------
    seqs : sequence of str, length N
    scores : numpy.ndarray, shape=(N, L_max)
        Row i holds the attention of ``seqs[i]`` in its first ``len(seqs[i])`` entries.
    positive_index : sequence of int
        Indices of the positive sequences, in the order they are scanned.
    min_len : int, optional
        Default is 5.
    candidates : {"regions", "kmers"}, optional
        ``"regions"`` (DNABERT): each region substring is a candidate. ``"kmers"``: each
        distinct ``candidate_len``-mer of a region is one (a region no longer than
        ``candidate_len`` is one candidate as a whole). Default is "regions".
    candidate_len : int, optional
        k of the ``"kmers"`` mode; at least ``min_len``. Default is 8.

    Returns
    -------
    dict of str to list of (seq_index, start, end)
        Candidate substring to its instances, in first-appearance order.
    """
    _check_mode(candidates, candidate_len, min_len)
    pos_idx = np.asarray(positive_index, dtype=np.int64)
    regions = _attention_regions(seqs, scores, pos_idx, min_len)
    cands = _candidates_with_regions(seqs, regions, candidates, candidate_len)
    return {c: [(i, s, e) for i, s, e, _r in inst] for c, inst in cands.items()}
