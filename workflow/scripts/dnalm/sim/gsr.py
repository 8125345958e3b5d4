"""Genomic signal regions of the demo world: coding sequences, Kozak start sites and PAS.

``plant_signals(w, seed, variant_mask)`` gives every gene a CDS that starts in its first shared
exon (exon 2, so every transcript of a gene has the same CDS) and stops in its last exon, and
writes a few small sites into the genome:

- a Kozak-like context around the start ATG (``gccRccATGG``, bases -6..+4);
- a stop codon (TAA, TAG or TGA) in frame with the ATG over the spliced exons;
- a polyadenylation signal hexamer (AATAAA 70%, ATTAAA 20%, other variants 10%) 16-35 nt
  upstream of the transcript 3' end (its last base 10-30 nt upstream), and a GU-rich
  downstream element 10-20 nt past the 3' end.

Everything is drawn from its own generator, ``numpy.random.default_rng([seed, GSR_STREAM])``,
after the rest of the world (and its variants) is final: the main stream is never touched, so
every other file keeps its bytes apart from these few sites. Sites overlapping a dbSNP or
ClinVar record (``variant_mask``) are moved or skipped, so every VCF REF still matches the
genome. The ORF is not cleared of in-frame stops (only its ends are planted).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dnalm.seq import revcomp_codes
from dnalm.sim.core import Gene, World, sample_pwm
from dnalm.sim.presets import ACCEPTOR, ACCEPTOR_INTRON, BASES, DONOR_EXON

__all__ = ["GSR_STREAM", "PAS_HEXAMERS", "Coding", "plant_signals", "oriented_span"]

#: Second key of the generator of these sites (``default_rng([seed, GSR_STREAM])``).
GSR_STREAM = 0x475352
#: Planted PAS hexamers and their shares.
PAS_HEXAMERS = {"AATAAA": 0.7, "ATTAAA": 0.2, "AGTAAA": 0.04, "TATAAA": 0.03, "CATAAA": 0.03}
_CODE = {b: i for i, b in enumerate(BASES)}
# Kozak -6..+4 around the ATG (A of ATG = +1 at index 6): gcc R cc ATG G.
_KOZAK = np.array(
    [
        [0.15, 0.15, 0.15, 0.55],  # -6 G   (columns in code order A, T, C, G)
        [0.15, 0.1, 0.6, 0.15],  # -5 C
        [0.15, 0.1, 0.6, 0.15],  # -4 C
        [0.6, 0.02, 0.03, 0.35],  # -3 A/G
        [0.15, 0.1, 0.6, 0.15],  # -2 C
        [0.15, 0.1, 0.6, 0.15],  # -1 C
        [1, 0, 0, 0],  # A
        [0, 1, 0, 0],  # T
        [0, 0, 0, 1],  # G
        [0.1, 0.1, 0.1, 0.7],  # +4 G
    ]
)
_KOZAK_ATG = 6  # index of the A of ATG in the Kozak block
_DSE = np.tile([0.05, 0.55, 0.05, 0.35], (8, 1))  # GU-rich: mostly T, some G
_STOPS = ("TAA", "TAG", "TGA")
_ACC_EXON = ACCEPTOR.shape[0] - ACCEPTOR_INTRON  # acceptor PWM bases inside the exon


@dataclass(frozen=True)
class Coding:
    """The planted coding annotation of one gene (global 0-based half-open spans).

    ``start_codon``/``stop_codon`` are the ATG and stop spans; the CDS runs from the ATG to
    the base before the stop codon (GTF convention: ``CDS`` rows exclude the stop codon).
    ``pas`` is the hexamer span (None when no PAS was planted), ``pas_hexamer`` its letters.
    """

    gid: str
    strand: str
    start_codon: tuple[int, int]
    stop_codon: tuple[int, int]
    pas: tuple[int, int] | None
    pas_hexamer: str | None


def _codes(s: str) -> np.ndarray:
    return np.array([_CODE[b] for b in s], dtype=np.uint8)


def oriented_span(exon: tuple[int, int], strand: str, k0: int, k1: int) -> tuple[int, int]:
    """Global span of the transcript-oriented offsets ``[k0, k1)`` of ``exon`` (may run past it)."""
    a, b = exon
    return (a + k0, a + k1) if strand == "+" else (b - k1, b - k0)


def _write(w: World, span: tuple[int, int], strand: str, seq: np.ndarray) -> None:
    s, e = span
    w.codes[s:e] = seq if strand == "+" else revcomp_codes(seq)
    w.lower[s:e] = False


def _free(mask: np.ndarray, span: tuple[int, int]) -> bool:
    return not mask[span[0] : span[1]].any()


def _plant_gene(
    rng: np.random.Generator, w: World, gene: Gene, variant_mask: np.ndarray
) -> Coding | None:
    strand = gene.strand
    tr = gene.transcripts[0]
    oexons = tr.exons if strand == "+" else tr.exons[::-1]  # transcript order
    ex2, last = oexons[1], oexons[-1]
    len2, len_last = ex2[1] - ex2[0], last[1] - last[0]
    # Start ATG in exon 2, Kozak block clear of the acceptor and donor PWMs.
    lo, hi = _ACC_EXON + 2 + _KOZAK_ATG, len2 - DONOR_EXON - 2 - (len(_KOZAK) - _KOZAK_ATG)
    atg = None
    for o in rng.permutation(np.arange(lo, hi + 1))[:20]:
        span = oriented_span(ex2, strand, int(o) - _KOZAK_ATG, int(o) - _KOZAK_ATG + len(_KOZAK))
        if _free(variant_mask, span):
            atg = int(o)
            kozak_span = span
            break
    if atg is None:
        return None
    # Stop codon in the last exon, in frame over the spliced exons, >= 80 nt before the 3' end.
    before = (len2 - atg) + sum(e[1] - e[0] for e in oexons[2:-1])
    cands = [k for k in range(_ACC_EXON + 5, len_last - 80) if (before + k) % 3 == 0]
    stop = None
    for k in rng.permutation(np.asarray(cands, dtype=np.int64))[:20]:
        span = oriented_span(last, strand, int(k), int(k) + 3)
        if _free(variant_mask, span):
            stop = int(k)
            stop_span = span
            break
    if stop is None:
        return None
    kozak = sample_pwm(rng, _KOZAK, 1)[0]
    _write(w, kozak_span, strand, kozak)
    codon = _STOPS[int(rng.integers(0, 3))]
    _write(w, stop_span, strand, _codes(codon))
    atg_span = oriented_span(ex2, strand, atg, atg + 3)
    w.truth.append(("kozak", "Kozak", *kozak_span, strand, gene.gid))
    # PAS hexamer: starts 16-35 nt upstream of the 3' end (ends 10-30 nt upstream); GU-rich DSE.
    names = list(PAS_HEXAMERS)
    hexamer = names[int(rng.choice(len(names), p=list(PAS_HEXAMERS.values())))]
    pas = None  # oriented offsets past len_last - 35: downstream of the stop codon (< len_last - 80)
    for q in rng.permutation(np.arange(len_last - 35, len_last - 15))[:10]:
        span = oriented_span(last, strand, int(q), int(q) + 6)
        if _free(variant_mask, span):
            pas = span
            break
    if pas is not None:
        _write(w, pas, strand, _codes(hexamer))
        w.truth.append(("pas", hexamer, *pas, strand, gene.gid))
        d0 = len_last + int(rng.integers(10, 21))
        dse = oriented_span(last, strand, d0, d0 + len(_DSE))
        if _free(variant_mask, dse):
            _write(w, dse, strand, sample_pwm(rng, _DSE, 1)[0])
    return Coding(gene.gid, strand, atg_span, stop_span, pas, hexamer if pas else None)


def plant_signals(w: World, seed: int, variant_mask: np.ndarray) -> dict[str, Coding]:
    """Plant start/stop codons and PAS of every gene; return ``{gene_id: Coding}``.

    Parameters
    ----------
    w : World
        The finished world (genes laid out, variants drawn); its codes are edited in place and
        ``kozak`` / ``pas`` rows are added to its truth.
    seed : int
        The world's seed; the sites come from ``default_rng([seed, GSR_STREAM])``.
    variant_mask : numpy.ndarray of bool, shape=(G,)
        Bases covered by a dbSNP or ClinVar record; planted sites avoid them.

    Returns
    -------
    dict of str to Coding
        Genes without a planted CDS (no variant-free site found) are absent.
    """
    rng = np.random.default_rng([int(seed), GSR_STREAM])
    out: dict[str, Coding] = {}
    for gene in w.genes:
        c = _plant_gene(rng, w, gene, variant_mask)
        if c is not None:
            out[gene.gid] = c
    return out
