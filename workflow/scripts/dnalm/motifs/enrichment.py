"""Step 2 of motif discovery: per-sequence presence of candidates and hypergeometric p-values.

Presence counting replaces DNABERT's Aho-Corasick with exact packed k-mer codes: every
sequence is encoded once (3 bits per base, 21 bases per 63-bit word), rolling word codes are
built once per needed word length, and each candidate length is matched against all windows
with sorted look-ups, word by word, keeping exact ranks so that no hash collision is possible.
Benjamini-Hochberg adjustment is :func:`dnalm.stats.bh_adjust`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.stats import hypergeom
from tqdm.auto import tqdm

__all__ = ["hypergeom_pvalues", "presence_counts"]

# 3-bit base codes for exact matching: A C G T N; 5 separates sequences (matches nothing).
_CODE3 = np.full(256, 255, dtype=np.uint8)
for _i, _b in enumerate("ACGTN"):
    _CODE3[ord(_b)] = _i
_SEP = 5
_WORD = 21  # bases per 63-bit word
_PREFIX = 7  # bases in the direct look-up table (8**7 entries)
_DENSE_LIMIT = 1 << 26  # max patterns x sequences for a dense presence matrix


def _encode_concat(seqs: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """All sequences as 3-bit codes joined by a separator, and each position's sequence index."""
    lengths = np.fromiter((len(s) for s in seqs), dtype=np.int64, count=len(seqs))
    raw = np.frombuffer("\x05".join(seqs).encode("ascii", "replace"), dtype=np.uint8)
    codes = _CODE3[raw]
    codes[raw == 5] = _SEP
    seq_of = np.repeat(np.arange(len(seqs), dtype=np.int64), lengths + 1)[: codes.size]
    bad = np.flatnonzero(codes == 255)
    if bad.size:
        i = int(seq_of[bad[0]])
        j = int(bad[0] - np.concatenate([[0], np.cumsum(lengths + 1)])[i])
        raise ValueError(f"`seqs`[{i}] contains non-ACGTN character {seqs[i][j]!r} at index {j}")
    return codes.astype(np.int64), seq_of


def _pattern_codes(pattern: str) -> np.ndarray:
    codes = _CODE3[np.frombuffer(pattern.encode("ascii", "replace"), dtype=np.uint8)]
    if np.any(codes == 255):
        raise ValueError(f"pattern {pattern!r} contains non-ACGTN characters")
    return codes.astype(np.int64)


def _word(codes: np.ndarray, start: np.ndarray, m: int) -> np.ndarray:
    """Base-8 code of ``codes[start:start+m]`` for every start (gathered, shape of ``start``)."""
    out = np.zeros(start.shape, dtype=np.int64)
    for j in range(m):
        out = out * 8 + codes[start + j]
    return out


