"""ClinVar evaluation of the variant scores: AUROC with bootstrap CIs, Fisher enrichment, zero-shot sign.

:func:`clinvar_statistics` compares (likely) pathogenic (1) with (likely) benign (0) ClinVar
variants. Every AUROC is reported with its n per class and a percentile bootstrap 95 % CI
(:func:`auroc_ci`: rows resampled within each class, so every resample has both classes).

Zero-shot orientation. ``zero_shot`` = ``log P(alt) - log P(ref)`` under the masked LM (mean over
the masked k-mers covering the site and both strands; :func:`dnalm.variants.zero_shot_llr`):
negative means the LM finds the alt allele less likely than the reference. Damaging alleles are
expected to be less likely (GPN, Benegas et al. 2023), so pathogenic variants should have *lower*
``zero_shot`` than benign ones. ``zero_shot_auroc`` ranks by ``-zero_shot``: above 0.5 is the
expected direction, below 0.5 means pathogenic alt alleles look *more* likely than benign ones, and
a CI that contains 0.5 means the LM does not separate the classes at this n.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

__all__ = ["auroc_ci", "clinvar_statistics", "significance_by_class", "ZERO_SHOT_ORIENTATION"]

log = logging.getLogger(__name__)

ZERO_SHOT_ORIENTATION = (
    "AUROC of pathogenic (1) vs benign (0) ranked by -zero_shot, zero_shot = log P(alt) - "
    "log P(ref) under the masked LM; > 0.5: pathogenic alt alleles are less likely under the LM "
    "than benign ones (the expected direction); < 0.5: the reverse; a CI containing 0.5: no "
    "separation at this n"
)


def _auc(y: np.ndarray, s: np.ndarray) -> float:
    """Mann-Whitney AUROC (ties count 1/2) of positives ``y == 1`` over negatives."""
    from scipy.stats import rankdata

    r = rankdata(s)
    n1 = int(y.sum())
    n0 = y.size - n1
    return float((r[y == 1].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def auroc_ci(
    y: np.ndarray, s: np.ndarray, n_boot: int = 1000, alpha: float = 0.05, random_state: int = 0
) -> dict:
    """AUROC of ``s`` for ``y`` with a stratified percentile bootstrap CI.

    Parameters
    ----------
    y : numpy.ndarray of int, shape=(n,)
        1 = positive (pathogenic), 0 = negative (benign).
    s : numpy.ndarray of float, shape=(n,)
        Scores; rows with a non-finite score are dropped.
    n_boot : int, optional
        Bootstrap resamples. Default is 1000.
    alpha : float, optional
        1 - confidence level. Default is 0.05.
    random_state : int, optional
        Seed. Default is 0.

    Returns
    -------
    result : dict
        ``auroc``, ``ci`` ([low, high]), ``n_pathogenic``, ``n_benign``, ``n_boot``; ``auroc``
        and ``ci`` are None without both classes.
    """
    y = np.asarray(y, dtype=int)
    s = np.asarray(s, dtype=np.float64)
    ok = np.isfinite(s)
    y, s = y[ok], s[ok]
    n1, n0 = int((y == 1).sum()), int((y == 0).sum())
    out = {"auroc": None, "ci": None, "n_pathogenic": n1, "n_benign": n0, "n_boot": int(n_boot)}
    if n1 == 0 or n0 == 0:
        return out
    out["auroc"] = _auc(y, s)
    rng = np.random.default_rng(random_state)
    pos, neg = s[y == 1], s[y == 0]
    yy = np.r_[np.ones(n1, int), np.zeros(n0, int)]
    boots = [_auc(yy, np.r_[pos[rng.integers(0, n1, n1)], neg[rng.integers(0, n0, n0)]])
             for _ in range(n_boot)]
    out["ci"] = [float(np.quantile(boots, alpha / 2)), float(np.quantile(boots, 1 - alpha / 2))]
    return out


def significance_by_class(df: pd.DataFrame, fdr: float = 0.05, family: str = "all") -> dict:
    """Counts of scored and BH-significant variants per ClinVar class.

    dbSNP-only variants are counted as ``dbsnp_only``.

    Parameters
    ----------
    df : pandas.DataFrame
        Scored variants with ``source``, ``clinvar_class``, ``pvalue`` and ``qvalue``.
    fdr : float, optional
        Default is 0.05.
    family : {"all", "clinvar"}, optional
        ``all``: ``qvalue <= fdr`` (BH over every scored variant, the ``qvalue`` column);
        ``clinvar``: BH over the ClinVar variants alone (a pre-specified family: ClinVar SNVs of
        the positive windows, apart from the attention-selected dbSNP ones). Default is "all".

    Returns
    -------
    counts : dict
        ``{class: {"n": int, "n_significant": int}}``.
    """
    from dnalm.stats import bh_adjust

    if family not in ("all", "clinvar"):
        raise ValueError(f"`family` must be 'all' or 'clinvar', got {family!r}")
    if family == "clinvar":
        df = df[df["source"].isin(["clinvar", "both"])]
    cls = np.where(df["source"].to_numpy() == "dbsnp", "dbsnp_only",
                   df["clinvar_class"].astype(str).to_numpy()) if len(df) else np.array([], str)
    if not len(df):
        sig = np.array([], bool)
    elif family == "all":
        sig = df["qvalue"].to_numpy(float) <= fdr
    else:
        sig = bh_adjust(df["pvalue"].to_numpy(float)) <= fdr
    return {str(c): {"n": int((cls == c).sum()), "n_significant": int((sig & (cls == c)).sum())}
            for c in sorted(set(cls.tolist()))}


def clinvar_statistics(cdf: pd.DataFrame, high_p: float = 0.05, ranking_score: str = "abs_logOR"
                       ) -> dict:
    """Pathogenic vs benign among scored ClinVar variants: AUROC (+ CIs) and one-sided Fisher test.

    Parameters
    ----------
    cdf : pandas.DataFrame
        ClinVar rows with ``clinvar_class``, ``score``, ``diff``, ``zero_shot``, ``pvalue``.
    high_p : float, optional
        ``pvalue <= high_p`` defines "high-scoring". Default is 0.05.
    ranking_score : str, optional
        Name of ``score`` in the log. Default is "abs_logOR".

    Returns
    -------
    stats : dict
        ``auroc`` ({score, abs_diff, neg_zero_shot}: float or None), ``auroc_ci`` (the same
        keys: :func:`auroc_ci` results), ``zero_shot_auroc`` (``neg_zero_shot``'s result plus
        ``orientation``) and ``enrichment`` (2x2 ``table``, ``odds_ratio``,
        ``odds_ratio_haldane``, ``fisher_pvalue``, ``alternative``; None without both classes).
    """
    from scipy.stats import fisher_exact

    two = cdf[cdf["clinvar_class"].isin(["pathogenic", "benign"])]
    y = (two["clinvar_class"] == "pathogenic").to_numpy(int)
    scores = {
        "score": two["score"].to_numpy(float),
        "abs_diff": np.abs(two["diff"].to_numpy(float)),
        "neg_zero_shot": -two["zero_shot"].to_numpy(float),
    }
    cis = {k: auroc_ci(y, s) for k, s in scores.items()}
    auroc = {k: c["auroc"] for k, c in cis.items()}
    high = two["pvalue"].to_numpy(float) <= high_p
    table = [[int((high & (y == 1)).sum()), int((high & (y == 0)).sum())],
             [int((~high & (y == 1)).sum()), int((~high & (y == 0)).sum())]]
    if len(two) and y.any() and (y == 0).any():
        odds, fisher_p = fisher_exact(table, alternative="greater")
        (a_, b_), (c_, d_) = table
        haldane = ((a_ + 0.5) * (d_ + 0.5)) / ((b_ + 0.5) * (c_ + 0.5))
    else:
        odds = fisher_p = haldane = None
        log.warning("ClinVar: need both pathogenic and benign variants for AUROC/Fisher "
                    "(%d pathogenic, %d benign)", int(y.sum()), int((y == 0).sum()))
    if auroc["score"] is not None:
        c = cis["score"]
        log.info("AUROC pathogenic vs benign by %s: %.3f (95%% CI %.3f-%.3f; n = %d vs %d); "
                 "Fisher OR %.3g, p %.3g", ranking_score, c["auroc"], *c["ci"], c["n_pathogenic"],
                 c["n_benign"], odds if odds is not None else float("nan"),
                 fisher_p if fisher_p is not None else float("nan"))
    zs = {**cis["neg_zero_shot"], "orientation": ZERO_SHOT_ORIENTATION}
    if zs["auroc"] is not None:
        lo, hi = zs["ci"]
        zs["direction"] = ("expected (pathogenic less likely)" if lo > 0.5 else
                           "reversed (pathogenic more likely)" if hi < 0.5 else
                           "no separation (CI contains 0.5)")
        log.info("zero-shot AUROC (by -zero_shot) %.3f (95%% CI %.3f-%.3f): %s", zs["auroc"], lo,
                 hi, zs["direction"])
    return {"auroc": auroc, "auroc_ci": cis, "zero_shot_auroc": zs, "enrichment": {
        "table": {"high_pathogenic": table[0][0], "high_benign": table[0][1],
                  "low_pathogenic": table[1][0], "low_benign": table[1][1]},
        "odds_ratio": odds,
        "odds_ratio_haldane": haldane,
        "fisher_pvalue": fisher_p,
        "alternative": "greater",
    }}
