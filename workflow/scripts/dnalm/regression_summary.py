"""The expression-regression table: every model of every expression task side by side.

Rows come from the runs' ``metrics.json`` (``results/finetune/{task}/{model}/seed{s}/``): the
k-mer ridge (:mod:`dnalm.kmer_ridge`) and the GPT regressions (:mod:`dnalm.gpt.regress`) write
the same keys. ``results/summary/regression.tsv`` has one row per run::

    task model seed init n n_train pearson_r pearson_r_lo pearson_r_hi r2 r2_lo r2_hi
    r2_score r2_score_lo r2_score_hi mse

with the test split's 95% bootstrap intervals (:func:`dnalm.metrics.regression_metrics`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from dnalm.atomic import atomic_path

__all__ = ["REGRESSION_COLUMNS", "regression_table"]

REGRESSION_COLUMNS = (
    "task", "model", "seed", "init", "n", "n_train",
    "pearson_r", "pearson_r_lo", "pearson_r_hi", "r2", "r2_lo", "r2_hi",
    "r2_score", "r2_score_lo", "r2_score_hi", "mse",
)  # fmt: skip


def _run_of(path: Path) -> tuple[str, str, str]:
    """(task, model, seed) of ``.../{task}/{model}/seed{s}/metrics.json``."""
    seed_dir, model_dir, task_dir = path.parent, path.parent.parent, path.parent.parent.parent
    if not seed_dir.name.startswith("seed"):
        raise ValueError(f"{path}: expected .../<task>/<model>/seed<s>/metrics.json")
    return task_dir.name, model_dir.name, seed_dir.name[4:]


def regression_table(metrics: Sequence[str | Path], out_tsv: str | Path | None = None) -> pd.DataFrame:
    """One row per regression run, read from its ``metrics.json``.

    Parameters
    ----------
    metrics : sequence of path
        ``results/finetune/{task}/{model}/seed{s}/metrics.json`` of regression runs.
    out_tsv : str or Path, optional
        Written atomically when given. Default is None.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`REGRESSION_COLUMNS`, sorted by task, then model, then seed.

    Raises
    ------
    ValueError
        Naming the file: unreadable JSON or a run that is not a regression.
    """
    rows = []
    for p in map(Path, metrics):
        try:
            m = json.loads(p.read_text())
        except json.JSONDecodeError as e:
            raise ValueError(f"{p}:{e.lineno}: not valid JSON ({e.msg})") from None
        if m.get("task_type") != "regression" or "pearson_r" not in m:
            raise ValueError(f"{p}:1: not a regression run (task_type {m.get('task_type')!r})")
        task, model, seed = _run_of(p)
        ci = m.get("ci") or {}
        row = {"task": task, "model": model, "seed": seed, "init": m.get("init", "none"),
               "n": m.get("n"), "n_train": m.get("n_train"), "mse": m.get("mse")}  # fmt: skip
        for key in ("pearson_r", "r2", "r2_score"):
            lo, hi = (ci.get(key) or [None, None])[:2]
            row.update({key: m.get(key), f"{key}_lo": lo, f"{key}_hi": hi})
        rows.append(row)
    df = pd.DataFrame(rows, columns=list(REGRESSION_COLUMNS))
    df = df.sort_values(["task", "model", "seed"], kind="stable").reset_index(drop=True)
    if out_tsv is not None:
        with atomic_path(out_tsv) as tmp:
            df.to_csv(tmp, sep="\t", index=False, float_format="%.6g")
    return df


def regression_findings(table: str | Path | None) -> list:
    """Front-page findings (:class:`dnalm.reporting.Finding`): each expression task's models side by side.

    Parameters
    ----------
    table : str or Path or None
        ``results/summary/regression.tsv``; None when no expression task is configured.
    """
    from dnalm.reporting._common import Finding

    title = "Expression regression (DNAGPT's mRNA abundance, Xpresso setting)"
    if table is None:
        return [Finding("regression", title, "not configured: no expression task", "missing")]
    df = pd.read_csv(table, sep="\t", dtype={"seed": str})
    out = []
    for task, g in df.groupby("task", sort=True):
        parts = []
        for _, r in g.iterrows():
            parts.append(f"{r['model']} (seed {r['seed']}) Pearson r {r['pearson_r']:.2f} "
                         f"[{r['pearson_r_lo']:.2f}, {r['pearson_r_hi']:.2f}], r² {r['r2']:.2f} "
                         f"[{r['r2_lo']:.2f}, {r['r2_hi']:.2f}]")  # fmt: skip
        n = int(g["n"].iloc[0]) if len(g) else 0
        out.append(Finding("regression", f"{title}: {task}",
                           "; ".join(parts) + f" (n = {n} test genes, 95% bootstrap CIs)", "ok"))  # fmt: skip
    return out
