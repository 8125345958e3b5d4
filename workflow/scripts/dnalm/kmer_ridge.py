"""A k-mer ridge baseline for expression regression: k-mer frequencies + numeric features.

``fit_kmer_ridge(splits, outputs, k, seed)`` standardises every column on the training split,
picks the ridge penalty with the best dev Pearson r over :data:`ALPHAS`, refits on train and
scores the test split (:func:`dnalm.metrics.regression_metrics`). Outputs, in the fine-tuning
layout (``results/finetune/{task}/kmer_ridge/seed{seed}/``): ``metrics.json`` and
``predictions.tsv.gz`` (``source_id split value prediction``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.linear_model import Ridge

from dnalm import atomic
from dnalm.expression import Row, read_regression_split
from dnalm.metrics import regression_metrics

__all__ = ["ALPHAS", "kmer_frequencies", "fit_kmer_ridge"]

log = logging.getLogger(__name__)

#: Ridge penalties tried on the dev split.
ALPHAS = tuple(float(a) for a in np.logspace(-1, 5, 13))
_LUT = np.full(256, 4, dtype=np.int64)
for _i, _b in enumerate("ACGT"):
    _LUT[ord(_b)] = _i


def kmer_frequencies(seqs: Sequence[str], k: int = 4, chunk: int = 512) -> np.ndarray:
    """k-mer frequencies of each sequence (k-mers with N skipped), shape=(n, 4**k) float32.

    k-mers are indexed in ``itertools.product("ACGT", repeat=k)`` order.
    """
    if not 1 <= k <= 8:
        raise ValueError(f"`k` must be in 1..8, got {k}")
    n_kmers = 4**k
    out = np.zeros((len(seqs), n_kmers), dtype=np.float32)
    for start in range(0, len(seqs), chunk):
        part = seqs[start : start + chunk]
        for j, s in enumerate(part):
            codes = _LUT[np.frombuffer(s.encode(), dtype=np.uint8)]
            if len(codes) < k:
                continue
            win = np.lib.stride_tricks.sliding_window_view(codes, k)
            ok = (win < 4).all(1)
            idx = (win[ok] * (4 ** np.arange(k - 1, -1, -1))).sum(1)
            counts = np.bincount(idx, minlength=n_kmers).astype(np.float32)
            out[start + j] = counts / max(float(counts.sum()), 1.0)
    return out


def _design(rows: Sequence[Row], k: int) -> np.ndarray:
    kmer = kmer_frequencies([r.sequence for r in rows], k)
    feats = np.array([r.features for r in rows], dtype=np.float32).reshape(len(rows), -1)
    return np.hstack([kmer, feats])


def fit_kmer_ridge(
    splits: Mapping[str, str | Path],
    outputs: Mapping[str, str | Path],
    k: int = 4,
    seed: int = 1,
    alphas: Sequence[float] = ALPHAS,
    n_boot: int = 1000,
) -> dict[str, Any]:
    """Fit the baseline on a built expression task and write its metrics and predictions.

    Parameters
    ----------
    splits : mapping
        ``train``, ``dev``, ``test``: regression split TSVs (:mod:`dnalm.expression`).
    outputs : mapping
        ``metrics`` (JSON) and ``predictions`` (gzip TSV) paths.
    k : int, optional
        k-mer size. Default is 4.
    seed : int, optional
        Seed of the bootstrap CIs (the fit itself is deterministic). Default is 1.
    alphas : sequence of float, optional
        Ridge penalties tried on dev. Default is :data:`ALPHAS`.
    n_boot : int, optional
        Bootstrap resamples. Default is 1000.

    Returns
    -------
    metrics : dict
    """
    t0 = time.perf_counter()
    data = {s: read_regression_split(splits[s]) for s in ("train", "dev", "test")}
    feats = data["train"][1]
    for s in ("dev", "test"):
        if data[s][1] != feats:
            raise ValueError(f"{splits[s]}:1: features {data[s][1]} differ from train's {feats}")
    rows = {s: d[0] for s, d in data.items()}
    if min(len(v) for v in rows.values()) < 3:
        raise ValueError(f"every split needs >= 3 rows, got { {s: len(v) for s, v in rows.items()} }")
    X = {s: _design(v, k) for s, v in rows.items()}
    y = {s: np.array([r.value for r in v]) for s, v in rows.items()}
    mu, sd = X["train"].mean(0), X["train"].std(0)
    sd[sd == 0] = 1.0
    Z = {s: (x - mu) / sd for s, x in X.items()}
    best = None
    for a in alphas:
        m = Ridge(alpha=float(a)).fit(Z["train"], y["train"])
        pd_ = m.predict(Z["dev"])
        r = float(np.corrcoef(y["dev"], pd_)[0, 1]) if np.std(pd_) > 0 else -np.inf
        if best is None or r > best[0]:
            best = (r, float(a), m)
    _, alpha, model = best
    pred = {s: model.predict(Z[s]) for s in ("dev", "test")}
    test = regression_metrics(y["test"], pred["test"], n_boot=n_boot, random_state=seed)
    dev = regression_metrics(y["dev"], pred["dev"], n_boot=n_boot, random_state=seed)
    metrics = {
        "model": "kmer_ridge",
        "task_type": "regression",
        "k": k,
        "alpha": alpha,
        "features": feats,
        "n_train": len(rows["train"]),
        **{key: test[key] for key in ("n", "pearson_r", "r2", "r2_score", "mse")},
        "ci": test["ci"],
        "dev": {key: dev[key] for key in ("n", "pearson_r", "r2", "r2_score", "mse")},
        "seed": seed,
        "fit_seconds": round(time.perf_counter() - t0, 3),
    }
    with atomic.open_gzip(outputs["predictions"]) as gz:
        gz.write(b"source_id\tsplit\tvalue\tprediction\n")
        for s in ("dev", "test"):
            for r, p in zip(rows[s], pred[s], strict=True):
                gz.write(f"{r.source_id}\t{s}\t{r.value:.9g}\t{p:.9g}\n".encode())
    atomic.write_json(outputs["metrics"], metrics)
    log.info("kmer_ridge: test pearson r %.3f, r2 %.3f (alpha %g)", metrics["pearson_r"], metrics["r2"], alpha)
    return metrics
