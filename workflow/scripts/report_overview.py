"""Rule report_overview: the report's front page (headline table, key findings) from results."""

from dnalm._log import setup_script_logging

log = setup_script_logging(snakemake.log[0])  # noqa: F821

from dnalm.reporting import OverviewInputs, write_overview  # noqa: E402

sm = snakemake  # noqa: F821
inp = sm.input


ov = write_overview(
    OverviewInputs.from_lists(**{name: list(getattr(inp, name)) for name in inp.keys()}),
    sm.output.html,
    sm.output.rst,
    sm.output.json,
)
for f in ov.findings:
    (log.warning if f.status == "warning" else log.info)("%s: %s", f.title, f.text)
