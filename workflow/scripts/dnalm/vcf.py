"""Reading indexed VCFs: alleles one tabix region at a time, multi-allelic records split.

Memory never grows with the VCF: :func:`iter_alleles` reads one region at a time. Files are
validated and indexed at the workflow's boundary by :mod:`dnalm.vcf_prepare`.

Coordinates: VCF POS is 1-based; :class:`Allele` keeps ``pos`` 1-based as in the file and
offers ``pos0`` (0-based) for genome slicing.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pysam

from dnalm.clinvar import info_text

__all__ = [
    "Allele",
    "is_bgzf",
    "ensure_index",
    "open_vcf",
    "split_alleles",
    "trim_allele",
    "iter_alleles",
    "SYMBOLIC",
]

log = logging.getLogger("dnalm.vcf")

# symbolic ALT alleles: spanning deletion, <ID>, breakends (t[p[, t]p], ]p]t, [p[t, .t, t.)
SYMBOLIC = re.compile(
    rb"\*|<[^<>]+>|[ACGTNacgtn]*[\[\]][^\[\]]+[\[\]][ACGTNacgtn]*|\.[ACGTNacgtn]+|[ACGTNacgtn]+\."
)


@dataclass(frozen=True)
class Allele:
    """One ALT allele of a VCF record, trimmed to its minimal representation.

    ``n_alts`` > 1 means it came from splitting a multi-allelic record. ``info`` holds the
    requested INFO keys as text (commas re-joined).
    """

    contig: str
    pos: int
    ref: str
    alt: str
    id: str = "."
    n_alts: int = 1
    info: Mapping[str, str] = field(default_factory=dict)

    @property
    def pos0(self) -> int:
        return self.pos - 1

    @property
    def key(self) -> tuple[str, int, str, str]:
        return (self.contig, self.pos, self.ref, self.alt)

    @property
    def is_snv(self) -> bool:
        return len(self.ref) == 1 and len(self.alt) == 1 and self.ref != self.alt

    @property
    def is_symbolic(self) -> bool:
        """``.``, ``*``, ``<ID>`` or a breakend (anything that is not plain bases)."""
        return any(c in self.alt for c in ".*<[]")


# ----------------------------------------------------------------------------- files


def is_bgzf(path: str | Path) -> bool:
    """True when the file starts with a BGZF block header (gzip with the ``BC`` extra field)."""
    with open(path, "rb") as fh:
        head = fh.read(18)
    return len(head) >= 14 and head[:4] == b"\x1f\x8b\x08\x04" and head[12:14] == b"BC"


def ensure_index(path: str | Path) -> Path:
    """Make sure a VCF has a tabix (``.tbi``) or ``.csi`` index; build a ``.tbi`` if missing.

    Raises
    ------
    ValueError
        When there is no index and the file is not BGZF (plain gzip or uncompressed):
        the message says to recompress with ``bgzip``; or when indexing fails (unsorted).
    """
    p = Path(path)
    if not p.is_file():
        raise ValueError(f"{p}: VCF file not found")
    for ext in (".tbi", ".csi"):
        idx = Path(str(p) + ext)
        if idx.is_file():
            if idx.stat().st_mtime < p.stat().st_mtime:
                log.warning("%s: index %s is older than the VCF", p, idx.name)
            return idx
    if not is_bgzf(p):
        raise ValueError(
            f"{p}: VCF has no .tbi/.csi index and is not BGZF-compressed, so it cannot be "
            "indexed; recompress it with `bgzip` (plain gzip is not seekable)"
        )
    log.info("%s: no index found, building %s.tbi", p, p.name)
    try:
        pysam.tabix_index(str(p), preset="vcf", force=True, keep_original=True)
    except OSError as e:
        raise ValueError(f"{p}: VCF has no index and tabix indexing failed ({e}); "
                         "is it sorted by contig and position?") from e
    return Path(str(p) + ".tbi")


def open_vcf(path: str | Path) -> pysam.VariantFile:
    """Open an indexed VCF for region queries (indexing it first when needed)."""
    ensure_index(path)
    return pysam.VariantFile(str(path))


def trim_allele(pos: int, ref: str, alt: str) -> tuple[int, str, str]:
    """Minimal representation of one REF/ALT pair: drop the shared suffix, then prefix.

    ``(100, "ACT", "GCT")`` -> ``(100, "A", "G")``; ``(100, "AT", "ATT")`` ->
    ``(100, "A", "AT")`` (one anchor base kept for indels).
    """
    while len(ref) > 1 and len(alt) > 1 and ref[-1] == alt[-1]:
        ref, alt = ref[:-1], alt[:-1]
    while len(ref) > 1 and len(alt) > 1 and ref[0] == alt[0]:
        ref, alt, pos = ref[1:], alt[1:], pos + 1
    return pos, ref, alt


def split_alleles(
    rec: pysam.VariantRecord, info_keys: Iterable[str] = ()
) -> list[Allele]:
    """One :class:`Allele` per ALT of a record (multi-allelic records split), trimmed.

    REF/ALT are upper-cased. A record without ALT (``.``) gives one allele with alt ``.``
    (symbolic, never scored). ``info_keys`` values are copied as text (commas re-joined).
    """
    ref = (rec.ref or "").upper()
    alts = rec.alts or (".",)
    info = {}
    for key in info_keys:
        try:
            info[key] = info_text(rec.info.get(key))
        except ValueError:  # key not declared in this header
            info[key] = ""
    out = []
    for a in alts:
        a = a.upper()
        pos, r, t = (rec.pos, ref, a) if a.startswith("<") or a in (".", "*") else trim_allele(
            rec.pos, ref, a
        )
        out.append(Allele(rec.chrom, pos, r, t, rec.id or ".", len(alts), info))
    return out


def iter_alleles(
    vf: pysam.VariantFile,
    contig: str,
    start: int,
    end: int,
    info_keys: Iterable[str] = (),
) -> Iterator[tuple[pysam.VariantRecord, list[Allele]]]:
    """Records overlapping ``[start, end)`` (0-based) with their split alleles; streaming.

    Yields nothing when ``contig`` is absent from the VCF header.
    """
    if contig not in vf.header.contigs:
        return
    keys = tuple(info_keys)
    try:
        it = vf.fetch(contig, max(0, start), end)
    except ValueError:  # contig declared but absent from the index (no records)
        return
    for rec in it:
        yield rec, split_alleles(rec, keys)
