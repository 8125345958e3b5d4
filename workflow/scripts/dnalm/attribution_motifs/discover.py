"""The ``attribution_motifs`` rule: one attribution file -> TF-MoDISco patterns, MEME, TOMTOM
matches, logos, the planted-site AUROC of ``|attr|`` and ``summary.json``."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from dnalm import atomic
from dnalm.attribution_motifs.maps import AttributionMaps, read_attribution_maps, select_rows
from dnalm.attribution_motifs.modisco import read_patterns, run_modisco, write_h5
from dnalm.attribution_motifs.status import attribution_magnitude, attribution_summary

__all__ = ["OUTPUT_FILES", "PATTERN_COLUMNS", "SEQLET_COLUMNS", "discover_attribution_motifs",
           "attribution_site_auroc"]  # fmt: skip

log = logging.getLogger("dnalm.attribution_motifs")

#: Files of one run's directory ``results/attribution_motifs/{task}/{model}/seed{s}/{method}/``.
OUTPUT_FILES = {
    "h5": "modisco.h5",
    "meme": "patterns.meme",
    "patterns": "patterns.tsv",
    "seqlets": "seqlets.tsv",
    "matches": "matches.tsv",
    "logos": "logos",
    "logo_panel": "logos.png",
    "summary": "summary.json",
}
PATTERN_COLUMNS = ["pattern", "n_seqlets", "width", "trim_start", "trim_end", "best_match",
                   "best_strand", "best_q"]  # fmt: skip
SEQLET_COLUMNS = ["pattern", "row", "id", "start", "end", "strand", "contig", "genome_start",
                  "genome_end"]  # fmt: skip
MATCH_Q = 0.05


def _model_numbers(metrics_json: str | Path | None) -> dict[str, Any]:
    if metrics_json is None:
        return {"test_mcc": None, "metrics": None}
    p = Path(metrics_json)
    try:
        m = json.loads(p.read_text())
    except (OSError, ValueError) as e:
        raise ValueError(f"{p}: cannot read model metrics ({e})") from None
    mcc = m.get("mcc")
    return {"test_mcc": None if mcc is None else float(mcc), "n_test": m.get("n_test"),
            "metrics": str(p)}  # fmt: skip


def attribution_site_auroc(
    maps: AttributionMaps,
    truth: str | Path | None,
    kind: str | None,
    n_bootstrap: int = 1000,
    seed: int = 1,
) -> dict[str, Any]:
    """AUROC of ``|attr|`` for planted-site bases against the other bases of the positive rows.

    The same measure as the attention stage's ``site_auroc`` (:func:`dnalm.attention.site_auroc`,
    truth kinds :data:`dnalm.attention.TRUTH_KINDS` by task kind), on every positive row with
    genome coordinates (``-`` rows read reverse-complemented, as the file's ``strand`` says). Returns the block with null values and a ``reason`` when it cannot be
    measured (no truth file, no coordinates, or a task kind without planted sites).
    """
    from dnalm.attention.truth import TRUTH_KINDS, read_truth, site_auroc, site_masks

    null = {"auroc": None, "ci_low": None, "ci_high": None, "n_rows": 0, "truth": None}
    if truth is None:
        return {**null, "reason": "no truth file: the genome is not a demo world"}
    kinds = TRUTH_KINDS.get(kind or "")
    if kinds is None:
        return {**null, "reason": f"no planted-site kind for task kind {kind!r}"}
    if maps.chrom is None:
        return {**null, "reason": f"{maps.path} has no chrom/start arrays (no genome coordinates)"}
    rows = np.flatnonzero((maps.label == 1) & (maps.start >= 0) & (maps.chrom != "."))
    strand = maps.strand if maps.strand is not None else np.full(maps.n, "+")
    starts = maps.start[rows]
    masks = site_masks(read_truth(truth, kinds), maps.chrom[rows].tolist(), starts.tolist(),
                       (starts + maps.length).tolist(), strand[rows].tolist())  # fmt: skip
    res = site_auroc([np.abs(maps.attr[r]) for r in rows], masks, n_bootstrap, seed)
    return {**res, "truth": str(truth), "kinds": list(kinds), "score": "|attr|"}


def _seqlet_lines(patterns, maps: AttributionMaps, used: np.ndarray, offset: int) -> list[str]:
    lines = ["\t".join(SEQLET_COLUMNS)]
    for p in patterns:
        for j in np.lexsort((p.start, p.example_idx)):
            r = int(used[p.example_idx[j]])
            a, b = int(p.start[j]) + offset, int(p.end[j]) + offset
            strand = "-" if p.is_revcomp[j] else "+"
            if maps.chrom is not None and maps.start[r] >= 0:
                g0 = int(maps.start[r])
                if maps.strand is not None and maps.strand[r] == "-":
                    g = f"{maps.chrom[r]}\t{g0 + maps.length - b}\t{g0 + maps.length - a}"
                else:
                    g = f"{maps.chrom[r]}\t{g0 + a}\t{g0 + b}"
            else:
                g = ".\t.\t."
            lines.append(f"{p.name}\t{r}\t{maps.ids[r]}\t{a}\t{b}\t{strand}\t{g}")
    return lines


def discover_attribution_motifs(
    attribution: str | Path,
    out_dir: str | Path,
    known: str | Path | None = None,
    metrics: str | Path | None = None,
    kind: str | None = None,
    truth: str | Path | None = None,
    max_seqs: int | None = 2000,
    window: int | None = None,
    sliding_window_size: int = 21,
    flank_size: int = 10,
    max_seqlets: int = 20000,
    n_leiden_runs: int = 50,
    min_metacluster_size: int = 100,
    final_min_cluster_size: int = 20,
    target_seqlet_fdr: float = 0.2,
    trim_threshold: float = 0.3,
    n_bootstrap: int = 1000,
    seed: int = 1,
    n_jobs: int = 1,
    verbose: bool = False,
) -> dict[str, Any]:
    """TF-MoDISco on one attribution file, then TOMTOM, logos, site AUROC and ``summary.json``.

    Parameters
    ----------
    attribution : str or pathlib.Path
        ``results/attribution/{task}/{model}/seed{s}/{method}.npz``
        (:func:`dnalm.attribution_motifs.read_attribution_maps`).
    out_dir : str or pathlib.Path
        Written whole and atomically; files :data:`OUTPUT_FILES`: ``modisco.h5``
        (modisco-lite's report format), ``patterns.meme`` (trimmed PPMs; ``nsites`` = seqlets),
        ``patterns.tsv`` (:data:`PATTERN_COLUMNS`), ``seqlets.tsv`` (:data:`SEQLET_COLUMNS`: row
        of the attribution file, 0-based half-open span in the row, genome span when the file
        has coordinates), ``matches.tsv`` (:func:`dnalm.tomtom.match_motifs`), ``logos/``,
        ``logos.png`` and ``summary.json`` (:func:`dnalm.attribution_motifs.attribution_summary`
        plus ``site_auroc``).
    known : str or pathlib.Path, optional
        Known motifs (MEME, JASPAR or TRANSFAC). Default is None (no matching).
    metrics : str or pathlib.Path, optional
        The model's ``metrics.json`` (test MCC for the diagnostics). Default is None.
    kind : str, optional
        The task kind (``card.json``): which planted sites count. Default is None.
    truth : str or pathlib.Path, optional
        A demo world's ``truth/positions.tsv``. Default is None (no site AUROC).
    max_seqs : int, optional
        Positives modisco reads at most (seeded subsample). Default is 2000.
    window, sliding_window_size, flank_size, max_seqlets, n_leiden_runs, min_metacluster_size, \
final_min_cluster_size, target_seqlet_fdr : optional
        :func:`dnalm.attribution_motifs.run_modisco`.
    trim_threshold : float, optional
        Pattern trimming (:func:`dnalm.attribution_motifs.trim_bounds`). Default is 0.3.
    n_bootstrap, seed : int, optional
        Site-AUROC bootstrap resamples; seed of the subsample and the bootstrap. Defaults 1000, 1.
    n_jobs : int, optional
        TOMTOM threads. Default is 1.
    verbose : bool, optional

    Returns
    -------
    dict
        The summary written.
    """
    from dnalm.logos import draw_logo_panel, draw_logos
    from dnalm.meme import write_meme
    from dnalm.motif_formats import read_motifs
    from dnalm.motifs.status import warning_block
    from dnalm.tomtom import COLUMNS, match_motifs

    maps = read_attribution_maps(attribution)
    used = select_rows(maps, max_seqs, seed)
    sub = maps.take(used)
    settings = {"max_seqs": max_seqs, "window": window, "sliding_window_size": sliding_window_size,
                "flank_size": flank_size, "max_seqlets": max_seqlets,
                "n_leiden_runs": n_leiden_runs, "min_metacluster_size": min_metacluster_size,
                "final_min_cluster_size": final_min_cluster_size,
                "target_seqlet_fdr": target_seqlet_fdr, "trim_threshold": trim_threshold,
                "seed": seed}  # fmt: skip
    log.info("%s: %d rows, %d positives, TF-MoDISco on %d", maps.path, maps.n,
             int((maps.label == 1).sum()), used.size)  # fmt: skip
    run = run_modisco(sub.onehot, sub.hyp, window, sliding_window_size, flank_size, max_seqlets,
                      n_leiden_runs, min_metacluster_size, final_min_cluster_size,
                      target_seqlet_fdr, verbose)  # fmt: skip
    out_dir = Path(out_dir)
    with atomic.atomic_dir(out_dir) as tmp:
        f = {k: tmp / v for k, v in OUTPUT_FILES.items()}
        write_h5(run, f["h5"], sliding_window_size)
        patterns = read_patterns(f["h5"], trim_threshold)
        write_meme(f["meme"], {p.name: p.ppm for p in patterns},
                   nsites={p.name: p.n_seqlets for p in patterns})  # fmt: skip
        if known and patterns:
            matches = match_motifs(f["meme"], known, n_jobs=n_jobs)
        else:
            if not known:
                log.warning("no known-motif file configured for this genome: matches.tsv is empty")
            matches = pd.DataFrame(columns=COLUMNS)
        atomic.write_text(f["matches"], matches.to_csv(sep="\t", index=False, float_format="%.6g"))
        best = (matches.sort_values(["q", "p"]).groupby("query", sort=False).head(1)
                .set_index("query") if len(matches) else None)  # fmt: skip
        rows = ["\t".join(PATTERN_COLUMNS)]
        for p in patterns:
            b = best.loc[p.name] if best is not None and p.name in best.index else None
            rows.append("\t".join(map(str, [
                p.name, p.n_seqlets, p.ppm.shape[0], p.trim[0], p.trim[1],
                "." if b is None else b["target"], "." if b is None else b["strand"],
                "." if b is None else f"{float(b['q']):.6g}"])))  # fmt: skip
        atomic.write_text(f["patterns"], "\n".join(rows) + "\n")
        atomic.write_text(f["seqlets"], "\n".join(_seqlet_lines(patterns, maps, used, run.offset)) + "\n")
        titles = {p.name: f"{p.name}  n={p.n_seqlets}" for p in patterns}
        draw_logos({p.name: p.ppm for p in patterns}, f["logos"], titles)
        n_matched = (int(matches.loc[matches["q"].astype(float) < MATCH_Q, "query"].nunique())
                     if known else None)  # fmt: skip
        summary = attribution_summary(
            n_rows=maps.n, n_positives=int((maps.label == 1).sum()), n_used=int(used.size),
            n_pos_seqlets=run.n_pos_seqlets, n_neg_seqlets=run.n_neg_seqlets,
            threshold=run.threshold, patterns={p.name: p.n_seqlets for p in patterns},
            n_matched=n_matched, magnitude=attribution_magnitude(sub.attr),
            model=_model_numbers(metrics), settings=settings,
        )  # fmt: skip
        summary["attribution_file"] = str(maps.path)
        summary["site_auroc"] = attribution_site_auroc(maps, truth, kind, n_bootstrap, seed)
        atomic.write_json(f["summary"], summary)
        draw_logo_panel(
            {p.name: p.ppm for p in patterns}, matches,
            read_motifs(known) if known else None, f["logo_panel"], titles=titles,
            empty_message=f"NOTHING FOUND: status {summary['status']}\n{summary['reason']}",
        )  # fmt: skip
    if summary["status"] == "ok":
        log.info("TF-MoDISco status ok: %s", summary["reason"])
    else:
        warning_block(
            log,
            f"TF-MODISCO FOUND NOTHING USABLE: status {summary['status']}",
            [summary["reason"], f"attribution file {maps.path}; see {out_dir / 'summary.json'}"],
        )
    return summary

