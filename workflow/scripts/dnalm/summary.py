"""Collect fine-tuning results into the benchmark table and its figures.

Reads ``results/finetune/{task}/{model}/seed{s}/metrics.json`` (with ``predictions.tsv.gz``
and ``train_log.tsv`` beside it) and writes ``benchmarks.tsv`` (one row per task x model x
seed, then ``mean`` and ``sd`` rows over seeds per task x model; every test metric ``m`` has a
95% interval ``m_lo``..``m_hi``: a percentile bootstrap over the test rows for a seed's row,
a t interval over seeds for the ``mean`` row (the bootstrap interval when there is one seed),
and ``n_test`` rows behind it), ``mcc.png`` (test MCC per
task by model), ``roc_pr.png`` (test ROC and precision-recall curves per task) and
``curves.png`` (dev MCC and dev loss during fine-tuning, pretrained vs scratch).
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats as sps

from dnalm import atomic
from dnalm.metrics import CI_METRICS, bootstrap_ci, paired_bootstrap
from dnalm.settings import BASELINES, SCRATCH_SUFFIX

__all__ = [
    "build_summary", "compare_models", "figure_paths", "read_results", "section_figures",
    "METRIC_COLUMNS",
]

METRIC_COLUMNS = ("accuracy", "precision", "recall", "f1", "mcc", "auroc", "auprc", "dev_mcc")
_INFO_COLUMNS = ("init", "n_classes", "n_train", "n_dev", "n_test", "best_epoch", "runtime_s")


def read_results(metrics_paths: Sequence[str | Path]) -> pd.DataFrame:
    """One row per ``metrics.json``: task, model, seed, metrics and the run's directory.

    Raises ``ValueError`` naming the file when it is not valid JSON or lacks a metric.
    """
    rows = []
    for p in metrics_paths:
        p = Path(p)
        try:
            m = json.loads(p.read_text())
        except (OSError, json.JSONDecodeError) as e:
            raise ValueError(f"{p}: cannot read metrics ({e})") from None
        missing = [c for c in ("mcc", "auroc", "accuracy") if c not in m]
        if missing:
            raise ValueError(f"{p}: missing key(s) {missing}")
        # results/finetune/{task}/{model}/seed{s}/metrics.json
        seed_dir = p.parent.name
        row = {
            "task": m.get("task") or p.parent.parent.parent.name,
            "model": m.get("model") or p.parent.parent.name,
            "seed": str(m.get("seed", seed_dir.removeprefix("seed"))),
        }
        for c in METRIC_COLUMNS + _INFO_COLUMNS:
            v = m.get(c)
            row[c] = math.nan if v is None and c in METRIC_COLUMNS else v
        row["constant_prediction"] = bool(m.get("constant_prediction", False))
        row["run_dir"] = str(p.parent)
        rows.append(row)
    return pd.DataFrame(rows)


CI_COLUMNS = tuple(f"{m}_{end}" for m in CI_METRICS for end in ("lo", "hi"))


def _run_ci(run_dir: str, n_boot: int) -> dict[str, float]:
    """Bootstrap 95% intervals of one run's test metrics (nan without predictions)."""
    pred = _load_predictions(run_dir)
    if pred is None:
        return dict.fromkeys(CI_COLUMNS, math.nan)
    ci = bootstrap_ci(pred[0], pred[1], n_boot=n_boot, random_state=0)
    return {f"{m}_{end}": v for m, (lo, hi) in ci.items() for end, v in (("lo", lo), ("hi", hi))}


def _seed_ci(vals: pd.DataFrame, runs: pd.DataFrame) -> dict[str, float]:
    """95% interval of the mean over seeds (t interval); one seed keeps its bootstrap interval."""
    n = len(vals)
    if n == 1:
        return {c: float(runs[c].iloc[0]) for c in CI_COLUMNS}
    t = float(sps.t.ppf(0.975, n - 1))
    out = {}
    for m in CI_METRICS:
        v = vals[m].astype(float)
        half = t * v.std(ddof=1) / math.sqrt(n)
        out[f"{m}_lo"], out[f"{m}_hi"] = v.mean() - half, v.mean() + half
    return out


