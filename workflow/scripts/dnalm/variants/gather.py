"""Gather step: the random-SNV null, p-values, BH, ClinVar statistics (rule ``variant_score``).

:func:`summarise_variants` reads every shard of one scatter
(:func:`~dnalm.variants.shard.score_variant_shard`), scores the null once, adds
``pvalue`` (:func:`~dnalm.variants.pvalues.variant_pvalues`) and ``qvalue`` (BH over all
variants) and writes the public outputs; :func:`score_variants` is the one-process composition
of both steps.
"""

from __future__ import annotations

import json
import logging
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from dnalm import atomic
from dnalm import clinvar as cv
from dnalm.stats import bh_adjust
from dnalm.variants.effects import classifier_delta, delta_scores
from dnalm.variants.evaluate import clinvar_statistics, significance_by_class
from dnalm.variants.plots import plot_scores, plot_top
from dnalm.variants.pvalues import NULL_MODELS, variant_pvalues
from dnalm.variants.select import (
    WindowIndex,
    card_window_length,
    check_context,
    null_candidates,
    read_positive_windows,
    scoring_windows,
    window_sequence,
)
from dnalm.variants.shard import (
    CLINVAR_COLUMNS,
    SCORE_COLUMNS,
    SHARD_COLUMNS,
    jsonable,
    read_shard_table,
    score_variant_shard,
    write_table,
)

__all__ = ["NULL_COLUMNS", "RANKING_SCORE", "summarise_variants", "score_variants"]

log = logging.getLogger(__name__)

RANKING_SCORE = "abs_logOR"
#: Columns of ``null.tsv.gz``: the random SNVs of the null (see :func:`_null_table`).
NULL_COLUMNS = ["contig", "pos", "ref", "alt", "strand", "window", "window_id", "offset", "p_ref",
                "p_alt", "logOR", "pvalue"]


def _merge_counts(metas: Sequence[Mapping], max_examples: int = 20) -> dict:
    """Sum the per-shard selection counts (REF-mismatch examples: first by position)."""
    out: dict[str, dict] = {}
    for m in metas:
        for src, c in m["counts"].items():
            acc = out.setdefault(src, {})
            for key, v in c.items():
                if isinstance(v, list):
                    acc.setdefault(key, []).extend(v)
                else:
                    acc[key] = acc.get(key, 0) + v

    def where(ex: str) -> tuple[str, int]:
        contig, pos = ex.split(" ", 1)[0].rsplit(":", 1)
        return contig, int(pos)

    for acc in out.values():
        if "ref_mismatch_examples" in acc:
            acc["ref_mismatch_examples"] = sorted(acc["ref_mismatch_examples"], key=where)[:max_examples]
    return out


def _read_shards(shard_tables, shard_meta, context: str, L: int) -> tuple[pd.DataFrame, list[dict]]:
    """All shard rows and metadata, checked to be shards 1..n of one scatter."""
    if len(shard_tables) != len(shard_meta) or not shard_tables:
        raise ValueError("`shard_tables` and `shard_meta` must be non-empty and of equal length")
    metas = []
    for p in shard_meta:
        m = json.loads(Path(p).read_text())
        for key, want in (("n_shards", len(shard_meta)), ("context", context), ("window_length", L)):
            if m.get(key) != want:
                raise ValueError(f"{p}: shard has {key}={m.get(key)!r}, expected {want!r}")
        metas.append(m)
    got = sorted(m["shard"] for m in metas)
    if got != list(range(1, len(metas) + 1)):
        raise ValueError(f"shards {got} are not 1..{len(metas)} exactly once ({list(shard_meta)})")
    tables = []
    for p, m in zip(shard_tables, metas, strict=True):
        t = read_shard_table(p)
        if len(t) != m["n_rows"]:
            raise ValueError(f"{p}: {len(t)} rows, its metadata says {m['n_rows']}")
        tables.append(t)
    df = pd.concat(tables, ignore_index=True) if tables else pd.DataFrame(columns=SHARD_COLUMNS)
    return df, metas


