"""Validating and normalising a VCF at the workflow's boundary (rule ``vcf_normalise``).

Memory never grows with the VCF: :func:`normalise_vcf` rewrites the file line by line
(bytes in, bytes out, in 1 MiB blocks), then bgzips and tabix-indexes it, so real dbSNP
(~700 M records) streams through in constant memory. Reading: :mod:`dnalm.vcf`.

What :func:`normalise_vcf` accepts, drops and rejects (the workflow's boundary for VCFs):

- **Errors** (``ValueError("<file>:<line>: ...")``, nothing written): a first line that is not
  ``##fileformat=VCF...``; a ``#CHROM`` line without the 8 fixed columns ``CHROM POS ID REF ALT
  QUAL FILTER INFO`` (a 9th must be ``FORMAT``); a record whose tab-separated column count
  differs from the ``#CHROM`` line's; an empty CHROM; POS that is not a plain integer; POS
  outside ``1..contig length`` on a genome contig (the VCF is for another assembly); REF that
  is not ``A/C/G/T/N`` bases (any case); an ALT allele that is none of: bases, ``*``,
  ``<ID>``, a breakend; a contig that reappears after another one. A truncated or corrupt
  gzip stream names the file (:func:`dnalm.textio.gzip_error`).
- **Dropped and counted** (``counts["dropped"]``): ``unknown_contig`` (the genome lacks the
  contig; per-name counts in ``dropped_contigs``), ``no_alt`` (ALT ``.``: no alternate allele)
  and ``symbolic_alt`` (every ALT is ``*``, ``<ID>`` or a breakend: nothing to score).
  Records with at least one base ALT are kept whole; their symbolic alleles are skipped at
  scoring. Blank lines are ignored.
"""

from __future__ import annotations

import gzip
import logging
import re
import tempfile
import zlib
from collections.abc import Iterator, Mapping
from pathlib import Path

import pysam

from dnalm import atomic, textio
from dnalm.contigs import ContigMap
from dnalm.vcf import SYMBOLIC as _SYMBOLIC

__all__ = ["normalise_vcf", "prepare_vcf"]

log = logging.getLogger("dnalm.vcf_prepare")

_BLOCK = 1 << 20
_FIXED = (b"#CHROM", b"POS", b"ID", b"REF", b"ALT", b"QUAL", b"FILTER", b"INFO")
_GZIP_ERRORS = (EOFError, zlib.error, gzip.BadGzipFile)  # what a truncated/corrupt stream raises
_BASES = b"ACGTNacgtn"


class _Reader:
    """Plain or gzip bytes, as header lines then blocks of whole lines; gzip errors name the file."""

    def __init__(self, path: Path, size: int) -> None:
        if not path.is_file():
            raise ValueError(f"{path}: VCF file not found")
        self.path, self.size = path, size
        self._fh = (gzip.open if textio.is_gzip(path) else open)(path, "rb")
        self._buf, self._at = b"", 0

    def __enter__(self) -> _Reader:
        return self

    def __exit__(self, *exc) -> None:
        self._fh.close()

    def _read(self) -> bytes:
        try:
            return self._fh.read(self.size)
        except _GZIP_ERRORS as e:
            raise textio.gzip_error(self.path, e) from None

    def readline(self) -> bytes:
        """The next line with its ``\\n`` (added when the file lacks one); ``b""`` at the end."""
        while True:
            i = self._buf.find(b"\n", self._at)
            if i >= 0:
                line, self._at = self._buf[self._at:i + 1], i + 1
                return line
            chunk = self._read()
            if not chunk:
                line, self._buf, self._at = self._buf[self._at:], b"", 0
                return line + b"\n" if line else b""
            self._buf, self._at = self._buf[self._at:] + chunk, 0

    def blocks(self) -> Iterator[bytes]:
        """The rest of the file in blocks of about ``size`` bytes that end on a line boundary."""
        rest = self._buf[self._at:]
        self._buf, self._at = b"", 0
        while True:
            chunk = self._read()
            if not chunk:
                break
            chunk = rest + chunk
            cut = chunk.rfind(b"\n") + 1
            rest = chunk[cut:]
            if cut:
                yield chunk[:cut]
        if rest:
            yield rest + b"\n"


# ----------------------------------------------------------------------------- normalise


