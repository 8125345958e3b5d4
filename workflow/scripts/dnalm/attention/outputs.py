"""The ``attention_extract`` rule: scores of the test split, regions of all positives, figures,
and ``summary.json`` (class contrast with its permutation test, planted-site AUROC, region
counts and the attention max/min ratios that explain an empty ``regions.bed``)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from dnalm import atomic
from dnalm.attention.contrast import Contrast, class_contrast, has_room, positions
from dnalm.attention.plots import plot_context, plot_heatmaps, plot_landscape
from dnalm.attention.regions import regions_to_bed, tata_present
from dnalm.attention.scores import AttentionScores, attention_scores, head_context
from dnalm.attention.truth import TRUTH_KINDS, read_truth, site_auroc, site_masks
from dnalm.dataset import Card, read_card, read_split
from dnalm.motifs.regions import RegionRule, max_min_ratio, ratio_summary
from dnalm.motifs.status import warning_block

__all__ = ["TATA_CLAIM", "judge_tata_claim", "write_attention_outputs"]

log = logging.getLogger("dnalm.attention")


_COORD_COLUMNS = ("contig", "start", "end", "strand")
#: The promoter claim judged in ``summary.json``: the contrast peaks in ``window`` (TSS-relative,
#: inclusive) with permutation p < ``alpha``, on a window with ``margin`` bp each side of ``at``.
TATA_CLAIM = {"at": -30, "window": (-35, -20), "margin": 20, "alpha": 0.01}


def _read_splits(datasets: Mapping[str, str | Path]) -> dict[str, pd.DataFrame]:
    """Each split through :func:`dnalm.dataset.read_split`, checked for the coordinate columns."""
    frames = {}
    for name, path in datasets.items():
        df = read_split(path)
        missing = [c for c in _COORD_COLUMNS if c not in df.columns]
        if missing:
            raise ValueError(f"{path}:1: header lacks column(s) {missing}")
        frames[name] = df
    return frames


def _read_card(card: str | Path | None, seqs: list[str], test_path: str | Path) -> Card | None:
    """The card (its TSS offset for promoter tasks), checked against the test rows' lengths."""
    if card is None:
        return None
    c = read_card(card)
    lengths = {len(s) for s in seqs}
    if c.window_length is not None and lengths != {c.window_length}:
        raise ValueError(
            f"{test_path}: row lengths {sorted(lengths)[:5]} differ from the card's "
            f"window_length {c.window_length} ({card})"
        )
    if c.tss_offset is not None and not 0 <= c.tss_offset < min(lengths):
        raise ValueError(
            f"{card}: tss_offset {c.tss_offset} lies outside the {min(lengths)} bp test rows"
        )
    return c


def _has_coord(df: pd.DataFrame) -> np.ndarray:
    return (df["start"].str.fullmatch(r"\d+") & df["end"].str.fullmatch(r"\d+")).to_numpy()


def _positive_regions(
    frames: Mapping[str, pd.DataFrame],
    datasets: Mapping[str, str | Path],
    test_scores: np.ndarray,
    model: torch.nn.Module,
    k: int,
    min_len: int,
    rule: RegionRule,
    batch_size: int,
    device: str | torch.device | None,
    verbose: bool,
) -> tuple[list[tuple[str, int, int, str, int, str]], np.ndarray]:
    """BED6 rows of the high-attention regions of every positive row with coordinates, and
    each scanned row's attention max/min ratio."""
    bed: list[tuple[str, int, int, str, int, str]] = []
    ratios: list[np.ndarray] = []
    for split, df in frames.items():
        rows = np.flatnonzero((df["label"].to_numpy(np.int64) == 1) & _has_coord(df))
        if rows.size == 0:
            continue
        if split == "test":
            sc = test_scores[rows]
        else:
            log.info("attention for %d positive %s sequences (regions.bed)", rows.size, split)
            sub = df["sequence"].iloc[rows].tolist()
            sc = attention_scores(model, sub, k, batch_size, device, verbose).scores
        sub_df = df.iloc[rows]
        ratios.append(max_min_ratio(sc, sub_df["sequence"].str.len().to_numpy()))
        try:
            bed += regions_to_bed(
                sc,
                sub_df["sequence"].str.len().to_numpy(),
                sub_df["contig"].tolist(),
                sub_df["start"].astype(np.int64).to_numpy(),
                sub_df["end"].astype(np.int64).to_numpy(),
                sub_df["strand"].tolist(),
                [f"{split}:{r}" for r in rows],
                min_len,
                rule,
            )
        except ValueError as e:
            raise ValueError(f"{datasets[split]}: {e}") from None
    return bed, (np.concatenate(ratios) if ratios else np.zeros(0))


