"""Rule collection_table: fetch a collection's metadata table, verified against its config checksum."""

from dnalm._log import setup_script_logging

log = setup_script_logging(snakemake.log[0])  # noqa: F821

from dnalm.fetch import fetch_source  # noqa: E402

fetch_source(snakemake.params.source, snakemake.output[0], verbose=False)  # noqa: F821
