"""Summarise a TF ChIP-seq collection across its experiments (the paper's Fig. 3 analogue).

Reads every ``metrics.json`` of the collection's tasks (``<collection>__<id>`` x model x seed)
and writes, under ``results/summary/collections/``:

- ``<name>.tsv``: one row per experiment x model, test MCC and AUROC averaged over seeds, with the
  experiment's cell, antibody and lab from ``manifest.tsv``;
- ``<name>_wilcoxon.tsv``: every pair of models (pretrained vs ``-scratch``, against the
  baselines, ...) compared over the experiments both were run on, per metric: n, median and mean
  paired difference, wins / losses / ties, the Wilcoxon signed-rank statistic and two-sided p
  (``scipy.stats.wilcoxon``, zero differences dropped), BH-adjusted over all rows;
- ``<name>.png`` + ``.svg``: the per-model distribution of MCC and AUROC over the experiments.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats as sps

from dnalm import atomic
from dnalm.stats import bh_adjust
from dnalm.summary import read_results
from dnalm.tf_collections import read_manifest, split_task

__all__ = ["SUMMARY_METRICS", "paired_wilcoxon", "summarize_collection"]

SUMMARY_METRICS = ("mcc", "auroc")
_WILCOXON_COLUMNS = (
    "metric", "model_a", "model_b", "n", "median_diff", "mean_diff", "wins_a", "wins_b", "ties",
    "statistic", "p", "p_bh",
)  # fmt: skip


def paired_wilcoxon(
    table: pd.DataFrame, models: Sequence[str], metrics: Sequence[str] = SUMMARY_METRICS
) -> pd.DataFrame:
    """Wilcoxon signed-rank tests of every pair of models over the shared experiments.

    Parameters
    ----------
    table : pandas.DataFrame
        One row per experiment x model with columns ``experiment``, ``model`` and the metrics.
    models : sequence of str
        Models in report order; pairs are ``(models[i], models[j])`` with ``i < j``, so a
        difference is ``model_a - model_b``.
    metrics : sequence of str, optional
        Default is ``("mcc", "auroc")``.

    Returns
    -------
    pandas.DataFrame
        Columns ``metric model_a model_b n median_diff mean_diff wins_a wins_b ties statistic p
        p_bh``; ``p`` is NaN when fewer than one non-zero difference exists.
    """
    rows = []
    for metric in metrics:
        wide = table.pivot_table(index="experiment", columns="model", values=metric, aggfunc="mean")
        for a, b in itertools.combinations(models, 2):
            if a not in wide or b not in wide:
                continue
            pair = wide[[a, b]].dropna()
            d = (pair[a] - pair[b]).to_numpy(dtype=float)
            stat, p = math.nan, math.nan
            if np.count_nonzero(d) >= 1:
                res = sps.wilcoxon(d, zero_method="wilcox", alternative="two-sided")
                stat, p = float(res.statistic), float(res.pvalue)
            rows.append({
                "metric": metric, "model_a": a, "model_b": b, "n": int(d.size),
                "median_diff": float(np.median(d)) if d.size else math.nan,
                "mean_diff": float(d.mean()) if d.size else math.nan,
                "wins_a": int((d > 0).sum()), "wins_b": int((d < 0).sum()),
                "ties": int((d == 0).sum()), "statistic": stat, "p": p,
            })  # fmt: skip
    out = pd.DataFrame(rows, columns=list(_WILCOXON_COLUMNS[:-1]))
    out["p_bh"] = math.nan
    ok = out["p"].notna().to_numpy()
    if ok.any():
        out.loc[ok, "p_bh"] = bh_adjust(out.loc[ok, "p"].to_numpy(dtype=float))
    return out


def _figure(table: pd.DataFrame, models: Sequence[str], collection: str, png: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from dnalm.summary import _savefig

    n_exp = table["experiment"].nunique()
    fig, axes = plt.subplots(1, len(SUMMARY_METRICS), figsize=(4 + 1.1 * len(models), 4))
    rng = np.random.default_rng(0)
    for ax, metric in zip(np.atleast_1d(axes), SUMMARY_METRICS, strict=True):
        data = [table.loc[table["model"] == m, metric].dropna().to_numpy() for m in models]
        ax.boxplot(data, showfliers=False, widths=0.6)
        for i, vals in enumerate(data, 1):
            ax.scatter(i + rng.uniform(-0.18, 0.18, vals.size), vals, s=8, alpha=0.6)
        ax.set_xticks(range(1, len(models) + 1), models, rotation=30, ha="right")
        ax.set_ylabel(f"test {metric.upper()}")
        ax.grid(axis="y", alpha=0.3)
    fig.suptitle(f"{collection}: {n_exp} experiments")
    fig.tight_layout()
    _savefig(fig, png)


def summarize_collection(
    collection: str,
    metrics_paths: Sequence[str | Path],
    manifest: str | Path,
    models: Sequence[str],
    out_tsv: str | Path,
    out_wilcoxon: str | Path,
    out_png: str | Path,
) -> pd.DataFrame:
    """Write a collection's per-experiment table, its Wilcoxon table and its figure.

    Parameters
    ----------
    collection : str
        The collection's name (tasks ``<collection>__<id>``).
    metrics_paths : sequence of str or Path
        ``results/finetune/<collection>__<id>/<model>/seed<s>/metrics.json`` of every run.
    manifest : str or Path
        The collection's ``manifest.tsv`` (cell, antibody, lab per experiment).
    models : sequence of str
        Models in report order.
    out_tsv, out_wilcoxon, out_png : str or Path
        ``<name>.tsv``, ``<name>_wilcoxon.tsv``, ``<name>.png`` (+ an ``.svg`` sibling).

    Returns
    -------
    pandas.DataFrame
        The per-experiment table written to ``out_tsv``.

    Raises
    ------
    ValueError
        A metrics file of another collection's task; an experiment absent from the manifest.
    """
    meta = {e.id: e for e in read_manifest(manifest)}
    res = read_results(metrics_paths)
    exps = []
    for task in res["task"]:
        parts = split_task(str(task))
        if parts is None or parts[0] != collection:
            raise ValueError(f"task {task!r} is not in collection {collection!r}")
        if parts[1] not in meta:
            raise ValueError(f"{manifest}: no experiment {parts[1]!r} (task {task!r})")
        exps.append(parts[1])
    res = res.assign(experiment=exps)
    grouped = res.groupby(["experiment", "model"], sort=False)
    table = grouped[list(SUMMARY_METRICS)].mean().reset_index()
    table.insert(2, "n_seeds", grouped.size().to_numpy())
    for key in ("lab", "antibody", "cell"):  # inserted at 1: experiment, cell, antibody, lab
        table.insert(1, key, [getattr(meta[e], key) for e in table["experiment"]])
    order = {m: i for i, m in enumerate(models)}
    table = table.sort_values(["experiment", "model"], key=lambda s: s.map(order) if s.name == "model" else s)
    table = table.reset_index(drop=True)
    wil = paired_wilcoxon(table, [m for m in models if m in set(table["model"])])
    for df, out in ((table, out_tsv), (wil, out_wilcoxon)):
        with atomic.atomic_path(out) as tmp:
            df.to_csv(tmp, sep="\t", index=False, float_format="%.6g", na_rep="NA")
    _figure(table, [m for m in models if m in set(table["model"])], collection, Path(out_png))
    return table
