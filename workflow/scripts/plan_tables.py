from dnalm import settings
from dnalm._log import setup_script_logging
from dnalm.plan import write_plan

log = setup_script_logging(snakemake.log[0])
p = write_plan(settings.load_config(snakemake.params.config), snakemake.output.tsv,
               snakemake.output.json, snakemake.output.txt)
log.info("plan: %d jobs, %.1f GPU-hours", p.rows()[-1]["jobs"], p.rows()[-1]["gpu_hours"])
