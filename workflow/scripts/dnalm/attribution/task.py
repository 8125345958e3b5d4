"""Attribution maps of a task's test positives (rule attribution_maps): npz + summary JSON per method."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from dnalm import atomic
from dnalm.attribution.ig import integrated_gradients
from dnalm.attribution.load import load_for_attribution
from dnalm.attribution.npz import write_attribution
from dnalm.attribution.saturation import ism
from dnalm.dataset import read_split

__all__ = ["METHODS", "attribute_task", "pick_positives"]

log = logging.getLogger("dnalm.attribution")

METHODS = ("ism", "ig")


def pick_positives(df: pd.DataFrame, max_sequences: int | None, seed: int,
                   positive_class: int = 1) -> np.ndarray:
    """Row indices of the positives, at most ``max_sequences`` of them (seeded, sorted)."""
    rows = np.flatnonzero(df["label"].to_numpy(np.int64) == positive_class)
    if max_sequences is not None and rows.size > max_sequences:
        rng = np.random.default_rng(seed)
        rows = np.sort(rng.choice(rows, size=max_sequences, replace=False))
    return rows


def _coords(df: pd.DataFrame) -> dict | None:
    if "start" not in df.columns or "contig" not in df.columns:
        return None
    ok = (df["start"].astype(str).str.fullmatch(r"\d+") & (df["contig"] != ".")).to_numpy()
    if not ok.any():
        return None
    start = np.where(ok, pd.to_numeric(df["start"].where(ok, "-1")), -1).astype(np.int64)
    strand = df["strand"].astype(str) if "strand" in df.columns else pd.Series(["+"] * len(df))
    return {"chrom": np.where(ok, df["contig"].astype(str), "."), "start": start,
            "strand": np.where(ok, strand.to_numpy(), ".")}


def attribute_task(
    model_dir: str | Path,
    test: str | Path,
    out_dir: str | Path,
    methods: Sequence[str] = METHODS,
    card: str | Path | None = None,
    max_sequences: int | None = 200,
    batch_size: int = 256,
    ig_steps: int = 32,
    n_shuffles: int = 3,
    seed: int = 1,
    positive_class: int = 1,
    device: str | None = None,
    verbose: bool = False,
) -> dict[str, dict]:
    """Attribution maps of a task's test positives, one file pair per method.

    The model is loaded and the positives are drawn once for all methods.

    Parameters
    ----------
    model_dir : str or pathlib.Path
        Fine-tuned model directory (BERT, one-hot baseline or GPT classifier).
    test : str or pathlib.Path
        The task's ``test.tsv.gz``.
    out_dir : str or pathlib.Path
        Receives ``{method}.npz`` (the contract of :mod:`dnalm.attribution.npz`) and
        ``{method}.json`` (summary) per method.
    methods : sequence of {"ism", "ig"}, optional
        Default is both.
    card : str or pathlib.Path, optional
        The task's dataset card; default the model directory's ``card.json``.
    max_sequences : int, optional
        Positives kept (seeded subsample, ``seed``). Default is 200; None keeps all.
    batch_size : int, optional
        Rows per forward pass. Default is 256.
    ig_steps, n_shuffles : int, optional
        Integrated gradients: path points and shuffled references. Defaults are 32 and 3.
    seed : int, optional
        Seed of the subsample and the shuffles. Default is 1.
    positive_class : int, optional
        Default is 1.
    device : str, optional
        Default is cuda if available, else cpu.
    verbose : bool, optional
        Default is False.

    Returns
    -------
    dict
        ``{method: summary}``, each as written to ``{method}.json``.
    """
    methods = list(methods)
    bad = [m for m in methods if m not in METHODS]
    if bad or not methods:
        raise ValueError(f"`methods` must be a non-empty list of {METHODS}, got {methods!r}")
    loaded = load_for_attribution(model_dir, card)
    df = read_split(test)
    rows = pick_positives(df, max_sequences, seed, positive_class)
    if rows.size == 0:
        raise ValueError(f"{test}: no rows with label {positive_class} to attribute")
    seqs = df["sequence"].iloc[rows].tolist()
    lengths = {len(s) for s in seqs}
    if len(lengths) != 1:
        raise ValueError(f"{test}: positives have lengths {sorted(lengths)[:5]}; attribution maps "
                         "need one window length per task")
    n_pos = int((df["label"] == positive_class).sum())
    coords = _coords(df.iloc[rows].reset_index(drop=True))
    ids = [f"test:{r}" for r in rows]
    out = {}
    for method in methods:
        log.info("%s of %d/%d test positives (%d bp) with a %s model", method, rows.size, n_pos,
                 len(seqs[0]), loaded.kind)
        t0 = time.perf_counter()
        if method == "ism":
            res = ism(loaded.model, seqs, loaded.k, batch_size=batch_size, device=device,
                      positive_class=positive_class, verbose=verbose)
        else:
            res = integrated_gradients(loaded.model, seqs, loaded.k, steps=ig_steps,
                                       n_shuffles=n_shuffles, seed=seed, batch_size=batch_size,
                                       device=device, positive_class=positive_class,
                                       verbose=verbose)
        runtime = time.perf_counter() - t0
        write_attribution(Path(out_dir) / f"{method}.npz", ids, df["label"].to_numpy()[rows], res,
                          **(coords or {}))
        out[method] = _summary(method, res, loaded, rows.size, n_pos, max_sequences, seed,
                               positive_class, runtime, coords is not None, ig_steps, n_shuffles)
        atomic.write_json(Path(out_dir) / f"{method}.json", out[method])
    return out


def _summary(method, res, loaded, n, n_pos, max_sequences, seed, positive_class, runtime,
             has_coords, ig_steps, n_shuffles) -> dict:
    n, L = res.attr.shape
    summary = {
        "method": method, "model_kind": loaded.kind, "k": loaded.k, "task": loaded.card.task,
        "n_sequences": int(n), "length": int(L), "n_positives": n_pos,
        "positive_class": positive_class, "max_sequences": max_sequences, "seed": seed,
        "runtime_s": round(runtime, 3), "bases_per_s": round(n * L / runtime, 1) if runtime > 0 else None,
        "mean_prob": float(np.mean(res.prob)), "has_coordinates": has_coords,
        "mean_abs_attr": float(np.mean(np.abs(res.attr))),
    }
    if method == "ig":
        gap = res.score - res.ref_score
        err = np.abs(res.attr.sum(1) - gap)
        summary.update(ig_steps=ig_steps, n_shuffles=n_shuffles,
                       completeness_median_abs_error=float(np.median(err)),
                       completeness_median_abs_gap=float(np.median(np.abs(gap))))
        log.info("IG completeness: median |sum attr - (f(x) - f(ref))| = %.4g (median |gap| %.4g)",
                 summary["completeness_median_abs_error"], summary["completeness_median_abs_gap"])
    if float(np.max(np.abs(res.attr))) == 0.0:
        log.warning("%s: every attribution is 0: the model's output does not depend on its input",
                    method)
    log.info("%s: %d x %d bp in %.1f s (%.0f bases/s)", method, n, L, runtime,
             summary["bases_per_s"] or 0)
    return summary
