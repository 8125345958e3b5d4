"""Rule haplotypes_generate: artificial haplotypes from the generator and the controls."""

from dnalm._log import setup_script_logging

log = setup_script_logging(snakemake.log[0])  # noqa: F821

from dnalm.haplotypes import make_artificial  # noqa: E402

p = dict(snakemake.params.p)  # noqa: F821
make_artificial(
    snakemake.input.train,  # noqa: F821
    snakemake.output.artificial,  # noqa: F821
    snakemake.output.vcf,  # noqa: F821
    snakemake.output.info,  # noqa: F821
    generators=p["generators"],
    order=p["markov_order"],
    n=p.get("n_artificial"),
    seed=p["seed"],
    gpt_samples=snakemake.input.get("gpt"),  # noqa: F821
    gpt_info=snakemake.input.get("gpt_info"),  # noqa: F821
)
