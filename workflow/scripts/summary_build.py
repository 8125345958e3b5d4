"""Rule summary_build: benchmarks.tsv and the benchmark figures from every fine-tuning run."""

from dnalm._log import setup_script_logging

log = setup_script_logging(snakemake.log[0])  # noqa: F821

from dnalm.summary import build_summary  # noqa: E402

sm = snakemake  # noqa: F821
build_summary(
    sm.input.metrics,
    sm.output.tsv,
    mcc_png=sm.output.mcc,
    roc_pr_png=sm.output.roc_pr,
    curves_png=sm.output.curves,
    comparisons_tsv=sm.output.comparisons,
)
