"""The DNAGPT-style model: a GPT-2 decoder with a token head, a regression head and number input.

:class:`DnaGptModel` is a ``transformers`` model (a ``GPT2PreTrainedModel``):

- ``transformer``: a stock ``GPT2Model`` (pre-LN blocks, learned absolute positions, tanh-GELU
  MLP, causal SDPA attention, no dropout), so ``GPT2Model.from_pretrained(model_dir)`` loads the
  backbone of a saved model;
- ``lm_head``: Linear(d, d) -> SiLU -> LayerNorm -> Linear(d, V), not tied to the embeddings; it
  predicts the next token and, read at a ``<B>`` query, a class given as a vocabulary token;
- ``reg_head``: Linear(d, d) -> SiLU -> LayerNorm -> Linear(d, 1), read at ``<M>`` queries;
- ``num_embed``: Linear(1, d) -> SiLU -> LayerNorm -> Linear(d, d); a real value replaces the
  token embedding of one position (a ``<M>`` slot) before the position embedding is added.

Everything is saved by ``save_pretrained`` as ``model.safetensors`` + ``config.json`` (model
type ``gpt2``); :func:`save_gpt_dir` adds the tokenizer files (:mod:`dnalm.gpt.tokenizer`).
Sizes: :data:`GPT_SIZES` (``tiny`` for the demo, ``dnagpt_s`` = DNAGPT-S-512's 12 x 768 x 12
heads with 512 positions).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from transformers import GPT2Config, GPT2Model, GPT2PreTrainedModel

from dnalm.atomic import atomic_dir, write_text
from dnalm.gpt.tokenizer import PAD_ID, SPECIES_ID, VOCAB_SIZE, GptTokenizer, load_gpt_tokenizer
from dnalm.modeling import from_pretrained_strict

__all__ = ["GPT_SIZES", "gpt_config", "DnaGptModel", "build_gpt", "save_gpt_dir", "load_gpt_dir",
           "unigram_head_init"]

#: Size presets: layers, width, heads and positions (tokens including specials).
GPT_SIZES: dict[str, dict[str, int]] = {
    "tiny": {"n_layer": 4, "n_embd": 128, "n_head": 4, "n_positions": 256},
    "dnagpt_s": {"n_layer": 12, "n_embd": 768, "n_head": 12, "n_positions": 512},
}


def gpt_config(size: str, n_positions: int | None = None, **extra: Any) -> GPT2Config:
    """The ``GPT2Config`` of a size preset (DNAGPT's settings: tanh-GELU, no dropout, LN eps 1e-5).

    The tanh-GELU is ``gelu_pytorch_tanh``: GPT-2's ``gelu_new`` formula as one fused torch
    kernel (outputs agree to ~1e-6; the demo GPT's fine-tuning steps ~8% faster, regression 15%,
    forward-only ISM 32%, bench/README.md). Model directories saved with ``gelu_new`` still load
    and run as saved.

    Parameters
    ----------
    size : {"tiny", "dnagpt_s"}
    n_positions : int, optional
        Positions (context in tokens). Default is the preset's.
    **extra
        Stored in the config (and ``config.json``), e.g. ``dnagpt={"gc_mean": ...}``.
    """
    if size not in GPT_SIZES:
        raise ValueError(f"`size` must be one of {sorted(GPT_SIZES)}, got {size!r}")
    s = dict(GPT_SIZES[size])
    if n_positions is not None:
        s["n_positions"] = int(n_positions)
    return GPT2Config(
        vocab_size=VOCAB_SIZE, n_positions=s["n_positions"], n_embd=s["n_embd"],
        n_layer=s["n_layer"], n_head=s["n_head"], activation_function="gelu_pytorch_tanh",
        resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0, layer_norm_epsilon=1e-5,
        bos_token_id=SPECIES_ID, eos_token_id=PAD_ID, pad_token_id=PAD_ID,
        tie_word_embeddings=False, architectures=["DnaGptModel"], **extra,
    )


def _mlp(d: int, out: int, d_in: int | None = None) -> nn.Sequential:
    return nn.Sequential(nn.Linear(d_in or d, d), nn.SiLU(), nn.LayerNorm(d, eps=1e-5), nn.Linear(d, out))


class DnaGptModel(GPT2PreTrainedModel):
    """GPT-2 backbone with DNAGPT's token head, regression head and number embedding.

    Parameters
    ----------
    config : transformers.GPT2Config
        See :func:`gpt_config`.
    """

    base_model_prefix = "transformer"

    def __init__(self, config: GPT2Config) -> None:
        super().__init__(config)
        d = config.n_embd
        self.transformer = GPT2Model(config)
        self.lm_head = _mlp(d, config.vocab_size)
        self.reg_head = _mlp(d, 1)
        self.num_embed = _mlp(d, d, d_in=1)
        self.post_init()

    def forward(self, input_ids: torch.Tensor, numbers: torch.Tensor | None = None,
                number_pos: torch.Tensor | None = None) -> torch.Tensor:
        """Last hidden states, shape=(B, T, d).

        Parameters
        ----------
        input_ids : torch.Tensor, shape=(B, T), dtype=int64
            Right-padded with ``<P>``; attention is causal, so padding never reaches a real position.
        numbers : torch.Tensor, shape=(B,), dtype=float, optional
            One real value per row, already scaled. Default is None (no number input).
        number_pos : torch.Tensor, shape=(B,), dtype=int64, optional
            The position whose token embedding each value replaces (negative: none for that row).
        """
        emb = self.transformer.wte(input_ids)
        if numbers is not None:
            if number_pos is None:
                raise ValueError("`number_pos` is required with `numbers`")
            vec = self.num_embed(numbers.to(emb.dtype).reshape(-1, 1))  # (B, d)
            at = torch.arange(input_ids.shape[1], device=input_ids.device)[None, :] == number_pos[:, None]
            emb = torch.where(at[..., None], vec[:, None, :].to(emb.dtype), emb)
        return self.transformer(inputs_embeds=emb).last_hidden_state

    def token_logits(self, hidden: torch.Tensor) -> torch.Tensor:
        """Vocabulary logits of hidden states, shape=(..., V)."""
        return self.lm_head(hidden)

    def regress(self, hidden: torch.Tensor) -> torch.Tensor:
        """Regression head output of hidden states, shape=(...)."""
        return self.reg_head(hidden).squeeze(-1)


def kmer_embedding_init(weight: torch.Tensor, std: float = 0.02) -> None:
    """Set the k-mer rows of an embedding matrix to sums of per-position base vectors (in place).

    Row ``kmer`` becomes ``sum_j E[j, base_j] * sqrt(6 / len(kmer))`` with ``E`` drawn from
    N(0, std² / 6), so every row still has scale ``std`` but base composition (GC content, the
    bases at each offset) is a linear function of the embedding from the first step. With
    19,530 k-mer tokens most rows are seen only a few times in a short run, and a random
    initialisation leaves the GC objective nothing to read (measured: held-out r² about 0 after
    150-300 steps). Reserved tokens keep their initialisation; the matrix trains freely afterwards.

    Parameters
    ----------
    weight : torch.Tensor, shape=(VOCAB_SIZE, d)
    std : float, optional
        Default is 0.02 (GPT-2's initializer range).
    """
    from dnalm.gpt.tokenizer import KMER_OFFSET, K

    d = weight.shape[1]
    base = torch.randn(K, 5, d) * (std / K**0.5)
    rows = []
    for j in range(1, K + 1):
        idx = torch.cartesian_prod(*[torch.arange(5)] * j) if j > 1 else torch.arange(5)[:, None]
        rows.append(base[torch.arange(j), idx].sum(1) * (K / j) ** 0.5)  # (5**j, d)
    with torch.no_grad():
        weight[KMER_OFFSET[0]:] = torch.cat(rows).to(weight.dtype)


def unigram_head_init(model: DnaGptModel, counts: np.ndarray, seed: int = 0) -> None:
    """Start the token head at the unigram distribution of the training tokens (in place).

    - output bias: the add-one smoothed log frequency of each k-mer token (the reserved tokens,
      never next-token targets, get the rarest k-mer's value);
    - output weight: compositional, as the input embedding (:func:`kmer_embedding_init`): row
      ``kmer`` is a sum of per-position base vectors, so one direction of the hidden state
      moves every k-mer with a given base at a given offset (e.g. all k-mers starting with G
      after a C), which is what short-range context says about the next token.

    A randomly initialised head over 19,530 k-mers spends hundreds of steps learning the
    marginal frequencies before context can help (measured on the demo corpus: after 200 steps
    the next-token loss was still 0.17 nats above the unigram baseline); starting from them,
    training only has to learn what context adds. The weights train freely afterwards.

    Parameters
    ----------
    model : DnaGptModel
    counts : numpy.ndarray, shape=(VOCAB_SIZE,)
        Token counts of the training split (:meth:`dnalm.gpt.data.GptCorpus.token_counts`).
    seed : int, optional
        Seed of the base vectors (the global RNG is left as it was). Default is 0.
    """
    from dnalm.gpt.tokenizer import N_RESERVED

    c = np.asarray(counts, dtype=np.float64)
    if c.shape != (VOCAB_SIZE,):
        raise ValueError(f"`counts` must have shape ({VOCAB_SIZE},), got {c.shape}")
    c = c[N_RESERVED:] + 1.0
    logp = np.log(c / c.sum())
    bias = np.concatenate([np.full(N_RESERVED, logp.min()), logp])
    out = model.lm_head[-1]
    with torch.random.fork_rng():
        torch.manual_seed(int(seed))
        kmer_embedding_init(out.weight, model.config.initializer_range)
    with torch.no_grad():
        out.bias.copy_(torch.from_numpy(bias).to(out.bias.dtype))


def build_gpt(size: str, n_positions: int | None = None, seed: int = 0,
              extra: Mapping[str, Any] | None = None) -> DnaGptModel:
    """A freshly initialised :class:`DnaGptModel` (same ``seed``, same weights) with SDPA attention.

    Parameters
    ----------
    size : {"tiny", "dnagpt_s"}
    n_positions : int, optional
        Default is the preset's.
    seed : int, optional
        Default is 0.
    extra : mapping, optional
        Stored as ``config.dnagpt`` (e.g. the GC scaling). Default is None.
    """
    cfg = gpt_config(size, n_positions, dnagpt={"size": size, **dict(extra or {})})
    cfg._attn_implementation = "sdpa"
    with torch.random.fork_rng():
        torch.manual_seed(int(seed))
        model = DnaGptModel(cfg)
        kmer_embedding_init(model.transformer.wte.weight, cfg.initializer_range)
        return model


def save_gpt_dir(model: DnaGptModel, out_dir: str | Path,
                 extra_files: Mapping[str, str] | None = None) -> Path:
    """Write a GPT model directory atomically: safetensors weights, ``config.json``, tokenizer files.

    Parameters
    ----------
    model : DnaGptModel
    out_dir : str or Path
        Replaced whole (a temporary sibling is renamed into place).
    extra_files : mapping of str to str, optional
        More text files (name -> content). Default is None.
    """
    out = Path(out_dir)
    with atomic_dir(out) as tmp:
        model.save_pretrained(tmp, safe_serialization=True)
        GptTokenizer(model.config.n_positions).save(tmp)
        for name, text in (extra_files or {}).items():
            write_text(tmp / name, text)
    return out


def load_gpt_dir(path: str | Path, device: str | torch.device | None = None
                 ) -> tuple[DnaGptModel, GptTokenizer]:
    """Load a directory written by :func:`save_gpt_dir`: (model in eval mode, tokenizer)."""
    d = Path(path)
    if not (d / "config.json").is_file():
        raise ValueError(f"{d / 'config.json'}: missing (not a model directory)")
    model = from_pretrained_strict(DnaGptModel, d, attn_implementation="sdpa")
    if device is not None:
        model = model.to(device)
    return model.eval(), load_gpt_tokenizer(d)
