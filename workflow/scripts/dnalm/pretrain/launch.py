"""Launching pretraining: processes (DDP via torchrun), stop signals, the command line.

- DDP is switched on by torchrun's ``RANK``/``WORLD_SIZE`` (:func:`distributed`): gloo on the
  CPU, nccl on CUDA with one GPU per process (``LOCAL_RANK``);
- :func:`relaunch` re-executes a script under torchrun (a Snakemake job with ``gpu > 1``)
  and forwards SIGUSR1/SIGTERM to it; :func:`run_rule` is the whole body of a pretraining
  rule's script (relaunch, or call the training function with the rule's files);
- :func:`stop_signals` turns SIGUSR1/SIGTERM (SLURM's pre-timeout signal, requeue, scancel)
  into a flag the training loop checks after each step; it then checkpoints and raises
  :class:`PreemptedError`, so the job exits non-zero and a rerun resumes;
- :func:`main` is the command line (``python -m dnalm.pretrain --help``).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from dnalm._compat import resolve_device
from dnalm.corpus import shards_of
from dnalm.modeling import SIZES

__all__ = [
    "PreemptedError",
    "Processes",
    "StopFlag",
    "distributed",
    "stop_signals",
    "torchrun_command",
    "relaunch",
    "run_rule",
    "main",
]

log = logging.getLogger("dnalm.pretrain")


class PreemptedError(RuntimeError):
    """Raised after SIGUSR1/SIGTERM once the checkpoint is on disk (the job exits non-zero)."""


@dataclass(frozen=True)
class Processes:
    """This process's place among the training processes."""

    rank: int
    world: int
    device: torch.device

    @property
    def ddp(self) -> bool:
        return self.world > 1

    @property
    def master(self) -> bool:
        """Rank 0 alone writes files and logs."""
        return self.rank == 0

    def barrier(self) -> None:
        """Wait for every process (a no-op without DDP)."""
        if self.ddp:
            import torch.distributed as dist

            dist.barrier()


@contextlib.contextmanager
def distributed(device: str | torch.device | None = None) -> Iterator[Processes]:
    """Join the torchrun process group when ``RANK`` is set and ``WORLD_SIZE > 1``.

    Parameters
    ----------
    device : str or torch.device, optional
        Default is cuda if available, else cpu; under DDP on CUDA, ``cuda:LOCAL_RANK``.

    Yields
    ------
    Processes
        The group is destroyed on exit.
    """
    world = int(os.environ.get("WORLD_SIZE", "1"))
    ddp = "RANK" in os.environ and world > 1
    dev = resolve_device(device)
    if not ddp:
        yield Processes(0, 1, dev)
        return
    import torch.distributed as dist

    if dev.type == "cuda":
        dev = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
        torch.cuda.set_device(dev)
    dist.init_process_group(backend="nccl" if dev.type == "cuda" else "gloo")
    try:
        yield Processes(int(os.environ["RANK"]), world, dev)
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()


class StopFlag:
    """The number of the stop signal received (0: none); see :func:`stop_signals`."""

    def __init__(self) -> None:
        self.signum = 0

    def agreed(self, procs: Processes) -> int:
        """The signal any process received (all ranks stop at the same step)."""
        if not procs.ddp:
            return self.signum
        import torch.distributed as dist

        flag = torch.tensor([float(self.signum)],
                            device=procs.device if procs.device.type == "cuda" else "cpu")
        dist.all_reduce(flag, op=dist.ReduceOp.MAX)
        return int(flag.item())


@contextlib.contextmanager
def stop_signals() -> Iterator[StopFlag]:
    """Record SIGUSR1/SIGTERM in a :class:`StopFlag` instead of dying (main thread only)."""
    flag = StopFlag()

    def handler(signum, frame):  # noqa: ARG001
        flag.signum = signum

    old = {}
    for s in (signal.SIGUSR1, signal.SIGTERM):
        with contextlib.suppress(ValueError):  # not the main thread: leave signals alone
            old[s] = signal.signal(s, handler)
    try:
        yield flag
    finally:
        for s, h in old.items():
            signal.signal(s, h)


def torchrun_command(nproc: int, script: str | Path, args: Sequence[str] = ()) -> list[str]:
    """``python -m torch.distributed.run --standalone --nproc_per_node=N script args...``."""
    if int(nproc) < 1:
        raise ValueError(f"`nproc` must be >= 1, got {nproc}")
    return [sys.executable, "-m", "torch.distributed.run", "--standalone",
            f"--nproc_per_node={int(nproc)}", str(script), *map(str, args)]


