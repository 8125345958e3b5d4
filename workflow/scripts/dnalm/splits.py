"""Train/dev/test splits without leakage: dedupe, then stratified seeded or chromosome held-out.

Identical sequences are removed before splitting (first occurrence wins), so no sequence can
appear in two splits. Examples sharing a ``group`` (a positive and the synthetic negative
derived from it) are assigned together. Random splits are stratified by the labels of a
group and reproducible for a given seed.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence

import numpy as np

from dnalm.dataset import Example

__all__ = ["SPLITS", "dedupe", "split_examples", "check_no_leakage"]

SPLITS = ("train", "dev", "test")


def dedupe(examples: Sequence[Example]) -> tuple[list[Example], dict]:
    """Drop repeated sequences (first occurrence kept).

    Returns
    -------
    kept : list of Example
    stats : dict
        ``duplicates`` removed and ``label_conflicts`` (repeats carrying another label).
    """
    first: dict[str, int] = {}
    kept: list[Example] = []
    conflicts = 0
    for ex in examples:
        j = first.get(ex.sequence)
        if j is None:
            first[ex.sequence] = len(kept)
            kept.append(ex)
        elif kept[j].label != ex.label:
            conflicts += 1
    return kept, {"duplicates": len(examples) - len(kept), "label_conflicts": conflicts}


def split_examples(
    examples: Sequence[Example],
    fractions: Mapping[str, float] | None = None,
    seed: int = 1,
    holdout_chroms: Mapping[str, Sequence[str]] | None = None,
) -> tuple[dict[str, list[Example]], dict]:
    """Deduplicate and split into train/dev/test.

    Parameters
    ----------
    examples : sequence of Example, length n
    fractions : mapping, optional
        ``{"train": .8, "dev": .1, "test": .1}`` (normalised to sum 1). Default is 80/10/10.
    seed : int, optional
        Default is 1.
    holdout_chroms : mapping, optional
        ``{"dev": [...], "test": [...]}``: groups on these contigs go to that split, all others
        to train. Synthetic examples follow their group. Default is None (random split).

    Returns
    -------
    splits : dict of split -> list of Example
        Each split keeps the input order.
    stats : dict
        Dedupe counts.
    """
    fr = {"train": 0.8, "dev": 0.1, "test": 0.1}
    if fractions:
        fr.update({k: float(v) for k, v in fractions.items() if k in SPLITS})
    if any(v < 0 for v in fr.values()) or sum(fr.values()) <= 0:
        raise ValueError(f"`fractions` must be non-negative with a positive sum, got {fr}")
    total = sum(fr.values())
    fr = {k: v / total for k, v in fr.items()}
    kept, stats = dedupe(examples)
    groups: dict[str, list[int]] = defaultdict(list)
    for i, ex in enumerate(kept):
        groups[ex.group if ex.group is not None else f"\0{i}"].append(i)
    assign: dict[str, str] = {}
    if holdout_chroms:
        where = {}
        for split, chroms in holdout_chroms.items():
            if split not in ("dev", "test"):
                raise ValueError(f"`holdout_chroms` keys must be dev/test, got {split!r}")
            for c in chroms:
                if c in where:
                    raise ValueError(
                        f"`holdout_chroms`: contig {c!r} is in both {where[c]} and {split}"
                    )
                where[c] = split
        for g, idx in groups.items():
            contig = next((kept[i].contig for i in idx if kept[i].contig != "."), ".")
            assign[g] = where.get(contig, "train")
    else:
        strata: dict[tuple, list[str]] = defaultdict(list)
        for g, idx in groups.items():
            strata[tuple(sorted(kept[i].label for i in idx))].append(g)
        rng = np.random.default_rng(seed)
        for key in sorted(strata):
            gs = strata[key]
            order = [gs[i] for i in rng.permutation(len(gs))]
            n = len(order)
            n_dev = int(round(n * fr["dev"]))
            n_test = int(round(n * fr["test"]))
            n_train = max(0, n - n_dev - n_test)
            for j, g in enumerate(order):
                assign[g] = "train" if j < n_train else ("dev" if j < n_train + n_dev else "test")
    out: dict[str, list[Example]] = {s: [] for s in SPLITS}
    for g, idx in groups.items():
        for i in idx:
            out[assign[g]].append((i, kept[i]))
    result = {s: [ex for _, ex in sorted(v, key=lambda t: t[0])] for s, v in out.items()}
    check_no_leakage(result)
    return result, stats


def check_no_leakage(splits: Mapping[str, Sequence[Example]]) -> None:
    """Raise ``ValueError`` when one sequence appears in two splits."""
    seen: dict[str, str] = {}
    for s, exs in splits.items():
        for ex in exs:
            other = seen.setdefault(ex.sequence, s)
            if other != s:
                raise ValueError(f"leakage: a sequence is in both {other} and {s}")


def cap_per_class(
    examples: Sequence[Example], max_per_class: int | None, rng: np.random.Generator
) -> tuple[list[Example], dict[int, int]]:
    """Keep at most ``max_per_class`` examples of each label, chosen at random, in input order.

    Parameters
    ----------
    examples : sequence of Example
    max_per_class : int or None
        None keeps everything.
    rng : numpy.random.Generator
        Seeded generator (same seed, same subset).

    Returns
    -------
    kept : list of Example
    dropped : dict of label -> number of examples dropped
    """
    if max_per_class is None:
        return list(examples), {}
    if max_per_class < 1:
        raise ValueError(f"`max_per_class` must be >= 1, got {max_per_class}")
    by_label: dict[int, list[int]] = defaultdict(list)
    for i, ex in enumerate(examples):
        by_label[ex.label].append(i)
    keep: set[int] = set()
    dropped: dict[int, int] = {}
    for label in sorted(by_label):
        idx = by_label[label]
        if len(idx) > max_per_class:
            idx = sorted(rng.choice(idx, size=max_per_class, replace=False).tolist())
            dropped[label] = len(by_label[label]) - max_per_class
        keep.update(idx)
    return [ex for i, ex in enumerate(examples) if i in keep], dropped
