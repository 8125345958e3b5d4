"""Dinucleotide-shuffled references (the baselines of integrated gradients)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from dnalm.shuffle import dinuc_shuffle

__all__ = ["shuffled_references"]


def shuffled_references(seqs: Sequence[str], n_shuffles: int = 3, seed: int = 1) -> list[list[str]]:
    """``n_shuffles`` dinucleotide shuffles of every sequence.

    Parameters
    ----------
    seqs : sequence of str, length n
    n_shuffles : int, optional
        Default is 3.
    seed : int, optional
        Row ``i`` draws from ``numpy.random.default_rng([seed, i])``, so its references do not
        depend on the other rows or on batching. Default is 1.

    Returns
    -------
    refs : list of list of str, shape=(n, n_shuffles)
        Each shuffle keeps the row's dinucleotide counts and its first and last base.
    """
    if isinstance(n_shuffles, bool) or not isinstance(n_shuffles, int) or n_shuffles < 1:
        raise ValueError(f"`n_shuffles` must be a positive integer, got {n_shuffles!r}")
    out = []
    for i, s in enumerate(seqs):
        rng = np.random.default_rng([int(seed), i])
        out.append([dinuc_shuffle(s.upper(), rng) for _ in range(n_shuffles)])
    return out
