"""The ``attention_extract`` rule: scores of the test split, regions of all positives, figures."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from dnalm import atomic
from dnalm.attention.plots import plot_context, plot_heatmaps, plot_landscape, positions
from dnalm.attention.regions import regions_to_bed, tata_present
from dnalm.attention.scores import AttentionScores, attention_scores, head_context
from dnalm.dataset import read_card, read_split

__all__ = ["write_attention_outputs"]

log = logging.getLogger("dnalm.attention")


_COORD_COLUMNS = ("contig", "start", "end", "strand")


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


def _tss_index(card: str | Path | None, seqs: list[str], test_path: str | Path) -> int | None:
    """The card's TSS offset (promoter tasks), checked against the test rows' lengths."""
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
    return c.tss_offset


def _positive_regions(
    frames: Mapping[str, pd.DataFrame],
    datasets: Mapping[str, str | Path],
    test_scores: np.ndarray,
    model: torch.nn.Module,
    k: int,
    min_len: int,
    batch_size: int,
    device: str | torch.device | None,
    verbose: bool,
) -> list[tuple[str, int, int, str, int, str]]:
    """BED6 rows of the high-attention regions of every positive row with coordinates."""
    bed: list[tuple[str, int, int, str, int, str]] = []
    for split, df in frames.items():
        has_coord = df["start"].str.fullmatch(r"\d+") & df["end"].str.fullmatch(r"\d+")
        rows = np.flatnonzero((df["label"].to_numpy(np.int64) == 1) & has_coord.to_numpy())
        if rows.size == 0:
            continue
        if split == "test":
            sc = test_scores[rows]
        else:
            log.info("attention for %d positive %s sequences (regions.bed)", rows.size, split)
            sub = df["sequence"].iloc[rows].tolist()
            sc = attention_scores(model, sub, k, batch_size, device, verbose).scores
        sub_df = df.iloc[rows]
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
            )
        except ValueError as e:
            raise ValueError(f"{datasets[split]}: {e}") from None
    return bed


def write_attention_outputs(
    model_dir: str | Path,
    datasets: Mapping[str, str | Path],
    scores_out: str | Path,
    regions_out: str | Path,
    landscape_out: str | Path,
    heatmaps_out: str | Path,
    context_out: str | Path,
    card: str | Path | None = None,
    batch_size: int = 64,
    n_heatmaps: int = 20,
    min_len: int = 5,
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
    batch_size, n_heatmaps, min_len, device, verbose : optional
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
    tss = _tss_index(card, seqs, datasets["test"])
    model, k = load_classifier(model_dir, attn_implementation="eager")
    log.info("attention for %d test sequences (k=%d)", len(seqs), k)
    res = attention_scores(model, seqs, k, batch_size=batch_size, device=device, verbose=verbose)
    with atomic.atomic_path(scores_out) as tmp, open(tmp, "wb") as fh:
        np.savez_compressed(fh, scores=res.scores, labels=labels, probs=res.probs)

    bed = _positive_regions(
        frames, datasets, res.scores, model, k, min_len, batch_size, device, verbose
    )
    bed.sort(key=lambda r: (r[0], r[1], r[2], r[3]))
    text = "".join("\t".join(map(str, r)) + "\n" for r in bed)
    rpath = atomic.write_text(regions_out, text)
    log.info("%d high-attention regions written to %s", len(bed), rpath)

    tata = tata_present(seqs, tss) if tss is not None else None
    if tata is not None:
        log.info("TATA boxes in -40..-15: %d of %d test windows", int(tata.sum()), len(seqs))
    curves = plot_landscape(
        res.scores, labels, landscape_out, tss, tata, f"{title} attention landscape"
    )
    if "class 1" in curves:
        x, _ = positions(res.scores.shape[1], tss)
        log.info(
            "class-1 landscape peaks at position %d", int(x[int(np.nanargmax(curves["class 1"]))])
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
