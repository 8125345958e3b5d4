"""Streaming VCF access: contig renaming, BGZF + tabix indexing, multi-allelic splitting.

Memory never grows with the VCF: :func:`normalise_vcf` rewrites the file line by line
(bytes in, bytes out, in 1 MiB blocks) and :func:`iter_alleles` reads one tabix region
at a time. Real dbSNP (~700 M records) streams through in constant memory.

Coordinates: VCF POS is 1-based; :class:`Allele` keeps ``pos`` 1-based as in the file and
offers ``pos0`` (0-based) for genome slicing.
"""

from __future__ import annotations

import gzip
import json
import logging
import os
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pysam

from dnalm.clinvar import info_text

__all__ = [
    "Allele",
    "normalise_vcf",
    "is_bgzf",
    "ensure_index",
    "open_vcf",
    "split_alleles",
    "trim_allele",
    "iter_alleles",
    "load_contig_map",
    "write_counts",
    "prepare_vcf",
]

log = logging.getLogger("dnalm.vcf")

_BLOCK = 1 << 20


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
        return self.alt in (".", "*") or self.alt.startswith("<") or "[" in self.alt or "]" in self.alt


# ----------------------------------------------------------------------------- contigs


def load_contig_map(path: str | Path):
    """The genome's contig map (``dnalm.contigs.ContigMap.from_tsv(contigs.tsv)``)."""
    from dnalm.contigs import ContigMap

    return ContigMap.from_tsv(path)


# ----------------------------------------------------------------------------- files


def is_bgzf(path: str | Path) -> bool:
    """True when the file starts with a BGZF block header (gzip with the ``BC`` extra field)."""
    with open(path, "rb") as fh:
        head = fh.read(18)
    return len(head) >= 14 and head[:4] == b"\x1f\x8b\x08\x04" and head[12:14] == b"BC"


def _open_text(path: str | Path):
    with open(path, "rb") as fh:
        magic = fh.read(2)
    return gzip.open(path, "rb") if magic == b"\x1f\x8b" else open(path, "rb")


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


# ----------------------------------------------------------------------------- normalise


def normalise_vcf(
    src: str | Path,
    dest: str | Path,
    contig_map,
    lengths: Mapping[str, int],
    verbose: bool = False,
) -> dict:
    """Rename a VCF's contigs to the genome's names, drop the rest, write BGZF + tabix.

    Streams ``src`` (BGZF, gzip or plain text) in 1 MiB blocks of whole lines. ``##contig`` header lines are
    replaced by the genome's contigs (``lengths``, in that order); records on contigs
    ``contig_map.canonical`` cannot place, or that are not in ``lengths``, are dropped
    and counted. The output is written to a temporary file, indexed, then moved into
    place with its ``.tbi`` (nothing partial on failure).

    Parameters
    ----------
    src, dest : path
        Input VCF and output ``.vcf.gz`` (``dest + ".tbi"`` is written too).
    contig_map : object with ``canonical(name) -> str | None``
        Usually ``dnalm.contigs.ContigMap.from_tsv("contigs.tsv")``.
    lengths : mapping of str to int
        Genome contig lengths in FASTA order (``ContigMap.lengths``).
    verbose : bool, optional
        Log progress every 10 M records. Default is False.

    Returns
    -------
    counts : dict
        ``records_in``, ``records_out``, ``records_dropped``, ``dropped_contigs``
        ({name: records}), ``renamed`` ({source name: genome name}).

    Raises
    ------
    ValueError
        ``"{src}:{line}: ..."`` for a malformed record or a contig that reappears after
        another one; positions going backwards within a contig are caught by tabix
        indexing (``"{src}: tabix indexing ... failed"``).
    """
    src, dest = Path(src), Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".tmp.gz", dir=dest.parent)
    os.close(fd)
    st = _RenameState(contig_map, lengths, src)
    try:
        with _open_text(src) as fh, pysam.BGZFile(tmp, "wb") as out:
            header = []
            lineno = 0
            for line in fh:
                lineno += 1
                if line.startswith(b"##contig="):
                    continue
                if line.startswith(b"##"):
                    header.append(line)
                    continue
                if line.startswith(b"#CHROM"):
                    for name, ln in lengths.items():
                        header.append(f"##contig=<ID={name},length={ln}>\n".encode())
                    header.append(f"##dnalm_normalise=<source={src.name}>\n".encode())
                    header.append(line)
                    break
                raise ValueError(f"{src}:{lineno}: expected a header line, got {line[:40]!r}")
            else:
                raise ValueError(f"{src}: no #CHROM header line (empty or not a VCF)")
            out.write(b"".join(header))
            st.lineno = lineno
            for block in _line_blocks(fh, _BLOCK):
                out.write(st.block(block))
                if verbose and st.n_in // 10_000_000 != (st.n_in - block.count(b"\n")) // 10_000_000:
                    log.info("%s: %d records read", src, st.n_in)
        try:
            pysam.tabix_index(tmp, preset="vcf", force=True, keep_original=True)
        except OSError as e:
            raise ValueError(
                f"{src}: tabix indexing of the renamed records failed ({e}); positions are "
                "probably not sorted within a contig (see the htslib message above); sort "
                "with `bcftools sort`"
            ) from None
        os.replace(tmp, dest)
        os.replace(tmp + ".tbi", str(dest) + ".tbi")
    except BaseException:
        for p in (tmp, tmp + ".tbi"):
            if os.path.exists(p):
                os.remove(p)
        raise
    counts = {
        "source": str(src),
        "records_in": st.n_in,
        "records_out": st.n_out,
        "records_dropped": st.n_in - st.n_out,
        "dropped_contigs": dict(sorted(st.dropped.items())),
        "renamed": dict(sorted(st.renamed.items())),
    }
    log.info(
        "%s -> %s: %d records kept, %d dropped on %d contigs not in the genome%s",
        src, dest, st.n_out, st.n_in - st.n_out, len(st.dropped),
        f" ({', '.join(list(st.dropped)[:10])})" if st.dropped else "",
    )
    return counts


