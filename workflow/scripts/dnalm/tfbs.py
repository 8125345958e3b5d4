"""TF binding sites from one ENCODE narrowPeak file: summit-centred positive windows.

narrowPeak is BED6+4, 0-based: chrom, start, end, name, score, strand, signalValue, pValue
(-1 = none), qValue, peak (0-based summit offset from start, -1 = none -> midpoint). Identical
intervals repeat with different summits, so peaks are deduplicated by (chrom, summit), keeping
the strongest. Positives are ``[summit - flank, summit + flank + 1)`` (101 bp for flank 50),
read on the + strand, N-free, the top-N by signalValue.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import NamedTuple

from dnalm.contigs import write_renamed
from dnalm.dataset import Example
from dnalm.fasta import Genome
from dnalm.textio import open_text

__all__ = ["Peak", "read_narrowpeak", "normalize_peaks", "peak_examples", "peak_intervals"]

log = logging.getLogger(__name__)


class Peak(NamedTuple):
    contig: str
    start: int
    end: int
    summit: int
    signal: float
    line: int


def read_narrowpeak(path: str | Path) -> list[Peak]:
    """Parse a narrowPeak file (plain or gzip).

    Raises
    ------
    ValueError
        ``"<path>:<line>: ..."`` for a row with < 10 columns, a non-numeric field, a
        non-finite signalValue (nan, inf), a bad interval or a summit outside the peak;
        ``"<path>: ..."`` for an empty file or a truncated gzip stream.
    """
    peaks: list[Peak] = []
    with open_text(path) as fh:
        for ln, line in enumerate(fh, 1):
            s = line.rstrip("\r\n")
            if not s or s.startswith(("#", "track", "browser")):
                continue
            f = s.split("\t")
            if len(f) < 10:
                raise ValueError(
                    f"{path}:{ln}: narrowPeak needs 10 tab-separated columns, got {len(f)}"
                )
            try:
                start, end = int(f[1]), int(f[2])
                signal = float(f[6])
                float(f[7]), float(f[8])  # pValue / qValue: -1 means "not given"
                offset = int(f[9])
            except ValueError:
                raise ValueError(f"{path}:{ln}: non-numeric field in {s[:80]!r}") from None
            if not math.isfinite(signal):
                raise ValueError(f"{path}:{ln}: signalValue {f[6]!r} is not a finite number")
            if start < 0 or end <= start:
                raise ValueError(f"{path}:{ln}: bad interval {start}-{end}")
            summit = start + offset if offset >= 0 else (start + end) // 2
            if not start <= summit < end:
                raise ValueError(f"{path}:{ln}: summit offset {offset} outside the peak")
            peaks.append(Peak(f[0], start, end, summit, signal, ln))
    if not peaks:
        raise ValueError(f"{path}: no peaks (empty narrowPeak file)")
    return peaks


def normalize_peaks(
    src: str | Path, out: str | Path, genome_fasta: str | Path, contigs: str | Path | None = None
) -> dict:
    """Copy a narrowPeak file to ``out`` (gzip, mtime 0) with contigs renamed to the genome's.

    Lines keep their order (so line numbers match the source); rows on contigs the genome
    does not know keep their name and are counted. The file is validated while copying.
    """
    read_narrowpeak(src)  # validation with file:line errors
    genome = Genome(genome_fasta, contigs)

    def fields(line: str, ln: int) -> list[str] | None:
        s = line.rstrip("\r\n")
        return None if not s or s.startswith(("#", "track", "browser")) else s.split("\t")

    try:
        stats = write_renamed(src, out, genome.canonical, fields)
    finally:
        genome.close()
    log.info("peaks %s: %s", src, stats)
    return stats


def peak_examples(
    peaks: list[Peak],
    genome: Genome,
    flank: int = 50,
    top_n: int | None = None,
    unknown_contigs: str = "skip",
    source: str | Path = "peaks",
    label: int = 1,
) -> tuple[list[Example], dict]:
    """Summit-centred positives: dedupe by summit, map contigs, drop N / out-of-bounds, top-N.

    Returns
    -------
    examples : list of Example, length <= top_n
        Ordered by decreasing signalValue (ties by contig, summit).
    stats : dict
    """
    stats = {
        "peaks": len(peaks),
        "duplicate_summit": 0,
        "unknown_contig": 0,
        "out_of_bounds": 0,
        "has_n": 0,
    }
    best: dict[tuple[str, int], Peak] = {}
    for p in peaks:
        c = genome.canonical(p.contig)
        if c is None:
            if unknown_contigs == "error":
                raise ValueError(f"{source}:{p.line}: contig {p.contig!r} is not in the genome")
            stats["unknown_contig"] += 1
            continue
        key = (c, p.summit)
        if key in best:
            stats["duplicate_summit"] += 1
            if p.signal <= best[key].signal:
                continue
        best[key] = p._replace(contig=c)
    ranked = sorted(best.values(), key=lambda p: (-p.signal, p.contig, p.summit))
    out: list[Example] = []
    for p in ranked:
        if top_n is not None and len(out) >= top_n:
            break
        start, end = p.summit - flank, p.summit + flank + 1
        if not genome.within(p.contig, start, end):
            stats["out_of_bounds"] += 1
            continue
        seq = genome.fetch(p.contig, start, end, "+")
        if "N" in seq:
            stats["has_n"] += 1
            continue
        sid = f"peak:{p.contig}:{p.summit}"
        out.append(Example(seq, label, p.contig, start, end, "+", sid, group=sid))
    stats["positives"] = len(out)
    return out, stats


def peak_intervals(peaks: list[Peak], genome: Genome) -> list[tuple[str, int, int]]:
    """All peak intervals on known contigs (for excluding them from negatives)."""
    out = []
    for p in peaks:
        c = genome.canonical(p.contig)
        if c is not None:
            out.append((c, p.start, p.end))
    return out
