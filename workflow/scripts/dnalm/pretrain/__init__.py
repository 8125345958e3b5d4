"""Masked-LM pretraining of a k-mer BERT on corpus shards (DNABERT section 2.2, made resumable).

Layout (nanoGPT's shape: a config, a loop you read top to bottom, launch concerns apart):

- :mod:`dnalm.pretrain.config`: :class:`PretrainConfig` (one ``pretrain_presets.<name>``,
  validated once; errors name ``pretrain_presets.<name>.<key>``), :class:`TrainState` (step,
  data position, log rows, best validation loss, RNG), the lr and mask-rate schedules;
- :mod:`dnalm.pretrain.batch`: :func:`batch_plan` splits the preset's ``global_batch`` over
  the processes (per-process batch x gradient accumulation x world size == global batch);
- :mod:`dnalm.pretrain.train`: :func:`pretrain` builds the run, resumes and writes the
  outputs; :func:`~dnalm.pretrain.train.train_loop` is the training loop;
- :mod:`dnalm.pretrain.runtime`: the machinery GPT pretraining (:mod:`dnalm.gpt.train`) uses
  too: AdamW and the lr schedule, DDP/compile wrapping, checkpoints and resume, the optimizer
  step, end-of-step validation/checkpoint/signal handling, the model directory's run files;
- :mod:`dnalm.pretrain.mlm`: the masked-token loss, AdamW groups, validation, FLOPs/MFU;
- :mod:`dnalm.pretrain.check`: does the LM learn? Validation MLM loss/accuracy against a k-mer
  frequency baseline on the same masked positions, the verdict ``learning_check.json`` in the
  model directory, and :func:`read_learning_check` for downstream stages;
- :mod:`dnalm.pretrain.fingerprint`: what determines the result; a checkpoint is resumed only
  by a run with an equal fingerprint, others are moved into ``checkpoints/stale-*/``;
- :mod:`dnalm.pretrain.outputs`: ``train_log.tsv`` and ``curves.png`` (both with the baseline),
  ``training_run.json`` (batch split and lr schedule);
- :mod:`dnalm.pretrain.launch`: DDP processes, torchrun relaunch, SIGUSR1/SIGTERM, the CLI
  (``python -m dnalm.pretrain``).

The corpus side (shards -> length-bucketed token batches) is :mod:`dnalm.corpus.stream`.

What a run does:

- pieces are tokenized on the fly as ``[CLS] k-mers [SEP]`` and batched with pieces of
  similar length, so padding stays a few percent where DNABERT padded every row to 512;
- DNABERT-style contiguous k-token spans are masked (:mod:`dnalm.mask`) at the rate of
  ``mask_schedule``; the vocabulary head runs on masked positions only;
- AdamW (no decay on biases and LayerNorm weights), linear warm-up then linear decay to 0
  at ``schedule_steps`` (default ``steps``; DNABERT: set for 200k, stopped at 120k),
  gradient clipping, bf16 autocast on CUDA (fp32 elsewhere; no fp16, so no GradScaler), SDPA
  attention (stock SDPA and ``nn.Dropout`` on every device), optional ``torch.compile``;
- DDP when launched by torchrun: each rank takes every ``world_size``-th batch, gradients
  synchronise on the last micro-step, only rank 0 writes files; the global batch (sequences
  per optimizer step) is the preset's whatever the number of processes;
- complete atomic checkpoints (:mod:`dnalm.checkpoint`) every ``checkpoint_every`` steps; a
  rerun with the same fingerprint resumes from the newest one (SLURM requeue, Snakemake
  retries, kill -9), and SIGUSR1/SIGTERM checkpoint and exit non-zero.

Randomness is derived from ``(seed, rank, step)`` at every step (masks, dropout) and from
``(seed, epoch)`` for the data order, so a resumed run repeats the uninterrupted one.
"""

from dnalm.pretrain.batch import BatchPlan, batch_plan
from dnalm.pretrain.check import (
    ACC_MARGIN,
    CHECK_FILE,
    KmerBaseline,
    check_summary,
    learning_check,
    read_learning_check,
)
from dnalm.pretrain.config import PretrainConfig, TrainState, lr_factor, mask_rate_at
from dnalm.pretrain.fingerprint import FINGERPRINT_FILE, fingerprint_changes, training_fingerprint
from dnalm.pretrain.launch import PreemptedError, main, relaunch, torchrun_command
from dnalm.pretrain.outputs import LOG_COLUMNS, RUN_FILE
from dnalm.pretrain.train import pretrain

__all__ = [
    "PretrainConfig",
    "TrainState",
    "PreemptedError",
    "LOG_COLUMNS",
    "RUN_FILE",
    "BatchPlan",
    "batch_plan",
    "FINGERPRINT_FILE",
    "CHECK_FILE",
    "ACC_MARGIN",
    "KmerBaseline",
    "learning_check",
    "read_learning_check",
    "check_summary",
    "pretrain",
    "training_fingerprint",
    "fingerprint_changes",
    "mask_rate_at",
    "lr_factor",
    "torchrun_command",
    "relaunch",
    "main",
]
