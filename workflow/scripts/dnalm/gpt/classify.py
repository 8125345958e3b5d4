"""Sequence classification with a DNAGPT-style model: the class is a vocabulary token read at ``<B>``.

Each sequence becomes the pretraining order-task row ``<R> t_1 ... t_n <=> <M> <B>`` (n + 4
positions, :mod:`dnalm.gpt.data`), right-padded with ``<P>`` (attention is causal, so padding
never reaches a real position). As in DNAGPT, a class is a vocabulary token: the token head
read at ``<B>`` gives the logits of the label tokens, class 0 = ``A``, class 1 = ``N`` (DNAGPT's
"fake" and "real" signal, which are also the pretraining order answers "forward" and
"reversed"), then ``G``, ``C``, ``T`` and the 2-mers for more classes. No new weights are added,
so the pretrained heads start the fine-tuning.

:class:`GptClassifier` plugs into the fine-tuning loop of :mod:`dnalm.finetune` and the scorer of
:mod:`dnalm.predict` through ``input_kind = "gpt"`` (:meth:`GptClassifier.encode` makes a batch's
inputs). A fine-tuned model directory is a GPT model directory (:func:`dnalm.gpt.save_gpt_dir`)
whose ``config.json`` also holds ``dnalm_classifier`` (label token ids, template) and
``id2label``/``label2id``; :func:`load_gpt_classifier` reads it back.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from dnalm.gpt.model import DnaGptModel, build_gpt, load_gpt_dir, save_gpt_dir
from dnalm.gpt.tokenizer import (
    ANSWER_ID,
    KMER_OFFSET,
    NUM_ID,
    PAD_ID,
    QUERY_ID,
    SPECIES_ID,
    GptTokenizer,
    K,
)

__all__ = [
    "CLASSIFIER_KEY",
    "GptClassifier",
    "build_gpt_classifier",
    "gpt_rows",
    "is_gpt_dir",
    "label_token_ids",
    "load_gpt_classifier",
]

#: ``config.json`` key of a fine-tuned GPT classifier (absent in a language model).
CLASSIFIER_KEY = "dnalm_classifier"
#: Positions of the classification template besides the 6-mers: ``<R>``, ``<=>``, ``<M>``, ``<B>``.
N_TEMPLATE = 4
_TEMPLATE = "<R> SEQ <=> <M> <B>"


def label_token_ids(n_classes: int) -> list[int]:
    """Vocabulary ids of the class tokens: ``A``, ``N``, ``G``, ``C``, ``T``, then the 2-mers.

    Parameters
    ----------
    n_classes : int
        At least 2 and at most 30.
    """
    if isinstance(n_classes, bool) or not isinstance(n_classes, int) or not 2 <= n_classes <= 30:
        raise ValueError(f"`n_classes` must be an integer in 2..30, got {n_classes!r}")
    one = [GptTokenizer.encode(b)[0] for b in "ANGCT"]
    two = list(range(KMER_OFFSET[1], KMER_OFFSET[2]))
    return (one + two)[:n_classes]


def gpt_rows(seqs: Sequence[str], max_positions: int) -> tuple[np.ndarray, np.ndarray]:
    """Token rows ``<R> 6-mers <=> <M> <B>`` of sequences, right-padded with ``<P>``.

    Parameters
    ----------
    seqs : sequence of str, length B
    max_positions : int
        The model's positions; a longer row raises.

    Returns
    -------
    input_ids : numpy.ndarray, shape=(B, T), dtype=int64
    query_pos : numpy.ndarray, shape=(B,), dtype=int64
        Index of each row's ``<B>``.
    """
    toks = [GptTokenizer.encode(s) for s in seqs]
    lens = np.array([len(t) + N_TEMPLATE for t in toks], dtype=np.int64)
    if len(toks) and lens.max() > max_positions:
        i = int(lens.argmax())
        raise ValueError(
            f"sequence {i} has {len(seqs[i])} bp = {len(toks[i])} tokens + {N_TEMPLATE} template "
            f"positions, more than the model's {max_positions} positions (at most "
            f"{(max_positions - N_TEMPLATE) * K} bp)")
    ids = np.full((len(toks), int(lens.max()) if len(toks) else N_TEMPLATE), PAD_ID, dtype=np.int64)
    for r, t in enumerate(toks):
        n = len(t)
        ids[r, 0] = SPECIES_ID
        ids[r, 1 : n + 1] = t
        ids[r, n + 1 : n + 4] = (ANSWER_ID, NUM_ID, QUERY_ID)
    return ids, lens - 1


class GptClassifier(nn.Module):
    """A :class:`DnaGptModel` read as a classifier: label-token logits at ``<B>``.

    The label rows of the token head's output layer train as :attr:`label_head` (a copy) and
    the rest of that layer is frozen, as is, by default, the token embedding: together they
    are 5 M of the tiny model's 5.9 M parameters, and updating them made a fine-tuning step
    about 4x slower than the tiny BERT's while only the few label rows and the k-mers seen in
    training get a gradient. :meth:`save_dir` writes the label rows back into the token head,
    so the saved model is a plain :class:`DnaGptModel`.

    Parameters
    ----------
    gpt : DnaGptModel
    n_classes : int
    train_embeddings : bool, optional
        Also fine-tune the token embedding. Default is False.
    """

    input_kind = "gpt"

    def __init__(self, gpt: DnaGptModel, n_classes: int, train_embeddings: bool = False) -> None:
        super().__init__()
        self.gpt = gpt
        self.n_classes = int(n_classes)
        self.register_buffer("label_ids", torch.tensor(label_token_ids(self.n_classes)), persistent=False)
        out = gpt.lm_head[-1]
        self.label_head = nn.Linear(out.in_features, self.n_classes)
        with torch.no_grad():
            self.label_head.weight.copy_(out.weight[self.label_ids])
            self.label_head.bias.copy_(out.bias[self.label_ids])
        out.requires_grad_(False)  # the label rows train as label_head
        gpt.transformer.wte.requires_grad_(bool(train_embeddings))

    @property
    def max_positions(self) -> int:
        return int(self.gpt.config.n_positions)

    @property
    def max_bases(self) -> int:
        """Longest input in bp."""
        return (self.max_positions - N_TEMPLATE) * K

    def encode(self, seqs: Sequence[str]) -> dict[str, torch.Tensor]:
        """CPU inputs of a batch: ``input_ids`` (B, T) and ``query_pos`` (B,)."""
        ids, pos = gpt_rows(seqs, self.max_positions)
        return {"input_ids": torch.from_numpy(ids), "query_pos": torch.from_numpy(pos)}

    def forward(self, input_ids: torch.Tensor, query_pos: torch.Tensor) -> torch.Tensor:
        """Class logits, shape=(B, n_classes)."""
        # no number input: the backbone directly, without a key/value cache
        h = self.gpt.transformer(input_ids=input_ids, use_cache=False).last_hidden_state
        hq = h[torch.arange(h.shape[0], device=h.device), query_pos]
        return self.label_head(self.gpt.lm_head[:-1](hq))

    def merged_gpt(self) -> DnaGptModel:
        """The GPT with the label rows of its token head set from :attr:`label_head` (in place)."""
        with torch.no_grad():
            out = self.gpt.lm_head[-1]
            out.weight[self.label_ids] = self.label_head.weight.to(out.weight.dtype)
            out.bias[self.label_ids] = self.label_head.bias.to(out.bias.dtype)
        return self.gpt

    def save_dir(self, out_dir: str | Path, labels: Sequence[str],
                 extra_files: Mapping[str, str] | None = None) -> Path:
        """Write the model directory atomically (:func:`dnalm.gpt.save_gpt_dir`) with labels.

        Parameters
        ----------
        out_dir : str or Path
        labels : sequence of str
            Class names, index = class id.
        extra_files : mapping of str to str, optional
            E.g. ``card.json`` and ``README.md``. Default is None.
        """
        if len(labels) != self.n_classes:
            raise ValueError(f"`labels` has {len(labels)} names, the model {self.n_classes} classes")
        cfg = self.gpt.config
        cfg.id2label = {i: str(n) for i, n in enumerate(labels)}
        cfg.label2id = {str(n): i for i, n in enumerate(labels)}
        setattr(cfg, CLASSIFIER_KEY, {"n_classes": self.n_classes, "template": _TEMPLATE,
                                      "label_token_ids": self.label_ids.tolist()})
        self.to("cpu")
        return save_gpt_dir(self.merged_gpt(), out_dir, extra_files=extra_files)


def _read_config(d: Path) -> dict[str, Any]:
    p = d / "config.json"
    if not p.is_file():
        raise ValueError(f"{p}: missing (not a model directory)")
    try:
        cfg = json.loads(p.read_text())
    except json.JSONDecodeError as e:
        raise ValueError(f"{p}:{e.lineno}: not valid JSON ({e.msg})") from None
    if not isinstance(cfg, dict):
        raise ValueError(f"{p}:1: expected a JSON object")
    return cfg


def is_gpt_dir(path: str | Path) -> bool:
    """Whether a directory holds a dnalm GPT model (``config.json`` names ``DnaGptModel``)."""
    p = Path(path) / "config.json"
    if not p.is_file():
        return False
    try:
        cfg = json.loads(p.read_text())
    except json.JSONDecodeError:
        return False
    return isinstance(cfg, dict) and "DnaGptModel" in (cfg.get("architectures") or [])


def build_gpt_classifier(lm_dir: str | Path, n_classes: int, scratch: bool = False,
                         seed: int = 0) -> GptClassifier:
    """A classifier on a pretrained GPT language model (or its random-init twin).

    Parameters
    ----------
    lm_dir : str or Path
        ``results/pretrain/<lm>/model`` of a GPT language model.
    n_classes : int
    scratch : bool, optional
        Random initialisation with the LM's size and positions (:func:`dnalm.gpt.build_gpt`).
        Default is False.
    seed : int, optional
        Seed of the random initialisation. Default is 0.

    Raises
    ------
    ValueError
        Naming the file, when ``lm_dir`` is not a GPT model directory or is already a classifier.
    """
    d = Path(lm_dir)
    cfg = _read_config(d)
    if "DnaGptModel" not in (cfg.get("architectures") or []):
        raise ValueError(f"{d / 'config.json'}: architectures {cfg.get('architectures')} is not a "
                         "dnalm GPT language model (DnaGptModel)")
    if CLASSIFIER_KEY in cfg:
        raise ValueError(f"{d / 'config.json'}: is a fine-tuned GPT classifier, not a language model")
    if scratch:
        size = (cfg.get("dnagpt") or {}).get("size")
        if size is None:
            raise ValueError(f"{d / 'config.json'}: lacks dnagpt.size (the size preset)")
        gpt = build_gpt(size, n_positions=int(cfg["n_positions"]), seed=seed)
    else:
        gpt = load_gpt_dir(d)[0]
    return GptClassifier(gpt.float().train(), n_classes)


def load_gpt_classifier(directory: str | Path) -> tuple[GptClassifier, list[str]]:
    """Load a fine-tuned GPT classifier directory: (classifier in eval mode on the CPU, labels).

    Raises
    ------
    ValueError
        Naming the file: not a GPT model directory, a language model (not fine-tuned), or label
        tokens that differ from :func:`label_token_ids`.
    """
    d = Path(directory)
    cfg = _read_config(d)
    if "DnaGptModel" not in (cfg.get("architectures") or []):
        raise ValueError(f"{d / 'config.json'}: architectures {cfg.get('architectures')} is not a "
                         "dnalm GPT model (DnaGptModel)")
    spec = cfg.get(CLASSIFIER_KEY)
    if not isinstance(spec, dict) and "dnalm_regression" in cfg:  # dnalm.gpt.regress.REGRESSION_KEY
        raise ValueError(f"{d}: is a fine-tuned GPT regression model (an expression task: "
                         "dnalm_regression in config.json), not a classifier; its predictions "
                         "are the run's predictions.tsv.gz (dnalm.gpt.regress.load_gpt_regressor "
                         "scores new rows)")
    if not isinstance(spec, dict):
        raise ValueError(f"{d}: is a GPT language model (no {CLASSIFIER_KEY} in config.json), "
                         "not a fine-tuned classifier")
    n = int(spec.get("n_classes", 0))
    if spec.get("label_token_ids") != label_token_ids(n):
        raise ValueError(f"{d / 'config.json'}: {CLASSIFIER_KEY}.label_token_ids "
                         f"{spec.get('label_token_ids')} differ from this version's {label_token_ids(n)}")
    gpt, _ = load_gpt_dir(d)
    id2label = cfg.get("id2label") or {}
    labels = [str(id2label.get(str(i), i)) for i in range(n)]
    return GptClassifier(gpt, n).eval(), labels
