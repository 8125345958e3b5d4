"""How well attention picks out planted sites: per-base AUROC against a demo world's truth.

A demo world (:mod:`dnalm.sim`) records every planted site in ``truth/positions.tsv`` (header
``kind name contig start end strand feature``, 0-based half-open genome coordinates). For the
positive test rows of a task, each base is a *site* base when a truth interval of the task's
kind covers it (TF tasks: ``motif``; promoter tasks: ``tata``; splice tasks: ``splice``); the
AUROC of the per-base attention for site against other bases says whether attention points at
the planted biology (0.5: not at all). Rows that hold no site base are left out; the 95% CI
resamples rows (bases of one row are not independent).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from scipy.stats import rankdata

from dnalm.textio import open_text

__all__ = ["TRUTH_COLUMNS", "TRUTH_KINDS", "read_truth", "site_auroc", "site_masks"]

TRUTH_COLUMNS = ("kind", "name", "contig", "start", "end", "strand", "feature")
#: Truth kinds whose bases a task's attention should pick out, by card ``kind``.
TRUTH_KINDS = {"tfbs": ("motif",), "promoter": ("tata",), "splice": ("splice",)}


def read_truth(path: str | Path, kinds: Sequence[str]) -> dict[str, np.ndarray]:
    """Intervals of the given kinds from ``truth/positions.tsv``, by contig.

    Returns
    -------
    dict of str to numpy.ndarray, shape=(n, 2), dtype=int64
        Sorted ``[start, end)`` intervals per contig.

    Raises
    ------
    ValueError
        ``<path>:<line>: ...`` for a wrong header or a malformed row.
    """
    path = Path(path)
    want = set(kinds)
    out: dict[str, list[tuple[int, int]]] = {}
    with open_text(path) as fh:
        header = fh.readline().rstrip("\n").split("\t")
        if tuple(header) != TRUTH_COLUMNS:
            raise ValueError(f"{path}:1: header must be {list(TRUTH_COLUMNS)}, got {header}")
        for line_no, line in enumerate(fh, start=2):
            f = line.rstrip("\n").split("\t")
            if len(f) != len(TRUTH_COLUMNS):
                raise ValueError(
                    f"{path}:{line_no}: {len(f)} columns, expected {len(TRUTH_COLUMNS)}"
                )
            if f[0] not in want:
                continue
            try:
                a, b = int(f[3]), int(f[4])
            except ValueError:
                raise ValueError(f"{path}:{line_no}: start/end must be integers") from None
            if not 0 <= a < b:
                raise ValueError(f"{path}:{line_no}: empty or negative interval {a}-{b}")
            out.setdefault(f[2], []).append((a, b))
    return {c: np.array(sorted(v), dtype=np.int64).reshape(-1, 2) for c, v in out.items()}


def site_masks(
    truth: dict[str, np.ndarray],
    contig: Sequence[str],
    start: Sequence[int],
    end: Sequence[int],
    strand: Sequence[str],
) -> list[np.ndarray]:
    """Per window, which of its bases (in sequence order) a truth interval covers.

    A ``-`` window holds the reverse complement: sequence index ``j`` is genome base
    ``end - 1 - j``.

    Returns
    -------
    list of numpy.ndarray of bool, shape=(end - start,)
    """
    masks = []
    for c, ws, we, st in zip(contig, start, end, strand, strict=True):
        ws, we = int(ws), int(we)
        m = np.zeros(we - ws, dtype=bool)
        iv = truth.get(str(c))
        if iv is not None and iv.size:
            hit = iv[(iv[:, 0] < we) & (iv[:, 1] > ws)]
            for a, b in hit:
                m[max(int(a), ws) - ws : min(int(b), we) - ws] = True
        masks.append(m[::-1].copy() if st == "-" else m)
    return masks


def _auroc(score: np.ndarray, label: np.ndarray) -> float:
    n1 = int(label.sum())
    n0 = label.size - n1
    if n1 == 0 or n0 == 0:
        return float("nan")
    r = rankdata(score)
    return float((r[label].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def site_auroc(
    scores: Sequence[np.ndarray],
    masks: Sequence[np.ndarray],
    n_bootstrap: int = 1000,
    seed: int = 1,
) -> dict[str, Any]:
    """AUROC of per-base attention for site bases against the other bases of the same rows.

    Parameters
    ----------
    scores : sequence of numpy.ndarray, shape=(L_i,)
        Attention of each row's bases.
    masks : sequence of numpy.ndarray of bool, shape=(L_i,)
        Site bases (:func:`site_masks`).
    n_bootstrap : int, optional
        Resamples of rows for the 95% percentile CI. Default is 1000.
    seed : int, optional
        Default is 1.

    Returns
    -------
    dict
        ``auroc``, ``ci_low``, ``ci_high`` (None when undefined), ``n_rows`` (rows with at
        least one site base and one other base), ``n_site_bases``, ``n_other_bases``,
        ``n_bootstrap`` and ``reason`` (None, or why nothing could be measured).
    """
    if len(scores) != len(masks):
        raise ValueError(f"`scores` and `masks` differ in length: {len(scores)} vs {len(masks)}")
    rows = []
    for i, (s, m) in enumerate(zip(scores, masks, strict=True)):
        s = np.asarray(s, dtype=np.float64)
        if s.shape != m.shape:
            raise ValueError(f"row {i}: {s.shape[0]} scores but a mask of {m.shape[0]} bases")
        if m.any() and not m.all():
            rows.append((s, m))
    out: dict[str, Any] = {"auroc": None, "ci_low": None, "ci_high": None,
                           "n_rows": len(rows), "n_bootstrap": int(n_bootstrap),
                           "n_site_bases": int(sum(m.sum() for _, m in rows)),
                           "n_other_bases": int(sum((~m).sum() for _, m in rows)),
                           "reason": None}  # fmt: skip
    if not rows:
        out["reason"] = "no positive test row overlaps a planted site"
        return out
    out["auroc"] = _auroc(
        np.concatenate([s for s, _ in rows]), np.concatenate([m for _, m in rows])
    )
    rng = np.random.default_rng(seed)
    boots = []
    for _ in range(n_bootstrap):
        pick = rng.integers(0, len(rows), size=len(rows))
        a = _auroc(
            np.concatenate([rows[i][0] for i in pick]), np.concatenate([rows[i][1] for i in pick])
        )
        if np.isfinite(a):
            boots.append(a)
    if len(boots) >= 0.9 * n_bootstrap and n_bootstrap > 0:
        out["ci_low"], out["ci_high"] = (float(v) for v in np.quantile(boots, [0.025, 0.975]))
    return out
