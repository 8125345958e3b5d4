"""The resumable step loop shared by classification fine-tuning and GPT expression regression.

:func:`run_loop` owns what both loops have in common: the per-epoch batch order drawn from one
generator (its state at each epoch start is saved), the optimizer step with gradient clipping
and the learning-rate schedule, dev evaluations at fixed batches of each epoch, step
checkpoints (:mod:`dnalm.finetune_state`: every ``every`` steps, at ``stop_at``, and on
SIGUSR1/SIGTERM, after which :class:`~dnalm.pretrain.PreemptedError` is raised), resuming from
the newest checkpoint of the same fingerprint, early stopping and restoring the best weights.
What differs is passed in: the loss of a batch (:mod:`dnalm.finetune`: cross-entropy of class
logits; :mod:`dnalm.gpt.regress`: MSE of the regression head) and the dev evaluation, which
appends the log row and updates the best-so-far state and the early-stopping counter.

A run interrupted and resumed ends exactly as the uninterrupted run on the CPU: everything the
loop reads (weights, optimizer, scheduler, RNGs, data position, log, best state) is in the
checkpoint.
"""

from __future__ import annotations

import contextlib
import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from dnalm.finetune_state import LoopState, resume_state, save_state
from dnalm.pretrain.launch import PreemptedError, StopFlag, stop_signals

__all__ = ["Checkpointing", "StepPlan", "run_loop"]

#: ``evaluate(state, epoch, lr)``: one dev evaluation; appends to ``state.rows``, updates the
#: best-so-far fields, ``bad`` and ``stopped``; returns the progress bar's postfix (or None).
Evaluate = Callable[[LoopState, float, float], dict[str, str] | None]


@dataclass(frozen=True)
class Checkpointing:
    """Step checkpoints of one run (see :mod:`dnalm.finetune_state`).

    Attributes
    ----------
    ckpt_dir : Path
        Undeclared checkpoint directory; the newest checkpoint of ``fingerprint`` is resumed.
    every : int
        Optimizer steps between checkpoints.
    keep : int
        Newest checkpoints kept.
    fingerprint : dict
        What determines the run (:func:`dnalm.finetune_state.finetune_fingerprint`).
    stop_at : int or None
        Checkpoint after this step and return None (a controlled interruption).
    on_step : callable or None
        Called with the step number after each optimizer step (tests send signals from it).
    """

    ckpt_dir: Path
    every: int
    keep: int
    fingerprint: dict[str, Any]
    stop_at: int | None = None
    on_step: Callable[[int], None] | None = None


@dataclass(frozen=True)
class StepPlan:
    """Steps and dev evaluations of a run.

    Attributes
    ----------
    steps_per_epoch : int
    epochs : int
        At least the requested epochs; more when ``min_steps`` needs them.
    total : int
        ``steps_per_epoch * epochs`` (the learning-rate schedule's length).
    evals_per_epoch : int
    eval_at : frozenset of int
        1-based batch numbers of an epoch after which the dev split is evaluated.
    """

    steps_per_epoch: int
    epochs: int
    total: int
    evals_per_epoch: int
    eval_at: frozenset[int]

    @classmethod
    def make(cls, n_train: int, batch_size: int, epochs: int, min_steps: int = 0,
             evals_per_epoch: int | None = None) -> StepPlan:  # fmt: skip
        """Plan ``epochs`` over ``n_train`` rows (small sets get extra epochs up to ``min_steps``).

        ``evals_per_epoch`` defaults to about 20 evaluations over the run, at most one per step.
        """
        per_epoch = math.ceil(n_train / batch_size)
        epochs = max(epochs, math.ceil(min_steps / per_epoch))
        if evals_per_epoch is None:
            evals_per_epoch = max(1, math.ceil(20 / epochs))
        evals = min(int(evals_per_epoch), per_epoch)
        eval_at = frozenset(round((j + 1) * per_epoch / evals) for j in range(evals))
        return cls(per_epoch, epochs, per_epoch * epochs, evals, eval_at)


