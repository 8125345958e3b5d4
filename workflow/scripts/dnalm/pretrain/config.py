"""The pretraining recipe (:class:`PretrainConfig`), where a run stands (:class:`TrainState`), schedules."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

__all__ = ["PretrainConfig", "TrainState", "mask_rate_at", "lr_factor"]


@dataclass
class PretrainConfig:
    """Pretraining recipe: one ``pretrain_presets.<name>`` of the config, stored in checkpoints.

    ``batch_size`` is sequences per process per micro-step; the global batch is
    ``batch_size * grad_accum * world_size`` (DNABERT: 10 x 25 x 8 = 2000).
    """

    steps: int  # optimizer steps in total
    batch_size: int  # sequences per process per micro-step
    lr: float  # peak learning rate (AdamW)
    warmup_steps: int = 0  # linear warm-up, then linear decay to 0 at `steps`
    grad_accum: int = 1  # micro-steps per optimizer step
    weight_decay: float = 0.01  # not applied to biases and LayerNorm weights
    betas: tuple[float, float] = (0.9, 0.98)
    eps: float = 1e-6
    max_grad_norm: float = 1.0  # gradient clipping; 0 switches it off
    # [[from_step, rate], ...]: the share of k-mer tokens to mask from each step on
    mask_schedule: list[list[float]] = field(default_factory=lambda: [[0, 0.15]])
    checkpoint_every: int = 1000  # also when the validation loss is computed
    keep_checkpoints: int = 2
    log_every: int = 50  # steps per train row of train_log.tsv
    num_workers: int = 0  # DataLoader worker processes
    compile: bool = False  # torch.compile the model
    seed: int = 42
    # Not in the config schema: programmatic knobs with sensible defaults.
    pool_batches: int = 50  # batches per length-sorted pool (length bucketing)
    val_batches: int = 20  # validation batches (rank 0 only)
    max_tokens: int = 512  # tokens per row including [CLS]/[SEP]; the model's positions

    @classmethod
    def from_dict(cls, d: dict[str, Any], name: str | None = None) -> PretrainConfig:
        """Build from a mapping, rejecting unknown keys and checking types and ranges.

        Parameters
        ----------
        d : dict
            The preset's keys and values.
        name : str, optional
            The preset's name; errors then name ``pretrain_presets.<name>.<key>``. Default is
            None (errors name ``preset.<key>``).
        """
        where = f"pretrain_presets.{name}" if name else "preset"
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ValueError(f"`{where}`: unknown key(s) {unknown}; known: {sorted(known)}")
        for req in ("steps", "batch_size", "lr"):
            if req not in d:
                raise ValueError(f"`{where}.{req}` is required")
        cfg = cls(**dict(d))
        cfg.validate(name)
        return cfg

    def validate(self, name: str | None = None) -> None:
        """Check types and ranges (normalising ``betas`` and ``mask_schedule``); ValueError names the key."""
        where = f"pretrain_presets.{name}" if name else "preset"
        ints = ("steps", "batch_size", "grad_accum", "checkpoint_every", "keep_checkpoints",
                "log_every", "pool_batches", "max_tokens")
        for key in ints:
            v = getattr(self, key)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"`{where}.{key}` must be a positive integer, got {v!r}")
        for key in ("warmup_steps", "num_workers", "val_batches", "seed"):
            v = getattr(self, key)
            if isinstance(v, bool) or not isinstance(v, int) or v < 0:
                raise ValueError(f"`{where}.{key}` must be a non-negative integer, got {v!r}")
        for key in ("lr", "weight_decay", "eps", "max_grad_norm"):
            v = getattr(self, key)
            if isinstance(v, bool) or not isinstance(v, int | float) or v < 0:
                raise ValueError(f"`{where}.{key}` must be a non-negative number, got {v!r}")
        if not self.lr > 0:
            raise ValueError(f"`{where}.lr` must be > 0, got {self.lr!r}")
        if not isinstance(self.compile, bool):
            raise ValueError(f"`{where}.compile` must be true or false, got {self.compile!r}")
        betas = list(self.betas)
        if len(betas) != 2 or not all(isinstance(b, int | float) and 0 <= b < 1 for b in betas):
            raise ValueError(f"`{where}.betas` must be two numbers in [0, 1), got {self.betas!r}")
        self.betas = (float(betas[0]), float(betas[1]))
        sched = [list(x) for x in self.mask_schedule]
        if not sched or any(len(x) != 2 for x in sched):
            raise ValueError(f"`{where}.mask_schedule` must be [[from_step, rate], ...], got {sched!r}")
        if sched[0][0] != 0:
            raise ValueError(f"`{where}.mask_schedule` must start at step 0, got {sched[0]!r}")
        if any(b[0] <= a[0] for a, b in zip(sched, sched[1:], strict=False)):
            raise ValueError(f"`{where}.mask_schedule` steps must increase, got {sched!r}")
        if any(not 0 < x[1] < 1 for x in sched):
            raise ValueError(f"`{where}.mask_schedule` rates must be in (0, 1), got {sched!r}")
        self.mask_schedule = [[int(a), float(b)] for a, b in sched]
        if self.max_tokens < 3:
            raise ValueError(f"`{where}.max_tokens` must be >= 3, got {self.max_tokens}")
        self.lr, self.weight_decay = float(self.lr), float(self.weight_decay)
        self.eps, self.max_grad_norm = float(self.eps), float(self.max_grad_norm)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict (``betas`` as a list)."""
        d = dataclasses.asdict(self)
        d["betas"] = list(self.betas)
        return d


