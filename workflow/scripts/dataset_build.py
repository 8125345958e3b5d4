"""Rule dataset_build: one benchmark task -> {train,dev,test}.tsv.gz + card.json."""

from dnalm._log import setup_script_logging
from dnalm.datasets import build_dataset

log = setup_script_logging(snakemake.log[0])  # noqa: F821 - injected by Snakemake

spec = snakemake.params.spec  # noqa: F821
inputs = dict(snakemake.input.items())  # noqa: F821
if spec["kind"] == "imported":  # the importer reads the configured path (a file or a folder)
    inputs["path"] = spec["path"]
build_dataset(
    snakemake.wildcards.task,  # noqa: F821
    spec,
    inputs,
    dict(snakemake.output.items()),  # noqa: F821
    splits=snakemake.params.splits,  # noqa: F821
)
