"""Checkpoint collection_manifest: the table parsed and filtered into manifest.tsv (one row per experiment)."""

from dnalm._log import setup_script_logging

log = setup_script_logging(snakemake.log[0])  # noqa: F821

from dnalm.tf_collections import build_manifest  # noqa: E402

sm = snakemake  # noqa: F821
spec = sm.params.spec
stats = build_manifest(
    sm.input.table,
    sm.output[0],
    fmt=spec["format"],
    table_url=spec["table_url"],
    base_url=spec.get("base_url"),
    filters=spec["filters"],
    collection=sm.wildcards.collection,
)
log.info("%s", stats)
