"""dnalm.stats.bh_adjust against a plain Benjamini-Hochberg written out by hand."""

import numpy as np
import pytest
from dnalm.stats import bh_adjust


def plain_bh(p):
    """Textbook BH: q_(i) = min_{j >= i} p_(j) m / j, clipped to 1; NaN kept and not counted."""
    p = np.asarray(p, dtype=float)
    out = np.full(p.shape, np.nan)
    idx = [i for i in range(p.size) if not np.isnan(p[i])]
    m = len(idx)
    order = sorted(idx, key=lambda i: p[i])
    running = 1.0
    for rank in range(m, 0, -1):
        i = order[rank - 1]
        running = min(running, p[i] * m / rank)
        out[i] = running
    return out


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_matches_plain_implementation(seed):
    rng = np.random.default_rng(seed)
    p = np.concatenate([rng.random(40), rng.random(10) * 1e-4, [0.0, 1.0, 0.5, 0.5]])
    rng.shuffle(p)
    np.testing.assert_allclose(bh_adjust(p), plain_bh(p), rtol=1e-12, atol=0)


def test_nan_stays_nan_and_is_not_counted():
    p = np.array([0.01, np.nan, 0.04, 0.03, np.nan, 0.2])
    q = bh_adjust(p)
    assert np.isnan(q[[1, 4]]).all()
    np.testing.assert_allclose(q, plain_bh(p), rtol=1e-12)
    np.testing.assert_allclose(q[[0, 2, 3, 5]], bh_adjust(p[[0, 2, 3, 5]]), rtol=1e-12)
    assert q[0] == pytest.approx(0.04)  # 0.01 * 4 / 1, m = 4 not 6


def test_edge_cases():
    assert bh_adjust(np.array([])).shape == (0,)
    assert np.isnan(bh_adjust(np.array([np.nan, np.nan]))).all()
    assert bh_adjust(np.array([0.3]))[0] == pytest.approx(0.3)
    assert (bh_adjust(np.array([0.9, 0.95, 0.99])) <= 1).all()
