"""Statistics that compare artificial with real haplotypes (pure functions on 0/1 matrices).

- allele-frequency correlation: Pearson r of per-site ALT frequencies;
- LD correlation: Pearson r of the r² of the same site pairs (pairs at most ``window`` sites
  apart), computed in each set separately;
- PCA overlap: PCA fitted on the real haplotypes, both sets projected; the nearest-neighbour
  adversarial accuracy (Yelmen et al. 2021's AA_TS) in that space: each point is "right" when
  its nearest other point is from its own set; the mean over both sets is 0.5 when the sets
  are indistinguishable, 1 when they separate, below 0.5 when artificial points sit on top of
  real ones (copies);
- haplotype distances: Hamming distance as a fraction of sites, within and between the sets,
  and each artificial haplotype's distance to its nearest training haplotype (memorisation).
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "allele_frequencies",
    "af_correlation",
    "hamming",
    "ld_correlation",
    "ld_pairs_r2",
    "nearest_distance",
    "nn_adversarial_accuracy",
    "pca_fit_project",
    "pearson",
]


def pearson(x: np.ndarray, y: np.ndarray) -> float:
    """Pearson r over the entries where both are finite; nan with < 3 of them or no variance."""
    x = np.asarray(x, dtype=np.float64).ravel()
    y = np.asarray(y, dtype=np.float64).ravel()
    ok = np.isfinite(x) & np.isfinite(y)
    x, y = x[ok], y[ok]
    if x.size < 3:
        return float("nan")
    x = x - x.mean()
    y = y - y.mean()
    den = np.sqrt((x * x).sum() * (y * y).sum())
    return float((x * y).sum() / den) if den > 0 else float("nan")


def allele_frequencies(m: np.ndarray) -> np.ndarray:
    """ALT frequency per site. Shape (n, n_sites) -> (n_sites,)."""
    return np.asarray(m, dtype=np.float64).mean(axis=0)


def af_correlation(real: np.ndarray, art: np.ndarray) -> float:
    """Pearson r of the per-site ALT frequencies of two haplotype sets."""
    return pearson(allele_frequencies(real), allele_frequencies(art))


def ld_pairs_r2(m: np.ndarray, window: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """r² of every site pair ``(i, j)``, ``0 < j - i <= window``.

    Parameters
    ----------
    m : numpy.ndarray, shape=(n, n_sites), values 0/1
    window : int
        Largest site offset.

    Returns
    -------
    i, j : numpy.ndarray of int64, shape=(n_pairs,)
    r2 : numpy.ndarray of float64, shape=(n_pairs,)
        nan where a site is monomorphic in ``m``.
    """
    x = np.asarray(m, dtype=np.float64)
    s = x.shape[1]
    sd = x.std(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        z = (x - x.mean(axis=0)) / sd
    d = np.arange(1, min(window, s - 1) + 1)
    ii = np.concatenate([np.arange(s - k) for k in d]) if d.size else np.zeros(0, np.int64)
    jj = ii + np.repeat(d, s - d) if d.size else np.zeros(0, np.int64)
    if s <= 4000:  # one Gram matrix (BLAS) beats a loop over offsets
        r = (z.T @ z)[ii, jj] / x.shape[0]
    else:
        r = (
            np.concatenate([(z[:, :-k] * z[:, k:]).mean(axis=0) for k in d])
            if d.size
            else np.zeros(0)
        )
    return ii.astype(np.int64), jj.astype(np.int64), r * r


def ld_correlation(real: np.ndarray, art: np.ndarray, window: int = 50) -> float:
    """Pearson r between the r² of the same site pairs (``0 < j - i <= window``) in two sets."""
    return pearson(ld_pairs_r2(real, window)[2], ld_pairs_r2(art, window)[2])


def hamming(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Hamming distances as a fraction of sites. Shapes (n, s), (m, s) -> (n, m)."""
    a = np.asarray(a, dtype=np.float32)
    b = np.asarray(b, dtype=np.float32)
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"site counts differ: {a.shape[1]} vs {b.shape[1]}")
    s = max(a.shape[1], 1)
    diff = a.sum(1)[:, None] + b.sum(1)[None, :] - 2.0 * (a @ b.T)
    return np.rint(diff).astype(np.float64) / s


def nearest_distance(a: np.ndarray, ref: np.ndarray, batch_size: int = 512) -> np.ndarray:
    """Hamming distance (fraction of sites) of each row of ``a`` to its nearest row of ``ref``."""
    return np.concatenate(
        [hamming(a[i : i + batch_size], ref).min(axis=1) for i in range(0, len(a), batch_size)]
    )


def pca_fit_project(real: np.ndarray, others: list[np.ndarray], n_components: int = 10):
    """PCA (SVD of centred data) fitted on ``real``; returns the projections of ``real`` and
    of each of ``others`` and the explained variance ratios."""
    x = np.asarray(real, dtype=np.float64)
    mu = x.mean(axis=0)
    _, sv, vt = np.linalg.svd(x - mu, full_matrices=False)
    k = max(1, min(n_components, vt.shape[0]))
    comps = vt[:k]
    ratio = (sv**2 / max((sv**2).sum(), 1e-300))[:k]
    proj = [(np.asarray(o, dtype=np.float64) - mu) @ comps.T for o in others]
    return (x - mu) @ comps.T, proj, ratio


def nn_adversarial_accuracy(
    real: np.ndarray, art: np.ndarray
) -> tuple[float, np.ndarray, np.ndarray]:
    """Nearest-neighbour adversarial accuracy of two point sets (Euclidean).

    Parameters
    ----------
    real : numpy.ndarray, shape=(n_r, d)
    art : numpy.ndarray, shape=(n_a, d)

    Returns
    -------
    aa : float
        ``0.5 * (mean(real_ok) + mean(art_ok))``.
    real_ok, art_ok : numpy.ndarray of bool
        Per point: its nearest other point of its own set is closer than the nearest point of
        the other set (ties count as not closer).
    """
    r = np.asarray(real, dtype=np.float64)
    a = np.asarray(art, dtype=np.float64)
    if len(r) < 2 or len(a) < 2:
        raise ValueError(f"need >= 2 points in each set, got {len(r)} and {len(a)}")

    def d2(p, q):
        return np.maximum((p * p).sum(1)[:, None] + (q * q).sum(1)[None, :] - 2 * p @ q.T, 0.0)

    rr, aa, ra = d2(r, r), d2(a, a), d2(r, a)
    np.fill_diagonal(rr, np.inf)
    np.fill_diagonal(aa, np.inf)
    real_ok = rr.min(1) < ra.min(1)
    art_ok = aa.min(1) < ra.min(0)
    return 0.5 * (real_ok.mean() + art_ok.mean()), real_ok, art_ok
