"""Match motifs against a known-motif database with TOMTOM (memelite; offline, no web service)."""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from dnalm.meme import read_meme
from dnalm.motif_formats import read_motifs
from dnalm.stats import bh_adjust

__all__ = ["COLUMNS", "match_motifs"]

log = logging.getLogger("dnalm.tomtom")

COLUMNS = ["query", "target", "offset", "overlap", "strand", "p", "E", "q"]


def match_motifs(
    query_meme: str | Path,
    target_meme: str | Path,
    reverse_complement: bool = True,
    n_jobs: int = 1,
) -> pd.DataFrame:
    """Compare every query motif with every target motif (TOMTOM, complete score).

    Parameters
    ----------
    query_meme : str or pathlib.Path
        A MEME file (read with :func:`dnalm.meme.read_meme`).
    target_meme : str or pathlib.Path
        The known motifs: MEME, JASPAR or TRANSFAC (:func:`dnalm.motif_formats.read_motifs`).
    reverse_complement : bool, optional
        Also compare with the reverse complement of each target. Default is True.
    n_jobs : int, optional
        numba threads. Default is 1.

    Returns
    -------
    pandas.DataFrame
        One row per (query, target) pair with columns ``query, target, offset, overlap,
        strand, p, E, q``, sorted by query file order, then p. ``offset``/``overlap`` are
        memelite's best-alignment offset and overlap, ``strand`` is ``+`` or ``-`` (the
        target's orientation). ``E = p * n_targets`` (times 2 with ``reverse_complement``:
        both strands are searched, as the MEME-suite anchors count them) and ``q`` is the
        Benjamini-Hochberg adjustment of each query's p-values over all targets. Empty (with
        these columns) when either file holds no motif.
    """
    from memelite import tomtom

    queries = read_meme(query_meme)
    targets = read_motifs(target_meme)
    if not queries or not targets:
        if not targets:
            log.warning("%s holds no motifs: no TOMTOM matches", target_meme)
        return pd.DataFrame({c: pd.Series(dtype=_DTYPES[c]) for c in COLUMNS})
    qn, tn = list(queries), list(targets)
    qs = [np.ascontiguousarray(queries[n].T) for n in qn]
    ts = [np.ascontiguousarray(targets[n].T) for n in tn]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        p, _scores, offsets, overlaps, strands = tomtom(
            qs, ts, reverse_complement=reverse_complement, n_jobs=n_jobs
        )
    for w in caught:
        log.warning("memelite: %s", w.message)
    p = np.clip(np.asarray(p, dtype=np.float64), 0.0, 1.0)
    n_eff = len(tn) * (2 if reverse_complement else 1)
    rows = []
    for i, q in enumerate(qn):
        qv = bh_adjust(p[i])
        for j, t in enumerate(tn):
            rows.append(
                (
                    q,
                    t,
                    int(offsets[i, j]),
                    int(overlaps[i, j]),
                    "-" if int(strands[i, j]) == 1 else "+",
                    float(p[i, j]),
                    float(min(p[i, j] * n_eff, float(n_eff))),
                    float(qv[j]),
                )
            )
    df = pd.DataFrame(rows, columns=COLUMNS)
    df["_q"] = df["query"].map({q: i for i, q in enumerate(qn)})
    df = df.sort_values(["_q", "p", "target"], kind="mergesort").drop(columns="_q")
    return df.reset_index(drop=True)


_DTYPES = {
    "query": object,
    "target": object,
    "offset": "int64",
    "overlap": "int64",
    "strand": object,
    "p": "float64",
    "E": "float64",
    "q": "float64",
}
