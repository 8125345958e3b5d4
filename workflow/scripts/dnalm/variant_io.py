"""A user's VCF: records checked line by line, alleles left-normalised, ref/alt windows built.

Unlike the workflow's boundary (:mod:`dnalm.vcf_prepare`, which bgzips and indexes), a user's
VCF is read as it is (plain or gzip text, sorted or not, no index needed) and streamed.

- :func:`iter_records` yields every data line with its line number, or raises
  ``ValueError("<file>:<line>: ...")`` for a malformed one: a first line that is not
  ``##fileformat=VCF``, a missing ``#CHROM`` line, fewer than 8 columns, a POS that is not a
  positive integer, a REF that is not ``A/C/G/T/N`` bases, an ALT allele that is neither bases
  nor symbolic (``*``, ``<ID>``, a breakend, ``.``).
- :func:`left_normalise` trims an allele pair to its minimal form and shifts an indel left
  while its last bases repeat (the vt/bcftools rule), reading the genome as it goes.
- :func:`variant_windows` builds DNABERT-style ref/alt windows of ``L`` bp around a normalised
  allele: the REF allele starts at offset ``L // 2`` of the ref window (for an SNV this is
  :func:`dnalm.variants.genome_window`, the workflow's centred window); the alt window keeps
  the same left flank, puts ALT at ``L // 2`` and fills up to ``L`` bp from the genome after
  REF, so a deletion pulls in flanking bases on the right and an insertion trims them (an
  insertion longer than ``L - L // 2`` bp is cut to fit). Past a contig end windows are padded
  with ``N``.
"""

from __future__ import annotations

import gzip
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Record", "read_header", "iter_records", "left_normalise", "variant_windows", "is_symbolic"]

_BASES = re.compile(r"[ACGTNacgtn]+")
_SYMBOLIC = re.compile(r"\*|<[^<>]+>|[ACGTNacgtn]*[\[\]][^\[\]]+[\[\]][ACGTNacgtn]*"
                       r"|\.[ACGTNacgtn]+|[ACGTNacgtn]+\.|\.")


@dataclass(frozen=True)
class Record:
    """One VCF data line (as much as scoring needs)."""

    line: int
    contig: str
    pos: int
    id: str
    ref: str
    alts: tuple[str, ...]
    text: str = ""


def is_symbolic(alt: str) -> bool:
    """True for ``.``, ``*``, ``<ID>`` and breakends (nothing to build a window from)."""
    return _BASES.fullmatch(alt) is None


def _open_text(path: Path):
    with open(path, "rb") as fh:
        magic = fh.read(2)
    if magic == b"\x1f\x8b":
        return gzip.open(path, "rt")
    return open(path)


def read_header(path: str | Path) -> list[str]:
    """Header lines of a VCF (``##`` meta lines, then the ``#CHROM`` line), without newlines.

    Call after :func:`iter_records` has validated the file.
    """
    out = []
    with _open_text(Path(path)) as fh:
        for line in fh:
            if not line.startswith("#"):
                break
            out.append(line.rstrip("\r\n"))
            if not line.startswith("##"):
                break
    return out


