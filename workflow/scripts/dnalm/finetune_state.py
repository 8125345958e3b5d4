"""Resumable fine-tuning: the loop's state, its fingerprint, saving and resuming it.

A fine-tuning run killed at a time limit (SLURM's ``--time``, a requeue, ``kill -9``) resumes
from its newest step checkpoint instead of from zero. A checkpoint (:mod:`dnalm.checkpoint`:
atomic, loaded with ``torch.load(weights_only=True)``) holds the model, optimizer and scheduler
state, the Python/NumPy/torch RNG states, the data position (epoch, batches done, the batch
order generator's state at the start of the epoch), the dev-evaluation log, the best-so-far
dev key and weights, and the early-stopping counter. Resuming repeats the uninterrupted run
exactly on the CPU.

Every checkpoint carries a *fine-tuning fingerprint* (:func:`finetune_fingerprint`): model
name and initialisation, the language model's files, every training setting and the content
of the train and dev splits. A checkpoint with another fingerprint is never resumed; it is
moved into a ``stale-*`` subfolder with a warning naming each changed key, as pretraining
does (:func:`dnalm.pretrain.fingerprint.set_aside_checkpoints`).
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from dnalm import checkpoint as ckpt
from dnalm.pretrain.fingerprint import fingerprint_changes, set_aside_checkpoints

__all__ = ["LoopState", "finetune_fingerprint", "regression_fingerprint", "save_state", "resume_state"]

log = logging.getLogger("dnalm.finetune")

#: Files of a language-model directory that determine a fine-tuned model's start.
_LM_FILES = ("config.json", "vocab.txt", "model.safetensors")


@dataclass
class LoopState:
    """Where the fine-tuning loop is; everything in it goes into a checkpoint.

    Attributes
    ----------
    step : int
        Optimizer steps done.
    epoch : int
        Current epoch (0-based).
    batch : int
        Batches of ``epoch`` done.
    epoch_rng : str
        JSON of the batch-order generator's ``bit_generator.state`` at the start of ``epoch``
        (its 128-bit integers survive as JSON text); "" before the first epoch starts.
    losses : list of float
        Training losses since the last dev evaluation.
    rows : list of dict
        ``train_log.tsv`` rows so far.
    best_key : list of float or None
        ``[dev MCC, -dev loss]`` of the best evaluation.
    best_row : dict
        Its log row.
    best_loss : float
        Lowest dev loss so far.
    bad : int
        Evaluations without improvement (early stopping counter).
    best_state : dict of str to torch.Tensor or None
        Weights of the best evaluation (CPU).
    stopped : bool
        Early stopping has ended training.
    """

    step: int = 0
    epoch: int = 0
    batch: int = 0
    epoch_rng: str = ""
    losses: list[float] = field(default_factory=list)
    rows: list[dict[str, Any]] = field(default_factory=list)
    best_key: list[float] | None = None
    best_row: dict[str, Any] = field(default_factory=dict)
    best_loss: float = math.inf
    bad: int = 0
    best_state: dict[str, torch.Tensor] | None = None
    stopped: bool = False

    _FIELDS = ("step", "epoch", "batch", "epoch_rng", "losses", "rows", "best_key", "best_row",
               "best_loss", "bad", "best_state", "stopped")  # fmt: skip

    def to_checkpoint(self) -> dict[str, Any]:
        """The state as tensors and plain types (``loop.`` entries of a checkpoint)."""
        return {name: getattr(self, name) for name in self._FIELDS}

    @classmethod
    def from_checkpoint(cls, saved: Mapping[str, Any]) -> LoopState:
        """Inverse of :meth:`to_checkpoint`."""
        return cls(**{name: saved[name] for name in cls._FIELDS})


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _split_identity(seqs: Sequence[str], y: np.ndarray) -> str:
    """sha256 of ``sequence<TAB>label`` lines, in row order (row order is batch order)."""
    h = hashlib.sha256()
    for s, label in zip(seqs, np.asarray(y).tolist(), strict=True):
        h.update(f"{s}\t{int(label)}\n".encode())
    return f"n={len(seqs)} sha256:{h.hexdigest()}"


def _values_identity(seqs: Sequence[str], values: np.ndarray, features: np.ndarray) -> str:
    """sha256 of ``sequence<TAB>value<TAB>features`` lines (exact float text), in row order."""
    h = hashlib.sha256()
    feats = np.asarray(features, dtype=np.float64).reshape(len(seqs), -1)
    for s, v, f in zip(seqs, np.asarray(values, dtype=np.float64).tolist(), feats.tolist(), strict=True):
        h.update(f"{s}\t{v!r}\t{','.join(repr(x) for x in f)}\n".encode())
    return f"n={len(seqs)} sha256:{h.hexdigest()}"


def _lm_identity(lm_dir: str | Path | None, init: str) -> dict[str, str]:
    """sha256 of the LM files a run starts from (config and vocabulary; weights if pretrained)."""
    lm: dict[str, str] = {}
    if lm_dir is not None:
        names = _LM_FILES if init == "pretrained" else _LM_FILES[:2]
        for name in names:
            p = Path(lm_dir) / name
            lm[name] = f"sha256:{_sha256_file(p)}" if p.is_file() else "(absent)"
    return lm


def finetune_fingerprint(
    model_name: str,
    init: str,
    lm_dir: str | Path | None,
    k: int | None,
    n_classes: int,
    settings: Mapping[str, Any],
    train: tuple[Sequence[str], np.ndarray],
    dev: tuple[Sequence[str], np.ndarray],
) -> dict[str, Any]:
    """Everything that determines a fine-tuning run's training, as plain JSON types.

    Parameters
    ----------
    model_name : str
    init : {"pretrained", "scratch", "none"}
        ``scratch`` uses only the LM's config and vocabulary; ``pretrained`` also its weights.
    lm_dir : str or Path or None
        The language-model directory (BERT models); None for baselines.
    k : int or None
    n_classes : int
    settings : mapping
        Training settings that change the result (epochs, batch size, lr, seed, ...);
        housekeeping (checkpoint interval, threads) is left out by the caller.
    train, dev : tuple of (sequence of str, numpy.ndarray, shape=(n,))
        Sequences and labels of the training and dev splits.

    Returns
    -------
    dict
        ``{"model", "init", "k", "n_classes", "lm", "settings", "data"}``.
    """
    fp = {"model": model_name, "init": init, "k": k, "n_classes": int(n_classes),
          "lm": _lm_identity(lm_dir, init),
          "settings": dict(settings),
          "data": {"train": _split_identity(*train), "dev": _split_identity(*dev)}}  # fmt: skip
    return json.loads(json.dumps(fp))  # plain types, as they come back from a checkpoint


def regression_fingerprint(
    model_name: str,
    init: str,
    lm_dir: str | Path,
    features: Sequence[str],
    settings: Mapping[str, Any],
    train: tuple[Sequence[str], np.ndarray, np.ndarray],
    dev: tuple[Sequence[str], np.ndarray, np.ndarray],
) -> dict[str, Any]:
    """:func:`finetune_fingerprint` of a regression run (:mod:`dnalm.gpt.regress`).

    Parameters
    ----------
    model_name : str
    init : {"pretrained", "scratch"}
    lm_dir : str or Path
        The GPT language-model directory.
    features : sequence of str
        Names of the numeric features, in slot order.
    settings : mapping
        Training settings that change the result.
    train, dev : tuple of (sequence of str, numpy.ndarray, shape=(n,), numpy.ndarray, shape=(n, F))
        Sequences, targets and features of the training and dev splits (exact float values).

    Returns
    -------
    dict
        ``{"model", "init", "task_type", "features", "lm", "settings", "data"}``.
    """
    fp = {"model": model_name, "init": init, "task_type": "regression", "features": list(features),
          "lm": _lm_identity(lm_dir, init), "settings": dict(settings),
          "data": {"train": _values_identity(*train), "dev": _values_identity(*dev)}}  # fmt: skip
    return json.loads(json.dumps(fp))


def save_state(
    ckpt_dir: Path,
    state: LoopState,
    model: torch.nn.Module,
    opt: torch.optim.Optimizer,
    sched: torch.optim.lr_scheduler.LRScheduler,
    fingerprint: Mapping[str, Any],
    keep: int,
) -> Path:
    """Write the checkpoint of ``state.step`` (keeping the newest ``keep``); return its path."""
    saved = {"model": model.state_dict(), "optimizer": opt.state_dict(),
             "scheduler": sched.state_dict(), "rng": ckpt.capture_rng(),
             "loop": state.to_checkpoint(), "fingerprint": dict(fingerprint)}  # fmt: skip
    return ckpt.save_checkpoint(ckpt_dir, state.step, saved, keep=keep)


def resume_state(
    ckpt_dir: Path,
    model: torch.nn.Module,
    opt: torch.optim.Optimizer,
    sched: torch.optim.lr_scheduler.LRScheduler,
    fingerprint: Mapping[str, Any],
) -> LoopState | None:
    """Load the newest checkpoint of this fingerprint into model, optimizer, scheduler and RNGs.

    Parameters
    ----------
    ckpt_dir : Path
    model, opt, sched
        Freshly built; loaded in place when a checkpoint is resumed.
    fingerprint : mapping
        This run's :func:`finetune_fingerprint`.

    Returns
    -------
    LoopState or None
        None when there is nothing to resume: no checkpoint, or one of another fingerprint
        (then moved into ``<ckpt_dir>/stale-*/`` with a warning naming each changed key).
    """
    found = ckpt.latest_checkpoint(ckpt_dir)
    if found is None:
        return None
    path, saved = found
    changes = fingerprint_changes(saved.get("fingerprint"), fingerprint)
    if changes:
        stale = set_aside_checkpoints(ckpt_dir, saved.get("fingerprint"))
        log.warning("%s was written with other settings or data; not resuming from it. Changed:",
                    path)
        for change in changes:
            log.warning("  %s", change)
        log.warning("old checkpoints moved to %s; fine-tuning from step 0", stale)
        return None
    model.load_state_dict(saved["model"])
    opt.load_state_dict(saved["optimizer"])
    sched.load_state_dict(saved["scheduler"])
    ckpt.restore_rng(saved["rng"])
    state = LoopState.from_checkpoint(saved["loop"])
    log.info("resumed from %s (step %d, epoch %d, batch %d)", path, state.step, state.epoch,
             state.batch)
    return state