def _round(a: np.ndarray) -> list[float | None]:
    return [round(float(v), 8) if np.isfinite(v) else None for v in np.asarray(a, float)]


def _landscape_summary(
    scores: np.ndarray,
    labels: np.ndarray,
    tss: int | None,
    n_permutations: int,
    seed: int,
) -> tuple[dict, Contrast | None]:
    """The ``landscape`` block of ``summary.json`` and the contrast (None when undefined)."""
    x, xlabel = positions(scores.shape[1], tss)
    block: dict = {"coordinates": "tss" if tss is not None else "window_centre",
                   "n_permutations": int(n_permutations), "seed": int(seed)}  # fmt: skip
    try:
        c = class_contrast(scores, labels, 1, n_permutations, seed)
    except ValueError as e:
        block.update({"peak_position": None, "pvalue": None, "reason": str(e)})
        return block, None
    peak = int(x[c.peak_index])
    block.update({
        "peak_position": peak, "peak_contrast": c.peak_contrast, "pvalue": c.pvalue,
        "n_positive": c.n_positive, "n_negative": c.n_negative, "reason": None,
        "position": x.tolist(), "contrast": _round(c.contrast),
        "band_low": _round(c.band_low), "band_high": _round(c.band_high),
    })  # fmt: skip
    if tss is not None:
        block["tata_claim"] = judge_tata_claim(x, c)
    return block, c


def judge_tata_claim(x: np.ndarray, c: Contrast) -> dict:
    """The TATA claim (:data:`TATA_CLAIM`) judged on one contrast over TSS-relative positions.

    Parameters
    ----------
    x : numpy.ndarray
        TSS-relative position of each window base, shape=(L,).
    c : Contrast
        The positives-minus-negatives contrast over those positions.

    Returns
    -------
    dict
        :data:`TATA_CLAIM`'s keys, ``room`` (the window has ``margin`` bp each side of ``at``),
        ``peak_in_window``, ``significant`` (p < ``alpha``) and ``holds`` (all three).
    """
    lo, hi = TATA_CLAIM["window"]
    room = has_room(x, TATA_CLAIM["at"], TATA_CLAIM["margin"])
    inside = lo <= int(x[c.peak_index]) <= hi
    sig = c.pvalue < TATA_CLAIM["alpha"]
    return {**TATA_CLAIM, "window": [lo, hi], "room": room, "peak_in_window": inside,
            "significant": sig, "holds": room and inside and sig}  # fmt: skip


def _site_summary(
    test: pd.DataFrame,
    scores: np.ndarray,
    card: Card | None,
    truth: str | Path | None,
    n_bootstrap: int,
    seed: int,
) -> dict:
    """The ``site_auroc`` block: planted-site AUROC of the positive test rows, or why not."""
    kind = card.kind if card is not None else None
    kinds = TRUTH_KINDS.get(kind or "")
    null = {"auroc": None, "ci_low": None, "ci_high": None, "n_rows": 0, "truth": None}
    if truth is None:
        return {**null, "reason": "no truth file: the genome is not a demo world"}
    if kinds is None:
        return {**null, "reason": f"no planted-site kind for task kind {kind!r}"}
    rows = np.flatnonzero((test["label"].to_numpy(np.int64) == 1) & _has_coord(test))
    sub = test.iloc[rows]
    masks = site_masks(
        read_truth(truth, kinds),
        sub["contig"].tolist(),
        sub["start"].astype(np.int64).tolist(),
        sub["end"].astype(np.int64).tolist(),
        sub["strand"].tolist(),
    )
    lens = sub["sequence"].str.len().to_numpy()
    for r, m, ln in zip(rows, masks, lens, strict=True):
        if m.size != ln:
            raise ValueError(f"test row {r}: window of {m.size} bp holds a {ln} bp sequence")
    res = site_auroc([scores[r, :ln] for r, ln in zip(rows, lens, strict=True)], masks,
                     n_bootstrap, seed)  # fmt: skip
    return {**res, "truth": str(truth), "kinds": list(kinds)}


