"""The front page's content, computed from result files: headline table and key findings.

Every number comes from a file of the run and is shown with its n and, where one exists, a 95%
interval. A stage that was not configured (its files absent) gives a finding saying so, never
a number. Sources:

- ``results/summary/benchmarks.tsv`` (``mean`` rows: test MCC, 95% CI, ``n_test``, ``n_seeds``)
  and ``comparisons.tsv`` (paired pretrained-vs-scratch and model-vs-baseline tests);
- ``results/datasets/<task>/card.json`` (task kind, genome, training rows) and
  ``results/summary/config.yaml`` (language-model genomes: transfer across genomes);
- ``results/pretrain/<lm>/model/learning_check.json`` (the LM's learning verdict);
- ``results/attention/<task>/<model>/summary.json`` (class contrast, planted-site AUROC);
- ``results/motifs/<task>/<model>/matches.tsv`` (+ ``summary.json``, ``motifs.meme``);
- ``results/summary/interpretation/<task>.tsv`` (attention vs TF-MoDISco attribution motifs);
- ``results/summary/regression.tsv`` (expression regression: k-mer ridge and GPT side by side);
- ``results/variants/<task>/<model>/clinvar.tsv`` (+ ``summary.json``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from dnalm.regression_summary import regression_findings
from dnalm.reporting._common import Finding, _dir, _f, _json, _num, _p
from dnalm.reporting.interpretation import (
    attention_findings,
    interpretation_findings,
    motif_findings,
    variant_findings,
)
from dnalm.reporting.sections import section_of
from dnalm.settings import BASELINES, SCRATCH_SUFFIX

__all__ = ["Estimate", "Finding", "Overview", "OverviewInputs", "collect_overview"]

@dataclass(frozen=True)
class Estimate:
    """A number with its 95% interval (``lo``/``hi``, nan when none) and its n."""

    value: float
    lo: float = math.nan
    hi: float = math.nan
    n: int | None = None
    n_seeds: int | None = None
    label: str = ""
    #: Seeds whose model gave every test row one class (a collapsed model: MCC 0 by definition).
    n_constant: int = 0

    def text(self, digits: int = 2) -> str:
        """``0.75 [0.62, 0.86]`` (no interval: the value alone); nan is ``n/a``."""
        if not math.isfinite(self.value):
            return "n/a"
        s = f"{self.value:.{digits}f}"
        if math.isfinite(self.lo) and math.isfinite(self.hi):
            s += f" [{self.lo:.{digits}f}, {self.hi:.{digits}f}]"
        return s


@dataclass
class OverviewInputs:
    """Result files the overview reads; an empty list means that stage was not configured."""

    benchmarks: Path | None = None
    comparisons: Path | None = None
    benefit: Path | None = None
    config: Path | None = None
    regression: Path | None = None
    cards: list[Path] = field(default_factory=list)
    lm_dirs: list[Path] = field(default_factory=list)
    attention: list[Path] = field(default_factory=list)
    motifs: list[Path] = field(default_factory=list)
    variants: list[Path] = field(default_factory=list)
    interpretation: list[Path] = field(default_factory=list)
    splice_loop: list[Path] = field(default_factory=list)

    @classmethod
    def from_results(cls, results: str | Path) -> OverviewInputs:
        """Find every input under a ``results/`` folder (what a run wrote)."""
        r = Path(results)

        def one(p: Path) -> Path | None:
            return p if p.is_file() else None

        return cls(
            benchmarks=one(r / "summary" / "benchmarks.tsv"),
            comparisons=one(r / "summary" / "comparisons.tsv"),
            benefit=one(r / "summary" / "pretraining_benefit.tsv"),
            config=one(r / "summary" / "config.yaml"),
            regression=one(r / "summary" / "regression.tsv"),
            cards=sorted(r.glob("datasets/*/card.json")),
            lm_dirs=sorted(p for p in r.glob("pretrain/*/model") if p.is_dir()),
            attention=sorted(p.parent for p in r.glob("attention/*/*/scores.npz")),
            motifs=sorted(p.parent for p in r.glob("motifs/*/*/matches.tsv")),
            variants=sorted(p.parent for p in r.glob("variants/*/*/clinvar.tsv")),
            interpretation=sorted(r.glob("summary/interpretation/*.tsv")),
            splice_loop=sorted(r.glob("splice_loop/*/rounds.tsv")),
        )

    @classmethod
    def from_lists(cls, **files: Sequence[str | Path]) -> OverviewInputs:
        """From a rule's named input lists: single files are 0- or 1-element lists."""
        single = ("benchmarks", "comparisons", "benefit", "config", "regression")
        kw: dict[str, Any] = {}
        for name, value in files.items():
            if name not in cls.__dataclass_fields__:
                continue
            paths = [Path(v) for v in value]
            if name in single:
                if len(paths) > 1:
                    raise ValueError(f"`{name}`: one file expected, got {len(paths)}")
                kw[name] = paths[0] if paths else None
            else:
                kw[name] = paths
        return cls(**kw)


