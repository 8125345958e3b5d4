"""Seeded demo-world simulator: a small genome with planted biology, in the real file formats.

``simulate_world(out_dir, preset, seed, scale)`` writes everything the embedded demo needs
(see ``docs/ARCHITECTURE.md``, stage *simulate*):

- ``genome.fa.gz``: plain gzip FASTA, bare ``>chr1`` headers, 60-bp lines. A first-order
  (dinucleotide) Markov background with CpG depletion, soft-masked (lower-case) copies of a
  few diverged repeat families, N gaps (10 kb at each chromosome start plus internal runs).
- ``assembly_report.txt``: NCBI assembly report (Sequence-Name / RefSeq-Accn / UCSC names).
- ``epd.bed`` + ``promoter_motifs.txt``: EPDnew-style promoters (TSS -49..+10, space
  separated) and TATA / Inr / CCAAT / GC-box flags. TATA promoters carry a TATA box centred
  near -30; the others sit in CpG islands (-300..+200) with GC boxes.
- ``genes.gtf.gz``: multi-exon genes on both strands (minus-strand exons listed in
  descending order), splice consensus (MAG|GTRAGT, polypyrimidine tract + AG|G) at every
  exon boundary; every promoter TSS is a transcript start. At scale 1 the human preset has
  500 genes (350 mouse); 60% have a second transcript starting at an alternative first exon,
  which gives ~800 promoters (~570 mouse), each at a transcript start.
- ``peaks/<exp>.narrowPeak.gz``: ENCODE-style BED6+4 peaks with a planted motif near the
  summit, duplicated intervals with different summits, unsorted rows, ``chrEBV`` lines.
- ``dbsnp.vcf.gz`` (+ ``.tbi``): dbSNP-style VCFv4.2 with RefSeq ``NC_`` contig names.
- ``clinvar.vcf.gz`` (+ ``.tbi``): ClinVar-style VCFv4.1 with ``1``-style names; pathogenic
  SNVs break high-information positions of planted motif instances, benign ones sit in the
  same peak windows away from the motifs.
- ``truth/motifs.meme``, ``truth/positions.tsv``, ``truth/summary.json``: the planted truth.
  ``positions.tsv`` coordinates are 0-based half-open, contigs UCSC-style.

Everything comes from one ``numpy.random.default_rng(seed)``: the same arguments give
byte-identical files. Internally bases are codes A=0, C=1, G=2, T=3, N=4 (the column order of
the PWMs), so the complement of ``x`` is ``3 - x``.
"""

from __future__ import annotations

import gzip
import io
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from dnalm.meme import write_meme

__all__ = [
    "PRESETS",
    "MOTIF_NAMES",
    "PWMS",
    "peak_experiments",
    "output_files",
    "rule_outputs",
    "world_spec",
    "worlds_of",
    "simulate_world",
]

log = logging.getLogger("dnalm.simulate")

BASES = "ACGTN"
_N = 4
_UPPER = np.frombuffer(b"ACGTN", dtype=np.uint8)
_LOWER = np.frombuffer(b"acgtn", dtype=np.uint8)
_IUPAC = {
    "A": "A",
    "C": "C",
    "G": "G",
    "T": "T",
    "R": "AG",
    "Y": "CT",
    "S": "CG",
    "W": "AT",
    "K": "GT",
    "M": "AC",
    "N": "ACGT",
}

START_GAP = 10_000  # N run at every chromosome start (as chr1:1-10,000 in hg38)
PROMOTER_PAD = 1000  # bp kept free upstream of every gene (promoter) and ...
GENE_TAIL_PAD = 500  # ... downstream of it
PEAK_HALF = 150  # peak windows (summit +- this) never overlap each other or other features
BENIGN_MIN_DIST = 12  # benign ClinVar SNVs are at least this far from any planted motif
MIN_SCALE, MAX_SCALE = 0.1, 10.0


# --------------------------------------------------------------------------------------------
# Position weight matrices (ACGT columns), written as one "<IUPAC letter><percent>" token per
# column: the percentage is spread evenly over the letters the code names and the rest evenly
# over the other letters ("R90" = A 0.45, G 0.45, C 0.05, T 0.05).
# --------------------------------------------------------------------------------------------
def _pwm(spec: str) -> np.ndarray:
    cols = spec.split()
    out = np.zeros((len(cols), 4))
    for i, tok in enumerate(cols):
        on = [BASES.index(b) for b in _IUPAC[tok[0]]]
        off = [j for j in range(4) if j not in on]
        p = int(tok[1:]) / 100.0
        out[i, on] = p / len(on)
        out[i, off] = (1.0 - p) / max(len(off), 1)
    return out


_P53_HALF = "R92 R92 R90 C97 A85 T85 G97 Y90 Y92 Y92"
PWMS: dict[str, np.ndarray] = {
    # CTCF-like 19-mer (core CCRCYAGRKGGCRS with strong C/G anchors).
    "CTCF_like": _pwm(
        "T50 G60 G60 C85 C90 R90 C97 Y90 A70 G97 R92 G97 G75 G95 C85 G85 C70 W75 A50"
    ),
    # p53-like dimer: two RRRCWWGYYY half-sites, 0-bp spacer, with the C-A-T-G core that real
    # p53 sites favour (a fully degenerate WW core leaves too little signal for ~100 demo
    # test positives: no 6-mer reaches adjusted p < 0.005).
    "P53_like": _pwm(f"{_P53_HALF} {_P53_HALF}"),
    # TATA box, consensus TATAWAWR.
    "TATA_like": _pwm("T95 A97 T95 A97 W95 A90 W92 R85"),
    # Weak AP-1-like heptamer carried by a minority of the low-quality experiment's peaks.
    "LOWQ_like": _pwm("T85 G85 A85 S80 T85 C85 A85"),
}
MOTIF_NAMES = tuple(PWMS)
# Promoter and splice elements (planted and listed in positions.tsv, not in motifs.meme).
_INR = _pwm("Y90 Y90 A97 N100 W90 Y85 Y85")
_INR_A = 2  # index of the +1 A inside the Inr
_GCBOX = _pwm("G90 G92 G95 G95 C95 G95 G95 G90 C70")
_CCAAT = _pwm("R80 R80 C95 C97 A97 A97 T97 S80 R70")
# Donor: exon ...MAG | GTRAGT... intron (columns -3..+6 around the exon end).
_DONOR = _pwm("M80 A70 G85 G100 T100 R95 A70 G80 T50")
_DONOR_EXON = 3
# Acceptor: polypyrimidine tract, YAG | G (columns -18..+1 around the exon start).
_ACCEPTOR = _pwm("Y80 " * 15 + "Y85 A100 G100 G55")
_ACCEPTOR_INTRON = 18
_NONCANONICAL_DONOR = 0.01  # fraction of GC-AG introns, as in real genomes


# --------------------------------------------------------------------------------------------
# Presets
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RepeatFamily:
    """One repeat family: a consensus that is copied, truncated, diverged and soft-masked."""

    name: str
    length: int  # consensus length (simple repeats: total copy length is drawn separately)
    gc: float
    cpg_oe: float
    divergence: tuple[float, float]  # per-copy substitution rate range
    weight: float  # share of copies
    kind: str = "sine"  # sine (mostly full length), line (5'-truncated), simple (tandem unit)
    unit: str = ""


@dataclass(frozen=True)
class PeakSpec:
    """One simulated ChIP-seq experiment."""

    motif: str
    n: int
    motif_fraction: float  # share of peaks with a planted motif instance
    jitter: int  # motif centre is within +- jitter bp of the summit
    half_width: tuple[int, int]  # peak start/end distances from the summit
    signal: float  # median signalValue of peaks with a motif
    low_quality: bool = False


@dataclass(frozen=True)
class Chrom:
    ucsc: str
    name: str  # NCBI Sequence-Name (Ensembl / ClinVar style)
    refseq: str
    genbank: str
    length: int  # at scale 1


@dataclass(frozen=True)
class Preset:
    organism: str
    taxid: int
    assembly: str
    chroms: tuple[Chrom, ...]
    gc: float
    cpg_oe: float
    repeat_fraction: float
    repeats: tuple[RepeatFamily, ...]
    n_genes: int
    p_two_tss: float
    tata_fraction: float
    gene_prefix: str
    peaks: dict[str, PeakSpec]
    n_pathogenic: int
    n_benign: int
    # (Sequence-Name, Assigned-Molecule, GenBank-Accn, RefSeq-Accn, length) of a fix-patch row
    patch: tuple[str, str, str, str, int]


