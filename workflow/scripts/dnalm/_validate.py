"""One family of input validators. Errors name the argument and what was expected."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

_ACGTN = frozenset("ACGTNacgtn")


def validate_k(k: int, name: str = "k") -> int:
    """Check that ``k`` is an integer in 3..6 (DNABERT's k-mer sizes)."""
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or not 3 <= int(k) <= 6:
        raise ValueError(f"`{name}` must be an integer in 3..6, got {k!r}")
    return int(k)


def validate_seqs(seqs: Sequence[str], name: str = "seqs", min_len: int = 1) -> list[str]:
    """Check a list of DNA strings: ACGTN only (any case), each at least ``min_len`` long."""
    out = []
    for i, s in enumerate(seqs):
        if not isinstance(s, str):
            raise TypeError(f"`{name}`[{i}] is {type(s).__name__}, expected str")
        if len(s) < min_len:
            raise ValueError(f"`{name}`[{i}] has length {len(s)}, expected >= {min_len}")
        bad = set(s) - _ACGTN
        if bad:
            j = next(j for j, c in enumerate(s) if c in bad)
            raise ValueError(
                f"`{name}`[{i}] contains non-ACGTN character {s[j]!r} at index {j}"
            )
        out.append(s)
    return out


def validate_onehot(x: np.ndarray, name: str = "X") -> np.ndarray:
    """Check a one-hot array of shape (n, 4, L)."""
    x = np.asarray(x)
    if x.ndim != 3 or x.shape[1] != 4:
        raise ValueError(f"`{name}` must have shape (n, 4, L), got {x.shape}")
    return x


def validate_probability(p: float, name: str) -> float:
    """Check 0 <= p <= 1."""
    if not 0.0 <= float(p) <= 1.0:
        raise ValueError(f"`{name}` must be within [0, 1], got {p!r}")
    return float(p)
