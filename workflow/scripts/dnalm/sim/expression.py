"""The demo's expression table: one row per coding gene, in Xpresso's input format.

``write_expression(path, w, coding, seed)`` writes a gzip TSV with header
``ENSID EXPRESSION UTR5LEN CDSLEN INTRONLEN UTR3LEN UTR5GC CDSGC UTR3GC ORFEXONDENSITY PROMOTER``
(the layout of Xpresso's ``*_FantomAnnotations.InputData.pM10Kb.txt.gz``). ``PROMOTER`` is the
transcript-oriented sequence of the gene's first transcript from -1000 to +999 around its TSS
(the TSS is at index :data:`PROMOTER_TSS`); the eight middle columns are the mRNA half-life
features of that transcript, computed from the planted CDS.

The expression is tied to the planted promoter features plus noise::

    log10(EXPRESSION) = 0.2 + 0.6 TATA + 0.45 n(GC boxes) + 0.3 CCAAT + 0.25 Inr
                        + 4 (GC(-300..+200) - 0.5) - 0.3 z(log10 UTR3LEN) + N(0, 0.3^2)

Noise comes from ``default_rng([seed, EXPRESSION_STREAM])``, never the world's own stream.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np

from dnalm.atomic import gzip_bytes
from dnalm.seq import revcomp_codes
from dnalm.sim.core import World
from dnalm.sim.gsr import Coding
from dnalm.sim.presets import BASES, C, G

__all__ = ["EXPRESSION_STREAM", "PROMOTER_TSS", "COLUMNS", "COEFFICIENTS", "write_expression"]

EXPRESSION_STREAM = 0x45585052
#: 0-based index of the TSS in the PROMOTER column (sequence -1000..+999).
PROMOTER_TSS = 1000
COLUMNS = ("ENSID", "EXPRESSION", "UTR5LEN", "CDSLEN", "INTRONLEN", "UTR3LEN", "UTR5GC", "CDSGC",
           "UTR3GC", "ORFEXONDENSITY", "PROMOTER")  # fmt: skip
#: Effects on log10(EXPRESSION) (see the module docstring).
COEFFICIENTS = {"intercept": 0.2, "TATA": 0.6, "gc_boxes": 0.45, "CCAAT": 0.3, "Inr": 0.25,
                "gc": 4.0, "utr3": -0.3, "noise_sd": 0.3}  # fmt: skip
_LETTERS = np.frombuffer(BASES.encode(), dtype=np.uint8)


def _oriented(w: World, a: int, b: int, strand: str) -> np.ndarray:
    seq = w.codes[a:b]
    return seq if strand == "+" else revcomp_codes(seq)


def _gc(codes: np.ndarray) -> float:
    return float(np.isin(codes, (C, G)).mean()) if len(codes) else 0.0


def _spliced(w: World, exons: list[tuple[int, int]], lo: int, hi: int, strand: str) -> np.ndarray:
    """Transcript-oriented bases of the exonic part of global ``[lo, hi)``."""
    parts = [w.codes[max(a, lo) : min(b, hi)] for a, b in exons if min(b, hi) > max(a, lo)]
    seq = np.concatenate(parts) if parts else np.zeros(0, dtype=np.uint8)
    return seq if strand == "+" else revcomp_codes(seq)


def _features(w: World, gene, c: Coding) -> dict[str, float]:
    tr = gene.transcripts[0]
    ex = tr.exons  # ascending
    tx_lo, tx_hi = ex[0][0], ex[-1][1]
    if gene.strand == "+":
        utr5 = _spliced(w, ex, tx_lo, c.start_codon[0], "+")
        cds = _spliced(w, ex, c.start_codon[0], c.stop_codon[1], "+")
        utr3 = _spliced(w, ex, c.stop_codon[1], tx_hi, "+")
        cds_lo, cds_hi = c.start_codon[0], c.stop_codon[1]
    else:
        utr5 = _spliced(w, ex, c.start_codon[1], tx_hi, "-")
        cds = _spliced(w, ex, c.stop_codon[0], c.start_codon[1], "-")
        utr3 = _spliced(w, ex, tx_lo, c.stop_codon[0], "-")
        cds_lo, cds_hi = c.stop_codon[0], c.start_codon[1]
    introns = sum(b[0] - a[1] for a, b in zip(ex[:-1], ex[1:], strict=True))
    junctions = sum(1 for a, b in zip(ex[:-1], ex[1:], strict=True) if cds_lo < a[1] and b[0] < cds_hi)
    return {
        "UTR5LEN": float(len(utr5)),
        "CDSLEN": float(len(cds)),
        "INTRONLEN": float(introns),
        "UTR3LEN": float(len(utr3)),
        "UTR5GC": _gc(utr5),
        "CDSGC": _gc(cds),
        "UTR3GC": _gc(utr3),
        "ORFEXONDENSITY": junctions / (len(cds) / 1000.0),
    }


def write_expression(path: Path, w: World, coding: Mapping[str, Coding], seed: int) -> int:
    """Write the expression table of the coding genes; return the number of rows."""
    rng = np.random.default_rng([int(seed), EXPRESSION_STREAM])
    proms = {p["name"]: p for p in w.promoters}
    gc_boxes: dict[str, int] = {}
    for kind, _name, *_rest, feature in w.truth:
        if kind == "gc_box":
            gc_boxes[feature] = gc_boxes.get(feature, 0) + 1
    rows = []
    for gene in w.genes:
        c = coding.get(gene.gid)
        if c is None:
            continue
        tss, strand = gene.transcripts[0].tss, gene.strand
        if strand == "+":
            a, b = tss - PROMOTER_TSS, tss + PROMOTER_TSS
        else:  # oriented index j is genomic b - 1 - j: index PROMOTER_TSS is the TSS
            a, b = tss - PROMOTER_TSS + 1, tss + PROMOTER_TSS + 1
        promoter = _oriented(w, a, b, strand)
        pr = proms[f"{gene.name}_1"]
        feats = _features(w, gene, c)
        rows.append((gene, pr, feats, promoter, _gc(promoter[PROMOTER_TSS - 300 : PROMOTER_TSS + 200])))
    if not rows:
        return 0
    utr3 = np.log10(np.array([r[2]["UTR3LEN"] for r in rows]) + 0.1)
    z3 = (utr3 - utr3.mean()) / (utr3.std() or 1.0)
    noise = rng.normal(0.0, COEFFICIENTS["noise_sd"], size=len(rows))
    k = COEFFICIENTS
    lines = ["\t".join(COLUMNS)]
    for (gene, pr, feats, promoter, gc), z, eps in zip(rows, z3, noise, strict=True):
        log_e = (k["intercept"] + k["TATA"] * pr["TATA"] + k["gc_boxes"] * gc_boxes.get(pr["name"], 0)
                 + k["CCAAT"] * pr["CCAAT"] + k["Inr"] * pr["Inr"] + k["gc"] * (gc - 0.5)
                 + k["utr3"] * z + eps)  # fmt: skip
        vals = [gene.gid.split(".")[0], f"{10.0 ** log_e:.6g}"]
        vals += [f"{feats[c]:.6g}" for c in COLUMNS[2:-1]]
        vals.append(_LETTERS[promoter].tobytes().decode())
        lines.append("\t".join(vals))
    path.write_bytes(gzip_bytes(("\n".join(lines) + "\n").encode()))
    return len(rows)
