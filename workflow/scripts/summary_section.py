"""Rule summary_section: test-MCC and ROC/PR figures of the tasks of one report section."""

from dnalm._log import setup_script_logging

log = setup_script_logging(snakemake.log[0])  # noqa: F821

from dnalm.summary import section_figures  # noqa: E402

sm = snakemake  # noqa: F821
section_figures(sm.input.metrics, sm.input.benchmarks, sm.params.tasks, sm.output.mcc,
                sm.output.roc_pr)  # fmt: skip
log.info("section %s: figures of %s", sm.wildcards.section, ", ".join(sm.params.tasks))
