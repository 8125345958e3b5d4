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


#: Config blocks that only add work downstream of fine-tuning (interpretation, the `dnalm`
#: commands as rules, artificial genomes); they name the demo's tasks and models.
OPTIONAL_BLOCKS = ("attribution", "modisco", "predict", "embed", "scan", "score", "haplotypes")


def strip_downstream_stages(cfg: dict) -> dict:
    """Cut a demo config dict to its tasks and fine-tuning: no attention, motifs, variants or
    any of :data:`OPTIONAL_BLOCKS`, so a test that keeps a few tasks or models stays valid."""
    for sec in ("attention", "motifs", "variants"):
        cfg[sec] = {"tasks": []}
    for sec in OPTIONAL_BLOCKS:
        cfg.pop(sec, None)
    return cfg


def use_finetune_models(cfg: dict) -> dict:
    """Drop every task's own ``models`` list, so each task fine-tunes ``finetune.models``; for a
    test that keeps a few models (the demo's per-task lists name the tiny LMs, e.g. dnagpt_tiny)."""
    for spec in cfg.get("tasks", {}).values():
        spec.pop("models", None)
    return cfg
