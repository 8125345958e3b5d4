"""DNABERT-XL style classifier for inputs longer than BERT's 512 positions.

A sequence's overlapping k-mers (L-k+1 of them, computed on the whole sequence so no k-mer
across a cut is lost) are split into the fewest pieces of at most ``max_tokens - 2`` k-mers,
as evenly as possible; consecutive pieces therefore overlap by k-1 bases. Each piece is run
through BERT as ``[CLS] piece [SEP]``; the pieces' pooled ``[CLS]`` vectors are combined by
mean or max pooling over the real pieces, or by concatenation (zero-filled up to
``max_pieces``), and a linear head gives the logits. A sequence that fits one piece is a
one-piece input, so the same model scores short and long sequences.

Saved as ``model.safetensors`` (the whole module's state) plus ``longseq.json`` (head
settings and the BERT config) and the k-mer tokenizer files.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from torch import nn

from dnalm import kmers
from dnalm.atomic import atomic_path, write_text

__all__ = ["POOLINGS", "CONFIG_NAME", "LongSeqClassifier", "encode_long", "n_pieces"]

POOLINGS = ("mean", "max", "concat")
CONFIG_NAME = "longseq.json"
WEIGHTS_NAME = "model.safetensors"


def n_pieces(length: int, k: int, max_tokens: int = 512) -> int:
    """Number of BERT pieces an ``length``-bp sequence is split into (at least 1)."""
    per = max_tokens - 2
    return max(1, -(-max(length - k + 1, 1) // per))


def encode_long(
    seqs: Sequence[str], k: int, max_tokens: int = 512, max_pieces: int | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Encode sequences as padded stacks of ``[CLS] k-mers [SEP]`` pieces.

    Parameters
    ----------
    seqs : sequence of str, length n
    k : int
    max_tokens : int, optional
        Tokens per piece including ``[CLS]``/``[SEP]``. Default is 512.
    max_pieces : int, optional
        Raise ``ValueError`` when a sequence needs more pieces. Default is None (no limit).

    Returns
    -------
    input_ids : numpy.ndarray, shape=(n, P, T), dtype=int64
        P = most pieces of any row, T = longest piece; ``[PAD]`` elsewhere.
    attention_mask : numpy.ndarray, shape=(n, P, T), dtype=int64
    piece_mask : numpy.ndarray, shape=(n, P), dtype=int64
        1 for real pieces.
    """
    if max_tokens < 3:
        raise ValueError(f"`max_tokens` must be >= 3, got {max_tokens}")
    per = max_tokens - 2
    rows: list[list[np.ndarray]] = []
    for i, s in enumerate(seqs):
        ids = kmers.encode(s, k)
        if len(ids) == 0:
            raise ValueError(f"`seqs`[{i}] has length {len(s)}, shorter than k={k}")
        n = -(-len(ids) // per)
        if max_pieces is not None and n > max_pieces:
            raise ValueError(
                f"`seqs`[{i}] ({len(s)} bp) needs {n} pieces, more than max_pieces={max_pieces}"
            )
        rows.append(
            [np.concatenate([[kmers.CLS_ID], p, [kmers.SEP_ID]]) for p in np.array_split(ids, n)]
        )
    n_p = max((len(r) for r in rows), default=1)
    width = max((len(p) for r in rows for p in r), default=2)
    input_ids = np.full((len(rows), n_p, width), kmers.PAD_ID, dtype=np.int64)
    attention = np.zeros_like(input_ids)
    piece_mask = np.zeros((len(rows), n_p), dtype=np.int64)
    for i, r in enumerate(rows):
        for j, p in enumerate(r):
            input_ids[i, j, : len(p)] = p
            attention[i, j, : len(p)] = 1
            piece_mask[i, j] = 1
    return input_ids, attention, piece_mask


class LongSeqClassifier(nn.Module):
    """BERT over pieces, pooled piece representations, linear head.

    Parameters
    ----------
    bert : transformers.BertModel
        With a pooling layer (``add_pooling_layer=True``).
    n_classes : int
    pooling : {"mean", "max", "concat"}, optional
        Default is "mean".
    max_pieces : int, optional
        Head width for ``concat`` (inputs with more pieces are rejected). Default is 1.
    dropout : float, optional
        Dropout on the combined representation. Default is 0.1.

    Notes
    -----
    ``forward(input_ids, attention_mask, piece_mask)`` takes arrays from
    :func:`encode_long` as tensors of shape (B, P, T), (B, P, T), (B, P) and returns logits
    of shape (B, n_classes).
    """

    input_kind = "long"

    def __init__(
        self,
        bert,
        n_classes: int,
        pooling: str = "mean",
        max_pieces: int = 1,
        dropout: float = 0.1,
    ) -> None:
        super().__init__()
        if pooling not in POOLINGS:
            raise ValueError(f"`pooling` must be one of {POOLINGS}, got {pooling!r}")
        if getattr(bert, "pooler", None) is None:
            raise ValueError("`bert` needs a pooling layer (BertModel(add_pooling_layer=True))")
        self.bert = bert
        self.config = bert.config
        self.n_classes = int(n_classes)
        self.pooling = pooling
        self.max_pieces = int(max_pieces)
        self.dropout_p = float(dropout)
        hidden = int(bert.config.hidden_size)
        width = hidden * (self.max_pieces if pooling == "concat" else 1)
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(width, self.n_classes)

    @property
    def max_tokens(self) -> int:
        return int(self.config.max_position_embeddings)

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        piece_mask: torch.Tensor,
    ) -> torch.Tensor:
        b, p, t = input_ids.shape
        if self.pooling == "concat" and p > self.max_pieces:
            raise ValueError(f"input has {p} pieces, more than max_pieces={self.max_pieces}")
        real = piece_mask.reshape(-1).bool()
        pooled = self.bert(
            input_ids=input_ids.reshape(-1, t)[real],
            attention_mask=attention_mask.reshape(-1, t)[real],
        ).pooler_output  # (n_real, H)
        rep = pooled.new_zeros(b * p, pooled.shape[-1])
        rep[real] = pooled
        rep = rep.reshape(b, p, -1)
        pm = piece_mask.bool()[..., None]
        if self.pooling == "mean":
            z = (rep * pm).sum(1) / pm.sum(1).clamp(min=1)
        elif self.pooling == "max":
            z = rep.masked_fill(~pm, float("-inf")).max(1).values
        else:
            z = nn.functional.pad(rep * pm, (0, 0, 0, self.max_pieces - p)).reshape(b, -1)
        return self.classifier(self.dropout(z))

    def head_config(self) -> dict:
        return {
            "format": "dnalm-longseq",
            "n_classes": self.n_classes,
            "pooling": self.pooling,
            "max_pieces": self.max_pieces,
            "dropout": self.dropout_p,
            "bert_config": self.config.to_dict(),
        }

    def save(self, directory: str | Path, k: int) -> None:
        """Write ``model.safetensors``, ``longseq.json`` and tokenizer files into ``directory``."""
        from safetensors.torch import save_file

        d = Path(directory)
        d.mkdir(parents=True, exist_ok=True)
        state = {n: t.detach().cpu().contiguous() for n, t in self.state_dict().items()}
        with atomic_path(d / WEIGHTS_NAME) as tmp:
            save_file(state, str(tmp), metadata={"format": "pt"})
        write_text(d / CONFIG_NAME, json.dumps(self.head_config(), indent=2))
        kmers.write_tokenizer_files(d, k, max_len=self.max_tokens)

    @classmethod
    def load(cls, directory: str | Path) -> LongSeqClassifier:
        """Rebuild a saved classifier (eval mode, CPU)."""
        from safetensors.torch import load_file
        from transformers import BertConfig, BertModel

        d = Path(directory)
        cfg_path = d / CONFIG_NAME
        try:
            spec = json.loads(cfg_path.read_text())
            bert_cfg = BertConfig.from_dict(spec["bert_config"])
            bert = BertModel(bert_cfg, add_pooling_layer=True)
            model = cls(
                bert, spec["n_classes"], spec["pooling"], spec["max_pieces"], spec["dropout"]
            )
        except (OSError, KeyError, json.JSONDecodeError) as e:
            raise ValueError(
                f"{cfg_path}: not a dnalm long-input classifier config ({e})"
            ) from None
        model.load_state_dict(load_file(str(d / WEIGHTS_NAME)))
        model.eval()
        return model

    @staticmethod
    def is_saved_in(directory: str | Path) -> bool:
        return (Path(directory) / CONFIG_NAME).is_file()