def relaunch(nproc: int, script: str | Path, args: Sequence[str] = (),
             log_path: str | Path | None = None) -> None:
    """Re-execute ``script`` under torchrun with ``nproc`` processes; raise if it fails.

    SIGUSR1/SIGTERM received meanwhile are forwarded to torchrun as SIGTERM (torchrun passes
    it to every worker, which checkpoints and exits), so a SLURM pre-timeout signal reaches
    the training processes.
    """
    cmd = torchrun_command(nproc, script, args)
    log.info("launching DDP: %s", " ".join(cmd))
    with contextlib.ExitStack() as stack:
        out = stack.enter_context(open(log_path, "a")) if log_path else None  # noqa: SIM115
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT if out else None)

        def forward(signum, frame):  # noqa: ARG001
            log.warning("signal %d: asking the DDP workers to checkpoint and stop", signum)
            proc.send_signal(signal.SIGTERM)

        old = {}
        for sig in (signal.SIGUSR1, signal.SIGTERM):
            with contextlib.suppress(ValueError):
                old[sig] = signal.signal(sig, forward)
        try:
            rc = proc.wait()
        finally:
            for sig, handler in old.items():
                signal.signal(sig, handler)
    if rc != 0:
        raise RuntimeError(f"torchrun exited with status {rc}")


def run_rule(sm: Any, train: Callable[..., Any], script: str | Path, **extra: Any) -> None:
    """The body of a pretraining rule's script (rules ``bert_pretrain`` and ``gpt_pretrain``).

    With ``resources.gpu > 1`` and not yet under torchrun, re-execute ``script`` under torchrun
    (:func:`relaunch`; each process re-reads the Snakemake preamble and comes back here). Else
    call ``train`` with the rule's files: the shards beside ``input.stats``, ``output.model``,
    ``params.ckpt_dir``, ``output.log_tsv``, ``output.curves``, the size and preset of
    ``params.run``, the job's threads on the CPU, and ``extra``.

    Parameters
    ----------
    sm : snakemake.script.Snakemake
        The rule's ``snakemake`` object.
    train : callable
        :func:`dnalm.pretrain.pretrain` or :func:`dnalm.gpt.pretrain_gpt`.
    script : str or Path
        The script file itself (under Snakemake: ``__real_file__``, since the preamble renames
        ``__file__``).
    **extra
        More keyword arguments of ``train`` (e.g. ``k``).
    """
    n_gpu = int(sm.resources.get("gpu", 0) or 0)
    if n_gpu > 1 and "RANK" not in os.environ:
        relaunch(n_gpu, script, log_path=sm.log[0])
        return
    run = sm.params.run
    train(shard_paths=shards_of(sm.input.stats), out_dir=sm.output.model,
          ckpt_dir=sm.params.ckpt_dir, log_tsv=sm.output.log_tsv, curves_png=sm.output.curves,
          size=run["size"], preset=dict(run["preset"]), preset_name=run["preset_name"],
          threads=sm.threads if n_gpu == 0 else None, verbose=True, **extra)


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: ``python -m dnalm.pretrain --shards DIR --out-dir ... --preset JSON``."""
    from dnalm.pretrain.train import pretrain  # the loop imports this module

    ap = argparse.ArgumentParser(description="Masked-LM pretraining of a k-mer BERT on corpus shards.")
    ap.add_argument("--shards", required=True, nargs="+", help="shard directory or *.seq.npy files")
    ap.add_argument("--out-dir", required=True)
    ap.add_argument("--ckpt-dir", required=True)
    ap.add_argument("--log-tsv", required=True)
    ap.add_argument("--curves-png", required=True)
    ap.add_argument("--k", type=int, default=6)
    ap.add_argument("--size", default="tiny", choices=sorted(SIZES))
    ap.add_argument("--preset", required=True, help="JSON object or path to a JSON file")
    ap.add_argument("--preset-name", default=None, help="name under pretrain_presets (error messages)")
    ap.add_argument("--device", default=None)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--stop-at", type=int, default=None)
    a = ap.parse_args(argv)
    preset = json.loads(Path(a.preset).read_text() if Path(a.preset).is_file() else a.preset)
    shards = a.shards[0] if len(a.shards) == 1 else a.shards
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    res = pretrain(shards, a.out_dir, a.ckpt_dir, a.log_tsv, a.curves_png, a.k, a.size, preset,
                   device=a.device, threads=a.threads, stop_at=a.stop_at, verbose=False,
                   preset_name=a.preset_name)
    print(json.dumps(res))
    return 0
