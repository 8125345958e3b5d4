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

    Streams ``src`` (BGZF, gzip or plain text) line by line. ``##contig`` header lines are
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
        ``"{src}:{line}: ..."`` for a malformed record or records that are not sorted
        (a contig reappearing, or positions going backwards within a contig).
    """
    src, dest = Path(src), Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".tmp.gz", dir=dest.parent)
    os.close(fd)
    cache: dict[bytes, bytes | None] = {}
    dropped: dict[str, int] = {}
    renamed: dict[str, str] = {}
    n_in = n_out = 0
    done_contigs: set[bytes] = set()
    cur: bytes | None = None
    last_pos = 0
    try:
        out = pysam.BGZFile(tmp, "wb")
        buf: list[bytes] = []
        size = 0
        header_done = False
        with _open_text(src) as fh:
            for lineno, line in enumerate(fh, start=1):
                if not header_done:
                    if line.startswith(b"##contig="):
                        continue
                    if line.startswith(b"##"):
                        buf.append(line)
                        continue
                    if line.startswith(b"#CHROM"):
                        for name, ln in lengths.items():
                            buf.append(f"##contig=<ID={name},length={ln}>\n".encode())
                        buf.append(f"##dnalm_normalise=<source={src.name}>\n".encode())
                        buf.append(line)
                        header_done = True
                        continue
                    raise ValueError(f"{src}:{lineno}: expected a header line, got {line[:40]!r}")
                if not line.strip():
                    continue
                n_in += 1
                tab = line.find(b"\t")
                if tab <= 0:
                    raise ValueError(f"{src}:{lineno}: record has no tab-separated CHROM column")
                chrom = line[:tab]
                if chrom not in cache:
                    name = chrom.decode()
                    canon = contig_map.canonical(name)
                    if canon is not None and canon not in lengths:
                        canon = None
                    cache[chrom] = canon.encode() if canon is not None else None
                    if canon is not None and canon != name:
                        renamed[name] = canon
                new = cache[chrom]
                if new is None:
                    name = chrom.decode()
                    dropped[name] = dropped.get(name, 0) + 1
                    continue
                tab2 = line.find(b"\t", tab + 1)
                try:
                    pos = int(line[tab + 1 : tab2])
                except ValueError:
                    raise ValueError(f"{src}:{lineno}: POS is not an integer") from None
                if new != cur:
                    if new in done_contigs:
                        raise ValueError(
                            f"{src}:{lineno}: records are not sorted (contig {new.decode()} "
                            "appears again after another contig); sort with `bcftools sort`"
                        )
                    if cur is not None:
                        done_contigs.add(cur)
                    cur, last_pos = new, 0
                if pos < last_pos:
                    raise ValueError(
                        f"{src}:{lineno}: records are not sorted (POS {pos} after {last_pos} "
                        f"on {new.decode()}); sort with `bcftools sort`"
                    )
                last_pos = pos
                buf.append(new + line[tab:] if new != chrom else line)
                size += len(line)
                n_out += 1
                if size >= _BLOCK:
                    out.write(b"".join(buf))
                    buf, size = [], 0
                if verbose and n_in % 10_000_000 == 0:
                    log.info("%s: %d records read", src, n_in)
        if not header_done:
            raise ValueError(f"{src}: no #CHROM header line (empty or not a VCF)")
        out.write(b"".join(buf))
        out.close()
        pysam.tabix_index(tmp, preset="vcf", force=True, keep_original=True)
        os.replace(tmp, dest)
        os.replace(tmp + ".tbi", str(dest) + ".tbi")
    except BaseException:
        for p in (tmp, tmp + ".tbi"):
            if os.path.exists(p):
                os.remove(p)
        raise
    counts = {
        "source": str(src),
        "records_in": n_in,
        "records_out": n_out,
        "records_dropped": n_in - n_out,
        "dropped_contigs": dict(sorted(dropped.items())),
        "renamed": dict(sorted(renamed.items())),
    }
    log.info(
        "%s -> %s: %d records kept, %d dropped on %d contigs not in the genome%s",
        src, dest, n_out, n_in - n_out, len(dropped),
        f" ({', '.join(list(dropped)[:10])})" if dropped else "",
    )
    return counts


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
