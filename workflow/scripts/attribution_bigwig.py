"""Rule attribution_bigwig: per-base mean attribution over the attributed windows, one bigWig per method."""

from dnalm._log import setup_script_logging

log = setup_script_logging(snakemake.log[0])  # noqa: F821

from dnalm.attribution.bigwig import read_fai, write_bigwig  # noqa: E402
from dnalm.attribution.npz import read_attribution  # noqa: E402

sm = snakemake  # noqa: F821
sizes = read_fai(sm.input.fai)
for npz, bw in zip(sm.input.npz, sm.output.bw, strict=True):
    info = write_bigwig(bw, read_attribution(npz), sizes)
    log.info("%s: %d windows, %d bases", bw, info["n_windows"], info["n_bases"])
