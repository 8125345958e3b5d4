"""Control samplers that a haplotype generator must beat.

- :func:`independent_sites_sampler` draws every site on its own from its training allele
  frequency: it matches allele frequencies but has no linkage disequilibrium (LD correlation
  near 0), so a high AF correlation alone proves little.
- :func:`copy_training_sampler` returns training haplotypes unchanged (memorisation): every
  statistic looks perfect while the distance to the nearest training haplotype is 0, so a
  model's artificial-to-training distances must be compared against it.

Every sampler is a callable ``(n, rng) -> (n, n_sites) int8`` (see
:func:`dnalm.haplotypes.generate_haplotypes`).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

__all__ = ["Sampler", "copy_training_sampler", "independent_sites_sampler"]

#: ``(n, rng) -> (n, n_sites) int8`` alleles.
Sampler = Callable[[int, np.random.Generator], np.ndarray]


def _train(train: np.ndarray) -> np.ndarray:
    t = np.asarray(train, dtype=np.int8)
    if t.ndim != 2 or t.shape[0] == 0:
        raise ValueError(f"`train` must be a non-empty (n, n_sites) matrix, got shape {t.shape}")
    return t


def independent_sites_sampler(train: np.ndarray) -> Sampler:
    """Each site drawn independently with its training ALT frequency.

    Parameters
    ----------
    train : numpy.ndarray, shape=(n_train, n_sites), values 0/1

    Returns
    -------
    sampler : callable ``(n, rng) -> (n, n_sites) int8``
    """
    p = _train(train).mean(axis=0)

    def sample(n: int, rng: np.random.Generator) -> np.ndarray:
        return (rng.random((n, p.size)) < p).astype(np.int8)

    return sample


def copy_training_sampler(train: np.ndarray) -> Sampler:
    """Training haplotypes drawn at random (without replacement while there are enough).

    Parameters
    ----------
    train : numpy.ndarray, shape=(n_train, n_sites), values 0/1

    Returns
    -------
    sampler : callable ``(n, rng) -> (n, n_sites) int8``
    """
    t = _train(train)

    def sample(n: int, rng: np.random.Generator) -> np.ndarray:
        idx = rng.choice(t.shape[0], size=n, replace=n > t.shape[0])
        return t[idx].copy()

    return sample
