"""Train / held-out split of haplotypes, by sample (both copies of a sample stay together)."""

from __future__ import annotations

import numpy as np

from dnalm.haplotypes.store import Haplotypes

__all__ = ["split_haplotypes"]


def split_haplotypes(
    hap: Haplotypes, held_out_fraction: float = 0.2, seed: int = 1
) -> tuple[Haplotypes, Haplotypes]:
    """Split samples at random into training and held-out haplotypes.

    Splitting by sample, not by haplotype, keeps the two copies of one person (which share
    long stretches near common variants) on the same side, so the held-out set is unseen.

    Parameters
    ----------
    hap : Haplotypes
    held_out_fraction : float, optional
        Share of samples held out (rounded, at least one on each side). Default is 0.2.
    seed : int, optional
        Default is 1.

    Returns
    -------
    train, held_out : Haplotypes
        Samples keep their original order within each side.
    """
    n = len(hap.samples)
    if not 0 < held_out_fraction < 1:
        raise ValueError(f"`held_out_fraction` must be in (0, 1), got {held_out_fraction}")
    if n < 2:
        raise ValueError(f"need at least 2 samples to split, got {n}")
    n_held = min(max(1, round(held_out_fraction * n)), n - 1)
    perm = np.random.default_rng(seed).permutation(n)
    held = np.sort(perm[:n_held])
    train = np.sort(perm[n_held:])
    return hap.subset(train), hap.subset(held)
