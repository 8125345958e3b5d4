"""Cheaper dropout for CPU training: exact-rate dropout masks from packed random bytes.

On the CPU, ``F.scaled_dot_product_attention`` with ``dropout_p > 0`` leaves its fused kernel
for the math path, and most of that path's time goes into drawing one Bernoulli variable per
attention weight (``bernoulli_`` draws a float per element). The masks made here need a
quarter of a 32-bit random draw per element instead:

- one 64-bit random word gives 8 random bytes ``b`` (uniform on 0..255);
- with ``256 * p = m + f`` (``m`` integer, ``0 <= f < 1``), an element is dropped when
  ``b < m``, kept when ``b > m``, and the rare ties ``b == m`` (1 in 256) are dropped with
  probability ``f`` using one float32 uniform each (found through the 64-bit words that
  hold a tie, so locating them costs an eighth of a pass).

So ``P(drop) = m / 256 + f / 256 = p`` up to the float32 resolution of the tie draw (error
below ``2**-32``), the same rate as ``torch.nn.Dropout`` (whose float Bernoulli draw is no
finer), and kept values are scaled by ``1 / (1 - p)`` as usual. The attention itself is an
explicit ``softmax(q k^T * scale + mask)``, dropout, ``@ v`` with a hand-written backward
that saves the probabilities and the boolean drop mask (applied with ``masked_fill``, never
converted to a float mask).

:func:`cpu_training` switches a transformers BERT model to this path for the duration of a
``with`` block: the config's attention implementation becomes :data:`ATTN_IMPLEMENTATION`
(registered with ``transformers.AttentionInterface``; it falls back to the stock SDPA
function in eval mode, with dropout 0 and off the CPU) and ``nn.Dropout`` modules become
:class:`ExactDropout` (same ``p``). Everything is restored on exit, and the implementation
name is never written to ``config.json`` (transformers does not serialise it), so saved
directories load with stock ``BertForMaskedLM.from_pretrained``. Random numbers come from
the default torch generator, so ``torch.manual_seed`` makes runs repeatable.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator
from typing import Any

import torch
from torch import nn

__all__ = ["ATTN_IMPLEMENTATION", "drop_mask", "dropout_attention", "ExactDropout", "cpu_training"]

#: Name registered with ``transformers.AttentionInterface`` / ``AttentionMaskInterface``.
ATTN_IMPLEMENTATION = "dnalm_cpu_dropout"

_OFFSETS = torch.arange(8)


def drop_mask(shape: tuple[int, ...], p: float, generator: torch.Generator | None = None) -> torch.Tensor:
    """Boolean dropout mask whose elements are independently True with probability ``p``.

    Parameters
    ----------
    shape : tuple of int
        Shape of the mask.
    p : float
        Drop probability, 0 <= p <= 1.
    generator : torch.Generator, optional
        CPU generator. Default is None (the default torch generator).

    Returns
    -------
    torch.Tensor, shape=shape, dtype=bool
        On the CPU; True = drop.
    """
    p = float(p)
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"`p` must be in [0, 1], got {p!r}")
    n = math.prod(shape)
    if p == 0.0 or n == 0:
        return torch.zeros(shape, dtype=torch.bool)
    if p == 1.0:
        return torch.ones(shape, dtype=torch.bool)
    words = torch.empty((n + 7) // 8, dtype=torch.int64)
    words.random_(-(2**63), None, generator=generator)  # all 64 bits random
    b = words.view(torch.uint8)  # (8 * n_words,) uniform bytes
    m = int(p * 256.0)
    f = p * 256.0 - m
    drop = b < m
    if f > 0.0:
        tie = b == m
        hit = tie.view(torch.int64).nonzero().squeeze(1)  # words holding at least one tie
        pos = (hit[:, None] * 8 + _OFFSETS).reshape(-1)
        pos = pos[tie[pos]]
        u = torch.rand(pos.numel(), generator=generator)
        drop[pos] = u < f
    return drop[:n].view(shape)


class _DropoutAttention(torch.autograd.Function):
    """``dropout(softmax(q k^T + mask)) @ v`` with q pre-scaled; saves probs and drop mask."""

    @staticmethod
    def forward(ctx, q, k, v, mask, p: float):  # q, k, v (B, H, T|S, d); mask (B, 1|H, T, S) or None
        s = torch.matmul(q, k.transpose(-1, -2))  # (B, H, T, S)
        if mask is not None:
            if mask.dtype == torch.bool:
                s.masked_fill_(mask.logical_not(), torch.finfo(s.dtype).min)
            else:
                s.add_(mask)
        probs = torch.softmax(s, dim=-1)
        del s
        drop = drop_mask(probs.shape, p)
        dropped = probs.masked_fill(drop, 0.0)  # the 1 / (1 - p) goes onto the (B, H, T, d) side
        out = torch.matmul(dropped, v).mul_(1.0 / (1.0 - p))  # (B, H, T, d)
        ctx.save_for_backward(q, k, v, probs, drop, dropped)
        ctx.p = p
        return out

    @staticmethod
    def backward(ctx, grad_out):
        q, k, v, probs, drop, dropped = ctx.saved_tensors
        c = 1.0 / (1.0 - ctx.p)
        grad_out = grad_out.contiguous()
        gv = torch.matmul(dropped.transpose(-1, -2), grad_out).mul_(c)
        gp = torch.matmul(grad_out, v.transpose(-1, -2)).masked_fill_(drop, 0.0)  # (B, H, T, S) / c
        gs = torch._softmax_backward_data(gp, probs, -1, probs.dtype)
        del gp
        gq = torch.matmul(gs, k).mul_(c)
        gk = torch.matmul(gs.transpose(-1, -2), q).mul_(c)
        return gq, gk, gv, None, None


def _sdpa(*args, **kwargs):
    from transformers.integrations.sdpa_attention import sdpa_attention_forward

    return sdpa_attention_forward(*args, **kwargs)


def dropout_attention(
    module: nn.Module,
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    attention_mask: torch.Tensor | None,
    dropout: float = 0.0,
    scaling: float | None = None,
    is_causal: bool | None = None,
    **kwargs: Any,
) -> tuple[torch.Tensor, None]:
    """Attention function for ``transformers.AttentionInterface`` (the SDPA signature).

    Uses the exact-rate dropout path when the module is training on the CPU with
    ``0 < dropout < 1`` and a plain bidirectional layout; otherwise calls transformers'
    stock ``sdpa_attention_forward`` with the same arguments.

    Parameters
    ----------
    module : torch.nn.Module
        The calling attention module (``training``, ``is_causal`` are read).
    query : torch.Tensor, shape=(B, H, T, d)
    key, value : torch.Tensor, shape=(B, H, S, d)
    attention_mask : torch.Tensor or None, shape=(B, 1, T, S)
        Boolean (True = attend) or additive float mask, as made by ``sdpa_mask``.
    dropout : float, optional
        Attention-probability dropout. Default is 0.0.
    scaling : float, optional
        Default is ``d ** -0.5``.
    is_causal : bool, optional
        Default is None (read from ``module``).

    Returns
    -------
    attn_output : torch.Tensor, shape=(B, T, H, d)
    attn_weights : None
    """
    causal = is_causal if is_causal is not None else getattr(module, "is_causal", False)
    plain = not causal and not any(kwargs.get(x) is not None for x in ("position_bias", "cache", "softcap"))
    if (
        0.0 < dropout < 1.0
        and module.training
        and query.device.type == "cpu"
        and plain
        and getattr(module, "num_key_value_groups", 1) == 1
        and query.shape[1] == key.shape[1]
    ):
        scale = query.shape[-1] ** -0.5 if scaling is None else scaling
        out = _DropoutAttention.apply(query * scale, key, value, attention_mask, float(dropout))
        return out.transpose(1, 2).contiguous(), None
    return _sdpa(module, query, key, value, attention_mask, dropout=dropout, scaling=scaling,
                 is_causal=is_causal, **kwargs)


class _Dropout(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, p: float):
        drop = drop_mask(x.shape, p)
        ctx.save_for_backward(drop)
        ctx.c = 1.0 / (1.0 - p)
        return x.masked_fill(drop, 0.0).mul_(ctx.c)

    @staticmethod
    def backward(ctx, g):
        (drop,) = ctx.saved_tensors
        return g.masked_fill(drop, 0.0).mul_(ctx.c), None


class ExactDropout(nn.Dropout):
    """``nn.Dropout`` whose CPU training masks come from :func:`drop_mask` (same rate, same scaling).

    Off the CPU, in eval mode, for ``p`` of 0 or 1 and with ``inplace=True`` it is ``nn.Dropout``.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training and 0.0 < self.p < 1.0 and x.device.type == "cpu" and not self.inplace:
            return _Dropout.apply(x, float(self.p))
        return super().forward(x)


