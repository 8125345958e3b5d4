"""Haplotypes as DNAGPT token rows: ``<R>`` then the non-overlapping 6-mers of the allele string.

A haplotype is first written as a DNA string with one letter per SNP
(:func:`dnalm.haplotypes.tokens.encode_haplotypes`: REF base for allele 0, ALT base for 1), then
cut by the DNAGPT tokenizer (:class:`dnalm.gpt.tokenizer.GptTokenizer`) into non-overlapping
6-mers from the left, the last token holding the 1-5 sites left over. The row starts with the
species token ``<R>``, the prefix of the pretraining rows (:mod:`dnalm.gpt.data`), which is also
the prompt the generator samples from. ``n_sites`` SNPs give ``1 + ceil(n_sites / 6)`` positions.

Token ``t`` (1-based after ``<R>``) covers sites ``6 (t - 1) .. 6 t - 1``; of its 19,564
vocabulary entries only the ``2**w`` combinations of those ``w`` sites' REF/ALT bases are
haplotypes (:func:`allowed_token_ids`).
"""

from __future__ import annotations

import numpy as np

from dnalm.gpt.tokenizer import SPECIES_ID, GptTokenizer, K
from dnalm.haplotypes.tokens import DecodedHaplotypes, decode_haplotypes, encode_haplotypes

__all__ = ["allowed_token_ids", "haplotype_token_ids", "n_haplotype_positions", "token_ids_to_haplotypes"]


def n_haplotype_positions(n_sites: int) -> int:
    """Positions of one row: ``<R>`` plus ``ceil(n_sites / 6)`` tokens."""
    return 1 + -(-int(n_sites) // K)


def haplotype_token_ids(matrix: np.ndarray, ref: np.ndarray, alt: np.ndarray) -> np.ndarray:
    """Token rows of haplotypes, shape=(n, 1 + ceil(n_sites / 6)), int64, ``<R>`` first.

    Parameters
    ----------
    matrix : numpy.ndarray, shape=(n, n_sites), values 0/1
    ref, alt : numpy.ndarray, shape=(n_sites,), one-letter str

    Returns
    -------
    ids : numpy.ndarray
    """
    seqs = encode_haplotypes(matrix, ref, alt)
    width = n_haplotype_positions(len(ref))
    ids = np.full((len(seqs), width), SPECIES_ID, dtype=np.int64)
    for i, s in enumerate(seqs):
        ids[i, 1:] = GptTokenizer.encode(s)
    return ids


def token_ids_to_haplotypes(ids: np.ndarray, ref: np.ndarray, alt: np.ndarray) -> DecodedHaplotypes:
    """Decode generated rows (``<R>`` and anything after the haplotype's tokens are dropped).

    A row whose text has the wrong length, or a letter other than the site's REF/ALT base, is
    invalid (counted in the result, never repaired; :func:`decode_haplotypes`).

    Parameters
    ----------
    ids : numpy.ndarray, shape=(n, T), int
        Rows as :func:`haplotype_token_ids` writes them.
    ref, alt : numpy.ndarray, shape=(n_sites,)

    Returns
    -------
    decoded : DecodedHaplotypes
    """
    tok = GptTokenizer()
    ids = np.asarray(ids, dtype=np.int64)
    width = n_haplotype_positions(len(ref))
    return decode_haplotypes([tok.decode(row[1:width]) for row in ids], ref, alt)


def allowed_token_ids(ref: np.ndarray, alt: np.ndarray) -> np.ndarray:
    """The token ids that are haplotypes at each position after ``<R>``.

    Parameters
    ----------
    ref, alt : numpy.ndarray, shape=(n_sites,), one-letter str

    Returns
    -------
    allowed : numpy.ndarray, shape=(ceil(n_sites / 6), 2**6), int64
        Row ``t``: the ids of the ``2**w`` REF/ALT combinations of the sites token ``t`` covers,
        indexed by the alleles as a binary number (first site = most significant bit); a tail
        token of ``w < 6`` sites repeats its ``2**w`` ids to fill the row (only the first
        ``2**w`` are distinct).
    """
    ref = np.asarray(ref, dtype="<U1")
    alt = np.asarray(alt, dtype="<U1")
    n_sites = ref.size
    n_tok = -(-n_sites // K)
    out = np.zeros((n_tok, 2**K), dtype=np.int64)
    for t in range(n_tok):
        lo, hi = t * K, min((t + 1) * K, n_sites)
        w = hi - lo
        combos = (np.arange(2**w)[:, None] >> np.arange(w - 1, -1, -1)[None, :]) & 1
        ids = [int(GptTokenizer.encode(s)[0]) for s in encode_haplotypes(combos, ref[lo:hi], alt[lo:hi])]
        out[t] = np.resize(np.asarray(ids, dtype=np.int64), 2**K)
    return out