@dataclass
class Overview:
    """Headline rows (one per task) and findings, ready to render."""

    columns: list[str]
    headline: list[dict[str, Any]]
    findings: list[Finding]

    def to_json(self) -> dict[str, Any]:
        rows = [{k: (asdict(v) if isinstance(v, Estimate) else v) for k, v in r.items()}
                for r in self.headline]  # fmt: skip
        return {"columns": self.columns, "headline": rows,
                "findings": [asdict(f) for f in self.findings]}  # fmt: skip


# ----------------------------------------------------------------------------- headline


def _means(benchmarks: Path) -> pd.DataFrame:
    """The ``mean`` rows of ``benchmarks.tsv``, with ``n_constant``: how many of the (task,
    model)'s seed rows predicted one class for every test row (``constant_prediction``)."""
    df = pd.read_csv(benchmarks, sep="\t", dtype={"seed": str})
    need = {"task", "model", "seed", "mcc", "mcc_lo", "mcc_hi", "n_test", "n_seeds"}
    missing = sorted(need - set(df.columns))
    if missing:
        raise ValueError(f"{benchmarks}:1: missing column(s) {missing}")
    means = df[df["seed"] == "mean"].copy()
    if "constant_prediction" in df.columns:
        seeds = df[~df["seed"].isin(["mean", "sd"])]
        flag = seeds["constant_prediction"].astype(str).str.strip().str.lower().isin(["true", "1"])
        counts = flag.groupby([seeds["task"], seeds["model"]]).sum()
        key = pd.MultiIndex.from_frame(means[["task", "model"]])
        means["n_constant"] = counts.reindex(key, fill_value=0).to_numpy().astype(int)
    else:
        means["n_constant"] = 0
    return means


def _estimate(row: pd.Series, label: str = "") -> Estimate:
    """Mean test MCC over seeds with its 95% CI, clipped to MCC's range [-1, 1]."""
    n = _num(row["n_test"])
    lo, hi = (float(np.clip(_num(row[c]), -1, 1)) for c in ("mcc_lo", "mcc_hi"))
    return Estimate(float(row["mcc"]), lo, hi, int(n) if math.isfinite(n) else None,
                    int(row["n_seeds"]), label, int(row.get("n_constant", 0)))  # fmt: skip


def _headline(means: pd.DataFrame, cards: dict[str, dict]) -> tuple[list[str], list[dict]]:
    models = list(dict.fromkeys(means["model"]))
    lms = [m for m in models if m not in BASELINES and not m.endswith(SCRATCH_SUFFIX)]
    scratch = [m for m in models if m.endswith(SCRATCH_SUFFIX)]
    columns = [*lms, *scratch]
    has_base = any(m in BASELINES for m in models)
    if has_base:
        columns.append("best baseline")
    rows = []
    for task, g in means.groupby("task", sort=False):
        by = g.set_index("model")
        card = cards.get(task, {})
        n_train = sum(int(v) for v in card.get("counts", {}).get("train", {}).values()) or None
        row: dict[str, Any] = {"task": task, "section": section_of(str(card.get("kind", ""))),
                               "n_train": n_train}  # fmt: skip
        for m in lms + scratch:
            row[m] = _estimate(by.loc[m], m) if m in by.index else None
        base = by[by.index.isin(BASELINES)]
        if has_base:
            row["best baseline"] = (
                _estimate(base.loc[base["mcc"].astype(float).idxmax()],
                          str(base["mcc"].astype(float).idxmax()))
                if len(base) else None
            )  # fmt: skip
        rows.append(row)
    return columns, rows


# ----------------------------------------------------------------------------- benchmarks


