"""Simulator internals: base-code sampling primitives and the world under construction.

Codes follow ``dnalm.kmers`` (A=0, T=1, C=2, G=3, N=4); reverse complements use
``dnalm.seq.revcomp_codes``. Global coordinates run over the chromosomes laid end to end.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from dnalm.seq import revcomp_codes
from dnalm.sim.presets import A, C, G, PeakSpec, Preset, T

__all__ = [
    "transition_matrix",
    "markov",
    "sample_pwm",
    "log_odds",
    "stationary",
    "span",
    "Transcript",
    "Gene",
    "World",
]


def stationary(gc: float) -> np.ndarray:
    """Base composition with GC share ``gc``, shape=(4,) in code order (A, T, C, G)."""
    pi = np.empty(4)
    pi[[A, T]] = (1 - gc) / 2
    pi[[C, G]] = gc / 2
    return pi


def transition_matrix(gc: float, cpg_oe: float) -> np.ndarray:
    """First-order Markov transitions (4, 4) with base composition ``gc`` and CpG o/e ``cpg_oe``.

    Dinucleotide weights are scaled to the product of base frequencies, then fitted by
    iterative proportional fitting so that rows and columns sum to the base frequencies; the
    chain's stationary distribution is therefore the target composition.
    """
    pi = stationary(gc)
    w = np.ones((4, 4))
    w[C, G] = cpg_oe
    comp = 1.0 + 0.5 * (1.0 - cpg_oe)  # CpG deamination leaves TpG / CpA in excess
    w[T, G] = comp
    w[C, A] = comp
    joint = np.outer(pi, pi) * w
    for _ in range(200):
        joint *= (pi / joint.sum(axis=1))[:, None]
        joint *= (pi / joint.sum(axis=0))[None, :]
    return joint / joint.sum(axis=1, keepdims=True)


def markov(rng: np.random.Generator, n: int, trans: np.ndarray, n_chains: int = 2048) -> np.ndarray:
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


def sample_pwm(rng: np.random.Generator, pwm: np.ndarray, n: int) -> np.ndarray:
    """Draw ``n`` instances of a PWM, shape=(n, w) uint8 codes."""
    cum = np.cumsum(pwm, axis=1)
    cum[:, -1] = 1.0
    u = rng.random((n, pwm.shape[0]))
    return (u[:, :, None] >= cum[None, :, :]).sum(axis=2).astype(np.uint8)


def log_odds(pwm: np.ndarray, inst: np.ndarray) -> float:
    """Log2-odds of one instance, codes shape=(w,) in motif orientation, vs a uniform background."""
    return float(np.log2(pwm[np.arange(len(inst)), inst] / 0.25).sum())


# --------------------------------------------------------------------------------------------
# The world under construction
# --------------------------------------------------------------------------------------------
@dataclass
class Transcript:
    tid: str
    exons: list[tuple[int, int]]  # global 0-based half-open, ascending coordinates
    tss: int  # global 0-based position of the first transcribed base


@dataclass
class Gene:
    gid: str
    name: str
    numeric_id: int
    strand: str
    chrom: int
    transcripts: list[Transcript]

    @property
    def start(self) -> int:
        return min(e[0] for t in self.transcripts for e in t.exons)

    @property
    def end(self) -> int:
        return max(e[1] for t in self.transcripts for e in t.exons)


@dataclass
class World:
    preset: Preset
    names: list[str]  # UCSC names
    lengths: np.ndarray  # (n_chrom,) int64
    offsets: np.ndarray  # (n_chrom + 1,) global start of each chromosome
    codes: np.ndarray  # (G,) uint8
    lower: np.ndarray  # (G,) bool, soft-masked
    occupied: np.ndarray  # (G,) bool, reserved for planted features (peaks avoid it)
    experiments: dict[str, PeakSpec] = field(default_factory=dict)  # the world's peak files
    genes: list[Gene] = field(default_factory=list)
    promoters: list[dict] = field(default_factory=list)
    truth: list[tuple] = field(default_factory=list)  # (kind, name, gstart, gend, strand, feature)
    peaks: dict[str, list[dict]] = field(default_factory=dict)
    motif_sites: list[dict] = field(default_factory=list)
    exon_mask: np.ndarray | None = None
    peak_mask: np.ndarray | None = None  # (G,) bool, summit +- PEAK_HALF of every peak
    n_islands: int = 0

    def chrom_of(self, g: np.ndarray | int) -> np.ndarray:
        """Chromosome index of global position(s) ``g``."""
        return np.searchsorted(self.offsets, g, side="right") - 1

    def local(self, g: int) -> tuple[str, int]:
        """(UCSC name, 0-based position on it) of global position ``g``."""
        c = int(self.chrom_of(g))
        return self.names[c], g - int(self.offsets[c])

    def put(self, tss: int, strand: str, rel0: int, seq: np.ndarray) -> tuple[int, int]:
        """Write ``seq`` (transcript orientation) at relative offset ``rel0`` from ``tss``.

        Returns the global half-open span written. Written bases are upper-case.
        """
        start, end = span(tss, strand, rel0, rel0 + len(seq))
        self.codes[start:end] = seq if strand == "+" else revcomp_codes(seq)
        self.lower[start:end] = False
        return start, end


def span(tss: int, strand: str, r0: int, r1: int) -> tuple[int, int]:
    """Global half-open span of the transcript-relative span [r0, r1) of a TSS on ``strand``."""
    if strand == "+":
        return tss + r0, tss + r1
    return tss - r1 + 1, tss - r0 + 1
