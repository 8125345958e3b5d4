"""Rule haplotypes_fetch: a phased VCF and its index, checksums verified (dnalm.fetch)."""

from dnalm._log import setup_script_logging

log = setup_script_logging(snakemake.log[0])  # noqa: F821

from dnalm.fetch import fetch_source  # noqa: E402

fetch_source(snakemake.params.src["vcf"], snakemake.output.vcf)  # noqa: F821
fetch_source(snakemake.params.src["index"], snakemake.output.tbi)  # noqa: F821
