"""Haplotypes as text for a language model, and generated text back to haplotypes.

DNAGPT treats an artificial genome as a DNA sequence with one letter per SNP (the paper does
not say how alleles become letters). Here a haplotype is written as the base it carries at each
site, in site order: REF base for allele 0, ALT base for allele 1. The result is an ordinary
DNA string of length ``n_sites`` that any DNA tokenizer (e.g. non-overlapping 6-mers) reads.
Decoding checks each generated string: a wrong length, or a letter that is neither the site's
REF nor its ALT base, makes it invalid; invalid strings are counted and dropped, never repaired.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

import numpy as np

__all__ = ["DecodedHaplotypes", "decode_haplotypes", "encode_haplotypes"]


def encode_haplotypes(matrix: np.ndarray, ref: np.ndarray, alt: np.ndarray) -> list[str]:
    """One string per haplotype: ``ref[j]`` where the allele is 0, ``alt[j]`` where it is 1.

    Parameters
    ----------
    matrix : numpy.ndarray, shape=(n, n_sites), values 0/1
    ref, alt : numpy.ndarray, shape=(n_sites,), one-letter str

    Returns
    -------
    seqs : list of str
        ``n`` strings of length ``n_sites``.
    """
    m = np.asarray(matrix)
    ref = np.asarray(ref, dtype="<U1")
    alt = np.asarray(alt, dtype="<U1")
    if m.ndim != 2 or m.shape[1] != ref.size or alt.shape != ref.shape:
        raise ValueError(
            f"`matrix` (n, n_sites) with n_sites = len(ref) = len(alt) expected, got {m.shape}, {ref.shape}, {alt.shape}"
        )
    if (ref == alt).any():
        raise ValueError(
            f"REF equals ALT at site {int(np.flatnonzero(ref == alt)[0])}: alleles would be indistinguishable"
        )
    letters = np.where(m.astype(bool), alt[None, :], ref[None, :])
    return ["".join(row) for row in letters]


@dataclasses.dataclass
class DecodedHaplotypes:
    """Generated strings decoded back to alleles.

    Attributes
    ----------
    matrix : numpy.ndarray, shape=(n_valid, n_sites), dtype=int8
    valid : numpy.ndarray, shape=(n_input,), dtype=bool
        Which input strings decoded.
    n_wrong_length : int
        Strings whose length is not ``n_sites``.
    n_invalid_token : int
        Strings of the right length with at least one letter that is neither REF nor ALT.
    n_invalid_letters : int
        All such letters, summed over those strings.
    """

    matrix: np.ndarray
    valid: np.ndarray
    n_wrong_length: int
    n_invalid_token: int
    n_invalid_letters: int

    def report(self) -> dict[str, int]:
        return {
            "n_generated": int(self.valid.size),
            "n_valid": int(self.valid.sum()),
            "n_wrong_length": self.n_wrong_length,
            "n_invalid_token": self.n_invalid_token,
            "n_invalid_letters": self.n_invalid_letters,
        }


def decode_haplotypes(seqs: Iterable[str], ref: np.ndarray, alt: np.ndarray) -> DecodedHaplotypes:
    """Decode strings written like :func:`encode_haplotypes`' (case-insensitive).

    Parameters
    ----------
    seqs : iterable of str
    ref, alt : numpy.ndarray, shape=(n_sites,)

    Returns
    -------
    decoded : DecodedHaplotypes
    """
    ref_b = np.frombuffer("".join(np.asarray(ref, dtype="<U1")).upper().encode(), dtype=np.uint8)
    alt_b = np.frombuffer("".join(np.asarray(alt, dtype="<U1")).upper().encode(), dtype=np.uint8)
    n_sites = ref_b.size
    rows, valid = [], []
    wrong_len = bad_tok = bad_letters = 0
    for s in seqs:
        b = np.frombuffer(str(s).upper().encode("ascii", "replace"), dtype=np.uint8)
        if b.size != n_sites:
            wrong_len += 1
            valid.append(False)
            continue
        is_alt = b == alt_b
        bad = ~(is_alt | (b == ref_b))
        if bad.any():
            bad_tok += 1
            bad_letters += int(bad.sum())
            valid.append(False)
            continue
        rows.append(is_alt.astype(np.int8))
        valid.append(True)
    matrix = np.stack(rows) if rows else np.zeros((0, n_sites), dtype=np.int8)
    return DecodedHaplotypes(matrix, np.asarray(valid, dtype=bool), wrong_len, bad_tok, bad_letters)