def write_attention_outputs(
    model_dir: str | Path,
    datasets: Mapping[str, str | Path],
    scores_out: str | Path,
    regions_out: str | Path,
    landscape_out: str | Path,
    heatmaps_out: str | Path,
    context_out: str | Path,
    card: str | Path | None = None,
    summary_out: str | Path | None = None,
    truth: str | Path | None = None,
    batch_size: int = 64,
    n_heatmaps: int = 20,
    min_len: int = 5,
    region_rule: str = "dnabert",
    min_ratio: float = 10.0,
    mean_ratio: float = 1.0,
    quantile: float = 0.9,
    n_permutations: int = 1000,
    n_bootstrap: int = 1000,
    seed: int = 1,
    device: str | torch.device | None = None,
    verbose: bool = False,
    title: str = "",
) -> AttentionScores:
    """The ``attention_extract`` rule.

    Parameters
    ----------
    model_dir : str or pathlib.Path
        Fine-tuned classifier directory (loaded with eager attention).
    datasets : dict of str to path
        Split name (``train``, ``dev``, ``test``) to its dataset TSV (read with
        :func:`dnalm.dataset.read_split`; ``contig start end strand`` columns needed); ``test``
        is required.
    scores_out : path
        ``scores.npz``: ``scores`` (N, L) float32 for the test rows in order, ``labels``,
        ``probs``.
    regions_out : path
        BED6 of high-attention regions of positive (label 1) rows with coordinates from all
        splits; name ``<split>:<row>``.
    landscape_out, heatmaps_out, context_out : path
        Figures (see :func:`plot_landscape`, :func:`plot_heatmaps`, :func:`plot_context`).
    card : str or pathlib.Path, optional
        The task's ``card.json`` (or its folder), read with :func:`dnalm.dataset.read_card`.
        Its ``tss_offset`` (promoter tasks) makes figure axes TSS-relative and turns on the
        TATA-box split of the landscape; its ``window_length``, when set, must equal every
        test row's length. Default is None (positions relative to the window centre).
    summary_out : str or pathlib.Path, optional
        ``summary.json``: ``status`` (``ok`` / ``no_regions``) and ``reason``; ``n_test`` and
        ``n_per_class``; ``landscape`` (positives-minus-negatives contrast per ``position``,
        its label-permutation ``band_low``/``band_high``, ``peak_position``, ``peak_contrast``,
        permutation ``pvalue``, ``n_positive``/``n_negative`` and, with a TSS, ``tata_claim``:
        does the contrast peak in -35..-20 with p < 0.01 on a window with 20 bp each side of
        -30); ``site_auroc`` (:func:`dnalm.attention.site_auroc`, or null values with a
        ``reason``); ``regions`` (count, rows scanned and with a region, the rule, and the
        per-row attention max/min ratio distribution). Default is None (not written).
    truth : str or pathlib.Path, optional
        A demo world's ``truth/positions.tsv``: the planted sites of the card's task kind
        (:data:`dnalm.attention.TRUTH_KINDS`) give the ``site_auroc``. Default is None.
    batch_size, n_heatmaps, min_len, device, verbose : optional
    region_rule, min_ratio, mean_ratio, quantile : optional
        The high-attention rule of ``regions.bed`` (:class:`dnalm.motifs.RegionRule`; the
        defaults are DNABERT's, > mean and > 10 x min).
    n_permutations, seed : int, optional
        Label shuffles of the contrast (:func:`dnalm.attention.class_contrast`) and their seed.
        Default is 1000 and 1.
    n_bootstrap : int, optional
        Row resamples of the site AUROC's 95% CI. Default is 1000.
    title : str, optional
        Prefix for figure titles.

    Returns
    -------
    AttentionScores
        For the test split.
    """
    from dnalm.predict import load_classifier

    if "test" not in datasets:
        raise ValueError("`datasets` must include the 'test' split")
    frames = _read_splits(datasets)
    test = frames["test"]
    seqs = test["sequence"].tolist()
    labels = test["label"].to_numpy(np.int64)
    rule = RegionRule(region_rule, float(min_ratio), float(mean_ratio), float(quantile))
    c = _read_card(card, seqs, datasets["test"])
    tss = c.tss_offset if c is not None else None
    model, k = load_classifier(model_dir, attn_implementation="eager")
    log.info("attention for %d test sequences (k=%d)", len(seqs), k)
    res = attention_scores(model, seqs, k, batch_size=batch_size, device=device, verbose=verbose)
    with atomic.atomic_path(scores_out) as tmp, open(tmp, "wb") as fh:
        np.savez_compressed(fh, scores=res.scores, labels=labels, probs=res.probs)

    bed, ratios = _positive_regions(
        frames, datasets, res.scores, model, k, min_len, rule, batch_size, device, verbose
    )
    bed.sort(key=lambda r: (r[0], r[1], r[2], r[3]))
    text = "".join("\t".join(map(str, r)) + "\n" for r in bed)
    rpath = atomic.write_text(regions_out, text)
    log.info("%d high-attention regions written to %s", len(bed), rpath)
    landscape, contrast = _landscape_summary(res.scores, labels, tss, n_permutations, seed)
    if contrast is not None:
        log.info(
            "landscape contrast (positives - negatives) peaks at %d: %.4g, permutation p = %.3g "
            "(%d vs %d rows, %d shuffles)",
            landscape["peak_position"], contrast.peak_contrast, contrast.pvalue,
            contrast.n_positive, contrast.n_negative, n_permutations,
        )  # fmt: skip
    else:
        log.warning("no landscape contrast: %s", landscape["reason"])
    sites = _site_summary(test, res.scores, c, truth, n_bootstrap, seed)
    log.info("planted-site attention AUROC: %s (95%% CI %s..%s, %d rows)%s", sites["auroc"],
             sites["ci_low"], sites["ci_high"], sites["n_rows"],
             f": {sites['reason']}" if sites.get("reason") else "")  # fmt: skip
    summary = _stage_summary(bed, ratios, rule, min_len, labels, landscape, sites)
    if summary_out is not None:
        atomic.write_json(summary_out, summary)

    tata = tata_present(seqs, tss) if tss is not None else None
    if tata is not None:
        log.info("TATA boxes in -40..-15: %d of %d test windows", int(tata.sum()), len(seqs))
    plot_landscape(
        res.scores, labels, landscape_out, tss, tata, f"{title} attention landscape", contrast
    )
    top = plot_heatmaps(
        res.scores, res.probs, heatmaps_out, n_heatmaps, tss, f"{title} top examples"
    )
    ctx, token, toks = head_context(model, seqs[int(top[0])], k, device=device)
    plot_context(
        ctx,
        token,
        toks,
        context_out,
        f"{title} test row {int(top[0])}: attention to token {token} ({toks[token]}) per head",
    )
    return res


