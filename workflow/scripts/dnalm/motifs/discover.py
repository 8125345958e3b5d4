"""The ``motif_discover`` rule: attention scores + test split -> MEME, instances, logos, matches,
and ``summary.json`` (status and the numbers that explain an empty result)."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from dnalm import atomic
from dnalm.motifs.find import MotifResult, find_motifs
from dnalm.motifs.status import motif_summary, warning_block

__all__ = ["INSTANCE_COLUMNS", "discover_motifs"]

log = logging.getLogger("dnalm.motifs")


INSTANCE_COLUMNS = [
    "motif",
    "row",
    "source_id",
    "start",
    "end",
    "strand",
    "site",
    "region",
    "pvalue",
    "padj",
]


def _load_inputs(
    scores_npz: Path, dataset: Path, positives: str
) -> tuple[list[str], np.ndarray, np.ndarray, list[str]]:
    """Scores, the matching split (:func:`dnalm.dataset.read_split`) and the positive mask."""
    from dnalm.dataset import read_split

    if positives not in ("true_label", "predicted_label"):
        raise ValueError(
            f"`positives` must be 'true_label' or 'predicted_label', got {positives!r}"
        )
    with np.load(scores_npz) as z:
        for key in ("scores", "labels", "probs"):
            if key not in z:
                raise ValueError(f"{scores_npz}: missing array {key!r}")
        scores, labels, probs = z["scores"], z["labels"], z["probs"]
    df = read_split(dataset)
    if len(df) != scores.shape[0]:
        raise ValueError(
            f"{scores_npz}: {scores.shape[0]} rows of scores but {dataset} has {len(df)} rows"
        )
    if not np.array_equal(df["label"].to_numpy(np.int64), labels.astype(np.int64)):
        raise ValueError(f"{scores_npz}: labels differ from {dataset} (rows out of order?)")
    if positives == "true_label":
        pos = labels.astype(np.int64) == 1
    else:
        pos = probs.argmax(axis=1) == 1
    source = df["source_id"].tolist() if "source_id" in df else [""] * len(df)
    return df["sequence"].tolist(), scores, pos, source


def discover_motifs(
    scores_npz: str | Path,
    dataset: str | Path,
    meme_out: str | Path,
    instances_out: str | Path,
    matches_out: str | Path,
    logos_dir: str | Path,
    logo_panel_out: str | Path | None = None,
    known_meme: str | Path | None = None,
    summary_out: str | Path | None = None,
    positives: str = "true_label",
    min_len: int = 5,
    window: int = 24,
    pval_cutoff: float = 0.005,
    min_n_motif: int = 3,
    candidates: str = "regions",
    candidate_len: int = 8,
    region_rule: str = "dnabert",
    min_ratio: float = 10.0,
    mean_ratio: float = 1.0,
    quantile: float = 0.9,
    n_jobs: int = 1,
    verbose: bool = False,
) -> MotifResult:
    """The ``motif_discover`` rule: attention scores + test set -> motif files.

    Parameters
    ----------
    scores_npz : str or pathlib.Path
        ``results/attention/{task}/{model}/scores.npz`` (``scores``, ``labels``, ``probs``).
    dataset : str or pathlib.Path
        The matching ``test.tsv.gz`` (same rows, same order).
    meme_out, instances_out, matches_out : str or pathlib.Path
        ``motifs.meme`` (MEME minimal; ``nsites``; alternate name ``padj=<min adjusted p>``),
        ``instances.tsv`` (columns :data:`INSTANCE_COLUMNS`; ``row`` is the dataset row,
        ``start``/``end`` the 0-based window in the sequence, strand always ``+`` as windows
        are read on the sequence's own strand) and ``matches.tsv`` (see
        :func:`dnalm.tomtom.match_motifs`).
    logos_dir : str or pathlib.Path
        One logomaker PNG per motif plus ``index.tsv``.
    logo_panel_out : str or pathlib.Path, optional
        One PNG with each motif's logo beside its best known match (for the report).
        Default is None (not drawn).
    known_meme : str or pathlib.Path, optional
        Known motifs to match against: MEME, JASPAR or TRANSFAC
        (:func:`dnalm.motif_formats.read_motifs`). Default is None (header-only ``matches.tsv``).
    summary_out : str or pathlib.Path, optional
        ``summary.json`` (:func:`dnalm.motifs.motif_summary`): ``status`` (``ok``,
        ``no_regions``, ``no_significant_candidates``, ``too_few_windows``, ``no_known_match``),
        ``reason`` and the numbers behind it. Any status but ``ok`` is also logged as a framed
        WARNING block. Default is None (not written; the status is still logged).
    positives : {"true_label", "predicted_label"}, optional
        Which sequences are positives. Default is "true_label" (as DNABERT).
    min_len, window, pval_cutoff, min_n_motif, candidates, candidate_len : optional
        See :func:`find_motifs`.
    region_rule, min_ratio, mean_ratio, quantile : optional
        The high-attention region rule (:class:`dnalm.motifs.RegionRule`); the defaults are
        DNABERT's (> mean and > 10 x min).
    n_jobs : int, optional
        Threads for TOMTOM. Default is 1.
    verbose : bool, optional
        Default is False.

    Returns
    -------
    MotifResult
    """
    import pandas as pd

    from dnalm.logos import draw_logo_panel, draw_logos
    from dnalm.meme import write_meme
    from dnalm.motif_formats import read_motifs
    from dnalm.tomtom import COLUMNS, match_motifs

    seqs, scores, pos, source = _load_inputs(Path(scores_npz), Path(dataset), positives)
    result = find_motifs(
        seqs,
        scores,
        pos,
        min_len,
        window,
        pval_cutoff,
        min_n_motif,
        candidates=candidates,
        candidate_len=candidate_len,
        region_rule=region_rule,
        min_ratio=min_ratio,
        mean_ratio=mean_ratio,
        quantile=quantile,
        verbose=verbose,
    )
    motifs = result.motifs
    write_meme(
        meme_out,
        {m.name: m.pwm for m in motifs},
        nsites={m.name: m.n_sites for m in motifs},
        comments={m.name: f"padj={m.min_padj:.3g}" for m in motifs},
    )
    lines = ["\t".join(INSTANCE_COLUMNS)]
    for m in motifs:
        sites = m.sites(seqs)
        order = np.lexsort((m.start, m.seq_index))
        for j in order:
            i = int(m.seq_index[j])
            lines.append(
                f"{m.name}\t{i}\t{source[i]}\t{int(m.start[j])}\t{int(m.end[j])}\t+\t"
                f"{sites[j]}\t{m.region[j]}\t{m.pvalue[j]:.6g}\t{m.padj[j]:.6g}"
            )
    atomic.write_text(instances_out, "\n".join(lines) + "\n")
    draw_logos(
        {m.name: m.pwm for m in motifs},
        logos_dir,
        titles={m.name: f"{m.name}  n={m.n_sites}  padj={m.min_padj:.2g}" for m in motifs},
    )
    if known_meme and motifs:
        matches = match_motifs(meme_out, known_meme, n_jobs=n_jobs)
    else:
        if not known_meme:
            log.warning("no known-motif file configured for this genome: matches.tsv is empty")
        matches = pd.DataFrame(columns=COLUMNS)
    atomic.write_text(matches_out, matches.to_csv(sep="\t", index=False, float_format="%.6g"))
    good = matches[matches["q"].astype(float) < 0.05] if len(matches) else matches
    log.info(
        "wrote %d motifs (%d sites); %d motif-target matches with q < 0.05",
        len(motifs),
        sum(m.n_sites for m in motifs),
        len(good),
    )
    settings = {"positives": positives, "min_len": min_len, "window": window,
                "pval_cutoff": pval_cutoff, "min_n_motif": min_n_motif, "candidates": candidates,
                "candidate_len": candidate_len, "region_rule": region_rule,
                "min_ratio": min_ratio, "mean_ratio": mean_ratio, "quantile": quantile}  # fmt: skip
    n_matched = int(good["query"].nunique()) if known_meme else None
    summary = motif_summary(result, seqs, scores, pos, n_matched, settings)
    if summary_out is not None:
        atomic.write_json(summary_out, summary)
    if logo_panel_out is not None:
        draw_logo_panel(
            {m.name: m.pwm for m in motifs},
            matches,
            read_motifs(known_meme) if known_meme else None,
            logo_panel_out,
            titles={m.name: f"{m.name}  n={m.n_sites}  padj={m.min_padj:.2g}" for m in motifs},
            empty_message=f"NO MOTIFS: status {summary['status']}\n{summary['reason']}",
        )
    if summary["status"] == "ok":
        log.info("motif discovery status ok: %s", summary["reason"])
    else:
        r = summary["attention_ratio"]
        warning_block(
            log,
            f"MOTIF DISCOVERY FOUND NOTHING USABLE: status {summary['status']}",
            [
                summary["reason"],
                f"{summary['n_positives']} positives of {summary['n_seqs']} sequences; "
                f"{summary['n_regions']} regions, {summary['n_candidates']} candidates, "
                f"{summary['n_significant']} significant, {summary['n_motifs']} motifs",
                f"attention max/min ratio of the positives: median {r['median']} "
                f"(5%..95%: {r['q05']}..{r['q95']}); rule {summary['rule']}",
                f"best raw p {summary['best_pvalue']}, best adjusted p {summary['best_padj']}",
                "the motif tables are empty or unmatched"
                + (f"; see {summary_out}" if summary_out is not None else ""),
            ],
        )
    return result
