"""Rule long_input_summary: the pooling comparison of long-input tasks (long_input.tsv)."""

from dnalm._log import setup_script_logging

log = setup_script_logging(snakemake.log[0])  # noqa: F821

from dnalm.long_input_summary import write_long_input_summary  # noqa: E402

sm = snakemake  # noqa: F821
write_long_input_summary(sm.input.benchmarks, sm.params.groups, sm.output.tsv)
