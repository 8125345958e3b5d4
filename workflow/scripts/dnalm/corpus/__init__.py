"""Pretraining corpus of a genome: per-chromosome shards of N-free random-length pieces.

Shards are keyed by genome only (``results/corpus/{genome}/shards/``): they hold base codes,
not tokens, so every k reads the same files. Modules:

- :mod:`dnalm.corpus.build`: :func:`build_corpus_shard` cuts one chromosome (DNABERT's
  ``cut_no_overlap``, made N-safe, streamed, deterministic) with the settings
  :func:`contig_settings` gives it (held-out validation contigs);
- :mod:`dnalm.corpus.shard`: the shard file contract, :func:`open_shard` (memory-mapped
  :class:`Shard`), :func:`iter_pieces`, :func:`find_shards`, :func:`shard_files`;
- :mod:`dnalm.corpus.stats`: :func:`gather_stats` (``stats.json``, ``length_hist.png``),
  :func:`shards_of` (the shards a ``stats.json`` covers: what pretraining reads).
"""

from __future__ import annotations

from dnalm.corpus.build import build_corpus_shard, contig_settings
from dnalm.corpus.shard import SPLITS, Shard, find_shards, iter_pieces, open_shard, shard_files
from dnalm.corpus.stats import gather_stats, shards_of

__all__ = [
    "build_corpus_shard",
    "contig_settings",
    "Shard",
    "SPLITS",
    "open_shard",
    "iter_pieces",
    "find_shards",
    "shard_files",
    "gather_stats",
    "shards_of",
]
