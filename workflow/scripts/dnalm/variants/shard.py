"""Scatter step: select and score the variants on one contig shard (rule ``variant_score_shard``).

:func:`shard_contigs` deals the genome's contigs round-robin by decreasing length;
:func:`score_variant_shard` reads only those contigs' tabix regions, scores the selected
SNVs (:mod:`~dnalm.variants.effects`) and writes a shard table (:data:`SHARD_COLUMNS`,
floats round-trip exact) plus its ``.json`` metadata, which :mod:`~dnalm.variants.gather`
reads back with :func:`read_shard_table`.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from dnalm import atomic
from dnalm import clinvar as cv
from dnalm import vcf as dvcf
from dnalm.variants.effects import classifier_delta, delta_scores, load_mlm, zero_shot_llr
from dnalm.variants.select import (
    IntervalLookup,
    WindowIndex,
    card_window_length,
    check_context,
    check_ref_agreement,
    genome_window,
    new_counts,
    read_bed,
    read_positive_windows,
    scoring_windows,
    select_alleles,
)

__all__ = [
    "SCORE_COLUMNS",
    "CLINVAR_COLUMNS",
    "SHARD_COLUMNS",
    "shard_contigs",
    "score_variant_shard",
    "read_shard_table",
]

log = logging.getLogger(__name__)

CLINVAR_INFO = ("CLNSIG", "CLNDN", "GENEINFO", "CLNREVSTAT", "RS")
SCORE_COLUMNS = [
    "contig", "pos", "ref", "alt", "id", "source", "in_attention", "strand", "region",
    "window", "window_id", "offset",
    "p_ref", "p_alt", "diff", "logOR", "zero_shot", "score", "pvalue", "qvalue",
    "clnsig", "clinvar_class", "stars",
]
CLINVAR_COLUMNS = [
    "contig", "pos", "ref", "alt", "clinvar_id", "rsid", "in_attention", "in_dbsnp",
    "p_ref", "p_alt", "diff", "logOR", "zero_shot", "score", "pvalue", "qvalue",
    "clnsig", "clinvar_class", "stars", "CLNDN", "GENEINFO", "CLNREVSTAT",
]
#: Per-variant columns of a shard table (everything but the null-dependent pvalue/qvalue).
SHARD_COLUMNS = [c for c in SCORE_COLUMNS if c not in ("pvalue", "qvalue")] + [
    "in_dbsnp", "clinvar_id", "rsid", "CLNDN", "GENEINFO", "CLNREVSTAT",
]
_SHARD_FLOATS = ("p_ref", "p_alt", "diff", "logOR", "zero_shot", "score")
_SHARD_BOOLS = ("in_attention", "in_dbsnp")
_SHARD_INTS = ("pos", "offset")


def shard_contigs(lengths: Mapping[str, int], n_shards: int, shard: int) -> list[str]:
    """Contigs of shard ``shard`` (1-based) of ``n_shards``.

    Contigs are dealt round-robin in order of decreasing length (ties: input order, i.e.
    ``.fai`` order), so shards are static and balanced, every contig lands in exactly one
    shard, and with ``n_shards >= len(lengths)`` each shard holds at most one contig.

    Parameters
    ----------
    lengths : mapping of str to int
        Contig lengths in ``.fai`` order.
    n_shards : int
    shard : int
        1 .. ``n_shards``.

    Returns
    -------
    contigs : list of str
        In dealing order (longest first).
    """
    if isinstance(n_shards, bool) or not isinstance(n_shards, int | np.integer) or n_shards < 1:
        raise ValueError(f"`n_shards` must be an integer >= 1, got {n_shards!r}")
    if isinstance(shard, bool) or not isinstance(shard, int | np.integer) or not 1 <= shard <= n_shards:
        raise ValueError(f"`shard` must be in 1..{n_shards}, got {shard!r}")
    names = list(lengths)
    sizes = list(lengths.values())
    order = sorted(range(len(names)), key=lambda j: (-sizes[j], j))
    return [names[j] for r, j in enumerate(order) if r % n_shards == shard - 1]


# ----------------------------------------------------------------------------- table I/O


def write_table(df: pd.DataFrame, path: str | Path, float_format: str = "%.6g") -> None:
    """Tab-separated table, ``NA`` for missing values; deterministic gzip when ``path``
    ends in ``.gz``; written atomically."""
    text = df.to_csv(sep="\t", index=False, na_rep="NA", float_format=float_format).encode()
    if str(path).endswith(".gz"):
        text = atomic.gzip_bytes(text)
    atomic.write_bytes(path, text)


def jsonable(x: Any) -> Any:
    """``x`` with numpy scalars made plain and non-finite floats made ``None`` (strict JSON)."""
    if isinstance(x, dict):
        return {str(k): jsonable(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [jsonable(v) for v in x]
    if isinstance(x, np.integer):
        return int(x)
    if isinstance(x, float | np.floating):
        return float(x) if math.isfinite(x) else None
    return x


def read_shard_table(path: str | Path) -> pd.DataFrame:
    """A shard table written by :func:`score_variant_shard`, with its column types restored.

    Raises
    ------
    ValueError
        Naming ``path`` when its columns are not :data:`SHARD_COLUMNS`.
    """
    strings = [c for c in SHARD_COLUMNS if c not in _SHARD_FLOATS + _SHARD_INTS + ("stars",)]
    df = pd.read_csv(path, sep="\t", dtype={c: str for c in strings}, keep_default_na=False,
                     na_values={c: ["NA"] for c in (*_SHARD_FLOATS, "stars")})
    if list(df.columns) != SHARD_COLUMNS:
        raise ValueError(f"{path}: not a variant shard table (columns {list(df.columns)})")
    for c in _SHARD_FLOATS:
        df[c] = df[c].astype(np.float64)
    for c in _SHARD_INTS:
        df[c] = df[c].astype(np.int64)
    for c in _SHARD_BOOLS:
        df[c] = df[c] == "True"
    df["stars"] = df["stars"].astype("Int64")
    return df


# ----------------------------------------------------------------------------- scatter


def _select(attention, positives, fasta, lengths, dbsnp_vcf, clinvar_vcf):
    """Selected variants keyed by (contig, pos, ref, alt), with per-source counts; a VCF for
    another assembly is an error (:func:`~dnalm.variants.select.check_ref_agreement`)."""
    att_lookup = IntervalLookup(attention)
    counts: dict[str, dict] = {}
    selected: dict[tuple, dict] = {}
    if dbsnp_vcf is not None:
        c = counts["dbsnp"] = new_counts()
        with dvcf.open_vcf(dbsnp_vcf) as vf:
            sel = select_alleles(vf, attention, fasta, lengths, c, source="dbsnp")
        check_ref_agreement(c, dbsnp_vcf, fasta.filename.decode())
        for key, (a, iv) in sel.items():
            selected[key] = {"allele": a, "iv": iv, "dbsnp": True, "clinvar": None,
                             "in_attention": True}
        log.info("dbSNP: %d SNVs selected in high-attention regions (%d indels skipped, "
                 "%d REF mismatches)", c["selected"], c["indels_skipped"], c["ref_mismatch"])
    if clinvar_vcf is not None:
        c = counts["clinvar"] = new_counts()
        with dvcf.open_vcf(clinvar_vcf) as vf:
            sel = select_alleles(vf, positives, fasta, lengths, c, info_keys=CLINVAR_INFO,
                                 source="clinvar")
        check_ref_agreement(c, clinvar_vcf, fasta.filename.decode())
        for key, (a, iv) in sel.items():
            ent = selected.get(key)
            if ent is None:
                selected[key] = {"allele": a, "iv": iv, "dbsnp": False, "clinvar": a,
                                 "in_attention": att_lookup.contains(a.contig, a.pos0)}
            else:
                ent["clinvar"] = a
        log.info("ClinVar: %d SNVs in positive windows (%d REF mismatches)",
                 c["selected"], c["ref_mismatch"])
    return selected, counts


def _row(e: dict, win, i: int, p_ref, p_alt, diff, logor, zs) -> dict:
    """One shard-table row: scores plus the ClinVar fields of the variant."""
    a, iv, c = e["allele"], e["iv"], e["clinvar"]
    src = "both" if e["dbsnp"] and c is not None else ("dbsnp" if e["dbsnp"] else "clinvar")
    info = c.info if c is not None else {}
    clnsig = info.get("CLNSIG", "")
    return {
        "contig": a.contig, "pos": a.pos, "ref": a.ref, "alt": a.alt,
        "id": a.id, "source": src, "in_attention": bool(e["in_attention"]),
        "strand": win.strand[i], "region": iv.name, "window": win.window[i],
        "window_id": win.window_id[i], "offset": win.offset[i],
        "p_ref": p_ref[i], "p_alt": p_alt[i], "diff": diff[i], "logOR": logor[i],
        "zero_shot": zs[i], "score": abs(logor[i]),
        "clnsig": clnsig or ("." if c is None else "missing"),
        "clinvar_class": cv.clinsig_class(clnsig) if c is not None else ".",
        "stars": cv.review_stars(info.get("CLNREVSTAT", "")) if c is not None else None,
        "in_dbsnp": bool(e["dbsnp"]),
        "clinvar_id": c.id if c is not None else ".",
        "rsid": ("rs" + info["RS"]) if info.get("RS") else ".",
        **{key: info.get(key, "") or "." for key in ("CLNDN", "GENEINFO", "CLNREVSTAT")},
    }


def score_variant_shard(
    genome_fasta: str | Path,
    regions_bed: str | Path,
    datasets: Sequence[str | Path],
    card: str | Path,
    classifier_dir: str | Path,
    output_table: str | Path,
    output_meta: str | Path,
    shard: int = 1,
    n_shards: int = 1,
    dbsnp_vcf: str | Path | None = None,
    clinvar_vcf: str | Path | None = None,
    lm_dir: str | Path | None = None,
    context: str = "region",
    batch_size: int = 64,
    positive_class: int = 1,
    device=None,
    verbose: bool = False,
) -> dict:
    """Select and score the variants on one shard's contigs (the scatter step).

    Only the tabix regions of this shard's contigs are read (see :func:`shard_contigs`).
    Scores do not depend on the null, so shards are independent;
    :func:`~dnalm.variants.gather.summarise_variants` adds p-values and everything else.

    Parameters
    ----------
    genome_fasta, regions_bed, datasets, card, classifier_dir, dbsnp_vcf, clinvar_vcf, lm_dir
        As in :func:`~dnalm.variants.gather.score_variants`.
    output_table : path
        ``.tsv.gz`` with :data:`SHARD_COLUMNS` (floats written round-trip exact).
    output_meta : path
        ``.json``: shard, n_shards, contigs, context, window_length, k, n_rows, counts.
    shard, n_shards : int, optional
        Which shard (1-based) of how many. Default is 1 of 1.
    context : {"region", "centred"}, optional
        Classifier window of a variant. Default is "region".
    batch_size, positive_class, device, verbose
        As in :func:`~dnalm.variants.gather.score_variants`.

    Returns
    -------
    meta : dict
        What ``output_meta`` holds.
    """
    import pysam

    from dnalm.predict import load_classifier

    check_context(context)
    L = card_window_length(card, positive_class)
    fasta = pysam.FastaFile(str(genome_fasta))
    lengths = dict(zip(fasta.references, fasta.lengths, strict=True))
    mine = shard_contigs(lengths, n_shards, shard)
    keep = set(mine)
    attention = [iv for iv in read_bed(regions_bed) if iv.contig in keep]
    positives = [iv for iv in read_positive_windows(datasets, positive_class) if iv.contig in keep]
    log.info("shard %d of %d: contigs %s; task window %d bp; %d high-attention regions; "
             "%d positive windows", shard, n_shards, ",".join(mine) or "-", L, len(attention),
             len(positives))
    selected, counts = _select(attention, positives, fasta, lengths, dbsnp_vcf, clinvar_vcf)

    clf, k = load_classifier(classifier_dir)
    ents = list(selected.values())
    cands = [(e["allele"], e["iv"]) for e in ents]
    index = WindowIndex(positives, L) if context == "region" else None
    win = scoring_windows(cands, fasta, lengths, L, index)
    for src in ("dbsnp", "clinvar"):
        if src in counts:
            counts[src]["centred_fallback"] = int(sum(
                bool(fb) for e, fb in zip(ents, win.fallback, strict=True) if e[src]))
    if win.fallback.any():
        log.warning("%d of %d variants lie in no %d-bp positive window and are scored in a "
                    "variant-centred window", int(win.fallback.sum()), len(ents), L)
    p_ref, p_alt = classifier_delta(clf, k, win.ref, win.alt, batch_size, device, positive_class,
                                    verbose)
    del clf
    diff, logor = delta_scores(p_ref, p_alt)
    if lm_dir is not None and ents:
        # the zero-shot LLR is context-free: always the variant-centred forward window
        zs_w, zs_off = zip(*(genome_window(fasta, a.contig, a.pos0, L, lengths[a.contig])
                             for a, _ in cands), strict=True)
        mlm, lm_k = load_mlm(lm_dir)
        zs = zero_shot_llr(mlm, lm_k, list(zs_w), list(zs_off), [a.ref for a, _ in cands],
                           [a.alt for a, _ in cands], batch_size, device, verbose)
        del mlm
    else:
        zs = np.full(len(ents), np.nan)

    rows = [_row(e, win, i, p_ref, p_alt, diff, logor, zs) for i, e in enumerate(ents)]
    df = pd.DataFrame(rows, columns=SHARD_COLUMNS)
    df["stars"] = df["stars"].astype("Int64")
    meta = {
        "shard": int(shard), "n_shards": int(n_shards), "contigs": mine, "context": context,
        "window_length": L, "k": k, "n_rows": len(df), "counts": counts,
    }
    write_table(df, output_table, float_format="%.17g")
    atomic.write_text(output_meta, json.dumps(jsonable(meta), indent=2) + "\n")
    return meta
