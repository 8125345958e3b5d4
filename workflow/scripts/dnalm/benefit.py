"""Does pretraining help? Pretrained vs scratch on data-scarce tasks (DNABERT Fig. 6d analogue).

``pretraining_benefit`` reads the fine-tuning runs of the data-scarce tasks (config
``tasks.<t>.max_train``), each language model with its ``-scratch`` control over the same seeds,
and of every task that lists a GPT language model beside its ``-scratch`` control (whatever its
size: the GPT pairs, :func:`dnalm.paths.benefit_pairs`; ``n_train`` tells the two apart), and writes

- a TSV with one row per (task, language model) and one pooled row (``task`` = ``all``):
  mean test MCC of both models, the paired difference ``delta_mcc`` (pretrained - scratch)
  with its 95% paired-bootstrap interval on the shared test rows (:func:`dnalm.summary.compare_models`),
  the per-seed differences with a t interval over seeds, and the lowest dev loss of either
  model (mean over seeds);
- a figure: per task, the dev cross-entropy against the fine-tuning step for every seed
  (pretrained in colour, scratch in grey), and a last panel with ``delta_mcc`` and its
  interval per task against the 0.1 line that the benefit claim asks for.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats as sps

from dnalm import atomic
from dnalm.settings import SCRATCH_SUFFIX
from dnalm.summary import compare_models, read_results

__all__ = ["BENEFIT_COLUMNS", "TARGET_DELTA", "benefit_table", "pretraining_benefit"]

TARGET_DELTA = 0.1  # pretrained - scratch MCC that counts as a clear benefit (issue #12)
BENEFIT_COLUMNS = (
    "task", "lm", "n_seeds", "n_train", "n_test", "mcc_pretrained", "mcc_scratch", "delta_mcc",
    "delta_lo", "delta_hi", "p_bootstrap", "p_paired", "delta_by_seed", "delta_seed_lo",
    "delta_seed_hi", "dev_loss_min_pretrained", "dev_loss_min_scratch",
)  # fmt: skip


def _train_log(run_dir: str) -> pd.DataFrame | None:
    p = Path(run_dir) / "train_log.tsv"
    if not p.is_file():
        return None
    log = pd.read_csv(p, sep="\t")
    return log if len(log) and "dev_loss" in log else None


def _t_interval(x: np.ndarray) -> tuple[float, float]:
    """95% t interval of the mean of ``x`` (nan with fewer than 2 values)."""
    if len(x) < 2:
        return math.nan, math.nan
    half = sps.t.ppf(0.975, len(x) - 1) * np.std(x, ddof=1) / math.sqrt(len(x))
    return float(np.mean(x) - half), float(np.mean(x) + half)


def _min_dev_loss(runs: pd.DataFrame) -> float:
    vals = [
        float(log["dev_loss"].min()) for d in runs["run_dir"] if (log := _train_log(d)) is not None
    ]
    return float(np.mean(vals)) if vals else math.nan


def benefit_table(res: pd.DataFrame, n_boot: int = 2000) -> pd.DataFrame:
    """Pretrained vs scratch per (task, language model), plus a pooled ``all`` row per model.

    Parameters
    ----------
    res : pandas.DataFrame
        :func:`dnalm.summary.read_results` of the runs (columns task, model, seed, mcc,
        run_dir, ...).
    n_boot : int, optional
        Paired-bootstrap resamples of the test rows. Default is 2000.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`BENEFIT_COLUMNS`. ``delta_lo``/``delta_hi`` resample test rows (the
        same resamples for both models); ``delta_seed_lo``/``_hi`` is the t interval of the
        per-seed differences (the spread over fine-tuning seeds). The ``all`` row pools every
        (task, seed) difference: its interval is the t interval over them and ``p_paired`` a
        Wilcoxon signed-rank test (5 pairs or more). Empty when no task has both models.
    """
    if res.empty:
        return pd.DataFrame(columns=list(BENEFIT_COLUMNS))
    cmp = compare_models(res, n_boot=n_boot)
    if cmp.empty:
        return pd.DataFrame(columns=list(BENEFIT_COLUMNS))
    cmp = cmp[(cmp["model_b"] == cmp["model_a"] + SCRATCH_SUFFIX) & (cmp["task"] != "all")]
    rows = []
    pooled: dict[str, list[float]] = {}
    for r in cmp.itertuples(index=False):
        g = res[res["task"] == r.task]
        a = g[g["model"] == r.model_a].set_index("seed")
        b = g[g["model"] == r.model_b].set_index("seed")
        seeds = sorted(set(a.index) & set(b.index), key=str)
        diff = np.array([float(a.loc[s, "mcc"]) - float(b.loc[s, "mcc"]) for s in seeds])
        pooled.setdefault(r.model_a, []).extend(diff.tolist())
        lo, hi = _t_interval(diff)
        n_train = a["n_train"].iloc[0] if "n_train" in a and len(a) else math.nan
        rows.append(
            {
                "task": r.task,
                "lm": r.model_a,
                "n_seeds": len(seeds),
                "n_train": n_train,
                "n_test": r.n_test,
                "mcc_pretrained": r.mcc_a,
                "mcc_scratch": r.mcc_b,
                "delta_mcc": r.delta_mcc,
                "delta_lo": r.delta_lo,
                "delta_hi": r.delta_hi,
                "p_bootstrap": r.p_bootstrap,
                "p_paired": r.p_paired,
                "delta_by_seed": ",".join(f"{d:.4f}" for d in diff),
                "delta_seed_lo": lo,
                "delta_seed_hi": hi,
                "dev_loss_min_pretrained": _min_dev_loss(a.loc[seeds]),
                "dev_loss_min_scratch": _min_dev_loss(b.loc[seeds]),
            }
        )
    for lm, d in pooled.items():
        d_arr = np.asarray(d)
        lo, hi = _t_interval(d_arr)
        p = math.nan
        if len(d_arr) >= 5 and np.any(d_arr != 0):
            p = float(sps.wilcoxon(d_arr).pvalue)
        mine = [r for r in rows if r["lm"] == lm]
        rows.append(
            {
                "task": "all",
                "lm": lm,
                "n_seeds": len(d_arr),
                "n_train": math.nan,
                "n_test": sum(r["n_test"] for r in mine),
                "mcc_pretrained": float(np.mean([r["mcc_pretrained"] for r in mine])),
                "mcc_scratch": float(np.mean([r["mcc_scratch"] for r in mine])),
                "delta_mcc": float(d_arr.mean()),
                "delta_lo": lo,
                "delta_hi": hi,
                "p_bootstrap": math.nan,
                "p_paired": p,
                "delta_by_seed": ",".join(f"{x:.4f}" for x in d_arr),
                "delta_seed_lo": lo,
                "delta_seed_hi": hi,
                "dev_loss_min_pretrained": float(
                    np.nanmean([r["dev_loss_min_pretrained"] for r in mine])
                ),
                "dev_loss_min_scratch": float(
                    np.nanmean([r["dev_loss_min_scratch"] for r in mine])
                ),
            }
        )
    return pd.DataFrame(rows, columns=list(BENEFIT_COLUMNS))


def _plot(res: pd.DataFrame, table: pd.DataFrame, png: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    per_task = table[table["task"] != "all"]
    pairs = list(per_task[["task", "lm"]].itertuples(index=False, name=None))
    n = len(pairs) + 1
    ncol = min(3, n)
    nrow = math.ceil(n / ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(4.6 * ncol, 3.6 * nrow), squeeze=False)
    flat = axes.ravel()
    for ax, (task, lm) in zip(flat, pairs, strict=False):
        g = res[res["task"] == task]
        for model, color, ls, label in (
            (lm, "tab:blue", "-", "pretrained"),
            (lm + SCRATCH_SUFFIX, "0.45", "--", "scratch"),
        ):
            for j, d in enumerate(g[g["model"] == model]["run_dir"]):
                log = _train_log(d)
                if log is None:
                    continue
                ax.plot(log["step"], log["dev_loss"], color=color, ls=ls, lw=1.6, alpha=0.85,
                        label=label if j == 0 else None)  # fmt: skip
        row = per_task[(per_task["task"] == task) & (per_task["lm"] == lm)].iloc[0]
        seeds = (f"{int(row.n_seeds)} seeds [{row.delta_seed_lo:+.2f}, {row.delta_seed_hi:+.2f}]"
                 if np.isfinite(row.delta_seed_lo) else f"{int(row.n_seeds)} seed{'s' if row.n_seeds != 1 else ''}")
        ax.set_title(
            f"{task}, {lm}: ΔMCC {row.delta_mcc:+.2f}, n_test={int(row.n_test)}\n"
            f"95% CI rows [{row.delta_lo:+.2f}, {row.delta_hi:+.2f}], {seeds}",
            fontsize=10,
        )
        ax.set_xlabel("fine-tuning step", fontsize=10)
        ax.set_ylabel("dev cross-entropy", fontsize=10)
        ax.tick_params(labelsize=9)
        ax.legend(frameon=False, fontsize=9)
    ax = flat[len(pairs)]
    y = np.arange(len(per_task))
    d = per_task["delta_mcc"].to_numpy(float)
    err = np.vstack(
        [d - per_task["delta_lo"].to_numpy(float), per_task["delta_hi"].to_numpy(float) - d]
    )
    ax.errorbar(d, y, xerr=np.nan_to_num(err), fmt="o", color="tab:blue", capsize=3,
                label="mean, 95% CI over test rows")  # fmt: skip
    for yi, per_seed in zip(y, per_task["delta_by_seed"], strict=True):
        vals = [float(v) for v in str(per_seed).split(",") if v not in ("", "nan")]
        ax.scatter(vals, [yi + 0.15] * len(vals), s=14, color="0.4", zorder=3,
                   label="one seed" if yi == 0 else None)  # fmt: skip
    ax.axvline(0, color="0.3", lw=0.8)
    ax.axvline(TARGET_DELTA, color="tab:red", lw=0.8, ls=":", label=f"target +{TARGET_DELTA}")
    ax.set_yticks(y, [f"{t}\n{lm}" for t, lm in pairs], fontsize=9)
    ax.set_ylim(len(pairs) - 0.5, -0.5)
    ax.set_xlabel("test MCC, pretrained − scratch (95% CI)", fontsize=10)
    ax.set_title("pretraining benefit", fontsize=10)
    ax.legend(frameon=False, fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=2)
    for extra in flat[len(pairs) + 1 :]:
        extra.set_visible(False)
    fig.tight_layout()
    for path in (png, png.with_suffix(".svg")):
        with atomic.atomic_path(path) as tmp:
            fig.savefig(tmp, dpi=150, format=path.suffix[1:], bbox_inches="tight")
    plt.close(fig)


def pretraining_benefit(
    metrics_paths: Sequence[str | Path],
    tsv: str | Path,
    png: str | Path,
    n_boot: int = 2000,
) -> pd.DataFrame:
    """Write the pretraining-benefit table and figure (data-scarce runs and GPT pairs).

    Parameters
    ----------
    metrics_paths : sequence of str or pathlib.Path
        ``results/finetune/{task}/{model}/seed{s}/metrics.json`` of every language model and
        its ``-scratch`` control of :func:`dnalm.paths.benefit_pairs`; ``predictions.tsv.gz`` and
        ``train_log.tsv`` are read from the same directories.
    tsv : str or pathlib.Path
        Output table (:data:`BENEFIT_COLUMNS`, tab-separated).
    png : str or pathlib.Path
        Output figure; an SVG is written next to it.
    n_boot : int, optional
        Paired-bootstrap resamples. Default is 2000.

    Returns
    -------
    pandas.DataFrame
        The table written to ``tsv``.
    """
    res = read_results(metrics_paths)
    table = benefit_table(res, n_boot=n_boot)
    tsv, png = Path(tsv), Path(png)
    tsv.parent.mkdir(parents=True, exist_ok=True)
    png.parent.mkdir(parents=True, exist_ok=True)
    atomic.write_text(tsv, table.to_csv(sep="\t", index=False, float_format="%.4f", na_rep="nan"))
    _plot(res, table, png)
    return table
