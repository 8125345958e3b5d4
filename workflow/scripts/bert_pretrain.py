"""Rule bert_pretrain: masked-LM pretraining of a k-mer BERT (dnalm.pretrain.pretrain).

Under Snakemake with ``resources.gpu > 1`` this script re-executes itself under torchrun
(one process per GPU; each process re-reads the Snakemake preamble). Outside Snakemake it
is the command line of ``python -m dnalm.pretrain`` (``--help``), also runnable as
``torchrun --nproc_per_node=N bert_pretrain.py ...``.
"""

import os
import sys
from pathlib import Path

if "snakemake" in globals():
    from dnalm._log import setup_script_logging

    log = setup_script_logging(snakemake.log[0])  # noqa: F821
    from dnalm.pretrain import pretrain, relaunch

    sm = snakemake  # noqa: F821
    n_gpu = int(sm.resources.get("gpu", 0) or 0)
    if n_gpu > 1 and "RANK" not in os.environ:
        # Snakemake's preamble renames __file__; __real_file__ is the generated script itself.
        relaunch(n_gpu, globals().get("__real_file__", __file__), log_path=sm.log[0])
    else:
        pretrain(
            shard_paths=Path(sm.input.stats).parent / "shards",
            out_dir=sm.output.model,
            ckpt_dir=sm.params.ckpt_dir,
            log_tsv=sm.output.log_tsv,
            curves_png=sm.output.curves,
            k=int(sm.params.run["k"]),
            size=sm.params.run["size"],
            preset=dict(sm.params.run["preset"]),
            preset_name=sm.params.run["preset_name"],
            threads=sm.threads if n_gpu == 0 else None,
            verbose=True,
        )
else:
    from dnalm.pretrain import main

    sys.exit(main())
