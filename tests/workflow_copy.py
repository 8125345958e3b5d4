"""Copy the workflow (not results, resources or the venv) into a scratch directory for end-to-end runs."""

from __future__ import annotations

import shutil
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
_PARTS = ("Snakefile", "config", "workflow", "profiles", "slurm-gpu", "pyproject.toml")


def copy_workflow(dest: Path) -> Path:
    """Copy the workflow files into ``dest`` and return it."""
    dest.mkdir(parents=True, exist_ok=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for part in _PARTS:
        src = REPO / part
        if src.is_symlink():
            (dest / part).symlink_to(src.readlink())
        elif src.is_dir():
            shutil.copytree(src, dest / part, ignore=ignore, symlinks=True)
        elif src.exists():
            shutil.copy2(src, dest / part)
    return dest
