"""Logging set-up for rule scripts: everything (stderr, warnings, logging) goes to the rule's log."""

from __future__ import annotations

import logging
import sys
from pathlib import Path


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
    return logging.getLogger("dnalm")
