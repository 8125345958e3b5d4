"""GPT pretraining on corpus shards with three objectives, resumable like BERT pretraining.

Shared with :mod:`dnalm.pretrain` (imported, not copied): the preset
(:class:`~dnalm.pretrain.PretrainConfig`; ``mask_schedule`` is unused here), the batch split over
processes (:func:`~dnalm.pretrain.batch_plan`), :class:`~dnalm.pretrain.TrainState`, the
training machinery of :mod:`dnalm.pretrain.runtime` (optimizer and lr schedule, DDP/compile
wrapping, checkpoints, resume with fingerprints and ``stale-*`` set-aside, the optimizer step,
end-of-step validation/checkpoint/SIGUSR1/SIGTERM handling), DDP processes
(:mod:`dnalm.pretrain.launch`), the shard reader and length-bucketed batch stream
(:mod:`dnalm.corpus.stream`), the ``train_log.tsv`` writer and ``training_run.json``
(:mod:`dnalm.pretrain.outputs`) and the bootstrap comparison with a frequency baseline
(:func:`dnalm.pretrain.check.learning_check`).

Randomness: which rows are reversed comes from ``(seed, rank, step, micro-step)``, the data
order from ``(seed, epoch)``, so a run resumed from a checkpoint repeats the uninterrupted one.
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from dnalm._compat import autocast
from dnalm.corpus import find_shards
from dnalm.corpus.stream import BatchStream, derive_seed
from dnalm.gpt.check import UnigramBaseline, ValidationSet, evaluate, gpt_learning_check
from dnalm.gpt.data import GptCorpus, make_rows
from dnalm.gpt.model import GPT_SIZES, DnaGptModel, build_gpt, save_gpt_dir, unigram_head_init
from dnalm.gpt.objectives import GptLoss
from dnalm.gpt.outputs import plot_gpt_curves, write_gpt_log
from dnalm.pretrain.batch import BatchPlan, batch_plan
from dnalm.pretrain.config import PretrainConfig, TrainState
from dnalm.pretrain.fingerprint import training_fingerprint
from dnalm.pretrain.launch import Processes, distributed, stop_signals
from dnalm.pretrain.runtime import (
    all_reduce_sum,
    checkpoint_or_stop,
    load_preset,
    model_dir_files,
    optimizer_and_schedule,
    optimizer_step,
    resume,
    save_checkpoint,
    split_pieces,
    wrap_for_training,
)

__all__ = ["pretrain_gpt"]

log = logging.getLogger("dnalm.gpt")

LIVE_LOG = "train_log.live.tsv"
_SUMS = ("loss", "nt_loss", "gc_mse", "order_loss", "nt_correct", "nt_n", "order_correct", "rows", "tokens")


@dataclass
class _Run:
    cfg: PretrainConfig
    size: str
    procs: Processes
    batch: BatchPlan
    model: DnaGptModel
    loss_mod: GptLoss
    wrapped: torch.nn.Module
    opt: torch.optim.Optimizer
    sched: torch.optim.lr_scheduler.LambdaLR
    corpus: GptCorpus
    stream: BatchStream
    val: ValidationSet | None
    baseline: UnigramBaseline | None
    gc_mean: float
    gc_unit: float
    ckpt_dir: Path
    fingerprint: dict[str, Any]
    val_rows: tuple[int, dict[str, np.ndarray]] | None = None


def _param_groups(model: DnaGptModel, weight_decay: float, head_eps: float | None = None
                  ) -> list[dict[str, Any]]:
    """AdamW groups: decay on matrices (weights, embeddings), none on biases and LayerNorm weights.

    With ``head_eps`` the token head's output layer (weight and bias) is a third group with that
    eps and no weight decay (preset key ``token_head_eps``).
    """
    out = model.lm_head[-1]
    head = {id(out.weight), id(out.bias)} if head_eps is not None else set()
    params = [p for p in model.parameters() if p.requires_grad]
    decay = [p for p in params if p.ndim >= 2 and id(p) not in head]
    rest = [p for p in params if p.ndim < 2 and id(p) not in head]
    groups = [{"params": decay, "weight_decay": weight_decay}, {"params": rest, "weight_decay": 0.0}]
    if head:
        groups.append({"params": [p for p in params if id(p) in head], "weight_decay": 0.0,
                       "eps": float(head_eps)})
    return groups


def _build(shard_paths, size: str, cfg: PretrainConfig, procs: Processes, ckpt_dir: Path,
           batch: BatchPlan) -> _Run:
    paths = find_shards(shard_paths)
    n_pos = GPT_SIZES[size]["n_positions"]
    corpus = GptCorpus(paths, n_pos)
    train_pieces, val_pieces = split_pieces(corpus.split, paths)
    gc_mean, gc_unit = corpus.gc_stats(train_pieces, seed=cfg.seed)  # the target is standardised
    model = build_gpt(size, seed=cfg.seed, extra={"gc_mean": gc_mean, "gc_unit": gc_unit,
                                                  "gc_weight": cfg.gc_weight})
    counts = corpus.token_counts(train_pieces, seed=cfg.seed)  # every rank: same initial weights
    unigram_head_init(model, counts, seed=cfg.seed)
    loss_mod = GptLoss(model, cfg.gc_weight).to(procs.device)
    opt, sched = optimizer_and_schedule(_param_groups(model, cfg.weight_decay, cfg.token_head_eps),
                                        cfg, procs.device)
    wrapped = wrap_for_training(loss_mod, cfg, procs)
    stream = BatchStream(corpus, train_pieces, batch.per_device, cfg.seed, cfg.pool_batches,
                         procs.rank, procs.world, num_workers=cfg.num_workers,
                         pin_memory=procs.device.type == "cuda")
    val, baseline = None, None
    if procs.master and len(val_pieces) and cfg.val_batches:
        val = ValidationSet(corpus, val_pieces, cfg.eval_batch_size, cfg.val_batches, cfg.seed,
                            cfg.pool_batches)
        baseline = UnigramBaseline(counts)
    arch = {"arch": "gpt", "gc_weight": cfg.gc_weight, "head_init": "unigram",
            **{k: model.config.to_dict().get(k) for k in
               ("vocab_size", "n_positions", "n_embd", "n_layer", "n_head", "activation_function",
                "resid_pdrop", "embd_pdrop", "attn_pdrop", "layer_norm_epsilon", "initializer_range")}}
    fp = training_fingerprint(6, size, cfg, {}, paths, arch="gpt")
    fp["architecture"] = json.loads(json.dumps(arch))
    return _Run(cfg, size, procs, batch, model, loss_mod, wrapped, opt, sched, corpus, stream, val,
                baseline, gc_mean, gc_unit, ckpt_dir, fp)


def _validate(run: _Run, state: TrainState) -> None:
    """Rank 0: a validation row (fixed batches and reversals); keeps the per-piece values."""
    if not (run.procs.master and run.val):
        return
    m, rows = evaluate(run.loss_mod, run.corpus, run.val, run.gc_mean, run.gc_unit, run.procs.device,
                       run.baseline)
    run.val_rows = (state.step, rows)
    state.rows.append({"step": state.step, **m, "lr": float(run.sched.get_last_lr()[0]),
                       "tokens_per_s": None, "global_batch": None, "split": "val"})
    state.record_val(m["nt_loss"])


def _save_checkpoint(run: _Run, state: TrainState) -> None:
    """Every rank's RNG state, then rank 0 writes the checkpoint (with the size) and the live log."""
    save_checkpoint(run, state, run.model, write_gpt_log, LIVE_LOG, size=run.size)


