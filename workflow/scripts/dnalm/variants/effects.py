"""Effects of a variant: classifier delta (DNABERT ``diff``/``logOR``) and zero-shot masked-LM LLR.

- :func:`classifier_delta` predicts ref and alt windows in full batches (so a window's score
  does not depend on its batch companions), :func:`delta_scores` turns the two probabilities
  into DNABERT's ``diff`` and ``logOR``.
- :func:`zero_shot_llr` is the GPN-style log-likelihood ratio of a pretrained masked LM: the
  ``k`` k-mer tokens covering the site are masked, ``logit(alt k-mer) - logit(ref k-mer)`` is
  averaged over them and over both strands.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from dnalm import kmers
from dnalm._compat import autocast, resolve_device
from dnalm.seq import revcomp

__all__ = ["EPS", "delta_scores", "classifier_delta", "zero_shot_llr", "load_mlm"]

EPS = 1e-6


def delta_scores(
    p_ref: np.ndarray, p_alt: np.ndarray, eps: float = EPS
) -> tuple[np.ndarray, np.ndarray]:
    """DNABERT's ``diff`` and ``logOR`` from ref/alt positive-class probabilities.

    Parameters
    ----------
    p_ref, p_alt : array-like, shape=(n,)
    eps : float, optional
        Probabilities are clipped to ``[eps, 1 - eps]``. Default is 1e-6.

    Returns
    -------
    diff : numpy.ndarray, shape=(n,)
        ``(p_alt - p_ref) * max(p_ref, p_alt)``; 0.9 -> 0.5 gives -0.36.
    logOR : numpy.ndarray, shape=(n,)
        ``log2 odds(p_ref) - log2 odds(p_alt)``; 0.9 -> 0.5 gives 3.1699.
    """
    r = np.clip(np.asarray(p_ref, dtype=np.float64), eps, 1 - eps)
    a = np.clip(np.asarray(p_alt, dtype=np.float64), eps, 1 - eps)
    diff = (a - r) * np.maximum(r, a)
    logor = np.log2(r / (1 - r)) - np.log2(a / (1 - a))
    return diff, logor


def classifier_delta(
    model,
    k: int,
    ref_windows: Sequence[str],
    alt_windows: Sequence[str],
    batch_size: int = 64,
    device=None,
    positive_class: int = 1,
    verbose: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Positive-class probabilities of ref and alt windows (predicted in batches).

    Every batch is full: the last one is padded with copies of the last window (whose
    outputs are dropped). Kernels then always see the same shapes, so a window's
    probability does not depend on how many others are scored with it (bitwise, for a
    given device and thread count; a short last batch can take another kernel path and
    differ in the last float bits). This is what makes scattered runs identical.

    Returns
    -------
    p_ref, p_alt : numpy.ndarray, shape=(n,), dtype=float64
    """
    from dnalm.predict import predict_proba

    n = len(ref_windows)
    if n != len(alt_windows):
        raise ValueError("`ref_windows` and `alt_windows` differ in length")
    if n == 0:
        return np.zeros(0), np.zeros(0)
    seqs = list(ref_windows) + list(alt_windows)
    seqs += [seqs[-1]] * (-len(seqs) % batch_size)
    probs = predict_proba(model, seqs, k, batch_size=batch_size, device=device, verbose=verbose)
    p = probs[: 2 * n, positive_class]
    return p[:n], p[n:]


