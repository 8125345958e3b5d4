"""Rule haplotypes_split: a phased VCF region to training and held-out haplotypes."""

from dnalm._log import setup_script_logging

log = setup_script_logging(snakemake.log[0])  # noqa: F821

from dnalm.haplotypes import prepare_haplotypes  # noqa: E402

p = dict(snakemake.params.p)  # noqa: F821
prepare_haplotypes(
    snakemake.input.vcf,  # noqa: F821
    snakemake.output.train,  # noqa: F821
    snakemake.output.held_out,  # noqa: F821
    region=p.get("region"),
    min_maf=p["min_maf"],
    max_sites=p.get("max_sites"),
    held_out_fraction=p["held_out_fraction"],
    seed=p["split_seed"],
)
