"""Sequences as base codes (A=0, C=1, G=2, T=3, other=4) and the model inputs built from them.

Attribution works on integer code arrays of fixed-length windows, so that a mutant is one
array write and a batch of mutants is one fancy-indexing step; token ids and one-hot inputs
are built from codes in vectorised passes (no per-sequence Python loop).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from dnalm import kmers
from dnalm._validate import validate_k, validate_seqs

#: Base order of every (…, 4) axis of the attribution arrays (the npz contract's ACGT).
BASES = "ACGT"
N_CODE = 4
_LUT = np.full(256, N_CODE, dtype=np.uint8)
for _i, _b in enumerate(BASES):
    _LUT[ord(_b)] = _i
    _LUT[ord(_b.lower())] = _i
#: Our codes -> dnalm.kmers codes (A=0, T=1, C=2, G=3), N kept as 4.
_TO_KMER_CODE = np.array([0, 2, 3, 1, 4], dtype=np.int64)


def seqs_to_codes(seqs: Sequence[str], name: str = "seqs") -> np.ndarray:
    """Equal-length sequences as a code matrix.

    Parameters
    ----------
    seqs : sequence of str, length n
        ACGTN, any case, all of one length.
    name : str, optional
        Argument name used in error messages. Default is "seqs".

    Returns
    -------
    codes : numpy.ndarray, shape=(n, L), dtype=uint8
        A=0, C=1, G=2, T=3, N=4.

    Raises
    ------
    ValueError
        Naming ``name`` and the row when the list is empty, a row is not ACGTN, or lengths differ.
    """
    seqs = validate_seqs(list(seqs), name)
    if not seqs:
        raise ValueError(f"`{name}` is empty")
    L = len(seqs[0])
    for i, s in enumerate(seqs):
        if len(s) != L:
            raise ValueError(
                f"`{name}`[{i}] has length {len(s)}, but `{name}`[0] has {L}: attribution maps "
                "need sequences of one length (fixed-length task windows)"
            )
    raw = np.frombuffer("".join(seqs).encode("ascii"), dtype=np.uint8).reshape(len(seqs), L)
    return _LUT[raw]


def onehot_nl4(codes: np.ndarray) -> np.ndarray:
    """One-hot (n, L, 4) float32 in ACGT order; N rows are all zero."""
    eye = np.vstack([np.eye(4, dtype=np.float32), np.zeros((1, 4), dtype=np.float32)])
    return eye[codes]


def token_ids(codes: np.ndarray, k: int) -> np.ndarray:
    """``[CLS] k-mers [SEP]`` ids of every row, as :func:`dnalm.kmers.encode_batch` gives them.

    Parameters
    ----------
    codes : numpy.ndarray, shape=(n, L), dtype=uint8
    k : int

    Returns
    -------
    ids : numpy.ndarray, shape=(n, L - k + 3), dtype=int64
        k-mers covering an N are ``[UNK]``.
    """
    k = validate_k(k)
    n, L = codes.shape
    m = L - k + 1
    if m < 1:
        raise ValueError(f"sequences of length {L} are shorter than k={k}")
    kc = _TO_KMER_CODE[codes]
    bad = kc > 3
    kc = np.where(bad, 0, kc)
    ids = np.zeros((n, m), dtype=np.int64)
    covers_bad = np.zeros((n, m), dtype=bool)
    for j in range(k):
        ids = ids * 4 + kc[:, j : j + m]
        covers_bad |= bad[:, j : j + m]
    ids += kmers.N_SPECIAL
    ids[covers_bad] = kmers.UNK_ID
    out = np.empty((n, m + 2), dtype=np.int64)
    out[:, 0] = kmers.CLS_ID
    out[:, 1:-1] = ids
    out[:, -1] = kmers.SEP_ID
    return out


def kmer_digit_weight(k: int) -> np.ndarray:
    """Place value of base ``o`` of a k-mer in its id (``4 ** (k - 1 - o)``), shape (k,)."""
    return 4 ** np.arange(k - 1, -1, -1, dtype=np.int64)


def to_kmer_code(codes: np.ndarray) -> np.ndarray:
    """Our codes (ACGT order) as :mod:`dnalm.kmers` codes (A=0, T=1, C=2, G=3, N=4)."""
    return _TO_KMER_CODE[codes]