def iter_records(path: str | Path) -> Iterator[Record]:
    """Data records of a VCF (plain or gzip/bgzip), validated line by line.

    Raises
    ------
    ValueError
        ``<file>:<line>: <what is wrong>`` for the first malformed line, or naming the file
        when it is missing, empty or not gzip-readable.
    """
    p = Path(path)
    if not p.is_file():
        raise ValueError(f"{p}: VCF file not found")
    seen_chrom = False
    i = 0
    try:
        with _open_text(p) as fh:
            for i, line in enumerate(fh, 1):
                line = line.rstrip("\r\n")
                if i == 1 and not line.startswith("##fileformat=VCF"):
                    raise ValueError(f"{p}:1: not a VCF (first line must be ##fileformat=VCF...)")
                if line.startswith("##"):
                    continue
                if line.startswith("#"):
                    cols = line[1:].split("\t")
                    if cols[:8] != ["CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO"]:
                        raise ValueError(f"{p}:{i}: header line must start with the 8 columns "
                                         "#CHROM POS ID REF ALT QUAL FILTER INFO (tab-separated)")
                    seen_chrom = True
                    continue
                if not line.strip():
                    continue
                if not seen_chrom:
                    raise ValueError(f"{p}:{i}: record before the #CHROM header line")
                f = line.split("\t")
                if len(f) < 8:
                    raise ValueError(f"{p}:{i}: expected at least 8 tab-separated columns, "
                                     f"got {len(f)}")
                if not f[0]:
                    raise ValueError(f"{p}:{i}: empty CHROM")
                if not f[1].isdigit() or int(f[1]) < 1:
                    raise ValueError(f"{p}:{i}: POS {f[1]!r} is not a positive integer")
                if _BASES.fullmatch(f[3]) is None:
                    raise ValueError(f"{p}:{i}: REF {f[3]!r} is not A/C/G/T/N bases")
                alts = tuple(f[4].split(","))
                for a in alts:
                    if _BASES.fullmatch(a) is None and _SYMBOLIC.fullmatch(a) is None:
                        raise ValueError(f"{p}:{i}: ALT allele {a!r} is neither bases nor a "
                                         "symbolic allele (*, <ID>, breakend)")
                yield Record(i, f[0], int(f[1]), f[2], f[3].upper(), alts, line)
    except (OSError, EOFError, UnicodeDecodeError) as e:
        raise ValueError(f"{p}:{i + 1}: cannot read ({e})") from None
    if not seen_chrom:
        raise ValueError(f"{p}:{i}: no #CHROM header line")


def left_normalise(fetch, pos0: int, ref: str, alt: str) -> tuple[int, str, str]:
    """Minimal, left-aligned form of one REF/ALT pair (REF already checked against the genome).

    Parameters
    ----------
    fetch : callable
        ``fetch(start, end) -> str``: upper-case genome bases ``[start, end)`` of the contig.
    pos0 : int
        0-based position of the first REF base.
    ref, alt : str
        Upper-case bases.

    Returns
    -------
    pos0, ref, alt : int, str, str
        An SNV/MNV trimmed to its differing bases; an indel with one shared anchor base on the
        left, shifted left as far as the sequence repeats (``CAA -> CA`` at the start of
        ``GCAAAT`` becomes ``GC -> G`` one base earlier when the ``A`` run starts there).
    """
    if ref == alt:
        return pos0, ref, alt
    while True:
        changed = False
        if ref and alt and ref[-1] == alt[-1]:
            ref, alt = ref[:-1], alt[:-1]
            changed = True
        if (not ref or not alt) and pos0 > 0:
            base = fetch(pos0 - 1, pos0)
            ref, alt, pos0 = base + ref, base + alt, pos0 - 1
            changed = True
        if not changed:
            break
    if not ref or not alt:  # an indel at the contig start: anchor on the right, as VCF does
        base = fetch(pos0 + len(ref), pos0 + len(ref) + 1)
        ref, alt = ref + base, alt + base
    while len(ref) > 1 and len(alt) > 1 and ref[0] == alt[0]:
        ref, alt, pos0 = ref[1:], alt[1:], pos0 + 1
    return pos0, ref, alt


def _padded(fetch, start: int, end: int, size: int) -> str:
    a, b = max(0, start), min(end, size)
    if b <= a:
        return "N" * (end - start)
    return "N" * (a - start) + fetch(a, b) + "N" * (end - b)


def variant_windows(fetch, size: int, pos0: int, ref: str, alt: str, L: int) -> tuple[str, str, int]:
    """Ref and alt windows of ``L`` bp for a (normalised) allele.

    Parameters
    ----------
    fetch : callable
        ``fetch(start, end) -> str``, upper-case bases of the contig.
    size : int
        Contig length (windows are ``N``-padded past either end).
    pos0 : int
        0-based position of the first REF base.
    ref, alt : str
    L : int
        Window length.

    Returns
    -------
    ref_window, alt_window : str, length ``L``
    offset : int
        ``L // 2``, where REF (ALT) starts in the ref (alt) window.
    """
    c = L // 2
    start = pos0 - c
    ref_w = _padded(fetch, start, start + L, size)
    left = ref_w[:c]
    room = L - c - len(alt)
    if room >= 0:
        right = _padded(fetch, pos0 + len(ref), pos0 + len(ref) + room, size)
        alt_w = left + alt + right
    else:
        alt_w = left + alt[: L - c]
    return ref_w, alt_w, c
