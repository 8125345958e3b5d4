"""Rule vcf_normalise: dbSNP/ClinVar VCF -> genome contig names, bgzip + tabix, counts JSON."""

from dnalm._log import setup_script_logging
from dnalm.vcf_prepare import prepare_vcf

log = setup_script_logging(snakemake.log[0])  # noqa: F821 - injected by Snakemake

prepare_vcf(
    snakemake.params.src,  # noqa: F821
    snakemake.output.vcf,  # noqa: F821
    snakemake.input.contigs,  # noqa: F821
    snakemake.output.counts,  # noqa: F821
    verbose=True,
)
