"""Generate artificial haplotypes from any sampler (a Markov chain, a control, a language model)."""

from __future__ import annotations

import logging

import numpy as np

from dnalm.haplotypes.controls import Sampler

__all__ = ["generate_haplotypes"]

log = logging.getLogger(__name__)


def generate_haplotypes(
    sampler: Sampler, n: int, n_sites: int, seed: int = 1, batch_size: int | None = None
) -> np.ndarray:
    """Draw ``n`` haplotypes from ``sampler`` and check what it returns.

    Parameters
    ----------
    sampler : callable ``(n, rng) -> (n, n_sites) int8``
        Any model: it gets the number to draw and a :class:`numpy.random.Generator` (its only
        source of randomness, so the same seed gives the same haplotypes).
    n : int
        Haplotypes to draw.
    n_sites : int
        Sites each must have.
    seed : int, optional
        Default is 1.
    batch_size : int, optional
        Draw at most this many per call. Default is None (all at once).

    Returns
    -------
    matrix : numpy.ndarray, shape=(n, n_sites), dtype=int8
    """
    if n < 1:
        raise ValueError(f"`n` must be >= 1, got {n}")
    rng = np.random.default_rng(seed)
    step = n if batch_size is None else max(1, int(batch_size))
    parts = []
    for start in range(0, n, step):
        b = min(step, n - start)
        x = np.asarray(sampler(b, rng))
        if x.shape != (b, n_sites):
            raise ValueError(f"sampler returned shape {x.shape}, expected ({b}, {n_sites})")
        if not np.isin(x, (0, 1)).all():
            raise ValueError("sampler returned values other than 0 and 1")
        parts.append(x.astype(np.int8))
    out = np.concatenate(parts)
    log.info(
        "generated %d haplotypes x %d sites (ALT frequency %.3f)", n, n_sites, float(out.mean())
    )
    return out
