"""The masked-LM objective, optimizer groups, validation (model and k-mer baseline) and FLOP accounting."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from dnalm import kmers
from dnalm._compat import autocast
from dnalm.corpus.stream import Corpus, derive_seed
from dnalm.mask import mask_tokens
from dnalm.pretrain.check import KmerBaseline

__all__ = ["MLMLoss", "param_groups", "evaluate", "flops_per_token", "peak_flops"]

# Per-sequence validation sums returned by `evaluate` (input of `check.learning_check`).
_ROW_KEYS = ("n_masked", "correct", "loss_sum", "baseline_correct", "baseline_loss_sum")

# Dense bf16 peak FLOP/s by GPU name fragment (for MFU; CPU rows leave mfu empty).
_PEAK_BF16 = {"H200": 989e12, "H100": 989e12, "A100": 312e12, "L40S": 362e12, "L40": 181e12,
              "A10": 125e12, "4090": 165e12, "3090": 71e12, "A6000": 155e12}


class MLMLoss(torch.nn.Module):
    """Masked-LM loss with the vocabulary head evaluated on masked positions only.

    ``forward(input_ids, attention_mask, labels)`` takes (B, T) int64 tensors (labels -100 at
    unmasked positions) and returns ``(loss, correct, n_masked)``: the mean cross-entropy over
    the M masked tokens, how many of them the argmax predicts, and M (0-dim tensors).
    """

    def __init__(self, lm: torch.nn.Module) -> None:
        super().__init__()
        self.lm = lm

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, labels: torch.Tensor):
        h = self.lm.bert(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state  # (B, T, H)
        sel = labels != -100  # (B, T)
        target = labels[sel]  # (M,)
        if target.numel() == 0:  # keep every parameter in the graph (DDP needs it)
            z = self.lm.cls(h[:, :1]).sum() * 0.0
            return z, torch.zeros((), device=h.device), torch.zeros((), device=h.device)
        logits = self.lm.cls(h[sel])  # (M, V)
        loss = F.cross_entropy(logits.float(), target)
        correct = (logits.argmax(-1) == target).sum()
        return loss, correct, torch.tensor(float(target.numel()), device=h.device)

    def token_scores(self, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                     labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Per masked token: cross-entropy, argmax hit and row index, each shape=(M,).

        Masked tokens are in row-major order (that of ``labels[labels != -100]``).
        """
        h = self.lm.bert(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        sel = labels != -100  # (B, T)
        target = labels[sel]  # (M,)
        logits = self.lm.cls(h[sel]).float()  # (M, V)
        loss = F.cross_entropy(logits, target, reduction="none")
        return loss, logits.argmax(-1) == target, sel.nonzero()[:, 0]


def param_groups(model: torch.nn.Module, weight_decay: float) -> list[dict[str, Any]]:
    """AdamW groups: decay on weight matrices, none on biases and LayerNorm weights."""
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        (no_decay if name.endswith("bias") or "LayerNorm" in name else decay).append(p)
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]


