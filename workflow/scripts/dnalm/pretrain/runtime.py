"""The training machinery BERT (:mod:`dnalm.pretrain.train`) and GPT (:mod:`dnalm.gpt.train`)
pretraining share: preset, optimizer and lr schedule, DDP/compile wrapping, checkpoints and
resume (only with an equal fingerprint), the optimizer step, and the end-of-step
validation/checkpoint/signal handling.

A run is any object with the attributes of :class:`TrainingRun`; what differs between the two
models (the loss module, the batches, the log rows, what a checkpoint adds) stays with each.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterable
from functools import partial
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch

from dnalm import checkpoint as ckpt
from dnalm.corpus.stream import BatchStream, epoch_batches
from dnalm.pretrain.batch import BatchPlan
from dnalm.pretrain.check import CHECK_FILE
from dnalm.pretrain.config import PretrainConfig, TrainState, lr_factor
from dnalm.pretrain.fingerprint import FINGERPRINT_FILE, fingerprint_changes, set_aside_checkpoints
from dnalm.pretrain.launch import PreemptedError, Processes, StopFlag
from dnalm.pretrain.outputs import RUN_FILE, run_record

__all__ = ["TrainingRun", "all_reduce_sum", "checkpoint_or_stop", "load_preset", "model_dir_files",
           "optimizer_and_schedule", "optimizer_step", "resume", "save_checkpoint", "split_pieces",
           "validation_batches", "wrap_for_training"]


class TrainingRun(Protocol):
    """What the shared steps read from a run (BERT's ``Run``, GPT's ``_Run``)."""

    cfg: PretrainConfig
    procs: Processes
    batch: BatchPlan  # the split of cfg's global batch over procs
    opt: torch.optim.Optimizer
    sched: torch.optim.lr_scheduler.LambdaLR
    stream: BatchStream
    ckpt_dir: Path
    fingerprint: dict[str, Any]


def load_preset(preset: dict[str, Any] | PretrainConfig, preset_name: str | None = None) -> PretrainConfig:
    """A validated :class:`PretrainConfig` from a preset dict (or an existing config, re-validated).

    Raises
    ------
    ValueError
        Naming ``pretrain_presets.<preset_name>.<key>`` for a bad value.
    """
    if isinstance(preset, PretrainConfig):
        preset.validate(preset_name)
        return preset
    return PretrainConfig.from_dict(dict(preset), preset_name)


def split_pieces(split: np.ndarray, paths: list[Path]) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the training (split 0) and validation (split 1) pieces of a corpus.

    Parameters
    ----------
    split : numpy.ndarray, shape=(n_pieces,)
        The corpus's per-piece split codes.
    paths : list of Path
        Its shards, for the error message.

    Raises
    ------
    ValueError
        When no piece is a training piece, naming the shard folder.
    """
    train, val = np.flatnonzero(split == 0), np.flatnonzero(split == 1)
    if len(train) == 0:
        raise ValueError(f"{paths[0].parent}: corpus has no training pieces (split 0)")
    return train, val


def validation_batches(n_tokens: np.ndarray, pieces: np.ndarray, batch_size: int, n_batches: int,
                       seed: int, pool_batches: int) -> list[np.ndarray]:
    """The fixed validation batches: the first ``n_batches`` length-bucketed batches of
    ``pieces`` in the order of a reserved epoch (-1), the same at every validation.

    Parameters
    ----------
    n_tokens : numpy.ndarray, shape=(n_pieces,)
        Tokens per piece of the whole corpus.
    pieces : numpy.ndarray
        Validation piece indices.
    batch_size, n_batches, seed, pool_batches : int
        Preset keys ``eval_batch_size``, ``val_batches``, ``seed``, ``pool_batches``.

    Returns
    -------
    list of numpy.ndarray
        Piece indices per batch; empty without pieces or with ``n_batches`` 0.
    """
    if not len(pieces) or not n_batches:
        return []
    order = epoch_batches(n_tokens[pieces], batch_size, seed, -1 % 2**31, pool_batches)
    return [pieces[b] for b in order[:n_batches]]


