"""Write haplotypes as a phased, bgzipped and tabix-indexed VCF (pysam)."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pysam

from dnalm.haplotypes.store import Haplotypes

__all__ = ["write_haplotype_vcf"]


def _header(
    hap: Haplotypes, contig_length: int | None, source: str, meta: dict[str, str] | None
) -> str:
    h = pysam.VariantHeader()
    h.add_meta("source", source)
    for key, value in sorted((meta or {}).items()):
        h.add_meta(key, str(value))
    length = contig_length if contig_length is not None else int(hap.positions.max(initial=0)) + 1
    h.contigs.add(hap.contig, length=length)
    h.info.add("AC", "A", "Integer", "Count of the ALT allele among the haplotypes")
    h.info.add("AF", "A", "Float", "Frequency of the ALT allele among the haplotypes")
    h.formats.add("GT", 1, "String", "Phased genotype")
    for s in hap.samples:
        h.add_sample(s)
    return str(h)


def write_haplotype_vcf(
    hap: Haplotypes,
    path: str | Path,
    contig_length: int | None = None,
    source: str = "dnalm.haplotypes",
    meta: dict[str, str] | None = None,
) -> Path:
    """Write ``hap`` as VCFv4.2 with phased ``GT`` (``a|b``), bgzipped, with a ``.tbi`` beside it.

    Both files appear together and atomically (written in a temporary sibling directory first).
    Bytes depend only on the arguments (no dates in the header).

    Parameters
    ----------
    hap : Haplotypes
        Sample ``i`` gets haplotypes ``2 i`` (left of ``|``) and ``2 i + 1``.
    path : str or os.PathLike
        Output ``.vcf.gz``; the index is ``path + ".tbi"``.
    contig_length : int, optional
        ``##contig`` length. Default is the last position + 1.
    source : str, optional
        ``##source`` value. Default is ``"dnalm.haplotypes"``.
    meta : dict, optional
        Extra ``##key=value`` header lines (e.g. the simulation parameters). Default is None.

    Returns
    -------
    path : pathlib.Path
    """
    path = Path(path)
    if not path.name.endswith(".vcf.gz"):
        raise ValueError(f"`path` must end with .vcf.gz, got {path}")
    m = hap.matrix
    ac = m.sum(axis=0, dtype=np.int64)
    n = max(hap.n_haplotypes, 1)
    digits = np.array(["0", "1"])[m]  # (n_hap, n_sites) str
    gts = np.char.add(np.char.add(digits[0::2], "|"), digits[1::2]).T  # (n_sites, n_samples)
    lines = [_header(hap, contig_length, source, meta)]
    for j in range(hap.n_sites):
        fixed = f"{hap.contig}\t{hap.positions[j]}\t.\t{hap.ref[j]}\t{hap.alt[j]}\t.\tPASS\t"
        info = f"AC={ac[j]};AF={ac[j] / n:.6g}\tGT\t"
        lines.append(fixed + info + "\t".join(gts[j]) + "\n")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp_dir = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    try:
        tmp = tmp_dir / path.name
        with pysam.BGZFile(str(tmp), "wb") as fh:
            fh.write("".join(lines).encode())
        pysam.tabix_index(str(tmp), preset="vcf", force=True)
        for name in (path.name, path.name + ".tbi"):
            os.chmod(tmp_dir / name, 0o644)
        os.replace(tmp, path)
        os.replace(tmp_dir / (path.name + ".tbi"), str(path) + ".tbi")
    finally:
        shutil.rmtree(tmp_dir, ignore_errors=True)
    return path
