"""Rules dnalm_predict, dnalm_embed, dnalm_scan, dnalm_score: one configured run of a `dnalm` command."""

from dnalm._log import setup_script_logging

log = setup_script_logging(snakemake.log[0])  # noqa: F821 - injected by Snakemake

from dnalm.usemodel import run_command  # noqa: E402

sm = snakemake  # noqa: F821
run_command(
    sm.params.section,
    sm.params.settings,  # the run's config entry (dnalm.paths.usemodel_params)
    inputs=dict(sm.input.items()),
    outputs=dict(sm.output.items()),
    threads=sm.threads,
)
