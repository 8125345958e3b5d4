"""Attention-motif discovery: DNABERT-viz's algorithm (``motif/find_motifs.py``), made fast.

The steps and their exact semantics (see ``docs`` and the DNABERT reference):

1. **Regions.** For each positive sequence with attention ``s`` (its first ``len(seq)``
   values, as float64), a position is *high* when ``s > mean(s)`` and ``s > 10 * min(s)``.
   Maximal runs of high positions at least ``min_len`` long are regions ``[start, end)``;
   each distinct region substring is a candidate motif, with every region it came from as an
   instance. Candidates are ordered by first appearance (sequence order, then position).

   *Candidate modes* (``candidates``). ``"regions"`` is DNABERT's rule above. ``"kmers"``
   (an extension) makes every distinct ``candidate_len``-mer of each region a candidate, with
   its sequence index and first position in that region (a region no longer than
   ``candidate_len`` stays one whole candidate, as in DNABERT). Why: a fine-tuned model's
   high-attention regions over a motif usually include a few flanking bases of varying length,
   and PWM-sampled motif instances differ in their variable bases, so nearly every region
   string occurs in one sequence only and no candidate can be enriched (the demo: 151 region
   candidates, none with adjusted p < 0.005). The k-mers inside those regions recur across
   sequences. Steps 2-5 are unchanged; the overlapping k-mers of one motif merge into one or a
   few keys through their overlap alignments (shift ``d`` scores ``k - d`` >= ``k / 2``).
2. **Enrichment.** Each candidate is counted once per sequence that contains it anywhere
   (exact string match, overlapping occurrences allowed). With N sequences, K positives,
   n containing sequences and x containing positives, ``p = hypergeom.sf(x - 1, N, K, n)``.
   Benjamini-Hochberg adjusts over all candidates; candidates with adjusted p below
   ``pval_cutoff`` are kept.
3. **Merge.** Kept candidates are processed shortest first (stable, so ties keep
   first-appearance order). The first becomes a key; each later candidate is aligned to every
   key with an *ungapped* alignment with free end gaps, scored as the number of matching
   bases. A key qualifies when the score is ``>= max(min_len - 1, 0.5 * min(len(q), len(key)))``;
   the best-scoring qualifying key absorbs the candidate's instances, shifted to the key's
   extent (``start + offset``, ``start + offset + len(key)``, ``offset`` being where the
   key's first base falls in the candidate). Ties are resolved deterministically:
   between keys, the earliest-created key wins (what DNABERT's ``max`` does, since its
   ``align_all_ties`` branch compares alignment objects and so never finds a second tie);
   between offsets of one key, the offset closest to 0 wins, then the more negative one.
   Without a qualifying key the candidate becomes a new key. Each key keeps one instance per
   high-attention region: that of the member with the lowest adjusted p (ties: merge order).
   With ``"regions"`` this changes nothing (each region is one instance of one candidate); with
   ``"kmers"`` it stops the k-mers of one motif copy from adding the same copy repeatedly.
4. **Windows.** Each instance ``[s, e)`` is widened to ``window`` bp: with
   ``d = window - (e - s)``, the new window is ``[s - d // 2, e + d - d // 2)`` (the odd base
   goes right; ``d < 0`` shrinks). A window is dropped when it starts before 0 or when its
   end is ``>= len(seq)`` (DNABERT's strict test, which also drops windows ending exactly at
   the sequence end).
5. **Filter.** Keys with at least ``min_n_motif`` windows are motifs; their PWM is the
   column-wise A/C/G/T frequency of the windows.

The presence counting (step 2) replaces Aho-Corasick with exact packed k-mer codes: every
sequence is encoded once (3 bits per base, 21 bases per 63-bit word), rolling word codes are
built once per needed word length, and each candidate length is matched against all windows
with sorted look-ups, word by word, keeping exact ranks so that no hash collision is possible.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy.stats import hypergeom
from tqdm.auto import tqdm

from dnalm import atomic
from dnalm._validate import validate_seqs

__all__ = [
    "Motif",
    "MotifResult",
    "find_motifs",
    "high_attention_regions",
    "attention_candidates",
    "presence_counts",
    "hypergeom_pvalues",
    "bh_adjust",
    "ungapped_align",
    "merge_candidates",
    "widen_windows",
    "pwm_from_sites",
    "discover_motifs",
    "known_motif_inputs",
    "INSTANCE_COLUMNS",
    "CANDIDATE_MODES",
]

log = logging.getLogger("dnalm.motifs")

# 3-bit base codes for exact matching: A C G T N; 5 separates sequences (matches nothing).
_CODE3 = np.full(256, 255, dtype=np.uint8)
for _i, _b in enumerate("ACGTN"):
    _CODE3[ord(_b)] = _i
_SEP = 5
_WORD = 21  # bases per 63-bit word
_PREFIX = 7  # bases in the direct look-up table (8**7 entries)
_DENSE_LIMIT = 1 << 26  # max patterns x sequences for a dense presence matrix
_ACGT_INDEX = {b: i for i, b in enumerate("ACGT")}


@dataclass
class Motif:
    """One discovered motif.

    Attributes
    ----------
    name : str
        ``motif<rank>_<key>``; rank 1 is the most significant.
    key : str
        The key candidate (the shortest member of its merge group).
    pwm : numpy.ndarray, shape=(window, 4), dtype=float64
        Column frequencies of A, C, G, T over the windows (uniform for all-N columns).
    seq_index : numpy.ndarray, shape=(n,), dtype=int64
        Index (into the input sequences) of each window.
    start, end : numpy.ndarray, shape=(n,), dtype=int64
        Window coordinates (0-based, half-open) in its sequence.
    region : list of str, length n
        The candidate (region substring) each window came from.
    pvalue, padj : numpy.ndarray, shape=(n,), dtype=float64
        Raw and BH-adjusted p-value of that candidate.
    key_pvalue, key_padj : float
        The key candidate's raw and adjusted p-values.
    members : list of str
        All candidates merged into this key, key first.
    """

    name: str
    key: str
    pwm: np.ndarray
    seq_index: np.ndarray
    start: np.ndarray
    end: np.ndarray
    region: list[str]
    pvalue: np.ndarray
    padj: np.ndarray
    key_pvalue: float
    key_padj: float
    members: list[str] = field(default_factory=list)

    @property
    def n_sites(self) -> int:
        return int(self.seq_index.shape[0])

    @property
    def min_padj(self) -> float:
        return float(self.padj.min()) if self.padj.size else float("nan")

    def sites(self, seqs: Sequence[str]) -> list[str]:
        """The window sequences of this motif."""
        return [seqs[i][s:e] for i, s, e in zip(self.seq_index, self.start, self.end, strict=True)]


@dataclass
class MotifResult:
    """Everything :func:`find_motifs` computed.

    Attributes
    ----------
    motifs : list of Motif
        Sorted by ``min_padj``, then by number of sites (descending), then key.
    candidates : list of str
        Every candidate tested, in first-appearance order.
    n_all, n_pos : numpy.ndarray, shape=(n_candidates,), dtype=int64
        Sequences (all / positive) containing each candidate.
    pvalue, padj : numpy.ndarray, shape=(n_candidates,), dtype=float64
    n_seqs, n_positives : int
    """

    motifs: list[Motif]
    candidates: list[str]
    n_all: np.ndarray
    n_pos: np.ndarray
    pvalue: np.ndarray
    padj: np.ndarray
    n_seqs: int
    n_positives: int


# ----------------------------------------------------------------------------- step 1


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


# ----------------------------------------------------------------------------- step 2


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


def bh_adjust(p: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (as statsmodels' ``fdr_bh``).

    Parameters
    ----------
    p : numpy.ndarray, shape=(m,)

    Returns
    -------
    numpy.ndarray, shape=(m,), dtype=float64
        ``min over j >= rank(i) of p_(j) * m / j``, clipped to 1, in the input order.
    """
    p = np.asarray(p, dtype=np.float64)
    m = p.size
    if m == 0:
        return p.copy()
    order = np.argsort(p, kind="mergesort")
    scaled = p[order] * m / np.arange(1, m + 1)
    adj = np.minimum.accumulate(scaled[::-1])[::-1]
    out = np.empty(m, dtype=np.float64)
    out[order] = np.minimum(adj, 1.0)
    return out


