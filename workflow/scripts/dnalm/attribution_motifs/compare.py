"""Attention motifs (DNABERT's route) against attribution motifs (TF-MoDISco), per task: one table
``results/summary/interpretation/{task}.tsv`` and one figure (PNG + SVG).

One row per interpretation run: the attention motifs of ``motifs.tasks`` (``results/motifs/{task}/
{model}/`` with the attention stage's planted-site AUROC) and every TF-MoDISco run (model x
seed x attribution method). Columns say which known (on the demo: planted) motifs each route
recovered (best TOMTOM q per known motif), how many motifs and instances it produced, and how
well its per-base scores separate planted-site bases from the other bases of the positives
(AUROC with a row-bootstrap 95% CI). A run that found nothing keeps its row, with its status
and reason.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from dnalm import atomic

__all__ = ["BASE_COLUMNS", "MAX_KNOWN_COLUMNS", "InterpretationRun", "interpretation_table",
           "plot_interpretation", "write_interpretation"]  # fmt: skip

#: Fixed columns of the side-by-side table; ``q:<known motif>`` columns follow.
BASE_COLUMNS = ["task", "route", "model", "seed", "method", "status", "nothing_found",
                "n_motifs", "n_instances", "n_recovered", "recovered", "site_auroc",
                "site_auroc_ci_low", "site_auroc_ci_high", "site_auroc_n_rows", "test_mcc",
                "reason"]  # fmt: skip
#: A known-motif file with at most this many motifs gets one ``q:`` column per motif (the
#: demo's planted PWMs); a larger one (JASPAR) only for motifs some run matched at q < 0.05.
MAX_KNOWN_COLUMNS = 12
MATCH_Q = 0.05


@dataclass(frozen=True)
class InterpretationRun:
    """One row's inputs.

    Attributes
    ----------
    route : {"attention", "attribution"}
    model : str
    method : str
        ``attention`` or the attribution method (``ism``, ``ig``).
    summary : pathlib.Path
        ``summary.json`` of the motif run (attention: ``results/motifs/...``; attribution: the
        TF-MoDISco run's).
    matches : pathlib.Path
        Its ``matches.tsv`` (TOMTOM).
    seed : int or None
    site_summary : pathlib.Path or None
        Attention only: ``results/attention/{task}/{model}/summary.json`` (its ``site_auroc``).
    metrics : pathlib.Path or None
        Attention only: the model's ``metrics.json`` (test MCC).
    """

    route: str
    model: str
    method: str
    summary: Path
    matches: Path
    seed: int | None = None
    site_summary: Path | None = None
    metrics: Path | None = None


def _json(path: Path | None) -> dict[str, Any]:
    if path is None:
        return {}
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError) as e:
        raise ValueError(f"{path}: cannot read ({e})") from None


def _matches(path: Path) -> pd.DataFrame:
    try:
        m = pd.read_csv(path, sep="\t")
    except (OSError, pd.errors.EmptyDataError) as e:
        raise ValueError(f"{path}: cannot read TOMTOM matches ({e})") from None
    need = {"query", "target", "q"}
    if not need <= set(m.columns):
        raise ValueError(f"{path}: needs columns {sorted(need)}, has {list(m.columns)}")
    return m


def _row(task: str, run: InterpretationRun) -> tuple[dict[str, Any], pd.Series]:
    s = _json(run.summary)
    m = _matches(run.matches)
    best = m.groupby("target")["q"].min() if len(m) else pd.Series(dtype=float)
    if run.route == "attention":
        n_motifs, n_inst = s.get("n_motifs"), s.get("n_sites")
        site = _json(run.site_summary).get("site_auroc") or {}
        mcc = _json(run.metrics).get("mcc") if run.metrics is not None else None
    else:
        n_motifs, n_inst = s.get("n_patterns"), s.get("n_seqlets_in_patterns")
        site = s.get("site_auroc") or {}
        mcc = (s.get("model") or {}).get("test_mcc")
    hits = best[best < MATCH_Q].sort_values()
    row = {
        "task": task, "route": run.route, "model": run.model, "seed": run.seed,
        "method": run.method, "status": s.get("status", "missing"),
        "nothing_found": s.get("status") != "ok", "n_motifs": n_motifs, "n_instances": n_inst,
        "n_recovered": int(hits.size),
        "recovered": ",".join(f"{t}(q={q:.2g})" for t, q in hits.items()) or ".",
        "site_auroc": site.get("auroc"), "site_auroc_ci_low": site.get("ci_low"),
        "site_auroc_ci_high": site.get("ci_high"), "site_auroc_n_rows": site.get("n_rows"),
        "test_mcc": mcc, "reason": s.get("reason") or site.get("reason") or ".",
    }  # fmt: skip
    return row, best


def interpretation_table(
    task: str, runs: Sequence[InterpretationRun], known_names: Sequence[str] = ()
) -> pd.DataFrame:
    """The side-by-side table of one task.

    Parameters
    ----------
    task : str
    runs : sequence of InterpretationRun
        Attention rows first, then attribution rows, as given.
    known_names : sequence of str, optional
        The known motifs (file order). At most :data:`MAX_KNOWN_COLUMNS` get a ``q:<name>``
        column each; with more, only those some run matched at q < 0.05. Default is () (no
        known motifs).

    Returns
    -------
    pandas.DataFrame
        Columns :data:`BASE_COLUMNS` then ``q:<name>`` (best TOMTOM q of that known motif over the
        run's motifs; NaN when the run has no motif).
    """
    rows, bests = [], []
    for run in runs:
        r, b = _row(task, run)
        rows.append(r)
        bests.append(b)
    names = list(known_names)
    if len(names) > MAX_KNOWN_COLUMNS:
        hit = set().union(*(set(b[b < MATCH_Q].index) for b in bests)) if bests else set()
        names = [n for n in names if n in hit]
    for r, b in zip(rows, bests, strict=True):
        for n in names:
            r[f"q:{n}"] = float(b[n]) if n in b.index else math.nan
    table = pd.DataFrame(rows, columns=BASE_COLUMNS + [f"q:{n}" for n in names])
    for col in ("seed", "n_motifs", "n_instances", "site_auroc_n_rows"):
        table[col] = pd.to_numeric(table[col]).astype("Int64")
    return table


def _label(r: pd.Series) -> str:
    if r["route"] == "attention":
        head = f"attention (DNABERT) · {r['model']}"
    else:
        seed = "" if pd.isna(r["seed"]) else f" seed{int(r['seed'])}"
        head = f"{str(r['method']).upper()} · {r['model']}{seed}"
    def count(x: Any) -> str:
        return "?" if x is None or pd.isna(x) else str(int(x))

    head += f"\n{count(r['n_motifs'])} motifs, {count(r['n_instances'])} instances"
    return head + (f"; nothing found: {r['status']}" if r["nothing_found"] else "")


def plot_interpretation(table: pd.DataFrame, png: str | Path, svg: str | Path, title: str = "") -> None:
    """Draw the table: best TOMTOM q per known motif (left) and planted-site AUROC with CI (right).

    Rows that found nothing are labelled in red with their status; an empty table draws a
    figure that says so.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    qcols = [c for c in table.columns if c.startswith("q:")]
    n = max(1, len(table))
    fig, (ax_q, ax_a) = plt.subplots(
        1, 2, figsize=(4 + 1.1 * max(1, len(qcols)) + 4, 1.2 + 0.55 * n),
        gridspec_kw={"width_ratios": [max(1, len(qcols)), 3]}, squeeze=True,
    )  # fmt: skip
    try:
        if table.empty:
            for ax in (ax_q, ax_a):
                ax.axis("off")
            fig.text(0.5, 0.5, "no interpretation run for this task", ha="center", color="C3")
        else:
            labels = [_label(r) for _, r in table.iterrows()]
            y = np.arange(len(table))
            if qcols:
                q = table[qcols].to_numpy(dtype=float)
                v = np.where(np.isfinite(q), -np.log10(np.clip(q, 1e-10, 1)), np.nan)
                ax_q.imshow(np.nan_to_num(v, nan=0.0), aspect="auto", cmap="Greens", vmin=0, vmax=10)
                for i in range(q.shape[0]):
                    for j in range(q.shape[1]):
                        txt = "-" if not np.isfinite(q[i, j]) else f"{q[i, j]:.1g}"
                        bold = np.isfinite(q[i, j]) and q[i, j] < MATCH_Q
                        dark = np.isfinite(v[i, j]) and v[i, j] > 5
                        ax_q.text(j, i, txt, ha="center", va="center", fontsize=7,
                                  color="white" if dark else "black",
                                  fontweight="bold" if bold else "normal")  # fmt: skip
                ax_q.set_xticks(range(len(qcols)))
                ax_q.set_xticklabels([c[2:] for c in qcols], rotation=45, ha="right", fontsize=7)
                ax_q.set_title(f"best TOMTOM q per known motif (bold: q < {MATCH_Q})", fontsize=8)
            else:
                ax_q.text(0.5, 0.5, "no known motifs", ha="center", va="center", fontsize=8)
                ax_q.set_xticks([])
            ax_q.set_yticks(y)
            ax_q.set_yticklabels(labels, fontsize=7)
            if not qcols:
                ax_q.set_ylim(len(table) - 0.5, -0.5)
            for tick, (_, r) in zip(ax_q.get_yticklabels(), table.iterrows(), strict=True):
                if r["nothing_found"]:
                    tick.set_color("C3")
            a = table["site_auroc"].to_numpy(dtype=float)
            lo = table["site_auroc_ci_low"].to_numpy(dtype=float)
            hi = table["site_auroc_ci_high"].to_numpy(dtype=float)
            err = np.vstack([np.where(np.isfinite(lo), a - lo, 0), np.where(np.isfinite(hi), hi - a, 0)])
            colors = ["C0" if r == "attention" else "C1" for r in table["route"]]
            for i in range(len(table)):
                if np.isfinite(a[i]):
                    ax_a.errorbar(a[i], i, xerr=err[:, i : i + 1], fmt="o", color=colors[i], capsize=3)
                else:
                    ax_a.text(0.5, i, "not measured", ha="center", va="center", fontsize=7, color="0.4")
            ax_a.axvline(0.5, color="0.6", lw=0.8, ls="--")
            ax_a.set_xlim(0, 1)
            ax_a.set_ylim(len(table) - 0.5, -0.5)
            ax_a.set_yticks(y)
            ax_a.set_yticklabels([])
            ax_a.set_xlabel("planted-site AUROC of per-base scores (95% CI)", fontsize=8)
            ax_a.set_title("attention: attention score; attribution: |attr|", fontsize=8)
        if title:
            fig.suptitle(title, fontsize=9)
        fig.tight_layout()
        for path, fmt in ((png, "png"), (svg, "svg")):
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            with atomic.atomic_path(path) as tmp:
                fig.savefig(tmp, format=fmt, dpi=110)
    finally:
        plt.close(fig)


def write_interpretation(
    task: str,
    runs: Sequence[InterpretationRun],
    tsv: str | Path,
    png: str | Path,
    svg: str | Path,
    known: str | Path | None = None,
) -> pd.DataFrame:
    """Build, write (TSV, atomically) and draw one task's side-by-side comparison.

    Parameters
    ----------
    task : str
    runs : sequence of InterpretationRun
    tsv, png, svg : str or pathlib.Path
    known : str or pathlib.Path, optional
        The known-motif file the runs were matched against (its motif names, in file order).
        Default is None.

    Returns
    -------
    pandas.DataFrame
    """
    names: list[str] = []
    if known is not None:
        from dnalm.motif_formats import read_motifs

        names = list(read_motifs(known))
    table = interpretation_table(task, runs, names)
    atomic.write_text(tsv, table.to_csv(sep="\t", index=False, float_format="%.6g", na_rep="NA"))
    plot_interpretation(table, png, svg, title=f"{task}: attention motifs vs attribution motifs")
    return table


def runs_from_paths(
    attention: Mapping[str, Mapping[str, str]], attribution: Sequence[Mapping[str, Any]]
) -> list[InterpretationRun]:
    """:class:`InterpretationRun` list from plain dicts (the rule's inputs).

    Parameters
    ----------
    attention : dict of model to dict
        ``{model: {"summary", "matches", "site_summary", "metrics"}}``.
    attribution : sequence of dict
        ``{"model", "seed", "method", "summary", "matches"}`` each.
    """
    out = [InterpretationRun("attention", m, "attention", Path(d["summary"]), Path(d["matches"]),
                             None, Path(d["site_summary"]) if d.get("site_summary") else None,
                             Path(d["metrics"]) if d.get("metrics") else None)
           for m, d in attention.items()]  # fmt: skip
    out += [InterpretationRun("attribution", d["model"], d["method"], Path(d["summary"]),
                              Path(d["matches"]), int(d["seed"]))
            for d in attribution]  # fmt: skip
    return out
