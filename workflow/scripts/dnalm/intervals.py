"""Genome windows: the dataset record, strand-aware fetching, and random background windows.

Sequences are read window by window from an indexed FASTA (bgzip + ``.fai`` + ``.gzi`` or plain
FASTA + ``.fai``) through :class:`pysam.FastaFile`; the genome is never held as Python strings.
Regions to avoid (peaks, promoters) are merged, padded and complemented with pybedtools.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import tempfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import NamedTuple

import numpy as np

from dnalm import atomic

__all__ = [
    "Example",
    "Genome",
    "revcomp",
    "gc_fraction",
    "open_text",
    "sha256sum",
    "load_contig_map",
    "allowed_regions",
    "sample_windows",
    "atomic_write_bytes",
    "gzip_bytes",
]

_RC = str.maketrans("ACGTNacgtn", "TGCANtgcan")


class Example(NamedTuple):
    """One dataset row (see docs/ARCHITECTURE.md, "Dataset TSV").

    ``start``/``end`` are ``None`` for synthetic or imported rows (written as ``.``).
    ``group`` ties a synthetic negative to the positive it was derived from, so that both land
    in the same split; it is not written to the TSV.
    """

    sequence: str
    label: int
    contig: str = "."
    start: int | None = None
    end: int | None = None
    strand: str = "."
    source_id: str = "."
    group: str | None = None


def revcomp(seq: str) -> str:
    """Reverse complement (ACGTN, case kept)."""
    return seq.translate(_RC)[::-1]


def gc_fraction(seq: str) -> float:
    """Share of G/C among the A/C/G/T bases of ``seq`` (0.0 for a sequence without ACGT)."""
    s = seq.upper()
    gc = s.count("G") + s.count("C")
    at = s.count("A") + s.count("T")
    return gc / (gc + at) if gc + at else 0.0


def open_text(path: str | Path) -> io.TextIOBase:
    """Open a plain or gzip text file (detected by magic bytes) for reading, BOM stripped."""
    path = Path(path)
    with open(path, "rb") as fh:
        magic = fh.read(2)
    if magic == b"\x1f\x8b":
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8-sig", newline="")
    return open(path, encoding="utf-8-sig", newline="")


def sha256sum(path: str | Path) -> str:
    """SHA-256 of a file (or of the sorted files of a folder, name + bytes)."""
    h = hashlib.sha256()
    p = Path(path)
    files = sorted(q for q in p.rglob("*") if q.is_file()) if p.is_dir() else [p]
    for f in files:
        if p.is_dir():
            h.update(str(f.relative_to(p)).encode())
        with open(f, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
    return h.hexdigest()


def load_contig_map(path: str | Path):
    """The genome's contig-name table (``dnalm.contigs.ContigMap.from_tsv``)."""
    from dnalm.contigs import ContigMap

    return ContigMap.from_tsv(path)


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
        import pysam

        self.path = Path(fasta)
        self._fa = pysam.FastaFile(str(fasta))
        self.sizes: dict[str, int] = dict(zip(self._fa.references, self._fa.lengths, strict=True))
        self._map = load_contig_map(contigs) if contigs else None

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
        self._fa.close()

    def __enter__(self) -> Genome:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def allowed_regions(
    sizes: dict[str, int],
    exclude: Iterable[tuple[str, int, int]],
    margin: int = 0,
) -> list[tuple[str, int, int]]:
    """Genome minus the (padded, merged) ``exclude`` intervals, as BED-like tuples.

    Parameters
    ----------
    sizes : dict of contig -> length
    exclude : iterable of (contig, start, end), 0-based half-open
        Intervals on contigs missing from ``sizes`` are ignored.
    margin : int, optional
        bp added on both sides of each excluded interval. Default is 0.

    Returns
    -------
    regions : list of (contig, start, end)
    """
    import pybedtools

    excl = [(c, max(0, s - margin), min(sizes[c], e + margin)) for c, s, e in exclude if c in sizes]
    excl = [x for x in excl if x[1] < x[2]]
    if not excl:
        return [(c, 0, n) for c, n in sizes.items() if n > 0]
    with tempfile.TemporaryDirectory(prefix="dnalm_bed_") as tmp:
        gfile = Path(tmp) / "genome.txt"
        gfile.write_text("".join(f"{c}\t{n}\n" for c, n in sizes.items()))
        try:
            bt = pybedtools.BedTool(excl).sort(g=str(gfile)).merge()
            comp = bt.complement(g=str(gfile))
            out = [(iv.chrom, int(iv.start), int(iv.end)) for iv in comp]
        finally:
            pybedtools.helpers.cleanup(remove_all=False)  # this process's BedTool temp files
    return out


