"""Why an interpretation stage found nothing: ``summary.json`` of motif discovery and a loud log.

An empty motif table is a result only when it says why. :func:`motif_summary` classifies a run
(``status``) and keeps the numbers that explain it: the per-sequence attention max/min ratio
against the region rule, the number of regions and candidates, the best raw and adjusted
p-values; :func:`warning_block` writes the explanation as a multi-line WARNING.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from dnalm.motifs.find import MotifResult
from dnalm.motifs.regions import max_min_ratio, ratio_summary

__all__ = ["MOTIF_STATUSES", "motif_summary", "warning_block"]

#: ``summary.json`` statuses of motif discovery, in the order they are checked.
MOTIF_STATUSES = (
    "no_regions",
    "no_significant_candidates",
    "too_few_windows",
    "no_known_match",
    "ok",
)

_BAR = "=" * 78


def warning_block(log: logging.Logger, title: str, lines: Iterable[str]) -> str:
    """Log one WARNING record framed by bars, so an empty result cannot pass unnoticed.

    Returns
    -------
    str
        The text logged.
    """
    text = "\n".join([_BAR, f"!! {title}", *(f"!!   {ln}" for ln in lines), _BAR])
    log.warning("\n%s", text)
    return text


def _finite(x: float) -> float | None:
    return float(x) if x is not None and math.isfinite(float(x)) else None


def motif_summary(
    result: MotifResult,
    seqs: Sequence[str],
    scores: np.ndarray,
    positive: np.ndarray,
    n_matched: int | None,
    settings: Mapping[str, Any],
) -> dict[str, Any]:
    """The ``summary.json`` of one motif-discovery run.

    Parameters
    ----------
    result : MotifResult
    seqs : sequence of str, length N
    scores : numpy.ndarray, shape=(N, L_max)
    positive : numpy.ndarray of bool, shape=(N,)
    n_matched : int or None
        Motifs with a known-motif match at q < 0.05; None when no known motifs were given.
    settings : dict
        The discovery settings (``min_len``, ``pval_cutoff``, ``min_n_motif``, the rule, ...),
        copied into the summary.

    Returns
    -------
    dict
        ``status`` (one of :data:`MOTIF_STATUSES`), ``reason`` (a sentence with the numbers),
        ``n_seqs``, ``n_positives``, ``n_regions``, ``n_candidates``, ``n_significant``,
        ``n_motifs``, ``n_sites``, ``n_matched``, ``best_pvalue``, ``best_padj``,
        ``attention_ratio`` (:func:`dnalm.motifs.ratio_summary` over the positives), ``rule``
        and ``settings``.
    """
    pos = np.flatnonzero(np.asarray(positive, dtype=bool))
    rule = result.rule
    ratios = max_min_ratio(scores[pos], [len(seqs[i]) for i in pos])
    ratio = ratio_summary(ratios, rule.min_ratio)
    n_cand = len(result.candidates)
    best_p = _finite(result.pvalue.min()) if n_cand else None
    best_q = _finite(result.padj.min()) if n_cand else None
    cutoff = settings.get("pval_cutoff")
    if result.n_regions == 0:
        status = "no_regions"
        if rule.rule == "dnabert":
            reason = (
                f"no high-attention region in {len(pos)} positive sequences ({rule.describe()}, "
                f"min_len {settings.get('min_len')}): median per-sequence max/min attention ratio "
                f"{ratio['median']}, {ratio['n_above_min_ratio']} of {ratio['n']} sequences above "
                f"min_ratio {rule.min_ratio:g}; a flat-attention model needs "
                "motifs.region_rule: quantile"
            )
        else:
            reason = (
                f"no high-attention region in {len(pos)} positive sequences ({rule.describe()}, "
                f"min_len {settings.get('min_len')}): attention is constant or runs are shorter "
                "than min_len"
            )
    elif result.n_significant == 0:
        status = "no_significant_candidates"
        reason = (
            f"{n_cand} candidates from {result.n_regions} regions, none with adjusted p < "
            f"{cutoff} (best raw p {best_p}, best adjusted p {best_q})"
        )
    elif not result.motifs:
        status = "too_few_windows"
        reason = (
            f"{result.n_significant} significant candidates, but no merged motif kept >= "
            f"{settings.get('min_n_motif')} windows of {settings.get('window')} bp inside its "
            "sequence"
        )
    elif n_matched == 0:
        status = "no_known_match"
        reason = f"{len(result.motifs)} motifs, none matches a known motif at q < 0.05"
    else:
        status = "ok"
        reason = f"{len(result.motifs)} motifs" + (
            f", {n_matched} with a known-motif match at q < 0.05"
            if n_matched is not None
            else " (no known motifs configured: not matched)"
        )
    return {
        "status": status,
        "reason": reason,
        "n_seqs": int(result.n_seqs),
        "n_positives": int(result.n_positives),
        "n_regions": int(result.n_regions),
        "n_candidates": n_cand,
        "n_significant": int(result.n_significant),
        "n_motifs": len(result.motifs),
        "n_sites": int(sum(m.n_sites for m in result.motifs)),
        "n_matched": n_matched,
        "best_pvalue": best_p,
        "best_padj": best_q,
        "attention_ratio": ratio,
        "rule": rule.describe(),
        "settings": dict(settings),
    }