PRESETS: dict[str, Preset] = {
    "human": Preset(
        organism="Homo sapiens (human), simulated",
        taxid=9606,
        assembly="DNALM_DEMO_HS.1",
        chroms=(
            Chrom("chr1", "1", "NC_000001.11", "CM000663.2", 2_500_000),
            Chrom("chr2", "2", "NC_000002.12", "CM000664.2", 2_000_000),
            Chrom("chrX", "X", "NC_000023.11", "CM000685.2", 1_500_000),
        ),
        gc=0.37,
        cpg_oe=0.22,
        repeat_fraction=0.5,
        repeats=(
            RepeatFamily("AluLike", 290, 0.60, 0.9, (0.04, 0.18), 0.42, "sine"),
            RepeatFamily("L1Like", 6000, 0.38, 0.3, (0.05, 0.25), 0.18, "line"),
            RepeatFamily("MIRLike", 260, 0.46, 0.4, (0.20, 0.30), 0.20, "sine"),
            RepeatFamily("ERVLike", 900, 0.45, 0.4, (0.08, 0.20), 0.08, "line"),
            RepeatFamily("(CA)n", 0, 0.5, 1.0, (0.01, 0.06), 0.05, "simple", "CA"),
            RepeatFamily("(TTTA)n", 0, 0.25, 1.0, (0.01, 0.06), 0.04, "simple", "TTTA"),
            RepeatFamily("(GGAA)n", 0, 0.5, 1.0, (0.01, 0.06), 0.03, "simple", "GGAA"),
        ),
        n_genes=500,
        p_two_tss=0.6,
        tata_fraction=0.35,
        gene_prefix="HSG",
        peaks={
            "CTCF_demo": PeakSpec("CTCF_like", 1500, 0.9, 5, (100, 400), 60.0),
            "TP53_demo": PeakSpec("P53_like", 1000, 0.85, 5, (100, 350), 40.0),
            "LOWQ_demo": PeakSpec("LOWQ_like", 800, 0.2, 80, (150, 600), 8.0, True),
        },
        n_pathogenic=60,
        n_benign=120,
        patch=("HG986_PATCH", "1", "KN196472.1", "NW_009646194.1", 186_494),
    ),
    "mouse": Preset(
        organism="Mus musculus (house mouse), simulated",
        taxid=10090,
        assembly="DNALM_DEMO_MM.1",
        chroms=(
            Chrom("chr1", "1", "NC_000067.7", "CM000994.3", 2_000_000),
            Chrom("chr2", "2", "NC_000068.8", "CM000995.3", 1_500_000),
        ),
        gc=0.40,
        cpg_oe=0.2,
        repeat_fraction=0.54,
        repeats=(
            RepeatFamily("B1Like", 140, 0.55, 0.8, (0.05, 0.20), 0.38, "sine"),
            RepeatFamily("B2Like", 190, 0.48, 0.6, (0.05, 0.20), 0.24, "sine"),
            RepeatFamily("L1MdLike", 6500, 0.40, 0.3, (0.03, 0.20), 0.20, "line"),
            RepeatFamily("MaLRLike", 400, 0.44, 0.4, (0.10, 0.25), 0.10, "sine"),
            RepeatFamily("(GA)n", 0, 0.5, 1.0, (0.01, 0.05), 0.05, "simple", "GA"),
            RepeatFamily("(TCTG)n", 0, 0.5, 1.0, (0.01, 0.05), 0.03, "simple", "TCTG"),
        ),
        n_genes=350,
        p_two_tss=0.6,
        tata_fraction=0.3,
        gene_prefix="Mmg",
        peaks={"CTCF_mm": PeakSpec("CTCF_like", 1000, 0.9, 5, (100, 400), 60.0)},
        n_pathogenic=40,
        n_benign=80,
        patch=("MG4200_PATCH", "1", "KZ289059.1", "NW_019805487.1", 201_254),
    ),
}


def peak_experiments(preset: str) -> list[str]:
    """Names of the narrowPeak experiments a preset writes (``peaks/<name>.narrowPeak.gz``)."""
    if preset not in PRESETS:
        raise ValueError(f"`preset` must be one of {sorted(PRESETS)}, got {preset!r}")
    return list(PRESETS[preset].peaks)


def output_files(preset: str) -> list[str]:
    """Files (relative to the world directory) that ``simulate_world`` writes for a preset."""
    files = [
        "genome.fa.gz",
        "assembly_report.txt",
        "epd.bed",
        "promoter_motifs.txt",
        "genes.gtf.gz",
        "dbsnp.vcf.gz",
        "dbsnp.vcf.gz.tbi",
        "clinvar.vcf.gz",
        "clinvar.vcf.gz.tbi",
        "truth/motifs.meme",
        "truth/positions.tsv",
        "truth/summary.json",
    ]
    return files + [f"peaks/{e}.narrowPeak.gz" for e in peak_experiments(preset)]


def rule_outputs(preset: str, root: str = "resources/demo/{world}") -> dict[str, str | list[str]]:
    """Named Snakemake outputs of the simulator for worlds of ``preset`` (``{world}`` wildcard)."""
    names = {
        "genome.fa.gz": "genome",
        "assembly_report.txt": "assembly_report",
        "epd.bed": "epd",
        "promoter_motifs.txt": "epd_motifs",
        "genes.gtf.gz": "gtf",
        "dbsnp.vcf.gz": "dbsnp",
        "dbsnp.vcf.gz.tbi": "dbsnp_tbi",
        "clinvar.vcf.gz": "clinvar",
        "clinvar.vcf.gz.tbi": "clinvar_tbi",
        "truth/motifs.meme": "motifs",
        "truth/positions.tsv": "positions",
        "truth/summary.json": "summary",
    }
    out: dict[str, str | list[str]] = {
        key: f"{root}/{rel}" for rel, key in names.items() if rel in output_files(preset)
    }
    out["peaks"] = [f"{root}/peaks/{e}.narrowPeak.gz" for e in peak_experiments(preset)]
    return out


def world_spec(simulate: Mapping[str, Any], world: str) -> dict[str, Any]:
    """``{preset, seed, scale}`` of one world from config ``simulate``, with schema defaults."""
    if world not in simulate:
        raise ValueError(f"config key `simulate.{world}` is missing (worlds: {sorted(simulate)})")
    spec = dict(simulate[world] or {})
    return {
        "preset": spec.get("preset", "human"),
        "seed": int(spec.get("seed", 7)),
        "scale": float(spec.get("scale", 1.0)),
    }


def worlds_of(simulate: Mapping[str, Any], preset: str) -> list[str]:
    """Names of the configured worlds that use ``preset``."""
    return [w for w in simulate if world_spec(simulate, w)["preset"] == preset]


# --------------------------------------------------------------------------------------------
# Sequence primitives
# --------------------------------------------------------------------------------------------
def _transition_matrix(gc: float, cpg_oe: float) -> np.ndarray:
    """First-order Markov transitions (4, 4) with base composition ``gc`` and CpG o/e ``cpg_oe``.

    Dinucleotide weights are scaled to the product of base frequencies, then fitted by
    iterative proportional fitting so that rows and columns sum to the base frequencies; the
    chain's stationary distribution is therefore the target composition.
    """
    pi = np.array([(1 - gc) / 2, gc / 2, gc / 2, (1 - gc) / 2])
    w = np.ones((4, 4))
    w[1, 2] = cpg_oe  # CG
    comp = 1.0 + 0.5 * (1.0 - cpg_oe)  # CpG deamination leaves TpG / CpA in excess
    w[3, 2] = comp  # TG
    w[1, 0] = comp  # CA
    joint = np.outer(pi, pi) * w
    for _ in range(200):
        joint *= (pi / joint.sum(axis=1))[:, None]
        joint *= (pi / joint.sum(axis=0))[None, :]
    return joint / joint.sum(axis=1, keepdims=True)


