"""Front-page findings of the interpretation stages: attention (Fig. 4), motifs (Fig. 4) and
functional variants (Fig. 5), from each stage's result files."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from dnalm.reporting._common import Finding, _f, _json, _num, _p

__all__ = ["MATCH_Q", "attention_findings", "interpretation_findings", "motif_findings",
           "variant_findings"]  # fmt: skip

#: q below which a discovered motif counts as a match of a known motif (TOMTOM q).
MATCH_Q = 0.05



#: Significance level of the attention findings (the contrast's permutation p).
ALPHA = 0.05
#: A contrast peak this close to the window's first or last base is an edge effect (k-mer
#: attention spread back to bases has fewer k-mers there).
EDGE_BP = 5


def attention_findings(dirs: Sequence[Path]) -> list[Finding]:
    if not dirs:
        return [Finding("attention", "Attention (Fig. 4)", "not configured: no attention task",
                        "missing")]  # fmt: skip
    out = []
    for d in dirs:
        task, model = d.parent.name, d.name
        s = _json(d / "summary.json")
        title = f"Attention, {task} ({model})"
        if s is None:
            out.append(Finding("attention", title, "not measured (no summary.json)", "missing"))
            continue
        parts, status = [], "ok"
        land = s.get("landscape") or {}
        if land.get("peak_position") is not None:
            pv = _num(land.get("pvalue"))
            parts.append(
                f"positives-minus-negatives contrast peaks at {land['peak_position']} bp "
                f"({'TSS' if land.get('coordinates') == 'tss' else 'window centre'}-relative), "
                f"permutation p={_p(land.get('pvalue'))} (n={land.get('n_positive')} positive, "
                f"{land.get('n_negative')} negative test rows, "
                f"{land.get('n_permutations')} shuffles)"
            )
            if not pv < ALPHA:
                status = "warning"
                parts.append(f"no significant class contrast (p ≥ {ALPHA})")
            pos = land.get("position") or []
            if pos and min(abs(land["peak_position"] - pos[0]), abs(pos[-1] - land["peak_position"])) < EDGE_BP:
                status = "warning"
                parts.append(f"the peak is within {EDGE_BP} bp of the window's edge "
                             f"({pos[0]}..{pos[-1]}): an edge effect, not a site")  # fmt: skip
            claim = land.get("tata_claim")
            if claim:
                lo, hi = claim["window"]
                if not claim.get("room"):
                    parts.append(f"the TATA claim is not testable here (< {claim['margin']} bp "
                                 f"each side of {claim['at']})")  # fmt: skip
                else:
                    parts.append(f"TATA claim (peak in {lo}..{hi}, p < {claim['alpha']}) "
                                 f"{'holds' if claim.get('holds') else 'does NOT hold'}")  # fmt: skip
                    status = "ok" if claim.get("holds") else "warning"
        elif land.get("reason"):
            parts.append(f"no class contrast: {land['reason']}")
        site = s.get("site_auroc") or {}
        if site.get("auroc") is not None:
            parts.append(f"planted-site attention AUROC {_f(site['auroc'])} "
                         f"[{_f(site.get('ci_low'))}, {_f(site.get('ci_high'))}] "
                         f"(n={site.get('n_rows')} positive rows)")  # fmt: skip
            lo, hi = _num(site.get("ci_low")), _num(site.get("ci_high"))
            if hi < 0.5:
                status = "warning"
                parts.append("attention avoids the planted sites (CI below 0.5)")
            elif not lo > 0.5:
                status = "warning"
                parts.append("attention does not pick out the planted sites (CI includes 0.5)")
        if s.get("status") not in (None, "ok"):
            status = "warning"
            parts.append(f"{s['status']}: {s.get('reason')}")
        out.append(Finding("attention", title, "; ".join(parts) or "nothing measured", status))
    return out


def _meme_nsites(path: Path) -> dict[str, int]:
    out: dict[str, int] = {}
    if not path.is_file():
        return out
    name = None
    for line in path.read_text().splitlines():
        if line.startswith("MOTIF "):
            name = line.split()[1]
        elif name and "nsites=" in line:
            try:
                out[name] = int(float(line.split("nsites=")[1].split()[0]))
            except (ValueError, IndexError):
                pass
    return out


def motif_findings(dirs: Sequence[Path]) -> list[Finding]:
    if not dirs:
        return [Finding("attention", "Attention motifs (Fig. 4)",
                        "not configured: no motif task", "missing")]  # fmt: skip
    out = []
    for d in dirs:
        task, model = d.parent.name, d.name
        title = f"Attention motifs, {task} ({model})"
        summary = _json(d / "summary.json") or {}
        m = pd.read_csv(d / "matches.tsv", sep="\t")
        n_motifs = summary.get("n_motifs", len(set(_meme_nsites(d / "motifs.meme"))
                                               or set(m.get("query", []))))  # fmt: skip
        if m.empty:
            why = summary.get("reason") or "no motif was discovered or no known motif was given"
            out.append(Finding("attention", title, f"no known motif recovered: {why} "
                               f"({n_motifs} motifs discovered)", "warning"))  # fmt: skip
            continue
        nsites = _meme_nsites(d / "motifs.meme")
        best = m.sort_values(["q", "p"]).groupby("target", sort=False).head(1)
        hits = best[best["q"] < MATCH_Q].sort_values("q")
        parts = [f"{r.target} (q={_p(r.q)}, by {r.query}"
                 + (f", {nsites[r.query]} sites)" if r.query in nsites else ")")
                 for r in hits.itertuples()]  # fmt: skip
        n_pos = summary.get("n_positives")
        ctx = f"{n_motifs} motifs discovered" + (f" from {n_pos} positive test rows" if n_pos else "")
        if parts:
            text = f"{len(hits)} known motif(s) matched at q < {MATCH_Q} (of {best['target'].nunique()} in the known-motif database): {'; '.join(parts)} ({ctx})"
        else:
            text = (f"no known motif matched at q < {MATCH_Q} (best: {best.iloc[0]['target']}, "
                    f"q={_p(best['q'].min())}; {ctx})")  # fmt: skip
        out.append(Finding("attention", title, text, "ok" if parts else "warning"))
    return out


def _auroc_ci(y: np.ndarray, s: np.ndarray, n_boot: int = 1000, seed: int = 0) -> tuple[float, float, float]:
    """AUROC (ties count half) and its 95% percentile-bootstrap interval over rows."""
    from scipy.stats import rankdata

    def auc(yy: np.ndarray, ss: np.ndarray) -> float:
        n1 = int(yy.sum())
        n0 = yy.size - n1
        if n1 == 0 or n0 == 0:
            return math.nan
        r = rankdata(ss)
        return float((r[yy == 1].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))

    point = auc(y, s)
    rng = np.random.default_rng(seed)
    draws = [auc(y[i], s[i]) for i in (rng.integers(0, y.size, y.size) for _ in range(n_boot))]
    d = np.asarray([x for x in draws if math.isfinite(x)])
    lo, hi = (np.quantile(d, [0.025, 0.975]) if d.size else (math.nan, math.nan))
    return point, float(lo), float(hi)


def variant_findings(dirs: Sequence[Path]) -> list[Finding]:
    if not dirs:
        return [Finding("variants", "Functional variants (Fig. 5)",
                        "not configured: no variant task", "missing")]  # fmt: skip
    out = []
    for d in dirs:
        task, model = d.parent.name, d.name
        title = f"Functional variants, {task} ({model})"
        cv = pd.read_csv(d / "clinvar.tsv", sep="\t")
        two = cv[cv["clinvar_class"].isin(["pathogenic", "benign"])]
        y = (two["clinvar_class"] == "pathogenic").to_numpy(int)
        n1, n0 = int(y.sum()), int((y == 0).sum())
        summary = _json(d / "summary.json") or {}
        clf = summary.get("classifier")
        if clf and clf != model:  # variants.classifier: another model scored the windows
            title = f"Functional variants, {task} (scored by {clf}; regions and LM {model})"
        parts, status = [], "ok"
        stage_ci = (summary.get("auroc_pathogenic_vs_benign_ci") or {}).get("score") or {}
        if stage_ci.get("auroc") is not None and stage_ci.get("ci"):
            # the stage's own interval (bootstrap within each class)
            a, (lo, hi) = stage_ci["auroc"], stage_ci["ci"]
            n1, n0 = stage_ci.get("n_pathogenic", n1), stage_ci.get("n_benign", n0)
        elif n1 and n0:
            a, lo, hi = _auroc_ci(y, two["score"].to_numpy(float))
        else:
            a = None
        if a is not None:
            parts.append(f"ClinVar pathogenic vs benign AUROC by |logOR| {_f(a)} [{_f(lo)}, "
                         f"{_f(hi)}] (n={n1} pathogenic, {n0} benign)")  # fmt: skip
            if not lo > 0.5:
                status = "warning"
        else:
            parts.append(f"no AUROC: {n1} pathogenic and {n0} benign ClinVar variants scored")
            status = "warning"
        zs = summary.get("zero_shot_auroc") or {}
        if zs.get("auroc") is not None and zs.get("ci"):
            parts.append(f"zero-shot LM AUROC (by -LLR) {_f(zs['auroc'])} [{_f(zs['ci'][0])}, "
                         f"{_f(zs['ci'][1])}]" + (f", {zs['direction']}" if zs.get("direction") else ""))
            if _num(zs["ci"][1]) < 0.5:  # the LM finds pathogenic alleles the more likely ones
                status = "warning"
                parts.append("the zero-shot score is significantly reversed (CI below 0.5)")
        by_class = summary.get("significant_fdr_by_class") or {}
        if by_class:
            parts.append(", ".join(
                f"{v.get('n_significant')} of {v.get('n')} {c} significant at FDR "
                f"{summary.get('fdr')}" for c, v in by_class.items()
                if c in ("pathogenic", "benign")))  # fmt: skip
        enr = summary.get("enrichment") or {}
        if enr.get("fisher_pvalue") is not None:
            parts.append(f"Fisher enrichment of pathogenic among high-scoring variants "
                         f"p={_p(enr['fisher_pvalue'])}")  # fmt: skip
        if "n_significant_fdr" in summary:
            parts.append(f"{summary['n_significant_fdr']} of {summary.get('n_scored')} scored "
                         f"variants significant at FDR {summary.get('fdr')} "
                         f"(null of {summary.get('n_null')} random SNVs"
                         + (f", {pv['n_reference']} of them the reference of the p-values"
                            if (pv := summary.get("pvalues") or {}).get("n_reference") else "")
                         + ")")  # fmt: skip
        out.append(Finding("variants", title, "; ".join(parts), status))
    return out


def interpretation_findings(tables: Sequence[Path]) -> list[Finding]:
    """Attention vs attribution motifs, one finding per task (``results/summary/interpretation/``).

    Each run of the side-by-side table is one clause: the known motifs it recovered (TOMTOM q)
    and its planted-site AUROC, or "nothing found" with its status and reason (a warning).
    """
    if not tables:
        return [Finding("attention", "Attention vs attribution motifs",
                        "not configured: no TF-MoDISco task (modisco.tasks / attribution.tasks)",
                        "missing")]  # fmt: skip
    out = []
    for path in tables:
        path = Path(path)
        title = f"Attention vs attribution motifs, {path.stem}"
        if not path.is_file():
            out.append(Finding("attention", title, "not measured (no table)", "missing"))
            continue
        t = pd.read_csv(path, sep="\t")
        if t.empty:
            out.append(Finding("attention", title, "no interpretation run", "warning"))
            continue
        parts, status = [], "ok"
        for r in t.itertuples():
            who = (f"attention {r.model}" if r.route == "attention"
                   else f"{str(r.method).upper()} {r.model}")  # fmt: skip
            if str(r.nothing_found) == "True":
                status = "warning"
                parts.append(f"{who}: nothing found ({r.status}: {r.reason})")
                continue
            rec = r.recovered if isinstance(r.recovered, str) and r.recovered != "." else "no known motif"
            auc = ""
            if pd.notna(r.site_auroc):
                auc = (f", planted-site AUROC {_f(r.site_auroc)} [{_f(r.site_auroc_ci_low)}, "
                       f"{_f(r.site_auroc_ci_high)}] (n={r.site_auroc_n_rows} rows)")  # fmt: skip
            parts.append(f"{who}: {rec}, {r.n_motifs} motifs / {r.n_instances} instances{auc}")
        out.append(Finding("attention", title, "; ".join(parts), status))
    return out
