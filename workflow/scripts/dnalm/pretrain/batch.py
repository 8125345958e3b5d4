"""The batch of one optimizer step, split over the processes of a run (:func:`batch_plan`).

A preset states its batch in one of two ways (:class:`dnalm.settings.PretrainPreset`):

- ``global_batch`` (+ optional ``micro_batch``): the sequences of one optimizer step summed over
  all processes. It does not depend on the GPU count; each process runs ``global_batch / world``
  sequences per step, in ``grad_accum`` micro-batches of ``per_device`` sequences, with the
  fewest micro-batches whose size divides that share exactly and is at most ``micro_batch``.
  So ``per_device * grad_accum * world == global_batch`` always; a world size that does not
  divide ``global_batch`` is an error naming the config key (rounding would silently train
  another recipe). DNABERT's 2000 with ``micro_batch: 10`` gives 10 x 25 on 8 GPUs, 10 x 200 on
  one, 10 x 50 on 4;
- ``batch_size`` (+ ``grad_accum``): a fixed per-process split; the global batch is
  ``batch_size * grad_accum * world`` and grows with the GPU count.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

from dnalm.settings import PretrainPreset

__all__ = ["BatchPlan", "batch_plan"]


@dataclass(frozen=True)
class BatchPlan:
    """How one optimizer step's sequences are split over processes and micro-batches.

    Attributes
    ----------
    global_batch : int
        Sequences per optimizer step over all processes (``per_device * grad_accum * world``).
    per_device : int
        Sequences per process per micro-batch (one forward/backward pass).
    grad_accum : int
        Micro-batches per process per optimizer step.
    world : int
        Number of processes.
    source : {"global_batch", "batch_size"}
        The preset key the split comes from.
    """

    global_batch: int
    per_device: int
    grad_accum: int
    world: int
    source: Literal["global_batch", "batch_size"]

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (the ``batch`` entry of checkpoints and ``training_run.json``)."""
        return asdict(self)

    def describe(self) -> str:
        """One line for the log, e.g. ``global batch 2000 = 10 per process x 25 micro-steps x 8 processes``."""
        line = (f"global batch {self.global_batch} = {self.per_device} per process x "
                f"{self.grad_accum} micro-steps x {self.world} process{'es' if self.world > 1 else ''}")
        if self.source == "batch_size":
            line += " (fixed split from batch_size/grad_accum: changes with the process count)"
        else:
            line += " (from global_batch)"
        return line


def batch_plan(cfg: PretrainPreset, world: int, name: str | None = None) -> BatchPlan:
    """Split a preset's batch over ``world`` processes.

    Parameters
    ----------
    cfg : PretrainPreset
        A validated preset (exactly one of ``global_batch`` and ``batch_size`` is set).
    world : int
        Number of training processes (``WORLD_SIZE``; 1 without DDP).
    name : str, optional
        The preset's name, for error messages. Default is None (errors name ``preset.<key>``).

    Returns
    -------
    BatchPlan
        With ``per_device * grad_accum * world == global_batch``.

    Raises
    ------
    ValueError
        If ``world < 1`` or ``global_batch`` is not a multiple of ``world`` (the message names
        ``pretrain_presets.<name>.global_batch`` and the process counts that would work).
    """
    world = int(world)
    if world < 1:
        raise ValueError(f"`world` must be >= 1, got {world}")
    if cfg.global_batch is None:
        if cfg.batch_size is None:
            raise ValueError("preset has neither global_batch nor batch_size")
        accum = cfg.grad_accum or 1
        return BatchPlan(cfg.batch_size * accum * world, cfg.batch_size, accum, world, "batch_size")
    where = f"pretrain_presets.{name}" if name else "preset"
    total = cfg.global_batch
    if total % world:
        fits = [n for n in range(1, min(total, 64) + 1) if total % n == 0]
        raise ValueError(
            f"`{where}.global_batch`: {total} sequences per step cannot be split evenly over {world} "
            f"processes; use a global_batch that is a multiple of {world}, or run on a process "
            f"count that divides {total} ({', '.join(map(str, fits[:12]))}, ...)"
        )
    share = total // world  # sequences per process per optimizer step
    limit = min(cfg.micro_batch or share, share)
    accum = -(-share // limit)  # fewest micro-batches of at most `limit` sequences ...
    while share % accum:  # ... that split the share exactly
        accum += 1
    return BatchPlan(total, share // accum, accum, world, "global_batch")