def normalise_vcf(
    src: str | Path,
    dest: str | Path,
    contig_map,
    lengths: Mapping[str, int],
    verbose: bool = False,
) -> dict:
    """Validate a VCF, rename its contigs to the genome's names, drop the rest, write BGZF + tabix.

    Streams ``src`` (BGZF, gzip or plain text) in 1 MiB blocks of whole lines. ``##contig``
    header lines are replaced by the genome's contigs (``lengths``, in that order). What is an
    error and what is dropped (and counted) is listed in the module docstring. The output and
    its ``.tbi`` are written to temporary siblings and moved into place only when complete.

    Parameters
    ----------
    src, dest : path
        Input VCF and output ``.vcf.gz`` (``dest + ".tbi"`` is written too).
    contig_map : object with ``canonical(name) -> str | None``
        Usually ``dnalm.contigs.ContigMap.from_tsv("contigs.tsv")``.
    lengths : mapping of str to int
        Genome contig lengths in FASTA order (``ContigMap.lengths``); POS must lie in
        ``1..lengths[contig]``.
    verbose : bool, optional
        Log progress every 10 M records. Default is False.

    Returns
    -------
    counts : dict
        ``source``, ``records_in``, ``records_out``, ``records_dropped`` (the sum of
        ``dropped``), ``dropped`` ({``unknown_contig``, ``no_alt``, ``symbolic_alt``: records}),
        ``dropped_contigs`` ({name: records}), ``renamed`` ({source name: genome name}).

    Raises
    ------
    ValueError
        ``"{src}:{line}: ..."`` for a malformed header or record (see the module docstring);
        positions going backwards within a contig are caught by tabix indexing, and the line
        is then found by a second read of ``src`` (``"{src}:{line}: POS ... is before ..."``).
    """
    src, dest = Path(src), Path(dest)
    with _Reader(src, _BLOCK) as fh:
        header, ncols, lineno = _read_header(fh, src, lengths)
        st = _Records(contig_map, lengths, src, ncols, lineno)
        with atomic.atomic_path(dest) as tmp, atomic.atomic_path(f"{dest}.tbi") as tmp_tbi:
            with pysam.BGZFile(str(tmp), "wb") as out:
                out.write(header)
                for block in fh.blocks():
                    n_before = st.n_in
                    out.write(st.block(block))
                    if verbose and st.n_in // 10_000_000 != n_before // 10_000_000:
                        log.info("%s: %d records read", src, st.n_in)
            try:
                pysam.tabix_index(str(tmp), preset="vcf", force=True, keep_original=True,
                                  index=str(tmp_tbi))
            except OSError:
                where = st.locate_disorder()  # the source line tabix (on the output) cannot give
                raise ValueError(
                    where or f"{src}: tabix indexing of the normalised records failed (see the "
                    "htslib message above); are positions sorted within each contig? Sort with "
                    "`bcftools sort`"
                ) from None
    dropped = {"unknown_contig": sum(st.dropped.values()), **st.skipped}
    counts = {
        "source": str(src),
        "records_in": st.n_in,
        "records_out": st.n_out,
        "records_dropped": sum(dropped.values()),
        "dropped": dropped,
        "dropped_contigs": dict(sorted(st.dropped.items())),
        "renamed": dict(sorted(st.renamed.items())),
    }
    log.info(
        "%s -> %s: %d records kept; dropped %d on %d contigs not in the genome%s, %d without "
        "ALT, %d with only symbolic ALTs", src, dest, st.n_out, dropped["unknown_contig"],
        len(st.dropped), f" ({', '.join(list(st.dropped)[:10])})" if st.dropped else "",
        dropped["no_alt"], dropped["symbolic_alt"],
    )
    return counts


def _read_header(fh: _Reader, src: Path, lengths: Mapping[str, int]) -> tuple[bytes, int, int]:
    """Validated header with the genome's ``##contig`` lines; column count; lines read."""
    first = fh.readline()
    if not first:
        raise ValueError(f"{src}: empty file, not a VCF")
    first = first.removeprefix(b"\xef\xbb\xbf")
    if not first.startswith(b"##fileformat=VCF"):
        raise ValueError(f"{src}:1: not a VCF: the first line must be ##fileformat=VCFv4.x, "
                         f"got {first[:40]!r}")
    header, lineno, line = [first], 1, first
    while True:
        line = fh.readline()
        if not line:
            raise ValueError(f"{src}: no #CHROM header line after {lineno} lines")
        lineno += 1
        if line.startswith(b"##contig="):
            continue
        if line.startswith(b"##"):
            header.append(line)
            continue
        if line.startswith(b"#CHROM"):
            break
        raise ValueError(f"{src}:{lineno}: expected a ## header line or #CHROM, got {line[:40]!r}")
    cols = line.rstrip(b"\r\n").split(b"\t")
    if tuple(cols[:8]) != _FIXED or (len(cols) > 8 and cols[8] != b"FORMAT"):
        raise ValueError(
            f"{src}:{lineno}: the #CHROM line must hold the 8 tab-separated columns "
            f"{' '.join(c.decode() for c in _FIXED)} (then FORMAT and samples), got "
            f"{len(cols)}: {line[:80]!r}"
        )
    header += [f"##contig=<ID={name},length={ln}>\n".encode() for name, ln in lengths.items()]
    header += [f"##dnalm_normalise=<source={src.name}>\n".encode(), line]
    return b"".join(header), len(cols), lineno


