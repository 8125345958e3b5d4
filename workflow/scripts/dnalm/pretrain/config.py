"""The pretraining recipe (:class:`PretrainConfig`), where a run stands (:class:`TrainState`), schedules."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import Field, ValidationError

from dnalm.settings import PretrainPreset

__all__ = ["PretrainConfig", "TrainState", "mask_rate_at", "lr_factor"]


class PretrainConfig(PretrainPreset):
    """Pretraining recipe: one ``pretrain_presets.<name>`` of the config, stored in checkpoints.

    The keys, defaults and checks are those of :class:`dnalm.settings.PretrainPreset` (declared
    once there); this class adds programmatic knobs that are not config keys. The batch is
    ``global_batch`` sequences per optimizer step over all processes, split at run time by
    :func:`dnalm.pretrain.batch_plan` (DNABERT: 2000 = 10 x 25 micro-steps x 8 GPUs), or the
    fixed per-process split ``batch_size`` x ``grad_accum``.
    """

    pool_batches: int = Field(50, ge=1)  # batches per length-sorted pool (length bucketing)
    val_batches: int = Field(20, ge=0)  # validation batches (rank 0 only)
    max_tokens: int = Field(512, ge=3)  # tokens per row including [CLS]/[SEP]; the model's positions

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], name: str | None = None) -> PretrainConfig:
        """Validate a preset mapping; ``ValueError`` names ``pretrain_presets.<name>.<key>``.

        Parameters
        ----------
        d : mapping
            The preset's keys and values.
        name : str, optional
            The preset's name. Default is None (errors then name ``preset.<key>``).
        """
        where = f"pretrain_presets.{name}" if name else "preset"
        try:
            return cls.model_validate(dict(d))
        except ValidationError as e:
            raise ValueError(_messages(e, where)) from None

    def validate(self, name: str | None = None) -> None:
        """Re-check a config built or changed in code (e.g. ``max_tokens`` set by the caller)."""
        type(self).from_dict(self.to_dict(), name)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict (``betas`` and the schedule as lists)."""
        return self.model_dump(mode="json")

    @property
    def eval_batch_size(self) -> int:
        """Validation batch size: ``micro_batch`` (else ``global_batch``) or ``batch_size``.

        It does not depend on the number of processes (validation runs on rank 0 alone), so the
        validation set, ``val_batches`` batches of this size, is the same for any GPU count.
        """
        if self.global_batch is not None:
            return min(self.micro_batch or self.global_batch, self.global_batch)
        return int(self.batch_size or 1)

    @property
    def lr_horizon(self) -> int:
        """The step at which the linear lr decay reaches 0: ``schedule_steps``, else ``steps``."""
        return int(self.schedule_steps or self.steps)


def _messages(e: ValidationError, where: str) -> str:
    out = []
    for err in e.errors():
        loc = ".".join(str(x) for x in err["loc"] if not str(x).startswith("function-"))
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "unknown key"
        elif err["type"] == "missing":
            msg = "is required"
        out.append(f"`{where}.{loc}`: {msg}" if loc else f"`{where}`: {msg}")
    return "; ".join(out)


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
