"""Rule known_motifs_download: fetch one motifs.sources entry, checksums verified, format checked."""

from dnalm._log import setup_script_logging

log = setup_script_logging(snakemake.log[0])  # noqa: F821 - injected by Snakemake

from dnalm.motifs import fetch_known_motifs  # noqa: E402

fetch_known_motifs(snakemake.params.src, snakemake.output[0])  # noqa: F821
