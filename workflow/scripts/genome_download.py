"""Rules genome_download / genome_assembly_report: fetch one configured source, checksums verified."""

from dnalm._log import setup_script_logging
from dnalm.fetch import fetch

log = setup_script_logging(snakemake.log[0])  # noqa: F821 - injected by Snakemake

src = snakemake.params.src  # noqa: F821
fetch(src["url"], snakemake.output[0], md5=src.get("md5"), sha256=src.get("sha256"))  # noqa: F821
