"""Variant p-values against the random-SNV null: empirical counts plus a generalised Pareto tail.

Two null hypotheses (``variants.pvalue_null``), both estimated from the same ``null_size`` random
SNVs of the task's positive windows (scored exactly like the variants):

``neutral`` (default): *the variant does not change the classifier's prediction beyond the spread
    of neutral mutations.* The signed ``logOR`` of random SNVs is a mixture: most random positions
    are neutral, but a random SNV lands in a motif core at a rate of about (core width) / (window
    length), e.g. 0.9 x 8 / 101 = 7 % for the demo's CTCF windows (15 % of the demo's null SNVs lie
    somewhere in a planted CTCF/p53 instance), and those destroy the motif as thoroughly as a
    planted pathogenic variant. The neutral part is taken from the side of the null
    that motif destruction does not reach: with ``c`` = median of the null ``logOR``, the
    deviations ``D = c - logOR`` of the null SNVs below ``c`` (alt *raises* the prediction) are the
    reference sample, and a variant's statistic is ``|logOR - c|``. Assumptions: neutral ``logOR``
    is symmetric about its centre, and single SNVs that create a stronger motif inside an
    already-positive window are rare. Contamination of the lower side only widens the reference
    (conservative); so does the upward pull of the median by the loss-of-function tail (a neutral
    variant's p is then up to about 2 x its exact value).
``random_snv``: *the variant is no more damaging than a random SNV in a positive window* (DeepSEA's
    e-value). Reference sample ``|logOR|`` of all null SNVs, statistic ``|logOR|``. Because about 7
    % of random SNVs hit motif cores, a planted motif-core variant gets p of about 0.03-0.07 under
    this null however large the null is, so with hundreds of tests nothing passes BH: it answers a
    different question and is kept for comparison.

Either way ``p = (1 + #{ref >= t}) / (n_ref + 1)`` (Phipson & Smyth 2010; ties within a relative
1e-4) while at least ``_MIN_COUNT`` = 10 reference values reach ``t``. Past that, where counting
cannot resolve p below ``1 / (n_ref + 1)``, the tail is a generalised Pareto distribution (GPD)
fitted by maximum likelihood to the excesses of the ``n_exc`` largest reference values over the
threshold ``u`` halfway between the ``n_exc``-th and ``(n_exc + 1)``-th largest (Knijnenburg et al.
2009, *Bioinformatics* 25:i161, the GPD tail approximation of permutation p-values):
``p = n_exc / n_ref * (1 - G(t - u; xi, sigma))``. Peaks over a high threshold are GPD-distributed
for any continuous null with a regular tail (Pickands-Balkema-de Haan). The shape MLE ``xi_hat`` of
100 excesses is noisy, and an underestimate makes far-tail p-values too small for heavy-tailed
nulls, so the shape used is one asymptotic standard error above it, ``xi = xi+ + (1 + xi+) /
sqrt(n_exc)`` with ``xi+ = max(xi_hat, 0)`` (a bounded, light tail is never assumed), and ``sigma``
is refitted by maximum likelihood at that ``xi``. Tail p-values are therefore conservative and
never exactly 0. Measured on simulated nulls (a neutral part plus 7 % motif hits, 30 nulls of 2000
SNVs, 20,000 neutral variants each; tests/test_variants.py repeats a smaller version): the observed
rate of p < 1e-3 / nominal was 0.07 (normal neutral part), 0.38 (Laplace), 0.73 (Student t4) and
0.74 (t3); with the plain MLE shape it was 0.28, 0.88, 1.25 and 1.31. ``n_exc = min(tail_size,
n_ref // 4)``; with fewer than 40 reference values there is no tail and p stops at
``1 / (n_ref + 1)``.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

__all__ = ["NULL_MODELS", "empirical_pvalues", "variant_pvalues"]

NULL_MODELS = ("neutral", "random_snv")
_MIN_COUNT = 10  # Knijnenburg et al.: below 10 exceedances the counting estimate is too noisy
_MIN_TAIL = 10  # fewest excesses a GPD is fitted on (n_ref >= 40)


def _count_ge(ref_sorted: np.ndarray, t: np.ndarray, rtol: float) -> np.ndarray:
    """``#{ref >= t}`` with reference values within ``rtol`` (relative, plus 1e-9) counted as ties."""
    return ref_sorted.size - np.searchsorted(ref_sorted, t - rtol * np.abs(t) - 1e-9, side="left")


def empirical_pvalues(obs: np.ndarray, null: np.ndarray, rtol: float = 1e-4) -> np.ndarray:
    """``(1 + #{null >= obs}) / (len(null) + 1)`` per observation (NaN if no null/obs).

    Null values within ``rtol`` (relative, plus 1e-9 absolute) of an observation count as
    ties (>=), so float noise between batch sizes cannot flip a p-value (a random SNV can
    be the very variant observed; CPU kernels differ by batch composition in about the 5th
    significant digit).

    Parameters
    ----------
    obs : numpy.ndarray, shape=(n,)
    null : numpy.ndarray, shape=(m,)
        Non-finite values are ignored.
    rtol : float, optional
        Default is 1e-4.

    Returns
    -------
    pvalue : numpy.ndarray, shape=(n,), dtype=float64
    """
    obs = np.asarray(obs, dtype=np.float64)
    null = np.sort(np.asarray(null, dtype=np.float64))
    null = null[np.isfinite(null)]
    if null.size == 0:
        return np.full(obs.shape, np.nan)
    p = (1.0 + _count_ge(null, obs, rtol)) / (null.size + 1.0)
    p[~np.isfinite(obs)] = np.nan
    return p


