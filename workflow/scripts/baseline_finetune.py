"""Rule baseline_finetune: train a non-pretrained baseline (cnn, cnn_lstm, cnn_gru, kmer_lr)."""

from pathlib import Path

from dnalm._log import setup_script_logging

log = setup_script_logging(snakemake.log[0])  # noqa: F821

from dnalm.finetune import finetune, finetune_kwargs  # noqa: E402

sm = snakemake  # noqa: F821
finetune(
    train=sm.input.train,
    dev=sm.input.dev,
    test=sm.input.test,
    out_dir=Path(sm.output.metrics).parent,
    model_name=sm.wildcards.model,
    seed=int(sm.wildcards.seed),
    task=sm.wildcards.task,
    num_threads=sm.threads,
    **finetune_kwargs(sm.params.ft, sm.wildcards.model),
)
