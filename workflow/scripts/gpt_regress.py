"""Rule gpt_regress: fine-tune a GPT language model as one expression task's regression.

Step checkpoints go to ``params.ckpt_dir`` (resumed on a retry, as rule gpt_finetune).
"""

from pathlib import Path

from dnalm._log import setup_script_logging

log = setup_script_logging(snakemake.log[0])  # noqa: F821 - injected by Snakemake

from dnalm.gpt.regress import fit_gpt_regression  # noqa: E402

sm = snakemake  # noqa: F821
fit_gpt_regression(
    {s: sm.input[s] for s in ("train", "dev", "test")},
    Path(sm.output.metrics).parent,
    lm_dir=sm.input.lm,
    model_name=sm.wildcards.model,
    scratch=bool(sm.params.scratch),
    task=sm.wildcards.task,
    seed=int(sm.wildcards.seed),
    num_threads=sm.threads,
    ckpt_dir=sm.params.ckpt_dir,
    **sm.params.ft,  # the run's resolved recipe (dnalm.paths.finetune_params)
)
