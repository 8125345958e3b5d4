"""Rule attribution_maps: ISM and/or integrated-gradients maps of a task's test positives."""

from dnalm._log import setup_script_logging

log = setup_script_logging(snakemake.log[0])  # noqa: F821

import torch  # noqa: E402
from dnalm.attribution.task import attribute_task  # noqa: E402

sm = snakemake  # noqa: F821
torch.set_num_threads(sm.threads)
attribute_task(
    model_dir=sm.params.model_dir,
    test=sm.input.test,
    card=sm.input.card,
    out_dir=sm.params.out_dir,
    methods=sm.params.methods,
    **sm.params.attribution,  # the attribution section (dnalm.settings.Attribution) less its selection
)
