"""Steps 3-5 of motif discovery: ungapped merge of candidates, fixed windows, PWMs.

See :mod:`dnalm.motifs` for the merge and tie rules (DNABERT's ``merge_motifs`` and
``make_window``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["merge_candidates", "pwm_from_sites", "ungapped_align", "widen_windows"]


def ungapped_align(query: str, key: str) -> tuple[int, int]:
    """Best ungapped alignment with free end gaps, scored as the number of matches.

    Returns
    -------
    score : int
    offset : int
        Position of ``key[0]`` in ``query`` coordinates (may be negative). Ties as
        Biopython's first optimal alignment (see :func:`_pick_offset`).
    """
    scores = _offset_scores(_codes_for_align(query), _codes_for_align(key)[None, :])[0]
    offsets = np.arange(-(len(key) - 1), len(query))
    best = _pick_offset(scores[None, :], offsets, np.array([len(query) - len(key)]))[0]
    return int(scores[best]), int(offsets[best])


def _codes_for_align(s: str) -> np.ndarray:
    return np.frombuffer(s.encode("ascii", "replace"), dtype=np.uint8).astype(np.int16)


def _offset_scores(q: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """Matches at every offset: keys (K, Lk) padded with -1; returns (K, Lk - 1 + len(q))."""
    lq, lk = q.size, keys.shape[1]
    out = np.zeros((keys.shape[0], lq + lk - 1), dtype=np.int64)
    for col, o in enumerate(range(-(lk - 1), lq)):
        q0, q1 = max(0, o), min(lq, o + lk)
        out[:, col] = (keys[:, q0 - o : q1 - o] == q[q0:q1]).sum(axis=1)
    return out


def _pick_offset(scores: np.ndarray, offsets: np.ndarray, end_offset: np.ndarray) -> np.ndarray:
    """Column of the best score per row, ties broken as Biopython's first optimal alignment.

    With end gaps free and internal gaps forbidden, ``PairwiseAligner.align(query, key)[0]``
    is the largest optimal offset at which the key runs past the query's right end
    (``offset > len(query) - len(key)``); without one, the smallest optimal offset.

    Parameters
    ----------
    scores : numpy.ndarray, shape=(K, n_offsets)
        Matches per key (row) and offset (column).
    offsets : numpy.ndarray, shape=(n_offsets,)
        Increasing offsets of the columns.
    end_offset : numpy.ndarray, shape=(K,)
        ``len(query) - len(key)`` per row.

    Returns
    -------
    numpy.ndarray, shape=(K,), dtype=int64
    """
    opt = scores == scores.max(axis=1, keepdims=True)
    past_end = opt & (offsets[None, :] > np.asarray(end_offset)[:, None])
    last_past_end = offsets.size - 1 - past_end[:, ::-1].argmax(axis=1)
    return np.where(past_end.any(axis=1), last_past_end, opt.argmax(axis=1))


def merge_candidates(
    candidates: Sequence[str], min_len: int = 5
) -> tuple[list[str], dict[str, tuple[str, int]]]:
    """Group candidates under keys (DNABERT's ``merge_motifs``; rules in :mod:`dnalm.motifs`).

    Parameters
    ----------
    candidates : sequence of str
        Distinct candidates in first-appearance order.
    min_len : int, optional
        Default is 5.

    Returns
    -------
    keys : list of str
        Keys in creation order.
    assignment : dict of str to (key, offset)
        For each candidate, its key and where the key's first base falls in the candidate
        (0 for keys themselves).
    """
    order = sorted(candidates, key=len)  # stable: ties keep first-appearance order
    keys: list[str] = []
    assignment: dict[str, tuple[str, int]] = {}
    if not order:
        return keys, assignment
    width = max(len(c) for c in order)
    key_mat = np.full((len(order), width), -1, dtype=np.int16)
    key_len = np.zeros(len(order), dtype=np.int64)
    for cand in order:
        n_keys = len(keys)
        if n_keys:
            q = _codes_for_align(cand)
            lk = int(key_len[:n_keys].max())
            scores = _offset_scores(q, key_mat[:n_keys, :lk])
            offsets = np.arange(-(lk - 1), q.size)
            # Offsets left of a shorter key's own range give 0 matches; they never win
            # because a qualifying score is at least 1 (min_len - 1 >= 1).
            best_col = _pick_offset(scores, offsets, q.size - key_len[:n_keys])
            best = scores[np.arange(n_keys), best_col]
            cond = np.maximum(min_len - 1, 0.5 * np.minimum(q.size, key_len[:n_keys]))
            ok = best >= cond
            if ok.any():
                # earliest-created key among the best qualifying scores
                top = np.flatnonzero(ok & (best == best[ok].max()))[0]
                assignment[cand] = (keys[top], int(offsets[best_col[top]]))
                continue
        key_mat[n_keys, : len(cand)] = _codes_for_align(cand)
        key_len[n_keys] = len(cand)
        keys.append(cand)
        assignment[cand] = (cand, 0)
    return keys, assignment


# ----------------------------------------------------------------------------- steps 4-5


def widen_windows(
    start: np.ndarray, end: np.ndarray, seq_len: np.ndarray, window: int = 24
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Widen regions to ``window`` bp (DNABERT's ``make_window``).

    Returns
    -------
    new_start, new_end : numpy.ndarray, shape=(n,), dtype=int64
    keep : numpy.ndarray of bool, shape=(n,)
        False where the window starts before 0 or ends at or past ``seq_len``.
    """
    start = np.asarray(start, dtype=np.int64)
    end = np.asarray(end, dtype=np.int64)
    d = window - (end - start)
    left = d // 2  # floor: for odd d the extra base goes right (and for d < 0 it shrinks left)
    new_start = start - left
    new_end = end + (d - left)
    keep = (new_start >= 0) & (new_end < np.asarray(seq_len, dtype=np.int64))
    return new_start, new_end, keep


def pwm_from_sites(sites: Sequence[str]) -> np.ndarray:
    """Column frequencies of A, C, G, T over equal-length sites (N ignored).

    Returns
    -------
    numpy.ndarray, shape=(w, 4), dtype=float64
        Rows sum to 1; a column without any A/C/G/T is uniform.
    """
    if not sites:
        raise ValueError("`sites` is empty")
    w = len(sites[0])
    if any(len(s) != w for s in sites):
        raise ValueError("`sites` must all have the same length")
    arr = np.frombuffer("".join(sites).encode("ascii", "replace"), dtype=np.uint8).reshape(-1, w)
    counts = np.stack([(arr == ord(b)).sum(axis=0) for b in "ACGT"], axis=1).astype(np.float64)
    tot = counts.sum(axis=1, keepdims=True)
    return np.where(tot > 0, counts / np.maximum(tot, 1), 0.25)