def _markov(
    rng: np.random.Generator, n: int, trans: np.ndarray, n_chains: int = 2048
) -> np.ndarray:
    """Sample ``n`` bases, shape=(n,) uint8, as ``n_chains`` parallel chains laid end to end."""
    if n <= 0:
        return np.zeros(0, dtype=np.uint8)
    n_chains = max(1, min(n_chains, n))
    steps = -(-n // n_chains)
    pi = np.full(4, 0.25)
    for _ in range(500):  # power iteration: plain float ops, identical on every platform
        pi = (pi[:, None] * trans).sum(axis=0)
    pi = pi / pi.sum()
    cum = np.cumsum(trans, axis=1)
    cum[:, -1] = 1.0
    u = rng.random((steps, n_chains))
    out = np.empty((steps, n_chains), dtype=np.uint8)
    state = np.searchsorted(np.cumsum(pi)[:-1], u[0], side="right").astype(np.uint8)
    out[0] = state
    for t in range(1, steps):
        state = (u[t][:, None] >= cum[state]).sum(axis=1).astype(np.uint8)
        out[t] = state
    return np.ascontiguousarray(out.T).reshape(-1)[:n]


def _sample_pwm(rng: np.random.Generator, pwm: np.ndarray, n: int) -> np.ndarray:
    """Draw ``n`` instances of a PWM, shape=(n, w) uint8 codes."""
    cum = np.cumsum(pwm, axis=1)
    cum[:, -1] = 1.0
    u = rng.random((n, pwm.shape[0]))
    return (u[:, :, None] >= cum[None, :, :]).sum(axis=2).astype(np.uint8)


def _revcomp(codes: np.ndarray) -> np.ndarray:
    out = 3 - codes[::-1]
    out[codes[::-1] == _N] = _N
    return out


def _log_odds(pwm: np.ndarray, inst: np.ndarray) -> float:
    """Log2-odds score of one instance (codes in motif orientation) against a uniform background."""
    return float(np.log2(pwm[np.arange(len(inst)), inst] / 0.25).sum())


# --------------------------------------------------------------------------------------------
# The world under construction
# --------------------------------------------------------------------------------------------
@dataclass
class _Transcript:
    tid: str
    exons: list[tuple[int, int]]  # global 0-based half-open, ascending coordinates
    tss: int  # global 0-based position of the first transcribed base


@dataclass
class _Gene:
    gid: str
    name: str
    numeric_id: int
    strand: str
    chrom: int
    transcripts: list[_Transcript]

    @property
    def start(self) -> int:
        return min(e[0] for t in self.transcripts for e in t.exons)

    @property
    def end(self) -> int:
        return max(e[1] for t in self.transcripts for e in t.exons)


@dataclass
class _World:
    preset: Preset
    names: list[str]  # UCSC names
    lengths: np.ndarray  # (n_chrom,) int64
    offsets: np.ndarray  # (n_chrom + 1,) global start of each chromosome
    codes: np.ndarray  # (G,) uint8
    lower: np.ndarray  # (G,) bool, soft-masked
    occupied: np.ndarray  # (G,) bool, reserved for planted features (peaks avoid it)
    genes: list[_Gene] = field(default_factory=list)
    promoters: list[dict] = field(default_factory=list)
    truth: list[tuple] = field(default_factory=list)  # (kind, name, gstart, gend, strand, feature)
    peaks: dict[str, list[dict]] = field(default_factory=dict)
    motif_sites: list[dict] = field(default_factory=list)
    exon_mask: np.ndarray | None = None
    peak_mask: np.ndarray | None = None  # (G,) bool, summit +- PEAK_HALF of every peak
    n_islands: int = 0

    def chrom_of(self, g: np.ndarray | int) -> np.ndarray:
        return np.searchsorted(self.offsets, g, side="right") - 1

    def put(self, tss: int, strand: str, rel0: int, seq: np.ndarray) -> tuple[int, int]:
        """Write ``seq`` (transcript orientation) at relative offset ``rel0`` from ``tss``.

        Returns the global half-open span written. Written bases are upper-case.
        """
        start, end = _span(tss, strand, rel0, rel0 + len(seq))
        self.codes[start:end] = seq if strand == "+" else _revcomp(seq)
        self.lower[start:end] = False
        return start, end


def _span(tss: int, strand: str, r0: int, r1: int) -> tuple[int, int]:
    """Global half-open span of the transcript-relative span [r0, r1) of a TSS on ``strand``."""
    if strand == "+":
        return tss + r0, tss + r1
    return tss - r1 + 1, tss - r0 + 1


# --------------------------------------------------------------------------------------------
# Steps
# --------------------------------------------------------------------------------------------
def _background(rng: np.random.Generator, p: Preset, scale: float) -> _World:
    lengths = np.array(
        [max(int(round(c.length * scale)), 50_000) for c in p.chroms], dtype=np.int64
    )
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    total = int(offsets[-1])
    codes = _markov(rng, total, _transition_matrix(p.gc, p.cpg_oe))
    lower = np.zeros(total, dtype=bool)
    occupied = np.zeros(total, dtype=bool)
    return _World(p, [c.ucsc for c in p.chroms], lengths, offsets, codes, lower, occupied)


def _repeats(rng: np.random.Generator, w: _World) -> None:
    """Overwrite ~``repeat_fraction`` of the genome with diverged, soft-masked repeat copies."""
    fams = w.preset.repeats
    consensus = []
    for f in fams:
        if f.kind == "simple":
            consensus.append(np.array([BASES.index(b) for b in f.unit], dtype=np.uint8))
        else:
            seq = _markov(rng, f.length, _transition_matrix(f.gc, f.cpg_oe), n_chains=1)
            if f.name.startswith(("Alu", "B1")):  # SINEs end in an A-rich tail
                seq = np.concatenate([seq, np.zeros(20, dtype=np.uint8)])
            consensus.append(seq)
    total = len(w.codes)
    weights = np.array([f.weight for f in fams]) / sum(f.weight for f in fams)
    n_guess = int(total * w.preset.repeat_fraction / 150) + 100
    fam = rng.choice(len(fams), size=n_guess, p=weights)
    u = rng.random(n_guess)
    lens = np.empty(n_guess, dtype=np.int64)
    for i, f in enumerate(fams):
        sel = fam == i
        m = int(sel.sum())
        full = len(consensus[i])
        if f.kind == "simple":
            lens[sel] = rng.integers(20, 121, size=m)
        elif f.kind == "line":
            lens[sel] = np.clip(rng.lognormal(np.log(min(900, full)), 0.8, size=m), 80, full)
        else:  # mostly full length, some 5'-truncated
            trunc = rng.integers(full // 3, full, size=m)
            lens[sel] = np.where(u[sel] < 0.75, full, trunc)
    cover = w.preset.repeat_fraction
    gaps = rng.exponential(lens.mean() * (1 - cover) / cover, size=n_guess).astype(np.int64)
    ends = np.cumsum(gaps + lens)
    keep = int(np.searchsorted(ends, total - 1, side="right"))
    fam, lens, ends = fam[:keep], lens[:keep], ends[:keep]
    starts = ends - lens
    strands = rng.random(keep) < 0.5
    divs = np.array([rng.uniform(*fams[f].divergence) for f in fam])
    pieces = []
    for f, n, minus in zip(fam, lens, strands, strict=True):
        cons = consensus[f]
        if fams[f].kind == "simple":
            piece = np.resize(cons, int(n))
        else:
            piece = cons[len(cons) - int(n) :]  # 5' truncation keeps the 3' end
        pieces.append(_revcomp(piece) if minus else piece)
    rep = np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.uint8)
    rate = np.repeat(divs, lens)
    hit = rng.random(len(rep)) < rate
    rep[hit] = rng.integers(0, 4, size=int(hit.sum()), dtype=np.uint8)
    # CpG decay: CG in old copies mutates to TG or CA.
    cg = np.flatnonzero((rep[:-1] == 1) & (rep[1:] == 2))
    decay = cg[rng.random(len(cg)) < 0.6]
    to_tg = rng.random(len(decay)) < 0.5
    rep[decay[to_tg]] = 3
    rep[decay[~to_tg] + 1] = 0
    first = np.concatenate([[0], np.cumsum(lens)[:-1]])
    pos = np.repeat(starts - first, lens) + np.arange(len(rep))
    w.codes[pos] = rep
    w.lower[pos] = True


def _gene_structure(rng: np.random.Generator, two_tss: bool) -> tuple[list, list, int]:
    """Sample one gene in transcript-relative coordinates (TSS of transcript 1 = 0).

    Returns (first exons, shared exons, gene length); exons are [a, b) pairs.
    """
    n_ex = int(rng.integers(3, 9))
    l1 = int(rng.integers(80, 400))

    def intron() -> int:
        return int(np.clip(rng.lognormal(np.log(500), 0.7), 150, 4000))

    intron1 = int(rng.integers(1600, 3000)) if two_tss else intron()
    firsts = [(0, l1)]
    if two_tss:
        p = l1 + int(rng.integers(700, intron1 - 899))  # exon 1b: >= 600 bp before exon 2
        firsts.append((p, p + int(rng.integers(80, 300))))
    pos = l1 + intron1
    shared = []
    for i in range(n_ex - 1):
        last = i == n_ex - 2
        el = int(rng.integers(200, 1200)) if last else int(rng.integers(50, 250))
        shared.append((pos, pos + el))
        pos += el
        if not last:
            pos += intron()
    return firsts, shared, pos


def _genes(rng: np.random.Generator, w: _World, scale: float, verbose: bool) -> None:
    """Lay out genes and N gaps along each chromosome and plant promoters and splice sites."""
    p = w.preset
    n_genes = max(3, int(round(p.n_genes * scale)))
    usable = w.lengths - START_GAP
    # Genes per chromosome proportional to the usable length (largest remainders).
    share = n_genes * usable / usable.sum()
    per_chrom = np.floor(share).astype(np.int64)
    per_chrom[np.argsort(per_chrom - share, kind="stable")[: n_genes - int(per_chrom.sum())]] += 1
    structures = []
    for c, n in enumerate(per_chrom):
        for _ in range(n):
            two = bool(rng.random() < p.p_two_tss)
            firsts, shared, glen = _gene_structure(rng, two)
            structures.append((c, firsts, shared, glen, "+" if rng.random() < 0.5 else "-"))
    # Place genes and internal N runs on each chromosome with Dirichlet-distributed spacing.
    placed: list[tuple[int, int]] = []  # (structure index, global tss)
    for c in range(len(w.lengths)):
        off = int(w.offsets[c])
        clen = int(w.lengths[c])
        gap_start = min(START_GAP, clen // 20)
        w.codes[off : off + gap_start] = _N
        w.lower[off : off + gap_start] = False
        w.occupied[off : off + gap_start + 500] = True
        w.occupied[off + clen - 1000 : off + clen] = True
        idx = [i for i, s in enumerate(structures) if s[0] == c]
        items = [("gene", i, structures[i][3] + PROMOTER_PAD + GENE_TAIL_PAD) for i in idx]
        items.append(("N", -1, int(rng.integers(1000, 5001))))
        items.append(("N", -1, 100))  # a contig gap of exactly 100 N, as in assemblies
        order = rng.permutation(len(items))
        items = [items[i] for i in order]
        spans = np.array([it[2] for it in items], dtype=np.int64)
        free = clen - gap_start - 1500 - int(spans.sum())
        if free < 0:
            raise ValueError(
                f"chromosome {w.names[c]} ({clen} bp) cannot hold its {len(idx)} genes; "
                f"increase `scale` (minimum {MIN_SCALE})"
            )
        gaps = np.floor(rng.dirichlet(np.ones(len(items) + 1)) * free).astype(np.int64)
        x = off + gap_start + 500 + int(gaps[0])
        for (kind, i, span), gap in zip(items, gaps[1:], strict=True):
            if kind == "N":
                w.codes[x : x + span] = _N
                w.lower[x : x + span] = False
                w.occupied[max(off, x - 500) : x + span + 500] = True
            else:
                strand = structures[i][4]
                tss = x + PROMOTER_PAD if strand == "+" else x + span - 1 - PROMOTER_PAD
                placed.append((i, tss))
            x += span + int(gap)
    placed.sort(key=lambda t: t[1])
    # Islands for every promoter drawn in one go.
    n_tss = sum(len(structures[i][1]) for i, _ in placed)
    islands = _markov(rng, 500 * n_tss, _transition_matrix(0.66, 0.85)).reshape(n_tss, 500)
    # Exactly round(tata_fraction * n) TATA promoters, at random.
    is_tata = rng.permutation(n_tss) < int(round(p.tata_fraction * n_tss))
    w.n_islands = 0
    exon_mask = np.zeros(len(w.codes), dtype=bool)
    k_tss = 0
    for gnum, (i, tss) in enumerate(tqdm(placed, desc="genes", disable=not verbose), start=1):
        c, firsts, shared, glen, strand = structures[i]
        name = f"{p.gene_prefix}{gnum:04d}"
        gid = f"DNALM{p.gene_prefix.upper()}{gnum:06d}.1"
        gene = _Gene(gid, name, 100_000 + gnum, strand, c, [])
        for t, first in enumerate(firsts):
            rel_exons = [first] + shared
            exons = sorted(_span(tss, strand, a, b) for a, b in rel_exons)
            tr_tss = _span(tss, strand, first[0], first[0] + 1)[0]
            gene.transcripts.append(
                _Transcript(f"DNALM{p.gene_prefix.upper()}T{gnum:06d}.{t + 1}", exons, tr_tss)
            )
            # Promoter (planted before splice sites so that the latter win any overlap).
            flags = _promoter(
                rng,
                w,
                tss,
                strand,
                first[0],
                islands[k_tss],
                bool(is_tata[k_tss]),
                f"{name}_{t + 1}",
            )
            k_tss += 1
            w.promoters.append(
                {"name": f"{name}_{t + 1}", "chrom": c, "tss": tr_tss, "strand": strand, **flags}
            )
            a, b = _span(tss, strand, first[0] - PROMOTER_PAD, first[0] + 500)
            w.occupied[a:b] = True
        for a, b in firsts + shared:
            ga, gb = _span(tss, strand, a, b)
            w.lower[ga:gb] = False
            exon_mask[ga:gb] = True
            w.occupied[ga - 50 : gb + 50] = True
        # Splice sites: donors after every exon but the last, acceptors before shared exons.
        donors = sorted({b for _, b in firsts} | {b for _, b in shared[:-1]})
        acceptors = [a for a, _ in shared]
        for b in donors:
            inst = _sample_pwm(rng, _DONOR, 1)[0]
            dinuc = "GT"
            if rng.random() < _NONCANONICAL_DONOR:
                inst[_DONOR_EXON + 1] = 1  # GC donor
                dinuc = "GC"
            w.put(tss, strand, b - _DONOR_EXON, inst)
            s, e = _span(tss, strand, b, b + 2)
            w.truth.append(("splice", "donor", s, e, strand, f"{gid}:{dinuc}"))
        for a in acceptors:
            inst = _sample_pwm(rng, _ACCEPTOR, 1)[0]
            w.put(tss, strand, a - _ACCEPTOR_INTRON, inst)
            s, e = _span(tss, strand, a - 2, a)
            w.truth.append(("splice", "acceptor", s, e, strand, f"{gid}:AG"))
        w.genes.append(gene)
    w.exon_mask = exon_mask


def _promoter(
    rng: np.random.Generator,
    w: _World,
    tss: int,
    strand: str,
    r: int,
    island: np.ndarray,
    tata: bool,
    name: str,
) -> dict[str, int]:
    """Plant one promoter around transcript-relative TSS ``r``; return its EPD-style flags.

    TATA promoters get a TATA box centred near -30; the others a CpG island (-300..+200,
    ``island`` shape=(500,)) with GC boxes. Either may get a CCAAT box and an Inr at +1.
    """
    a, b = _span(tss, strand, r - 300, r + 200)
    w.lower[a:b] = False
    flags = {"TATA": int(tata), "Inr": 0, "CCAAT": 0, "GC": 0}
    if not tata:
        s, e = w.put(tss, strand, r - 300, island)
        w.truth.append(("cpg_island", name, s, e, strand, "CpG_island"))
        w.n_islands += 1
    if tata:
        start = int(rng.integers(-34, -31))  # the 8-mer starts at -34..-32: centre -30.5..-28.5
        s, e = w.put(tss, strand, r + start, _sample_pwm(rng, PWMS["TATA_like"], 1)[0])
        w.truth.append(("tata", "TATA_like", s, e, strand, name))
    n_gc = int(rng.integers(1, 3)) if rng.random() < (0.1 if tata else 0.8) else 0
    for j, lo, hi in ((0, -200, -150), (1, -145, -115))[:n_gc]:
        start = int(rng.integers(lo, hi))
        s, e = w.put(tss, strand, r + start, _sample_pwm(rng, _GCBOX, 1)[0])
        w.truth.append(("gc_box", f"GC_box_{j + 1}", s, e, strand, name))
        flags["GC"] = 1
    if rng.random() < 0.3:
        start = int(rng.integers(-100, -75))
        s, e = w.put(tss, strand, r + start, _sample_pwm(rng, _CCAAT, 1)[0])
        w.truth.append(("ccaat_box", "CCAAT_box", s, e, strand, name))
        flags["CCAAT"] = 1
    if rng.random() < 0.75:
        s, e = w.put(tss, strand, r - _INR_A, _sample_pwm(rng, _INR, 1)[0])
        w.truth.append(("inr", "Inr", s, e, strand, name))
        flags["Inr"] = 1
    return flags


def _peaks(rng: np.random.Generator, w: _World, scale: float, verbose: bool) -> None:
    """Choose peak summits away from N, promoters, exons and each other; plant motifs."""
    total = len(w.codes)
    occ = w.occupied
    w.peak_mask = np.zeros(total, dtype=bool)
    for exp, spec in w.preset.peaks.items():
        pwm = PWMS[spec.motif]
        width = pwm.shape[0]
        n = max(20, int(round(spec.n * scale)))
        rows = []
        for i in tqdm(range(n), desc=exp, disable=not verbose):
            for _attempt in range(10_000):
                s = int(rng.integers(PEAK_HALF, total - PEAK_HALF))
                if not occ[s - PEAK_HALF : s + PEAK_HALF].any():
                    break
            else:
                raise ValueError(f"no room left for peaks of {exp}; increase `scale`")
            occ[s - PEAK_HALF : s + PEAK_HALF] = True
            w.peak_mask[s - PEAK_HALF : s + PEAK_HALF] = True
            c = int(w.chrom_of(s))
            has = bool(rng.random() < spec.motif_fraction)
            score = 0.0
            site = None
            if has:
                inst = _sample_pwm(rng, pwm, 1)[0]
                strand = "+" if rng.random() < 0.5 else "-"
                centre = s + int(rng.integers(-spec.jitter, spec.jitter + 1))
                start = centre - width // 2
                w.codes[start : start + width] = inst if strand == "+" else _revcomp(inst)
                w.lower[start : start + width] = False
                score = _log_odds(pwm, inst)
                feature = f"{exp}:{i + 1}"
                w.truth.append(("motif", spec.motif, start, start + width, strand, feature))
                site = {
                    "motif": spec.motif,
                    "exp": exp,
                    "start": start,
                    "strand": strand,
                    "inst": inst,
                    "summit": s,
                    "low_quality": spec.low_quality,
                }
                w.motif_sites.append(site)
            left = int(rng.integers(*spec.half_width))
            right = int(rng.integers(*spec.half_width))
            if spec.low_quality:
                signal = float(rng.lognormal(np.log(spec.signal), 0.4))
            else:
                base = spec.signal * (
                    0.4 + 0.6 * max(score, 0.0) / max(np.log2(pwm.max(1) / 0.25).sum(), 1)
                )
                signal = float(rng.lognormal(np.log(base if has else spec.signal * 0.3), 0.35))
            rows.append(
                {
                    "chrom": c,
                    "start": s - left,
                    "end": s + right + 1,
                    "summit": s,
                    "signal": signal,
                    "site": site,
                }
            )
        w.peaks[exp] = rows


def _gene_context(w: _World, g: np.ndarray) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Nearest gene (name:id), in-exon flag and in-gene flag for global positions ``g``."""
    starts = np.array([gn.start for gn in w.genes])
    ends = np.array([gn.end for gn in w.genes])
    mids = (starts + ends) // 2
    j = np.clip(np.searchsorted(mids, g), 1, len(mids) - 1)
    j = np.where(np.abs(mids[j - 1] - g) < np.abs(mids[j] - g), j - 1, j)
    info = [f"{w.genes[k].name}:{w.genes[k].numeric_id}" for k in j]
    in_gene = (g >= starts[j]) & (g < ends[j])
    return info, w.exon_mask[g], in_gene


# --------------------------------------------------------------------------------------------
# Variants
# --------------------------------------------------------------------------------------------
_REVSTAT_STRONG = (
    "criteria_provided,_multiple_submitters,_no_conflicts",
    "reviewed_by_expert_panel",
    "criteria_provided,_single_submitter",
)
_DISEASES = (
    ("Inborn_genetic_diseases", "MeSH:D030342,MedGen:C0950123"),
    ("not_provided", "MedGen:CN517202"),
    ("Hereditary_cancer-predisposing_syndrome", "MONDO:MONDO:0015356,MedGen:C0027672"),
    ("Demo_regulatory_disorder", "MedGen:C9999901"),
)
_ELSEWHERE = (
    (
        "Uncertain_significance",
        40,
        ("criteria_provided,_single_submitter", "no_assertion_criteria_provided"),
    ),
    (
        "Conflicting_interpretations_of_pathogenicity",
        10,
        ("criteria_provided,_conflicting_interpretations",),
    ),
    (
        "Conflicting_classifications_of_pathogenicity",
        10,
        ("criteria_provided,_conflicting_classifications",),
    ),
    ("Pathogenic|risk_factor", 5, ("criteria_provided,_single_submitter",)),
    ("Benign/Likely_benign", 20, ("criteria_provided,_multiple_submitters,_no_conflicts",)),
)


def _clinvar(rng: np.random.Generator, w: _World, scale: float) -> list[dict]:
    """ClinVar-style records (global 0-based positions), pathogenic ones in motif cores."""
    p = w.preset
    total = len(w.codes)
    recs: list[dict] = []
    used = set()
    sites = [s for s in w.motif_sites if not s["low_quality"]]
    n_path = min(len(sites), max(3, int(round(p.n_pathogenic * scale))))
    for k in rng.permutation(len(sites)):
        if sum(r["cls"] == "pathogenic" for r in recs) >= n_path:
            break
        site = sites[k]
        pwm = PWMS[site["motif"]]
        cons = pwm.argmax(axis=1)
        core = np.flatnonzero((pwm.max(axis=1) >= 0.85) & (site["inst"] == cons))
        if core.size == 0:
            continue
        j = int(rng.choice(core))
        alt_m = int(np.argmin(pwm[j]))
        width = pwm.shape[0]
        if site["strand"] == "+":
            g, ref, alt = site["start"] + j, int(cons[j]), alt_m
        else:
            g, ref, alt = site["start"] + width - 1 - j, 3 - int(cons[j]), 3 - alt_m
        if w.codes[g] != ref:  # planted motifs are never overwritten; guard the invariant
            raise RuntimeError(f"planted {site['motif']} base at {g} was overwritten")
        sig = str(
            rng.choice(
                ["Pathogenic", "Likely_pathogenic", "Pathogenic/Likely_pathogenic"],
                p=[0.5, 0.25, 0.25],
            )
        )
        recs.append(
            {
                "g": g,
                "ref": BASES[ref],
                "alt": BASES[alt],
                "clnsig": sig,
                "cls": "pathogenic",
                "revstat": str(rng.choice(_REVSTAT_STRONG)),
                "feature": f"{site['motif']}:{site['exp']}:col{j + 1}",
            }
        )
        used.add(g)
    # Benign: within +-50 bp of a motif-carrying summit, >= BENIGN_MIN_DIST from every motif.
    near = np.zeros(total, dtype=bool)
    for s in w.motif_sites:
        width = PWMS[s["motif"]].shape[0]
        near[
            max(0, s["start"] - BENIGN_MIN_DIST + 1) : s["start"] + width + BENIGN_MIN_DIST - 1
        ] = True
    n_ben = max(6, int(round(p.n_benign * scale)))
    for k in rng.permutation(len(sites)):
        if sum(r["cls"] == "benign" for r in recs) >= n_ben:
            break
        summit = sites[k]["summit"]
        cand = summit + np.arange(-50, 51)
        cand = cand[~near[cand] & (w.codes[cand] != _N)]
        cand = np.array([c for c in cand if int(c) not in used])
        if cand.size == 0:
            continue
        g = int(rng.choice(cand))
        ref = int(w.codes[g])
        alt = int((ref + rng.integers(1, 4)) % 4)
        recs.append(
            {
                "g": g,
                "ref": BASES[ref],
                "alt": BASES[alt],
                "clnsig": str(rng.choice(["Benign", "Likely_benign"])),
                "cls": "benign",
                "revstat": str(rng.choice(_REVSTAT_STRONG)),
                "feature": "peak_window",
            }
        )
        used.add(g)
    # Elsewhere: away from every peak window.
    for sig, n, revstats in _ELSEWHERE:
        m = max(2, int(round(n * scale)))
        got = 0
        while got < m:
            g = int(rng.integers(0, total - 10))
            if w.peak_mask[g] or w.codes[g] == _N or g in used:
                continue
            ref = int(w.codes[g])
            rec = {
                "g": g,
                "ref": BASES[ref],
                "clnsig": sig,
                "cls": "other",
                "revstat": str(rng.choice(revstats)),
                "feature": "elsewhere",
            }
            if sig == "Uncertain_significance" and got < 2:  # a couple of small deletions
                seq = w.codes[g : g + 3]
                if (seq == _N).any() or w.chrom_of(g) != w.chrom_of(g + 2):
                    continue
                rec["ref"] = "".join(BASES[x] for x in seq)
                rec["alt"] = BASES[ref]
            else:
                rec["alt"] = BASES[int((ref + rng.integers(1, 4)) % 4)]
            recs.append(rec)
            used.add(g)
            got += 1
    recs.sort(key=lambda r: r["g"])
    vids = 10_000 + np.cumsum(rng.integers(1, 5000, size=len(recs)))
    order = rng.permutation(len(recs))  # VariationIDs are not in genome order
    for r, k in zip(recs, order, strict=True):
        r["vid"] = int(vids[k])
        r["alleleid"] = int(vids[k]) + 12_345
        dis = _DISEASES[int(rng.integers(len(_DISEASES)))]
        r["clndn"], r["clndisdb"] = dis
        r["has_rs"] = bool(rng.random() < 0.9)
    return recs


def _dbsnp(rng: np.random.Generator, w: _World, clin: list[dict]) -> tuple[list[dict], list[tuple]]:
    """dbSNP-style records: ~1 per 200 bp, denser in peak windows, plus ClinVar's rs records."""
    total = len(w.codes)
    non_n = np.flatnonzero(w.codes != _N)
    bg = non_n[rng.integers(0, len(non_n), size=len(non_n) // 200)]
    summits = np.array([r["summit"] for rows in w.peaks.values() for r in rows], dtype=np.int64)
    extra = (summits[:, None] + rng.integers(-100, 101, size=(len(summits), 6))).reshape(-1)
    extra = extra[w.codes[extra] != _N]
    clin_g = {r["g"]: r for r in clin if r["has_rs"] and len(r["ref"]) == 1}
    pos = np.unique(np.concatenate([bg, extra, np.array(sorted(clin_g), dtype=np.int64)]))
    pos = pos[pos < total - 10]
    kind = rng.random(len(pos))
    rs = 100_000 + np.cumsum(rng.integers(1, 3000, size=len(pos)))
    rs = rs[rng.permutation(len(pos))]
    af = rng.beta(0.4, 4.0, size=len(pos))
    recs: list[dict] = []
    mism: list[tuple] = []
    for i, g in enumerate(pos):
        g = int(g)
        ref_code = int(w.codes[g])
        rec = {"g": g, "rs": int(rs[i]), "af": float(af[i])}
        if g in clin_g:
            cr = clin_g[g]
            rec.update(ref=cr["ref"], alts=[cr["alt"]], vc="SNV")
            cr["rs"] = rec["rs"]
        elif kind[i] < 0.07 or kind[i] >= 0.95:  # deletion / insertion with an anchor base
            dl = int(rng.integers(1, 6))
            seq = w.codes[g : g + dl + 1]
            if kind[i] < 0.07 and not (seq == _N).any() and w.chrom_of(g) == w.chrom_of(g + dl):
                rec.update(ref="".join(BASES[x] for x in seq), alts=[BASES[ref_code]], vc="DEL")
            else:
                ins = "".join(BASES[x] for x in rng.integers(0, 4, size=dl))
                rec.update(ref=BASES[ref_code], alts=[BASES[ref_code] + ins], vc="INS")
        else:
            others = [b for b in range(4) if b != ref_code]
            n_alt = 2 if kind[i] > 0.87 else 1
            alts = sorted(int(x) for x in rng.choice(others, size=n_alt, replace=False))
            rec.update(ref=BASES[ref_code], alts=[BASES[a] for a in alts], vc="SNV")
        recs.append(rec)
    # A few deliberate REF mismatches (a real dbSNP has strand/ref errors).
    snv = [
        i
        for i, r in enumerate(recs)
        if r["vc"] == "SNV" and len(r["alts"]) == 1 and r["g"] not in clin_g
    ]
    for i in rng.choice(snv, size=min(4, len(snv)), replace=False):
        r = recs[int(i)]
        genome = r["ref"]
        wrong = BASES[(BASES.index(genome) + int(rng.integers(1, 4))) % 4]
        r["ref"] = wrong
        r["alts"] = [genome]  # REF/ALT swapped, a classic submission error
        mism.append(
            (
                "ref_mismatch",
                f"rs{r['rs']}",
                r["g"],
                r["g"] + 1,
                ".",
                f"VCF_REF={wrong};genome={genome}",
            )
        )
    return recs, mism


# --------------------------------------------------------------------------------------------
# Writers
# --------------------------------------------------------------------------------------------
def _gzip_bytes(path: Path, data: bytes) -> None:
    """Plain gzip with mtime 0 and no embedded file name (byte-identical reruns)."""
    with (
        open(path, "wb") as raw,
        gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=6) as gz,
    ):
        gz.write(data)


def _write_fasta(path: Path, w: _World) -> None:
    buf = io.BytesIO()
    for c, name in enumerate(w.names):
        a, b = int(w.offsets[c]), int(w.offsets[c + 1])
        chars = np.where(w.lower[a:b], _LOWER[w.codes[a:b]], _UPPER[w.codes[a:b]])
        n_full = len(chars) // 60
        block = np.empty((n_full, 61), dtype=np.uint8)
        block[:, :60] = chars[: n_full * 60].reshape(n_full, 60)
        block[:, 60] = 10
        buf.write(f">{name}\n".encode())
        buf.write(block.tobytes())
        if len(chars) % 60:
            buf.write(chars[n_full * 60 :].tobytes() + b"\n")
    _gzip_bytes(path, buf.getvalue())


def _write_report(path: Path, w: _World) -> None:
    p = w.preset
    lines = [
        f"# Assembly name:  {p.assembly}",
        f"# Organism name:  {p.organism}",
        f"# Taxid:          {p.taxid}",
        "# BioProject:     none (simulated by dnalm.simulate)",
        "# Assembly type:  haploid",
        "# Release type:   major",
        "# Assembly level: Chromosome",
        "# Genome representation: full",
        "#",
        "## Assembly-Units:",
        "## GenBank Unit Accession\tRefSeq Unit Accession\tAssembly-Unit name",
        "## GCA_000000000.1\tGCF_000000000.1\tPrimary Assembly",
        "## GCA_000000001.1\tGCF_000000001.1\tPATCHES",
        "#",
        "# Ordered by chromosome/plasmid; the chromosomes/plasmids are followed by",
        "# unlocalized scaffolds.",
        "# Unplaced scaffolds are listed at the end.",
        "# RefSeq is equal or derived from GenBank object.",
        "#",
        "# Sequence-Name\tSequence-Role\tAssigned-Molecule\tAssigned-Molecule-Location/Type\t"
        "GenBank-Accn\tRelationship\tRefSeq-Accn\tAssembly-Unit\tSequence-Length\tUCSC-style-name",
    ]
    for c, ch in enumerate(p.chroms):
        lines.append(
            "\t".join(
                [
                    ch.name,
                    "assembled-molecule",
                    ch.name,
                    "Chromosome",
                    ch.genbank,
                    "=",
                    ch.refseq,
                    "Primary Assembly",
                    str(int(w.lengths[c])),
                    ch.ucsc,
                ]
            )
        )
    pname, mol, gb, rs, plen = p.patch
    lines.append(
        "\t".join([pname, "fix-patch", mol, "Chromosome", gb, "=", rs, "PATCHES", str(plen), "na"])
    )
    path.write_text("\n".join(lines) + "\n")


def _local(w: _World, g: int) -> tuple[str, int]:
    c = int(w.chrom_of(g))
    return w.names[c], g - int(w.offsets[c])


def _write_epd(bed: Path, motifs: Path, w: _World) -> None:
    rows = []
    for pr in w.promoters:
        chrom, t0 = _local(w, pr["tss"])
        if pr["strand"] == "+":
            start, end = t0 - 49, t0 + 11
            ts, te = t0, end
        else:
            start, end = t0 - 10, t0 + 50
            ts, te = start, start + 11
        rows.append(
            (
                pr["chrom"],
                start,
                f"{chrom} {start} {end} {pr['name']} 900 {pr['strand']} {ts} {te}",
                pr,
            )
        )
    rows.sort(key=lambda r: (r[0], r[1]))
    bed.write_text("".join(r[2] + "\n" for r in rows))
    out = ["#Name\tTATA-box\tInr\tCCAAT-box\tGC-box"]
    for *_, pr in rows:
        out.append(f"{pr['name']}\t{pr['TATA']}\t{pr['Inr']}\t{pr['CCAAT']}\t{pr['GC']}")
    motifs.write_text("\n".join(out) + "\n")


def _write_gtf(path: Path, w: _World) -> None:
    lines = [
        "##description: dnalm simulated demo annotation (multi-exon protein-coding genes)",
        "##provider: dnalm.simulate",
        "##format: gtf",
        "##date: 2024-01-01",
    ]
    for gene in w.genes:
        chrom, gstart = _local(w, gene.start)
        gend = gstart + (gene.end - gene.start)
        common = (
            f'gene_id "{gene.gid}"; gene_type "protein_coding"; gene_name "{gene.name}"; level 2;'
        )
        lines.append(f"{chrom}\tdnalm\tgene\t{gstart + 1}\t{gend}\t.\t{gene.strand}\t.\t{common}")
        for tr in gene.transcripts:
            off = int(w.offsets[gene.chrom])
            ts, te = tr.exons[0][0] - off, tr.exons[-1][1] - off
            tattr = (
                f'gene_id "{gene.gid}"; transcript_id "{tr.tid}"; gene_type "protein_coding"; '
                f'gene_name "{gene.name}"; transcript_type "protein_coding"; level 2; tag "basic";'
            )
            lines.append(
                f"{chrom}\tdnalm\ttranscript\t{ts + 1}\t{te}\t.\t{gene.strand}\t.\t{tattr}"
            )
            exons = tr.exons if gene.strand == "+" else tr.exons[::-1]
            for k, (a, b) in enumerate(exons, start=1):
                eattr = (
                    f'gene_id "{gene.gid}"; transcript_id "{tr.tid}"; gene_type "protein_coding"; '
                    f'gene_name "{gene.name}"; exon_number {k}; exon_id "{tr.tid}.e{k}"; '
                    'level 2; tag "basic";'
                )
                lines.append(
                    f"{chrom}\tdnalm\texon\t{a - off + 1}\t{b - off}\t.\t{gene.strand}\t.\t{eattr}"
                )
    _gzip_bytes(path, ("\n".join(lines) + "\n").encode())


def _write_peaks(path: Path, rng: np.random.Generator, w: _World, exp: str) -> dict[str, int]:
    rows = w.peaks[exp]
    lines = []
    n_dup = 0
    for r in rows:
        chrom, start = _local(w, r["start"])
        end = start + (r["end"] - r["start"])
        offset = r["summit"] - r["start"]
        sig = r["signal"]
        pval = -1.0 if rng.random() < 0.08 else sig * 1.7 + rng.exponential(3.0)
        qval = max(sig * 1.5 - 2.0, 0.5) if pval != -1.0 else sig * 1.4
        score = int(min(1000, round(sig * 10)))
        lines.append(
            f"{chrom}\t{start}\t{end}\t.\t{score}\t.\t{sig:.12g}\t{pval:.12g}\t{qval:.12g}\t{offset}"
        )
        if rng.random() < 0.03:  # the same interval again with another summit (as ENCODE files)
            n_dup += 1
            shift = int(rng.integers(20, 80)) * (1 if rng.random() < 0.5 else -1)
            off2 = int(np.clip(offset + shift, 0, end - start - 1))
            if off2 == offset:
                off2 = (offset + 25) % (end - start)
            sig2 = sig * 0.6
            lines.append(
                f"{chrom}\t{start}\t{end}\t.\t{int(min(1000, round(sig2 * 10)))}\t.\t{sig2:.12g}\t"
                f"{max(sig2 * 1.7, 1.0):.12g}\t{max(sig2 * 1.5 - 2.0, 0.5):.12g}\t{off2}"
            )
    if n_dup == 0 and rows:  # always at least one duplicate interval
        n_dup = 1
        f = lines[0].split("\t")
        f[9] = str((int(f[9]) + 30) % (int(f[2]) - int(f[1])))
        lines.append("\t".join(f))
    for _ in range(3):  # a contig that is not in the genome
        s = int(rng.integers(1000, 170_000))
        lines.append(
            f"chrEBV\t{s}\t{s + 300}\t.\t{int(rng.integers(50, 400))}\t.\t{rng.uniform(3, 20):.12g}\t-1\t"
            f"{rng.uniform(1, 5):.12g}\t150"
        )
    order = rng.permutation(len(lines))
    _gzip_bytes(path, "".join(lines[i] + "\n" for i in order).encode())
    return {
        "rows": len(lines),
        "peaks": len(rows),
        "duplicates": n_dup,
        "chrEBV": 3,
        "with_motif": sum(r["site"] is not None for r in rows),
    }


def _bgzip_tabix(path: Path, text: str) -> None:
    import pysam

    plain = path.with_name(path.name[: -len(".gz")])
    plain.write_text(text)
    pysam.tabix_compress(str(plain), str(path), force=True)
    plain.unlink()
    pysam.tabix_index(str(path), preset="vcf", force=True)


def _freq(rng: np.random.Generator, af: float, n_alt: int) -> tuple[str, bool]:
    pops = []
    for pop in ("GnomAD", "TOPMED", "dbGaP_PopFreq"):
        if rng.random() < 0.7:
            a = float(np.clip(af * rng.uniform(0.7, 1.3), 0.0, 0.999))
            if n_alt == 1:
                vals = [f"{1 - a:.4g}", f"{a:.4g}"]
            else:
                vals = [
                    f"{1 - a:.4g}",
                    f"{a * 0.8:.4g}",
                    "." if rng.random() < 0.5 else f"{a * 0.2:.4g}",
                ]
            pops.append(f"{pop}:{','.join(vals)}")
    if not pops:
        pops.append(f"GnomAD:{1 - af:.4g},{af:.4g}" + (",." if n_alt == 2 else ""))
    return "|".join(pops), af >= 0.01


def _write_dbsnp(path: Path, rng: np.random.Generator, w: _World, recs: list[dict]) -> None:
    p = w.preset
    head = [
        "##fileformat=VCFv4.2",
        "##fileDate=20240101",
        "##source=dbSNP",
        "##dbSNP_BUILD_ID=155",
        f"##reference={p.assembly}",
        "##phasing=unphased",
        '##INFO=<ID=RS,Number=1,Type=Integer,Description="dbSNP ID (i.e. rs number)">',
        '##INFO=<ID=GENEINFO,Number=1,Type=String,Description="Pairs each of gene symbol:gene id.">',
        '##INFO=<ID=dbSNPBuildID,Number=1,Type=Integer,Description="First dbSNP Build for RS">',
        '##INFO=<ID=SSR,Number=1,Type=Integer,Description="Variant Suspect Reason Codes">',
        '##INFO=<ID=VC,Number=1,Type=String,Description="Variation Class">',
        '##INFO=<ID=FREQ,Number=.,Type=String,Description="An ordered list of allele frequencies '
        'as reported by various genomic studies, REF first, | between studies">',
        '##INFO=<ID=COMMON,Number=0,Type=Flag,Description="RS is a common SNP (MAF >= 0.01 in at '
        'least one study)">',
    ]
    head += [
        f"##contig=<ID={ch.refseq},length={int(w.lengths[c])}>" for c, ch in enumerate(p.chroms)
    ]
    head.append("#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO")
    g = np.array([r["g"] for r in recs], dtype=np.int64)
    info, _, in_gene = _gene_context(w, g)
    chroms = w.chrom_of(g)
    out = []
    for i, r in enumerate(recs):
        c = int(chroms[i])
        fields = [f"RS={r['rs']}", f"dbSNPBuildID={int(rng.integers(125, 156))}", "SSR=0"]
        if in_gene[i]:
            fields.append(f"GENEINFO={info[i]}")
        fields.append(f"VC={r['vc']}")
        freq, common = _freq(rng, r["af"], len(r["alts"]))
        fields.append(f"FREQ={freq}")
        if common:
            fields.append("COMMON")
        out.append(
            f"{p.chroms[c].refseq}\t{r['g'] - int(w.offsets[c]) + 1}\trs{r['rs']}\t{r['ref']}\t"
            f"{','.join(r['alts'])}\t.\t.\t{';'.join(fields)}"
        )
    _bgzip_tabix(path, "\n".join(head + out) + "\n")


def _write_clinvar(path: Path, w: _World, recs: list[dict]) -> None:
    p = w.preset
    head = [
        "##fileformat=VCFv4.1",
        "##fileDate=2024-01-01",
        "##source=ClinVar",
        f"##reference={p.assembly}",
        '##ID=<Description="ClinVar Variation ID">',
        '##INFO=<ID=ALLELEID,Number=1,Type=Integer,Description="the ClinVar Allele ID">',
        "##INFO=<ID=CLNDN,Number=.,Type=String,Description=\"ClinVar's preferred disease name for "
        'the concept specified by disease identifiers in CLNDISDB">',
        '##INFO=<ID=CLNDISDB,Number=.,Type=String,Description="Tag-value pairs of disease database '
        'name and identifier submitted for germline classifications">',
        '##INFO=<ID=CLNHGVS,Number=.,Type=String,Description="Top-level (primary assembly, alt, or '
        'patch) HGVS expression.">',
        '##INFO=<ID=CLNREVSTAT,Number=.,Type=String,Description="ClinVar review status of germline '
        'classification for the Variation ID">',
        '##INFO=<ID=CLNSIG,Number=.,Type=String,Description="Aggregate germline classification for '
        'this single variant">',
        '##INFO=<ID=CLNVC,Number=1,Type=String,Description="Variant type">',
        '##INFO=<ID=CLNVCSO,Number=1,Type=String,Description="Sequence Ontology id for variant type">',
        '##INFO=<ID=GENEINFO,Number=1,Type=String,Description="Gene(s) for the variant reported as '
        'gene symbol:gene id.">',
        '##INFO=<ID=MC,Number=.,Type=String,Description="comma separated list of molecular '
        'consequence in the form of Sequence Ontology ID|molecular_consequence">',
        '##INFO=<ID=ORIGIN,Number=.,Type=String,Description="Allele origin. 1-germline">',
        '##INFO=<ID=RS,Number=.,Type=String,Description="dbSNP ID (i.e. rs number)">',
    ]
    head += [f"##contig=<ID={ch.name},length={int(w.lengths[c])}>" for c, ch in enumerate(p.chroms)]
    head.append("#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO")
    g = np.array([r["g"] for r in recs], dtype=np.int64)
    info, in_exon, in_gene = _gene_context(w, g)
    chroms = w.chrom_of(g)
    out = []
    for i, r in enumerate(recs):
        c = int(chroms[i])
        ch = p.chroms[c]
        pos = r["g"] - int(w.offsets[c]) + 1
        if len(r["ref"]) > 1:
            hgvs = f"{ch.refseq}:g.{pos + 1}_{pos + len(r['ref']) - 1}del"
            vc, vcso = "Deletion", "SO:0000159"
        else:
            hgvs = f"{ch.refseq}:g.{pos}{r['ref']}>{r['alt']}"
            vc, vcso = "single_nucleotide_variant", "SO:0001483"
        fields = [
            f"ALLELEID={r['alleleid']}",
            f"CLNDISDB={r['clndisdb']}",
            f"CLNDN={r['clndn']}",
            f"CLNHGVS={hgvs}",
            f"CLNREVSTAT={r['revstat']}",
            f"CLNSIG={r['clnsig']}",
            f"CLNVC={vc}",
            f"CLNVCSO={vcso}",
            f"GENEINFO={info[i]}",
        ]
        if in_exon[i]:
            fields.append("MC=SO:0001583|missense_variant")
        elif in_gene[i]:
            fields.append("MC=SO:0001627|intron_variant")
        fields.append("ORIGIN=1")
        if r.get("rs"):
            fields.append(f"RS={r['rs']}")
        out.append(
            f"{ch.name}\t{pos}\t{r['vid']}\t{r['ref']}\t{r['alt']}\t.\t.\t{';'.join(fields)}"
        )
    _bgzip_tabix(path, "\n".join(head + out) + "\n")


def _write_truth(tdir: Path, w: _World, clin: list[dict], mism: list[tuple]) -> list[tuple]:
    rows = list(w.truth) + list(mism)
    for r in clin:
        if r["cls"] in ("pathogenic", "benign"):
            feat = f"{r['clnsig']}:{r['ref']}>{r['alt']}:{r['feature']}"
            rows.append((r["cls"], str(r["vid"]), r["g"], r["g"] + len(r["ref"]), ".", feat))
    rows.sort(key=lambda t: (t[2], t[0], t[1]))
    lines = ["kind\tname\tcontig\tstart\tend\tstrand\tfeature"]
    for kind, name, s, e, strand, feat in rows:
        chrom, ls = _local(w, s)
        lines.append(f"{kind}\t{name}\t{chrom}\t{ls}\t{ls + (e - s)}\t{strand}\t{feat}")
    (tdir / "positions.tsv").write_text("\n".join(lines) + "\n")
    counts: dict[str, int] = {}
    for m in MOTIF_NAMES:
        counts[m] = sum(1 for r in rows if r[0] in ("motif", "tata") and r[1] == m)
    planted = {m: PWMS[m] for m in MOTIF_NAMES if counts[m] > 0}
    write_meme(tdir / "motifs.meme", planted, nsites=counts, background=_stationary(w.preset))
    return rows


def _stationary(p: Preset) -> np.ndarray:
    gc = p.gc
    return np.array([(1 - gc) / 2, gc / 2, gc / 2, (1 - gc) / 2])


def _summary(
    w: _World,
    rows: list[tuple],
    peak_stats: dict,
    clin: list[dict],
    n_dbsnp: int,
    preset: str,
    seed: int,
    scale: float,
) -> dict:
    acgt = w.codes[w.codes != _N]
    gc = float(np.isin(acgt, (1, 2)).mean())
    c_cnt, g_cnt = int((acgt == 1).sum()), int((acgt == 2).sum())
    cg = int(((w.codes[:-1] == 1) & (w.codes[1:] == 2)).sum())
    cpg_oe = cg * len(acgt) / max(c_cnt * g_cnt, 1)
    kinds: dict[str, int] = {}
    for r in rows:
        kinds[r[0]] = kinds.get(r[0], 0) + 1
    clnsig: dict[str, int] = {}
    for r in clin:
        clnsig[r["clnsig"]] = clnsig.get(r["clnsig"], 0) + 1
    return {
        "generator": "dnalm.simulate",
        "preset": preset,
        "seed": seed,
        "scale": scale,
        "coordinates": "positions.tsv: 0-based half-open, UCSC contig names",
        "contigs": {n: int(length) for n, length in zip(w.names, w.lengths, strict=True)},
        "genome_length": int(len(w.codes)),
        "n_count": int((w.codes == _N).sum()),
        "softmasked_fraction": float(w.lower.mean()),
        "gc_fraction": gc,
        "cpg_observed_expected": cpg_oe,
        "genes": len(w.genes),
        "transcripts": sum(len(g.transcripts) for g in w.genes),
        "promoters": len(w.promoters),
        "tata_promoters": sum(p["TATA"] for p in w.promoters),
        "cpg_islands": w.n_islands,
        "truth_rows": kinds,
        "peaks": peak_stats,
        "dbsnp_records": n_dbsnp,
        "clinvar_records": len(clin),
        "clinvar_clnsig": clnsig,
        "motifs": {m: list(PWMS[m].shape) for m in MOTIF_NAMES},
    }


# --------------------------------------------------------------------------------------------
# Public entry point
# --------------------------------------------------------------------------------------------
def simulate_world(
    out_dir: str | Path,
    preset: str = "human",
    seed: int = 7,
    scale: float = 1.0,
    verbose: bool = False,
) -> dict[str, Path]:
    """Simulate a demo world and write its files under ``out_dir``.

    Parameters
    ----------
    out_dir : str or pathlib.Path
        World directory (``resources/demo/<world>``); created if needed. Files are written to a
        temporary directory inside it and moved into place only when all succeeded.
    preset : {"human", "mouse"}
        Background model, chromosomes, repeat families and experiments. Default is "human".
    seed : int
        Seed of ``numpy.random.default_rng``; same arguments, byte-identical files. Default is 7.
    scale : float
        Multiplies chromosome lengths and feature counts (0.05..10). Default is 1.0.
    verbose : bool
        Show tqdm progress. Default is False.

    Returns
    -------
    dict of str to pathlib.Path
        Relative file name (see ``output_files(preset)``) to the written path.
    """
    if preset not in PRESETS:
        raise ValueError(f"`preset` must be one of {sorted(PRESETS)}, got {preset!r}")
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ValueError(f"`seed` must be a non-negative integer, got {seed!r}")
    if not isinstance(scale, int | float) or not MIN_SCALE <= float(scale) <= MAX_SCALE:
        raise ValueError(f"`scale` must be a number in [{MIN_SCALE}, {MAX_SCALE}], got {scale!r}")
    scale = float(scale)
    p = PRESETS[preset]
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(int(seed))
    log.info("simulating %s world (seed %d, scale %g) into %s", preset, seed, scale, out_dir)
    w = _background(rng, p, scale)
    _repeats(rng, w)
    _genes(rng, w, scale, verbose)
    _peaks(rng, w, scale, verbose)
    clin = _clinvar(rng, w, scale)
    snps, mism = _dbsnp(rng, w, clin)
    tmp = Path(tempfile.mkdtemp(prefix=".simulate-", dir=out_dir))
    try:
        (tmp / "peaks").mkdir()
        (tmp / "truth").mkdir()
        _write_fasta(tmp / "genome.fa.gz", w)
        _write_report(tmp / "assembly_report.txt", w)
        _write_epd(tmp / "epd.bed", tmp / "promoter_motifs.txt", w)
        _write_gtf(tmp / "genes.gtf.gz", w)
        peak_stats = {
            e: _write_peaks(tmp / "peaks" / f"{e}.narrowPeak.gz", rng, w, e) for e in p.peaks
        }
        _write_dbsnp(tmp / "dbsnp.vcf.gz", rng, w, snps)
        _write_clinvar(tmp / "clinvar.vcf.gz", w, clin)
        rows = _write_truth(tmp / "truth", w, clin, mism)
        summary = _summary(w, rows, peak_stats, clin, len(snps), preset, int(seed), scale)
        (tmp / "truth" / "summary.json").write_text(
            json.dumps(summary, indent=2, sort_keys=True) + "\n"
        )
        written = {}
        for rel in output_files(preset):
            dest = out_dir / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            os.replace(tmp / rel, dest)
            written[rel] = dest
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    log.info(
        "wrote %d files: %d genes, %d promoters, %s",
        len(written),
        summary["genes"],
        summary["promoters"],
        {e: s["peaks"] for e, s in peak_stats.items()},
    )
    return written
