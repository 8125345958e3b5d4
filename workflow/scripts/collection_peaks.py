"""Rule collection_peaks: one experiment's peaks, md5-checked against its table row, contigs renamed."""

from dnalm._log import setup_script_logging

log = setup_script_logging(snakemake.log[0])  # noqa: F821

from dnalm.tf_collections import fetch_experiment  # noqa: E402

sm = snakemake  # noqa: F821
stats = fetch_experiment(
    sm.input.manifest,
    sm.wildcards.experiment,
    sm.output[0],
    fasta=sm.input.fasta,
    contigs=sm.input.contigs,
)
log.info("%s", stats)
