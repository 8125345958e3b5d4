"""DNABERT-viz nucleotide attention: :func:`attention_scores` (rules in :mod:`dnalm.attention`)."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import contextmanager
from typing import NamedTuple

import numpy as np
import torch
from tqdm.auto import tqdm

from dnalm import kmers
from dnalm._compat import autocast, resolve_device
from dnalm._validate import validate_k, validate_seqs

__all__ = [
    "AttentionScores", "attention_scores", "head_context", "piece_token_spans", "token_to_nucleotide",
]


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


def piece_token_spans(n_tokens: int, k: int, max_tokens: int) -> list[tuple[int, int]]:
    """K-mer token spans ``[start, end)`` of the pieces a long input is split into.

    The same split as :func:`dnalm.longseq.encode_long` (``numpy.array_split`` of the
    ``n_tokens`` k-mers into the fewest pieces of at most ``max_tokens - 2``). Token ``t``
    starts at base ``t``, so piece ``[a, b)`` covers bases ``[a, b + k - 1)``.
    """
    if n_tokens < 1:
        raise ValueError(f"`n_tokens` must be >= 1, got {n_tokens}")
    per = max_tokens - 2
    n = -(-n_tokens // per)
    sizes = [len(p) for p in np.array_split(np.arange(n_tokens), n)]
    ends = np.cumsum(sizes)
    return [(int(e - z), int(e)) for z, e in zip(sizes, ends, strict=True)]


def _long_forward(model, batch, k, dev, store) -> tuple[torch.Tensor, list[np.ndarray]]:
    """Logits and stitched per-token [CLS] attention of a long-input classifier's batch.

    Every real piece is one BERT row; the hook sees them in row-major (sequence, piece)
    order. Pieces partition the k-mer tokens, so concatenating each piece's [CLS] row over
    its own k-mers gives one score per token of the whole sequence.
    """
    from dnalm.longseq import encode_long

    ids, mask, pieces = encode_long(
        batch, k, max_tokens=model.max_tokens,
        max_pieces=model.max_pieces if model.pooling == "concat" else None,
    )
    with autocast(dev):
        logits = model(
            input_ids=torch.from_numpy(ids).to(dev),
            attention_mask=torch.from_numpy(mask).to(dev),
            piece_mask=torch.from_numpy(pieces).to(dev),
        )
    cls = store.pop("value").float().cpu().numpy().astype(np.float64)  # (n_real_pieces, T)
    rows: list[np.ndarray] = []
    at = 0
    for s in batch:
        spans = piece_token_spans(len(s) - k + 1, k, model.max_tokens)
        rows.append(np.concatenate(
            [cls[at + j, 1 : 1 + b - a] for j, (a, b) in enumerate(spans)]
        ))
        at += len(spans)
    if at != cls.shape[0]:
        raise RuntimeError(f"expected {at} pieces in the attention hook, got {cls.shape[0]}")
    return logits, rows


@torch.no_grad()
def attention_scores(
    model: torch.nn.Module,
    seqs: Sequence[str],
    k: int,
    batch_size: int = 64,
    device: str | torch.device | None = None,
    verbose: bool = False,
) -> AttentionScores:
    """DNABERT-viz nucleotide attention and class probabilities (see :mod:`dnalm.attention`).

    Parameters
    ----------
    model : transformers.BertForSequenceClassification or dnalm.longseq.LongSeqClassifier
        Switched to eager attention while running (restored afterwards). A long-input
        (multi-piece) classifier gives each piece's last-layer [CLS] attention over that
        piece's own k-mers; pieces partition the k-mers, so the token scores are stitched
        end to end. Bases covered by k-mers of two pieces (the k - 1 bases of each cut) get
        the mean over their covering k-mers from both pieces, as within a piece. Each piece's
        [CLS] row sums to 1 per head, so every piece carries the same attention mass; the
        whole row is L2-normalised once. An input that fits one piece gives exactly the
        single-piece scores of the same BERT.
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
    long = getattr(model, "input_kind", "bert") == "long"
    bert = model.bert if long else model
    max_tokens = int(model.config.max_position_embeddings)
    try:
        with _eager(bert), _capture_last_layer(bert, lambda w: w[:, :, 0, :].sum(dim=1)) as st:
            for b0 in tqdm(range(0, n, batch_size), disable=not verbose, desc="attention"):
                batch = seqs[b0 : b0 + batch_size]
                if long:
                    logits, cls_rows = _long_forward(model, batch, k, dev, st)
                else:
                    ids, mask = kmers.encode_batch(batch, k, max_tokens=max_tokens)
                    with autocast(dev):
                        logits = model(
                            input_ids=torch.from_numpy(ids).to(dev),
                            attention_mask=torch.from_numpy(mask).to(dev),
                        ).logits
                    cls = st.pop("value").float().cpu().numpy().astype(np.float64)  # (B, T)
                    cls_rows = [cls[r, 1 : len(s) - k + 2] for r, s in enumerate(batch)]
                probs.append(torch.softmax(logits.float(), dim=-1).cpu().numpy().astype(np.float64))
                for r, s in enumerate(batch):
                    scores[b0 + r, : len(s)] = _l2(token_to_nucleotide(cls_rows[r], k))
    finally:
        model.train(was_training)
    n_classes = int(model.n_classes if long else model.config.num_labels)
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
    model : transformers.BertForSequenceClassification or dnalm.longseq.LongSeqClassifier
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
        For a long-input classifier whose ``seq`` spans several pieces, T and ``token`` refer
        to one piece (BERT sees each piece alone): the piece holding the k-mer with the most
        [CLS] attention, or the first piece when ``token`` is given.
    token : int
    labels : list of str, length T
        Token strings (``[CLS]``, k-mers, ``[SEP]``).
    """
    k = validate_k(k)
    seq = validate_seqs([seq], "seq", min_len=k)[0].upper()
    if getattr(model, "input_kind", "bert") == "long":
        spans = piece_token_spans(len(seq) - k + 1, k, model.max_tokens)
        model = model.bert
        if len(spans) > 1:
            if token is not None:
                a, b = spans[0]
            else:  # the piece holding the k-mer with the most [CLS] attention
                best = [
                    head_context(model, seq[a : b + k - 1], k, None, device)
                    for a, b in spans
                ]
                # context[:, 0] is [CLS]'s attention to the chosen token, per head
                return best[int(np.argmax([c[0][:, 0].sum() for c in best]))]
            seq = seq[a : b + k - 1]
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