def _block_pattern(ncols: int) -> re.Pattern[bytes]:
    """Whole-block match of plain records: ``ncols`` columns, POS digits without a leading
    zero, REF and every ALT bases. One C call validates a block; anything else (symbolic or
    missing ALT, blank lines, errors) goes through the line path."""
    field_ = rb"\t[^\t\n]*+"
    bases = rb"[ACGTNacgtn]++"
    record = (rb"[^\t\n]++\t[1-9][0-9]*+" + field_ + rb"\t" + bases + rb"\t" + bases
              + rb"(?:," + bases + rb")*+" + field_ * (ncols - 5) + rb"\n")
    return re.compile(rb"(?:" + record + rb")*+")


class _Records:
    """Validation and contig renaming of record blocks.

    Fast path: a block whose records all lie on one contig and all match
    :func:`_block_pattern` is renamed with one ``bytes.replace`` (C speed); its last POS is
    checked against the contig length, which bounds every POS of the block because tabix
    refuses positions that go backwards. Every other block goes line by line, which also
    finds the line of any error.
    """

    def __init__(self, contig_map, lengths: Mapping[str, int], src: Path, ncols: int,
                 lineno: int) -> None:
        self.map, self.lengths, self.src, self.ncols = contig_map, lengths, src, ncols
        self.rx = _block_pattern(ncols)
        self.cache: dict[bytes, bytes | None] = {}
        self.dropped: dict[str, int] = {}
        self.skipped = {"no_alt": 0, "symbolic_alt": 0}
        self.renamed: dict[str, str] = {}
        self.done: set[bytes] = set()
        self.cur: bytes | None = None
        self.n_in = self.n_out = 0
        self.lineno = lineno

    def _new(self, chrom: bytes) -> bytes | None:
        if chrom not in self.cache:
            name = chrom.decode()
            canon = self.map.canonical(name)
            if canon is not None and canon not in self.lengths:
                canon = None
            self.cache[chrom] = canon.encode() if canon is not None else None
            if canon is not None and canon != name:
                self.renamed[name] = canon
        return self.cache[chrom]

    def _enter(self, chrom: bytes, lineno: int) -> None:
        if chrom != self.cur:
            if chrom in self.done:
                raise ValueError(
                    f"{self.src}:{lineno}: records are not sorted (contig {chrom.decode()} "
                    "appears again after another contig); sort with `bcftools sort`"
                )
            if self.cur is not None:
                self.done.add(self.cur)
            self.cur = chrom

    def block(self, block: bytes) -> bytes:
        """The kept records of ``block`` (whole ``\\n``-terminated lines), renamed."""
        n = block.count(b"\n")
        tab = block.find(b"\t")
        chrom = block[:tab] if tab > 0 else b""
        if chrom and block.count(b"\n" + chrom + b"\t") == n - 1 and self.rx.fullmatch(block):
            new = self._new(chrom)
            last = block[block.rfind(b"\n", 0, len(block) - 1) + 1:]
            if new is None or int(last.split(b"\t", 2)[1]) <= self.lengths[new.decode()]:
                self._enter(chrom, self.lineno + 1)
                self.lineno += n
                self.n_in += n
                if new is None:
                    name = chrom.decode()
                    self.dropped[name] = self.dropped.get(name, 0) + n
                    return b""
                self.n_out += n
                if new == chrom:
                    return block
                return new + block[len(chrom):].replace(b"\n" + chrom + b"\t", b"\n" + new + b"\t")
        return b"".join(self._line(line) for line in block.split(b"\n")[:-1])

    def locate_disorder(self) -> str | None:
        """``"<src>:<line>: ..."`` for the first kept record whose POS goes backwards on its
        contig or lies past its end, read again from ``src`` (the fast path checks neither for
        every record; tabix finds the first, on the output); None when there is none."""
        last: dict[bytes, int] = {}
        with _Reader(self.src, _BLOCK) as fh:
            lineno = 0
            for block in fh.blocks():
                for line in block.split(b"\n")[:-1]:
                    lineno += 1
                    if line.startswith(b"#") or not line.strip():
                        continue
                    f = line.split(b"\t", 2)
                    new = self._new(f[0]) if len(f) > 2 and f[1].isdigit() else None
                    if new is None:
                        continue
                    pos, clen = int(f[1]), self.lengths[new.decode()]
                    if pos > clen:
                        return (f"{self.src}:{lineno}: POS {pos} is outside 1..{clen}, the length "
                                f"of {new.decode()} in the genome (a VCF for another assembly?)")
                    if pos < last.get(new, 0):
                        return (f"{self.src}:{lineno}: POS {pos} is before the previous record's "
                                f"POS {last[new]} on {f[0].decode()}: records are not sorted "
                                "within a contig; sort with `bcftools sort`")
                    last[new] = pos
        return None

    def _line(self, line: bytes) -> bytes:
        """One record line (without ``\\n``) validated: itself renamed, or ``b""`` if dropped."""
        self.lineno += 1
        if not line.strip():
            return b""
        where = f"{self.src}:{self.lineno}"
        f = line.rstrip(b"\r").split(b"\t")
        if len(f) != self.ncols:
            raise ValueError(f"{where}: record has {len(f)} tab-separated columns, the #CHROM "
                             f"line has {self.ncols}")
        chrom, pos, ref, alt = f[0], f[1], f[3], f[4]
        if not chrom:
            raise ValueError(f"{where}: empty CHROM")
        if not pos.isdigit():
            raise ValueError(f"{where}: POS {pos.decode(errors='replace')!r} is not an integer")
        if not ref or ref.strip(_BASES):
            raise ValueError(f"{where}: REF {ref.decode(errors='replace')!r} is not A/C/G/T/N bases")
        kind = _alt_kind(alt, where)
        self.n_in += 1
        self._enter(chrom, self.lineno)
        new = self._new(chrom)
        if new is None:
            name = chrom.decode()
            self.dropped[name] = self.dropped.get(name, 0) + 1
            return b""
        clen = self.lengths[new.decode()]
        if not 1 <= int(pos) <= clen:
            raise ValueError(f"{where}: POS {int(pos)} is outside 1..{clen}, the length of "
                             f"{new.decode()} in the genome (a VCF for another assembly?)")
        if kind != "bases":
            self.skipped[kind] += 1
            return b""
        self.n_out += 1
        return (new + line[len(chrom):] if new != chrom else line) + b"\n"


