"""Rule pretraining_benefit: pretrained vs scratch on the data-scarce tasks (table + figure)."""

from dnalm._log import setup_script_logging

log = setup_script_logging(snakemake.log[0])  # noqa: F821

from dnalm.benefit import pretraining_benefit  # noqa: E402

sm = snakemake  # noqa: F821
pretraining_benefit(sm.input.metrics, sm.output.tsv, sm.output.png)
