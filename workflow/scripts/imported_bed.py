"""Rule imported_bed: an imported task's split TSVs -> BED6 of its rows with coordinates."""

from dnalm._log import setup_script_logging
from dnalm.importers import write_bed

log = setup_script_logging(snakemake.log[0])  # noqa: F821 - injected by Snakemake

n = write_bed(
    {s: snakemake.input[s] for s in ("train", "dev", "test")},  # noqa: F821
    snakemake.output[0],  # noqa: F821
)
log.info("%s: %d rows with coordinates", snakemake.output[0], n)  # noqa: F821