def evaluate(
    loss_mod: MLMLoss, corpus: Corpus, batches: list[np.ndarray], k: int, centre_prob: float,
    vocab_size: int, seed: int, device: torch.device, baseline: KmerBaseline | None = None,
) -> tuple[dict[str, float], dict[str, np.ndarray]]:
    """Validation metrics over fixed batches with fixed masks (the same at every evaluation).

    Parameters
    ----------
    loss_mod : MLMLoss
    corpus : Corpus
    batches : list of numpy.ndarray, each shape=(batch_size,)
        Piece indices of each batch.
    k : int
    centre_prob : float
        Span-centre probability (:func:`dnalm.mask.centre_prob_for_rate`).
    vocab_size, seed : int
    device : torch.device
    baseline : KmerBaseline, optional
        Scored on the same masked positions as the model. Default is None (baseline
        columns are None and zero).

    Returns
    -------
    metrics : dict
        ``{"loss", "mlm_acc", "perplexity", "mask_rate", "baseline_loss", "baseline_acc"}``;
        losses are means over all masked tokens of all batches.
    rows : dict of str to numpy.ndarray, each shape=(n_sequences,)
        Per validation sequence: ``n_masked``, ``correct``, ``loss_sum``,
        ``baseline_correct``, ``baseline_loss_sum`` (input of
        :func:`dnalm.pretrain.check.learning_check`).
    """
    loss_mod.eval()
    gen = torch.Generator().manual_seed(derive_seed(seed, 7919))
    per_row: dict[str, list[np.ndarray]] = {key: [] for key in _ROW_KEYS}
    masked_real = real = 0.0
    with torch.no_grad():
        for b in batches:
            ids, att = corpus.collate(b)
            mb = mask_tokens(ids, att, k, centre_prob, vocab_size, gen)
            with autocast(device):
                loss, correct, row = loss_mod.token_scores(mb.input_ids.to(device), att.to(device),
                                                           mb.labels.to(device))
            row = row.cpu().numpy()
            n_rows = len(b)
            target = mb.labels[mb.labels != -100].numpy()  # same order as the model's scores
            per_row["n_masked"].append(np.bincount(row, minlength=n_rows))
            per_row["correct"].append(np.bincount(row, correct.cpu().numpy(), n_rows))
            per_row["loss_sum"].append(np.bincount(row, loss.cpu().numpy(), n_rows))
            if baseline is not None:
                b_loss, b_correct = baseline.score(target)
            else:
                b_loss, b_correct = np.zeros(len(target)), np.zeros(len(target), bool)
            per_row["baseline_correct"].append(np.bincount(row, b_correct, n_rows))
            per_row["baseline_loss_sum"].append(np.bincount(row, b_loss, n_rows))
            n_real = float((ids >= kmers.N_SPECIAL).sum())
            masked_real += float(mb.mask_rate) * n_real
            real += n_real
    loss_mod.train()
    rows = {key: np.concatenate(v).astype(np.float64) if v else np.zeros(0)
            for key, v in per_row.items()}
    masked = max(float(rows["n_masked"].sum()), 1.0)
    mean_loss = float(rows["loss_sum"].sum()) / masked
    metrics = {"loss": mean_loss, "mlm_acc": float(rows["correct"].sum()) / masked,
               "perplexity": math.exp(min(mean_loss, 50.0)), "mask_rate": masked_real / max(real, 1.0),
               "baseline_loss": None, "baseline_acc": None}
    if baseline is not None:
        metrics["baseline_loss"] = float(rows["baseline_loss_sum"].sum()) / masked
        metrics["baseline_acc"] = float(rows["baseline_correct"].sum()) / masked
    return metrics, rows


def flops_per_token(cfg: Any, mean_tokens: float, mask_rate: float) -> float:
    """Training FLOPs per real token (6 x weights, attention scores, head on masked tokens).

    Parameters
    ----------
    cfg : transformers.BertConfig
    mean_tokens : float
        Mean real tokens per row (attention cost grows with it).
    mask_rate : float
        Share of tokens that reach the vocabulary head.
    """
    h, n_layers, inter, v = cfg.hidden_size, cfg.num_hidden_layers, cfg.intermediate_size, cfg.vocab_size
    enc = n_layers * (4 * h * h + 2 * h * inter)
    attn = 2 * n_layers * h * mean_tokens  # QK^T and AV, multiply-adds
    head = mask_rate * (h * h + h * v)
    return 6.0 * (enc + attn + head)


def peak_flops(device: torch.device) -> float | None:
    """Dense bf16 peak FLOP/s of a known CUDA GPU; None on the CPU or an unknown GPU."""
    if device.type != "cuda":
        return None
    name = torch.cuda.get_device_name(device)
    for frag, peak in _PEAK_BF16.items():
        if frag in name:
            return peak
    return None
