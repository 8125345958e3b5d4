"""Prepare a reference genome: validate, select contigs, bgzip with faidx indexes, name table.

``prepare_genome`` streams a FASTA (plain gzip, BGZF or uncompressed, told apart by magic
bytes) line by line, so memory stays flat whatever the chromosome sizes. Soft-masking
(lower case) is kept. Outputs, written in a temporary directory next to ``out_dir`` and then
moved into place:

- ``genome.fa.gz`` (BGZF, 60-bp lines) + ``genome.fa.gz.fai`` + ``genome.fa.gz.gzi``
- ``chrom.sizes`` (``name<TAB>length``, FASTA order)
- ``contigs.tsv`` (see ``dnalm.contigs``)
"""

from __future__ import annotations

import gzip
import io
import logging
import os
import re
import shutil
import tempfile
import zlib
from collections.abc import Iterator
from pathlib import Path

import pysam
from tqdm import tqdm

from dnalm.contigs import (
    ContigRecord,
    build_contig_table,
    parse_assembly_report,
    write_contig_table,
)
from dnalm.paths import download_origin

log = logging.getLogger(__name__)

FASTA = "genome.fa.gz"
FAI = "genome.fa.gz.fai"
GZI = "genome.fa.gz.gzi"
SIZES = "chrom.sizes"
CONTIGS = "contigs.tsv"
OUTPUTS = (FASTA, FAI, GZI, SIZES, CONTIGS)

_IUPAC = b"ACGTURYSWKMBDHVN"
_IUPAC_ANY_CASE = _IUPAC + _IUPAC.lower()
_LOWER = _IUPAC.lower()
_AMBIGUOUS = b"URYSWKMBDHV"  # written as N: every stage reads ACGT and N only
_TO_N = bytes.maketrans(_AMBIGUOUS + _AMBIGUOUS.lower(), b"N" * len(_AMBIGUOUS) + b"n" * len(_AMBIGUOUS))
_FLUSH_BYTES = 1 << 20  # sequence buffered per contig before writing full lines
_READ_BUFFER = 1 << 20

_MAGIC = {
    b"BZh": "bzip2",
    b"\xfd7zXZ\x00": "xz",
    b"\x28\xb5\x2f\xfd": "zstd",
    b"PK\x03\x04": "zip",
}


def sniff_compression(path: str | os.PathLike) -> str:
    """``"bgzf"``, ``"gzip"`` or ``"plain"``, from the file's first bytes (not its name).

    Raises ``ValueError`` naming the file for an empty file or an unsupported compression.
    """
    with open(path, "rb") as fh:
        head = fh.read(18)
    if not head:
        raise ValueError(f"{path}: empty file")
    if head[:2] == b"\x1f\x8b":
        # BGZF: gzip with FEXTRA whose first subfield is 'BC' (SAM spec section 4.1).
        is_bgzf = len(head) >= 16 and head[3] & 4 and head[12:14] == b"BC"
        return "bgzf" if is_bgzf else "gzip"
    for magic, name in _MAGIC.items():
        if head.startswith(magic):
            raise ValueError(
                f"{path}: {name}-compressed; only gzip/BGZF or plain FASTA is supported"
            )
    return "plain"


class _LineWrapper:
    """Write one contig's sequence to a binary stream as fixed-width lines, in chunks."""

    def __init__(self, out, width: int) -> None:
        self.out = out
        self.width = width
        self.buf = bytearray()

    def add(self, seq: bytes) -> None:
        self.buf += seq
        if len(self.buf) >= _FLUSH_BYTES:
            self._flush(final=False)

    def end(self) -> None:
        self._flush(final=True)

    def _flush(self, final: bool) -> None:
        w, buf = self.width, self.buf
        stop = len(buf) if final else len(buf) - len(buf) % w
        if stop:
            mv = memoryview(buf)
            self.out.write(b"\n".join(mv[i : min(i + w, stop)] for i in range(0, stop, w)))
            self.out.write(b"\n")
            mv.release()
        del buf[:stop]


def _fragments(path: Path, kind: str, bar: tqdm) -> Iterator[bytes]:
    """Decompressed lines of ``path`` in pieces of at most ``_READ_BUFFER`` bytes.

    A piece not ending in ``\\n`` continues on the next one, so a chromosome written on a
    single line never has to fit in memory. ``bar`` advances by compressed bytes read.
    """
    with open(path, "rb", buffering=_READ_BUFFER) as raw:
        if kind == "plain":
            stream: io.BufferedIOBase = raw
        else:
            stream = io.BufferedReader(gzip.GzipFile(fileobj=raw, mode="rb"), _READ_BUFFER)
        last = 0
        limit = _READ_BUFFER
        for i, piece in enumerate(iter(lambda: stream.readline(limit), b"")):
            yield piece
            if not i & 0xFFF:
                pos = raw.tell()
                bar.update(pos - last)
                last = pos
        bar.update(raw.tell() - last)


