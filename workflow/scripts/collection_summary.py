"""Rule collection_summary: per-experiment MCC/AUROC, paired Wilcoxon tests and the figure of a collection."""

from dnalm._log import setup_script_logging

log = setup_script_logging(snakemake.log[0])  # noqa: F821

from dnalm.collection_summary import summarize_collection  # noqa: E402

sm = snakemake  # noqa: F821
summarize_collection(
    sm.wildcards.collection,
    sm.input.metrics,
    sm.input.manifest,
    sm.params.models,
    sm.output.tsv,
    sm.output.wilcoxon,
    sm.output.png,
)
