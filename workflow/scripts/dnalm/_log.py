"""Logging set-up for rule scripts: everything (stderr, warnings, logging) goes to the rule's log."""

from __future__ import annotations

import logging
import os
import socket
import sys
from pathlib import Path

_JOB_ENV = ("SLURM_JOB_ID", "CUDA_VISIBLE_DEVICES", "SLURM_GPUS_ON_NODE", "RANK", "WORLD_SIZE")


def setup_script_logging(log_path: str | Path | None, level: int = logging.INFO) -> logging.Logger:
    """Send stderr and the ``dnalm`` logger to ``log_path`` (appending), and return the logger."""
    if log_path:
        Path(log_path).parent.mkdir(parents=True, exist_ok=True)
        sys.stderr = open(log_path, "a", buffering=1)  # noqa: SIM115 - lives for the process
    logging.basicConfig(
        stream=sys.stderr,
        level=level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        force=True,
    )
    logging.captureWarnings(True)
    log = logging.getLogger("dnalm")
    # Where did this job run? (SLURM job id, granted GPUs) - the first thing to check on a cluster.
    env = " ".join(f"{v}={os.environ.get(v, '')}" for v in _JOB_ENV)
    log.info("host=%s pid=%d %s", socket.gethostname(), os.getpid(), env)
    return log
