"""Pretraining outputs besides the weights: ``train_log.tsv``, ``curves.png``, ``training_run.json``."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dnalm.atomic import atomic_path, write_text
from dnalm.pretrain.config import PretrainConfig, mask_rate_at

if TYPE_CHECKING:
    from dnalm.pretrain.batch import BatchPlan

__all__ = ["LOG_COLUMNS", "RUN_FILE", "write_log_tsv", "plot_curves", "run_record", "save_png"]

#: Columns of ``train_log.tsv``; ``split`` is "train" or "val" (val rows leave speed columns and
#: ``global_batch``, the sequences per optimizer step counted over all processes, empty; only
#: val rows have ``baseline_loss``/``baseline_acc``, the k-mer frequency baseline scored on the
#: same masked positions: :mod:`dnalm.pretrain.check`).
LOG_COLUMNS = (
    "step", "loss", "mlm_acc", "perplexity", "lr", "mask_rate",
    "tokens_per_s", "padding_waste", "mfu", "global_batch", "baseline_loss", "baseline_acc", "split",
)

#: Name of the file in the model directory that records the batch split and the lr schedule.
RUN_FILE = "training_run.json"


def run_record(batch: BatchPlan, cfg: PretrainConfig, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """What ``training_run.json`` holds: the batch as planned and as trained, and the lr schedule.

    Parameters
    ----------
    batch : BatchPlan
        The split of the last (or only) stretch of training.
    cfg : PretrainConfig
    rows : list of dict
        ``train_log.tsv`` rows; train rows carry the measured ``global_batch``.

    Returns
    -------
    dict
        ``{"batch": {global_batch, per_device, grad_accum, world, source},
        "measured_global_batch": {"min", "max"} (None without train rows),
        "schedule": {"steps", "warmup_steps", "lr_horizon"}}``.
    """
    seen = [float(r["global_batch"]) for r in rows
            if r.get("split") == "train" and r.get("global_batch") is not None]
    return {
        "batch": batch.to_dict(),
        "measured_global_batch": {"min": min(seen), "max": max(seen)} if seen else None,
        "schedule": {"steps": cfg.steps, "warmup_steps": cfg.warmup_steps, "lr_horizon": cfg.lr_horizon},
    }


def write_log_tsv(rows: list[dict[str, Any]], path: str | Path,
                  columns: Sequence[str] = LOG_COLUMNS) -> None:
    """Write log rows as a tab-separated table of ``columns`` (floats ``%.6g``, None empty).

    Parameters
    ----------
    rows : list of dict
        Log rows; a key missing from a row is an empty cell.
    path : str or Path
        Written atomically.
    columns : sequence of str, optional
        Default is :data:`LOG_COLUMNS` (BERT); GPT logs pass
        :data:`dnalm.gpt.outputs.GPT_LOG_COLUMNS`.
    """
    lines = ["\t".join(columns)]
    for r in rows:
        vals = []
        for c in columns:
            v = r.get(c)
            vals.append("" if v is None else (f"{v:.6g}" if isinstance(v, float) else str(v)))
        lines.append("\t".join(vals))
    write_text(path, "\n".join(lines) + "\n")


def plot_curves(rows: list[dict[str, Any]], path: str | Path, title: str,
                schedule: list[list[float]] | None = None) -> None:
    """Loss, masked-token accuracy, learning rate and mask rate against step (train and val).

    The loss and accuracy panels also show the k-mer frequency baseline on the validation
    masks (dashed), the level a model that ignores context reaches.

    Parameters
    ----------
    rows : list of dict
        ``train_log.tsv`` rows.
    path : str or Path
        PNG file.
    title : str
    schedule : list of [from_step, rate], optional
        Drawn as the target mask rate. Default is None.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tr = [r for r in rows if r["split"] == "train"]
    va = [r for r in rows if r["split"] == "val"]
    fig, axes = plt.subplots(1, 4, figsize=(16, 3.6))
    panels = [("loss", "MLM loss"), ("mlm_acc", "masked-token accuracy"), ("lr", "learning rate"),
              ("mask_rate", "realised mask rate")]
    for ax, (key, label) in zip(axes, panels, strict=True):
        ax.plot([r["step"] for r in tr], [r[key] for r in tr], label="train", lw=1.2)
        if key in ("loss", "mlm_acc", "mask_rate") and va:
            ax.plot([r["step"] for r in va], [r[key] for r in va], "o-", label="validation", ms=3)
        base = [r for r in va if r.get(f"baseline_{key.removeprefix('mlm_')}") is not None]
        if key in ("loss", "mlm_acc") and base:
            ax.plot([r["step"] for r in base], [r[f"baseline_{key.removeprefix('mlm_')}"] for r in base],
                    "kx--", lw=1, ms=4, label="k-mer baseline (val)")
        ax.set_xlabel("step")
        ax.set_title(label, fontsize=10)
        if key == "mask_rate" and schedule and tr:
            xs = [r["step"] for r in tr]
            ax.step(xs, [mask_rate_at(schedule, x - 1) for x in xs], "k--", where="post",
                    lw=0.8, label="target")
            ax.legend(fontsize=8)
        if key in ("loss", "mlm_acc"):
            ax.legend(fontsize=8)
    fig.suptitle(title, fontsize=10)
    save_png(fig, path)


def save_png(fig: Any, path: str | Path) -> None:
    """Lay out a curves figure, write it atomically as a 110-dpi PNG and close it (also on error)."""
    import matplotlib.pyplot as plt

    try:
        fig.tight_layout()
        with atomic_path(path) as tmp:
            fig.savefig(tmp, dpi=110, format="png")
    finally:
        plt.close(fig)
