"""Corpus pieces as GPT pretraining rows with three objectives.

The corpus shards are BERT's (:mod:`dnalm.corpus`); :class:`GptCorpus` reuses its reader and
its length-bucketed :class:`~dnalm.corpus.stream.BatchStream`, but a batch is the pieces' base
codes; :func:`make_rows` turns them into rows, with the randomness of one optimizer step:

``<R> t_1 ... t_n <=> <M> <B>``  (n + 4 positions)

- ``t_i`` are the non-overlapping 6-mers of the piece, **reversed** (plain string reversal,
  not the reverse complement) in a random half of the rows;
- next-token prediction: positions 0..n-1 predict ``t_1..t_n``, in the forward rows only
  (reversed DNA is not the genome's distribution; the unigram baseline is counted on forward
  tokens);
- GC content: the regression head read at ``<M>`` predicts the piece's standardised GC
  fraction, ``(gc - gc_mean) / gc_unit`` with the training split's mean and s.d. (DNAGPT's
  scale is not known). A unit-variance target lets the head's last layer reach it in about
  a hundred Adam steps; in percentage points (s.d. about 7) it took several hundred. With the
  compositional k-mer embedding initialisation (:func:`dnalm.gpt.model.kmer_embedding_init`)
  the GC content is linearly readable at ``<M>`` from the start (ridge probe r² 0.96 at
  initialisation on the test corpus);
- order: the token head read at ``<B>`` tells the answer token ``A`` (forward) from ``N``
  (reversed): a binary cross-entropy of those two logits (:mod:`dnalm.gpt.objectives`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from dnalm.corpus.stream import Corpus
from dnalm.gpt.tokenizer import (
    ANSWER_ID,
    NUM_ID,
    PAD_ID,
    QUERY_ID,
    SPECIES_ID,
    GptTokenizer,
    K,
)

__all__ = ["FORWARD_ID", "REVERSED_ID", "N_TEMPLATE", "GptCorpus", "Rows", "make_rows", "gc_fraction_codes"]

FORWARD_ID = GptTokenizer.encode("A")[0]  # 35: answer "forward"
REVERSED_ID = GptTokenizer.encode("N")[0]  # 34: answer "reversed"
N_TEMPLATE = 4  # positions besides the 6-mers: <R>, <=>, <M>, <B>
_DNALM_PAD = 4  # dnalm base code of a non-ACGT base, used as padding of code batches


def gc_fraction_codes(codes: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """GC fraction of each padded row of dnalm base codes (C=2, G=3), shape=(B,), float64."""
    codes = np.asarray(codes)
    valid = np.arange(codes.shape[1])[None, :] < np.asarray(lengths)[:, None]
    gc = ((codes == 2) | (codes == 3)) & valid
    return gc.sum(1) / np.maximum(valid.sum(1), 1)


class GptCorpus(Corpus):
    """Corpus shards read as base codes, cropped to what ``n_positions`` tokens hold.

    Parameters
    ----------
    shard_paths : sequence of Path
    n_positions : int
        The model's positions; a piece is cropped to ``(n_positions - 4) * 6`` bp.

    Attributes
    ----------
    n_tokens : numpy.ndarray, shape=(n_pieces,), dtype=int64
        Positions of each piece's row (for length bucketing).
    """

    def __init__(self, shard_paths: Sequence[Path], n_positions: int) -> None:
        super().__init__(shard_paths, K, max_tokens=max(int(n_positions), 3))
        self.max_bp = (int(n_positions) - N_TEMPLATE) * K
        if self.max_bp < K:
            raise ValueError(f"`n_positions` must be at least {N_TEMPLATE + 1}, got {n_positions}")
        self.n_tokens = -(-np.minimum(self.length, self.max_bp) // K) + N_TEMPLATE

    def codes(self, piece: int) -> np.ndarray:
        """dnalm base codes of one piece (cropped), shape=(<= max_bp,), uint8."""
        off, n = int(self.offset[piece]), min(int(self.length[piece]), self.max_bp)
        return np.asarray(self._seq(int(self.shard[piece]))[off : off + n])

    def collate(self, pieces: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        """``(codes, lengths)``: right-padded base codes shape=(B, L) uint8 and lengths shape=(B,) int64."""
        rows = [self.codes(int(p)) for p in pieces]
        width = max(len(r) for r in rows)
        codes = np.full((len(rows), width), _DNALM_PAD, dtype=np.uint8)
        for i, r in enumerate(rows):
            codes[i, : len(r)] = r
        return torch.from_numpy(codes), torch.tensor([len(r) for r in rows], dtype=torch.int64)

    def token_counts(self, pieces: np.ndarray, max_tokens: int | None = 5_000_000, seed: int = 0) -> np.ndarray:
        """How often each token id occurs in the forward 6-mer tokens of ``pieces``, shape=(V,), int64.

        Stops after about ``max_tokens`` tokens, taking pieces in a seeded random order.
        """
        from dnalm.gpt.tokenizer import VOCAB_SIZE

        pieces = np.asarray(pieces, dtype=np.int64)
        if max_tokens is not None and int((self.n_tokens[pieces] - N_TEMPLATE).sum()) > max_tokens:
            pieces = np.random.default_rng(seed).permutation(pieces)
        counts = np.zeros(VOCAB_SIZE, dtype=np.int64)
        done, chunk = 0, []
        for n, p in enumerate(pieces, 1):
            chunk.append(GptTokenizer.dnalm_codes_to_ids(self.codes(int(p))))
            done += len(chunk[-1])
            last = n == len(pieces) or (max_tokens is not None and done >= max_tokens)
            if last or len(chunk) >= 4096:
                counts += np.bincount(np.concatenate(chunk), minlength=VOCAB_SIZE)
                chunk = []
            if last:
                break
        return counts

    def gc_stats(self, pieces: np.ndarray, max_pieces: int = 20_000, seed: int = 0) -> tuple[float, float]:
        """Mean and s.d. of the GC fraction of (a seeded sample of) ``pieces``, as cropped."""
        pieces = np.asarray(pieces, dtype=np.int64)
        if len(pieces) > max_pieces:
            pieces = np.random.default_rng(seed).choice(pieces, max_pieces, replace=False)
        gc = np.array([gc_fraction_codes(c[None, :], np.array([len(c)]))[0]
                       for c in (self.codes(int(p)) for p in pieces)])
        return float(gc.mean()), float(max(gc.std(), 1e-3))


@dataclass
class Rows:
    """One batch of pretraining rows (see the module docstring), all on one device.

    Attributes
    ----------
    input_ids : torch.Tensor, shape=(B, T), int64
    nt_targets : torch.Tensor, shape=(B, T), int64
        Next-token target of each position, -100 where none (reversed rows, template, padding).
    gc_pos, order_pos : torch.Tensor, shape=(B,), int64
        Positions of ``<M>`` and ``<B>``.
    gc_target : torch.Tensor, shape=(B,), float32
        Scaled GC fraction ``(gc - gc_mean) / gc_unit``.
    order_target : torch.Tensor, shape=(B,), int64
        ``FORWARD_ID`` or ``REVERSED_ID``.
    reversed : torch.Tensor, shape=(B,), bool
    gc : numpy.ndarray, shape=(B,), float64
        The raw GC fraction.
    """

    input_ids: torch.Tensor
    nt_targets: torch.Tensor
    gc_pos: torch.Tensor
    order_pos: torch.Tensor
    gc_target: torch.Tensor
    order_target: torch.Tensor
    reversed: torch.Tensor
    gc: np.ndarray

    def to(self, device: torch.device) -> Rows:
        t = {k: v.to(device, non_blocking=True) if isinstance(v, torch.Tensor) else v
             for k, v in self.__dict__.items()}
        return Rows(**t)


def make_rows(codes: torch.Tensor | np.ndarray, lengths: torch.Tensor | np.ndarray,
              reverse: np.ndarray, gc_mean: float, gc_unit: float) -> Rows:
    """Pretraining rows of a batch of base codes.

    Parameters
    ----------
    codes : shape=(B, L), dnalm base codes, right-padded
    lengths : shape=(B,)
    reverse : numpy.ndarray, shape=(B,), bool
        Which rows are reversed (the order task's label).
    gc_mean, gc_unit : float
        The GC target is ``(gc - gc_mean) / gc_unit``.

    Returns
    -------
    Rows
    """
    codes = np.asarray(codes)
    lengths = np.asarray(lengths, dtype=np.int64)
    reverse = np.asarray(reverse, dtype=bool)
    toks = []
    for i in range(len(lengths)):
        c = codes[i, : lengths[i]]
        toks.append(GptTokenizer.dnalm_codes_to_ids(c[::-1] if reverse[i] else c))
    n = np.array([len(t) for t in toks])
    width = int(n.max()) + N_TEMPLATE
    ids = np.full((len(toks), width), PAD_ID, dtype=np.int64)
    nt = np.full((len(toks), width), -100, dtype=np.int64)
    for i, t in enumerate(toks):
        ids[i, 0] = SPECIES_ID
        ids[i, 1 : n[i] + 1] = t
        ids[i, n[i] + 1 : n[i] + 4] = (ANSWER_ID, NUM_ID, QUERY_ID)
        if not reverse[i]:
            nt[i, : n[i]] = t
    gc = gc_fraction_codes(codes, lengths)
    return Rows(
        input_ids=torch.from_numpy(ids),
        nt_targets=torch.from_numpy(nt),
        gc_pos=torch.from_numpy(n + 2),
        order_pos=torch.from_numpy(n + 3),
        gc_target=torch.from_numpy(((gc - gc_mean) / gc_unit).astype(np.float32)),
        order_target=torch.from_numpy(np.where(reverse, REVERSED_ID, FORWARD_ID).astype(np.int64)),
        reversed=torch.from_numpy(reverse.copy()),
        gc=gc,
    )
