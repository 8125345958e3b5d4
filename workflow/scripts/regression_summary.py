"""Rule regression_summary: every expression regression run (k-mer ridge, GPT) in one table."""

from dnalm._log import setup_script_logging

log = setup_script_logging(snakemake.log[0])  # noqa: F821 - injected by Snakemake

from dnalm.regression_summary import regression_table  # noqa: E402

regression_table(list(snakemake.input.metrics), snakemake.output.tsv)  # noqa: F821
