"""Rule lm_import: re-save a DNABERT-format checkpoint directory as a dnalm model directory."""

from dnalm._log import setup_script_logging

log = setup_script_logging(snakemake.log[0])  # noqa: F821

from dnalm.modeling import import_pretrained  # noqa: E402

import_pretrained(snakemake.input.src, snakemake.output.model)  # noqa: F821
