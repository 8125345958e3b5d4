"""Rule haplotypes_gpt: fine-tune the GPT generator on the training haplotypes and sample it."""

from dnalm._log import setup_script_logging

log = setup_script_logging(snakemake.log[0])  # noqa: F821

from dnalm.haplotypes.gpt_artificial import make_gpt_haplotypes  # noqa: E402

make_gpt_haplotypes(
    snakemake.input.train,  # noqa: F821
    snakemake.output.model,  # noqa: F821
    snakemake.output.samples,  # noqa: F821
    snakemake.output.train_log,  # noqa: F821
    snakemake.output.info,  # noqa: F821
    threads=snakemake.threads,  # noqa: F821
    **snakemake.params.p,  # noqa: F821
)