def _masked_llr_one_strand(mlm, k, windows, offsets, refs, alts, batch_size, dev, verbose):
    n = len(windows)
    out = np.full(n, np.nan)
    for b0 in tqdm(range(0, n, batch_size), disable=not verbose, desc="zero-shot"):
        sl = slice(b0, b0 + batch_size)
        # full batches (last row repeated) and a fixed number of masked tokens per batch, so
        # kernels see the same shapes whatever n is (see classifier_delta)
        pad = batch_size - len(windows[sl])
        w = windows[sl] + windows[-1:] * pad
        offs = offsets[sl] + offsets[-1:] * pad
        alt_w = [s[:c] + a + s[c + 1:]
                 for s, c, a in zip(w, offs, alts[sl] + alts[-1:] * pad, strict=True)]
        ids, mask = kmers.encode_batch(w, k)
        alt_ids, _ = kmers.encode_batch(alt_w, k)
        rows, cols = [], []
        for i, c in enumerate(offs):
            L = len(w[i])
            for j in range(max(0, c - k + 1), min(c, L - k) + 1):
                rows.append(i)
                cols.append(j + 1)  # +1 for [CLS]
        n_tok = len(rows)
        rows += rows[-1:] * (batch_size * k - n_tok)
        cols += cols[-1:] * (batch_size * k - n_tok)
        rows_a, cols_a = np.array(rows, dtype=np.int64), np.array(cols, dtype=np.int64)
        ref_tok = ids[rows_a, cols_a]
        alt_tok = alt_ids[rows_a, cols_a]
        masked = ids.copy()
        masked[rows_a, cols_a] = kmers.MASK_ID
        with autocast(dev):
            hidden = mlm.bert(
                input_ids=torch.from_numpy(masked).to(dev),
                attention_mask=torch.from_numpy(mask).to(dev),
            ).last_hidden_state
            logits = mlm.cls(hidden[torch.from_numpy(rows_a).to(dev), torch.from_numpy(cols_a).to(dev)])
        logits = logits.float().cpu().numpy()
        r = np.arange(len(rows_a))
        tok = logits[r, alt_tok] - logits[r, ref_tok]
        ok = (ref_tok != kmers.UNK_ID) & (alt_tok != kmers.UNK_ID)
        ok[n_tok:] = False  # padding tokens
        sums = np.zeros(len(w))
        cnt = np.zeros(len(w))
        np.add.at(sums, rows_a[ok], tok[ok])
        np.add.at(cnt, rows_a[ok], 1)
        with np.errstate(invalid="ignore", divide="ignore"):
            out[sl] = np.where(cnt > 0, sums / np.maximum(cnt, 1), np.nan)[: batch_size - pad]
    return out


@torch.no_grad()
def zero_shot_llr(
    mlm,
    k: int,
    windows: Sequence[str],
    offsets: Sequence[int],
    refs: Sequence[str],
    alts: Sequence[str],
    batch_size: int = 64,
    device=None,
    verbose: bool = False,
) -> np.ndarray:
    """Masked-LM log-likelihood ratio of alt vs ref, averaged over both strands.

    Parameters
    ----------
    mlm : transformers.BertForMaskedLM
    k : int
    windows : sequence of str, length n
        Reference windows (forward strand), upper-case.
    offsets : sequence of int, length n
        0-based position of the variant in each window.
    refs, alts : sequence of str, length n
        Single bases (forward strand).
    batch_size : int, optional
        Default is 64. Results do not depend on it.
    device : optional
        Default is cuda if available, else cpu.

    Returns
    -------
    llr : numpy.ndarray, shape=(n,), dtype=float64
        Mean over the k masked tokens covering the site of ``logit(alt k-mer) -
        logit(ref k-mer)``, averaged over forward and reverse-complement windows
        (NaN when every covering k-mer holds an N on both strands).
    """
    n = len(windows)
    if n == 0:
        return np.zeros(0)
    dev = resolve_device(device)
    mlm.to(dev)
    mlm.eval()
    w = [s.upper() for s in windows]
    offs = [int(c) for c in offsets]
    for i, (s, c, r) in enumerate(zip(w, offs, refs, strict=True)):
        if s[c] != r.upper():
            raise ValueError(f"`windows`[{i}] has {s[c]!r} at offset {c}, but refs[{i}] is {r!r}")
    fwd = _masked_llr_one_strand(mlm, k, w, offs, [r.upper() for r in refs],
                                 [a.upper() for a in alts], batch_size, dev, verbose)
    rc_w = [revcomp(s) for s in w]
    rc_off = [len(s) - 1 - c for s, c in zip(w, offs, strict=True)]
    rev = _masked_llr_one_strand(mlm, k, rc_w, rc_off, [revcomp(r.upper()) for r in refs],
                                 [revcomp(a.upper()) for a in alts], batch_size, dev, verbose)
    both = np.vstack([fwd, rev])
    with np.errstate(invalid="ignore"):
        cnt = np.isfinite(both).sum(0)
        return np.where(cnt > 0, np.nansum(both, 0) / np.maximum(cnt, 1), np.nan)


def load_mlm(directory: str | Path):
    """``BertForMaskedLM`` (eval mode) and its k from a pretrained model directory."""
    from transformers import BertForMaskedLM

    from dnalm.modeling import from_pretrained_strict

    k = kmers.load_tokenizer(directory).k  # validates the vocabulary
    # The MLM head scores the alleles: nothing may be missing. DNABERT's LMs keep a pooler.
    m = from_pretrained_strict(BertForMaskedLM, directory, may_skip=("bert.pooler.",))
    m.eval()
    return m, k