def sample_windows(
    genome: Genome,
    regions: list[tuple[str, int, int]],
    length: int,
    rng: np.random.Generator,
    batch: int = 1024,
    stranded: bool = True,
    max_draws: int = 1_000_000,
) -> Iterator[tuple[str, int, int, str, str]]:
    """Endless stream of random N-free windows lying wholly inside ``regions``.

    Parameters
    ----------
    genome : Genome
    regions : list of (contig, start, end)
        Allowed regions (from :func:`allowed_regions`).
    length : int
        Window length in bp.
    rng : numpy.random.Generator
    batch : int, optional
        Positions drawn per vectorised step. Default is 1024.
    stranded : bool, optional
        Draw the strand at random (minus windows reverse-complemented). Default is True.
    max_draws : int, optional
        Stop after this many draws. Default is 1,000,000.

    Yields
    ------
    (contig, start, end, strand, sequence)
        Sequence is uppercase, without N.
    """
    regs = [(c, s, e) for c, s, e in regions if e - s >= length]
    if not regs:
        raise ValueError(f"no allowed region is at least {length} bp long")
    n_starts = np.array([e - s - length + 1 for _, s, e in regs], dtype=np.float64)
    p = n_starts / n_starts.sum()
    draws = 0
    while draws < max_draws:
        idx = rng.choice(len(regs), size=batch, p=p)
        offs = np.floor(rng.random(batch) * n_starts[idx]).astype(np.int64)
        minus = rng.random(batch) < 0.5
        for i, off, m in zip(idx, offs, minus, strict=True):
            draws += 1
            c, s, _ = regs[int(i)]
            start = s + int(off)
            strand = "-" if (m and stranded) else "+"
            seq = genome.fetch(c, start, start + length, strand)
            if "N" in seq:
                continue
            yield c, start, start + length, strand, seq


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temp file in the same folder and ``os.replace``."""
    atomic.write_bytes(path, data)


def write_renamed(
    src: str | Path,
    out: str | Path,
    canonical: Callable[[str], str | None],
    fields: Callable[[str, int], list[str] | None],
) -> dict[str, int]:
    """Stream a tab-separated annotation to ``out`` (deterministic gzip), renaming column 1.

    Parameters
    ----------
    src, out : str or pathlib.Path
        Source (plain or gzip text) and destination, written atomically.
    canonical : callable
        Source contig name -> the genome's name, or None when the genome lacks it (the line
        keeps its name and is counted as ``unknown_contig``).
    fields : callable
        ``(line, line_number) -> columns`` for a record, None for a line copied unchanged
        (headers, comments); raises ``ValueError`` naming ``path:line`` for a bad record.

    Returns
    -------
    stats : dict
        ``lines`` (records), ``renamed``, ``unknown_contig``.
    """
    stats = {"lines": 0, "renamed": 0, "unknown_contig": 0}
    with (
        atomic.atomic_path(out) as tmp,
        open(tmp, "wb") as raw,
        gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=6) as gz,
        open_text(src) as fh,
    ):
        for ln, line in enumerate(fh, 1):
            f = fields(line, ln)
            if f is None:
                gz.write((line.rstrip("\r\n") + "\n").encode())
                continue
            stats["lines"] += 1
            g = canonical(f[0])
            if g is None:
                stats["unknown_contig"] += 1
            elif g != f[0]:
                stats["renamed"] += 1
                f[0] = g
            gz.write(("\t".join(f) + "\n").encode())
    return stats


def gzip_bytes(data: bytes) -> bytes:
    """Deterministic gzip (mtime 0, no file name)."""
    buf = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buf, mtime=0, compresslevel=6) as gz:
        gz.write(data)
    return buf.getvalue()
