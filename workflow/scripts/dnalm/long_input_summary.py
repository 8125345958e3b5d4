"""Pooling comparison of long-input (DNABERT-XL) tasks: results/summary/long_input.tsv.

Tasks whose specs differ only in ``long_input`` (and in their own ``models``/``seeds``) form a
comparison group, e.g. ``prom1001_all`` (``finetune.long_input``: concat),
``prom1001_all_mean`` and ``prom1001_all_max``. :func:`pooling_groups` finds them in the
config; :func:`long_input_table` reads their rows (mean over seeds, with the 95% interval of
``results/summary/benchmarks.tsv``) for the models fine-tuned on every member.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from dnalm import atomic
from dnalm.settings import Config, canonical

__all__ = ["COLUMNS", "pooling_groups", "long_input_table", "write_long_input_summary"]

#: Columns of long_input.tsv.
COLUMNS = (
    "group", "task", "pooling", "model", "n_seeds", "n_test",
    "mcc", "mcc_lo", "mcc_hi", "auroc", "auroc_lo", "auroc_hi",
)
_IGNORED = ("long_input", "models", "seeds")


def pooling_groups(cfg: Config) -> dict[str, dict[str, str]]:
    """Comparison groups: ``{group: {task: pooling}}`` for groups with 2+ distinct poolings.

    A group is named after its shortest task name (ties: the first in sort order).
    """
    by_key: dict[str, dict[str, str]] = {}
    for task, spec in cfg.tasks.items():
        if spec.kind == "expression":
            continue
        key = json.dumps(
            {k: v for k, v in canonical(spec).items() if k not in _IGNORED}, sort_keys=True
        )
        by_key.setdefault(key, {})[task] = cfg.task_long_input(task)
    out: dict[str, dict[str, str]] = {}
    for members in by_key.values():
        if len(set(members.values())) < 2:
            continue
        name = min(members, key=lambda t: (len(t), t))
        out[name] = dict(sorted(members.items()))
    return dict(sorted(out.items()))


def long_input_table(
    benchmarks: pd.DataFrame, groups: Mapping[str, Mapping[str, str]]
) -> pd.DataFrame:
    """Rows of the comparison groups, one per (group, task, model), models shared by all.

    Parameters
    ----------
    benchmarks : pandas.DataFrame
        ``results/summary/benchmarks.tsv`` (its ``seed == "mean"`` rows are used).
    groups : mapping
        :func:`pooling_groups`.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`COLUMNS`, ordered by group, model, pooling (concat, mean, max).
    """
    need = {"task", "model", "seed", *COLUMNS[4:]}
    missing = need - set(benchmarks.columns)
    if missing:
        raise ValueError(f"benchmarks table lacks columns {sorted(missing)}")
    means = benchmarks[benchmarks["seed"].astype(str) == "mean"]
    order = {"concat": 0, "mean": 1, "max": 2}
    rows = []
    for group, members in groups.items():
        sub = means[means["task"].isin(list(members))]
        shared = set.intersection(
            *(set(sub.loc[sub["task"] == t, "model"]) for t in members)
        ) if members else set()
        for _, r in sub[sub["model"].isin(shared)].iterrows():
            rows.append({"group": group, "pooling": members[r["task"]],
                         **{c: r[c] for c in COLUMNS if c not in ("group", "pooling")}})
    df = pd.DataFrame(rows, columns=list(COLUMNS))
    if len(df):
        df = df.sort_values(
            ["group", "model", "pooling"], key=lambda s: s.map(order) if s.name == "pooling" else s
        ).reset_index(drop=True)
    return df


def write_long_input_summary(
    benchmarks_tsv: str | Path, groups: Mapping[str, Mapping[str, str]], out_tsv: str | Path
) -> pd.DataFrame:
    """Write ``long_input.tsv`` (:func:`long_input_table` of ``groups``) atomically."""
    bench = pd.read_csv(benchmarks_tsv, sep="\t")
    table = long_input_table(bench, groups)
    with atomic.atomic_path(out_tsv) as tmp:
        table.to_csv(tmp, sep="\t", index=False, float_format="%.6g", na_rep="nan")
    return table
