"""Step 1 of motif discovery: high-attention regions of the positives and their candidates.

See :mod:`dnalm.motifs` for the rules (DNABERT's ``find_high_attention``, the relative
``quantile`` rule and the candidate modes). :func:`ratio_summary` gives the numbers that explain
why a rule found nothing (the per-sequence attention max/min ratio against ``min_ratio``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = [
    "CANDIDATE_MODES",
    "REGION_RULES",
    "RegionRule",
    "attention_candidates",
    "high_attention_regions",
    "max_min_ratio",
    "ratio_summary",
]

REGION_RULES = ("dnabert", "quantile")


@dataclass(frozen=True)
class RegionRule:
    """Which bases of one sequence's attention ``s`` are *high*.

    Attributes
    ----------
    rule : {"dnabert", "quantile"}
        ``"dnabert"`` (DNABERT's ``find_high_attention``): ``s > mean_ratio * mean(s)`` and
        ``s > min_ratio * min(s)``; with the defaults (1 and 10) exactly DNABERT's rule.
        ``"quantile"`` (relative, for models whose attention is flat): ``s >`` the sequence's own
        ``quantile`` of ``s``, so about ``1 - quantile`` of its bases are high whatever the
        dynamic range.
    min_ratio, mean_ratio : float
        Thresholds of ``"dnabert"``.
    quantile : float
        Threshold of ``"quantile"``, in (0, 1).
    """

    rule: str = "dnabert"
    min_ratio: float = 10.0
    mean_ratio: float = 1.0
    quantile: float = 0.9

    def __post_init__(self) -> None:
        if self.rule not in REGION_RULES:
            raise ValueError(f"`region_rule` must be one of {REGION_RULES}, got {self.rule!r}")
        if not (self.min_ratio >= 0 and self.mean_ratio >= 0):
            raise ValueError(
                f"`min_ratio` and `mean_ratio` must be >= 0, got {self.min_ratio}, {self.mean_ratio}"
            )
        if not 0 < self.quantile < 1:
            raise ValueError(f"`quantile` must be in (0, 1), got {self.quantile}")

    def high(self, s: np.ndarray) -> np.ndarray:
        """Boolean mask of high positions, shape of ``s`` (rows are sequences when 2-D)."""
        if self.rule == "quantile":
            return s > np.quantile(s, self.quantile, axis=-1, keepdims=True)
        mean = s.mean(axis=-1, keepdims=True)
        low = s.min(axis=-1, keepdims=True)
        return (s > self.mean_ratio * mean) & (s > self.min_ratio * low)

    def describe(self) -> str:
        """The rule in words, for logs and summaries."""
        if self.rule == "quantile":
            return f"quantile: score > the sequence's {self.quantile:g} quantile"
        return f"dnabert: score > {self.mean_ratio:g} x mean and > {self.min_ratio:g} x min"


def max_min_ratio(scores: np.ndarray, lengths: Sequence[int] | np.ndarray) -> np.ndarray:
    """Per-sequence attention max / min over its real bases (inf when the minimum is 0).

    Parameters
    ----------
    scores : numpy.ndarray, shape=(N, L_max)
    lengths : sequence of int, length N

    Returns
    -------
    numpy.ndarray, shape=(N,), dtype=float64
    """
    out = np.empty(len(lengths), dtype=np.float64)
    for i, ln in enumerate(lengths):
        s = np.asarray(scores[i, : int(ln)], dtype=np.float64)
        lo, hi = (float(s.min()), float(s.max())) if s.size else (math.nan, math.nan)
        out[i] = hi / lo if lo > 0 else (math.inf if hi > 0 else math.nan)
    return out


def ratio_summary(ratios: np.ndarray, min_ratio: float = 10.0) -> dict[str, float | int | None]:
    """Distribution of per-sequence max/min ratios and how many clear ``min_ratio``.

    A sequence whose ratio is at most ``min_ratio`` cannot have a ``"dnabert"`` region: no base
    exceeds ``min_ratio x min``. This is the number that explains an empty result.

    Returns
    -------
    dict
        ``n``, ``min``, ``q05``, ``q25``, ``median``, ``q75``, ``q95``, ``max`` (None when
        ``n == 0``), ``min_ratio`` and ``n_above_min_ratio``.
    """
    r = np.asarray(ratios, dtype=np.float64)
    r = r[~np.isnan(r)]
    out: dict[str, float | int | None] = {"n": int(r.size), "min_ratio": float(min_ratio)}
    names = ("min", "q05", "q25", "median", "q75", "q95", "max")
    qs = np.quantile(r, [0, 0.05, 0.25, 0.5, 0.75, 0.95, 1]) if r.size else [None] * 7
    for name, q in zip(names, qs, strict=True):
        out[name] = None if q is None or not np.isfinite(q) else round(float(q), 6)
    out["n_above_min_ratio"] = int((r > min_ratio).sum())
    return out


def high_attention_regions(
    score: np.ndarray, min_len: int = 5, rule: RegionRule | None = None
) -> np.ndarray:
    """Maximal runs of high attention (DNABERT's ``find_high_attention`` by default).

    Parameters
    ----------
    score : numpy.ndarray, shape=(L,)
        Attention of one sequence (only its real bases).
    min_len : int, optional
        Minimum run length. Default is 5.
    rule : RegionRule, optional
        Which bases are high. Default is None (``RegionRule()``: DNABERT's > mean and > 10 x min).

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
    high = (rule or RegionRule()).high(s)
    edges = np.diff(np.concatenate([[0], high.astype(np.int8), [0]]))
    starts = np.flatnonzero(edges == 1)
    ends = np.flatnonzero(edges == -1)
    keep = (ends - starts) >= min_len
    return np.stack([starts[keep], ends[keep]], axis=1).astype(np.int64)


CANDIDATE_MODES = ("regions", "kmers")


def _attention_regions(
    seqs: Sequence[str],
    scores: np.ndarray,
    pos_idx: np.ndarray,
    min_len: int,
    rule: RegionRule | None = None,
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
        high = (rule or RegionRule()).high(s)
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
    rule: RegionRule | None = None,
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
    rule : RegionRule, optional
        Which bases are high. Default is None (DNABERT's rule).

    Returns
    -------
    dict of str to list of (seq_index, start, end)
        Candidate substring to its instances, in first-appearance order.
    """
    _check_mode(candidates, candidate_len, min_len)
    pos_idx = np.asarray(positive_index, dtype=np.int64)
    regions = _attention_regions(seqs, scores, pos_idx, min_len, rule)
    cands = _candidates_with_regions(seqs, regions, candidates, candidate_len)
    return {c: [(i, s, e) for i, s, e, _r in inst] for c, inst in cands.items()}
