"""The report's sections, in the order of the DNABERT paper's figures.

Report categories are numbered so that Snakemake's report (which sorts categories by name)
shows them in this order; the front page is category ``0``.
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["CATEGORIES", "SECTION_OF_KIND", "category", "section_of", "task_sections"]

#: Section key -> report category (the paper figure it mirrors).
CATEGORIES: dict[str, str] = {
    "overview": "0 Overview",
    "promoters": "1 Promoters (Fig. 2)",
    "tf_sites": "2 TF binding sites (Fig. 3)",
    "attention": "3 Attention and motifs (Fig. 4)",
    "splice": "4 Splice sites (Fig. 5)",
    "variants": "5 Functional variants (Fig. 5)",
    "pretraining": "6 Pretraining benefit and transfer (Fig. 6)",
    "other": "7 Other tasks",
    "data": "8 Datasets, corpus, software and config",
    "haplotypes": "9 Artificial genomes",
}

#: Task kind (``tasks.<name>.kind``) -> section key of its benchmark figures.
SECTION_OF_KIND: dict[str, str] = {
    "promoter": "promoters",
    "tfbs": "tf_sites",
    "splice": "splice",
    "imported": "other",
}


def category(section: str) -> str:
    """The report category of a section key (``ValueError`` naming the known keys)."""
    try:
        return CATEGORIES[section]
    except KeyError:
        raise ValueError(f"unknown report section {section!r}; known: {sorted(CATEGORIES)}") from None


def section_of(kind: str) -> str:
    """The section key of a task kind; unknown kinds go to ``other``."""
    return SECTION_OF_KIND.get(kind, "other")


def task_sections(tasks: Mapping[str, object]) -> dict[str, list[str]]:
    """Benchmark section -> its tasks (config order), for every section that has a task.

    Parameters
    ----------
    tasks : mapping
        ``tasks`` of the config: name -> an object or dict with ``kind``.

    Returns
    -------
    dict of str -> list of str
        Sections in :data:`CATEGORIES` order.
    """
    out: dict[str, list[str]] = {}
    for name, spec in tasks.items():
        kind = spec["kind"] if isinstance(spec, Mapping) else spec.kind
        out.setdefault(section_of(str(kind)), []).append(name)
    return {s: out[s] for s in CATEGORIES if s in out}
