"""The three pretraining losses of one batch: next token (CE), GC content (MSE), order (binary CE).

``loss = CE_next_token + CE_order + gc_weight * MSE_gc``; ``gc_weight`` is the preset key
``pretrain_presets.<name>.gc_weight``, by default :data:`GC_WEIGHT` = 0.01 (DNAGPT's lambda).
The vocabulary head runs only where a target is read (forward rows' sequence positions and the
``<B>`` queries), which is most of the cost of a small model.

Order is DNAGPT's binary label read from the token head at ``<B>``: the cross-entropy of the
two answer tokens' logits (``N`` reversed against ``A`` forward), not of the whole vocabulary.
A 19,564-way cross-entropy at ``<B>`` starts near 10 nats and its large early gradients
through the shared token head pulled the next-token loss away from the unigram start
(:func:`dnalm.gpt.model.unigram_head_init`; measured on the demo corpus: next-token val loss
8.12 -> 8.50 nats over the first 50 steps while the order loss fell from 11 to 5); the binary
form starts at ln 2.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from dnalm.gpt.data import FORWARD_ID, REVERSED_ID
from dnalm.gpt.model import DnaGptModel

__all__ = ["GC_WEIGHT", "GptLoss"]

#: Weight of the GC-content MSE in the total loss (DNAGPT's lambda).
GC_WEIGHT = 0.01


class GptLoss(nn.Module):
    """``model`` plus the three losses; what DDP wraps.

    Parameters
    ----------
    model : DnaGptModel
    gc_weight : float, optional
        Default is :data:`GC_WEIGHT`.
    """

    def __init__(self, model: DnaGptModel, gc_weight: float = GC_WEIGHT) -> None:
        super().__init__()
        self.model = model
        self.gc_weight = float(gc_weight)

    def forward(self, input_ids: torch.Tensor, nt_targets: torch.Tensor, gc_pos: torch.Tensor,
                gc_target: torch.Tensor, order_pos: torch.Tensor, order_target: torch.Tensor
                ) -> dict[str, torch.Tensor]:
        """Losses and per-row statistics.

        Returns
        -------
        dict of str to torch.Tensor
            ``loss`` (total), ``nt_loss``, ``gc_mse``, ``order_loss`` (scalars);
            ``nt_loss_rows``, ``nt_correct_rows``, ``nt_n_rows`` (B,) per-row sums and counts;
            ``gc_pred`` (B,) standardised GC predictions; ``order_logit`` (B,) the logit of
            "reversed" minus that of "forward"; ``order_loss_rows`` (B,).
        """
        h = self.model(input_ids)  # (B, T, d)
        b = torch.arange(input_ids.shape[0], device=input_ids.device)
        sel = nt_targets != -100
        tgt = nt_targets[sel]
        logits = self.model.token_logits(h[sel]).float()  # (M, V)
        ce = F.cross_entropy(logits, tgt, reduction="none")
        correct = (logits.argmax(-1) == tgt).float()
        rows_of = b[:, None].expand_as(nt_targets)[sel]
        zeros = torch.zeros(input_ids.shape[0], device=h.device, dtype=torch.float32)
        nt_loss_rows = zeros.index_add(0, rows_of, ce.detach())
        nt_correct_rows = zeros.index_add(0, rows_of, correct)
        nt_n_rows = sel.sum(1).float()
        nt_loss = ce.mean() if ce.numel() else h.sum() * 0.0

        gc_pred = self.model.regress(h[b, gc_pos]).float()
        gc_mse = F.mse_loss(gc_pred, gc_target.float())

        order_logits = self.model.token_logits(h[b, order_pos]).float()
        order_logit = order_logits[:, REVERSED_ID] - order_logits[:, FORWARD_ID]
        order_rows = F.binary_cross_entropy_with_logits(
            order_logit, (order_target == REVERSED_ID).float(), reduction="none")
        order_loss = order_rows.mean()

        loss = nt_loss + order_loss + self.gc_weight * gc_mse
        return {"loss": loss, "nt_loss": nt_loss.detach(), "gc_mse": gc_mse.detach(),
                "order_loss": order_loss.detach(), "nt_loss_rows": nt_loss_rows,
                "nt_correct_rows": nt_correct_rows, "nt_n_rows": nt_n_rows,
                "gc_pred": gc_pred.detach(), "order_logit": order_logit.detach(),
                "order_loss_rows": order_rows.detach()}

    @staticmethod
    def inputs(rows: Any) -> tuple[torch.Tensor, ...]:
        """The forward arguments of a :class:`dnalm.gpt.data.Rows`, in order."""
        return (rows.input_ids, rows.nt_targets, rows.gc_pos, rows.gc_target, rows.order_pos,
                rows.order_target)
