"""Rule expression_download: fetch one task's Xpresso-format table, checksum verified, header checked."""

from dnalm._log import setup_script_logging

log = setup_script_logging(snakemake.log[0])  # noqa: F821 - injected by Snakemake

from dnalm.expression import fetch_expression_table  # noqa: E402

fetch_expression_table(snakemake.params.src, snakemake.output[0])  # noqa: F821
