"""Sequence strings: reverse complement and GC content (the one home of both)."""

from __future__ import annotations

import numpy as np

__all__ = ["revcomp", "gc_fraction", "revcomp_codes"]

_RC = str.maketrans("ACGTNacgtn", "TGCANtgcan")
# Base codes follow dnalm.kmers (A=0, T=1, C=2, G=3, other=4): the complement swaps 0<->1, 2<->3.
_RC_CODES = np.array([1, 0, 3, 2, 4], dtype=np.uint8)


def revcomp(seq: str) -> str:
    """Reverse complement of an ACGTN string (case kept)."""
    return seq.translate(_RC)[::-1]


def revcomp_codes(codes: np.ndarray) -> np.ndarray:
    """Reverse complement of base codes (A=0, T=1, C=2, G=3, other=4), shape kept on the last axis."""
    return _RC_CODES[np.asarray(codes)][..., ::-1]


def gc_fraction(seq: str) -> float:
    """Share of G/C among the A/C/G/T bases of ``seq`` (0.0 for a sequence without ACGT)."""
    s = seq.upper()
    gc = s.count("G") + s.count("C")
    at = s.count("A") + s.count("T")
    return gc / (gc + at) if gc + at else 0.0
