"""Corpus shards as a stream of length-bucketed, tokenized training batches.

The training side of :mod:`dnalm.corpus`: shards (:func:`dnalm.corpus.find_shards`) are
opened with :func:`dnalm.corpus.open_shard` (memory maps, nothing is loaded whole), pieces are tokenized on demand as
``[CLS] k-mers [SEP]`` (cropped to ``max_tokens``), and each epoch is cut into batches of
pieces of similar length (:func:`epoch_batches`), so padding stays a few percent where
DNABERT padded every row to 512 tokens.

:class:`BatchStream` is endless and resumable: its position is ``(epoch, cursor)``, and the
batches of epoch ``e`` depend only on ``(seed, e)``, so a stream rebuilt at a saved position
continues exactly where the old one stopped. Under DDP each rank takes every
``world``-th batch of the epoch.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from dnalm import kmers
from dnalm._validate import validate_k
from dnalm.corpus.shard import SEQ_SUFFIX, Shard, open_shard

__all__ = ["Corpus", "epoch_batches", "BatchStream", "derive_seed"]


def derive_seed(*parts: int) -> int:
    """A 63-bit seed derived from integers (``numpy.random.SeedSequence``); same parts, same seed."""
    return int(np.random.SeedSequence([int(p) for p in parts]).generate_state(1, np.uint64)[0] >> 1)


class Corpus:
    """The pieces of a set of corpus shards, tokenized on demand.

    Pieces shorter than ``k`` (no k-mer) are left out.

    Parameters
    ----------
    shard_paths : sequence of Path
        ``{chrom}.seq.npy`` files; each needs its ``{chrom}.idx.npy`` next to it.
    k : int
    max_tokens : int, optional
        Rows are cropped to this many tokens including ``[CLS]``/``[SEP]``. Default is 512.

    Attributes
    ----------
    n_tokens : numpy.ndarray, shape=(n_pieces,), dtype=int64
        Tokens per piece including specials.
    split : numpy.ndarray, shape=(n_pieces,), dtype=int8
        0 train, 1 validation.
    """

    def __init__(self, shard_paths: Sequence[Path], k: int, max_tokens: int = 512) -> None:
        self.k = validate_k(k)
        self.max_tokens = int(max_tokens)
        self.paths = [Path(p) for p in shard_paths]
        self._shards: dict[int, Shard] = {}
        shard, offset, length, split = [], [], [], []
        for i, path in enumerate(self.paths):
            sh = open_shard(path)  # checks every piece against the contract
            self._shards[i] = sh
            idx = np.asarray(sh.idx)
            keep = idx[:, 1] >= k
            shard.append(np.full(int(keep.sum()), i, dtype=np.int32))
            offset.append(idx[keep, 0])
            length.append(idx[keep, 1])
            split.append(idx[keep, 2].astype(np.int8))
        self.shard = np.concatenate(shard) if shard else np.empty(0, np.int32)
        self.offset = np.concatenate(offset) if offset else np.empty(0, np.int64)
        self.length = np.concatenate(length) if length else np.empty(0, np.int64)
        self.split = np.concatenate(split) if split else np.empty(0, np.int8)
        self.n_tokens = np.minimum(self.length - k + 1, self.max_tokens - 2) + 2

    def __len__(self) -> int:
        return len(self.length)

    def validation_source(self) -> dict[str, Any]:
        """Where the validation pieces come from, for the learning check's record.

        Returns
        -------
        dict
            ``{"kind": "held_out_contigs", "contigs": [...]}`` when every validation piece lies in
            a shard that holds no training piece (``genomes.<g>.val_contigs``: sequence no
            training piece holds), else ``{"kind": "pieces", "contigs": [...]}`` (shards whose
            validation pieces were drawn beside their training pieces, ``corpus.val_fraction``);
            ``contigs`` are shard names. ``{"kind": "none", "contigs": []}`` without validation.
        """
        val = np.unique(self.shard[self.split == 1])
        if not val.size:
            return {"kind": "none", "contigs": []}
        train = set(np.unique(self.shard[self.split == 0]).tolist())
        names = [self.paths[i].name.removesuffix(SEQ_SUFFIX) for i in val.tolist()]
        held_out = not train & set(val.tolist())
        return {"kind": "held_out_contigs" if held_out else "pieces", "contigs": names}

    def __getstate__(self) -> dict[str, Any]:
        # DataLoader workers re-open the memory maps rather than pickling their contents.
        return {**self.__dict__, "_shards": {}}

    def _seq(self, i: int) -> np.ndarray:
        if i not in self._shards:
            self._shards[i] = open_shard(self.paths[i])
        return self._shards[i].seq

    def tokens(self, piece: int) -> np.ndarray:
        """``[CLS] k-mers [SEP]`` ids of one piece, shape=(n_tokens[piece],), dtype=int64."""
        off, n = int(self.offset[piece]), int(self.length[piece])
        n = min(n, self.max_tokens - 2 + self.k - 1)  # crop like DNABERT's block_size
        codes = np.asarray(self._seq(int(self.shard[piece]))[off : off + n])
        ids = kmers.codes_to_ids(codes, self.k)
        return np.concatenate([[kmers.CLS_ID], ids, [kmers.SEP_ID]]).astype(np.int64)

    def kmer_counts(self, pieces: np.ndarray, max_kmers: int | None = 20_000_000,
                    seed: int = 0) -> np.ndarray:
        """How often each k-mer occurs as a token of ``pieces`` (cropped as in training).

        Parameters
        ----------
        pieces : numpy.ndarray, shape=(n,), dtype=int
            Piece indices (e.g. the training split).
        max_kmers : int or None, optional
            Stop after about this many k-mers, taking pieces in a seeded random order
            (frequencies of a large corpus are estimated from a sample). Default is
            20,000,000; None counts every piece.
        seed : int, optional
            Order of the pieces when ``max_kmers`` is reached. Default is 0.

        Returns
        -------
        counts : numpy.ndarray, shape=(4**k,), dtype=int64
            In vocabulary order (count of token id ``5 + i`` at ``i``).
        """
        pieces = np.asarray(pieces, dtype=np.int64)
        counts = np.zeros(kmers.vocab_size(self.k), dtype=np.int64)
        total = int((self.n_tokens[pieces] - 2).sum())
        if max_kmers is not None and total > max_kmers:
            pieces = np.random.default_rng(seed).permutation(pieces)
        done, chunk = 0, []
        for n, p in enumerate(pieces, 1):
            chunk.append(self.tokens(int(p))[1:-1])
            done += len(chunk[-1])
            last = n == len(pieces) or (max_kmers is not None and done >= max_kmers)
            if last or len(chunk) >= 4096:  # bincount per chunk, not per piece
                counts += np.bincount(np.concatenate(chunk), minlength=len(counts))
                chunk = []
            if last:
                break
        return counts[kmers.N_SPECIAL:]

    def collate(self, pieces: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        """Right-padded ``(input_ids, attention_mask)``, both shape=(len(pieces), T), int64."""
        rows = [self.tokens(int(p)) for p in pieces]
        width = max(len(r) for r in rows)
        ids = np.full((len(rows), width), kmers.PAD_ID, dtype=np.int64)
        att = np.zeros((len(rows), width), dtype=np.int64)
        for i, r in enumerate(rows):
            ids[i, : len(r)] = r
            att[i, : len(r)] = 1
        return torch.from_numpy(ids), torch.from_numpy(att)


def epoch_batches(
    n_tokens: np.ndarray, batch_size: int, seed: int, epoch: int, pool_batches: int = 50
) -> np.ndarray:
    """Length-bucketed batches of one epoch, in random order.

    A random permutation is cut into pools of ``batch_size * pool_batches`` pieces; each
    pool is sorted by length and cut into batches, and the batches of all pools are shuffled.

    Parameters
    ----------
    n_tokens : numpy.ndarray, shape=(n,)
        Tokens per piece.
    batch_size, seed, epoch : int
    pool_batches : int, optional
        Batches per length-sorted pool. Default is 50.

    Returns
    -------
    batches : numpy.ndarray, shape=(n_batches, batch_size), dtype=int64
        Piece indices (into ``n_tokens``). A trailing incomplete batch is dropped unless
        there are fewer than ``batch_size`` pieces (then one batch of all of them).
    """
    n = len(n_tokens)
    if n == 0:
        raise ValueError("`n_tokens` is empty: no corpus pieces to train on")
    rng = np.random.default_rng([int(seed), int(epoch)])
    perm = rng.permutation(n)
    if n < batch_size:
        return perm[np.argsort(n_tokens[perm], kind="stable")][None, :]
    pool = batch_size * pool_batches
    chunks = []
    for s in range(0, n, pool):
        c = perm[s : s + pool]
        c = c[np.argsort(n_tokens[c], kind="stable")]
        nb = len(c) // batch_size
        chunks.append(c[: nb * batch_size].reshape(nb, batch_size))
    batches = np.concatenate(chunks)
    return batches[rng.permutation(len(batches))]


class _BatchSet(torch.utils.data.Dataset):
    """Batch ``i`` of one epoch, collated (what a DataLoader worker computes)."""

    def __init__(self, corpus: Corpus, pieces: np.ndarray, batches: np.ndarray) -> None:
        self.corpus, self.pieces, self.batches = corpus, pieces, batches

    def __len__(self) -> int:
        return len(self.batches)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self.corpus.collate(self.pieces[self.batches[i]])


class BatchStream:
    """Endless per-rank stream of ``(input_ids, attention_mask)`` batches at ``(epoch, cursor)``.

    Parameters
    ----------
    corpus : Corpus
    pieces : numpy.ndarray, shape=(n,), dtype=int64
        The corpus pieces to draw from (e.g. the training split).
    batch_size, seed : int
    pool_batches : int, optional
        See :func:`epoch_batches`. Default is 50.
    rank, world : int, optional
        This process and the number of processes; rank r takes batches r, r + world, ...
        Default is 0 and 1.
    epoch, cursor : int, optional
        Start position (a saved :attr:`position`). Default is 0, 0.
    num_workers : int, optional
        DataLoader worker processes. Default is 0.
    pin_memory : bool, optional
        Default is False.
    """

    def __init__(self, corpus: Corpus, pieces: np.ndarray, batch_size: int, seed: int,
                 pool_batches: int = 50, rank: int = 0, world: int = 1, epoch: int = 0,
                 cursor: int = 0, num_workers: int = 0, pin_memory: bool = False) -> None:
        self.corpus, self.pieces = corpus, pieces
        self.batch_size, self.seed, self.pool_batches = batch_size, seed, pool_batches
        self.rank, self.world = rank, world
        self.epoch, self.cursor = epoch, cursor
        self.num_workers, self.pin_memory = num_workers, pin_memory
        self.n_batches = 0
        self._it: Iterator[tuple[torch.Tensor, torch.Tensor]] | None = None

    @property
    def position(self) -> tuple[int, int]:
        """``(epoch, cursor)``: the next batch is batch ``cursor`` of this rank in ``epoch``."""
        return self.epoch, self.cursor

    def seek(self, epoch: int, cursor: int) -> None:
        """Continue from a saved :attr:`position`."""
        self.epoch, self.cursor, self._it = int(epoch), int(cursor), None

    def _rank_batches(self) -> np.ndarray:
        b = epoch_batches(self.corpus.n_tokens[self.pieces], self.batch_size, self.seed,
                          self.epoch, self.pool_batches)
        if self.world > 1:
            b = b[: (len(b) // self.world) * self.world][self.rank :: self.world]
            if len(b) == 0:
                raise ValueError(f"corpus has fewer batches than the {self.world} processes")
        return b

    def _open(self) -> None:
        batches = self._rank_batches()
        while self.cursor >= len(batches):  # a saved position at the very end of an epoch
            self.epoch, self.cursor = self.epoch + 1, 0
            batches = self._rank_batches()
        self.n_batches = len(batches)
        loader = torch.utils.data.DataLoader(
            _BatchSet(self.corpus, self.pieces, batches), batch_size=None,
            sampler=range(self.cursor, self.n_batches), num_workers=self.num_workers,
            pin_memory=self.pin_memory, persistent_workers=False,
            # Its own generator: opening an iterator must not consume the global torch RNG
            # (dropout), or a resumed run would diverge from an uninterrupted one.
            generator=torch.Generator().manual_seed(derive_seed(self.seed, self.rank, self.epoch)),
        )
        self._it = iter(loader)

    def next(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The next batch: ``(input_ids, attention_mask)``, each shape=(batch_size, T), int64."""
        if self._it is None:
            self._open()
        batch = next(self._it)
        self.cursor += 1
        if self.cursor >= self.n_batches:  # the next call opens the next epoch
            self.epoch, self.cursor, self._it = self.epoch + 1, 0, None
        return batch
