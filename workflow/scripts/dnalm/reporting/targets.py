"""Inputs and outputs of the report rules (``workflow/rules/report.smk``), from the config.

Every list is empty when its stage is not configured, so the front page then says "not
configured" instead of waiting for a file no rule makes.
"""

from __future__ import annotations

from dnalm import paths as P
from dnalm.reporting.sections import task_sections
from dnalm.settings import Config

__all__ = ["OVERVIEW_FILES", "SECTION_FIGURES", "overview_inputs", "section_figure_files"]

#: Outputs of rule ``report_overview``.
OVERVIEW_FILES = {
    "html": "results/report/overview.html",
    "rst": "results/report/overview.rst",
    "json": "results/report/overview.json",
}
#: Per-section benchmark figures of rule ``summary_section`` (PNG; an SVG sibling each).
SECTION_FIGURES = ("mcc", "roc_pr")


def section_figure_files(cfg: Config) -> list[str]:
    """``results/summary/<section>/<figure>.svg`` for every section with a fine-tuned task."""
    if not cfg.finetune.models and not any(t.models for t in cfg.tasks.values()):
        return []
    tasks = {t: s for t, s in cfg.tasks.items() if cfg.task_models(t)}
    return [f"results/summary/{sec}/{fig}.svg" for sec in task_sections(tasks)
            for fig in SECTION_FIGURES]  # fmt: skip


def overview_inputs(cfg: Config) -> dict[str, list[str]]:
    """Named input lists of rule ``report_overview`` (each possibly empty)."""
    finetuned = [t for t in cfg.tasks if cfg.task_models(t)]
    att, var = cfg.attention, cfg.variants
    return {
        "config": ["results/summary/config.yaml"],
        "cards": [P.dataset_files(t)["card"] for t in cfg.tasks],
        "benchmarks": ["results/summary/benchmarks.tsv"] if finetuned else [],
        "comparisons": ["results/summary/comparisons.tsv"] if finetuned else [],
        "benefit": ["results/summary/pretraining_benefit.tsv"] if P.benefit_pairs(cfg) else [],
        "regression": [P.regression_table()] if P.expression_tasks(cfg) else [],
        "section_figures": section_figure_files(cfg),
        "lm_dirs": [P.lm_dir(lm) for lm in cfg.language_models],
        "attention": [f"results/attention/{t}/{att.model}/summary.json" for t in att.tasks],
        "motifs": [f"results/motifs/{t}/{att.model}/matches.tsv" for t in cfg.motifs.tasks],
        "variants": [f"results/variants/{t}/{var.model}/clinvar.tsv" for t in var.tasks],
        "interpretation": [P.interpretation_files(t)["tsv"] for t in P.modisco_selection(cfg)[0]],
        "splice_loop": [P.splice_loop_table(t) for t in P.splice_loop_tasks(cfg)],
    }