def all_reduce_sum(values: list[float], procs: Processes) -> list[float]:
    """``values`` summed over all processes (float64; unchanged on one process)."""
    vec = torch.tensor(values, dtype=torch.float64)
    if procs.ddp:
        import torch.distributed as dist

        vec = vec.to(procs.device)
        dist.all_reduce(vec)
        vec = vec.cpu()
    return vec.tolist()


def optimizer_and_schedule(groups: list[dict[str, Any]], cfg: PretrainConfig, device: torch.device
                           ) -> tuple[torch.optim.AdamW, torch.optim.lr_scheduler.LambdaLR]:
    """AdamW over parameter ``groups`` and the warm-up + linear-decay schedule of ``cfg``.

    Fused AdamW: one kernel per parameter on CUDA, and on the CPU about 3x faster than the
    default single-tensor loop (foreach is slower there); the same AdamW update.
    """
    opt = torch.optim.AdamW(groups, lr=cfg.lr, betas=cfg.betas, eps=cfg.eps,
                            fused=device.type in ("cuda", "cpu"))
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, partial(lr_factor, warmup_steps=cfg.warmup_steps, total_steps=cfg.lr_horizon))
    return opt, sched


def wrap_for_training(loss_mod: torch.nn.Module, cfg: PretrainConfig, procs: Processes) -> torch.nn.Module:
    """``loss_mod`` in DistributedDataParallel when ``procs`` is a DDP group, then compiled if
    ``cfg.compile``; the module the training loop calls."""
    model = loss_mod
    if procs.ddp:
        from torch.nn.parallel import DistributedDataParallel

        ids = [procs.device.index] if procs.device.type == "cuda" else None
        model = DistributedDataParallel(loss_mod, device_ids=ids)
    if cfg.compile:
        model = torch.compile(model)
    return model


def save_checkpoint(run: TrainingRun, state: TrainState, weights: torch.nn.Module,
                    write_live_log: Callable[[list[dict[str, Any]], Path], None], live_log: str,
                    **extra: Any) -> None:
    """Every rank's RNG state, then rank 0 writes the checkpoint and the live log.

    Parameters
    ----------
    run : TrainingRun
    state : TrainState
        Its data position and RNG states are filled in here.
    weights : torch.nn.Module
        The model whose ``state_dict`` is saved (not the DDP/compiled wrapper).
    write_live_log : callable
        ``(rows, path)``: writes the log so far to ``ckpt_dir/live_log``.
    live_log : str
        File name of the live log next to the checkpoints.
    **extra
        More checkpoint keys (model-specific: ``k``, ``model_config``, ...).
    """
    state.epoch, state.cursor = run.stream.position
    state.rng = [ckpt.capture_rng()]
    if run.procs.ddp:
        import torch.distributed as dist

        state.rng = [None] * run.procs.world
        dist.all_gather_object(state.rng, ckpt.capture_rng())
    if run.procs.master:
        saved = {"model": weights.state_dict(), "optimizer": run.opt.state_dict(),
                 "scheduler": run.sched.state_dict(), **state.to_checkpoint(), **extra,
                 "world_size": run.procs.world, "batch": run.batch.to_dict(),
                 "preset": run.cfg.to_dict(), "fingerprint": run.fingerprint}
        ckpt.save_checkpoint(run.ckpt_dir, state.step, saved, keep=run.cfg.keep_checkpoints)
        write_live_log(state.rows, run.ckpt_dir / live_log)
    run.procs.barrier()


