"""Rule haplotypes_simulate: msprime demo haplotypes as a phased VCF (dnalm.haplotypes)."""

from dnalm._log import setup_script_logging

log = setup_script_logging(snakemake.log[0])  # noqa: F821

from dnalm.haplotypes import simulate_haplotypes  # noqa: E402

simulate_haplotypes(**snakemake.params.sim, vcf_path=snakemake.output.vcf)  # noqa: F821
