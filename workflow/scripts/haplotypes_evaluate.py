"""Rule haplotypes_evaluate: metrics.tsv (bootstrap CIs), summary.json and figures."""

from pathlib import Path

from dnalm._log import setup_script_logging

log = setup_script_logging(snakemake.log[0])  # noqa: F821

from dnalm.haplotypes import evaluate_haplotype_files  # noqa: E402

evaluate_haplotype_files(
    snakemake.input.train,  # noqa: F821
    snakemake.input.held_out,  # noqa: F821
    snakemake.input.artificial,  # noqa: F821
    snakemake.input.info,  # noqa: F821
    Path(snakemake.output.metrics).parent,  # noqa: F821
    threads=snakemake.threads,  # noqa: F821
    **snakemake.params.p,  # noqa: F821
)