@dataclass
class TrainState:
    """Where a run stands; saved in every checkpoint beside the model and optimizer states.

    Attributes
    ----------
    step : int
        Optimizer steps completed.
    epoch, cursor : int
        Data position of this rank (see :class:`dnalm.corpus.stream.BatchStream`).
    rows : list of dict
        ``train_log.tsv`` rows so far (train and validation).
    best_val_loss : float or None
        Lowest validation loss so far (only ever lowered), at ``best_step``.
    best_step : int or None
    rng : list of dict
        Per-rank RNG states (:func:`dnalm.checkpoint.capture_rng`) at the last checkpoint.
    resumed_from : int or None
        Step of the checkpoint this run resumed from (not saved).
    """

    step: int = 0
    epoch: int = 0
    cursor: int = 0
    rows: list[dict[str, Any]] = field(default_factory=list)
    best_val_loss: float | None = None
    best_step: int | None = None
    rng: list[Any] = field(default_factory=list)
    resumed_from: int | None = None

    def record_val(self, loss: float) -> None:
        """Note a validation loss; the best one is replaced only by a lower one."""
        if self.best_val_loss is None or loss < self.best_val_loss:
            self.best_val_loss, self.best_step = float(loss), self.step

    def last(self, split: str) -> dict[str, Any] | None:
        """The newest row of ``split`` ("train" or "val"), or None."""
        return next((r for r in reversed(self.rows) if r["split"] == split), None)

    def to_checkpoint(self) -> dict[str, Any]:
        """The checkpoint entries of this state (plain types only)."""
        return {"step": self.step, "epoch": self.epoch, "cursor": self.cursor,
                "log_rows": self.rows, "best_val_loss": self.best_val_loss,
                "best_step": self.best_step, "rng": self.rng}

    @classmethod
    def from_checkpoint(cls, state: dict[str, Any]) -> TrainState:
        """Inverse of :meth:`to_checkpoint`; ``resumed_from`` is the checkpoint's step."""
        step = int(state["step"])
        return cls(step=step, epoch=int(state["epoch"]), cursor=int(state["cursor"]),
                   rows=[r for r in state["log_rows"] if r["step"] <= step],
                   best_val_loss=state.get("best_val_loss"), best_step=state.get("best_step"),
                   rng=list(state.get("rng", [])), resumed_from=step)


def mask_rate_at(schedule: list[list[float]], step: int) -> float:
    """Target masked fraction at ``step``: the rate of the last entry with ``from_step <= step``."""
    rate = schedule[0][1]
    for start, r in schedule:
        if step >= start:
            rate = r
    return float(rate)


def lr_factor(step: int, warmup_steps: int, total_steps: int) -> float:
    """Multiplier of the peak lr for update ``step`` (0-based): linear warm-up, then linear decay to 0."""
    if step < warmup_steps:
        return (step + 1) / warmup_steps
    return max(0.0, (total_steps - step) / max(1, total_steps - warmup_steps))
