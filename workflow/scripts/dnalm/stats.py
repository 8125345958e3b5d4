"""Multiple-testing correction: the one home of Benjamini-Hochberg in dnalm."""

from __future__ import annotations

import numpy as np
from scipy.stats import false_discovery_control

__all__ = ["bh_adjust"]


def bh_adjust(p: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (``scipy.stats.false_discovery_control``, method "bh").

    Parameters
    ----------
    p : numpy.ndarray, shape=(m,)
        p-values in [0, 1]. NaN entries stay NaN and do not count towards ``m``.

    Returns
    -------
    numpy.ndarray, shape=(m,), dtype=float64
        ``min over j >= rank(i) of p_(j) * m / j``, clipped to 1, in the input order
        (identical to statsmodels' ``fdr_bh``).
    """
    p = np.asarray(p, dtype=np.float64)
    q = np.full(p.shape, np.nan)
    ok = np.isfinite(p)
    if ok.any():
        q[ok] = false_discovery_control(p[ok], method="bh")
    return q
