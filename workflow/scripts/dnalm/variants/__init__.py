"""Functional variants: select dbSNP/ClinVar alleles in a task's regions and score them.

What is computed (one ``score_variants`` call per task and model):

1. **Selection.** dbSNP alleles inside the task's high-attention regions (``regions.bed``)
   and ClinVar alleles inside the task's positive windows (dataset rows with the positive
   label and genome coordinates), each flagged ``in_attention``. VCFs are read one tabix
   region at a time (memory grows with the selection, never with the VCF). Multi-allelic
   records are split and trimmed to minimal REF/ALT; only SNVs are scored; indels and
   symbolic/non-ACGT alleles are skipped and counted. REF is checked against the genome
   (upper-cased); mismatches are counted, logged, listed in the summary and never scored.
2. **Windows** (``context``). DNABERT's ``SNP/mutate_seqs.py`` mutates the task's own
   sequences, so by default (``context="region"``) each variant (and each null SNV) is
   scored inside a positive dataset window of the task that contains it: of the containing
   windows (all ``L`` bp, looked up per contig with ``numpy.searchsorted`` on the sorted
   starts), the one whose centre is nearest the variant (ties: lowest start, then strand
   and ``source_id``). The window is that genome interval, reverse-complemented for ``-``
   rows like the dataset; the variant sits at ``pos0 - start`` of the forward window
   (``L - 1 - (pos0 - start)`` after reverse complement); ``offset`` in ``scores.tsv.gz``
   is its position in the classifier input, ``window`` the genome interval
   (``contig:start-end:strand``) and ``window_id`` the row's ``source_id``. A variant in no
   positive window (dbSNP alleles at the edge of an attention region) falls back to the
   centred window and is counted (``counts.<source>.centred_fallback``, ``window_id``
   ``centred``). With ``context="centred"`` every window is centred: the variant at offset
   ``L // 2`` (50 for 101 bp), on the strand of the selecting interval. Past a chromosome
   end a window is padded with ``N`` (its k-mers become ``[UNK]``). Why region is the
   default: a centred window around a variant 12+ bp from a motif is often predicted
   negative, and the noisy mid-range probabilities of such windows give large ``|logOR|``
   to benign variants; inside the positive window the classifier actually saw, the score
   measures the variant's effect on a confident prediction.
3. **Classifier scores** (DNABERT ``SNP.py``) of the scoring classifier (``variants.classifier``,
   any fine-tuned model of the task; default ``variants.model``, whose attention regions and masked
   LM are used either way; the demo uses the CNN, because the tiny BERT barely reacts to a broken
   motif: see docs/ARCHITECTURE.md "Variants"), with ``p`` the positive-class probability
   clipped to ``[eps, 1 - eps]``: ``diff = (p_alt - p_ref) * max(p_ref, p_alt)`` and
   ``logOR = log2(p_ref / (1 - p_ref)) - log2(p_alt / (1 - p_alt))`` (positive when the
   alt lowers the prediction).
4. **Zero-shot score** from the pretrained masked LM (GPN-style LLR). With overlapping
   k-mers the site at offset ``c`` is covered by the ``k`` tokens starting at
   ``c-k+1 .. c``; all ``k`` are replaced by ``[MASK]`` (so base ``c`` is hidden, while its
   neighbours stay visible through the adjacent tokens). For each masked token the model's
   logit of the alt k-mer minus the logit of the ref k-mer is taken (= log p(alt k-mer) -
   log p(ref k-mer): the softmax normaliser cancels); tokens whose k-mer holds an ``N`` are
   ignored. ``zero_shot`` is the mean over those tokens, averaged over the forward and the
   reverse-complement window (site at ``L-1-c``, complemented alleles). Negative = alt
   less likely than ref; damaging alleles are expected to be negative, so the summary's
   ``zero_shot_auroc`` ranks pathogenic vs benign by ``-zero_shot`` (> 0.5 = expected
   direction; checked with a toy LM whose preferences are set by hand). The LLR is context-free, so it always uses the variant-centred
   forward window (``c = L // 2``) whatever ``context`` is.
5. **Ranking score** ``score = |logOR|`` (strength of the effect in either direction; unlike
   ``diff`` it does not shrink when the classifier saturates near 0 or 1).
6. **Significance** (:mod:`~dnalm.variants.pvalues`). ``null_size`` random SNVs (uniform
   position in a random positive window, uniform alt among the other three bases, seeded) are
   scored the same way. ``pvalue_null: neutral`` (default) tests "no effect beyond neutral
   mutations": about 7 % of random SNVs in bound windows hit a motif core, so the neutral
   reference is the gain side of the null (``median - logOR`` for null SNVs below the median,
   reflected) and the statistic ``|logOR - median|``; ``random_snv`` tests "no more damaging
   than a random SNV" (DeepSEA's e-value; cannot make motif-core variants significant).
   ``pvalue = (1 + #{ref >= t}) / (n_ref + 1)`` while 10 or more reference values reach ``t``,
   past that a generalised Pareto tail (Knijnenburg et al. 2009; shape at its one-standard-error
   upper bound, so conservative), so p is not floored at ``1 / (n_ref + 1)``; ``qvalue`` =
   Benjamini-Hochberg over all scored variants. The scored null SNVs, each with its own p-value,
   are written to ``null.tsv.gz`` (:data:`NULL_COLUMNS`) for calibration checks: on the demo the
   null SNVs outside planted motifs get p < 0.05 at a rate of 0.012-0.016 (conservative).
7. **ClinVar** (:mod:`~dnalm.variants.evaluate`). Joined on (contig, pos, ref, alt) after
   renaming and trimming. Classes from :func:`dnalm.clinvar.clinsig_class`. Summary: Fisher
   exact test (one-sided, ``scipy``) of (likely) pathogenic vs (likely) benign among
   high-scoring (``pvalue <= high_p``) vs other ClinVar variants; AUROC of pathogenic (1) vs
   benign (0) by ``score``, ``|diff|`` and ``-zero_shot``, each with n per class and a
   stratified bootstrap 95 % CI; BH-significant counts per class, over all variants (the
   ``qvalue`` column) and over the ClinVar variants alone (a pre-specified family).
8. **Scatter.** :func:`score_variant_shard` does steps 1-4 for the contigs of one shard
   (:func:`shard_contigs`: ``.fai`` contigs dealt round-robin by decreasing length) and
   reads only their tabix regions; :func:`summarise_variants` gathers the shards and does
   steps 5-7 (the null is scored once, there). Scores do not depend on the number of
   shards; :func:`score_variants` runs both steps in one process.

Inputs follow the dataset contract (:mod:`dnalm.dataset`): positive windows come from the split
TSVs (``read_split``), the window length ``L`` from the task's ``card.json`` (``read_card``).

Modules, split by verb: :mod:`~dnalm.variants.select` (alleles, positive windows, scoring
windows), :mod:`~dnalm.variants.effects` (classifier delta, zero-shot LLR),
:mod:`~dnalm.variants.shard` (scatter step, shard tables), :mod:`~dnalm.variants.gather`
(null, BH via :func:`dnalm.stats.bh_adjust`, the one-process :func:`score_variants`),
:mod:`~dnalm.variants.pvalues` (p-values against the null), :mod:`~dnalm.variants.evaluate`
(ClinVar statistics, zero-shot orientation) and :mod:`~dnalm.variants.plots` (figures). Every public name is
re-exported here.
"""