# ----------------------------------------------------------------------------- step 3


def ungapped_align(query: str, key: str) -> tuple[int, int]:
    """Best ungapped alignment with free end gaps, scored as the number of matches.

    Returns
    -------
    score : int
    offset : int
        Position of ``key[0]`` in ``query`` coordinates (may be negative). Ties: the offset
        closest to 0, then the more negative one.
    """
    scores = _offset_scores(_codes_for_align(query), _codes_for_align(key)[None, :])[0]
    offsets = np.arange(-(len(key) - 1), len(query))
    best = _pick_offset(scores[None, :], offsets)[0]
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


def _pick_offset(scores: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Column of the best score per row; ties -> |offset| smallest, then offset smallest."""
    best = scores.max(axis=1, keepdims=True)
    # Rank offsets by (|o|, o): lower is preferred.
    pref = np.abs(offsets) * 2 + (offsets > 0)
    masked = np.where(scores == best, pref[None, :], np.iinfo(np.int64).max)
    return masked.argmin(axis=1)


def merge_candidates(
    candidates: Sequence[str], min_len: int = 5
) -> tuple[list[str], dict[str, tuple[str, int]]]:
    """Group candidates under keys (DNABERT's ``merge_motifs``; see the module docstring).

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
            # Offsets beyond a shorter key's own range give 0 matches; they never win
            # because a qualifying score is at least 1 (min_len - 1 >= 1).
            best_col = _pick_offset(scores, offsets)
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


# ----------------------------------------------------------------------------- the verb


def find_motifs(
    seqs: Sequence[str],
    scores: np.ndarray,
    positive: np.ndarray,
    min_len: int = 5,
    window: int = 24,
    pval_cutoff: float = 0.005,
    min_n_motif: int = 3,
    candidates: str = "regions",
    candidate_len: int = 8,
    verbose: bool = False,
) -> MotifResult:
    """Discover motifs from attention (DNABERT-viz), see the module docstring.

    Parameters
    ----------
    seqs : sequence of str, length N
        Upper-case ACGTN sequences (lower case is upper-cased).
    scores : numpy.ndarray, shape=(N, L_max)
        Nucleotide attention; row i uses its first ``len(seqs[i])`` values.
    positive : numpy.ndarray of bool, shape=(N,)
        Which sequences are positives (the rest are negatives).
    min_len : int, optional
        Minimum high-attention region length. Default is 5.
    window : int, optional
        Motif window width. Default is 24.
    pval_cutoff : float, optional
        Keep candidates with BH-adjusted p below this. Default is 0.005.
    min_n_motif : int, optional
        Minimum windows per motif. Default is 3.
    candidates : {"regions", "kmers"}, optional
        Candidate mode (module docstring): ``"regions"`` is DNABERT's, ``"kmers"`` tests every
        distinct ``candidate_len``-mer of each region. Default is "regions".
    candidate_len : int, optional
        k of the ``"kmers"`` mode (>= ``min_len``). Default is 8.
    verbose : bool, optional
        Progress bars. Default is False.

    Returns
    -------
    MotifResult
    """
    seqs = [s.upper() for s in validate_seqs(seqs, "seqs")]
    scores = np.asarray(scores)
    positive = np.asarray(positive, dtype=bool)
    n = len(seqs)
    if scores.ndim != 2 or scores.shape[0] != n:
        raise ValueError(f"`scores` must have shape ({n}, L_max), got {scores.shape}")
    if positive.shape != (n,):
        raise ValueError(f"`positive` must have shape ({n},), got {positive.shape}")
    too_long = [i for i, s in enumerate(seqs) if len(s) > scores.shape[1]]
    if too_long:
        raise ValueError(
            f"`seqs`[{too_long[0]}] has {len(seqs[too_long[0]])} bp but `scores` has only "
            f"{scores.shape[1]} columns"
        )
    if min_len < 2 or window < 1 or min_n_motif < 1:
        raise ValueError("`min_len` must be >= 2, `window` >= 1 and `min_n_motif` >= 1")
    _check_mode(candidates, candidate_len, min_len)
    pos_idx = np.flatnonzero(positive)
    regions = _attention_regions(seqs, scores, pos_idx, min_len)
    cands = _candidates_with_regions(seqs, regions, candidates, candidate_len)
    names = list(cands)
    n_all, n_pos = presence_counts(seqs, names, positive, verbose=verbose)
    pval = hypergeom_pvalues(n_pos, n_all, n, int(positive.sum()))
    padj = bh_adjust(pval)
    log.info(
        "%d sequences (%d positive): %d candidates (%s) from %d high-attention regions, %d "
        "with adjusted p < %g",
        n,
        int(positive.sum()),
        len(names),
        candidates if candidates == "regions" else f"{candidate_len}-mers",
        len(regions),
        int((padj < pval_cutoff).sum()),
        pval_cutoff,
    )
    result = MotifResult([], names, n_all, n_pos, pval, padj, n, int(positive.sum()))
    kept = [c for c, q in zip(names, padj, strict=True) if q < pval_cutoff]
    keys, assignment = merge_candidates(kept, min_len)
    cand_row = {c: i for i, c in enumerate(names)}
    seq_len = np.fromiter((len(s) for s in seqs), dtype=np.int64, count=n)
    groups: dict[str, list[tuple[int, int, int, str]]] = {k: [] for k in keys}
    members: dict[str, list[str]] = {k: [] for k in keys}
    # One window per (key, region): the instance of the member with the lowest adjusted p
    # (ties: merge order). A no-op for "regions" (one candidate instance per region); in
    # "kmers" mode it stops the overlapping k-mers of one motif copy from counting repeatedly.
    chosen: dict[tuple[str, int], tuple[float, int, tuple[int, int, int, str]]] = {}
    for order, cand in enumerate(sorted(kept, key=len)):  # merge order: key's own first
        key, off = assignment[cand]
        members[key].append(cand)
        q = float(padj[cand_row[cand]])
        for i, s, _e, r in cands[cand]:
            prev = chosen.get((key, r))
            if prev is None or q < prev[0]:
                chosen[(key, r)] = (q, order, (i, s + off, s + off + len(key), cand))
    for (key, _r), (_q, _o, inst) in sorted(chosen.items(), key=lambda kv: kv[1][1:]):
        groups[key].append(inst)
    motifs: list[Motif] = []
    for key in keys:
        inst = groups[key]
        si = np.array([t[0] for t in inst], dtype=np.int64)
        ws, we, keep = widen_windows(
            np.array([t[1] for t in inst]), np.array([t[2] for t in inst]), seq_len[si], window
        )
        if int(keep.sum()) < min_n_motif:
            continue
        regions = [t[3] for t, k in zip(inst, keep, strict=True) if k]
        rows = np.array([cand_row[c] for c in regions], dtype=np.int64)
        m = Motif(
            name="",
            key=key,
            pwm=np.zeros((window, 4)),
            seq_index=si[keep],
            start=ws[keep],
            end=we[keep],
            region=regions,
            pvalue=pval[rows],
            padj=padj[rows],
            key_pvalue=float(pval[cand_row[key]]),
            key_padj=float(padj[cand_row[key]]),
            members=members[key],
        )
        m.pwm = pwm_from_sites(m.sites(seqs))
        motifs.append(m)
    motifs.sort(key=lambda m: (m.min_padj, -m.n_sites, m.key))
    for rank, m in enumerate(motifs, start=1):
        m.name = f"motif{rank}_{m.key}"
    result.motifs = motifs
    if not motifs:
        log.warning(
            "no motif found: %d candidates passed adjusted p < %g and none kept >= %d windows",
            len(kept),
            pval_cutoff,
            min_n_motif,
        )
    else:
        log.info("%d motifs with >= %d windows of %d bp", len(motifs), min_n_motif, window)
    return result


# ----------------------------------------------------------------------------- files


def known_motif_inputs(config: dict, task: str) -> list[str]:
    """The known-motif MEME file of the task's genome (``motifs.known_motifs.<genome>``), or []."""
    genome = config["tasks"][task].get("genome")
    path = config.get("motifs", {}).get("known_motifs", {}).get(genome)
    return [path] if path else []


INSTANCE_COLUMNS = [
    "motif",
    "row",
    "source_id",
    "start",
    "end",
    "strand",
    "site",
    "region",
    "pvalue",
    "padj",
]


def _atomic_text(path: Path, text: str) -> None:
    atomic.write_text(path, text)


def _load_inputs(scores_npz: Path, dataset: Path, positives: str):
    import pandas as pd

    with np.load(scores_npz) as z:
        for key in ("scores", "labels", "probs"):
            if key not in z:
                raise ValueError(f"{scores_npz}: missing array {key!r}")
        scores, labels, probs = z["scores"], z["labels"], z["probs"]
    df = pd.read_csv(dataset, sep="\t", dtype={"sequence": str, "source_id": str})
    for col in ("sequence", "label"):
        if col not in df.columns:
            raise ValueError(f"{dataset}:1: header lacks column {col!r}")
    if len(df) != scores.shape[0]:
        raise ValueError(
            f"{scores_npz}: {scores.shape[0]} rows of scores but {dataset} has {len(df)} rows"
        )
    if not np.array_equal(df["label"].to_numpy(np.int64), labels.astype(np.int64)):
        raise ValueError(f"{scores_npz}: labels differ from {dataset} (rows out of order?)")
    if positives == "true_label":
        pos = labels.astype(np.int64) == 1
    elif positives == "predicted_label":
        pos = probs.argmax(axis=1) == 1
    else:
        raise ValueError(
            f"`positives` must be 'true_label' or 'predicted_label', got {positives!r}"
        )
    source = df["source_id"].astype(str).tolist() if "source_id" in df else [""] * len(df)
    return df["sequence"].astype(str).tolist(), scores, pos, source


def discover_motifs(
    scores_npz: str | Path,
    dataset: str | Path,
    meme_out: str | Path,
    instances_out: str | Path,
    matches_out: str | Path,
    logos_dir: str | Path,
    logo_panel_out: str | Path | None = None,
    known_meme: str | Path | None = None,
    positives: str = "true_label",
    min_len: int = 5,
    window: int = 24,
    pval_cutoff: float = 0.005,
    min_n_motif: int = 3,
    candidates: str = "regions",
    candidate_len: int = 8,
    n_jobs: int = 1,
    verbose: bool = False,
) -> MotifResult:
    """The ``motif_discover`` rule: attention scores + test set -> motif files.

    Parameters
    ----------
    scores_npz : str or pathlib.Path
        ``results/attention/{task}/{model}/scores.npz`` (``scores``, ``labels``, ``probs``).
    dataset : str or pathlib.Path
        The matching ``test.tsv.gz`` (same rows, same order).
    meme_out, instances_out, matches_out : str or pathlib.Path
        ``motifs.meme`` (MEME minimal; ``nsites``; alternate name ``padj=<min adjusted p>``),
        ``instances.tsv`` (columns :data:`INSTANCE_COLUMNS`; ``row`` is the dataset row,
        ``start``/``end`` the 0-based window in the sequence, strand always ``+`` as windows
        are read on the sequence's own strand) and ``matches.tsv`` (see
        :func:`dnalm.tomtom.match_motifs`).
    logos_dir : str or pathlib.Path
        One logomaker PNG per motif plus ``index.tsv``.
    logo_panel_out : str or pathlib.Path, optional
        One PNG with each motif's logo beside its best known match (for the report).
        Default is None (not drawn).
    known_meme : str or pathlib.Path, optional
        Known motifs to match against. Default is None (header-only ``matches.tsv``).
    positives : {"true_label", "predicted_label"}, optional
        Which sequences are positives. Default is "true_label" (as DNABERT).
    min_len, window, pval_cutoff, min_n_motif, candidates, candidate_len : optional
        See :func:`find_motifs`.
    n_jobs : int, optional
        Threads for TOMTOM. Default is 1.
    verbose : bool, optional
        Default is False.

    Returns
    -------
    MotifResult
    """
    import pandas as pd

    from dnalm.logos import draw_logo_panel, draw_logos
    from dnalm.meme import read_meme, write_meme
    from dnalm.tomtom import COLUMNS, match_motifs

    seqs, scores, pos, source = _load_inputs(Path(scores_npz), Path(dataset), positives)
    result = find_motifs(
        seqs,
        scores,
        pos,
        min_len,
        window,
        pval_cutoff,
        min_n_motif,
        candidates=candidates,
        candidate_len=candidate_len,
        verbose=verbose,
    )
    motifs = result.motifs
    write_meme(
        meme_out,
        {m.name: m.pwm for m in motifs},
        nsites={m.name: m.n_sites for m in motifs},
        comments={m.name: f"padj={m.min_padj:.3g}" for m in motifs},
    )
    lines = ["\t".join(INSTANCE_COLUMNS)]
    for m in motifs:
        sites = m.sites([s.upper() for s in seqs])
        order = np.lexsort((m.start, m.seq_index))
        for j in order:
            i = int(m.seq_index[j])
            lines.append(
                f"{m.name}\t{i}\t{source[i]}\t{int(m.start[j])}\t{int(m.end[j])}\t+\t"
                f"{sites[j]}\t{m.region[j]}\t{m.pvalue[j]:.6g}\t{m.padj[j]:.6g}"
            )
    _atomic_text(Path(instances_out), "\n".join(lines) + "\n")
    draw_logos(
        {m.name: m.pwm for m in motifs},
        logos_dir,
        titles={m.name: f"{m.name}  n={m.n_sites}  padj={m.min_padj:.2g}" for m in motifs},
    )
    if known_meme and motifs:
        matches = match_motifs(meme_out, known_meme, n_jobs=n_jobs)
    else:
        if not known_meme:
            log.warning("no known-motif file configured for this genome: matches.tsv is empty")
        matches = pd.DataFrame(columns=COLUMNS)
    tmp = Path(matches_out)
    tmp.parent.mkdir(parents=True, exist_ok=True)
    _atomic_text(tmp, matches.to_csv(sep="\t", index=False, float_format="%.6g"))
    if logo_panel_out is not None:
        draw_logo_panel(
            {m.name: m.pwm for m in motifs},
            matches,
            read_meme(known_meme) if known_meme else None,
            logo_panel_out,
            titles={m.name: f"{m.name}  n={m.n_sites}  padj={m.min_padj:.2g}" for m in motifs},
        )
    good = matches[matches["q"].astype(float) < 0.05] if len(matches) else matches
    log.info(
        "wrote %d motifs (%d sites); %d motif-target matches with q < 0.05",
        len(motifs),
        sum(m.n_sites for m in motifs),
        len(good),
    )
    return result
