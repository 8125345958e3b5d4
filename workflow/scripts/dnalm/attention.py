"""DNABERT-viz attention: last-layer [CLS] attention mapped onto nucleotides, and its figures.

For each sequence (DNABERT's ``run_finetune.py --do_visualize``):

1. run the classifier with *eager* attention and keep only the last layer's attention
   probabilities, shape (B, heads, T, T), batch by batch (never (N, heads, T, T));
2. token score ``t_i = sum_h A[h, 0, i]`` for the k-mer tokens ``i = 1..L-k+1``; ``[CLS]``
   itself, ``[SEP]`` (zeroed in the original) and padding are left out;
3. nucleotide ``j`` gets the mean of the scores of the k-mers covering it (0-based k-mer
   starts ``i`` with ``i <= j <= i + k - 1``; end bases have fewer);
4. the vector is L2-normalised.

Scores are stored as float32, exactly ``len(seq)`` values per sequence (NaN-padded when
sequences differ in length).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch
from tqdm.auto import tqdm

from dnalm import atomic, kmers
from dnalm._compat import autocast, resolve_device
from dnalm._validate import validate_k, validate_seqs
from dnalm.motifs import high_attention_regions

__all__ = [
    "AttentionScores",
    "attention_scores",
    "token_to_nucleotide",
    "head_context",
    "tata_present",
    "attention_entropy",
    "regions_to_bed",
    "plot_landscape",
    "plot_heatmaps",
    "plot_context",
    "write_attention_outputs",
]

log = logging.getLogger("dnalm.attention")

TATA_RE = re.compile(r"TATA[AT]A[AT]")
TATA_LEN = 7


class AttentionScores(NamedTuple):
    """Output of :func:`attention_scores`.

    Attributes
    ----------
    scores : numpy.ndarray, shape=(N, L_max), dtype=float32
        L2-normalised nucleotide attention; row i holds ``len(seqs[i])`` values, then NaN.
    probs : numpy.ndarray, shape=(N, n_classes), dtype=float64
        Class probabilities from the same forward pass.
    """

    scores: np.ndarray
    probs: np.ndarray


def token_to_nucleotide(token_scores: np.ndarray, k: int) -> np.ndarray:
    """Spread k-mer token scores onto bases: each base gets the mean over covering k-mers.

    Parameters
    ----------
    token_scores : numpy.ndarray, shape=(n_tok,) or (B, n_tok)
        Scores of the k-mer tokens (no special tokens), in order.
    k : int

    Returns
    -------
    numpy.ndarray, shape=(n_tok + k - 1,) or (B, n_tok + k - 1), dtype=float64
    """
    k = validate_k(k)
    t = np.asarray(token_scores, dtype=np.float64)
    squeeze = t.ndim == 1
    t = np.atleast_2d(t)
    n = t.shape[1]
    if n < 1:
        raise ValueError("`token_scores` has no tokens")
    j = np.arange(n + k - 1)
    lo = np.maximum(0, j - k + 1)
    hi = np.minimum(j, n - 1)  # inclusive
    cs = np.concatenate([np.zeros((t.shape[0], 1)), np.cumsum(t, axis=1)], axis=1)
    out = (cs[:, hi + 1] - cs[:, lo]) / (hi - lo + 1)
    return out[0] if squeeze else out


def _l2(x: np.ndarray) -> np.ndarray:
    norm = np.linalg.norm(x)
    return x / norm if norm > 0 else x


def _last_self_attention(model: torch.nn.Module) -> torch.nn.Module:
    mods = [m for m in model.modules() if type(m).__name__.endswith("SelfAttention")]
    if not mods:
        raise ValueError("`model` has no self-attention module (expected a BERT classifier)")
    return mods[-1]


@contextmanager
def _eager(model: torch.nn.Module):
    """Switch to eager attention (which returns probabilities) for the duration."""
    prev = getattr(model.config, "_attn_implementation", None)
    changed = prev not in (None, "eager")
    if changed:
        model.set_attn_implementation("eager")
    try:
        yield
    finally:
        if changed:
            model.set_attn_implementation(prev)


@contextmanager
def _capture_last_layer(model: torch.nn.Module, reduce):
    """Forward hook on the last self-attention: stores ``reduce(weights)`` of each call."""
    store: dict[str, torch.Tensor] = {}

    def hook(_mod, _args, output):
        w = output[1] if isinstance(output, tuple) and len(output) > 1 else None
        if w is None:
            raise RuntimeError("attention weights unavailable: the model must use eager attention")
        store["value"] = reduce(w.detach())

    handle = _last_self_attention(model).register_forward_hook(hook)
    try:
        yield store
    finally:
        handle.remove()


@torch.no_grad()
def attention_scores(
    model: torch.nn.Module,
    seqs: Sequence[str],
    k: int,
    batch_size: int = 64,
    device: str | torch.device | None = None,
    verbose: bool = False,
) -> AttentionScores:
    """DNABERT-viz nucleotide attention and class probabilities (see the module docstring).

    Parameters
    ----------
    model : transformers.BertForSequenceClassification
        Switched to eager attention while running (restored afterwards).
    seqs : sequence of str, length N
        Sequences of at least k bases (upper-cased; other bases become [UNK] k-mers).
    k : int
    batch_size : int, optional
        Default is 64. Memory is O(batch_size x heads x T^2) for one layer at a time;
        results do not depend on it.
    device : str or torch.device, optional
        Default is cuda if available, else cpu.
    verbose : bool, optional
        Progress bar. Default is False.

    Returns
    -------
    AttentionScores
        ``scores`` (N, L_max) float32 and ``probs`` (N, n_classes) float64.
    """
    k = validate_k(k)
    seqs = [s.upper() for s in validate_seqs(seqs, "seqs", min_len=k)]
    if batch_size < 1:
        raise ValueError(f"`batch_size` must be >= 1, got {batch_size}")
    dev = resolve_device(device)
    was_training = model.training
    model.eval()
    model.to(dev)
    n = len(seqs)
    lens = np.fromiter((len(s) for s in seqs), dtype=np.int64, count=n)
    width = int(lens.max()) if n else 0
    scores = np.full((n, width), np.nan, dtype=np.float32)
    probs: list[np.ndarray] = []
    max_tokens = int(model.config.max_position_embeddings)
    try:
        with _eager(model), _capture_last_layer(model, lambda w: w[:, :, 0, :].sum(dim=1)) as st:
            for b0 in tqdm(range(0, n, batch_size), disable=not verbose, desc="attention"):
                batch = seqs[b0 : b0 + batch_size]
                ids, mask = kmers.encode_batch(batch, k, max_tokens=max_tokens)
                with autocast(dev):
                    logits = model(
                        input_ids=torch.from_numpy(ids).to(dev),
                        attention_mask=torch.from_numpy(mask).to(dev),
                    ).logits
                probs.append(torch.softmax(logits.float(), dim=-1).cpu().numpy().astype(np.float64))
                cls = st.pop("value").float().cpu().numpy().astype(np.float64)  # (B, T)
                for r, s in enumerate(batch):
                    n_tok = len(s) - k + 1
                    nuc = token_to_nucleotide(cls[r, 1 : 1 + n_tok], k)
                    scores[b0 + r, : len(s)] = _l2(nuc)
    finally:
        model.train(was_training)
    n_classes = int(model.config.num_labels)
    p = np.concatenate(probs) if probs else np.zeros((0, n_classes))
    return AttentionScores(scores, p)


@torch.no_grad()
def head_context(
    model: torch.nn.Module,
    seq: str,
    k: int,
    token: int | None = None,
    device: str | torch.device | None = None,
) -> tuple[np.ndarray, int, list[str]]:
    """Per head of the last layer: how much every token attends to one chosen token.

    Parameters
    ----------
    model : transformers.BertForSequenceClassification
    seq : str
    k : int
    token : int, optional
        Position of the chosen token in ``[CLS] k-mers [SEP]`` (1 = first k-mer). Default is
        the k-mer that receives the most [CLS] attention summed over heads.
    device : str or torch.device, optional

    Returns
    -------
    context : numpy.ndarray, shape=(heads, T), dtype=float64
        ``context[h, i] = A[h, i, token]`` (row i of head h's attention, column ``token``).
    token : int
    labels : list of str, length T
        Token strings (``[CLS]``, k-mers, ``[SEP]``).
    """
    k = validate_k(k)
    seq = validate_seqs([seq], "seq", min_len=k)[0].upper()
    dev = resolve_device(device)
    was_training = model.training
    model.eval()
    model.to(dev)
    ids, mask = kmers.encode_batch([seq], k, max_tokens=int(model.config.max_position_embeddings))
    try:
        with _eager(model), _capture_last_layer(model, lambda w: w[0]) as st:
            model(
                input_ids=torch.from_numpy(ids).to(dev),
                attention_mask=torch.from_numpy(mask).to(dev),
            )
            att = st.pop("value").float().cpu().numpy().astype(np.float64)  # (H, T, T)
    finally:
        model.train(was_training)
    n_tok = len(seq) - k + 1
    if token is None:
        token = 1 + int(att[:, 0, 1 : 1 + n_tok].sum(axis=0).argmax())
    if not 0 <= token < att.shape[1]:
        raise ValueError(f"`token` must be in 0..{att.shape[1] - 1}, got {token}")
    return att[:, :, token], int(token), kmers.decode(ids[0], k)


def tata_present(
    seqs: Sequence[str], tss_index: int, start: int = -40, end: int = -15
) -> np.ndarray:
    """Whether a TATA box (``TATA[AT]A[AT]``) lies wholly within ``start..end`` of the TSS.

    Parameters
    ----------
    seqs : sequence of str, length N
        Promoter windows on the gene's strand.
    tss_index : int
        Index of the TSS base in each window (``-window[0]`` for a ``[up, down]`` window).
    start, end : int, optional
        Inclusive positions relative to the TSS. Default is -40 and -15.

    Returns
    -------
    numpy.ndarray of bool, shape=(N,)
    """
    lo = max(0, tss_index + start)
    hi = tss_index + end  # last base allowed
    out = np.zeros(len(seqs), dtype=bool)
    for i, s in enumerate(seqs):
        s = s.upper()
        last = min(hi, len(s) - 1) - TATA_LEN + 1  # last allowed start
        out[i] = any(TATA_RE.match(s, st) for st in range(lo, last + 1))
    return out


def attention_entropy(scores: np.ndarray) -> np.ndarray:
    """Normalised entropy of each sequence's attention (1 = perfectly dispersed).

    Parameters
    ----------
    scores : numpy.ndarray, shape=(N, L)
        Non-negative; NaN padding is ignored.

    Returns
    -------
    numpy.ndarray, shape=(N,), dtype=float64
    """
    s = np.nan_to_num(np.asarray(scores, dtype=np.float64), nan=0.0)
    n_valid = np.maximum((~np.isnan(np.asarray(scores, dtype=np.float64))).sum(axis=1), 2)
    p = s / np.maximum(s.sum(axis=1, keepdims=True), 1e-300)
    with np.errstate(divide="ignore", invalid="ignore"):
        h = -np.where(p > 0, p * np.log(p), 0.0).sum(axis=1)
    return h / np.log(n_valid)


def regions_to_bed(
    scores: np.ndarray,
    lengths: np.ndarray,
    chrom: Sequence[str],
    start: np.ndarray,
    end: np.ndarray,
    strand: Sequence[str],
    names: Sequence[str],
    min_len: int = 5,
) -> list[tuple[str, int, int, str, int, str]]:
    """High-attention regions (:func:`dnalm.motifs.high_attention_regions`) in genome coordinates.

    A window ``[start, end)`` on ``-`` holds the reverse complement, so sequence index ``j``
    is genome base ``end - 1 - j`` and region ``[a, b)`` maps to ``[end - b, end - a)``.

    Returns
    -------
    list of (chrom, start, end, name, score, strand)
        ``score = int(mean attention * 1000)`` clipped to 0..1000.
    """
    out = []
    for i in range(len(names)):
        ln = int(lengths[i])
        if int(end[i]) - int(start[i]) != ln:
            raise ValueError(
                f"row {names[i]}: window {start[i]}-{end[i]} does not match sequence length {ln}"
            )
        s = np.asarray(scores[i, :ln], dtype=np.float64)
        for a, b in high_attention_regions(s, min_len):
            if strand[i] == "-":
                g0, g1 = int(end[i]) - int(b), int(end[i]) - int(a)
            else:
                g0, g1 = int(start[i]) + int(a), int(start[i]) + int(b)
            sc = int(min(1000, max(0, int(s[a:b].mean() * 1000))))
            out.append((str(chrom[i]), g0, g1, str(names[i]), sc, str(strand[i])))
    out.sort(key=lambda r: (r[0], r[1], r[2], r[3]))
    return out


# ----------------------------------------------------------------------------- figures


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path: str | Path) -> None:
    try:
        with atomic.atomic_path(path) as tmp:
            fig.savefig(tmp, format="png", dpi=110)
    finally:
        _plt().close(fig)


def _positions(width: int, tss_index: int | None) -> tuple[np.ndarray, str]:
    if tss_index is not None:
        return np.arange(width) - tss_index, "position relative to TSS (bp)"
    return np.arange(width) - width // 2, "position relative to window centre (bp)"


def plot_landscape(
    scores: np.ndarray,
    labels: np.ndarray,
    path: str | Path,
    tss_index: int | None = None,
    tata: np.ndarray | None = None,
    title: str = "",
) -> dict[str, np.ndarray]:
    """Mean attention by position per class (and TATA / non-TATA positives), plus dispersion.

    Parameters
    ----------
    scores : numpy.ndarray, shape=(N, L)
    labels : numpy.ndarray, shape=(N,)
    path : str or pathlib.Path
        PNG written atomically.
    tss_index : int, optional
        Index of the TSS (promoter tasks): the x axis becomes TSS-relative.
    tata : numpy.ndarray of bool, shape=(N,), optional
        TATA presence; adds TATA and non-TATA positive curves.
    title : str, optional

    Returns
    -------
    dict of str to numpy.ndarray, shape=(L,)
        The plotted mean curves by group name.
    """
    plt = _plt()
    scores = np.asarray(scores, dtype=np.float64)
    labels = np.asarray(labels)
    x, xlabel = _positions(scores.shape[1], tss_index)
    groups: dict[str, np.ndarray] = {}
    for c in np.unique(labels):
        groups[f"class {int(c)}"] = labels == c
    if tata is not None:
        groups["class 1, TATA"] = (labels == 1) & tata
        groups["class 1, no TATA"] = (labels == 1) & ~tata
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(12, 4), gridspec_kw={"width_ratios": [3, 1]})
    curves = {}
    for name, m in groups.items():
        if not m.any():
            continue
        mean = np.nanmean(scores[m], axis=0)
        sem = np.nanstd(scores[m], axis=0) / np.sqrt(max(1, int(m.sum())))
        curves[name] = mean
        ax.plot(x, mean, label=f"{name} (n={int(m.sum())})", lw=1.2)
        ax.fill_between(x, mean - sem, mean + sem, alpha=0.2)
    if tss_index is not None:
        ax.axvline(0, color="grey", lw=0.8, ls="--")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("mean attention (L2-normalised)")
    ax.set_title(title or "attention landscape")
    ax.legend(fontsize=7)
    ent = attention_entropy(scores)
    for c in np.unique(labels):
        e = ent[labels == c]
        ax2.hist(
            e, bins=30, range=(0.8, 1.0), alpha=0.5, label=f"class {int(c)} (mean {e.mean():.3f})"
        )
    ax2.set_xlabel("normalised attention entropy\n(1 = dispersed)")
    ax2.set_ylabel("sequences")
    ax2.legend(fontsize=7)
    fig.tight_layout()
    _save(fig, path)
    return curves


def plot_heatmaps(
    scores: np.ndarray,
    probs: np.ndarray,
    path: str | Path,
    n: int = 20,
    tss_index: int | None = None,
    title: str = "",
) -> np.ndarray:
    """Attention heatmaps of the ``n`` test examples with the highest P(class 1).

    Returns
    -------
    numpy.ndarray, shape=(min(n, N),), dtype=int64
        The rows shown, top first.
    """
    plt = _plt()
    probs = np.asarray(probs)
    col = 1 if probs.shape[1] > 1 else 0
    top = np.argsort(-probs[:, col], kind="mergesort")[:n]
    x, xlabel = _positions(scores.shape[1], tss_index)
    fig, ax = plt.subplots(figsize=(12, 0.3 * max(len(top), 4) + 1.5))
    data = np.asarray(scores[top], dtype=np.float64)
    im = ax.imshow(
        data if data.size else np.zeros((1, scores.shape[1])),
        aspect="auto",
        cmap="viridis",
        interpolation="nearest",
        extent=(x[0] - 0.5, x[-1] + 0.5, len(top) - 0.5, -0.5) if len(x) else None,
    )
    ax.set_yticks(range(len(top)))
    ax.set_yticklabels([f"#{int(i)} p={probs[i, col]:.2f}" for i in top], fontsize=6)
    ax.set_xlabel(xlabel)
    ax.set_title(title or f"attention of the top {len(top)} examples")
    fig.colorbar(im, ax=ax, fraction=0.02, label="attention")
    fig.tight_layout()
    _save(fig, path)
    return top


def plot_context(
    context: np.ndarray, token: int, labels: Sequence[str], path: str | Path, title: str = ""
):
    """Heatmap of :func:`head_context`: heads (rows) x attending tokens (columns)."""
    plt = _plt()
    h, t = context.shape
    fig, ax = plt.subplots(figsize=(12, 0.35 * h + 1.8))
    im = ax.imshow(context, aspect="auto", cmap="magma", interpolation="nearest")
    ax.axvline(token, color="cyan", lw=0.8)
    ax.set_yticks(range(h))
    ax.set_yticklabels([f"head {i + 1}" for i in range(h)], fontsize=7)
    step = max(1, t // 25)
    ax.set_xticks(range(0, t, step))
    ax.set_xticklabels([labels[i] for i in range(0, t, step)], rotation=90, fontsize=6)
    ax.set_xlabel("attending token")
    ax.set_title(title or f"last layer: attention paid to token {token} ({labels[token]}) per head")
    fig.colorbar(im, ax=ax, fraction=0.02)
    fig.tight_layout()
    _save(fig, path)


# ----------------------------------------------------------------------------- the rule


def _read_split(path: Path):
    import pandas as pd

    df = pd.read_csv(
        path,
        sep="\t",
        dtype={"sequence": str, "contig": str, "start": str, "end": str, "strand": str},
    )
    need = ["sequence", "label", "contig", "start", "end", "strand"]
    missing = [c for c in need if c not in df.columns]
    if missing:
        raise ValueError(f"{path}:1: header lacks column(s) {missing}")
    return df


def write_attention_outputs(
    model_dir: str | Path,
    datasets: Mapping[str, str | Path],
    scores_out: str | Path,
    regions_out: str | Path,
    landscape_out: str | Path,
    heatmaps_out: str | Path,
    context_out: str | Path,
    window: Sequence[int] | None = None,
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
        Split name (``train``, ``dev``, ``test``) to its dataset TSV; ``test`` is required.
    scores_out : path
        ``scores.npz``: ``scores`` (N, L) float32 for the test rows in order, ``labels``,
        ``probs``.
    regions_out : path
        BED6 of high-attention regions of positive (label 1) rows with coordinates from all
        splits; name ``<split>:<row>``.
    landscape_out, heatmaps_out, context_out : path
        Figures (see :func:`plot_landscape`, :func:`plot_heatmaps`, :func:`plot_context`).
    window : [upstream, downstream], optional
        Promoter window: the TSS is at index ``-window[0]`` and TATA boxes are looked for.
        Default is None (not a promoter task).
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
    model, k = load_classifier(model_dir, attn_implementation="eager")
    tss = -int(window[0]) if window is not None else None
    frames = {name: _read_split(Path(p)) for name, p in datasets.items()}
    test = frames["test"]
    seqs = test["sequence"].astype(str).tolist()
    labels = test["label"].to_numpy(np.int64)
    log.info("attention for %d test sequences (k=%d)", len(seqs), k)
    res = attention_scores(model, seqs, k, batch_size=batch_size, device=device, verbose=verbose)
    with atomic.atomic_path(scores_out) as tmp, open(tmp, "wb") as fh:
        np.savez_compressed(fh, scores=res.scores, labels=labels, probs=res.probs)

    bed: list[tuple] = []
    for split, df in frames.items():
        has_coord = df["start"].astype(str).str.fullmatch(r"\d+") & df["end"].astype(
            str
        ).str.fullmatch(r"\d+")
        rows = np.flatnonzero((df["label"].to_numpy(np.int64) == 1) & has_coord.to_numpy())
        if rows.size == 0:
            continue
        if split == "test":
            sc = res.scores[rows]
        else:
            log.info("attention for %d positive %s sequences (regions.bed)", rows.size, split)
            sub = df["sequence"].iloc[rows].astype(str).tolist()
            sc = attention_scores(model, sub, k, batch_size, device, verbose).scores
        sub_df = df.iloc[rows]
        try:
            bed += regions_to_bed(
                sc,
                sub_df["sequence"].str.len().to_numpy(),
                sub_df["contig"].astype(str).tolist(),
                sub_df["start"].astype(np.int64).to_numpy(),
                sub_df["end"].astype(np.int64).to_numpy(),
                sub_df["strand"].astype(str).tolist(),
                [f"{split}:{r}" for r in rows],
                min_len,
            )
        except ValueError as e:
            raise ValueError(f"{datasets[split]}: {e}") from None
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
        x, _ = _positions(res.scores.shape[1], tss)
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