def _add_normalise_counts(counts: dict, normalise_counts: Mapping[str, str | Path] | None) -> None:
    """Copy what ``vcf_normalise`` dropped (outside-genome contigs, records without a
    scorable ALT) into the per-source counts."""
    for src, path in (normalise_counts or {}).items():
        if src in counts and path and Path(path).is_file():
            nc = json.loads(Path(path).read_text())
            dropped = nc.get("dropped", {})
            counts[src]["outside_genome_records"] = dropped.get("unknown_contig",
                                                                nc.get("records_dropped", 0))
            counts[src]["outside_genome_contigs"] = nc.get("dropped_contigs", {})
            counts[src]["normalise_dropped"] = dropped


def _mutation_maps(df, clf, k, fasta, lengths, n, batch_size, device, positive_class, path):
    """ISM maps of the top ``n`` variants' classifier windows, drawn into one PNG."""
    from dnalm.mutagenesis import plot_mutation_maps, saturation_mutagenesis

    maps, seqs, titles, marks = [], [], [], []
    for r in df.head(n).to_dict("records"):
        seq = window_sequence(fasta, lengths, r["window"])
        m, _ = saturation_mutagenesis(clf, seq, k, batch_size, device, positive_class)
        maps.append(m)
        seqs.append(seq)
        marks.append(int(r["offset"]))  # the variant's own offset in the classifier input
        titles.append(f"{r['contig']}:{r['pos']} {r['ref']}>{r['alt']} ({r['source']}, "
                      f"ClinVar {r['clinvar_class']}), {r['window_id']} {r['strand']}: "
                      f"p_ref={r['p_ref']:.3f} p_alt={r['p_alt']:.3f} logOR={r['logOR']:.2f}")
    plot_mutation_maps(maps, seqs, titles, marks, path)


def _null_table(null, nwin, p_ref, p_alt, logor, pvalue) -> pd.DataFrame:
    """The random SNVs of the null with their windows, scores and their own p-values (each
    tested against the whole null, itself included): what a calibration check reads (e.g. the
    p-values of null SNVs outside known motif instances should be uniform or conservative)."""
    return pd.DataFrame({
        "contig": [a.contig for a, _ in null], "pos": [a.pos for a, _ in null],
        "ref": [a.ref for a, _ in null], "alt": [a.alt for a, _ in null],
        "strand": nwin.strand, "window": nwin.window, "window_id": nwin.window_id,
        "offset": nwin.offset, "p_ref": p_ref, "p_alt": p_alt, "logOR": logor, "pvalue": pvalue,
    }, columns=NULL_COLUMNS)


def _pvalue_summary(df: pd.DataFrame, info: dict, null_size: int, fdr: float) -> dict:
    """``summary.json``'s ``pvalues``: the null, its resolution and what BH needs."""
    m = int(np.isfinite(df["pvalue"].to_numpy(float)).sum()) if len(df) else 0
    p = df["pvalue"].to_numpy(float) if len(df) else np.zeros(0)
    h0 = {"neutral": "the variant changes the prediction no more than neutral mutations do "
                     "(reference: null SNVs on the gain side of the median logOR, reflected)",
          "random_snv": "the variant is no more damaging than a random SNV in a positive "
                        "window (reference: |logOR| of all null SNVs)"}[info["method"]]
    tail = info["tail"]
    return {
        **info,
        "h0": h0,
        "null_size": int(null_size),
        "statistic": "|logOR - center|" if info["method"] == "neutral" else "|logOR|",
        "tail_method": ("generalised Pareto tail (Knijnenburg et al. 2009) past the 10th largest "
                        "reference value; shape at its one-SE upper bound, >= 0")
        if tail is not None else "none (fewer than 40 reference values)",
        "min_attainable_pvalue": 0.0 if tail is not None else info["min_empirical_pvalue"],
        "min_attainable_note": "an infimum: tail p-values decrease without floor but are never 0"
        if tail is not None else "1 / (n_reference + 1): no tail",
        "n_tests": m,
        "bh_smallest_p_needed": fdr / m if m else None,
        "min_pvalue": float(np.nanmin(p)) if m else None,
    }


