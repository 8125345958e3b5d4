"""Annotation writers: FASTA, NCBI assembly report, EPDnew promoters, GTF, ENCODE narrowPeak.

Every writer takes the finished :class:`dnalm.sim.core.World`; those that add noise (peak
files) draw from the simulator's generator after the world is built.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from dnalm.atomic import gzip_bytes
from dnalm.sim.core import World
from dnalm.sim.gsr import Coding
from dnalm.sim.presets import BASES

__all__ = ["write_fasta", "write_report", "write_epd", "write_gtf", "write_peaks"]

_UPPER = np.frombuffer(BASES.encode(), dtype=np.uint8)  # code -> ASCII
_LOWER = np.frombuffer(BASES.lower().encode(), dtype=np.uint8)


def write_fasta(path: Path, w: World) -> None:
    """Plain-gzip FASTA, ``>chr`` headers, 60-bp lines, repeats in lower case, gaps as N."""
    buf = io.BytesIO()
    for c, name in enumerate(w.names):
        a, b = int(w.offsets[c]), int(w.offsets[c + 1])
        chars = np.where(w.lower[a:b], _LOWER[w.codes[a:b]], _UPPER[w.codes[a:b]])
        n_full = len(chars) // 60
        block = np.empty((n_full, 61), dtype=np.uint8)
        block[:, :60] = chars[: n_full * 60].reshape(n_full, 60)
        block[:, 60] = 10
        buf.write(f">{name}\n".encode())
        buf.write(block.tobytes())
        if len(chars) % 60:
            buf.write(chars[n_full * 60 :].tobytes() + b"\n")
    path.write_bytes(gzip_bytes(buf.getvalue()))


def write_report(path: Path, w: World) -> None:
    """NCBI assembly report: comment block, then one row per chromosome plus a fix-patch."""
    p = w.preset
    lines = [
        f"# Assembly name:  {p.assembly}",
        f"# Organism name:  {p.organism}",
        f"# Taxid:          {p.taxid}",
        "# BioProject:     none (simulated by dnalm.sim)",
        "# Assembly type:  haploid",
        "# Release type:   major",
        "# Assembly level: Chromosome",
        "# Genome representation: full",
        "#",
        "## Assembly-Units:",
        "## GenBank Unit Accession\tRefSeq Unit Accession\tAssembly-Unit name",
        "## GCA_000000000.1\tGCF_000000000.1\tPrimary Assembly",
        "## GCA_000000001.1\tGCF_000000001.1\tPATCHES",
        "#",
        "# Ordered by chromosome/plasmid; the chromosomes/plasmids are followed by",
        "# unlocalized scaffolds.",
        "# Unplaced scaffolds are listed at the end.",
        "# RefSeq is equal or derived from GenBank object.",
        "#",
        "# Sequence-Name\tSequence-Role\tAssigned-Molecule\tAssigned-Molecule-Location/Type\t"
        "GenBank-Accn\tRelationship\tRefSeq-Accn\tAssembly-Unit\tSequence-Length\tUCSC-style-name",
    ]
    for c, ch in enumerate(p.chroms):
        lines.append(
            "\t".join(
                [
                    ch.name,
                    "assembled-molecule",
                    ch.name,
                    "Chromosome",
                    ch.genbank,
                    "=",
                    ch.refseq,
                    "Primary Assembly",
                    str(int(w.lengths[c])),
                    ch.ucsc,
                ]
            )
        )
    pname, mol, gb, rs, plen = p.patch
    lines.append(
        "\t".join([pname, "fix-patch", mol, "Chromosome", gb, "=", rs, "PATCHES", str(plen), "na"])
    )
    path.write_text("\n".join(lines) + "\n")


def write_epd(bed: Path, motifs: Path, w: World) -> None:
    """EPDnew-style promoter BED (space separated, TSS -49..+10) and its motif flag table."""
    rows = []
    for pr in w.promoters:
        chrom, t0 = w.local(pr["tss"])
        if pr["strand"] == "+":
            start, end = t0 - 49, t0 + 11
            ts, te = t0, end
        else:
            start, end = t0 - 10, t0 + 50
            ts, te = start, start + 11
        rows.append(
            (
                pr["chrom"],
                start,
                f"{chrom} {start} {end} {pr['name']} 900 {pr['strand']} {ts} {te}",
                pr,
            )
        )
    rows.sort(key=lambda r: (r[0], r[1]))
    bed.write_text("".join(r[2] + "\n" for r in rows))
    out = ["#Name\tTATA-box\tInr\tCCAAT-box\tGC-box"]
    for *_, pr in rows:
        out.append(f"{pr['name']}\t{pr['TATA']}\t{pr['Inr']}\t{pr['CCAAT']}\t{pr['GC']}")
    motifs.write_text("\n".join(out) + "\n")


def _cds_rows(chrom: str, off: int, strand: str, exons: list, c: Coding, attr: str) -> list[str]:
    """CDS rows (with GTF frame) of one transcript, then its start_codon and stop_codon rows."""
    lo, hi = (c.start_codon[0], c.stop_codon[0]) if strand == "+" else (c.stop_codon[1], c.start_codon[1])
    rows, done = [], 0
    for a, b in exons:  # transcript order
        s, e = max(a, lo), min(b, hi)
        if s >= e:
            continue
        frame = (3 - done % 3) % 3
        rows.append(f"{chrom}\tdnalm\tCDS\t{s - off + 1}\t{e - off}\t.\t{strand}\t{frame}\t{attr}")
        done += e - s
    for feat, (s, e) in (("start_codon", c.start_codon), ("stop_codon", c.stop_codon)):
        rows.append(f"{chrom}\tdnalm\t{feat}\t{s - off + 1}\t{e - off}\t.\t{strand}\t0\t{attr}")
    return rows


def write_gtf(path: Path, w: World, coding: Mapping[str, Coding] | None = None) -> None:
    """GENCODE-style GTF (gene, transcript, exon rows; minus-strand exons in descending order).

    Genes in ``coding`` (:func:`dnalm.sim.gsr.plant_signals`) also get CDS, start_codon and
    stop_codon rows after each transcript's exons.
    """
    coding = coding or {}
    lines = [
        "##description: dnalm simulated demo annotation (multi-exon protein-coding genes)",
        "##provider: dnalm.sim",
        "##format: gtf",
        "##date: 2024-01-01",
    ]
    for gene in w.genes:
        chrom, gstart = w.local(gene.start)
        gend = gstart + (gene.end - gene.start)
        common = (
            f'gene_id "{gene.gid}"; gene_type "protein_coding"; gene_name "{gene.name}"; level 2;'
        )
        lines.append(f"{chrom}\tdnalm\tgene\t{gstart + 1}\t{gend}\t.\t{gene.strand}\t.\t{common}")
        for tr in gene.transcripts:
            off = int(w.offsets[gene.chrom])
            ts, te = tr.exons[0][0] - off, tr.exons[-1][1] - off
            tattr = (
                f'gene_id "{gene.gid}"; transcript_id "{tr.tid}"; gene_type "protein_coding"; '
                f'gene_name "{gene.name}"; transcript_type "protein_coding"; level 2; tag "basic";'
            )
            lines.append(
                f"{chrom}\tdnalm\ttranscript\t{ts + 1}\t{te}\t.\t{gene.strand}\t.\t{tattr}"
            )
            exons = tr.exons if gene.strand == "+" else tr.exons[::-1]
            for k, (a, b) in enumerate(exons, start=1):
                eattr = (
                    f'gene_id "{gene.gid}"; transcript_id "{tr.tid}"; gene_type "protein_coding"; '
                    f'gene_name "{gene.name}"; exon_number {k}; exon_id "{tr.tid}.e{k}"; '
                    'level 2; tag "basic";'
                )
                lines.append(
                    f"{chrom}\tdnalm\texon\t{a - off + 1}\t{b - off}\t.\t{gene.strand}\t.\t{eattr}"
                )
            if gene.gid in coding:
                cattr = (
                    f'gene_id "{gene.gid}"; transcript_id "{tr.tid}"; gene_type "protein_coding"; '
                    f'gene_name "{gene.name}"; level 2; tag "basic";'
                )
                lines += _cds_rows(chrom, off, gene.strand, exons, coding[gene.gid], cattr)
    path.write_bytes(gzip_bytes(("\n".join(lines) + "\n").encode()))


def write_peaks(path: Path, rng: np.random.Generator, w: World, exp: str) -> dict[str, int]:
    """ENCODE narrowPeak of experiment ``exp`` (unsorted, duplicate intervals, ``chrEBV`` rows).

    Returns the counts stored under ``peaks.<exp>`` in ``summary.json``.
    """
    rows = w.peaks[exp]
    lines = []
    n_dup = 0
    for r in rows:
        chrom, start = w.local(r["start"])
        end = start + (r["end"] - r["start"])
        offset = r["summit"] - r["start"]
        sig = r["signal"]
        pval = -1.0 if rng.random() < 0.08 else sig * 1.7 + rng.exponential(3.0)
        qval = max(sig * 1.5 - 2.0, 0.5) if pval != -1.0 else sig * 1.4
        score = int(min(1000, round(sig * 10)))
        lines.append(
            f"{chrom}\t{start}\t{end}\t.\t{score}\t.\t{sig:.12g}\t{pval:.12g}\t{qval:.12g}\t{offset}"
        )
        if rng.random() < 0.03:  # the same interval again with another summit (as ENCODE files)
            n_dup += 1
            shift = int(rng.integers(20, 80)) * (1 if rng.random() < 0.5 else -1)
            off2 = int(np.clip(offset + shift, 0, end - start - 1))
            if off2 == offset:
                off2 = (offset + 25) % (end - start)
            sig2 = sig * 0.6
            lines.append(
                f"{chrom}\t{start}\t{end}\t.\t{int(min(1000, round(sig2 * 10)))}\t.\t{sig2:.12g}\t"
                f"{max(sig2 * 1.7, 1.0):.12g}\t{max(sig2 * 1.5 - 2.0, 0.5):.12g}\t{off2}"
            )
    if n_dup == 0 and rows:  # always at least one duplicate interval
        n_dup = 1
        f = lines[0].split("\t")
        f[9] = str((int(f[9]) + 30) % (int(f[2]) - int(f[1])))
        lines.append("\t".join(f))
    for _ in range(3):  # a contig that is not in the genome
        s = int(rng.integers(1000, 170_000))
        lines.append(
            f"chrEBV\t{s}\t{s + 300}\t.\t{int(rng.integers(50, 400))}\t.\t{rng.uniform(3, 20):.12g}\t-1\t"
            f"{rng.uniform(1, 5):.12g}\t150"
        )
    order = rng.permutation(len(lines))
    path.write_bytes(gzip_bytes("".join(lines[i] + "\n" for i in order).encode()))
    return {
        "rows": len(lines),
        "peaks": len(rows),
        "duplicates": n_dup,
        "chrEBV": 3,
        "with_motif": sum(r["site"] is not None for r in rows),
    }