def run_loop(
    model: torch.nn.Module,
    opt: torch.optim.Optimizer,
    sched: torch.optim.lr_scheduler.LRScheduler,
    plan: StepPlan,
    batches: Callable[[np.random.Generator], list[np.ndarray]],
    batch_loss: Callable[[np.ndarray], torch.Tensor],
    evaluate: Evaluate,
    *,
    seed: int,
    max_grad_norm: float,
    checkpointing: Checkpointing | None = None,
    verbose: bool = False,
    desc: str = "finetune",
) -> LoopState | None:
    """Train ``model`` in place and restore its best weights; return the final loop state.

    Parameters
    ----------
    model, opt, sched
        The model (already on its device), its optimizer and learning-rate scheduler.
    plan : StepPlan
    batches : callable
        ``batches(rng)``: one epoch's batches of training row indices, drawn from ``rng``.
    batch_loss : callable
        ``batch_loss(idx)``: the scalar training loss of the rows ``idx`` (with gradients).
    evaluate : callable
        ``evaluate(state, epoch, lr)`` after the batches of ``plan.eval_at`` (see
        :data:`Evaluate`); ``epoch`` is fractional, ``lr`` the rate of the step just taken.
    seed : int
        Seeds the batch-order generator.
    max_grad_norm : float
    checkpointing : Checkpointing, optional
        Resume from its newest checkpoint of the same fingerprint, write one every ``every``
        steps, and on SIGUSR1/SIGTERM write one and raise
        :class:`~dnalm.pretrain.launch.PreemptedError`. Default is None (signals left alone).
    verbose : bool, optional
        tqdm progress. Default is False.
    desc : str, optional
        Progress bar label. Default is "finetune".

    Returns
    -------
    LoopState or None
        The state at the end (``rows``, ``best_row``, ...), the best weights loaded into
        ``model``; None once ``checkpointing.stop_at`` steps are done (checkpoint written).
    """
    rng = np.random.default_rng(seed)  # batch order; its state at each epoch start is saved
    cp = checkpointing
    st = (resume_state(cp.ckpt_dir, model, opt, sched, cp.fingerprint) if cp else None) or LoopState()
    signals = stop_signals() if cp else contextlib.nullcontext(StopFlag())
    bar = tqdm(total=plan.total, initial=st.step, disable=not verbose, desc=desc)
    with signals as stop, bar:
        model.train()
        while st.epoch < plan.epochs and not st.stopped:
            if st.epoch_rng:  # resumed (or a later epoch): the order this epoch was drawn from
                rng.bit_generator.state = json.loads(st.epoch_rng)
            st.epoch_rng = json.dumps(rng.bit_generator.state)
            epoch_batches = batches(rng)
            for b in range(st.batch + 1, len(epoch_batches) + 1):
                loss = batch_loss(epoch_batches[b - 1])
                opt.zero_grad(set_to_none=True)
                loss.backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), max_grad_norm)
                cur_lr = opt.param_groups[0]["lr"]
                opt.step()
                sched.step()
                st.step += 1
                st.batch = b
                st.losses.append(float(loss.detach()))
                bar.update(1)
                if cp and cp.on_step is not None:
                    cp.on_step(st.step)
                if b in plan.eval_at:
                    postfix = evaluate(st, st.epoch + b / plan.steps_per_epoch, cur_lr)
                    if postfix:
                        bar.set_postfix(postfix)
                if cp is not None and _checkpoint(cp, st, stop.signum, model, opt, sched):
                    return None  # stop_at reached
                if st.stopped:
                    break
            if not st.stopped:
                st.epoch, st.batch = st.epoch + 1, 0
                st.epoch_rng = json.dumps(rng.bit_generator.state)
    if st.best_state is not None:
        model.load_state_dict(st.best_state)
    return st


def _checkpoint(
    cp: Checkpointing,
    st: LoopState,
    signum: int,
    model: torch.nn.Module,
    opt: torch.optim.Optimizer,
    sched: torch.optim.lr_scheduler.LRScheduler,
) -> bool:
    """After a step: checkpoint when due (every ``cp.every`` steps, a stop signal, ``stop_at``).

    Raises :class:`PreemptedError` after a signal, once the checkpoint is written; returns
    True at ``cp.stop_at``.
    """
    if signum or st.step % cp.every == 0 or st.step == cp.stop_at:
        save_state(cp.ckpt_dir, st, model, opt, sched, cp.fingerprint, cp.keep)
    if signum:
        raise PreemptedError(f"received signal {signum}; checkpoint for step {st.step} "
                             f"saved in {cp.ckpt_dir}, rerun to resume")
    return st.step == cp.stop_at
