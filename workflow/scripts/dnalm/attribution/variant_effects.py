"""ISM variant effects: each scored variant read off its window's saturation-mutagenesis map.

The variants stage (:mod:`dnalm.variants`) scores a variant by predicting its classifier window
with the reference and with the alternate allele (``diff``, ``logOR``). Here the window's whole
ISM map (:func:`dnalm.attribution.ism`, every single-base substitution) is computed once per
window, with any fine-tuned model, and each variant gets:

``ism_attr``
    The attribution of the reference base at the variant (``hyp[offset, ref]``: how much that
    base beats the average of the four; > 0 = it supports the positive class).
``ism_effect``
    The allele's effect on the positive-class log-odds (natural log) in its window
    (``hyp[offset, alt] - hyp[offset, ref]``; < 0 = the allele lowers the prediction).
``ism_logOR``
    The same in the variants stage's convention (``log2 odds(ref) - log2 odds(alt)`` =
    ``-ism_effect / ln 2``): for the model the stage used it equals its ``logOR`` (up to the
    stage's probability clipping at 1e-6).
``ism_effect_rank``
    Share of the window's 3 L substitutions whose absolute effect is at most this one's (1 = the
    most damaging change of the window).
``ism_window_max``
    The largest absolute effect of any substitution in the window.

Only SNVs are read off the map (other rows get NA). Pathogenic-vs-benign AUROCs with the same
stratified bootstrap as the variants stage (:func:`dnalm.variants.evaluate.auroc_ci`) compare
these scores with the stage's ``|logOR|`` and ``|diff|``.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd

from dnalm import atomic
from dnalm.attribution._encode import BASES
from dnalm.attribution.load import load_for_attribution
from dnalm.attribution.saturation import ism
from dnalm.seq import revcomp

__all__ = ["SOURCES", "ISM_COLUMNS", "ism_variant_table", "ism_variant_effects"]

log = logging.getLogger("dnalm.attribution")

SOURCES = ("clinvar", "all")
ISM_COLUMNS = ["ism_attr", "ism_effect", "ism_logOR", "ism_effect_rank", "ism_window_max"]
_KEEP = ["contig", "pos", "ref", "alt", "id", "source", "window", "window_id", "offset",
         "diff", "logOR", "zero_shot", "score", "pvalue", "qvalue", "clnsig", "clinvar_class",
         "stars"]  # fmt: skip


def ism_variant_table(model, k: int | None, df: pd.DataFrame, fasta, lengths: dict[str, int],
                      batch_size: int = 256, device=None, positive_class: int = 1) -> pd.DataFrame:
    """Add :data:`ISM_COLUMNS` to rows of a variants-stage table.

    Parameters
    ----------
    model : torch.nn.Module
    k : int or None
    df : pandas.DataFrame
        Rows with ``contig pos ref alt window offset`` (``window`` = ``contig:start-end:strand``,
        ``offset`` = the variant's index in the oriented window).
    fasta : pysam.FastaFile
    lengths : dict
        Contig lengths.
    batch_size, device, positive_class
        As in :func:`dnalm.attribution.ism`.

    Returns
    -------
    pandas.DataFrame
        ``df`` with :data:`ISM_COLUMNS` (NA for non-SNVs).

    Raises
    ------
    ValueError
        When the window's base at ``offset`` is not the variant's REF (on the window's strand).
    """
    from dnalm.variants.select import window_sequence

    out = df.copy()
    for c in ISM_COLUMNS:
        out[c] = np.nan
    snv = (out["ref"].str.len() == 1) & (out["alt"].str.len() == 1) & out["ref"].isin(list(BASES)) \
        & out["alt"].isin(list(BASES))
    rows = np.flatnonzero(snv.to_numpy())
    if rows.size == 0:
        return out
    windows = out["window"].iloc[rows].tolist()
    uniq = list(dict.fromkeys(windows))
    seqs = [window_sequence(fasta, lengths, w) for w in uniq]
    log.info("ISM of %d windows holding %d SNVs", len(uniq), rows.size)
    res = ism(model, seqs, k, batch_size=batch_size, device=device, positive_class=positive_class)
    hyp = res.hyp
    present = res.onehot.astype(bool)
    here = (hyp * res.onehot).sum(axis=2, keepdims=True)
    effects = np.where(present, np.nan, hyp - here)  # (w, L, 4): every substitution's effect
    where = {w: i for i, w in enumerate(uniq)}
    vals = np.full((rows.size, len(ISM_COLUMNS)), np.nan)
    for j, r in enumerate(rows):
        w = where[windows[j]]
        off = int(out["offset"].iat[r])
        ref, alt = out["ref"].iat[r], out["alt"].iat[r]
        if out["window"].iat[r].endswith(":-"):
            ref, alt = revcomp(ref), revcomp(alt)
        if seqs[w][off] != ref:
            raise ValueError(f"{out['contig'].iat[r]}:{out['pos'].iat[r]}: window {windows[j]} has "
                             f"{seqs[w][off]!r} at offset {off}, not REF {ref!r} (on its strand)")
        a, b = BASES.index(ref), BASES.index(alt)
        eff = hyp[w, off, b] - hyp[w, off, a]
        e = np.abs(effects[w][np.isfinite(effects[w])])
        vals[j] = [hyp[w, off, a], eff, -eff / np.log(2), float(np.mean(e <= abs(eff) + 1e-9)) if e.size else np.nan,
                   float(e.max()) if e.size else np.nan]
    for c, col in enumerate(ISM_COLUMNS):
        out.loc[out.index[rows], col] = vals[:, c]
    return out


def _read_scores(path: str | Path) -> pd.DataFrame:
    df = pd.read_csv(path, sep="\t", dtype={"contig": str, "ref": str, "alt": str, "id": str,
                                           "window": str, "clinvar_class": str, "source": str},
                     keep_default_na=False, na_values={"diff": ["NA", ""], "logOR": ["NA", ""]})
    missing = [c for c in ("contig", "pos", "ref", "alt", "source", "window", "offset", "logOR",
                           "diff", "clinvar_class") if c not in df.columns]
    if missing:
        raise ValueError(f"{path}: not a variants scores table (lacks {missing})")
    return df


def ism_variant_effects(
    scores: str | Path,
    genome_fasta: str | Path,
    model_dir: str | Path,
    table_out: str | Path,
    summary_out: str | Path,
    card: str | Path | None = None,
    sources: str = "clinvar",
    batch_size: int = 256,
    positive_class: int = 1,
    device: str | None = None,
) -> dict:
    """ISM effects of the variants stage's variants under one model, with ClinVar AUROCs.

    Parameters
    ----------
    scores : str or pathlib.Path
        ``results/variants/{task}/{model}/scores.tsv.gz``.
    genome_fasta : str or pathlib.Path
        Indexed genome (``.fai``, ``.gzi`` for bgzip).
    model_dir : str or pathlib.Path
        The fine-tuned model whose ISM maps are read (any kind).
    table_out, summary_out : str or pathlib.Path
        ``variants_ism.tsv.gz`` (the stage's columns plus :data:`ISM_COLUMNS`) and its JSON summary.
    card : str or pathlib.Path, optional
        The task's dataset card; default the model directory's.
    sources : {"clinvar", "all"}, optional
        ClinVar variants only (what the statistics use; default) or every scored variant.
    batch_size, positive_class, device
        As in :func:`dnalm.attribution.ism`.

    Returns
    -------
    dict
        The summary: counts, agreement of ``ism_logOR`` with ``logOR``, and
        ``auroc_pathogenic_vs_benign`` (with CIs) for ``abs_ism_effect``, ``ism_attr``,
        ``ism_effect_rank``, ``abs_logOR`` and ``abs_diff``.
    """
    import pysam

    from dnalm.variants.evaluate import auroc_ci
    from dnalm.variants.shard import jsonable

    if sources not in SOURCES:
        raise ValueError(f"`sources` must be one of {SOURCES}, got {sources!r}")
    loaded = load_for_attribution(model_dir, card)
    df = _read_scores(scores)
    if sources == "clinvar":
        df = df[df["source"].isin(["clinvar", "both"])]
    df = df[[c for c in _KEEP if c in df.columns]].reset_index(drop=True)
    with pysam.FastaFile(str(genome_fasta)) as fa:
        lengths = dict(zip(fa.references, fa.lengths, strict=True))
        out = ism_variant_table(loaded.model, loaded.k, df, fa, lengths, batch_size, device,
                                positive_class)
    with atomic.atomic_path(table_out) as tmp:
        out.to_csv(tmp, sep="\t", index=False, float_format="%.6g", na_rep="NA",
                   compression={"method": "gzip", "mtime": 0})
    two = out[out["clinvar_class"].isin(["pathogenic", "benign"]) & out["ism_effect"].notna()]
    y = (two["clinvar_class"] == "pathogenic").to_numpy(int)
    ranking = {
        "abs_ism_effect": np.abs(two["ism_effect"].to_numpy(float)),
        "ism_attr": two["ism_attr"].to_numpy(float),
        "ism_effect_rank": two["ism_effect_rank"].to_numpy(float),
        "abs_logOR": np.abs(two["logOR"].to_numpy(float)),
        "abs_diff": np.abs(two["diff"].to_numpy(float)),
    }
    cis = {name: auroc_ci(y, s) for name, s in ranking.items()}
    scored = out["ism_effect"].notna()
    agree = out.loc[scored, ["ism_logOR", "logOR"]].astype(float)
    summary = {
        "model_kind": loaded.kind, "sources": sources, "n_variants": int(len(out)),
        "n_scored_snv": int(scored.sum()), "n_windows": int(out.loc[scored, "window"].nunique()),
        "ism_logOR_vs_logOR": {
            "pearson_r": float(agree.corr().iloc[0, 1]) if len(agree) > 2 else None,
            "max_abs_difference": float((agree["ism_logOR"] - agree["logOR"]).abs().max())
            if len(agree) else None,
        },
        "auroc_pathogenic_vs_benign": {k: c["auroc"] for k, c in cis.items()},
        "auroc_pathogenic_vs_benign_ci": cis,
    }
    if not len(two) or y.all() or not y.any():
        log.warning("ClinVar: need both pathogenic and benign SNVs for AUROCs (%d pathogenic, "
                    "%d benign)", int(y.sum()), int((y == 0).sum()))
    summary = jsonable(summary)
    atomic.write_json(summary_out, summary)
    return summary
