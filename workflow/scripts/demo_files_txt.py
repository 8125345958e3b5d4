"""Rule demo_files_txt: a demo world's narrowPeak files listed as a UCSC encodeDCC files.txt."""

from dnalm._log import setup_script_logging

log = setup_script_logging(snakemake.log[0])  # noqa: F821

from dnalm.sim import write_files_txt  # noqa: E402

sm = snakemake  # noqa: F821
write_files_txt(sm.input.peaks, sm.output[0], cell=sm.wildcards.world)
