"""DNABERT-viz attention: last-layer [CLS] attention mapped onto nucleotides, and its figures.

For each sequence (DNABERT's ``run_finetune.py --do_visualize``):

1. run the classifier with *eager* attention and keep only the last layer's attention
   probabilities, shape (B, heads, T, T), batch by batch (never (N, heads, T, T));
2. token score ``t_i = sum_h A[h, 0, i]`` for the k-mer tokens ``i = 1..L-k+1``; ``[CLS]``
   itself, ``[SEP]`` (zeroed in the original) and padding are left out;
3. nucleotide ``j`` gets the mean of the scores of the k-mers covering it (0-based k-mer
   starts ``i`` with ``i <= j <= i + k - 1``; end bases have fewer);
4. the vector is L2-normalised.

Scores are stored as float32, exactly ``len(seq)`` values per sequence (NaN-padded when
sequences differ in length).

Claims are tested against controls: the landscape is a class contrast (positives minus
negatives) with a label-permutation band and peak p-value (:mod:`~dnalm.attention.contrast`),
and on a demo world the attention of positives is scored against the planted sites (AUROC with
a bootstrap CI, :mod:`~dnalm.attention.truth`).

Modules: :mod:`~dnalm.attention.scores` (the model pass: :func:`attention_scores`,
:func:`token_to_nucleotide`, :func:`head_context`), :mod:`~dnalm.attention.regions`
(high-attention regions as BED, TATA presence, entropy), :mod:`~dnalm.attention.contrast`
(:func:`class_contrast`, :func:`has_room`), :mod:`~dnalm.attention.truth` (:func:`site_auroc`),
:mod:`~dnalm.attention.plots` (figures) and :mod:`~dnalm.attention.outputs` (the
``attention_extract`` rule, :func:`write_attention_outputs`, which takes the TSS index from the
dataset card and writes ``summary.json``). Every public name is re-exported here.
"""

from dnalm.attention.contrast import Contrast, class_contrast, has_room, positions
from dnalm.attention.outputs import TATA_CLAIM, judge_tata_claim, write_attention_outputs
from dnalm.attention.plots import plot_context, plot_heatmaps, plot_landscape
from dnalm.attention.regions import attention_entropy, regions_to_bed, tata_present
from dnalm.attention.scores import (
    AttentionScores,
    attention_scores,
    head_context,
    token_to_nucleotide,
)
from dnalm.attention.truth import TRUTH_KINDS, read_truth, site_auroc, site_masks

__all__ = [
    "TATA_CLAIM",
    "judge_tata_claim",
    "TRUTH_KINDS",
    "AttentionScores",
    "Contrast",
    "attention_entropy",
    "attention_scores",
    "class_contrast",
    "has_room",
    "head_context",
    "plot_context",
    "plot_heatmaps",
    "plot_landscape",
    "positions",
    "read_truth",
    "regions_to_bed",
    "site_auroc",
    "site_masks",
    "tata_present",
    "token_to_nucleotide",
    "write_attention_outputs",
]
