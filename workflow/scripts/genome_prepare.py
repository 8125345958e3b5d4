"""Checkpoint genome_prepare: validated, contig-filtered, bgzipped + indexed genome and name table."""

from pathlib import Path

from dnalm._log import setup_script_logging
from dnalm.genome import prepare_genome

log = setup_script_logging(snakemake.log[0])  # noqa: F821 - injected by Snakemake

out = snakemake.output  # noqa: F821
prepare_genome(
    snakemake.input.fasta,  # noqa: F821
    Path(out.fasta).parent,
    snakemake.params.contigs,  # noqa: F821
    assembly_report=snakemake.input.report or None,  # noqa: F821
)
