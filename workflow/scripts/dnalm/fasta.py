"""Reading an indexed genome FASTA window by window, strand-aware; small FASTA files record by record.

Sequences are read through :class:`pysam.FastaFile` (bgzip + ``.fai`` + ``.gzi``, or plain FASTA
+ ``.fai``); the genome is never held as Python strings. Contig aliases (``1``,
``NC_000001.11``) resolve through ``contigs.tsv`` (:class:`dnalm.contigs.ContigMap`).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

from dnalm.contigs import ContigMap
from dnalm.seq import revcomp
from dnalm.textio import open_text

__all__ = ["FastaLines", "Genome", "fasta_records", "open_indexed"]


class FastaLines(NamedTuple):
    """One record of :func:`fasta_records`: ``id`` (first word of the header), its ``>`` line
    number, and its non-empty sequence lines as (line number, stripped text)."""

    id: str
    line: int
    lines: list[tuple[int, str]]


def fasta_records(path: str | Path) -> Iterator[FastaLines]:
    """Records of a plain or gzipped FASTA file, streamed, with line numbers for error messages.

    Raises
    ------
    ValueError
        Naming ``path:line`` for an empty header or sequence before the first ``>`` header.
    """
    rec: FastaLines | None = None
    with open_text(path) as fh:
        for ln, line in enumerate(fh, 1):
            s = line.strip()
            if s.startswith(">"):
                if rec is not None:
                    yield rec
                toks = s[1:].split()
                if not toks:
                    raise ValueError(f"{path}:{ln}: empty FASTA header")
                rec = FastaLines(toks[0], ln, [])
            elif s:
                if rec is None:
                    raise ValueError(f"{path}:{ln}: sequence before the first '>' header")
                rec.lines.append((ln, s))
    if rec is not None:
        yield rec


def open_indexed(path: str | Path):  # -> pysam.FastaFile
    """``pysam.FastaFile`` of a plain or bgzip FASTA (an index is built beside it if missing).

    Raises
    ------
    ValueError
        Naming the file: not found, plain gzip (htslib cannot index it: recompress with
        bgzip), or not a FASTA htslib can open.
    """
    import pysam

    from dnalm.genome import sniff_compression

    p = Path(path)
    if not p.is_file():
        raise ValueError(f"{p}: genome FASTA not found")
    if sniff_compression(p) == "gzip":
        raise ValueError(f"{p}: plain gzip, which cannot be indexed; recompress it with bgzip "
                         f"(gzip -dc {p.name} | bgzip > genome.fa.gz) or give it uncompressed")
    try:
        return pysam.FastaFile(str(p))
    except (OSError, ValueError) as e:
        raise ValueError(f"{p}: cannot open as an indexed FASTA ({e}); plain FASTA or bgzip "
                         "with samtools faidx") from None


class Genome:
    """An indexed FASTA plus contig-name mapping.

    Parameters
    ----------
    fasta : str or Path
        bgzip FASTA with ``.fai``/``.gzi`` (or plain FASTA; an index is built if missing).
    contigs : str or Path, optional
        ``contigs.tsv``; lets :meth:`canonical` accept aliases (``1``, ``NC_000001.11``).
        Default is None (only the FASTA's own names).
    """

    def __init__(self, fasta: str | Path, contigs: str | Path | None = None):
        self.path = Path(fasta)
        self._fa = open_indexed(fasta)
        self.sizes: dict[str, int] = dict(zip(self._fa.references, self._fa.lengths, strict=True))
        self._map = ContigMap.from_tsv(contigs) if contigs else None

    def canonical(self, name: str) -> str | None:
        """The genome's name for contig ``name``, or None when it is not in the genome."""
        if name in self.sizes:
            return name
        if self._map is not None:
            c = self._map.canonical(name)
            if c is not None and c in self.sizes:
                return c
        return None

    def fetch(self, contig: str, start: int, end: int, strand: str = "+") -> str:
        """Uppercase sequence of ``[start, end)``; reverse-complemented when ``strand == '-'``.

        Raises ``ValueError`` when the window leaves the contig.
        """
        size = self.sizes.get(contig)
        if size is None:
            raise ValueError(f"contig {contig!r} is not in {self.path}")
        if start < 0 or end > size or start >= end:
            raise ValueError(f"window {contig}:{start}-{end} is outside the contig (length {size})")
        seq = self._fa.fetch(contig, start, end).upper()
        return revcomp(seq) if strand == "-" else seq

    def within(self, contig: str, start: int, end: int) -> bool:
        """True when ``[start, end)`` lies inside ``contig``."""
        return contig in self.sizes and 0 <= start < end <= self.sizes[contig]

    def close(self) -> None:
        """Close the FASTA handle."""
        self._fa.close()

    def __enter__(self) -> Genome:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