def _stage_summary(
    bed: list,
    ratios: np.ndarray,
    rule: RegionRule,
    min_len: int,
    labels: np.ndarray,
    landscape: dict,
    sites: dict,
) -> dict:
    """``summary.json`` of the attention stage; a framed WARNING when no region was found."""
    ratio = ratio_summary(ratios, rule.min_ratio)
    n_rows_with = len({r[3] for r in bed})
    regions = {"n_regions": len(bed), "n_positive_rows": int(ratio["n"]),
               "n_rows_with_region": n_rows_with, "rule": rule.describe(),
               "min_len": int(min_len), "attention_ratio": ratio}  # fmt: skip
    if bed:
        status = "ok"
        reason = f"{len(bed)} high-attention regions in {n_rows_with} of {ratio['n']} positive rows"
    else:
        status = "no_regions"
        reason = (
            f"no high-attention region in {ratio['n']} positive rows ({rule.describe()}, "
            f"min_len {min_len}); median attention max/min ratio {ratio['median']} "
            f"(5%..95%: {ratio['q05']}..{ratio['q95']}), {ratio['n_above_min_ratio']} rows "
            f"above min_ratio {rule.min_ratio:g}"
        )
        warning_block(
            log,
            "ATTENTION FOUND NO HIGH-ATTENTION REGION: status no_regions",
            [
                reason,
                "regions.bed is empty: motif discovery and variant selection by region have "
                "nothing to work on",
                "flat attention (ratio below min_ratio) is typical of an LM that did not learn; "
                "motifs.region_rule: quantile is a relative rule for such models",
            ],
        )
    values, counts = np.unique(np.asarray(labels, dtype=np.int64), return_counts=True)
    return {
        "status": status,
        "reason": reason,
        "n_test": int(len(labels)),
        "n_per_class": {str(int(v)): int(n) for v, n in zip(values, counts, strict=True)},
        "regions": regions,
        "landscape": landscape,
        "site_auroc": sites,
    }
