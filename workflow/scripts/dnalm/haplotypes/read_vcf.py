"""Read a region of a phased VCF into a haplotype matrix (streamed with pysam).

Kept: biallelic SNPs (one-base REF and ALT among A, C, G, T) with every genotype phased and
called. Skipped, with a count in :attr:`Haplotypes.skipped`: multi-allelic records
(``multiallelic``), indels and symbolic alleles (``not_snp``), monomorphic sites and sites with
minor-allele frequency below ``min_maf`` (``low_maf``) and a second record at a position already
kept (``repeated_position``). Errors, naming ``file:line`` (the VCF text line, when the file is
read from the start) or ``file:contig:pos`` (a region read through the index): an unphased
genotype (``0/1``), a missing allele (``.|0``, ``.``), a genotype that is not diploid, an allele
index other than 0/1 at a biallelic site, and a record without a ``GT`` field.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pysam

from dnalm.haplotypes.store import Haplotypes
from dnalm.textio import open_text

__all__ = ["read_haplotypes"]

log = logging.getLogger(__name__)
_BASES = frozenset("ACGT")


def _parse_region(region: str) -> tuple[str, int | None, int | None]:
    """``chr:start-end`` (1-based, inclusive, commas allowed) or ``chr``."""
    if ":" not in region:
        return region, None, None
    contig, span = region.rsplit(":", 1)
    try:
        a, b = span.replace(",", "").split("-")
        start, end = int(a), int(b)
    except ValueError as e:
        raise ValueError(
            f"region {region!r}: expected contig:start-end (1-based, inclusive)"
        ) from e
    if start < 1 or end < start:
        raise ValueError(f"region {region!r}: need 1 <= start <= end")
    return contig, start, end


def _resolve_contig(vf: pysam.VariantFile, contig: str, path: Path) -> str:
    """The header's name for ``contig``, accepting a ``chr`` prefix difference (``chr20`` vs ``20``)."""
    names = list(vf.header.contigs)
    if contig in names or not names:
        return contig
    alt = contig[3:] if contig.startswith("chr") else "chr" + contig
    if alt in names:
        log.info("%s: contig %r is named %r in this VCF", path, contig, alt)
        return alt
    raise ValueError(
        f"{path}: contig {contig!r} is not in the VCF header (has {', '.join(names[:5])}, ...)"
    )


def _header_lines(path: Path) -> int:
    """Lines before the first record (``#`` lines), counted in the file itself."""
    n = 0
    with open_text(path) as fh:
        for line in fh:
            if not line.startswith("#"):
                break
            n += 1
    return n


def _genotypes(fields: list[str], where: str) -> np.ndarray:
    """The ``2 * n_samples`` alleles (int8) of one record's sample columns; errors name ``where``."""
    fmt = fields[8].split(":") if len(fields) > 8 else []
    if not fmt or fmt[0] != "GT":
        raise ValueError(
            f"{where}: no GT field (FORMAT is {fields[8] if len(fields) > 8 else 'missing'!r})"
        )
    gts = fields[9:] if len(fmt) == 1 else [f.split(":", 1)[0] for f in fields[9:]]
    joined = "\t".join(gts).encode()
    if len(joined) == 4 * len(gts) - 1:  # every GT is exactly 3 characters: the fast path
        b = np.frombuffer(joined + b"\t", dtype=np.uint8).reshape(-1, 4)
        ok = (b[:, 1] == ord("|")) & np.isin(b[:, 0], (48, 49)) & np.isin(b[:, 2], (48, 49))
        if ok.all():
            return (b[:, [0, 2]] - 48).astype(np.int8).ravel()
        bad = int(np.flatnonzero(~ok)[0])
    else:
        bad = next(
            i
            for i, g in enumerate(gts)
            if len(g) != 3 or g[1] != "|" or not {g[0], g[2]} <= {"0", "1"}
        )
    g = gts[bad]
    if "/" in g:
        why = f"unphased genotype {g!r} (phased `a|b` genotypes are required)"
    elif "." in g:
        why = f"missing genotype {g!r}"
    elif "|" not in g:
        why = f"genotype {g!r} is not diploid and phased"
    else:
        why = f"genotype {g!r} has an allele other than 0/1 at a biallelic site"
    raise ValueError(f"{where}: sample {bad + 1} (column {bad + 10}): {why}")


