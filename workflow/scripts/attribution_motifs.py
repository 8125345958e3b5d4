"""Rule attribution_motifs: TF-MoDISco patterns, TOMTOM matches, logos and summary.json."""

import os
from pathlib import Path

from dnalm._log import setup_script_logging

log = setup_script_logging(snakemake.log[0])  # noqa: F821
# modisco-lite's numba kernels use NUMBA_NUM_THREADS threads: the job's, not the node's cores.
os.environ["NUMBA_NUM_THREADS"] = str(snakemake.threads)  # noqa: F821

from dnalm.attribution_motifs import discover_attribution_motifs  # noqa: E402
from dnalm.dataset import read_card  # noqa: E402

sm = snakemake  # noqa: F821
discover_attribution_motifs(
    attribution=sm.input.attribution,
    out_dir=Path(sm.output.summary).parent,
    known=sm.input.known[0] if sm.input.known else None,
    metrics=sm.input.metrics,
    kind=read_card(sm.input.card).kind,
    truth=sm.input.truth[0] if sm.input.truth else None,
    **sm.params.modisco,  # the modisco section (dnalm.settings.Modisco) less its selection
    n_jobs=int(sm.threads),
)