class _Scanner:
    """Validate FASTA lines, pick contigs by regex and stream the kept ones to a writer."""

    def __init__(self, src: Path, pattern: re.Pattern[str], out, line_width: int) -> None:
        self.src = src
        self.pattern = pattern
        self.out = out
        self.wrapper = _LineWrapper(out, line_width)
        self.kept: list[tuple[str, int]] = []
        self.seen: dict[str, int] = {}
        self.stats = {"bases": 0, "masked": 0, "n": 0, "ambiguous": 0}
        self.name: str | None = None
        self.keep = False
        self.length = 0
        self.header_line = 0
        self.lineno = 0

    def finish(self) -> None:
        if self.name is None or not self.keep:
            return
        if self.length == 0:
            raise ValueError(f"{self.src}:{self.header_line}: contig {self.name!r} has no sequence")
        self.wrapper.end()
        self.kept.append((self.name, self.length))

    def header(self, line: bytes, lineno: int) -> None:
        self.finish()
        fields = line[1:].split(None, 1)
        if not fields:
            raise ValueError(f"{self.src}:{lineno}: empty contig name in header")
        try:
            name = fields[0].decode("ascii")
        except UnicodeDecodeError:
            raise ValueError(f"{self.src}:{lineno}: non-ASCII contig name {fields[0]!r}") from None
        if name in self.seen:
            raise ValueError(
                f"{self.src}:{lineno}: duplicate contig name {name!r} "
                f"(first seen at line {self.seen[name]})"
            )
        self.seen[name] = lineno
        self.name, self.header_line, self.length = name, lineno, 0
        self.keep = self.pattern.fullmatch(name) is not None
        if self.keep:
            self.out.write(b">" + fields[0] + b"\n")

    def sequence(self, seq: bytes, lineno: int, col0: int) -> None:
        bad = seq.translate(None, _IUPAC_ANY_CASE)
        if bad:
            col = col0 + seq.index(bad[:1]) + 1
            raise ValueError(
                f"{self.src}:{lineno}: illegal character {chr(bad[0])!r} at column {col} "
                f"(expected IUPAC nucleotide letters)"
            )
        if self.name is None:
            raise ValueError(f"{self.src}:{lineno}: sequence before first '>' header")
        self.length += len(seq)
        if self.keep:
            ambiguous = len(seq) - len(seq.translate(None, _AMBIGUOUS + _AMBIGUOUS.lower()))
            if ambiguous:  # the dataset builders drop windows with N; an R went into the TSVs
                seq = seq.translate(_TO_N)
                self.stats["ambiguous"] += ambiguous
            self.wrapper.add(seq)
            self.stats["bases"] += len(seq)
            self.stats["masked"] += len(seq) - len(seq.translate(None, _LOWER))
            self.stats["n"] += seq.count(b"N") + seq.count(b"n")

    def run(self, pieces: Iterator[bytes]) -> int:
        """Consume the pieces; return the number of lines read."""
        lineno = 0
        col0 = 0  # column offset of this piece within its line
        head: bytes | None = None  # a header line still being read
        continuing = False
        for piece in pieces:
            if not continuing:
                lineno += 1
                self.lineno = lineno
                col0 = 0
            complete = piece.endswith(b"\n")
            text = piece.rstrip(b"\r\n")
            if head is not None:
                head += text
            elif not continuing and text[:1] == b">":
                head = text
            elif text:
                self.sequence(text, lineno, col0)
            col0 += len(text)
            if head is not None and complete:
                self.header(head, lineno)
                head = None
            continuing = not complete
        if head is not None:
            self.header(head, lineno)
        self.finish()
        return lineno


def _scan(
    src: Path,
    kind: str,
    pattern: re.Pattern[str],
    out,
    line_width: int,
    verbose: bool,
) -> tuple[list[tuple[str, int]], list[str], dict[str, int]]:
    """Validate ``src`` and write kept contigs to ``out``; return (kept, all names, stats)."""
    scanner = _Scanner(src, pattern, out, line_width)
    bar = tqdm(
        total=src.stat().st_size,
        unit="B",
        unit_scale=True,
        unit_divisor=1024,
        desc=f"genome {src.name}",
        disable=not verbose,
        mininterval=2.0,
    )
    try:
        with bar:
            scanner.run(_fragments(src, kind, bar))
    except (EOFError, gzip.BadGzipFile, zlib.error) as e:
        where = f"line {scanner.lineno}" + (f", contig {scanner.name!r}" if scanner.name else "")
        raise ValueError(f"{src}: truncated or corrupt gzip stream after {where}: {e}") from None
    if not scanner.seen:
        raise ValueError(f"{src}: empty file (no FASTA records)")
    return scanner.kept, list(scanner.seen), scanner.stats