def _table(res: pd.DataFrame, n_boot: int = 1000) -> pd.DataFrame:
    out = []
    cis = pd.DataFrame([_run_ci(d, n_boot) for d in res["run_dir"]], index=res.index)
    res = pd.concat([res, cis], axis=1)
    for (task, model), g in res.groupby(["task", "model"], sort=False):
        g = g.sort_values("seed", key=lambda s: pd.to_numeric(s, errors="coerce"))
        out.append(g.drop(columns=["run_dir"]))
        vals = g[list(METRIC_COLUMNS)].astype(float)
        n_test = g["n_test"].iloc[0] if "n_test" in g else None
        for name, agg in (("mean", vals.mean()), ("sd", vals.std(ddof=1))):
            row = {"task": task, "model": model, "seed": name, **agg.to_dict()}
            row["n_seeds"] = len(g)
            row["n_test"] = n_test
            if name == "mean":
                row.update(_seed_ci(vals, g))
            out.append(pd.DataFrame([row]))
    table = pd.concat(out, ignore_index=True)
    table["n_seeds"] = table["n_seeds"].fillna(1).astype(int)
    front = ["task", "model", "seed", "n_seeds", "n_test", *METRIC_COLUMNS, *CI_COLUMNS]
    return table[front + [c for c in table.columns if c not in front]]


#: Font sizes of every summary figure (points), legible when the figure is shown at its size.
FIGURE_RC = {
    "font.size": 11, "axes.titlesize": 12, "axes.labelsize": 11, "xtick.labelsize": 10,
    "ytick.labelsize": 10, "legend.fontsize": 9, "svg.fonttype": "none",
}


def figure_paths(png: str | Path) -> tuple[Path, Path]:
    """The two files a summary figure is written to: ``png`` and its ``.svg`` sibling."""
    png = Path(png)
    return png, png.with_suffix(".svg")


def _savefig(fig, path: Path) -> None:
    """Write ``path`` (PNG, 150 dpi) and its SVG sibling (:func:`figure_paths`), atomically."""
    import matplotlib.pyplot as plt

    try:
        for out, fmt in zip(figure_paths(path), ("png", "svg"), strict=True):
            with atomic.atomic_path(out) as tmp:
                fig.savefig(tmp, format=fmt, dpi=150, bbox_inches="tight")
    finally:
        plt.close(fig)


def _model_style(model: str) -> dict:
    if model.endswith("-scratch"):
        return {"linestyle": "--"}
    if model in ("cnn", "cnn_lstm", "cnn_gru", "kmer_lr"):
        return {"linestyle": ":"}
    return {"linestyle": "-"}