def summarise_variants(
    shard_tables: Sequence[str | Path],
    shard_meta: Sequence[str | Path],
    genome_fasta: str | Path,
    datasets: Sequence[str | Path],
    card: str | Path,
    classifier_dir: str | Path,
    outputs: Mapping[str, str | Path],
    normalise_counts: Mapping[str, str | Path] | None = None,
    context: str = "region",
    batch_size: int = 64,
    null_size: int = 1000,
    top_mutation_maps: int = 5,
    seed: int = 1,
    pvalue_null: str = "neutral",
    tail_size: int = 100,
    high_p: float = 0.05,
    fdr: float = 0.05,
    positive_class: int = 1,
    device=None,
    verbose: bool = False,
    labels: Mapping[str, str] | None = None,
) -> dict:
    """Gather the shards: random-SNV null, p-values, BH, ClinVar statistics, figures.

    Parameters
    ----------
    shard_tables, shard_meta : sequence of path
        All shards of one scatter (``.tsv.gz`` and ``.json`` of
        :func:`~dnalm.variants.shard.score_variant_shard`), in any order; they must be shards
        1..n of the same n, context and window length.
    Other parameters
        As in :func:`score_variants`.

    Returns
    -------
    summary : dict
        What ``summary.json`` holds. Identical for any number of shards, except ``scatter``.
    """
    import pysam

    from dnalm.predict import load_classifier

    check_context(context)
    if pvalue_null not in NULL_MODELS:
        raise ValueError(f"`pvalue_null` must be one of {NULL_MODELS}, got {pvalue_null!r}")
    L = card_window_length(card, positive_class)
    df, metas = _read_shards(shard_tables, shard_meta, context, L)
    counts = _merge_counts(sorted(metas, key=lambda m: m["shard"]))
    _add_normalise_counts(counts, normalise_counts)
    if "clinvar" in counts and counts["clinvar"].get("selected", 0) == 0:
        log.warning("ClinVar: no variant inside the positive windows of this task; "
                    "clinvar.tsv is empty and no AUROC/enrichment can be computed")

    # ---- null: random SNVs in positive windows, scored like the variants
    fasta = pysam.FastaFile(str(genome_fasta))
    lengths = dict(zip(fasta.references, fasta.lengths, strict=True))
    positives = read_positive_windows(datasets, positive_class)
    clf, k = load_classifier(classifier_dir)
    for p, m in zip(shard_meta, metas, strict=True):
        if m.get("k") != k:
            raise ValueError(f"{p}: shard scored with k={m.get('k')}, classifier has k={k}")
    null = null_candidates(positives, fasta, lengths, null_size, np.random.default_rng(seed))
    nwin = scoring_windows(null, fasta, lengths, L,
                           WindowIndex(positives, L) if context == "region" else None)
    np_ref, np_alt = classifier_delta(clf, k, nwin.ref, nwin.alt, batch_size, device,
                                      positive_class, verbose)
    null_logor = delta_scores(np_ref, np_alt)[1]
    null_score = np.abs(null_logor)
    df["pvalue"], pinfo = variant_pvalues(df["logOR"].to_numpy(np.float64), null_logor,
                                          pvalue_null, tail_size)
    df["qvalue"] = bh_adjust(df["pvalue"].to_numpy(np.float64))
    pvalues = _pvalue_summary(df, pinfo, null_size, fdr)
    # share of the random SNVs themselves at p < 0.05: ~0.05 if all were neutral; the excess
    # estimates how many random SNVs of the positive windows change the prediction
    null_p = variant_pvalues(null_logor, null_logor, pvalue_null, tail_size)[0]
    pvalues["null_rate_p05"] = float(np.mean(null_p < 0.05)) if len(null_p) else None
    if outputs.get("null"):
        write_table(_null_table(null, nwin, np_ref, np_alt, null_logor, null_p), outputs["null"])
    if len(df):
        df = df.sort_values(["score", "contig", "pos", "alt"], ascending=[False, True, True, True],
                            kind="stable").reset_index(drop=True)
    write_table(df[SCORE_COLUMNS], outputs["scores"])
    cdf = df[df["source"].isin(["clinvar", "both"])]
    write_table(cdf.reindex(columns=CLINVAR_COLUMNS), outputs["clinvar"])
    stats = clinvar_statistics(cdf, high_p, RANKING_SCORE)

    _mutation_maps(df, clf, k, fasta, lengths, top_mutation_maps, batch_size, device,
                   positive_class, outputs["fig_maps"])
    plot_scores(df, null_score, outputs["fig_scores"])
    plot_top(df, outputs["fig_top"])

    n_fallback = int((df["window_id"] == "centred").sum()) if context == "region" else 0
    summary = {
        **dict(labels or {}),
        "window_length": L,
        "k": k,
        "context": context,
        "centred_fallback": n_fallback,
        "ranking_score": RANKING_SCORE,
        "high_scoring": f"pvalue <= {high_p} ({pvalue_null} null from {len(null_score)} "
                        "random SNVs)",
        "counts": counts,
        "n_scored": int(len(df)),
        "n_scored_dbsnp": int(df["in_dbsnp"].sum()) if len(df) else 0,
        "n_scored_clinvar": int(len(cdf)),
        "n_null": int(len(null_score)),
        "null_quantiles": {str(q): float(np.quantile(null_score, q)) for q in (0.5, 0.9, 0.95, 0.99)}
        if len(null_score) else {},
        "n_significant_fdr": int((df["qvalue"] <= fdr).sum()) if len(df) else 0,
        "fdr": fdr,
        "pvalues": pvalues,
        "significant_fdr_by_class": significance_by_class(df, fdr),
        "significant_fdr_clinvar_family": {
            "n_tests": int(len(cdf)), "by_class": significance_by_class(cdf, fdr, "clinvar")},
        "clinvar_classes": cv.class_counts(cdf["clinvar_class"]) if len(cdf) else cv.class_counts([]),
        "auroc_pathogenic_vs_benign": stats["auroc"],
        "auroc_pathogenic_vs_benign_ci": stats["auroc_ci"],
        "zero_shot_auroc": stats["zero_shot_auroc"],
        "enrichment": stats["enrichment"],
        "top": [
            {"variant": f"{r.contig}:{r.pos}:{r.ref}:{r.alt}", "source": r.source,
             "clinvar_class": r.clinvar_class, "score": r.score, "pvalue": r.pvalue}
            for r in df.head(10).itertuples(index=False)
        ],
        "scatter": {"n_shards": len(metas),
                    "contigs": {str(m["shard"]): m["contigs"] for m in sorted(metas, key=lambda m: m["shard"])}},
    }
    summary = jsonable(summary)
    atomic.write_text(outputs["summary"], json.dumps(summary, indent=2) + "\n")
    return summary


