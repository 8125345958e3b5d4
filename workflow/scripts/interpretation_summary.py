"""Rule interpretation_summary: attention motifs vs attribution motifs of one task (TSV + figure)."""

from dnalm._log import setup_script_logging

log = setup_script_logging(snakemake.log[0])  # noqa: F821

from dnalm.attribution_motifs.compare import runs_from_paths, write_interpretation  # noqa: E402

sm = snakemake  # noqa: F821
runs = sm.params.runs
write_interpretation(
    task=sm.wildcards.task,
    runs=runs_from_paths(runs["attention"], runs["attribution"]),
    tsv=sm.output.tsv,
    png=sm.output.png,
    svg=sm.output.svg,
    known=runs["known"][0] if runs["known"] else None,
)