from dnalm.variants.effects import classifier_delta, delta_scores, zero_shot_llr
from dnalm.variants.evaluate import auroc_ci, clinvar_statistics, significance_by_class
from dnalm.variants.gather import NULL_COLUMNS, RANKING_SCORE, score_variants, summarise_variants
from dnalm.variants.plots import plot_scores, plot_top
from dnalm.variants.pvalues import NULL_MODELS, empirical_pvalues, variant_pvalues
from dnalm.variants.select import (
    CONTEXTS,
    Interval,
    Windows,
    card_window_length,
    check_ref_agreement,
    genome_window,
    read_bed,
    read_positive_windows,
    scoring_windows,
    select_alleles,
    window_sequence,
)
from dnalm.variants.shard import (
    CLINVAR_COLUMNS,
    SCORE_COLUMNS,
    SHARD_COLUMNS,
    read_shard_table,
    score_variant_shard,
    shard_contigs,
)

__all__ = [
    "CLINVAR_COLUMNS",
    "CONTEXTS",
    "NULL_COLUMNS",
    "NULL_MODELS",
    "RANKING_SCORE",
    "SCORE_COLUMNS",
    "SHARD_COLUMNS",
    "Interval",
    "Windows",
    "auroc_ci",
    "card_window_length",
    "classifier_delta",
    "clinvar_statistics",
    "delta_scores",
    "empirical_pvalues",
    "genome_window",
    "plot_scores",
    "plot_top",
    "check_ref_agreement",
    "read_bed",
    "read_positive_windows",
    "read_shard_table",
    "score_variant_shard",
    "score_variants",
    "scoring_windows",
    "select_alleles",
    "shard_contigs",
    "significance_by_class",
    "summarise_variants",
    "variant_pvalues",
    "window_sequence",
    "zero_shot_llr",
]
