"""Attention-motif discovery: DNABERT-viz's algorithm (``motif/find_motifs.py``), made fast.

The steps and their exact semantics (see ``docs/ARCHITECTURE.md`` and the DNABERT reference):

1. **Regions.** For each positive sequence with attention ``s`` (its first ``len(seq)``
   values, as float64), a position is *high* when ``s > mean(s)`` and ``s > 10 * min(s)``
   (:class:`RegionRule` ``"dnabert"``; the factors are ``mean_ratio`` and ``min_ratio``, 1 and
   10 by default). The relative rule ``"quantile"`` (an extension) calls a position high when
   ``s`` exceeds the sequence's own ``quantile`` (0.9 by default): a fine-tuned model whose
   attention is flat (max/min ratio below 10 in every sequence) has no DNABERT region at all.
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
   between offsets of one key, the alignment Biopython's ``PairwiseAligner`` (2021 defaults:
   end gaps free) returns first, i.e. the largest optimal offset at which the key runs past the
   candidate's right end (``offset > len(q) - len(key)``), else the smallest optimal offset.
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

Modules, one step each: :mod:`~dnalm.motifs.regions` (step 1), :mod:`~dnalm.motifs.enrichment`
(step 2; BH is :func:`dnalm.stats.bh_adjust`), :mod:`~dnalm.motifs.merge` (steps 3-5),
:mod:`~dnalm.motifs.find` (the verb, :func:`find_motifs`), :mod:`~dnalm.motifs.status` (the
``summary.json`` status of a run and the WARNING block of an empty one) and
:mod:`~dnalm.motifs.discover` (the ``motif_discover`` rule's file I/O). Every public name is re-exported here. Parity: against a
plain-loop oracle (``tests/motif_oracle.py``) and against DNABERT's own ``motif_utils.py``
(``tests/test_motif_parity.py``).
"""

from dnalm.motifs.discover import INSTANCE_COLUMNS, discover_motifs
from dnalm.motifs.enrichment import hypergeom_pvalues, presence_counts
from dnalm.motifs.find import Motif, MotifResult, find_motifs
from dnalm.motifs.known import fetch_known_motifs
from dnalm.motifs.merge import merge_candidates, pwm_from_sites, ungapped_align, widen_windows
from dnalm.motifs.regions import (
    CANDIDATE_MODES,
    REGION_RULES,
    RegionRule,
    attention_candidates,
    high_attention_regions,
    max_min_ratio,
    ratio_summary,
)
from dnalm.motifs.status import MOTIF_STATUSES, motif_summary, warning_block

__all__ = [
    "CANDIDATE_MODES",
    "INSTANCE_COLUMNS",
    "MOTIF_STATUSES",
    "Motif",
    "MotifResult",
    "REGION_RULES",
    "RegionRule",
    "attention_candidates",
    "discover_motifs",
    "fetch_known_motifs",
    "find_motifs",
    "high_attention_regions",
    "hypergeom_pvalues",
    "max_min_ratio",
    "merge_candidates",
    "motif_summary",
    "presence_counts",
    "pwm_from_sites",
    "ratio_summary",
    "ungapped_align",
    "warning_block",
    "widen_windows",
]
