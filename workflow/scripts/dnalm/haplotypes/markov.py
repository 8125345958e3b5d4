"""An order-k Markov chain over alleles along the sites: the baseline model of the haplotype
pipeline beside the GPT (not a language model, and never reported as GPT).

Site ``j``'s allele is drawn given the previous ``k`` alleles of the same haplotype, with
probabilities estimated from the training haplotypes at that site and smoothed towards the
next-lower order (interpolated Dirichlet smoothing, as in n-gram models):
``p_m = (c1_m + a * p_{m-1}) / (c_m + a)`` for orders ``m = 1..k``, from
``p_0 = (c1 + 0.5) / (N + 1)``, where ``c_m`` counts training haplotypes with the same ``m``
preceding alleles and ``c1_m`` those of them with ALT at ``j``. Contexts seen rarely lean on
shorter ones, so the chain recombines training haplotypes instead of copying them whole.
"""

from __future__ import annotations

import numpy as np

from dnalm.haplotypes.controls import Sampler

__all__ = ["markov_sampler"]


def markov_sampler(train: np.ndarray, order: int = 8, smoothing: float = 1.0) -> Sampler:
    """Fit an order-``order`` Markov chain on ``train`` and return its sampler.

    Parameters
    ----------
    train : numpy.ndarray, shape=(n_train, n_sites), values 0/1
    order : int, optional
        Preceding sites the next allele depends on, 0 to 20 (0 = independent sites). Default is 8.
    smoothing : float, optional
        Pseudo-count ``a`` that pulls each order towards the one below. Default is 1.0.

    Returns
    -------
    sampler : callable ``(n, rng) -> (n, n_sites) int8``
    """
    t = np.asarray(train, dtype=np.int64)
    if t.ndim != 2 or t.shape[0] == 0:
        raise ValueError(f"`train` must be a non-empty (n, n_sites) matrix, got shape {t.shape}")
    if not 0 <= order <= 20:
        raise ValueError(f"`order` must be in [0, 20], got {order}")
    if smoothing <= 0:
        raise ValueError(f"`smoothing` must be > 0, got {smoothing}")
    n_train, n_sites = t.shape

    def sample(n: int, rng: np.random.Generator) -> np.ndarray:
        out = np.zeros((n, n_sites), dtype=np.int64)
        for j in range(n_sites):
            col = t[:, j]
            p = np.full(n, (col.sum() + 0.5) / (n_train + 1.0))
            ct = np.zeros(n_train, dtype=np.int64)  # code of the m preceding alleles, nearest = bit 0
            cg = np.zeros(n, dtype=np.int64)
            for m in range(1, min(order, j) + 1):
                ct |= t[:, j - m] << (m - 1)
                cg |= out[:, j - m] << (m - 1)
                c = np.bincount(ct, minlength=1 << m)[cg]
                c1 = np.bincount(ct, weights=col, minlength=1 << m)[cg]
                p = (c1 + smoothing * p) / (c + smoothing)
            out[:, j] = rng.random(n) < p
        return out.astype(np.int8)

    return sample
