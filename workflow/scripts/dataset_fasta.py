"""Rule dataset_fasta: a dataset split's sequences as FASTA (record <split>:<row>)."""

from dnalm._log import setup_script_logging

log = setup_script_logging(snakemake.log[0])  # noqa: F821 - injected by Snakemake

from dnalm.split_fasta import write_split_fasta  # noqa: E402

sm = snakemake  # noqa: F821
n = write_split_fasta(sm.input[0], sm.output[0], split=sm.wildcards.split)
log.info("%d records -> %s", n, sm.output[0])