def _comparison_findings(comp: Path | None, headline: list[dict], lm_genome: dict[str, str],
                         cards: dict[str, dict]) -> list[Finding]:  # fmt: skip
    if comp is None:
        return [Finding("pretraining", "Pretrained vs scratch, every task (Fig. 6d)",
                        "not measured: no comparisons.tsv (fine-tuning not configured)",
                        "missing")]  # fmt: skip
    df = pd.read_csv(comp, sep="\t")
    out: list[Finding] = []
    per_task = df[df["task"] != "all"]
    pairs = per_task[per_task["model_b"] == per_task["model_a"] + SCRATCH_SUFFIX]
    if pairs.empty:
        out.append(Finding("pretraining", "Pretrained vs scratch, every task (Fig. 6d)",
                           "not measured: no task has both a pretrained model and its -scratch "
                           "control", "missing"))  # fmt: skip
    for lm, g in pairs.groupby("model_a", sort=False):
        wins, losses = _clear(g)
        parts = [f"{r.task} {_delta_text(r)}" for r in g.itertuples()]
        pooled = df[(df["task"] == "all") & (df["model_a"] == lm) & (df["model_b"] == lm + SCRATCH_SUFFIX)]
        pool, hurts = "", False
        if len(pooled):
            p = pooled.iloc[0]
            hurts = bool(p.delta_mcc < 0 and _num(p.p_paired) < ALPHA)
            test = (f"Wilcoxon p={_p(p.p_paired)}" if math.isfinite(_num(p.p_paired))
                    else "too few pairs for a Wilcoxon test")  # fmt: skip
            pool = (f" Pooled over {_int(p.n_seeds)} (task, seed) pairs: mean ΔMCC "
                    f"{p.delta_mcc:+.2f}, {test}"
                    + (": pretraining hurts at this scale." if hurts else "."))  # fmt: skip
        text = (f"{lm} − {lm}{SCRATCH_SUFFIX} test ΔMCC with 95% paired-bootstrap CI over test "
                f"rows: {'; '.join(parts)}. {_clear_text(wins, losses, len(g))}" + pool)  # fmt: skip
        out.append(Finding("pretraining", "Pretrained vs scratch, every task (Fig. 6d)", text,
                           "ok" if wins and not hurts else "warning"))  # fmt: skip
    # language model vs the best baseline of each task
    best = {r["task"]: r["best baseline"].label for r in headline
            if r.get("best baseline") is not None}  # fmt: skip
    # a best baseline that collapsed beat nothing: say so beside its delta
    collapsed = {
        r["task"]: f" (collapsed: one class for every test row in {e.n_constant} of "
                   f"{e.n_seeds} seed{'s' if e.n_seeds != 1 else ''})"
        for r in headline
        if isinstance(e := r.get("best baseline"), Estimate) and e.n_constant
    }  # fmt: skip
    lms = list(dict.fromkeys(pairs["model_a"])) or [
        m for m in dict.fromkeys(per_task["model_a"]) if not m.endswith(SCRATCH_SUFFIX)
    ]
    for lm in lms:
        rows = per_task[(per_task["model_a"] == lm)
                        & (per_task["model_b"] == per_task["task"].map(best))]  # fmt: skip
        if rows.empty:
            continue
        up, down = _clear_mask(rows)
        better, worse = int(up.sum()), int(down.sum())
        parts = [f"{r.task} vs {r.model_b}{collapsed.get(r.task, '')} {_delta_text(r, seeds_only=True)}"
                 for r in rows.itertuples()]  # fmt: skip
        hollow = int((up & rows["task"].isin(list(collapsed))).sum())
        out.append(Finding(
            "benchmarks", f"{lm} against the best baseline (Fig. 2, 3, 5)",
            f"ΔMCC (95% paired-bootstrap CI over the same test rows): {'; '.join(parts)}. "
            f"{lm} is better on {better}"
            + (f" ({hollow} of them against a collapsed baseline)" if hollow else "")
            + f", worse on {worse}, not distinguishable on "
            f"{len(rows) - better - worse} of {len(rows)} tasks{_SEED_RULE}.",
            "ok" if better - hollow > worse else "warning",
        ))
    # transfer: a task on another genome than the LM's (Fig. 6f)
    for r in headline:
        tg = cards.get(r["task"], {}).get("genome")
        for lm, g in lm_genome.items():
            est = r.get(lm)
            if tg and g and tg != g and isinstance(est, Estimate):
                scr = r.get(lm + SCRATCH_SUFFIX)
                extra, status = "", "ok"
                if isinstance(scr, Estimate):
                    extra = f"; its -scratch control {scr.text()}"
                    d = per_task[(per_task["task"] == r["task"]) & (per_task["model_a"] == lm)
                                 & (per_task["model_b"] == lm + SCRATCH_SUFFIX)]  # fmt: skip
                    if len(d):
                        up, down = _clear_mask(d)
                        extra += (f"; pretrained − scratch {_delta_text(d.iloc[0])}: "
                                  + ("the pretraining helps" if up.iloc[0] else
                                     "the pretraining hurts" if down.iloc[0] else
                                     "no difference shown"))  # fmt: skip
                        status = "ok" if up.iloc[0] else "warning"
                out.append(Finding(
                    "pretraining", "Transfer to another genome (Fig. 6f)",
                    f"{lm} (pretrained on {g}) fine-tuned on {r['task']} ({tg}): test MCC "
                    f"{est.text()} (n={est.n}, {est.n_seeds} seed(s)){extra}.", status,
                ))
    return out