def score_variants(
    genome_fasta: str | Path,
    regions_bed: str | Path,
    datasets: Sequence[str | Path],
    card: str | Path,
    classifier_dir: str | Path,
    outputs: Mapping[str, str | Path],
    dbsnp_vcf: str | Path | None = None,
    clinvar_vcf: str | Path | None = None,
    lm_dir: str | Path | None = None,
    normalise_counts: Mapping[str, str | Path] | None = None,
    context: str = "region",
    n_shards: int = 1,
    batch_size: int = 64,
    null_size: int = 1000,
    top_mutation_maps: int = 5,
    seed: int = 1,
    pvalue_null: str = "neutral",
    tail_size: int = 100,
    high_p: float = 0.05,
    fdr: float = 0.05,
    positive_class: int = 1,
    device=None,
    verbose: bool = False,
    labels: Mapping[str, str] | None = None,
) -> dict:
    """Select, score and summarise the functional variants of one task and model.

    In one process: :func:`~dnalm.variants.shard.score_variant_shard` for shards
    1..``n_shards`` (into a temporary directory next to the outputs), then
    :func:`summarise_variants`. The workflow runs the same two steps as separate jobs
    (rules ``variant_score_shard`` and ``variant_score``).

    Parameters
    ----------
    genome_fasta : path
        bgzip FASTA with ``.fai`` (and ``.gzi``); genome contig names.
    regions_bed : path
        High-attention regions (BED6, genome coordinates).
    datasets : sequence of path
        The task's split TSVs (train/dev/test, :func:`dnalm.dataset.read_split`); positive
        windows come from all of them.
    card : path
        The task's ``card.json`` (:func:`dnalm.dataset.read_card`): the window length.
    classifier_dir : path
        Fine-tuned classifier (``dnalm.predict.load_classifier``).
    outputs : mapping
        Paths for ``scores`` (.tsv.gz), ``clinvar`` (.tsv), ``summary`` (.json),
        ``fig_scores``, ``fig_top``, ``fig_maps`` (.png); optional ``null`` (.tsv.gz: the
        random SNVs of the null with their scores and p-values, :data:`NULL_COLUMNS`).
    dbsnp_vcf, clinvar_vcf : path, optional
        Normalised, indexed VCFs (genome contig names). Default is None (source skipped).
    lm_dir : path, optional
        Pretrained masked LM for the zero-shot score. Default is None (column is NaN).
    normalise_counts : mapping, optional
        ``{"dbsnp": json, "clinvar": json}`` from ``vcf_normalise`` (dropped records)
        copied into the summary. Default is None.
    context : {"region", "centred"}, optional
        Classifier window: the nearest-centred positive dataset window containing the
        variant (``region``, DNABERT's mutate-the-task's-sequences) or a window centred
        on it (``centred``). Default is "region".
    n_shards : int, optional
        Contig shards scored one after the other (results do not depend on it). Default is 1.
    batch_size, null_size, top_mutation_maps, seed : int, optional
        Defaults 64, 1000, 5, 1.
    pvalue_null : {"neutral", "random_snv"}, optional
        Null hypothesis of ``pvalue`` (:func:`~dnalm.variants.pvalues.variant_pvalues`): no
        effect beyond neutral mutations, or no more damaging than a random SNV of a positive
        window. Default is "neutral".
    tail_size : int, optional
        Largest null deviations the generalised Pareto tail is fitted on. Default is 100.
    high_p : float, optional
        p-value threshold defining "high-scoring" for the Fisher test.
        Default is 0.05.
    fdr : float, optional
        BH threshold for ``n_significant_fdr``. Default is 0.05.
    positive_class : int, optional
        Label of the positive windows and the class whose probability is scored.
        Default is 1.
    device : optional
        Default is cuda if available, else cpu.
    verbose : bool, optional
        Default is False.
    labels : mapping, optional
        ``task`` / ``model`` names written into the summary.

    Returns
    -------
    summary : dict
        What ``summary.json`` holds.
    """
    check_context(context)
    summary_path = Path(outputs["summary"])
    summary_path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".variant_shards.", dir=summary_path.parent) as tmp:
        tables = [Path(tmp) / f"{i}-of-{n_shards}.tsv.gz" for i in range(1, n_shards + 1)]
        metas = [Path(tmp) / f"{i}-of-{n_shards}.json" for i in range(1, n_shards + 1)]
        for i, (table, meta) in enumerate(zip(tables, metas, strict=True), start=1):
            score_variant_shard(genome_fasta, regions_bed, datasets, card, classifier_dir, table,
                                meta, shard=i, n_shards=n_shards, dbsnp_vcf=dbsnp_vcf,
                                clinvar_vcf=clinvar_vcf, lm_dir=lm_dir, context=context,
                                batch_size=batch_size, positive_class=positive_class,
                                device=device, verbose=verbose)
        return summarise_variants(tables, metas, genome_fasta, datasets, card, classifier_dir,
                                  outputs, normalise_counts=normalise_counts, context=context,
                                  batch_size=batch_size, null_size=null_size,
                                  top_mutation_maps=top_mutation_maps, seed=seed,
                                  pvalue_null=pvalue_null, tail_size=tail_size, high_p=high_p,
                                  fdr=fdr, positive_class=positive_class, device=device,
                                  verbose=verbose, labels=labels)
