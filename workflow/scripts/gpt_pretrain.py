"""Rule gpt_pretrain: DNAGPT-style pretraining with three objectives (dnalm.gpt.pretrain_gpt).

Under Snakemake with ``resources.gpu > 1`` this script re-executes itself under torchrun.
"""

import os
from pathlib import Path

from dnalm._log import setup_script_logging

log = setup_script_logging(snakemake.log[0])  # noqa: F821
from dnalm.gpt import pretrain_gpt  # noqa: E402
from dnalm.pretrain import relaunch  # noqa: E402

sm = snakemake  # noqa: F821
n_gpu = int(sm.resources.get("gpu", 0) or 0)
if n_gpu > 1 and "RANK" not in os.environ:
    relaunch(n_gpu, globals().get("__real_file__", __file__), log_path=sm.log[0])
else:
    pretrain_gpt(
        shard_paths=Path(sm.input.stats).parent / "shards",
        out_dir=sm.output.model,
        ckpt_dir=sm.params.ckpt_dir,
        log_tsv=sm.output.log_tsv,
        curves_png=sm.output.curves,
        size=sm.params.run["size"],
        preset=dict(sm.params.run["preset"]),
        preset_name=sm.params.run["preset_name"],
        threads=sm.threads if n_gpu == 0 else None,
        verbose=True,
    )