#: Significance level of the front page's comparisons.
ALPHA = 0.05
#: A per-task difference counts as shown only when the 95% paired-bootstrap CI over test rows
#: excludes 0 and, with this many seeds or more, the paired t-test over seeds agrees: the
#: bootstrap holds the fine-tuning runs fixed, so alone it ignores seed-to-seed spread.
SEED_TEST_MIN = 3
_SEED_RULE = (f" (with {SEED_TEST_MIN}+ seeds only when the paired t-test over seeds agrees, "
              f"p < {ALPHA})")  # fmt: skip
#: The smallest two-sided bootstrap p that compare_models' 2000 resamples report.
_P_FLOOR = 0.001


def _clear_mask(rows: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """(CI above 0, CI below 0) per comparison row, with the seed-level test where it applies."""
    seeds_ok = (pd.to_numeric(rows["n_seeds"], errors="coerce") < SEED_TEST_MIN) | (
        pd.to_numeric(rows["p_paired"], errors="coerce") < ALPHA)
    return (rows["delta_lo"] > 0) & seeds_ok, (rows["delta_hi"] < 0) & seeds_ok


def _clear(rows: pd.DataFrame) -> tuple[int, int]:
    up, down = _clear_mask(rows)
    return int(up.sum()), int(down.sum())


def _clear_text(wins: int, losses: int, n: int) -> str:
    return f"The difference is above 0 on {wins} and below 0 on {losses} of {n} tasks{_SEED_RULE}."


def _delta_text(r: Any, seeds_only: bool = False) -> str:
    """``+0.12 [+0.01, +0.24], p=0.03 (3 seeds: paired t p=0.2, n=300)`` of a comparison row."""
    pb = _num(r.p_bootstrap)
    p = f"p≤{_P_FLOOR:g}" if pb <= _P_FLOOR else f"p={_p(pb)}"
    n_seeds = _num(r.n_seeds)
    seeds = f"{_int(n_seeds)} seed{'s' if n_seeds != 1 else ''}"
    if n_seeds >= SEED_TEST_MIN:
        lo, hi = _num(getattr(r, "delta_seed_lo", None)), _num(getattr(r, "delta_seed_hi", None))
        seeds += (f": [{lo:+.2f}, {hi:+.2f}]," if math.isfinite(lo) and math.isfinite(hi) else ":")
        seeds += f" paired t p={_p(r.p_paired)}"
    body = f"{r.delta_mcc:+.2f} [{r.delta_lo:+.2f}, {r.delta_hi:+.2f}]"
    if seeds_only and n_seeds < SEED_TEST_MIN:
        return body
    return f"{body}, {p} ({seeds}, n={_int(r.n_test)})"


#: The issue's data-scarce bar: at most this many training rows.
SCARCE_MAX_TRAIN = 200


def _benefit_findings(benefit: Path | None) -> list[Finding]:
    """Pretrained vs scratch per LM (``pretraining_benefit.tsv``): the data-scarce tasks, and for a GPT
    every task that lists it with its ``-scratch`` twin (full training sets; ``n_train`` says which)."""
    title = "Pretraining benefit on data-scarce tasks (Fig. 6d)"
    if benefit is None:
        return [Finding("pretraining", title, "not configured: no data-scarce task "
                        "(tasks.<t>.max_train) with an LM and its -scratch control", "missing")]  # fmt: skip
    from dnalm.benefit import TARGET_DELTA

    df = pd.read_csv(benefit, sep="\t")
    out = []
    per_task = df[df["task"] != "all"]
    for lm, g in per_task.groupby("lm", sort=False):
        parts = [f"{r.task} {r.delta_mcc:+.2f} [{r.delta_lo:+.2f}, {r.delta_hi:+.2f}] "
                 f"(n_train={_int(r.n_train)}, n_test={_int(r.n_test)}, {_int(r.n_seeds)} "
                 f"seed{'s' if _num(r.n_seeds) != 1 else ''}"
                 + (f"; over seeds [{r.delta_seed_lo:+.2f}, {r.delta_seed_hi:+.2f}]"
                    if math.isfinite(_num(getattr(r, "delta_seed_lo", None)))
                    and _num(r.n_seeds) >= 2 else "")
                 + ")"
                 for r in g.itertuples()]  # fmt: skip
        clear = int((g["delta_mcc"] >= TARGET_DELTA).sum())
        text = (f"{lm} − scratch test ΔMCC, mean over seeds [95% paired-bootstrap CI over test rows]: "
                f"{'; '.join(parts)}. ΔMCC ≥ {TARGET_DELTA} on {clear} of {len(g)} tasks.")
        pooled = df[(df["task"] == "all") & (df["lm"] == lm)]
        if len(pooled):
            p = pooled.iloc[0]
            text += (f" Pooled: {p.delta_mcc:+.2f} over {_int(p.n_seeds)} (task, seed) pairs, "
                     f"paired p={_p(p.p_paired)}.")  # fmt: skip
        scarce = bool((pd.to_numeric(g["n_train"], errors="coerce") <= SCARCE_MAX_TRAIN).all())
        head = title if scarce else f"Pretraining benefit, {lm} vs its scratch twin on full tasks"
        out.append(Finding("pretraining", head, text, "ok" if clear >= 3 else "warning"))
    if not out:
        out.append(Finding("pretraining", title, f"{benefit} holds no task", "warning"))
    return out


def _int(x: Any) -> str:
    v = _num(x)
    return str(int(v)) if math.isfinite(v) else "n/a"


# ----------------------------------------------------------------------------- pretraining


def _ci(v: Any, digits: int = 3, signed: bool = False) -> str:
    if isinstance(v, list | tuple) and len(v) == 2:
        fmt = f"{{:+.{digits}f}}" if signed else f"{{:.{digits}f}}"
        return " [" + ", ".join(fmt.format(float(x)) for x in v) + "]"
    return ""


def _learning_text(check: dict[str, Any]) -> str:
    """The verdict of ``learning_check.json`` (:mod:`dnalm.pretrain.check`) with its numbers."""
    verdict = check.get("verdict")
    parts = [f"verdict: {verdict}"]
    if "val_mlm_acc" in check and "kmer_baseline_acc" in check:
        parts.append(
            f"masked-token validation accuracy {_f(check['val_mlm_acc'], 3)}"
            f"{_ci(check.get('val_mlm_acc_ci95'))} vs the k-mer frequency baseline "
            f"{_f(check['kmer_baseline_acc'], 3)}"
        )
    if "acc_margin" in check:
        parts.append(f"margin {float(check['acc_margin']):+.3f}"
                     f"{_ci(check.get('acc_margin_ci95'), signed=True)}")  # fmt: skip
    if "val_mlm_loss" in check and "kmer_baseline_loss" in check:
        parts.append(f"loss {_f(check['val_mlm_loss'], 3)} vs {_f(check['kmer_baseline_loss'], 3)} nats")
    n = [f"n={check['n_tokens']} masked tokens" if "n_tokens" in check else "",
         f"{check['n_sequences']} sequences" if "n_sequences" in check else "",
         f"step {check['step']}" if check.get("step") is not None else ""]  # fmt: skip
    source = check.get("validation") or {}
    if source.get("kind") == "held_out_contigs":
        parts.append(f"validated on held-out contigs ({', '.join(source['contigs'])}) that no "
                     "training piece holds")
    elif source.get("kind") == "pieces":
        parts.append("validation pieces drawn beside the training pieces of the same contigs "
                     "(genomes.<g>.val_contigs would hold contigs out)")
    text = "; ".join(parts)
    if any(n):
        text += " (" + ", ".join(x for x in n if x) + ")"
    if check.get("reason"):
        text += f". {check['reason']}"
    return text


def _learning_findings(lm_dirs: Sequence[Path]) -> list[Finding]:
    if not lm_dirs:
        return [Finding("pretraining", "Language model learning", "not configured: no language "
                        "model", "missing")]  # fmt: skip
    out = []
    for d in lm_dirs:
        lm = d.parent.name
        title = f"{lm}: does the LM learn?"
        check = _json(d / "learning_check.json")
        if check is None:
            out.append(Finding("pretraining", title, f"not measured (no learning_check.json in "
                               f"{d}: an imported or older model)", "missing"))  # fmt: skip
            continue
        ok = check.get("verdict") == "learns"
        out.append(Finding("pretraining", title, _learning_text(check), "ok" if ok else "warning"))
    return out


# ----------------------------------------------------------------------------- entry point


def collect_overview(inputs: OverviewInputs) -> Overview:
    """Headline table and findings from the result files in ``inputs``.

    Raises ``ValueError`` naming the file when one is malformed.
    """
    cards = {}
    for p in inputs.cards:
        c = _json(Path(p))
        if c is not None:
            cards[str(c.get("task") or Path(p).parent.name)] = c
    lm_genome: dict[str, str] = {}
    if inputs.config is not None and Path(inputs.config).is_file():
        cfg = yaml.safe_load(Path(inputs.config).read_text()) or {}
        lm_genome = {k: (v or {}).get("genome") for k, v in (cfg.get("language_models") or {}).items()}
    if inputs.benchmarks is None:
        columns, headline = [], []
        findings = [Finding("benchmarks", "Benchmarks (Fig. 2, 3, 5)", "not configured: no "
                            "benchmarks.tsv (no fine-tuning run)", "missing")]  # fmt: skip
    else:
        columns, headline = _headline(_means(Path(inputs.benchmarks)), cards)
        findings = []
    findings += _comparison_findings(
        Path(inputs.comparisons) if inputs.comparisons else None, headline, lm_genome, cards
    )
    findings += _benefit_findings(Path(inputs.benefit) if inputs.benefit else None)
    findings += regression_findings(inputs.regression)
    findings += _learning_findings([Path(p) for p in inputs.lm_dirs])
    findings += attention_findings([_dir(p) for p in inputs.attention])
    findings += motif_findings([_dir(p) for p in inputs.motifs])
    findings += interpretation_findings([Path(p) for p in inputs.interpretation])
    findings += variant_findings([_dir(p) for p in inputs.variants])
    findings += _splice_loop_findings([Path(p) for p in inputs.splice_loop])
    return Overview(columns, headline, findings)


def _splice_loop_findings(tables: Sequence[Path]) -> list[Finding]:
    """SpliceFinder-style hard-negative rounds (``rounds.tsv``): does adding the false positives
    lower the held-out false-positive rate (the loop's aim), and what happens to test MCC."""
    out = []
    for p in tables:
        df = pd.read_csv(p, sep="\t")
        missing = sorted({"round", "model", "test_mcc", "heldout_n", "heldout_fpr", "heldout_fpr_lo",
                          "heldout_fpr_hi", "heldout_auroc", "n_test_sites", "eval_seeds",
                          "fpr_vs_round0"} - set(df.columns))  # fmt: skip
        if missing:
            raise ValueError(f"{p}:1: missing column(s) {missing}")
        task = p.parent.name
        if df.empty:
            out.append(Finding("splice", f"Splice hard negatives, {task}", f"{p} holds no round",
                               "warning"))  # fmt: skip
            continue
        last = df.iloc[-1]
        fpr = " → ".join(f"{r.heldout_fpr:.2f} [{r.heldout_fpr_lo:.2f}, {r.heldout_fpr_hi:.2f}]"
                         for r in df.itertuples())  # fmt: skip
        mcc = " → ".join(_f(r.test_mcc) for r in df.itertuples())
        auroc = " → ".join(_f(r.heldout_auroc) for r in df.itertuples())
        verdict = str(last.fpr_vs_round0)
        text = (f"{last.model}, rounds {int(df['round'].iloc[0])}..{int(last['round'])}: held-out "
                f"false-positive rate {fpr} (n={_int(last.heldout_n)} GT/AG non-sites; "
                f"{_int(last.eval_seeds)} seed(s) per round); test sites vs held-out non-sites "
                f"AUROC {auroc} (n={_int(last.n_test_sites)} test sites); test MCC {mcc}. Last "
                f"round vs round 0: {verdict}"
                + ("." if verdict == "lower" else ": the hard negatives did not lower the false "
                   "positives (SpliceFinder's aim)."))  # fmt: skip
        out.append(Finding("splice", f"Splice hard negatives, {task} (SpliceFinder loop)", text,
                           "ok" if verdict == "lower" else "warning"))  # fmt: skip
    return out
