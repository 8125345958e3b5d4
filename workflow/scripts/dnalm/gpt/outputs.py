"""GPT pretraining outputs besides the weights: ``train_log.tsv`` and ``curves.png``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dnalm.pretrain.outputs import save_png, write_log_tsv

__all__ = ["GPT_LOG_COLUMNS", "write_gpt_log", "plot_gpt_curves"]

#: Columns of a GPT ``train_log.tsv``; ``split`` is "train" or "val". Per objective: next token
#: (``nt_loss``, ``nt_acc``; val rows also the unigram 6-mer baseline ``baseline_nt_loss``),
#: GC content (``gc_mse`` on the standardised GC fraction; val rows ``gc_r2``) and order
#: (``order_loss``, ``order_acc``). ``loss`` is the total (nt + order + gc_weight x gc).
GPT_LOG_COLUMNS = (
    "step", "loss", "nt_loss", "nt_acc", "gc_mse", "gc_r2", "order_loss", "order_acc",
    "baseline_nt_loss", "lr", "tokens_per_s", "global_batch", "split",
)


def write_gpt_log(rows: list[dict[str, Any]], path: str | Path) -> None:
    """Write log rows as a tab-separated table of :data:`GPT_LOG_COLUMNS` (floats ``%.6g``, None
    empty): :func:`dnalm.pretrain.outputs.write_log_tsv` with the GPT columns."""
    write_log_tsv(rows, path, GPT_LOG_COLUMNS)


def plot_gpt_curves(rows: list[dict[str, Any]], path: str | Path, title: str) -> None:
    """One panel per objective (train and validation loss against step), plus GC r² and order accuracy.

    The next-token panel also shows the unigram 6-mer baseline on the validation targets.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tr = [r for r in rows if r["split"] == "train"]
    va = [r for r in rows if r["split"] == "val"]
    fig, axes = plt.subplots(1, 4, figsize=(16, 3.6))
    panels = [("nt_loss", "next-token CE"), ("gc_mse", "GC-content MSE (standardised)"),
              ("order_loss", "order CE")]
    for ax, (key, label) in zip(axes[:3], panels, strict=True):
        ax.plot([r["step"] for r in tr], [r[key] for r in tr], label="train", lw=1.2)
        if va:
            ax.plot([r["step"] for r in va], [r[key] for r in va], "o-", ms=3, label="validation")
        if key == "nt_loss":
            base = [r for r in va if r.get("baseline_nt_loss") is not None]
            if base:
                ax.plot([r["step"] for r in base], [r["baseline_nt_loss"] for r in base], "kx--",
                        lw=1, ms=4, label="unigram 6-mer baseline (val)")
        ax.set_title(label, fontsize=10)
        ax.set_xlabel("step")
        ax.legend(fontsize=8)
    ax = axes[3]
    if va:
        ax.plot([r["step"] for r in va], [r["gc_r2"] for r in va], "o-", ms=3, label="GC r² (val)")
        ax.plot([r["step"] for r in va], [r["order_acc"] for r in va], "s-", ms=3,
                label="order accuracy (val)")
    ax.axhline(0.5, color="k", lw=0.8, ls=":")
    ax.set_title("held-out GC r² and order accuracy", fontsize=10)
    ax.set_xlabel("step")
    if va:
        ax.legend(fontsize=8)
    fig.suptitle(title, fontsize=10)
    save_png(fig, path)
