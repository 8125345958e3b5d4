"""The verb of motif discovery: :func:`find_motifs` (DNABERT-viz, rules in :mod:`dnalm.motifs`)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from dnalm._validate import validate_seqs
from dnalm.motifs.enrichment import hypergeom_pvalues, presence_counts
from dnalm.motifs.merge import merge_candidates, pwm_from_sites, widen_windows
from dnalm.motifs.regions import (
    RegionRule,
    _attention_regions,
    _candidates_with_regions,
    _check_mode,
)
from dnalm.stats import bh_adjust

__all__ = ["Motif", "MotifResult", "find_motifs"]

log = logging.getLogger("dnalm.motifs")


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
    n_regions : int
        High-attention regions found in the positives.
    n_significant : int
        Candidates with adjusted p below ``pval_cutoff``.
    rule : RegionRule
        The region rule used.
    """

    motifs: list[Motif]
    candidates: list[str]
    n_all: np.ndarray
    n_pos: np.ndarray
    pvalue: np.ndarray
    padj: np.ndarray
    n_seqs: int
    n_positives: int
    n_regions: int = 0
    n_significant: int = 0
    rule: RegionRule = field(default_factory=RegionRule)


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
    region_rule: str = "dnabert",
    min_ratio: float = 10.0,
    mean_ratio: float = 1.0,
    quantile: float = 0.9,
    verbose: bool = False,
) -> MotifResult:
    """Discover motifs from attention (DNABERT-viz), rules in :mod:`dnalm.motifs`.

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
        Candidate mode (:mod:`dnalm.motifs`): ``"regions"`` is DNABERT's, ``"kmers"`` tests every
        distinct ``candidate_len``-mer of each region. Default is "regions".
    candidate_len : int, optional
        k of the ``"kmers"`` mode (>= ``min_len``). Default is 8.
    region_rule : {"dnabert", "quantile"}, optional
        Which bases are high (:class:`dnalm.motifs.RegionRule`). Default is "dnabert"
        (``> mean_ratio x mean`` and ``> min_ratio x min``: DNABERT's rule with the defaults).
    min_ratio, mean_ratio : float, optional
        Thresholds of the ``"dnabert"`` rule. Default is 10 and 1.
    quantile : float, optional
        Threshold of the ``"quantile"`` rule: bases above the sequence's own quantile. Default
        is 0.9.
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
    rule = RegionRule(region_rule, float(min_ratio), float(mean_ratio), float(quantile))
    pos_idx = np.flatnonzero(positive)
    regions = _attention_regions(seqs, scores, pos_idx, min_len, rule)
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
    kept = [c for c, q in zip(names, padj, strict=True) if q < pval_cutoff]
    result = MotifResult(
        [], names, n_all, n_pos, pval, padj, n, int(positive.sum()), len(regions), len(kept), rule
    )
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
