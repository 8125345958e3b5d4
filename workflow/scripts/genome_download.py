"""Rules genome_download / genome_assembly_report: fetch one configured source, checksums verified."""

from dnalm._log import setup_script_logging
from dnalm.fetch import fetch_source

log = setup_script_logging(snakemake.log[0])  # noqa: F821 - injected by Snakemake

src = snakemake.params.src  # noqa: F821
fetch_source(src, snakemake.output[0])  # noqa: F821
