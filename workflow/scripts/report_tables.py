from dnalm import reporting
from dnalm._log import setup_script_logging

log = setup_script_logging(snakemake.log[0])
reporting.dataset_cards_table(snakemake.input.cards, snakemake.output.cards)
reporting.software_versions(snakemake.output.software)
reporting.dump_config(snakemake.params.config, snakemake.output.config)
log.info("wrote report tables")
