"""The pretraining run: set up, resume (only with an equal fingerprint), train, write outputs.

Read :func:`pretrain` (set-up and outputs) and :func:`train_loop` (one optimizer step per
iteration) top to bottom; everything they share is in a :class:`Run` and a
:class:`~dnalm.pretrain.config.TrainState`. The machinery GPT pretraining uses too (optimizer,
checkpoints, resume, end-of-step handling) is in :mod:`dnalm.pretrain.runtime`.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from dnalm import kmers
from dnalm._compat import autocast
from dnalm._validate import validate_k
from dnalm.corpus import find_shards
from dnalm.corpus.stream import BatchStream, Corpus, derive_seed
from dnalm.mask import centre_prob_for_rate, mask_tokens
from dnalm.modeling import SIZES, build_mlm, save_model_dir
from dnalm.pretrain.batch import BatchPlan, batch_plan
from dnalm.pretrain.check import KmerBaseline, learning_check
from dnalm.pretrain.config import PretrainConfig, TrainState, mask_rate_at
from dnalm.pretrain.fingerprint import training_fingerprint
from dnalm.pretrain.launch import Processes, distributed, stop_signals
from dnalm.pretrain.mlm import MLMLoss, evaluate, flops_per_token, param_groups, peak_flops
from dnalm.pretrain.outputs import plot_curves, write_log_tsv
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
    validation_batches,
    wrap_for_training,
)

__all__ = ["Run", "pretrain", "train_loop"]

log = logging.getLogger("dnalm.pretrain")

LIVE_LOG = "train_log.live.tsv"  # the log so far, next to the checkpoints


@dataclass
class Run:
    """What the training loop works with, built once by :func:`pretrain`."""

    cfg: PretrainConfig
    k: int
    size: str
    procs: Processes
    batch: BatchPlan  # the split of cfg's global batch over procs
    lm: Any  # transformers.BertForMaskedLM; its weights are what gets saved
    loss_mod: MLMLoss  # lm + masked-token loss
    model: torch.nn.Module  # loss_mod, wrapped for DDP and/or compiled
    opt: torch.optim.Optimizer
    sched: torch.optim.lr_scheduler.LambdaLR
    corpus: Corpus
    stream: BatchStream
    val_batches: list[np.ndarray]  # piece indices, rank 0 only
    ckpt_dir: Path
    fingerprint: dict[str, Any]
    baseline: KmerBaseline | None = None  # k-mer frequencies of the training split, rank 0 only
    peak_flops: float | None = None
    vocab: int = field(init=False)
    val_rows: tuple[int, dict[str, np.ndarray]] | None = None  # (step, per-sequence sums) of the last validation

    def __post_init__(self) -> None:
        self.vocab = kmers.vocab_size(self.k)


@dataclass
class _Window:
    """Sums over the optimizer steps since the last train row of ``train_log.tsv``.

    Model outputs stay on the device (no host sync per step); batch shapes are host numbers.
    """

    loss: torch.Tensor  # sum over steps of the step's mean loss
    correct: torch.Tensor  # masked tokens predicted right
    masked: torch.Tensor  # masked tokens
    real_tokens: float = 0.0  # non-padding tokens
    slots: float = 0.0  # token slots including padding
    sequences: float = 0.0  # rows of the micro-batches (the batch as trained, summed over steps)
    mask_rate: float = 0.0  # sum over steps of the realised mask rate
    steps: int = 0
    t0: float = field(default_factory=time.perf_counter)

    @classmethod
    def start(cls, device: torch.device) -> _Window:
        z = [torch.zeros((), dtype=torch.float32, device=device) for _ in range(3)]
        return cls(*z)

    def add(self, loss, correct, n_masked, att: torch.Tensor, mask_rate: float, grad_accum: int) -> None:
        """Add one micro-batch."""
        self.loss += loss.detach().float() / grad_accum
        self.correct += correct.float()
        self.masked += n_masked.float()
        self.real_tokens += float(att.sum())
        self.slots += float(att.numel())
        self.sequences += float(att.shape[0])
        self.mask_rate += mask_rate / grad_accum

    def totals(self, procs: Processes) -> dict[str, float]:
        """Sums over all processes; ``loss`` and ``mask_rate`` are averaged over processes."""
        names = ("loss", "correct", "masked", "real_tokens", "slots", "mask_rate", "sequences")
        vec = all_reduce_sum([float(self.loss), float(self.correct), float(self.masked),
                              self.real_tokens, self.slots, self.mask_rate, self.sequences], procs)  # fmt: skip
        tot = dict(zip(names, vec, strict=True))
        tot["loss"] /= procs.world
        tot["mask_rate"] /= procs.world
        return tot


def _train_row(run: Run, state: TrainState, w: _Window, lr: float) -> dict[str, Any]:
    """The ``train_log.tsv`` row of a window (speed excludes validation and checkpoints)."""
    if run.procs.device.type == "cuda":
        torch.cuda.synchronize(run.procs.device)
    t = w.totals(run.procs)
    seconds = time.perf_counter() - w.t0
    loss = t["loss"] / w.steps
    mask_rate = t["mask_rate"] / w.steps
    tokens_per_s = t["real_tokens"] / seconds
    mfu = None
    if run.peak_flops:
        mean_tokens = t["real_tokens"] / max(1.0, t["sequences"])
        fpt = flops_per_token(run.lm.config, mean_tokens, mask_rate)
        mfu = fpt * tokens_per_s / (run.peak_flops * run.procs.world)
    return {"step": state.step, "loss": loss, "mlm_acc": t["correct"] / max(t["masked"], 1.0),
            "perplexity": math.exp(min(loss, 50.0)), "lr": lr, "mask_rate": mask_rate,
            "tokens_per_s": tokens_per_s, "padding_waste": 1.0 - t["real_tokens"] / t["slots"],
            "mfu": mfu, "global_batch": t["sequences"] / w.steps, "split": "train"}


def _validate(run: Run, state: TrainState) -> None:
    """Rank 0: add a validation row (fixed batches and masks) and track the best loss."""
    if not (run.procs.master and run.val_batches):
        return
    v = _evaluate(run, state)
    state.rows.append({"step": state.step, **v, "lr": float(run.sched.get_last_lr()[0]),
                       "tokens_per_s": None, "padding_waste": None, "mfu": None,
                       "global_batch": None, "split": "val"})
    state.record_val(v["loss"])


def _evaluate(run: Run, state: TrainState) -> dict[str, Any]:
    """Validation metrics of the model and the k-mer baseline (same masks); keeps the per-sequence sums."""
    p = centre_prob_for_rate(mask_rate_at(run.cfg.mask_schedule, state.step), run.k)
    v, rows = evaluate(run.loss_mod, run.corpus, run.val_batches, run.k, p, run.vocab,
                       run.cfg.seed, run.procs.device, run.baseline)
    run.val_rows = (state.step, rows)
    return v


def _learning_check(run: Run, state: TrainState) -> dict[str, Any] | None:
    """Rank 0, after the last step: the verdict of :func:`dnalm.pretrain.check.learning_check`."""
    if not run.val_batches:
        log.warning("no validation pieces: the LM's learning cannot be checked against the "
                    "k-mer baseline (corpus.val_fraction is 0 and no genomes.<g>.val_contigs, or the corpus "
                    "is tiny)")
        return None
    if run.val_rows is None or run.val_rows[0] != state.step:
        _evaluate(run, state)  # resumed from the final checkpoint: validate again (same masks)
    check = {**learning_check(run.val_rows[1], step=state.step),
             "validation": run.corpus.validation_source()}
    if check["verdict"] == "learns":
        log.info("learning check: %s", check["reason"])
    else:
        log.warning("learning check: %s", check["reason"])
    return check


def _save_checkpoint(run: Run, state: TrainState) -> None:
    """Every rank's RNG state, then rank 0 writes the checkpoint (with k, size and the BERT
    config) and the live log."""
    save_checkpoint(run, state, run.lm, write_log_tsv, LIVE_LOG, k=run.k, size=run.size,
                    model_config=json.loads(json.dumps(run.lm.config.to_dict(), default=str)))


def train_loop(run: Run, state: TrainState, stop_at: int | None = None, verbose: bool = True,
               on_step: Callable[[int], None] | None = None) -> str:
    """Train from ``state.step`` to ``cfg.steps``; return "done", or "stopped" at ``stop_at``.

    Each iteration is one optimizer step of ``run.batch.grad_accum`` micro-batches of
    ``run.batch.per_device`` sequences on each process. Randomness comes
    from ``(seed, rank, step)`` (dropout, masks) and the data position, so a run resumed from
    a checkpoint repeats the uninterrupted one. Raises :class:`PreemptedError` after a
    SIGUSR1/SIGTERM, once the checkpoint is written.
    """
    cfg, k, procs = run.cfg, run.k, run.procs
    accum = run.batch.grad_accum
    gen = torch.Generator()  # span masks
    window = _Window.start(procs.device)
    bar = tqdm(total=cfg.steps, initial=state.step, disable=not (verbose and procs.master),
               desc="pretrain", mininterval=5)
    with stop_signals() as stop, bar:
        while state.step < cfg.steps:
            # 1. One optimizer step: forward/backward over the micro-batches, then update.
            centre_p = centre_prob_for_rate(mask_rate_at(cfg.mask_schedule, state.step), k)
            torch.manual_seed(derive_seed(cfg.seed, procs.rank, state.step, 1))  # dropout
            gen.manual_seed(derive_seed(cfg.seed, procs.rank, state.step, 2))  # masks
            for micro in range(accum):
                ids, att = run.stream.next()  # (B, T) each
                mb = mask_tokens(ids, att, k, centre_p, run.vocab, gen)
                # DDP: gradients synchronise on the last micro-step only
                last = micro == accum - 1
                sync = run.model.no_sync() if procs.ddp and not last else contextlib.nullcontext()
                with sync, autocast(procs.device):
                    loss, correct, n_masked = run.model(mb.input_ids.to(procs.device, non_blocking=True),
                                                        att.to(procs.device, non_blocking=True),
                                                        mb.labels.to(procs.device, non_blocking=True))
                    (loss / accum).backward()
                window.add(loss, correct, n_masked, att, mb.mask_rate, accum)
            window.steps += 1
            bar.update(1)
            lr = optimizer_step(run, state, run.lm.parameters(), on_step)

            # 2. A train row every log_every steps.
            final = state.step == cfg.steps
            if state.step % cfg.log_every == 0 or final:
                row = _train_row(run, state, window, lr)
                state.rows.append(row)
                if procs.master:
                    bar.set_postfix(loss=f"{row['loss']:.3f}", acc=f"{row['mlm_acc']:.3f}")
                    log.info("step %d loss %.4f acc %.4f lr %.3g mask %.4f tok/s %.0f pad %.3f "
                             "seq/step %.0f%s", state.step, row["loss"], row["mlm_acc"], lr,
                             row["mask_rate"], row["tokens_per_s"], row["padding_waste"],
                             row["global_batch"],
                             f" mfu {row['mfu']:.3f}" if row["mfu"] else "")
                window = _Window.start(procs.device)

            # 3. Validation and checkpoints (their time does not count in tokens/s).
            stopped, spent = checkpoint_or_stop(run, state, stop, stop_at, lambda: _validate(run, state),
                                                lambda: _save_checkpoint(run, state))  # fmt: skip
            window.t0 += spent
            if stopped:
                return "stopped"
    return "done"


def _build(shard_paths, k: int, size: str, cfg: PretrainConfig, procs: Processes,
           ckpt_dir: Path, batch: BatchPlan) -> Run:
    """Corpus, model, optimizer, schedule and batch stream of a fresh run."""
    paths = find_shards(shard_paths)
    corpus = Corpus(paths, k, cfg.max_tokens)
    train_pieces, val_pieces = split_pieces(corpus.split, paths)
    lm = build_mlm(k, size, max_positions=cfg.max_tokens, seed=cfg.seed)  # same weights on every rank
    if cfg.dropout is not None:  # training-time only: lm.config (saved) keeps the size preset's
        for m in lm.modules():
            if isinstance(m, torch.nn.Dropout):
                m.p = cfg.dropout
    loss_mod = MLMLoss(lm).to(procs.device)
    opt, sched = optimizer_and_schedule(param_groups(lm, cfg.weight_decay), cfg, procs.device)
    model = wrap_for_training(loss_mod, cfg, procs)
    stream = BatchStream(corpus, train_pieces, batch.per_device, cfg.seed, cfg.pool_batches,
                         procs.rank, procs.world, num_workers=cfg.num_workers,
                         pin_memory=procs.device.type == "cuda")
    val_batches, baseline = [], None
    if len(val_pieces) and cfg.val_batches and procs.master:
        val_batches = validation_batches(corpus.n_tokens, val_pieces, cfg.eval_batch_size, cfg.val_batches,
                                         cfg.seed, cfg.pool_batches)  # fmt: skip
        baseline = KmerBaseline.from_counts(corpus.kmer_counts(train_pieces, seed=cfg.seed), k)
    fingerprint = training_fingerprint(k, size, cfg, lm.config.to_dict(), paths)
    return Run(cfg, k, size, procs, batch, lm, loss_mod, model, opt, sched, corpus, stream,
               val_batches, ckpt_dir, fingerprint, baseline, peak_flops(procs.device))


def pretrain(
    shard_paths: str | Path | Sequence[str | Path],
    out_dir: str | Path,
    ckpt_dir: str | Path,
    log_tsv: str | Path,
    curves_png: str | Path,
    k: int,
    size: str,
    preset: dict[str, Any] | PretrainConfig,
    device: str | torch.device | None = None,
    threads: int | None = None,
    stop_at: int | None = None,
    verbose: bool = True,
    on_step: Callable[[int], None] | None = None,
    preset_name: str | None = None,
) -> dict[str, Any]:
    """Pretrain a k-mer BERT masked LM; resume from ``ckpt_dir`` when it holds this run's checkpoint.

    Parameters
    ----------
    shard_paths : directory, path or sequence of paths
        Corpus shards (``*.seq.npy``, each with its ``*.idx.npy``); a directory is globbed.
    out_dir : str or Path
        Final model directory (:func:`dnalm.modeling.save_model_dir`, plus
        ``training_fingerprint.json``, the batch split and lr schedule ``training_run.json``
        (:func:`dnalm.pretrain.outputs.run_record`) and the verdict of the learning check
        against the k-mer baseline, ``learning_check.json``: :mod:`dnalm.pretrain.check`).
    ckpt_dir : str or Path
        Checkpoint directory (not a Snakemake output, so it survives reruns). Checkpoints of
        another fingerprint are moved into ``stale-*`` subfolders, never resumed.
    log_tsv, curves_png : str or Path
        ``train_log.tsv`` (columns :data:`dnalm.pretrain.LOG_COLUMNS`) and the curves figure.
    k : int
    size : {"tiny", "small", "base"}
    preset : dict or PretrainConfig
        ``pretrain_presets.<name>`` (see :class:`PretrainConfig`).
    device : str or torch.device, optional
        Default is cuda if available, else cpu (under DDP, ``cuda:LOCAL_RANK``).
    threads : int, optional
        ``torch.set_num_threads`` for CPU runs. Default is None (unchanged).
    stop_at : int, optional
        Checkpoint and return after this step without writing final outputs (a controlled
        interruption). Default is None.
    verbose : bool, optional
        tqdm progress bar on rank 0. Default is True.
    on_step : callable, optional
        Called with the step number after each optimizer step (tests send signals from it).
    preset_name : str, optional
        The preset's name, for error messages (``pretrain_presets.<name>.<key>``). Default is None.

    Returns
    -------
    dict
        ``{"step", "status" ("done" / "stopped"), "resumed_from", "train_loss", "val_loss",
        "best_val_loss", "verdict", "batch"}``; ``verdict`` is that of ``learning_check.json``
        (None when stopped or without validation pieces), ``batch`` the split of the global
        batch over this run's processes (:meth:`dnalm.pretrain.batch.BatchPlan.to_dict`).

    Raises
    ------
    PreemptedError
        After SIGUSR1/SIGTERM, once the checkpoint is written.
    ValueError
        For a bad preset, or a ``global_batch`` the number of processes does not divide.

    Notes
    -----
    The preset's ``global_batch`` is split over the processes by
    :func:`dnalm.pretrain.batch_plan` (per-process batch x gradient accumulation x processes ==
    global_batch), logged on rank 0 and saved in checkpoints and ``training_run.json``; each
    train row of ``train_log.tsv`` has the ``global_batch`` counted while training.
    """
    k = validate_k(k)
    if size not in SIZES:
        raise ValueError(f"`size` must be one of {sorted(SIZES)}, got {size!r}")
    cfg = load_preset(preset, preset_name)
    out_dir, ckpt_dir, log_tsv, curves_png = map(Path, (out_dir, ckpt_dir, log_tsv, curves_png))
    if threads:
        torch.set_num_threads(int(threads))

    with distributed(device) as procs:
        batch = batch_plan(cfg, procs.world, preset_name)
        run = _build(shard_paths, k, size, cfg, procs, ckpt_dir, batch)
        state = resume(run, run.lm, log)
        if procs.master:
            n_params = sum(p.numel() for p in run.lm.parameters())
            log.info("k=%d size=%s params=%.2fM world=%d device=%s; %d train / %d val pieces in "
                     "%d shards", k, size, n_params / 1e6, procs.world, procs.device,
                     int((run.corpus.split == 0).sum()), int((run.corpus.split == 1).sum()),
                     len(run.corpus.paths))
            log.info("%s", batch.describe())
            log.info("lr: warm-up %d steps, linear decay to 0 at step %d; training stops at step %d",
                     cfg.warmup_steps, cfg.lr_horizon, cfg.steps)
            log.info("preset: %s", json.dumps(cfg.to_dict()))
        status = train_loop(run, state, stop_at, verbose, on_step)
        check = None
        if status == "done" and procs.master:
            if not any(r["split"] == "val" and r["step"] == state.step for r in state.rows):
                _validate(run, state)  # resumed from the final checkpoint of a run without one
            check = _learning_check(run, state)
            extra = model_dir_files(run, state, check)
            save_model_dir(run.lm, k, out_dir, extra_files=extra)
            write_log_tsv(state.rows, log_tsv)
            plot_curves(state.rows, curves_png, f"{out_dir.parent.name}: k={k}, size={size}",
                        cfg.mask_schedule)
            log.info("wrote %s, %s, %s", out_dir, log_tsv, curves_png)
    train, val = state.last("train"), state.last("val")
    return {"step": state.step, "status": status, "resumed_from": state.resumed_from,
            "train_loss": train["loss"] if train else None,
            "val_loss": val["loss"] if val else None, "best_val_loss": state.best_val_loss,
            "verdict": check["verdict"] if check else None, "batch": batch.to_dict()}