def resume(run: TrainingRun, weights: torch.nn.Module, log: logging.Logger) -> TrainState:
    """Resume from the newest checkpoint if it has this run's fingerprint; else start afresh.

    Checkpoints of another fingerprint are moved into a ``stale-*`` subfolder, with a
    warning that names each changed key. A checkpoint of another process count resumes with
    a warning: its data order differs from an uninterrupted run.
    """
    procs = run.procs
    found = ckpt.latest_checkpoint(run.ckpt_dir)
    changes = fingerprint_changes(found[1].get("fingerprint"), run.fingerprint) if found else []
    procs.barrier()  # every rank has read the checkpoint before any file moves
    if found is None:
        return TrainState()
    path, saved = found
    if changes:
        if procs.master:
            stale = set_aside_checkpoints(run.ckpt_dir, saved.get("fingerprint"))
            log.warning("%s was written with other settings; not resuming from it. Changed:",
                        path.name)
            for change in changes:
                log.warning("  %s", change)
            log.warning("old checkpoints moved to %s; training from step 0", stale)
        procs.barrier()
        return TrainState()
    weights.load_state_dict(saved["model"])
    run.opt.load_state_dict(saved["optimizer"])
    run.sched.load_state_dict(saved["scheduler"])
    state = TrainState.from_checkpoint(saved)
    run.stream.seek(state.epoch, state.cursor)
    if saved.get("world_size") == procs.world and procs.rank < len(state.rng):
        ckpt.restore_rng(state.rng[procs.rank])
    elif saved.get("world_size") != procs.world:
        old = saved.get("batch", {}).get("global_batch")
        log.warning("%s was written by %s processes, now %d: data order differs from an "
                    "uninterrupted run; global batch %s -> %d", path, saved.get("world_size"),
                    procs.world, old, run.batch.global_batch)
    if procs.master:
        log.info("resumed from %s (step %d)", path, state.step)
    return state


def optimizer_step(run: TrainingRun, state: TrainState, params: Iterable[torch.nn.Parameter],
                   on_step: Callable[[int], None] | None = None) -> float:
    """Clip the gradients of ``params`` (``cfg.max_grad_norm`` > 0), step optimizer and schedule,
    advance ``state.step`` and call ``on_step`` with it; return the lr the step used."""
    if run.cfg.max_grad_norm > 0:
        torch.nn.utils.clip_grad_norm_(params, run.cfg.max_grad_norm)
    lr = float(run.sched.get_last_lr()[0])
    run.opt.step()
    run.sched.step()
    run.opt.zero_grad(set_to_none=True)
    state.step += 1
    if on_step is not None:
        on_step(state.step)
    return lr


def checkpoint_or_stop(run: TrainingRun, state: TrainState, stop: StopFlag, stop_at: int | None,
                       validate: Callable[[], None], save: Callable[[], None]) -> tuple[bool, float]:
    """After an optimizer step: validate and checkpoint when due, honour signals and ``stop_at``.

    Validation and a checkpoint are due every ``cfg.checkpoint_every`` steps and at the last
    step; a checkpoint is also written on a signal all processes agreed on (``stop``, from
    :func:`dnalm.pretrain.launch.stop_signals`) and at ``stop_at``.

    Returns
    -------
    (bool, float)
        Whether the loop stops here (at ``stop_at`` before the last step), and the seconds
        spent, which the caller leaves out of its tokens/s.

    Raises
    ------
    PreemptedError
        After a signal, once the checkpoint is written.
    """
    paused = time.perf_counter()
    final = state.step == run.cfg.steps
    signum = stop.agreed(run.procs)
    due = final or state.step % run.cfg.checkpoint_every == 0
    if due:
        validate()
    if due or signum or state.step == stop_at:
        save()
    spent = time.perf_counter() - paused
    if signum:
        raise PreemptedError(f"received signal {signum}; checkpoint for step {state.step} "
                             f"saved in {run.ckpt_dir}, rerun to resume")
    return stop_at is not None and state.step >= stop_at and not final, spent


def model_dir_files(run: TrainingRun, state: TrainState, check: dict[str, Any] | None) -> dict[str, str]:
    """The files a finished run adds to its model directory: ``training_fingerprint.json``,
    ``training_run.json`` (:func:`dnalm.pretrain.outputs.run_record`) and, with a verdict,
    ``learning_check.json``; name -> text."""
    files = {FINGERPRINT_FILE: json.dumps(run.fingerprint, indent=2, sort_keys=True) + "\n",
             RUN_FILE: json.dumps(run_record(run.batch, run.cfg, state.rows), indent=2) + "\n"}
    if check is not None:
        files[CHECK_FILE] = json.dumps(check, indent=2) + "\n"
    return files