def _line_blocks(fh, size: int = _BLOCK) -> Iterator[bytes]:
    """Blocks of about ``size`` bytes that end on a line boundary (``\\n``-terminated)."""
    rest = b""
    while True:
        chunk = fh.read(size)
        if not chunk:
            break
        chunk = rest + chunk
        cut = chunk.rfind(b"\n") + 1
        rest = chunk[cut:]
        if cut:
            yield chunk[:cut]
    if rest:
        yield rest + b"\n"


class _RenameState:
    """Contig renaming of record blocks; whole single-contig blocks are renamed with one
    ``bytes.replace`` (C speed), blocks with a contig change line by line."""

    def __init__(self, contig_map, lengths: Mapping[str, int], src: Path) -> None:
        self.map, self.lengths, self.src = contig_map, lengths, src
        self.cache: dict[bytes, bytes | None] = {}
        self.dropped: dict[str, int] = {}
        self.renamed: dict[str, str] = {}
        self.done: set[bytes] = set()
        self.cur: bytes | None = None
        self.n_in = self.n_out = self.lineno = 0

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
        n = block.count(b"\n")
        tab = block.find(b"\t")
        chrom = block[:tab] if tab > 0 else b""
        if chrom and block.count(b"\n" + chrom + b"\t") == n - 1:
            self._enter(chrom, self.lineno + 1)
            self.lineno += n
            self.n_in += n
            new = self._new(chrom)
            if new is None:
                name = chrom.decode()
                self.dropped[name] = self.dropped.get(name, 0) + n
                return b""
            self.n_out += n
            if new == chrom:
                return block
            return new + block[len(chrom):].replace(b"\n" + chrom + b"\t", b"\n" + new + b"\t")
        out = []
        for line in block.split(b"\n")[:-1]:
            self.lineno += 1
            if not line.strip():
                continue
            self.n_in += 1
            tab = line.find(b"\t")
            if tab <= 0:
                raise ValueError(f"{self.src}:{self.lineno}: record has no tab-separated CHROM column")
            chrom = line[:tab]
            self._enter(chrom, self.lineno)
            new = self._new(chrom)
            if new is None:
                name = chrom.decode()
                self.dropped[name] = self.dropped.get(name, 0) + 1
                continue
            self.n_out += 1
            out.append((new + line[tab:] if new != chrom else line) + b"\n")
        return b"".join(out)


def write_counts(counts: Mapping, path: str | Path) -> None:
    """Write normalisation counts as JSON, atomically."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(counts, indent=2) + "\n")
    os.replace(tmp, path)


# ----------------------------------------------------------------------------- alleles


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


def prepare_vcf(
    src: Mapping[str, object],
    dest: str | Path,
    contigs_tsv: str | Path,
    counts_json: str | Path,
    verbose: bool = False,
) -> dict:
    """Obtain a configured VCF source and write the renamed, indexed copy plus its counts.

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
        The genome's ``contigs.tsv``.
    counts_json : path
        Where the counts of :func:`normalise_vcf` go (outside-genome contigs included).

    Returns
    -------
    counts : dict
    """
    from dnalm.config import is_local, local_path

    if not src or "url" not in src:
        raise ValueError("`src` needs a `url` key (annotations.<genome>.dbsnp/clinvar)")
    cmap = load_contig_map(contigs_tsv)
    url = str(src["url"])
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=dest.parent, prefix=".fetch_") as tmp:
        if is_local(url) and not src.get("md5") and not src.get("sha256"):
            path = Path(local_path(url))
        else:
            from dnalm.fetch import fetch

            name = Path(url.split("?")[0].rstrip("/")).name or "source.vcf.gz"
            path = Path(fetch(url, Path(tmp) / name, md5=src.get("md5"), sha256=src.get("sha256")))
        counts = normalise_vcf(path, dest, cmap, cmap.lengths, verbose=verbose)
    write_counts(counts, counts_json)
    return counts