def prepare_genome(
    src_path: str | os.PathLike,
    out_dir: str | os.PathLike,
    contig_regex: str,
    assembly_report: str | os.PathLike | None = None,
    line_width: int = 60,
    verbose: bool = True,
) -> list[ContigRecord]:
    """Validate a FASTA, keep the contigs matching a regex, write a bgzipped indexed genome.

    Parameters
    ----------
    src_path : str or os.PathLike
        FASTA, plain gzip, BGZF or uncompressed (detected by magic bytes).
    out_dir : str or os.PathLike
        Receives ``genome.fa.gz`` (+ ``.fai``, ``.gzi``), ``chrom.sizes`` and ``contigs.tsv``.
        Other files in it are left alone.
    contig_regex : str
        Contigs whose name (first token of the header) ``re.fullmatch`` this are kept.
        IUPAC ambiguity codes (``R``, ``Y``, ... and ``U``) are written as ``N`` (soft-masked
        ones as ``n``), counted and logged: every stage reads ACGT and N only, so windows over
        them are dropped like windows over gaps.
    assembly_report : str or os.PathLike, optional
        NCBI assembly report for the name table. Default is None (derive chrN<->N, chrM<->MT).
    line_width : int, optional
        Bases per FASTA line. Default is 60.
    verbose : bool, optional
        Show a tqdm progress bar over the input bytes. Default is True.

    Returns
    -------
    table : list of ContigRecord, length=n_kept_contigs
        The rows of ``contigs.tsv``, FASTA order.

    Raises
    ------
    ValueError
        ``"<file>:<line>: ..."`` for a malformed FASTA (sequence before the first header,
        illegal character, duplicate name, empty contig), ``"<file>: ..."`` for an empty file
        or a truncated gzip stream, and a message naming the regex when no contig matches.
    """
    try:
        return _prepare_genome(Path(src_path), Path(out_dir), contig_regex, assembly_report,
                               line_width, verbose)  # fmt: skip
    except ValueError as e:
        origin = download_origin(src_path)
        if origin is None or not str(e).startswith(str(src_path)):  # e.g. the assembly report's
            raise
        raise ValueError(f"{e}\n({src_path} is the download of config {origin}; line numbers "
                         "count lines of the uncompressed FASTA)") from None


def _prepare_genome(
    src: Path,
    out_dir: Path,
    contig_regex: str,
    assembly_report: str | os.PathLike | None,
    line_width: int,
    verbose: bool,
) -> list[ContigRecord]:
    if isinstance(line_width, bool) or not isinstance(line_width, int) or line_width < 1:
        raise ValueError(f"`line_width` must be a positive integer, got {line_width!r}")
    try:
        pattern = re.compile(contig_regex)
    except (re.error, TypeError) as e:
        raise ValueError(f"`contig_regex` {contig_regex!r} is not a valid regex: {e}") from None
    kind = sniff_compression(src)
    report = parse_assembly_report(assembly_report) if assembly_report else None
    log.info("reading %s (%s), keeping contigs matching %r", src, kind, contig_regex)

    out_dir.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", suffix=".tmp", dir=out_dir.parent))
    try:
        fa = tmp / FASTA
        with pysam.BGZFile(str(fa), "wb") as out:
            kept, names, stats = _scan(src, kind, pattern, out, line_width, verbose)
        if not kept:
            shown = ", ".join(names[:20]) + (
                f" ... ({len(names)} in all)" if len(names) > 20 else ""
            )
            raise ValueError(
                f"{src}: no contig name matches the regex {contig_regex!r} (re.fullmatch); "
                f"names seen: {shown}"
            )
        table = build_contig_table(kept, report)
        pysam.faidx(str(fa))
        _check_index(tmp / FAI, kept)
        with open(tmp / SIZES, "w", encoding="ascii") as fh:
            fh.writelines(f"{n}\t{n_bp}\n" for n, n_bp in kept)
        write_contig_table(table, tmp / CONTIGS)
        for fname in OUTPUTS:
            os.replace(tmp / fname, out_dir / fname)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    dropped = len(names) - len(kept)
    log.info(
        "kept %d of %d contigs (%d dropped), %d bp, %.1f%% soft-masked, %.2f%% N",
        len(kept),
        len(names),
        dropped,
        stats["bases"],
        100 * stats["masked"] / max(stats["bases"], 1),
        100 * stats["n"] / max(stats["bases"], 1),
    )
    if stats["ambiguous"]:
        log.warning("%s: %d IUPAC ambiguity codes (R, Y, K, M, ...) written as N", src, stats["ambiguous"])
    return table


def _check_index(fai: Path, kept: list[tuple[str, int]]) -> None:
    """The .fai must list exactly the contigs and lengths that were written."""
    with open(fai, encoding="ascii") as fh:
        got = [(f[0], int(f[1])) for f in (line.split("\t") for line in fh)]
    if got != kept:
        raise RuntimeError(f"{fai}: index disagrees with the written contigs")
