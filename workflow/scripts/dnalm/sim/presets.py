"""Presets of the demo simulator: base codes, planted PWMs, repeat families, chromosomes, experiments.

Bases are the package's codes (``dnalm.kmers``: A=0, T=1, C=2, G=3, N=4). The public ``PWMS``
are probability matrices with columns A, C, G, T, as ``dnalm.meme`` reads and writes them; the
simulator samples and scores with ``CODE_PWMS``, the same matrices with columns in code order.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from dnalm import kmers, meme

__all__ = [
    "BASES",
    "A",
    "T",
    "C",
    "G",
    "N",
    "PWMS",
    "CODE_PWMS",
    "MOTIF_NAMES",
    "RepeatFamily",
    "PeakSpec",
    "Chrom",
    "Preset",
    "PRESETS",
    "NAME_RE",
]

BASES = kmers.ALPHABET + "N"  # code -> letter
A, T, C, G = (kmers.ALPHABET.index(b) for b in "ATCG")
N = 4
COMPLEMENT = np.array([BASES.index(b) for b in "TAGCN"], dtype=np.uint8)  # code -> its complement
# Columns of a code-order matrix taken from an A, C, G, T (MEME) matrix, and back.
_FROM_MEME = [meme.ALPHABET.index(b) for b in kmers.ALPHABET]
_TO_MEME = [kmers.ALPHABET.index(b) for b in meme.ALPHABET]
NAME_RE = re.compile(r"^[A-Za-z0-9_]+$")  # world and experiment names (paths, wildcards, rules)

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


def _pwm(spec: str) -> np.ndarray:
    """Code-order PWM (columns A, T, C, G) from one ``<IUPAC letter><percent>`` token per position.

    The percentage is spread evenly over the letters the code names and the rest evenly over
    the other letters ("R90" = A 0.45, G 0.45, C 0.05, T 0.05).
    """
    cols = spec.split()
    out = np.zeros((len(cols), 4))
    for i, tok in enumerate(cols):
        on = [BASES.index(b) for b in _IUPAC[tok[0]]]
        off = [j for j in range(4) if j not in on]
        p = int(tok[1:]) / 100.0
        out[i, on] = p / len(on)
        out[i, off] = (1.0 - p) / max(len(off), 1)
    return out


def to_meme(pwm: np.ndarray) -> np.ndarray:
    """Columns A, T, C, G (codes) -> A, C, G, T (MEME), shape=(w, 4)."""
    return np.asarray(pwm)[:, _TO_MEME]


def from_meme(pwm: np.ndarray) -> np.ndarray:
    """Columns A, C, G, T (MEME) -> A, T, C, G (codes), shape=(w, 4)."""
    return np.asarray(pwm)[:, _FROM_MEME]


_P53_HALF = "R92 R92 R90 C97 A85 T85 G97 Y90 Y92 Y92"
CODE_PWMS: dict[str, np.ndarray] = {
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
PWMS: dict[str, np.ndarray] = {name: to_meme(m) for name, m in CODE_PWMS.items()}
MOTIF_NAMES = tuple(PWMS)

# Promoter and splice elements (planted and listed in positions.tsv, not in motifs.meme).
INR = _pwm("Y90 Y90 A97 N100 W90 Y85 Y85")
INR_A = 2  # index of the +1 A inside the Inr
GCBOX = _pwm("G90 G92 G95 G95 C95 G95 G95 G90 C70")
CCAAT = _pwm("R80 R80 C95 C97 A97 A97 T97 S80 R70")
# Donor: exon ...MAG | GTRAGT... intron (columns -3..+6 around the exon end).
DONOR = _pwm("M80 A70 G85 G100 T100 R95 A70 G80 T50")
DONOR_EXON = 3
# Acceptor: polypyrimidine tract, YAG | G (columns -18..+1 around the exon start).
ACCEPTOR = _pwm("Y80 " * 15 + "Y85 A100 G100 G55")
ACCEPTOR_INTRON = 18
NONCANONICAL_DONOR = 0.01  # fraction of GC-AG introns, as in real genomes


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


# Config defaults of one experiment by quality (``simulate.<world>.peaks.<name>``).
_PEAK_DEFAULTS: dict[str, dict[str, Any]] = {
    "good": {
        "n": 1000,
        "motif_fraction": 0.9,
        "jitter": 5,
        "half_width": (100, 400),
        "signal": 60.0,
    },
    "low": {"n": 800, "motif_fraction": 0.2, "jitter": 80, "half_width": (150, 600), "signal": 8.0},
}
_PEAK_KEYS = ("motif", "quality", *_PEAK_DEFAULTS["good"])


@dataclass(frozen=True)
class PeakSpec:
    """One simulated ChIP-seq experiment.

    ``motif`` is a name in ``PWMS`` or None (no motif is planted). ``low_quality`` experiments
    have signal unrelated to the motif, and their motif instances carry no ClinVar variants.
    """

    motif: str | None
    n: int  # peaks at scale 1 (at least 20 at any scale)
    motif_fraction: float  # share of peaks with a planted motif instance
    jitter: int  # motif centre is within +- jitter bp of the summit
    half_width: tuple[int, int]  # peak start/end distances from the summit: [lo, hi)
    signal: float  # median signalValue of peaks with a motif
    low_quality: bool = False

    @classmethod
    def from_config(cls, cfg: Mapping[str, Any] | None, where: str) -> PeakSpec:
        """Parse ``{motif, quality, n, motif_fraction, jitter, half_width, signal}``.

        ``motif`` is a ``PWMS`` name, or ``none``/null/absent for motif-free peaks; the other
        keys default by ``quality`` (``good`` or ``low``). None means ``{}``. Errors name
        ``where``.
        """
        cfg = {} if cfg is None else cfg
        if not isinstance(cfg, Mapping):
            raise ValueError(f"config key `{where}` must be a mapping, got {cfg!r}")
        unknown = sorted(set(cfg) - set(_PEAK_KEYS))
        if unknown:
            raise ValueError(
                f"config key `{where}`: unknown keys {unknown} (known: {list(_PEAK_KEYS)})"
            )
        motif = cfg.get("motif")
        if motif is None or motif == "none":
            motif = None
        elif motif not in PWMS:
            raise ValueError(
                f"config key `{where}.motif` must be one of {sorted(PWMS)} or none, got {motif!r}"
            )
        quality = cfg.get("quality", "good")
        if quality not in _PEAK_DEFAULTS:
            raise ValueError(f"config key `{where}.quality` must be good or low, got {quality!r}")
        d = {
            **_PEAK_DEFAULTS[quality],
            **{k: v for k, v in cfg.items() if k in _PEAK_DEFAULTS["good"]},
        }
        n, jitter, frac, signal, hw = (
            d["n"],
            d["jitter"],
            d["motif_fraction"],
            d["signal"],
            d["half_width"],
        )
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ValueError(f"config key `{where}.n` must be an integer >= 1, got {n!r}")
        if isinstance(jitter, bool) or not isinstance(jitter, int) or not 0 <= jitter <= 100:
            raise ValueError(
                f"config key `{where}.jitter` must be an integer in [0, 100], got {jitter!r}"
            )
        if isinstance(frac, bool) or not isinstance(frac, int | float) or not 0 <= frac <= 1:
            raise ValueError(f"config key `{where}.motif_fraction` must be in [0, 1], got {frac!r}")
        if isinstance(signal, bool) or not isinstance(signal, int | float) or not signal > 0:
            raise ValueError(f"config key `{where}.signal` must be a number > 0, got {signal!r}")
        if (
            not isinstance(hw, list | tuple)
            or len(hw) != 2
            or not all(isinstance(x, int) and not isinstance(x, bool) for x in hw)
            or not 1 <= hw[0] < hw[1] <= 2000
        ):
            raise ValueError(
                f"config key `{where}.half_width` must be [lo, hi] integers, 1 <= lo < hi <= 2000, "
                f"got {hw!r}"
            )
        if motif is None and "motif_fraction" in cfg and frac > 0:
            raise ValueError(f"config key `{where}.motif_fraction` must be 0 when motif is none")
        return cls(
            motif=motif,
            n=int(n),
            motif_fraction=float(frac) if motif is not None else 0.0,
            jitter=int(jitter),
            half_width=(int(hw[0]), int(hw[1])),
            signal=float(signal),
            low_quality=quality == "low",
        )

    def to_config(self) -> dict[str, Any]:
        """The config form (every key explicit); ``from_config(to_config())`` is the identity."""
        return {
            "motif": self.motif if self.motif is not None else "none",
            "quality": "low" if self.low_quality else "good",
            "n": self.n,
            "motif_fraction": self.motif_fraction,
            "jitter": self.jitter,
            "half_width": list(self.half_width),
            "signal": self.signal,
        }


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
    peaks: dict[str, PeakSpec]  # default experiments (config ``simulate.<world>.peaks`` overrides)
    n_pathogenic: int
    n_benign: int
    # (Sequence-Name, Assigned-Molecule, GenBank-Accn, RefSeq-Accn, length) of a fix-patch row
    patch: tuple[str, str, str, str, int]
    # Genome-wide instances of planted PWMs outside peaks and promoters: (PWM name, instances
    # per 10 kb of non-N sequence). They give a masked LM motifs to learn from the whole genome,
    # as real genomes carry many unbound matches; truth/positions.tsv lists them as
    # ``background_motif``.
    background_motifs: tuple[tuple[str, float], ...] = ()


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
        background_motifs=(
            ("CTCF_like", 1.0),
            ("P53_like", 0.5),
            ("TATA_like", 0.5),
            ("LOWQ_like", 1.0),
        ),
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
        background_motifs=(("CTCF_like", 1.0), ("TATA_like", 0.5)),
    ),
}
