"""Seeded demo-world simulator: a small genome with planted biology, in the real file formats.

``simulate_world(out_dir, preset, seed, scale, peaks)`` writes everything the embedded demo
needs (see ``docs/ARCHITECTURE.md``, stage *simulate*):

- ``genome.fa.gz``: plain gzip FASTA, bare ``>chr1`` headers, 60-bp lines. A first-order
  (dinucleotide) Markov background with CpG depletion, soft-masked (lower-case) copies of a
  few diverged repeat families (SINE/LINE/ERV-like consensi, 4-30% divergence, about half
  the genome, and microsatellites such as ``(CA)n``), N gaps (10 kb at each chromosome start
  plus internal runs), and genome-wide instances of the planted PWMs away from peaks and
  promoters (human: CTCF-like 1.0, p53-like 0.5, TATA-like 0.5, AP-1-like 1.0 per 10 kb;
  ``Preset.background_motifs``), so that a masked LM sees motifs across the whole genome.
- ``assembly_report.txt``: NCBI assembly report (Sequence-Name / RefSeq-Accn / UCSC names).
- ``epd.bed`` + ``promoter_motifs.txt``: EPDnew-style promoters (TSS -49..+10, space
  separated) and TATA / Inr / CCAAT / GC-box flags. TATA promoters carry a TATA box centred
  near -30; the others sit in CpG islands (-300..+200) with GC boxes.
- ``genes.gtf.gz``: multi-exon genes on both strands (minus-strand exons listed in
  descending order), splice consensus (MAG|GTRAGT, polypyrimidine tract + AG|G) at every
  exon boundary; every promoter TSS is a transcript start. CDS, start_codon and stop_codon
  rows: the ATG sits in a Kozak context in exon 2, a PAS hexamer near each 3' end
  (:mod:`~dnalm.sim.gsr`, its own generator; ``kozak`` and ``pas`` truth rows). At scale 1 the human preset has
  500 genes (350 mouse); 60% have a second transcript starting at an alternative first exon,
  which gives ~800 promoters (~570 mouse), each at a transcript start.
- ``expression.tsv.gz``: Xpresso-format expression table of the coding genes, expression tied
  to the planted promoter features (:mod:`~dnalm.sim.expression`, its own generator).
- ``peaks/<exp>.narrowPeak.gz``: one ENCODE-style BED6+4 file per experiment (config
  ``simulate.<world>.peaks``, default the preset's), a planted motif near the summit,
  duplicated intervals with different summits, unsorted rows, ``chrEBV`` lines.
- ``dbsnp.vcf.gz`` (+ ``.tbi``): dbSNP-style VCFv4.2 with RefSeq ``NC_`` contig names.
- ``clinvar.vcf.gz`` (+ ``.tbi``): ClinVar-style VCFv4.1 with ``1``-style names; pathogenic
  SNVs break high-information positions of planted motif instances, benign ones sit in the
  same peak windows away from the motifs.
- ``truth/motifs.meme``, ``truth/positions.tsv``, ``truth/summary.json``: the planted truth
  (genome-wide motif instances are ``background_motif`` rows, apart from the ``motif`` rows
  under peaks).

Modules: :mod:`~dnalm.sim.presets` (PWMs, presets, experiment specs), :mod:`~dnalm.sim.spec`
(config, output files, rules), :mod:`~dnalm.sim.core` and :mod:`~dnalm.sim.world` (building
the genome), :mod:`~dnalm.sim.annotations`, :mod:`~dnalm.sim.variants`, :mod:`~dnalm.sim.truth`
(writers). Everything comes from one ``numpy.random.default_rng(seed)``: the same arguments
give byte-identical files. Bases are ``dnalm.kmers`` codes (A=0, T=1, C=2, G=3, N=4).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from dnalm.sim.annotations import write_epd, write_fasta, write_gtf, write_peaks, write_report
from dnalm.sim.expression import write_expression
from dnalm.sim.files_txt import write_files_txt
from dnalm.sim.gsr import plant_signals
from dnalm.sim.presets import MOTIF_NAMES, PRESETS, PWMS, PeakSpec
from dnalm.sim.spec import (
    MAX_SCALE,
    MIN_SCALE,
    output_files,
    peak_experiments,
    peak_specs,
    rule_groups,
    rule_outputs,
    world_spec,
    worlds_of,
)
from dnalm.sim.truth import summary, write_truth
from dnalm.sim.variants import clinvar_records, dbsnp_records, write_clinvar, write_dbsnp
from dnalm.sim.world import build_world

__all__ = [
    "PRESETS",
    "MOTIF_NAMES",
    "PWMS",
    "PeakSpec",
    "peak_experiments",
    "peak_specs",
    "output_files",
    "rule_outputs",
    "rule_groups",
    "world_spec",
    "worlds_of",
    "simulate_world",
    "write_files_txt",
]

log = logging.getLogger("dnalm.sim")


def simulate_world(
    out_dir: str | Path,
    preset: str = "human",
    seed: int = 7,
    scale: float = 1.0,
    peaks: Mapping[str, PeakSpec | Mapping[str, Any]] | None = None,
    verbose: bool = False,
) -> dict[str, Path]:
    """Simulate a demo world and write its files under ``out_dir``.

    Parameters
    ----------
    out_dir : str or pathlib.Path
        World directory (``resources/demo/<world>``); created if needed. Files are written to a
        temporary directory inside it and moved into place only when all succeeded.
    preset : {"human", "mouse"}
        Background model, chromosomes, repeat families and default experiments. Default is
        "human".
    seed : int
        Seed of ``numpy.random.default_rng``; same arguments, byte-identical files. Default is 7.
    scale : float
        Multiplies chromosome lengths and feature counts (0.1..10). Default is 1.0.
    peaks : dict of str to PeakSpec or dict, or None
        Experiments (``peaks/<name>.narrowPeak.gz``), as config ``simulate.<world>.peaks``
        (see :meth:`PeakSpec.from_config`). Default is None (the preset's experiments).
    verbose : bool
        Show tqdm progress. Default is False.

    Returns
    -------
    dict of str to pathlib.Path
        Relative file name (see ``output_files(peaks)``) to the written path.
    """
    if preset not in PRESETS:
        raise ValueError(f"`preset` must be one of {sorted(PRESETS)}, got {preset!r}")
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ValueError(f"`seed` must be a non-negative integer, got {seed!r}")
    if not isinstance(scale, int | float) or not MIN_SCALE <= float(scale) <= MAX_SCALE:
        raise ValueError(f"`scale` must be a number in [{MIN_SCALE}, {MAX_SCALE}], got {scale!r}")
    experiments = peak_specs(peaks, preset, "peaks")
    scale = float(scale)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(int(seed))
    log.info("simulating %s world (seed %d, scale %g) into %s", preset, seed, scale, out_dir)
    w = build_world(rng, PRESETS[preset], experiments, scale, verbose)
    clin = clinvar_records(rng, w, scale)
    snps, mism = dbsnp_records(rng, w, clin)
    # Coding sequences, Kozak and PAS sites: their own generator, away from every variant.
    variant_mask = np.zeros(len(w.codes), dtype=bool)
    for r in (*snps, *clin):
        variant_mask[r["g"] : r["g"] + len(r["ref"])] = True
    coding = plant_signals(w, int(seed), variant_mask)
    files = output_files(experiments)
    tmp = Path(tempfile.mkdtemp(prefix=".simulate-", dir=out_dir))
    try:
        (tmp / "peaks").mkdir()
        (tmp / "truth").mkdir()
        write_fasta(tmp / "genome.fa.gz", w)
        write_report(tmp / "assembly_report.txt", w)
        write_epd(tmp / "epd.bed", tmp / "promoter_motifs.txt", w)
        write_gtf(tmp / "genes.gtf.gz", w, coding)
        write_expression(tmp / "expression.tsv.gz", w, coding, int(seed))
        peak_stats = {
            e: write_peaks(tmp / "peaks" / f"{e}.narrowPeak.gz", rng, w, e) for e in experiments
        }
        write_dbsnp(tmp / "dbsnp.vcf.gz", rng, w, snps)
        write_clinvar(tmp / "clinvar.vcf.gz", w, clin)
        rows = write_truth(tmp / "truth", w, clin, mism)
        info = summary(w, rows, peak_stats, clin, len(snps), preset, int(seed), scale)
        (tmp / "truth" / "summary.json").write_text(
            json.dumps(info, indent=2, sort_keys=True) + "\n"
        )
        written = {}
        for rel in files:
            dest = out_dir / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            os.replace(tmp / rel, dest)
            written[rel] = dest
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    log.info(
        "wrote %d files: %d genes, %d promoters, %s",
        len(written),
        info["genes"],
        info["promoters"],
        {e: s["peaks"] for e, s in peak_stats.items()},
    )
    return written