def read_haplotypes(
    path: str | Path,
    region: str | None = None,
    min_maf: float = 0.0,
    max_sites: int | None = None,
    samples: list[str] | None = None,
) -> Haplotypes:
    """Read the phased biallelic SNPs of ``region`` into a :class:`Haplotypes`.

    Parameters
    ----------
    path : str or os.PathLike
        VCF or bgzipped VCF; a ``region`` needs its ``.tbi``/``.csi`` index.
    region : str, optional
        ``contig:start-end`` (1-based, inclusive) or ``contig``; a ``chr`` prefix that the file
        lacks (or has) is accepted. Default is None: the whole file, which must hold one contig.
    min_maf : float, optional
        Skip sites whose minor-allele frequency is below this (monomorphic sites are always
        skipped). Default is 0.0.
    max_sites : int, optional
        Stop after this many kept sites. Default is None (all).
    samples : list of str, optional
        Keep these samples, in this order. Default is None (all).

    Returns
    -------
    hap : Haplotypes
    """
    path = Path(path)
    if not 0 <= min_maf < 0.5:
        raise ValueError(f"`min_maf` must be in [0, 0.5), got {min_maf}")
    skipped = {"multiallelic": 0, "not_snp": 0, "low_maf": 0, "repeated_position": 0}
    cols: list[np.ndarray] = []
    pos: list[int] = []
    ref: list[str] = []
    alt: list[str] = []
    contig_seen: str | None = None
    with pysam.VariantFile(str(path)) as vf:
        names = list(vf.header.samples)
        if not names:
            raise ValueError(
                f"{path}: the VCF has no sample columns (a sites-only VCF has no haplotypes)"
            )
        pick = None
        if samples is not None:
            missing = [s for s in samples if s not in names]
            if missing:
                raise ValueError(f"{path}: samples not in the VCF: {', '.join(missing[:5])}")
            where = {s: i for i, s in enumerate(names)}
            pick = np.array(
                [[2 * where[s], 2 * where[s] + 1] for s in samples], dtype=np.int64
            ).ravel()
            names = list(samples)
        if region is None:
            header_lines = _header_lines(path)
            records = iter(vf)
            line_of = lambda k, rec: f"{path}:{header_lines + k + 1}"  # noqa: E731
        else:
            contig, start, end = _parse_region(region)
            contig = _resolve_contig(vf, contig, path)
            begin = None if start is None else start - 1
            try:
                try:
                    records = vf.fetch(contig, begin, end)
                except ValueError:  # no ##contig lines: try the other naming before giving up
                    other = contig[3:] if contig.startswith("chr") else "chr" + contig
                    records = vf.fetch(other, begin, end)
            except ValueError as e:
                raise ValueError(
                    f"{path}: cannot read region {region!r} ({e}); is the file bgzipped and indexed?"
                ) from e
            line_of = lambda k, rec: f"{path}:{rec.chrom}:{rec.pos}"  # noqa: E731
        for k, rec in enumerate(records):
            if contig_seen is None:
                contig_seen = rec.chrom
            elif rec.chrom != contig_seen:
                raise ValueError(
                    f"{line_of(k, rec)}: a second contig {rec.chrom!r}; give a `region` of one contig"
                )
            alts = rec.alts or ()
            if len(alts) > 1:
                skipped["multiallelic"] += 1
                continue
            if (
                len(alts) == 0
                or len(rec.ref) != 1
                or len(alts[0]) != 1
                or {rec.ref.upper(), alts[0].upper()} - _BASES
            ):
                skipped["not_snp"] += 1
                continue
            g = _genotypes(str(rec).rstrip("\n").split("\t"), line_of(k, rec))
            if pick is not None:
                g = g[pick]
            n1 = int(g.sum())
            if n1 == 0 or n1 == g.size or min(n1, g.size - n1) / g.size < min_maf:
                skipped["low_maf"] += 1
                continue
            if pos and rec.pos <= pos[-1]:
                if rec.pos < pos[-1]:
                    raise ValueError(
                        f"{line_of(k, rec)}: position {rec.pos} after {pos[-1]}: the VCF is not sorted"
                    )
                skipped["repeated_position"] += 1
                continue
            cols.append(g)
            pos.append(rec.pos)
            ref.append(rec.ref.upper())
            alt.append(alts[0].upper())
            if max_sites is not None and len(cols) >= max_sites:
                break
    matrix = np.stack(cols, axis=1) if cols else np.zeros((2 * len(names), 0), dtype=np.int8)
    if region is not None:
        contig_seen = contig_seen or _parse_region(region)[0]
    hap = Haplotypes(matrix, np.asarray(pos, dtype=np.int64), contig_seen or "", np.asarray(ref, dtype="<U1"),
                     np.asarray(alt, dtype="<U1"), names, {k: v for k, v in skipped.items() if v})  # fmt: skip
    log.info("%s%s: %d haplotypes x %d SNPs; skipped %s", path, f" {region}" if region else "",
             hap.n_haplotypes, hap.n_sites, hap.skipped or "none")  # fmt: skip
    return hap