def _fit_tail(ref_sorted: np.ndarray, tail_size: int) -> dict | None:
    """GPD fitted to the excesses of the largest reference values, shape at its one-standard-error
    upper bound (never below 0); None with too few values."""
    from scipy.optimize import minimize_scalar
    from scipy.stats import genpareto

    n = ref_sorted.size
    n_exc = min(int(tail_size), n // 4)
    if n_exc < _MIN_TAIL:
        return None
    top = ref_sorted[n - n_exc - 1:]  # the (n_exc + 1) largest, ascending
    u = 0.5 * (top[0] + top[1])
    y = top[1:] - u
    if not np.all(np.isfinite(y)) or y.max() <= 0:
        return None
    y = np.maximum(y, 0.0)
    xi_mle = float(genpareto.fit(y, floc=0.0)[0])
    xi0 = max(xi_mle, 0.0) if np.isfinite(xi_mle) else 0.0
    xi = xi0 + (1.0 + xi0) / np.sqrt(n_exc)  # asymptotic sd of the shape MLE: (1 + xi) / sqrt(n)
    m = float(y.mean())
    fit = minimize_scalar(lambda ls: -genpareto.logpdf(y, xi, 0.0, np.exp(ls)).sum(),
                          bounds=(np.log(m) - 8, np.log(m) + 3), method="bounded")
    return {"n_exceedances": n_exc, "threshold": float(u), "shape": float(xi),
            "scale": float(np.exp(fit.x)), "shape_mle": xi_mle, "tail_mass": n_exc / n}


def _tail_sf(t: np.ndarray, tail: dict) -> np.ndarray:
    """``n_exc / n_ref * P(GPD > t - u)``."""
    from scipy.stats import genpareto

    return tail["tail_mass"] * genpareto.sf(np.maximum(t - tail["threshold"], 0.0), tail["shape"],
                                            loc=0.0, scale=tail["scale"])


def variant_pvalues(
    logor: np.ndarray,
    null_logor: np.ndarray,
    pvalue_null: Literal["neutral", "random_snv"] = "neutral",
    tail_size: int = 100,
    rtol: float = 1e-4,
) -> tuple[np.ndarray, dict]:
    """Two-sided p-values of variant ``logOR`` against the random-SNV null (see module docstring).

    Parameters
    ----------
    logor : numpy.ndarray, shape=(n,)
        Signed ``logOR`` of the tested variants (positive: the alt lowers the prediction).
    null_logor : numpy.ndarray, shape=(m,)
        Signed ``logOR`` of the random SNVs; non-finite values are ignored.
    pvalue_null : {"neutral", "random_snv"}, optional
        The null hypothesis. Default is "neutral".
    tail_size : int, optional
        Largest reference values the GPD tail is fitted on (at most a quarter of them).
        Default is 100.
    rtol : float, optional
        Relative tolerance for ties. Default is 1e-4.

    Returns
    -------
    pvalue : numpy.ndarray, shape=(n,), dtype=float64
        NaN where ``logor`` is not finite or the null is empty.
    info : dict
        ``method``, ``n_null``, ``n_reference``, ``center``, ``min_empirical_pvalue``
        (``1 / (n_reference + 1)``), ``tail`` (GPD fit or None), ``n_tail_pvalues``.
    """
    if pvalue_null not in NULL_MODELS:
        raise ValueError(f"`pvalue_null` must be one of {NULL_MODELS}, got {pvalue_null!r}")
    if isinstance(tail_size, bool) or int(tail_size) != tail_size or tail_size < _MIN_TAIL:
        raise ValueError(f"`tail_size` must be an integer >= {_MIN_TAIL}, got {tail_size!r}")
    x = np.asarray(logor, dtype=np.float64)
    z = np.asarray(null_logor, dtype=np.float64)
    z = z[np.isfinite(z)]
    info: dict = {"method": pvalue_null, "n_null": int(z.size), "n_reference": 0, "center": None,
                  "min_empirical_pvalue": None, "tail": None, "n_tail_pvalues": 0}
    if z.size == 0:
        return np.full(x.shape, np.nan), info
    if pvalue_null == "neutral":
        center = float(np.median(z))
        ref = center - z[z < center]
        t = np.abs(x - center)
        info["center"] = center
    else:
        ref = np.abs(z)
        t = np.abs(x)
    ref = np.sort(ref)
    info["n_reference"] = int(ref.size)
    if ref.size == 0:  # a constant null: nothing to compare with
        return np.where(np.isfinite(x), 1.0, np.nan), info
    info["min_empirical_pvalue"] = 1.0 / (ref.size + 1.0)
    count = _count_ge(ref, t, rtol)
    p = (1.0 + count) / (ref.size + 1.0)
    tail = _fit_tail(ref, tail_size)
    if tail is not None:
        use = np.isfinite(t) & (count < _MIN_COUNT) & (t > tail["threshold"])
        p[use] = _tail_sf(t[use], tail)
        info["tail"] = tail
        info["n_tail_pvalues"] = int(use.sum())
    p[~np.isfinite(x)] = np.nan
    return p, info
