"""Rules bert_finetune, gpt_finetune and baseline_finetune: train and evaluate one (task, model, seed).

BERT and GPT models get their language-model directory (``input.lm``; ``params.scratch``, False
or the architecture of a random-init control, :func:`dnalm.paths.scratch_params`); ``params.ft`` is the run's resolved recipe (GPT classifiers with the
``finetune.gpt`` overrides, the task's own ``min_steps`` and ``long_input``); baselines (cnn,
cnn_lstm, cnn_gru, kmer_lr) have neither. ``input.card`` (the task card) goes into the
``model/`` directory every run writes. Step checkpoints go to ``params.ckpt_dir`` (resumed on
a retry). Outside Snakemake this is the command line of ``python -m dnalm.finetune``
(``--help``).
"""

import sys
from pathlib import Path

if "snakemake" in globals():
    from dnalm._log import setup_script_logging

    log = setup_script_logging(snakemake.log[0])  # noqa: F821
    from dnalm.finetune import finetune

    sm = snakemake  # noqa: F821
    finetune(
        train=sm.input.train,
        dev=sm.input.dev,
        test=sm.input.test,
        out_dir=Path(sm.output.metrics).parent,
        model_name=sm.wildcards.model,
        lm_dir=sm.input.get("lm"),
        scratch=bool(sm.params.get("scratch", False)),
        seed=int(sm.wildcards.seed),
        task=sm.wildcards.task,
        num_threads=sm.threads,
        ckpt_dir=sm.params.ckpt_dir,
        card=sm.input.get("card"),
        **sm.params.ft,  # the run's resolved recipe (dnalm.paths.finetune_params)
    )
else:
    from dnalm.finetune import main

    sys.exit(main())