def _plot_mcc(table: pd.DataFrame, res: pd.DataFrame, path: Path) -> None:
    """Bars: mean test MCC over seeds with its 95% CI (``mean`` rows of ``table``); dots: seeds.

    Each task's tick label carries its ``n_test`` and number of seeds.
    """
    import matplotlib.pyplot as plt

    means = table[table["seed"].astype(str) == "mean"]
    tasks = list(dict.fromkeys(res["task"]))
    models = list(dict.fromkeys(res["model"]))
    width = 0.8 / max(1, len(models))
    fig, ax = plt.subplots(figsize=(max(6.0, 1.1 * len(tasks) * max(1, len(models)) ** 0.5 + 3), 4.6))
    for j, model in enumerate(models):
        xs, ys, err = [], [], [[], []]
        for i, task in enumerate(tasks):
            v = res[(res.task == task) & (res.model == model)]["mcc"].astype(float)
            row = means[(means.task == task) & (means.model == model)]
            if len(v) == 0 or len(row) == 0:
                continue
            x = i - 0.4 + width * (j + 0.5)
            m, lo, hi = (float(row[c].iloc[0]) for c in ("mcc", "mcc_lo", "mcc_hi"))
            lo, hi = max(lo, -1.0), min(hi, 1.0)  # MCC's range bounds a t interval too
            xs.append(x)
            ys.append(m)
            err[0].append(max(0.0, m - lo) if np.isfinite(lo) else 0.0)
            err[1].append(max(0.0, hi - m) if np.isfinite(hi) else 0.0)
            ax.scatter(np.full(len(v), x), v, s=12, color="black", zorder=3)
        ax.bar(xs, ys, width, yerr=err, capsize=3, label=model, **_bar_style(model))
    labels = []
    for task in tasks:
        t = means[means.task == task]
        n_test = t["n_test"].dropna()
        n = f"n={int(float(n_test.iloc[0]))}" if len(n_test) else "n=?"
        seeds = int(t["n_seeds"].max()) if len(t) else 0
        labels.append(f"{task}\n{n}, {seeds} seed{'s' if seeds != 1 else ''}")
    ax.set_xticks(range(len(tasks)))
    ax.set_xticklabels(labels, rotation=30, ha="right")
    ax.set_ylabel("test MCC")
    ax.set_title("Test MCC: mean over seeds, bars 95% CI, dots single seeds")
    ax.axhline(0, color="grey", lw=0.8)
    ax.legend(frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    _savefig(fig, path)


def _bar_style(model: str) -> dict:
    if model.endswith(SCRATCH_SUFFIX):
        return {"hatch": "//", "edgecolor": "white"}
    if model in BASELINES:
        return {"alpha": 0.75}
    return {}


def _load_predictions(run_dir: str) -> tuple[np.ndarray, np.ndarray] | None:
    p = Path(run_dir) / "predictions.tsv.gz"
    if not p.is_file():
        return None
    df = pd.read_csv(p, sep="\t")
    pcols = sorted(
        (c for c in df.columns if c[0] == "p" and c[1:].isdigit()), key=lambda c: int(c[1:])
    )
    return df["label"].to_numpy(np.int64), df[pcols].to_numpy(np.float64)


def _plot_roc_pr(res: pd.DataFrame, path: Path) -> None:
    import matplotlib.pyplot as plt
    from sklearn.metrics import (
        average_precision_score,
        precision_recall_curve,
        roc_auc_score,
        roc_curve,
    )

    tasks = list(dict.fromkeys(res["task"]))
    fig, axes = plt.subplots(len(tasks), 2, figsize=(10, 3.8 * len(tasks)), squeeze=False)
    for i, task in enumerate(tasks):
        ax_roc, ax_pr = axes[i]
        n_rows, n_seeds, micro = "?", 0, False
        for model, g in res[res.task == task].groupby("model", sort=False):
            preds = [x for x in (_load_predictions(d) for d in g["run_dir"]) if x is not None]
            if not preds:
                continue
            y = np.concatenate([p[0] for p in preds])  # seeds pooled
            n_rows, n_seeds = len(preds[0][0]), max(n_seeds, len(preds))
            prob = np.concatenate([p[1] for p in preds])
            if prob.shape[1] == 2:
                truth, score = (y == 1).astype(int), prob[:, 1]
            else:  # micro-average over one-vs-rest problems (benchmarks.tsv: macro)
                truth = (y[:, None] == np.arange(prob.shape[1])[None, :]).astype(int).ravel()
                score = prob.ravel()
                micro = True
            if truth.min() == truth.max():
                continue
            fpr, tpr, _ = roc_curve(truth, score)
            prec, rec, _ = precision_recall_curve(truth, score)
            style = _model_style(model)
            ax_roc.plot(fpr, tpr, label=f"{model} (AUROC {roc_auc_score(truth, score):.3f})", **style)
            # step-wise, as precision is not interpolated between thresholds; AP is its area
            ax_pr.plot(rec, prec, drawstyle="steps-post",
                       label=f"{model} (AP {average_precision_score(truth, score):.3f})", **style)
        ax_roc.plot([0, 1], [0, 1], color="grey", lw=0.8)
        n = (f"n={n_rows} test rows, {n_seeds} seed{'s' if n_seeds != 1 else ''} pooled"
             + (", micro-average over classes" if micro else ""))
        ax_roc.set(title=f"{task}: ROC\n{n}", xlabel="false positive rate",
                   ylabel="true positive rate")
        ax_pr.set(title=f"{task}: precision-recall\n{n}", xlabel="recall", ylabel="precision")
        for ax in (ax_roc, ax_pr):
            ax.legend(frameon=False)
    fig.tight_layout()
    _savefig(fig, path)


def _plot_curves(res: pd.DataFrame, path: Path) -> None:
    import matplotlib.pyplot as plt

    tasks = list(dict.fromkeys(res["task"]))
    fig, axes = plt.subplots(len(tasks), 2, figsize=(10, 3.6 * len(tasks)), squeeze=False)
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    lms = list(dict.fromkeys(m.removesuffix("-scratch") for m in res["model"]))
    for i, task in enumerate(tasks):
        ax_mcc, ax_loss = axes[i]
        for model, g in res[res.task == task].groupby("model", sort=False):
            color = colors[lms.index(model.removesuffix("-scratch")) % len(colors)]
            for j, d in enumerate(g["run_dir"]):
                p = Path(d) / "train_log.tsv"
                if not p.is_file():
                    continue
                log = pd.read_csv(p, sep="\t")
                if len(log) < 2 or log["lr"].isna().all():  # kmer_lr has no curve
                    continue
                kw = {"color": color, "alpha": 0.9 if j == 0 else 0.4, **_model_style(model)}
                kw["label"] = model if j == 0 else None
                ax_mcc.plot(log["step"], log["dev_mcc"], **kw)
                ax_loss.plot(log["step"], log["dev_loss"], **kw)
        ax_mcc.set(title=f"{task}: dev MCC", xlabel="step", ylabel="MCC")
        ax_loss.set(title=f"{task}: dev loss", xlabel="step", ylabel="cross-entropy")
        ax_mcc.legend(frameon=False)
    fig.tight_layout()
    _savefig(fig, path)


COMPARISON_COLUMNS = (
    "task", "model_a", "model_b", "n_seeds", "n_test", "mcc_a", "mcc_b", "delta_mcc",
    "delta_lo", "delta_hi", "p_bootstrap", "p_paired", "delta_seed_lo", "delta_seed_hi",
)


def _pairs(models: Sequence[str]) -> list[tuple[str, str]]:
    """Pretrained vs its scratch control, and each BERT model vs each baseline."""
    lms = [m for m in models if m not in BASELINES and not m.endswith(SCRATCH_SUFFIX)]
    out = [(m, m + SCRATCH_SUFFIX) for m in lms if m + SCRATCH_SUFFIX in models]
    bert = [m for m in models if m not in BASELINES]
    out += [(m, b) for m in bert for b in models if b in BASELINES]
    return out


def compare_models(res: pd.DataFrame, n_boot: int = 2000) -> pd.DataFrame:
    """Paired comparisons of test MCC: pretrained vs scratch, and BERT models vs baselines.

    Per task, both models are scored on the same test rows for each seed they share. The
    difference ``delta_mcc`` = MCC(a) - MCC(b) is averaged over those seeds; ``delta_lo``/``_hi``
    is its 95% paired-bootstrap interval (the same resamples for both models and every seed)
    and ``p_bootstrap`` the two-sided bootstrap p of no difference. ``p_paired`` is a paired
    t-test over seeds (3 seeds or more) and ``delta_seed_lo``/``_hi`` the t interval of the
    per-seed differences (2 seeds or more): the spread over fine-tuning runs, which the
    bootstrap over test rows holds fixed. Rows with ``task`` = ``all`` pool every (task, seed)
    pair with a Wilcoxon signed-rank test (5 pairs or more) and give no interval.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`COMPARISON_COLUMNS`; empty when no pair of models shares a task.
    """
    rows = []
    pooled: dict[tuple[str, str], list[float]] = {}
    for task, g in res.groupby("task", sort=False):
        by_model = {m: gm.set_index("seed") for m, gm in g.groupby("model", sort=False)}
        for a, b in _pairs(list(by_model)):
            seeds = [s for s in by_model[a].index if s in by_model[b].index]
            draws, mcc_a, mcc_b, n_test = [], [], [], None
            for s in seeds:
                pa = _load_predictions(by_model[a].loc[s, "run_dir"])
                pb = _load_predictions(by_model[b].loc[s, "run_dir"])
                if pa is None or pb is None or not np.array_equal(pa[0], pb[0]):
                    continue
                n_test = len(pa[0])
                draws.append(paired_bootstrap(pa[0], pa[1], pb[1], n_boot=n_boot, random_state=0))
                mcc_a.append(float(by_model[a].loc[s, "mcc"]))
                mcc_b.append(float(by_model[b].loc[s, "mcc"]))
            if not draws:
                continue
            d = np.nanmean(np.stack(draws), axis=0)
            d = d[np.isfinite(d)]
            diff = np.asarray(mcc_a) - np.asarray(mcc_b)
            pooled.setdefault((a, b), []).extend(diff.tolist())
            p_boot = min(1.0, 2 * (min((d <= 0).sum(), (d >= 0).sum()) + 1) / (d.size + 1))
            p_t = math.nan
            if len(diff) >= 3 and np.std(diff) > 0:
                p_t = float(sps.ttest_rel(mcc_a, mcc_b).pvalue)
            lo, hi = np.quantile(d, [0.025, 0.975])
            s_lo = s_hi = math.nan
            if len(diff) >= 2:
                half = float(sps.t.ppf(0.975, len(diff) - 1) * diff.std(ddof=1) / math.sqrt(len(diff)))
                s_lo, s_hi = float(diff.mean()) - half, float(diff.mean()) + half
            rows.append({
                "task": task, "model_a": a, "model_b": b, "n_seeds": len(diff), "n_test": n_test,
                "mcc_a": float(np.mean(mcc_a)), "mcc_b": float(np.mean(mcc_b)),
                "delta_mcc": float(diff.mean()), "delta_lo": float(lo), "delta_hi": float(hi),
                "p_bootstrap": p_boot, "p_paired": p_t, "delta_seed_lo": s_lo, "delta_seed_hi": s_hi,
            })  # fmt: skip
    for (a, b), diffs in pooled.items():
        v = np.asarray(diffs)
        p_w = math.nan
        if v.size >= 5 and np.any(v != 0):
            p_w = float(sps.wilcoxon(v).pvalue)
        rows.append({
            "task": "all", "model_a": a, "model_b": b, "n_seeds": int(v.size), "n_test": None,
            "mcc_a": math.nan, "mcc_b": math.nan, "delta_mcc": float(v.mean()),
            "delta_lo": math.nan, "delta_hi": math.nan, "p_bootstrap": math.nan, "p_paired": p_w,
            "delta_seed_lo": math.nan, "delta_seed_hi": math.nan,
        })  # fmt: skip
    return pd.DataFrame(rows, columns=list(COMPARISON_COLUMNS))


def build_summary(
    metrics_paths: Sequence[str | Path],
    out_tsv: str | Path,
    mcc_png: str | Path | None = None,
    roc_pr_png: str | Path | None = None,
    curves_png: str | Path | None = None,
    comparisons_tsv: str | Path | None = None,
) -> pd.DataFrame:
    """Write the benchmark table and figures.

    Parameters
    ----------
    metrics_paths : sequence of path
        ``metrics.json`` files; ``predictions.tsv.gz`` and ``train_log.tsv`` are read from
        the same directories.
    out_tsv : path
        ``benchmarks.tsv``: columns task, model, seed (a number, ``mean`` or ``sd``),
        n_seeds, n_test, the test metrics, dev_mcc, 95% intervals ``<metric>_lo``/``_hi``
        and run information.
    mcc_png, roc_pr_png, curves_png : path, optional
        Figures (PNG, plus an SVG sibling: :func:`figure_paths`); each is skipped when None.
        Default is None.
    comparisons_tsv : path, optional
        Paired model comparisons (:func:`compare_models`); skipped when None. Default is None.

    Returns
    -------
    table : pandas.DataFrame, shape=(n_runs + 2 * n_task_models, n_columns)
    """
    import matplotlib

    matplotlib.use("Agg")
    if not metrics_paths:
        raise ValueError("`metrics_paths` is empty")
    res = read_results(metrics_paths)
    table = _table(res)
    with atomic.atomic_path(out_tsv) as tmp:
        table.to_csv(tmp, sep="\t", index=False, float_format="%.6g", na_rep="nan")
    if comparisons_tsv is not None:
        with atomic.atomic_path(comparisons_tsv) as tmp:
            compare_models(res).to_csv(tmp, sep="\t", index=False, float_format="%.6g", na_rep="nan")
    import matplotlib.pyplot as plt

    with plt.rc_context(FIGURE_RC):
        if mcc_png is not None:
            _plot_mcc(table, res, Path(mcc_png))
        if roc_pr_png is not None:
            _plot_roc_pr(res, Path(roc_pr_png))
        if curves_png is not None:
            _plot_curves(res, Path(curves_png))
    return table


def section_figures(
    metrics_paths: Sequence[str | Path],
    benchmarks_tsv: str | Path,
    tasks: Sequence[str],
    mcc_png: str | Path,
    roc_pr_png: str | Path,
) -> None:
    """The MCC and ROC/PR figures of some tasks (one section of the report, e.g. promoters).

    Parameters
    ----------
    metrics_paths : sequence of path
        ``metrics.json`` of every run (``predictions.tsv.gz`` is read beside each); runs of
        other tasks are ignored.
    benchmarks_tsv : path
        The table :func:`build_summary` wrote (its ``mean`` rows give the 95% CIs).
    tasks : sequence of str
        Tasks to show, in this order. An empty selection is a ``ValueError``.
    mcc_png, roc_pr_png : path
        Output PNGs, each with an SVG sibling (:func:`figure_paths`).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if not tasks:
        raise ValueError("`tasks` is empty: no figure to draw")
    res = read_results(metrics_paths)
    res = res[res["task"].isin(tasks)]
    missing = sorted(set(tasks) - set(res["task"]))
    if missing:
        raise ValueError(f"`metrics_paths` hold no run of task(s) {missing}")
    order = {t: i for i, t in enumerate(tasks)}
    res = res.sort_values("task", key=lambda s: s.map(order), kind="stable")
    table = pd.read_csv(benchmarks_tsv, sep="\t", dtype={"seed": str})
    with plt.rc_context(FIGURE_RC):
        _plot_mcc(table[table["task"].isin(tasks)], res, Path(mcc_png))
        _plot_roc_pr(res, Path(roc_pr_png))
