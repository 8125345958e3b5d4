"""The small synthetic splice genome of the hard-negative loop tests (tests/test_splice_loop.py,
tests/test_splice_loop_helps.py): two 60 kb contigs, each with 22 four-exon genes on alternating
strands, written as an indexed FASTA and a GTF of their exons. Each test module plants its own
site contexts through ``make_gene``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
from dnalm.seq import revcomp

SPLITS = ("train", "dev", "test")

#: ``make_gene(rng, n_exons, exon_bp, intron_bp) -> (sequence in transcript orientation,
#: exons as 0-based [start, end) pairs)``
MakeGene = Callable[[np.random.Generator, int, int, int], tuple[str, list]]


def write_splice_world(root: Path, make_gene: MakeGene, seed: int = 0) -> tuple[Path, Path]:
    """Write ``root/genome.fa`` (+ ``.fai``) and ``root/genes.gtf``; return their paths.

    Genes ``chrA_T0``, ``chrA_T1``, ... start every 2,600 bp from 1,500, plus strand at even
    indices; each is ``make_gene(rng, 4, 120, 300)``, reverse-complemented on the minus strand.
    The same ``seed`` and ``make_gene`` give the same files.
    """
    import pysam

    rng = np.random.default_rng(seed)
    gtf_lines, fasta = [], []
    for c in ("chrA", "chrB"):
        seq = list("".join(rng.choice(list("ACGT"), 60_000)))
        for gi in range(22):
            strand = "+" if gi % 2 == 0 else "-"
            g, exons = make_gene(rng, 4, 120, 300)
            start = 1500 + gi * 2600
            if strand == "-":
                g = revcomp(g)
                exons = [(len(g) - b, len(g) - a) for a, b in exons]
            seq[start : start + len(g)] = g
            tid = f"{c}_T{gi}"
            for a, b in exons:
                gtf_lines.append(f"{c}\tsyn\texon\t{start + a + 1}\t{start + b}\t.\t{strand}\t.\t"
                                 f'gene_id "{tid}"; transcript_id "{tid}";')  # fmt: skip
        fasta.append(f">{c}\n{''.join(seq)}\n")
    fa = root / "genome.fa"
    fa.write_text("".join(fasta))
    pysam.faidx(str(fa))
    gtf = root / "genes.gtf"
    gtf.write_text("\n".join(gtf_lines) + "\n")
    return fa, gtf


def dataset_files(d: Path) -> dict[str, Path]:
    """A round's dataset files in ``d``: ``train``/``dev``/``test`` ``.tsv.gz`` and ``card``."""
    return {**{s: d / f"{s}.tsv.gz" for s in SPLITS}, "card": d / "card.json"}
