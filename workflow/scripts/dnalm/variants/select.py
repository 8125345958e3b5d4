"""Selection: dbSNP/ClinVar alleles in a task's intervals, and the windows they are scored in.

Inputs come through the dataset contract (:mod:`dnalm.dataset`): positive windows from the
split TSVs (:func:`read_positive_windows`), the window length from ``card.json``
(:func:`card_window_length`). VCFs are read one tabix region at a time
(:func:`select_alleles`); windows are cut from the indexed genome FASTA, padded with ``N``
past a contig end (:func:`genome_window`, :func:`scoring_windows`).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from dnalm import bed
from dnalm import vcf as dvcf
from dnalm.dataset import read_card, read_split
from dnalm.seq import revcomp

__all__ = [
    "CONTEXTS",
    "Interval",
    "Windows",
    "check_ref_agreement",
    "read_bed",
    "read_positive_windows",
    "card_window_length",
    "genome_window",
    "select_alleles",
    "scoring_windows",
    "window_sequence",
]

log = logging.getLogger(__name__)

CONTEXTS = ("region", "centred")
_WINDOW_RE = re.compile(r"^(.+):(-?\d+)-(-?\d+):([+\-.])$")


@dataclass(frozen=True)
class Interval:
    """A genome interval, 0-based half-open."""

    contig: str
    start: int
    end: int
    strand: str = "."
    name: str = "."


def check_context(context: str) -> None:
    """Raise ValueError naming ``context`` unless it is one of :data:`CONTEXTS`."""
    if context not in CONTEXTS:
        raise ValueError(f"`context` must be one of {CONTEXTS}, got {context!r}")


# ----------------------------------------------------------------------------- inputs


def read_bed(path: str | Path) -> list[Interval]:
    """BED3..6 intervals (:func:`dnalm.bed.read_bed`; an empty file gives []), sorted by contig,
    start."""
    out = [Interval(iv.contig, iv.start, iv.end, iv.strand, iv.name or ".")
           for iv in bed.read_bed(path, allow_empty=True)]  # fmt: skip
    return sorted(out, key=lambda iv: (iv.contig, iv.start, iv.end))


def read_positive_windows(
    paths: Sequence[str | Path], positive_label: int = 1
) -> list[Interval]:
    """Genome windows of the dataset rows labelled ``positive_label``, sorted, de-duplicated.

    Splits are read with :func:`dnalm.dataset.read_split`; rows without coordinates
    (``start`` ``.``: shuffled negatives, imported rows) are skipped.

    Parameters
    ----------
    paths : sequence of path
        The task's split TSVs.
    positive_label : int, optional
        Default is 1.

    Returns
    -------
    windows : list of Interval
        ``name`` is the row's ``source_id``; sorted by (contig, start, end, name).

    Raises
    ------
    ValueError
        Naming the file when a split lacks the coordinate columns or a coordinate is not an
        integer (plus :func:`~dnalm.dataset.read_split`'s checks).
    """
    seen = set()
    for p in paths:
        df = read_split(p)
        missing = [c for c in ("contig", "start", "end", "strand", "source_id") if c not in df.columns]
        if missing:
            raise ValueError(f"{p}:1: header lacks {missing}: no genome coordinates to score "
                             "variants in")
        rows = df[(df["label"] == positive_label) & ~df["start"].isin([".", ""])]
        for i, row in zip(rows.index, rows.itertuples(index=False), strict=True):
            try:
                start, end = int(row.start), int(row.end)
            except ValueError:
                raise ValueError(f"{p}:{i + 2}: start/end {row.start!r}/{row.end!r} are not "
                                 "integers") from None
            seen.add(Interval(row.contig, start, end, row.strand or ".", row.source_id))
    return sorted(seen, key=lambda iv: (iv.contig, iv.start, iv.end, iv.name))


def card_window_length(card: str | Path, positive_class: int = 1) -> int:
    """The task's window length (bp) from its ``card.json``.

    Raises
    ------
    ValueError
        Naming the card when its rows differ in length (``window_length`` null) or
        ``positive_class`` is not one of its labels.
    """
    c = read_card(card)
    if c.window_length is None:
        raise ValueError(f"{card}: window_length is null (the rows of task {c.task} differ in "
                         "length); variant scoring needs one window length")
    if positive_class not in c.labels:
        raise ValueError(f"{card}: `positive_class` {positive_class} is not a label of task "
                         f"{c.task} (labels {list(c.labels)})")
    return c.window_length


class IntervalLookup:
    """Point-in-interval queries over merged intervals (per contig, numpy searchsorted)."""

    def __init__(self, intervals: Sequence[Interval]) -> None:
        by: dict[str, list[tuple[int, int]]] = {}
        for iv in sorted(intervals, key=lambda iv: (iv.contig, iv.start)):
            lst = by.setdefault(iv.contig, [])
            if lst and iv.start <= lst[-1][1]:
                lst[-1] = (lst[-1][0], max(lst[-1][1], iv.end))
            else:
                lst.append((iv.start, iv.end))
        self._s = {c: np.array([a for a, _ in v]) for c, v in by.items()}
        self._e = {c: np.array([b for _, b in v]) for c, v in by.items()}

    def contains(self, contig: str, pos0: int) -> bool:
        s = self._s.get(contig)
        if s is None:
            return False
        i = int(np.searchsorted(s, pos0, side="right")) - 1
        return i >= 0 and pos0 < self._e[contig][i]


# ----------------------------------------------------------------------------- alleles


def new_counts() -> dict:
    """Zeroed selection counts of one VCF source (updated by :func:`select_alleles`)."""
    return {
        "regions": 0,
        "records": 0,
        "multiallelic_records": 0,
        "multiallelic_splits": 0,
        "alleles": 0,
        "snvs": 0,
        "indels_skipped": 0,
        "other_skipped": 0,
        "ref_mismatch": 0,
        "selected": 0,
        "ref_mismatch_examples": [],
    }


def select_alleles(
    vf,
    intervals: Sequence[Interval],
    fasta,
    lengths: Mapping[str, int],
    counts: dict,
    info_keys: Sequence[str] = (),
    source: str = "vcf",
    max_examples: int = 20,
) -> dict[tuple, tuple[dvcf.Allele, Interval]]:
    """SNV alleles inside ``intervals`` (streamed region by region), REF-checked.

    Parameters
    ----------
    vf : pysam.VariantFile
        Indexed VCF whose contig names are the genome's.
    intervals : sequence of Interval
    fasta : pysam.FastaFile
    lengths : mapping of str to int
    counts : dict
        From :func:`new_counts`; updated in place (records, multi-allelic splits, skipped
        indels, REF mismatches...).
    info_keys : sequence of str, optional
        INFO keys copied onto each allele. Default is none.
    source : str, optional
        Label for log lines. Default is "vcf".
    max_examples : int, optional
        REF mismatches listed in ``counts["ref_mismatch_examples"]``. Default is 20.

    Returns
    -------
    selected : dict
        ``(contig, pos, ref, alt) -> (allele, first interval containing it)``, in genome order.
    """
    seen_records: set[tuple] = set()
    selected: dict[tuple, tuple[dvcf.Allele, Interval]] = {}
    for iv in intervals:
        counts["regions"] += 1
        clen = lengths.get(iv.contig)
        if clen is None:
            continue
        for rec, alleles in dvcf.iter_alleles(vf, iv.contig, iv.start, iv.end, info_keys):
            rkey = (rec.chrom, rec.pos, rec.ref, rec.alts)
            new_record = rkey not in seen_records
            if new_record:
                seen_records.add(rkey)
                counts["records"] += 1
                counts["alleles"] += len(alleles)
                if len(alleles) > 1:
                    counts["multiallelic_records"] += 1
                    counts["multiallelic_splits"] += len(alleles)
            for a in alleles:
                if not iv.start <= a.pos0 < iv.end or a.key in selected:
                    continue
                if a.is_symbolic or (len(a.ref) == 1 and len(a.alt) == 1 and
                                     (a.ref not in "ACGT" or a.alt not in "ACGT" or a.ref == a.alt)):
                    counts["other_skipped"] += new_record
                    continue
                if not a.is_snv:
                    counts["indels_skipped"] += new_record
                    continue
                if new_record:
                    counts["snvs"] += 1
                gref = fasta.fetch(a.contig, a.pos0, a.pos0 + 1).upper() if a.pos0 < clen else ""
                if gref != a.ref:
                    if new_record:
                        counts["ref_mismatch"] += 1
                        ex = f"{a.contig}:{a.pos} {a.ref}>{a.alt} genome={gref or '-'} id={a.id}"
                        if len(counts["ref_mismatch_examples"]) < max_examples:
                            counts["ref_mismatch_examples"].append(ex)
                        log.warning("%s: REF mismatch, not scored: %s", source, ex)
                    continue
                selected[a.key] = (a, iv)
    counts["selected"] = len(selected)
    return selected


#: REF mismatches that mean "another assembly", not the odd record: dbSNP and ClinVar REF
#: alleles are the reference's, so on the right assembly almost none disagree, while a VCF
#: for another assembly disagrees at most of its SNVs (random bases: about 3 in 4).
WRONG_ASSEMBLY_MIN = 20
WRONG_ASSEMBLY_FRACTION = 0.1


def check_ref_agreement(counts: Mapping, vcf: str | Path, genome: str | Path) -> None:
    """Raise when a VCF's REF alleles disagree with the genome at so many SNVs
    (:data:`WRONG_ASSEMBLY_MIN` and :data:`WRONG_ASSEMBLY_FRACTION` of those checked) that it is
    for another assembly: scoring the rest would give a silently wrong table.

    Raises
    ------
    ValueError
        Naming the VCF and the genome, with the counts and the first mismatches.
    """
    bad, n = int(counts["ref_mismatch"]), int(counts["snvs"])
    if bad >= WRONG_ASSEMBLY_MIN and bad > WRONG_ASSEMBLY_FRACTION * n:
        shown = "; ".join(counts["ref_mismatch_examples"][:3])
        raise ValueError(
            f"{vcf}: REF disagrees with the genome {genome} at {bad} of {n} SNVs checked "
            f"({100 * bad / n:.0f} %; e.g. {shown}): is the VCF for another assembly? The "
            "annotations.<genome>.dbsnp/clinvar source must match genomes.<genome>.fasta"
        )


def null_candidates(
    windows: Sequence[Interval], fasta, lengths: Mapping[str, int], n: int, rng: np.random.Generator
) -> list[tuple[dvcf.Allele, Interval]]:
    """``n`` random SNVs: a uniform position in a random window, a uniform other base.

    Positions whose genome base is not ACGT are redrawn (at most ``50 * n`` draws).
    """
    out: list[tuple[dvcf.Allele, Interval]] = []
    if not windows or n <= 0:
        return out
    tries = 0
    while len(out) < n and tries < 50 * n:
        tries += 1
        iv = windows[int(rng.integers(len(windows)))]
        if iv.contig not in lengths:
            continue
        pos0 = int(rng.integers(iv.start, min(iv.end, lengths[iv.contig])))
        ref = fasta.fetch(iv.contig, pos0, pos0 + 1).upper()
        if ref not in "ACGT" or not ref:
            continue
        alt = "ACGT".replace(ref, "")[int(rng.integers(3))]
        out.append((dvcf.Allele(iv.contig, pos0 + 1, ref, alt, "null"), iv))
    return out


# ----------------------------------------------------------------------------- windows


def _fetch_padded(fasta, contig: str, start: int, end: int, contig_len: int) -> str:
    """Upper-case ``contig[start:end]``, ``N`` where the interval leaves the contig."""
    a, b = max(0, start), min(end, contig_len)
    if b <= a:
        return "N" * (end - start)
    return "N" * (a - start) + fasta.fetch(contig, a, b).upper() + "N" * (end - b)


def genome_window(
    fasta, contig: str, pos0: int, length: int, contig_len: int
) -> tuple[str, int]:
    """Upper-case window of ``length`` bp with base ``pos0`` at offset ``length // 2``.

    Positions before 0 or past ``contig_len`` are filled with ``N`` (documented choice:
    pad, not shift, so the variant keeps its offset; N k-mers become ``[UNK]``).

    Returns
    -------
    window : str, length ``length``
    offset : int
        ``length // 2``.
    """
    off = length // 2
    return _fetch_padded(fasta, contig, pos0 - off, pos0 - off + length, contig_len), off


class WindowIndex:
    """Nearest-centred positive window containing a position (per contig, numpy searchsorted).

    Only windows of exactly ``L`` bp are indexed; sorted by (start, strand, name), so the
    containing windows of ``pos0`` are the slice of starts in ``[pos0 - L + 1, pos0]``.
    """

    def __init__(self, windows: Sequence[Interval], L: int) -> None:
        self.L = L
        by: dict[str, list[Interval]] = {}
        self.skipped = 0
        for iv in windows:
            if iv.end - iv.start != L:
                self.skipped += 1
                continue
            by.setdefault(iv.contig, []).append(iv)
        self._ivs = {c: sorted(v, key=lambda iv: (iv.start, iv.strand, iv.name))
                     for c, v in by.items()}
        self._starts = {c: np.fromiter((iv.start for iv in v), dtype=np.int64, count=len(v))
                        for c, v in self._ivs.items()}
        if self.skipped:
            log.warning("%d positive windows are not %d bp long and are not used as scoring "
                        "context", self.skipped, L)

    def find(self, contig: str, pos0: int) -> Interval | None:
        """The containing window whose centre is nearest ``pos0`` (ties: lowest start)."""
        s = self._starts.get(contig)
        if s is None:
            return None
        lo = int(np.searchsorted(s, pos0 - self.L + 1, side="left"))
        hi = int(np.searchsorted(s, pos0, side="right"))
        if hi <= lo:
            return None
        # twice the distance between base pos0 and the window centre start + (L - 1) / 2
        dist = np.abs(2 * s[lo:hi] + (self.L - 1) - 2 * pos0)
        return self._ivs[contig][lo + int(np.argmin(dist))]  # argmin: first = lowest start


@dataclass
class Windows:
    """Classifier inputs of n variants (oriented like the dataset rows).

    Attributes
    ----------
    ref, alt : list of str, length n
        Reference and alternate windows, each ``L`` bp.
    offset : list of int, length n
        Variant position in ``ref``/``alt``.
    strand : list of str, length n
    window : list of str, length n
        ``contig:start-end:strand``, the 0-based half-open genome interval.
    window_id : list of str, length n
        ``source_id`` of the positive window, or ``centred``.
    fallback : numpy.ndarray, shape=(n,), dtype=bool
        Region context without a containing window.
    """

    ref: list[str]
    alt: list[str]
    offset: list[int]
    strand: list[str]
    window: list[str]
    window_id: list[str]
    fallback: np.ndarray


def scoring_windows(
    cands: Sequence[tuple[dvcf.Allele, Interval]],
    fasta,
    lengths: Mapping[str, int],
    L: int,
    index: WindowIndex | None,
) -> Windows:
    """Ref/alt classifier windows of ``(allele, selecting interval)`` pairs.

    With ``index`` (region context): the nearest-centred positive window containing the
    variant, reverse-complemented for ``-`` rows; without one (or with ``index`` None):
    the variant-centred window on the selecting interval's strand.

    Raises
    ------
    ValueError
        When the genome base at a variant is not its REF.
    """
    out = Windows([], [], [], [], [], [], np.zeros(len(cands), dtype=bool))
    for i, (a, iv) in enumerate(cands):
        hit = index.find(a.contig, a.pos0) if index is not None else None
        if hit is None:
            start, strand, wid = a.pos0 - L // 2, iv.strand, "centred"
            out.fallback[i] = index is not None
        else:
            start, strand, wid = hit.start, hit.strand, hit.name
        fwd = _fetch_padded(fasta, a.contig, start, start + L, lengths[a.contig])
        off = a.pos0 - start
        if fwd[off] != a.ref:
            raise ValueError(f"{a.contig}:{a.pos}: genome base {fwd[off]!r} is not REF {a.ref!r}")
        alt = fwd[:off] + a.alt + fwd[off + 1:]
        if strand == "-":
            fwd, alt, off = revcomp(fwd), revcomp(alt), L - 1 - off
        out.ref.append(fwd)
        out.alt.append(alt)
        out.offset.append(off)
        out.strand.append(strand)
        out.window.append(f"{a.contig}:{start}-{start + L}:{strand}")
        out.window_id.append(wid)
    return out


def window_sequence(fasta, lengths: Mapping[str, int], window: str) -> str:
    """The oriented classifier input named by a ``window`` column value
    (``contig:start-end:strand``, N-padded past the contig ends)."""
    m = _WINDOW_RE.match(window)
    if m is None:
        raise ValueError(f"bad window {window!r}, expected contig:start-end:strand")
    contig, s, e, strand = m.group(1), int(m.group(2)), int(m.group(3)), m.group(4)
    seq = _fetch_padded(fasta, contig, s, e, lengths[contig])
    return revcomp(seq) if strand == "-" else seq