def _alt_kind(alt: bytes, where: str) -> str:
    """``"bases"`` when some ALT allele is plain bases, else ``"no_alt"`` (ALT ``.``) or
    ``"symbolic_alt"``; raises naming ``where`` for an allele that is none of these."""
    if alt == b".":
        return "no_alt"
    kind = "symbolic_alt"
    for a in alt.split(b","):
        if a and not a.strip(_BASES):
            kind = "bases"
        elif not _SYMBOLIC.fullmatch(a):
            raise ValueError(f"{where}: ALT allele {a.decode(errors='replace')!r} is not "
                             "A/C/G/T/N bases, '*', '<ID>' or a breakend")
    return kind


# ----------------------------------------------------------------------------- alleles


def prepare_vcf(
    src: Mapping[str, object],
    dest: str | Path,
    contigs_tsv: str | Path,
    counts_json: str | Path,
    verbose: bool = False,
) -> dict:
    """Obtain a configured VCF source and write the validated, renamed, indexed copy plus its counts.

    Local sources without checksums are read in place; remote or checksummed ones are
    fetched with ``dnalm.fetch.fetch`` into a temporary folder next to ``dest`` (removed
    afterwards) and then streamed through :func:`normalise_vcf`.

    Parameters
    ----------
    src : mapping
        ``{url, md5?, sha256?}`` from ``annotations.<genome>.dbsnp`` / ``.clinvar``.
    dest : path
        Output ``.vcf.gz`` (``.tbi`` next to it).
    contigs_tsv : path
        The genome's ``contigs.tsv`` (names, aliases and lengths).
    counts_json : path
        Where the counts of :func:`normalise_vcf` go (dropped records included).

    Returns
    -------
    counts : dict
    """
    from dnalm.fetch import obtain

    if not src or "url" not in src:
        raise ValueError("`src` needs a `url` key (annotations.<genome>.dbsnp/clinvar)")
    cmap = ContigMap.from_tsv(contigs_tsv)
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=dest.parent, prefix=".fetch_") as tmp:
        path = obtain(src, tmp, "source.vcf.gz")
        counts = normalise_vcf(path, dest, cmap, cmap.lengths, verbose=verbose)
    atomic.write_json(counts_json, counts)
    return counts