def _train_row(run: _Run, state: TrainState, sums: dict[str, float], steps: int, t0: float,
               lr: float) -> dict[str, Any]:
    s = dict(zip(_SUMS, all_reduce_sum([sums[k] for k in _SUMS], run.procs), strict=True))
    per = steps * run.procs.world
    return {"step": state.step, "loss": s["loss"] / per, "nt_loss": s["nt_loss"] / per,
            "nt_acc": s["nt_correct"] / max(s["nt_n"], 1.0), "gc_mse": s["gc_mse"] / per,
            "gc_r2": None, "order_loss": s["order_loss"] / per,
            "order_acc": s["order_correct"] / max(s["rows"], 1.0), "baseline_nt_loss": None,
            "lr": lr, "tokens_per_s": s["tokens"] / max(time.perf_counter() - t0, 1e-9),
            "global_batch": s["rows"] / steps, "split": "train"}


def _train_loop(run: _Run, state: TrainState, stop_at: int | None, verbose: bool,
                on_step: Callable[[int], None] | None) -> str:
    cfg, procs = run.cfg, run.procs
    accum = run.batch.grad_accum
    sums, steps, t0 = dict.fromkeys(_SUMS, 0.0), 0, time.perf_counter()
    bar = tqdm(total=cfg.steps, initial=state.step, disable=not (verbose and procs.master),
               desc="gpt pretrain", mininterval=5)
    with stop_signals() as stop, bar:
        while state.step < cfg.steps:
            torch.manual_seed(derive_seed(cfg.seed, procs.rank, state.step, 1))
            for micro in range(accum):
                codes, lens = run.stream.next()
                rng = np.random.default_rng(derive_seed(cfg.seed, procs.rank, state.step, 2, micro))
                rows = make_rows(codes, lens, rng.random(len(lens)) < 0.5, run.gc_mean, run.gc_unit)
                last = micro == accum - 1
                sync = run.wrapped.no_sync() if procs.ddp and not last else contextlib.nullcontext()
                with sync, autocast(procs.device):
                    out = run.wrapped(*GptLoss.inputs(rows.to(procs.device)))
                    (out["loss"] / accum).backward()
                for key in ("loss", "nt_loss", "gc_mse", "order_loss"):
                    sums[key] += float(out[key].detach()) / accum
                sums["nt_correct"] += float(out["nt_correct_rows"].sum())
                sums["nt_n"] += float(out["nt_n_rows"].sum())
                hit = (out["order_logit"] > 0).cpu() == rows.reversed
                sums["order_correct"] += float(hit.sum())
                sums["rows"] += len(lens)
                sums["tokens"] += float(lens.sum()) / 6
            steps += 1
            bar.update(1)
            lr = optimizer_step(run, state, run.model.parameters(), on_step)
            final = state.step == cfg.steps
            if state.step % cfg.log_every == 0 or final:
                row = _train_row(run, state, sums, steps, t0, lr)
                state.rows.append(row)
                if procs.master:
                    log.info("step %d loss %.4f nt %.4f gc %.4f order %.4f (acc %.3f) lr %.3g tok/s %.0f",
                             state.step, row["loss"], row["nt_loss"], row["gc_mse"], row["order_loss"],
                             row["order_acc"], lr, row["tokens_per_s"])
                sums, steps, t0 = dict.fromkeys(_SUMS, 0.0), 0, time.perf_counter()
            stopped, spent = checkpoint_or_stop(run, state, stop, stop_at, lambda: _validate(run, state),
                                                lambda: _save_checkpoint(run, state))  # fmt: skip
            t0 += spent
            if stopped:
                return "stopped"
    return "done"


