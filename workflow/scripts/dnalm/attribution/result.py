"""The value every attribution method returns."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np


class Attribution(NamedTuple):
    """Per-base attribution of n equal-length windows (ACGT order on the last axis).

    Attributes
    ----------
    hyp : numpy.ndarray, shape=(n, L, 4), dtype=float64
        Hypothetical contributions: the score each base would get at each position.
    attr : numpy.ndarray, shape=(n, L), dtype=float64
        ``(hyp * onehot).sum(-1)``: the contribution of the base that is there.
    onehot : numpy.ndarray, shape=(n, L, 4), dtype=float32
        All-zero rows at N.
    score : numpy.ndarray, shape=(n,), dtype=float64
        Positive-class log-odds of each window.
    prob : numpy.ndarray, shape=(n,), dtype=float64
        Positive-class probability (``sigmoid(score)``).
    ref_score : numpy.ndarray or None, shape=(n,)
        Integrated gradients: mean log-odds of the shuffled references (completeness says
        ``attr.sum(1) ~ score - ref_score`` for windows without N). None for ISM.
    """

    hyp: np.ndarray
    attr: np.ndarray
    onehot: np.ndarray
    score: np.ndarray
    prob: np.ndarray
    ref_score: np.ndarray | None = None
