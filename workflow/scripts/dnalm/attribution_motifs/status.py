"""Why TF-MoDISco found nothing: the ``summary.json`` status of one attribution-motif run.

Mirrors :mod:`dnalm.motifs.status` (the attention motifs' statuses and their framed WARNING
block, :func:`dnalm.motifs.warning_block`): an empty pattern table is a result only with the
numbers that explain it: how large the attributions are, how many seqlets passed modisco's
FDR threshold, and how good the model was (test MCC).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

__all__ = ["ATTRIBUTION_MOTIF_STATUSES", "attribution_magnitude", "attribution_summary"]

#: ``summary.json`` statuses, in the order they are checked; all but ``ok`` mean "nothing found".
ATTRIBUTION_MOTIF_STATUSES = ("no_positives", "no_seqlets", "no_patterns", "no_known_match", "ok")


def _r(x: float | None) -> float | None:
    return None if x is None or not math.isfinite(float(x)) else float(f"{float(x):.6g}")


def attribution_magnitude(attr: np.ndarray) -> dict[str, Any]:
    """Size of the per-base attributions ``|attr|`` of the rows modisco read.

    Parameters
    ----------
    attr : numpy.ndarray, shape=(n, L)

    Returns
    -------
    dict
        ``n_rows``, ``mean``, ``median``, ``q95``, ``max`` of ``|attr|`` over all bases, and
        ``peak_to_median``: the median over rows of (row max / row median of ``|attr|``), a
        flat map's ratio being near 1 to 3 (None for an empty input).
    """
    a = np.abs(np.asarray(attr, dtype=np.float64))
    if a.size == 0:
        return {"n_rows": 0, "mean": None, "median": None, "q95": None, "max": None,
                "peak_to_median": None}  # fmt: skip
    med = np.median(a, axis=1)
    ratio = a.max(axis=1) / np.where(med > 0, med, np.nan)
    ratio = ratio[np.isfinite(ratio)]
    return {
        "n_rows": int(a.shape[0]),
        "mean": _r(a.mean()),
        "median": _r(np.median(a)),
        "q95": _r(np.quantile(a, 0.95)),
        "max": _r(a.max()),
        "peak_to_median": _r(np.median(ratio)) if ratio.size else None,
    }


def attribution_summary(
    *,
    n_rows: int,
    n_positives: int,
    n_used: int,
    n_pos_seqlets: int,
    n_neg_seqlets: int,
    threshold: float,
    patterns: Mapping[str, int],
    n_matched: int | None,
    magnitude: Mapping[str, Any],
    model: Mapping[str, Any],
    settings: Mapping[str, Any],
) -> dict[str, Any]:
    """The ``summary.json`` of one TF-MoDISco run.

    Parameters
    ----------
    n_rows, n_positives, n_used : int
        Rows of the attribution file, its positives, and the positives modisco read
        (``modisco.max_seqs`` subsample).
    n_pos_seqlets, n_neg_seqlets : int
        Seqlets above / below modisco's threshold ``threshold``.
    patterns : dict of str to int
        Pattern name -> seqlets.
    n_matched : int or None
        Patterns with a known-motif match at q < 0.05; None without known motifs.
    magnitude : dict
        :func:`attribution_magnitude` of the rows read.
    model : dict
        ``test_mcc`` (and any other model numbers) of the attributed model.
    settings : dict
        The modisco settings, copied in.

    Returns
    -------
    dict
        ``status`` (one of :data:`ATTRIBUTION_MOTIF_STATUSES`), ``nothing_found`` (status is not
        ``ok``), ``reason`` (a sentence with the numbers), ``n_rows``, ``n_positives``,
        ``n_used``, ``seqlets`` {``n_positive``, ``n_negative``, ``threshold``,
        ``min_metacluster_size``}, ``n_patterns``, ``n_seqlets_in_patterns``, ``n_matched``,
        ``attribution`` (magnitude), ``model`` and ``settings``.
    """
    min_mc = int(settings.get("min_metacluster_size", 100))
    n_pat = len(patterns)
    n_in = int(sum(patterns.values()))
    mcc = model.get("test_mcc")
    mcc_txt = f"model test MCC {mcc:.3g}" if isinstance(mcc, int | float) else "model test MCC unknown"
    mag = (f"|attr| median {magnitude.get('median')}, 95% {magnitude.get('q95')}, max "
           f"{magnitude.get('max')}, per-row peak/median {magnitude.get('peak_to_median')}")  # fmt: skip
    if n_used == 0:
        status = "no_positives"
        reason = f"no positive row among {n_rows} attributed rows ({mcc_txt})"
    elif max(n_pos_seqlets, n_neg_seqlets) <= min_mc:
        status = "no_seqlets"
        reason = (
            f"{n_pos_seqlets} positive and {n_neg_seqlets} negative seqlets in {n_used} positive "
            f"rows, neither above min_metacluster_size {min_mc}, so nothing was clustered "
            f"({mag}; {mcc_txt})"
        )
    elif n_pat == 0:
        status = "no_patterns"
        reason = (
            f"{n_pos_seqlets} positive and {n_neg_seqlets} negative seqlets in {n_used} positive "
            f"rows, but no cluster passed modisco's size and information filters ({mag}; {mcc_txt})"
        )
    elif n_matched == 0:
        status = "no_known_match"
        reason = (f"{n_pat} patterns ({n_in} seqlets), none matches a known motif at q < 0.05 "
                  f"({mag}; {mcc_txt})")  # fmt: skip
    else:
        status = "ok"
        reason = f"{n_pat} patterns ({n_in} seqlets)" + (
            f", {n_matched} with a known-motif match at q < 0.05"
            if n_matched is not None
            else " (no known motifs configured: not matched)"
        )
    return {
        "status": status,
        "nothing_found": status != "ok",
        "reason": reason,
        "n_rows": int(n_rows),
        "n_positives": int(n_positives),
        "n_used": int(n_used),
        "seqlets": {"n_positive": int(n_pos_seqlets), "n_negative": int(n_neg_seqlets),
                    "threshold": _r(threshold), "min_metacluster_size": min_mc},  # fmt: skip
        "n_patterns": n_pat,
        "n_seqlets_in_patterns": n_in,
        "patterns": dict(patterns),
        "n_matched": n_matched,
        "attribution": dict(magnitude),
        "model": dict(model),
        "settings": dict(settings),
    }
