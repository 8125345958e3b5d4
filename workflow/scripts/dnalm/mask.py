"""DNABERT's contiguous k-mer span masking for masked-LM pretraining.

Overlapping k-mers share k-1 bases with each neighbour, so masking one token alone leaks
its content through the neighbours. DNABERT therefore masks *spans* of k consecutive
tokens: centres are drawn ~ Bernoulli(p) over real (k-mer) tokens and each centre ``c`` is
expanded to ``c - left .. c + right`` with ``left = (k - 1) // 2`` and ``right = k // 2``
(k=3: -1..+1, k=4: -1..+2, k=5: -2..+2, k=6: -2..+3, as in DNABERT's ``mask_tokens``).
Spans are clipped to real tokens, so ``[CLS]``, ``[SEP]`` and ``[PAD]`` are never masked.

Masked positions are replaced 80/10/10 by ``[MASK]`` / a random k-mer / themselves.
DNABERT drew the random replacement from the whole vocabulary, specials included; here it
is always a k-mer id. Away from the edges a token is masked with probability
``1 - (1 - p)**k``; :func:`centre_prob_for_rate` inverts that.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F

from dnalm._validate import validate_k, validate_probability
from dnalm.kmers import MASK_ID, N_SPECIAL

__all__ = ["MaskedBatch", "span_offsets", "centre_prob_for_rate", "mask_tokens"]


class MaskedBatch(NamedTuple):
    """Output of :func:`mask_tokens`.

    Attributes
    ----------
    input_ids : torch.Tensor, shape=(B, T), dtype=int64
        Corrupted ids (80% ``[MASK]``, 10% random k-mer, 10% unchanged at masked positions).
    labels : torch.Tensor, shape=(B, T), dtype=int64
        Original ids at masked positions, -100 elsewhere.
    mask_rate : float
        Realised share of real tokens that were masked.
    """

    input_ids: torch.Tensor
    labels: torch.Tensor
    mask_rate: float


def span_offsets(k: int) -> tuple[int, int]:
    """How far a masked span reaches left and right of its centre.

    Returns
    -------
    left, right : int
        The span is ``centre - left .. centre + right`` (k tokens): (1, 1), (1, 2), (2, 2),
        (2, 3) for k = 3, 4, 5, 6, DNABERT's offsets.
    """
    validate_k(k)
    return (k - 1) // 2, k // 2


def centre_prob_for_rate(rate: float, k: int) -> float:
    """Centre probability p whose spans mask ``rate`` of the tokens: ``1 - (1 - p)**k = rate``.

    Parameters
    ----------
    rate : float
        Target share of masked tokens (e.g. 0.15). Edge tokens are masked slightly less often.
    k : int

    Returns
    -------
    p : float
        e.g. 0.02672 for rate 0.15 and k 6 (DNABERT's README used p = 0.025 -> 14.1%).
    """
    validate_k(k)
    rate = validate_probability(rate, "rate")
    if rate >= 1.0:
        return 1.0
    return float(1.0 - (1.0 - rate) ** (1.0 / k))


def mask_tokens(
    input_ids: torch.Tensor,
    attention_mask: torch.Tensor | None,
    k: int,
    mlm_probability: float,
    vocab_size: int | None = None,
    generator: torch.Generator | None = None,
) -> MaskedBatch:
    """Corrupt a batch with DNABERT-style contiguous span masking.

    Parameters
    ----------
    input_ids : torch.Tensor, shape=(B, T), dtype=int64
        ``[CLS] k-mers [SEP] [PAD]...`` rows (CPU tensors; masking is cheap and keeps the
        random stream independent of the training device).
    attention_mask : torch.Tensor or None, shape=(B, T)
        1 for real positions. Specials (ids < 5) are excluded in any case. Default (None) is
        ``input_ids != [PAD]``.
    k : int
    mlm_probability : float
        Centre probability p (see :func:`centre_prob_for_rate`).
    vocab_size : int, optional
        Random replacements are drawn from ``[5, vocab_size)``. Default is ``4**k + 5``.
    generator : torch.Generator, optional
        Source of randomness (same generator state -> same masks). Default is torch's global one.

    Returns
    -------
    MaskedBatch
        ``(input_ids, labels, mask_rate)``; the input tensor is not modified.
    """
    validate_k(k)
    p = validate_probability(mlm_probability, "mlm_probability")
    if input_ids.ndim != 2:
        raise ValueError(f"`input_ids` must have shape (B, T), got {tuple(input_ids.shape)}")
    if vocab_size is None:
        vocab_size = 4**k + N_SPECIAL
    if vocab_size <= N_SPECIAL:
        raise ValueError(f"`vocab_size` must exceed {N_SPECIAL}, got {vocab_size}")
    dev = input_ids.device
    real = input_ids >= N_SPECIAL  # k-mer tokens only: never [PAD] [UNK] [CLS] [SEP] [MASK]
    if attention_mask is not None:
        if attention_mask.shape != input_ids.shape:
            raise ValueError(
                f"`attention_mask` shape {tuple(attention_mask.shape)} != `input_ids` shape "
                f"{tuple(input_ids.shape)}"
            )
        real &= attention_mask.bool()

    def _rand(shape):
        return torch.rand(shape, generator=generator, device=generator.device if generator else dev).to(dev)

    centres = (_rand(input_ids.shape) < p) & real  # (B, T)
    # Span expansion as a sliding max: position j is masked when any centre lies in
    # [j - right, j + left]. Pad `right` zeros on the left and `left` on the right, then a
    # stride-1 max-pool of width k (= left + right + 1) gives exactly that window.
    left, right = span_offsets(k)
    c = F.pad(centres.to(torch.float32).unsqueeze(1), (right, left))  # (B, 1, T + k - 1)
    masked = (F.max_pool1d(c, kernel_size=k, stride=1).squeeze(1) > 0) & real  # (B, T)

    labels = torch.where(masked, input_ids, torch.full_like(input_ids, -100))
    u = _rand(input_ids.shape)
    to_mask = masked & (u < 0.8)
    to_random = masked & (u >= 0.8) & (u < 0.9)
    random_ids = torch.randint(
        N_SPECIAL, vocab_size, input_ids.shape, generator=generator,
        device=generator.device if generator else dev,
    ).to(dev)
    out = torch.where(to_mask, torch.full_like(input_ids, MASK_ID), input_ids)
    out = torch.where(to_random, random_ids, out)
    n_real = int(real.sum())
    rate = float(masked.sum()) / n_real if n_real else 0.0
    return MaskedBatch(out, labels, rate)