def _match_exact(
    codes: np.ndarray, pos: np.ndarray, pats: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Which of ``pats`` (n, l) codes occurs at each of ``pos``: returns (positions, pattern row).

    Word by word (21 bases per word) with exact ranks: the pair (rank so far, word) of each
    pattern is ranked again after every word, so codes never overflow and never collide.
    """
    n, ln = pats.shape
    pat_rank = np.zeros(n, dtype=np.int64)
    pos_rank = np.zeros(pos.size, dtype=np.int64)
    for off in range(0, ln, _WORD):
        m = min(_WORD, ln - off)
        pw = np.zeros(n, dtype=np.int64)
        for j in range(m):
            pw = pw * 8 + pats[:, off + j]
        uw = np.unique(pw)
        pat_pair = pat_rank * uw.size + np.searchsorted(uw, pw)
        wc = _word(codes, pos + off, m)
        r = np.minimum(np.searchsorted(uw, wc), uw.size - 1)
        ok = uw[r] == wc
        pos, pos_rank, r = pos[ok], pos_rank[ok], r[ok]
        up = np.unique(pat_pair)
        pat_rank = np.searchsorted(up, pat_pair)
        pos_pair = pos_rank * uw.size + r
        rr = np.minimum(np.searchsorted(up, pos_pair), up.size - 1)
        ok = up[rr] == pos_pair
        pos, pos_rank = pos[ok], rr[ok]
    rank_to_pat = np.empty(n, dtype=np.int64)
    rank_to_pat[pat_rank] = np.arange(n)  # a bijection: patterns are distinct
    return pos, rank_to_pat[pos_rank]


def presence_counts(
    seqs: Sequence[str], patterns: Sequence[str], is_positive: np.ndarray, verbose: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """How many sequences (all, positive) contain each pattern at least once.

    Exact matching of upper-case ACGTN strings (``N`` matches only ``N``). For each pattern
    length, a direct look-up table over the first ``min(l, 7)`` bases (3-bit codes) either
    identifies the pattern outright (l <= 7) or leaves the few positions whose prefix matches
    some pattern, which are then compared word by word (:func:`_match_exact`).

    Parameters
    ----------
    seqs : sequence of str, length N
    patterns : sequence of str, length P
        Distinct, non-empty patterns.
    is_positive : numpy.ndarray of bool, shape=(N,)
    verbose : bool, optional
        Progress bar over pattern lengths. Default is False.

    Returns
    -------
    n_all : numpy.ndarray, shape=(P,), dtype=int64
    n_pos : numpy.ndarray, shape=(P,), dtype=int64
    """
    n_pat, n_seq = len(patterns), len(seqs)
    is_positive = np.asarray(is_positive, dtype=bool)
    n_all = np.zeros(n_pat, dtype=np.int64)
    n_pos = np.zeros(n_pat, dtype=np.int64)
    if n_pat == 0 or n_seq == 0:
        return n_all, n_pos
    if len(set(patterns)) != n_pat:
        raise ValueError("`patterns` must be distinct")
    codes, seq_of = _encode_concat(seqs)
    total = codes.size
    # Columns ordered positives first, so positive counts are a slice of the dense matrix.
    n_posseq = int(is_positive.sum())
    col = np.empty(n_seq, dtype=np.int64)
    col[is_positive] = np.arange(n_posseq)
    col[~is_positive] = np.arange(n_posseq, n_seq)
    col_of = col[seq_of]
    plen = np.fromiter((len(p) for p in patterns), dtype=np.int64, count=n_pat)
    if plen.min() < 1:
        raise ValueError("`patterns` contains an empty pattern")
    prefix_codes: dict[int, np.ndarray] = {}  # P -> base-8 code of codes[p:p+P], P <= 7
    cur = codes.copy()
    for m in range(1, min(_PREFIX, int(plen.max())) + 1):
        if m > 1:
            cur = cur[:-1] * 8 + codes[m - 1 :]
        prefix_codes[m] = cur
    for ln in tqdm(sorted(set(plen.tolist())), disable=not verbose, desc="count motifs"):
        idx = np.flatnonzero(plen == ln)
        if ln > total:
            continue
        pats = _pattern_codes("".join(patterns[j] for j in idx)).reshape(idx.size, ln)
        npref = min(ln, _PREFIX)
        pref = np.zeros(idx.size, dtype=np.int64)
        for j in range(npref):
            pref = pref * 8 + pats[:, j]
        window_pref = prefix_codes[npref][: total - ln + 1]
        if ln <= _PREFIX:
            table = np.full(8**ln, -1, dtype=np.int32)
            table[pref] = np.arange(idx.size, dtype=np.int32)
            hit = table[window_pref]
            pos = np.flatnonzero(hit >= 0)
            which = hit[pos].astype(np.int64)
        else:
            table = np.zeros(8**npref, dtype=bool)
            table[pref] = True
            pos = np.flatnonzero(table[window_pref])
            pos, which = _match_exact(codes, pos, pats)
        if pos.size == 0:
            continue
        c = col_of[pos]
        if idx.size * n_seq <= _DENSE_LIMIT:
            present = np.zeros((idx.size, n_seq), dtype=bool)
            present[which, c] = True
            n_all[idx] += np.count_nonzero(present, axis=1)
            n_pos[idx] += np.count_nonzero(present[:, :n_posseq], axis=1)
        else:
            pairs = np.unique(which * n_seq + c)
            pj, cj = pairs // n_seq, pairs % n_seq
            n_all[idx] += np.bincount(pj, minlength=idx.size)
            n_pos[idx] += np.bincount(pj[cj < n_posseq], minlength=idx.size)
    return n_all, n_pos


def hypergeom_pvalues(x: np.ndarray, n: np.ndarray, n_seqs: int, n_positives: int) -> np.ndarray:
    """``P(X >= x)`` for X ~ Hypergeometric(N = n_seqs, K = n_positives, n draws).

    Returns
    -------
    numpy.ndarray, shape=(P,), dtype=float64
    """
    x = np.asarray(x, dtype=np.int64)
    n = np.asarray(n, dtype=np.int64)
    if x.size == 0:
        return np.zeros(0, dtype=np.float64)
    # Many candidates share (x, n); scipy's sf is evaluated once per distinct pair.
    pairs, inv = np.unique(np.stack([x, n], axis=1), axis=0, return_inverse=True)
    sf = np.asarray(
        hypergeom.sf(pairs[:, 0] - 1, n_seqs, n_positives, pairs[:, 1]), dtype=np.float64
    )
    return sf[inv.reshape(-1)]
