"""Dataset card: what is in a built dataset and where it came from (``card.json``)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from dnalm.intervals import Example, atomic_write_bytes, gc_fraction, sha256sum

__all__ = ["dataset_card", "write_card"]


def _summary(values: Sequence[float]) -> dict[str, float | None]:
    if not len(values):
        return {"n": 0, "mean": None, "sd": None, "min": None, "max": None}
    a = np.asarray(values, dtype=np.float64)
    return {
        "n": int(a.size),
        "mean": round(float(a.mean()), 6),
        "sd": round(float(a.std()), 6),
        "min": round(float(a.min()), 6),
        "max": round(float(a.max()), 6),
    }


def dataset_card(
    task: str,
    spec: Mapping[str, Any],
    splits: Mapping[str, Sequence[Example]],
    negative_strategy: str | None,
    sources: Sequence[tuple[str, str | Path]] = (),
    stats: Mapping[str, Any] | None = None,
    seed: int | None = None,
) -> dict[str, Any]:
    """Summarise a dataset.

    Parameters
    ----------
    task : str
    spec : mapping
        The task's config entry (copied into the card).
    splits : mapping of split -> sequence of Example
    negative_strategy : str or None
    sources : sequence of (role, path), optional
        Input files; each is listed with its SHA-256. Default is none.
    stats : mapping, optional
        Builder statistics (skipped rows, GC-matching, canonical-site rate...). Default is None.
    seed : int, optional
        Default is None.

    Returns
    -------
    card : dict
        ``counts`` {split: {label: n}}, ``length`` summary and histogram, ``gc_by_class``,
        ``n_fraction``, ``negative_strategy``, ``sources`` [{role, path, sha256}], ``stats``.
    """
    counts = {s: {} for s in splits}
    lengths: list[int] = []
    gc: dict[int, list[float]] = {}
    n_bases = n_n = 0
    for s, exs in splits.items():
        for ex in exs:
            counts[s][str(ex.label)] = counts[s].get(str(ex.label), 0) + 1
            lengths.append(len(ex.sequence))
            gc.setdefault(ex.label, []).append(gc_fraction(ex.sequence))
            n_bases += len(ex.sequence)
            n_n += ex.sequence.count("N")
    counts = {s: dict(sorted(c.items())) for s, c in counts.items()}
    hist: dict[str, int] = {}
    for L in lengths:
        hist[str(L)] = hist.get(str(L), 0) + 1
    if len(hist) > 50:  # many lengths (imported data): bin them
        edges = np.linspace(min(lengths), max(lengths) + 1, 21)
        h, _ = np.histogram(lengths, bins=edges)
        hist = {
            f"{int(a)}-{int(b) - 1}": int(n)
            for a, b, n in zip(edges[:-1], edges[1:], h, strict=True)
        }
    return {
        "task": task,
        "kind": spec.get("kind"),
        "genome": spec.get("genome"),
        "spec": dict(spec),
        "seed": seed,
        "n_total": sum(len(v) for v in splits.values()),
        "counts": counts,
        "length": {
            **_summary(lengths),
            "histogram": dict(sorted(hist.items(), key=lambda kv: kv[0])),
        },
        "gc_by_class": {str(k): _summary(v) for k, v in sorted(gc.items())},
        "n_fraction": n_n / n_bases if n_bases else 0.0,
        "negative_strategy": negative_strategy,
        "sources": [{"role": r, "path": str(p), "sha256": sha256sum(p)} for r, p in sources],
        "stats": dict(stats or {}),
    }


def write_card(card: Mapping[str, Any], path: str | Path) -> None:
    """Write ``card`` as sorted, indented JSON (atomic)."""
    atomic_write_bytes(
        path, (json.dumps(card, indent=2, sort_keys=True, default=str) + "\n").encode()
    )
