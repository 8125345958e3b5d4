"""EPDnew promoters: parse the BED and TATA flags, and cut TSS-centred windows.

Coordinates. EPD's BED covers TSS -49..+10 (60 bp). With T the 1-based TSS, ``T = thickStart+1``
on + and ``T = thickEnd`` on -; we keep the 0-based TSS ``tss0 = T - 1``. A window
``(u, d)`` (TSS = 0, both ends inclusive, e.g. (-249, 50) for Prom-300) is the BED interval
``[tss0+u, tss0+d+1)`` on + and ``[tss0-d, tss0-u+1)`` on -, whose sequence is then
reverse-complemented so that every window reads 5'->3' on the promoter's strand.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import NamedTuple

from dnalm import atomic
from dnalm.dataset import Example
from dnalm.fasta import Genome
from dnalm.textio import open_text

__all__ = [
    "Promoter",
    "read_epd_bed",
    "read_tata_flags",
    "read_promoters",
    "promoter_window",
    "normalize_epd",
    "promoter_examples",
]

log = logging.getLogger(__name__)

_TRUE = {"1", "yes", "y", "true", "+", "t"}
_FALSE = {"0", "no", "n", "false", "-", "f"}


class Promoter(NamedTuple):
    contig: str
    tss0: int
    strand: str
    name: str
    tata: bool | None = None


def promoter_window(tss0: int, strand: str, window: tuple[int, int]) -> tuple[int, int]:
    """BED interval ``[start, end)`` of the window ``(u, d)`` around a 0-based TSS.

    Parameters
    ----------
    tss0 : int
        0-based TSS position.
    strand : str
        ``+`` or ``-``.
    window : (int, int)
        Upstream and downstream offsets, TSS = 0, both inclusive (length ``d - u + 1``).

    Returns
    -------
    (start, end) : (int, int)
    """
    u, d = int(window[0]), int(window[1])
    if u > d:
        raise ValueError(f"`window` must be (upstream, downstream) with u <= d, got {window!r}")
    if strand == "+":
        return tss0 + u, tss0 + d + 1
    if strand == "-":
        return tss0 - d, tss0 - u + 1
    raise ValueError(f"`strand` must be '+' or '-', got {strand!r}")


def read_epd_bed(path: str | Path) -> list[Promoter]:
    """Read EPD's 8-column space-delimited BED or a 6-column TSS BED (tabs or spaces).

    6-column rows of width 1 are TSSs (``tss0 = start``); rows of width 60 follow EPD's
    -49..+10 layout. Lines starting with ``#``, ``track`` or ``browser`` are skipped.

    Raises
    ------
    ValueError
        ``"<path>:<line>: ..."`` for a malformed row: wrong column count, non-integer
        coordinate, ``start >= end`` or negative start, ``thickStart``/``thickEnd`` outside
        ``start..end`` (or not increasing), bad strand; ``"<path>: ..."`` for a truncated gzip
        stream.
    """
    out: list[Promoter] = []
    with open_text(path) as fh:
        for ln, line in enumerate(fh, 1):
            s = line.strip()
            if not s or s.startswith(("#", "track", "browser")):
                continue
            f = s.split()
            if len(f) not in (6, 8):
                raise ValueError(f"{path}:{ln}: expected 6 or 8 columns, got {len(f)}")
            try:
                start, end = int(f[1]), int(f[2])
                thick = (int(f[6]), int(f[7])) if len(f) == 8 else None
            except ValueError:
                raise ValueError(f"{path}:{ln}: non-integer coordinate in {s!r}") from None
            if start < 0 or start >= end:
                raise ValueError(
                    f"{path}:{ln}: start {start} must be >= 0 and below end {end} (0-based, half-open)"
                )
            if thick is not None:
                for col, v in zip(("thickStart", "thickEnd"), thick, strict=True):
                    if not start <= v <= end:
                        raise ValueError(
                            f"{path}:{ln}: {col} {v} is outside start..end {start}..{end}"
                        )
                if thick[0] >= thick[1]:
                    raise ValueError(
                        f"{path}:{ln}: thickStart {thick[0]} must be below thickEnd {thick[1]}"
                    )
            strand = f[5]
            if strand not in ("+", "-"):
                raise ValueError(f"{path}:{ln}: strand must be + or -, got {strand!r}")
            if thick is not None:
                tss0 = thick[0] if strand == "+" else thick[1] - 1
            elif end - start == 1:
                tss0 = start
            elif end - start == 60:
                tss0 = end - 11 if strand == "+" else start + 10
            else:
                raise ValueError(
                    f"{path}:{ln}: 6-column row of width {end - start}; expected a 1-bp TSS "
                    "or EPD's 60-bp -49..+10 region"
                )
            out.append(Promoter(f[0], tss0, strand, f[3]))
    return out


def _flag(value: str, path, ln: int, col: str) -> bool:
    v = value.strip().lower()
    if not v:  # read as "no" before, which put an unannotated promoter in the notata class
        raise ValueError(f"{path}:{ln}: empty {col} flag (expected 1/0)")
    if v in _TRUE:
        return True
    if v in _FALSE:
        return False
    raise ValueError(f"{path}:{ln}: unexpected {col} flag {value!r} (expected 1/0)")


def read_tata_flags(path: str | Path) -> dict[str, bool]:
    """``promoter_motifs.txt`` -> {promoter name: has TATA box}.

    Tab-separated, header ``#Name<TAB>TATA-box<TAB>...`` (leading ``#`` optional). A name given
    twice with different flags is an error naming both lines.
    """
    flags: dict[str, bool] = {}
    first: dict[str, int] = {}
    with open_text(path) as fh:
        header = fh.readline().rstrip("\r\n").lstrip("#").split("\t")
        cols = [c.strip().lower() for c in header]
        if "name" not in cols or not any(c.startswith("tata") for c in cols):
            raise ValueError(f"{path}:1: header must have Name and TATA-box columns, got {header}")
        i_name = cols.index("name")
        i_tata = next(i for i, c in enumerate(cols) if c.startswith("tata"))
        for ln, line in enumerate(fh, 2):
            s = line.rstrip("\r\n")
            if not s or s.startswith("#"):
                continue
            f = s.split("\t")
            if len(f) <= max(i_name, i_tata):
                raise ValueError(f"{path}:{ln}: expected {len(cols)} tab-separated columns")
            name, flag = f[i_name], _flag(f[i_tata], path, ln, "TATA-box")
            if name in flags and flags[name] != flag:
                raise ValueError(f"{path}:{ln}: promoter {name!r} is listed again with another "
                                 f"TATA-box flag (first at line {first[name]})")
            flags[name] = flag
            first.setdefault(name, ln)
    return flags


def normalize_epd(
    bed: str | Path,
    out: str | Path,
    motifs: str | Path | None = None,
    contigs: str | Path | None = None,
    genome_fasta: str | Path | None = None,
) -> dict:
    """Write ``epd.tsv`` (contig, tss0, strand, name, tata) with the genome's contig names.

    Rows whose contig the genome does not know keep their name and are counted (the dataset
    task applies its ``unknown_contigs`` policy). ``tata`` is 1/0, or ``.`` without a flags file
    (or for promoters missing from it).

    Returns
    -------
    stats : dict
        ``{"n": rows, "renamed": n, "unknown_contig": n, "tata": n, "no_flag": n}`` (``no_flag``:
        promoters the flags file does not name; with a flags file that names none of them, e.g.
        another EPD release or other name spelling, this is an error, since every promoter would
        otherwise read as TATA-less).
    """
    proms = read_epd_bed(bed)
    if not proms:
        raise ValueError(f"{bed}: no promoters (an empty EPD BED file)")
    flags = read_tata_flags(motifs) if motifs else {}
    if flags and not any(p.name in flags for p in proms):
        raise ValueError(
            f"{motifs}: none of its {len(flags)} promoter names match the {len(proms)} promoters of "
            f"{bed} (e.g. {next(iter(flags))!r} vs {proms[0].name!r}); are both from the same EPD "
            "release?")
    genome = Genome(genome_fasta, contigs) if genome_fasta else None
    stats = {"n": len(proms), "renamed": 0, "unknown_contig": 0, "tata": 0, "no_flag": 0}
    lines = ["contig\ttss0\tstrand\tname\ttata\n"]
    for p in proms:
        c = p.contig
        if genome is not None:
            g = genome.canonical(c)
            if g is None:
                stats["unknown_contig"] += 1
            elif g != c:
                stats["renamed"] += 1
                c = g
        t = flags.get(p.name)
        stats["tata"] += bool(t)
        stats["no_flag"] += bool(flags) and t is None
        tata = "." if t is None else str(int(t))
        lines.append(f"{c}\t{p.tss0}\t{p.strand}\t{p.name}\t{tata}\n")
    if genome is not None:
        genome.close()
    atomic.write_text(out, "".join(lines))
    log.info("epd: %s", stats)
    if stats["no_flag"]:
        log.warning("%s: %d of %d promoters of %s have no TATA-box flag there (tata '.'; a notata "
                    "subset counts them as TATA-less)", motifs, stats["no_flag"], stats["n"], bed)
    return stats


def read_promoters(path: str | Path) -> list[Promoter]:
    """Read ``epd.tsv`` written by :func:`normalize_epd`."""
    out = []
    with open_text(path) as fh:
        header = fh.readline().rstrip("\r\n").split("\t")
        if header[:5] != ["contig", "tss0", "strand", "name", "tata"]:
            raise ValueError(f"{path}:1: not an epd.tsv header: {header}")
        for ln, line in enumerate(fh, 2):
            f = line.rstrip("\r\n").split("\t")
            if len(f) < 5:
                raise ValueError(f"{path}:{ln}: expected 5 columns, got {len(f)}")
            try:
                tss0 = int(f[1])
            except ValueError:
                raise ValueError(f"{path}:{ln}: tss0 {f[1]!r} is not an integer") from None
            tata = None if f[4] == "." else _flag(f[4], path, ln, "tata")
            out.append(Promoter(f[0], tss0, f[2], f[3], tata))
    return out


def promoter_examples(
    promoters: list[Promoter],
    genome: Genome,
    window: tuple[int, int],
    subset: str = "all",
    unknown_contigs: str = "skip",
    source: str | Path = "epd.tsv",
    label: int = 1,
) -> tuple[list[Example], dict]:
    """Positive windows of the promoters in ``subset`` (``tata``, ``notata`` or ``all``).

    Windows leaving the contig or containing N are dropped and counted. A contig the genome
    does not know raises ``ValueError`` naming ``source`` and the row when ``unknown_contigs``
    is ``"error"``; with ``"skip"`` it is counted.

    Returns
    -------
    examples : list of Example
        Uppercase, minus-strand windows reverse-complemented, sorted by (contig, start, name).
    stats : dict
    """
    if subset not in ("tata", "notata", "all"):
        raise ValueError(f"`subset` must be tata, notata or all, got {subset!r}")
    stats = {
        "promoters": len(promoters),
        "unknown_contig": 0,
        "out_of_bounds": 0,
        "has_n": 0,
        "no_tata_flag": 0,
        "not_in_subset": 0,
    }
    out: list[Example] = []
    seen: set[tuple[str, int, str]] = set()
    for row, p in enumerate(promoters, 2):
        if subset != "all":
            if p.tata is None:
                stats["no_tata_flag"] += 1
            if bool(p.tata) != (subset == "tata"):
                stats["not_in_subset"] += 1
                continue
        c = genome.canonical(p.contig)
        if c is None:
            if unknown_contigs == "error":
                raise ValueError(f"{source}:{row}: contig {p.contig!r} is not in the genome")
            stats["unknown_contig"] += 1
            continue
        start, end = promoter_window(p.tss0, p.strand, window)
        if not genome.within(c, start, end):
            stats["out_of_bounds"] += 1
            continue
        if (c, start, p.strand) in seen:
            continue
        seen.add((c, start, p.strand))
        seq = genome.fetch(c, start, end, p.strand)
        if "N" in seq:
            stats["has_n"] += 1
            continue
        out.append(Example(seq, label, c, start, end, p.strand, p.name, group=p.name))
    out.sort(key=lambda e: (e.contig, e.start, e.source_id))
    stats["positives"] = len(out)
    return out, stats