def pretrain_gpt(
    shard_paths: str | Path | Sequence[str | Path],
    out_dir: str | Path,
    ckpt_dir: str | Path,
    log_tsv: str | Path,
    curves_png: str | Path,
    size: str,
    preset: dict[str, Any] | PretrainConfig,
    device: str | torch.device | None = None,
    threads: int | None = None,
    stop_at: int | None = None,
    verbose: bool = True,
    on_step: Callable[[int], None] | None = None,
    preset_name: str | None = None,
) -> dict[str, Any]:
    """Pretrain a DNAGPT-style model; resume from ``ckpt_dir`` when it holds this run's checkpoint.

    Parameters
    ----------
    shard_paths : directory, path or sequence of paths
        Corpus shards (as for :func:`dnalm.pretrain.pretrain`).
    out_dir : str or Path
        Model directory (:func:`dnalm.gpt.save_gpt_dir`) with ``training_fingerprint.json``,
        ``training_run.json`` and ``learning_check.json`` (:func:`dnalm.gpt.check.gpt_learning_check`).
    ckpt_dir : str or Path
        Checkpoints (undeclared; other fingerprints are moved into ``stale-*``).
    log_tsv, curves_png : str or Path
        ``train_log.tsv`` (:data:`dnalm.gpt.outputs.GPT_LOG_COLUMNS`) and the curves figure.
    size : {"tiny", "dnagpt_s"}
    preset : dict or PretrainConfig
        ``pretrain_presets.<name>``.
    device : str or torch.device, optional
        Default is cuda if available, else cpu.
    threads : int, optional
        ``torch.set_num_threads`` for CPU runs. Default is None.
    stop_at : int, optional
        Checkpoint and return after this step without final outputs. Default is None.
    verbose : bool, optional
        Progress bar. Default is True.
    on_step : callable, optional
        Called with the step number after each optimizer step.
    preset_name : str, optional
        For error messages (``pretrain_presets.<name>.<key>``).

    Returns
    -------
    dict
        ``{"step", "status", "resumed_from", "train", "val", "verdict", "batch"}``; ``train`` and
        ``val`` are the last log rows of each split.

    Raises
    ------
    PreemptedError
        After SIGUSR1/SIGTERM, once the checkpoint is written.
    """
    if size not in GPT_SIZES:
        raise ValueError(f"`size` must be one of {sorted(GPT_SIZES)}, got {size!r}")
    cfg = load_preset(preset, preset_name)
    out_dir, ckpt_dir, log_tsv, curves_png = map(Path, (out_dir, ckpt_dir, log_tsv, curves_png))
    if threads:
        torch.set_num_threads(int(threads))
    with distributed(device) as procs:
        batch = batch_plan(cfg, procs.world, preset_name)
        run = _build(shard_paths, size, cfg, procs, ckpt_dir, batch)
        state = resume(run, run.model, log)
        if procs.master:
            n_params = sum(p.numel() for p in run.model.parameters())
            log.info("size=%s params=%.2fM world=%d device=%s; %d train / %d val pieces; GC mean %.4f, "
                     "target unit %g", size, n_params / 1e6, procs.world, procs.device,
                     int((run.corpus.split == 0).sum()), int((run.corpus.split == 1).sum()),
                     run.gc_mean, run.gc_unit)
            log.info("%s", batch.describe())
        status = _train_loop(run, state, stop_at, verbose, on_step)
        check = None
        if status == "done" and procs.master:
            if run.val and (run.val_rows is None or run.val_rows[0] != state.step):
                if not any(r["split"] == "val" and r["step"] == state.step for r in state.rows):
                    _validate(run, state)
                else:  # resumed from the final checkpoint: the same fixed validation again
                    m, rows = evaluate(run.loss_mod, run.corpus, run.val, run.gc_mean, run.gc_unit,
                                       procs.device, run.baseline)
                    run.val_rows = (state.step, rows)
            if run.val_rows is not None:
                check = {**gpt_learning_check(run.val_rows[1], step=state.step),
                         "validation": run.corpus.validation_source()}
                (log.info if check["verdict"] == "learns" else log.warning)("learning check: %s",
                                                                            check["reason"])
            else:
                log.warning("no validation pieces: the GPT's learning cannot be checked")
            extra = model_dir_files(run, state, check)
            save_gpt_dir(run.model, out_dir, extra_files=extra)
            write_gpt_log(state.rows, log_tsv)
            plot_gpt_curves(state.rows, curves_png, f"{out_dir.parent.name}: GPT size={size}")
            log.info("wrote %s, %s, %s", out_dir, log_tsv, curves_png)
    return {"step": state.step, "status": status, "resumed_from": state.resumed_from,
            "train": state.last("train"), "val": state.last("val"),
            "verdict": check["verdict"] if check else None, "batch": batch.to_dict()}