def _register() -> None:
    from transformers import AttentionInterface
    from transformers.masking_utils import ALL_MASK_ATTENTION_FUNCTIONS, AttentionMaskInterface

    if ATTN_IMPLEMENTATION not in ALL_MASK_ATTENTION_FUNCTIONS._global_mapping:
        AttentionMaskInterface.register(ATTN_IMPLEMENTATION, AttentionMaskInterface._global_mapping["sdpa"])
    AttentionInterface.register(ATTN_IMPLEMENTATION, dropout_attention)


@contextlib.contextmanager
def cpu_training(model: nn.Module) -> Iterator[nn.Module]:
    """Use exact-rate cheap dropout (attention and hidden) in ``model`` inside a ``with`` block.

    Models whose config uses "sdpa" switch to :data:`ATTN_IMPLEMENTATION`; other
    implementations ("eager", flash, ...) are left alone. Every plain ``nn.Dropout`` becomes an
    :class:`ExactDropout` with the same ``p``. Both are undone on exit, also after an error.

    Parameters
    ----------
    model : torch.nn.Module
        A transformers model (or a module holding one); changed in place.

    Yields
    ------
    torch.nn.Module
        ``model``.
    """
    _register()
    configs = {}
    for m in model.modules():
        cfg = getattr(m, "config", None)
        if cfg is not None and getattr(cfg, "_attn_implementation", None) == "sdpa":
            configs[id(cfg)] = cfg
    swapped: list[tuple[nn.Module, str, nn.Module]] = []
    try:
        for cfg in configs.values():
            cfg._attn_implementation = ATTN_IMPLEMENTATION
        for parent in list(model.modules()):
            for name, child in list(parent.named_children()):
                if type(child) is nn.Dropout:
                    new = ExactDropout(child.p, inplace=child.inplace)
                    new.train(child.training)
                    setattr(parent, name, new)
                    swapped.append((parent, name, child))
        yield model
    finally:
        for parent, name, child in reversed(swapped):
            child.train(getattr(parent, name).training)
            setattr(parent, name, child)
        for cfg in configs.values():
            if cfg._attn_implementation == ATTN_IMPLEMENTATION:
                cfg._attn_implementation = "sdpa"
