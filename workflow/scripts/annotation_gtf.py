"""Rule annotation_gtf: GTF -> genes.gtf.gz, contigs renamed to the genome's names."""

from dnalm._log import setup_script_logging
from dnalm.datasets import prepare_annotation

log = setup_script_logging(snakemake.log[0])  # noqa: F821 - injected by Snakemake

stats = prepare_annotation(
    "gtf",
    snakemake.params.sources,  # noqa: F821
    snakemake.output[0],  # noqa: F821
    fasta=snakemake.input.fasta,  # noqa: F821
    contigs=snakemake.input.contigs,  # noqa: F821
)
log.info("%s", stats)
