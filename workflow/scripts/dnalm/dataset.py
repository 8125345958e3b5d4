"""The dataset contract: one split TSV (``{split}.tsv.gz``) and the task's ``card.json``.

Every stage that reads or writes a built dataset goes through this module:

- :class:`Example` is one row; :func:`write_split` writes a split as deterministic gzip TSV with
  header :data:`COLUMNS`; :func:`read_split` reads and checks one (plain or gzip);
- :func:`dataset_card` summarises a built task, :func:`write_card` writes it, and
  :func:`read_card` returns it as a :class:`Card` whose fields downstream stages rely on
  (label set, window length, TSS offset, k).

See docs/ARCHITECTURE.md, "Dataset TSV".
"""

from __future__ import annotations

import gzip
import json
import re
import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from dnalm import atomic
from dnalm.seq import gc_fraction
from dnalm.textio import gzip_error, is_gzip, open_text, sha256sum

__all__ = [
    "COLUMNS",
    "DEFAULT_K",
    "Example",
    "Card",
    "write_split",
    "read_split",
    "read_examples",
    "dataset_card",
    "write_card",
    "read_card",
]

#: Header of the dataset TSV contract (docs/ARCHITECTURE.md). Only the first two are required.
COLUMNS = ("sequence", "label", "contig", "start", "end", "strand", "source_id")
#: k-mer size rows are checked against when ``tasks.<t>.k`` is not set.
DEFAULT_K = 6
_BAD_BASE = re.compile(r"[^ACGTN]")
_GZIP_ERRORS = (EOFError, zlib.error, gzip.BadGzipFile)


class Example(NamedTuple):
    """One dataset row (see docs/ARCHITECTURE.md, "Dataset TSV").

    ``start``/``end`` are ``None`` for synthetic or imported rows (written as ``.``).
    ``group`` ties a synthetic negative to the positive it was derived from, so that both land
    in the same split; it is not written to the TSV.
    """

    sequence: str
    label: int
    contig: str = "."
    start: int | None = None
    end: int | None = None
    strand: str = "."
    source_id: str = "."
    group: str | None = None


def write_split(examples: Iterable[Example], path: str | Path) -> Path:
    """Write one split as a deterministic gzip TSV (mtime 0, no name), atomically.

    Parameters
    ----------
    examples : iterable of Example
    path : str or pathlib.Path
        Destination (``{split}.tsv.gz``).

    Returns
    -------
    path : pathlib.Path
    """
    with atomic.open_gzip(path) as gz:
        gz.write(("\t".join(COLUMNS) + "\n").encode())
        for ex in examples:
            start = "." if ex.start is None else str(ex.start)
            end = "." if ex.end is None else str(ex.end)
            gz.write(
                f"{ex.sequence}\t{ex.label}\t{ex.contig}\t{start}\t{end}\t{ex.strand}\t"
                f"{ex.source_id}\n".encode()
            )
    return Path(path)


def read_split(path: str | Path) -> pd.DataFrame:
    """Read a dataset split TSV (plain or gzip) and check it.

    Parameters
    ----------
    path : str or pathlib.Path
        Tab-separated file with a header holding at least ``sequence`` and ``label``.

    Returns
    -------
    df : pandas.DataFrame, shape=(n, n_columns)
        ``sequence`` upper-cased str, ``label`` int64 (0..C-1); other columns kept as str.

    Raises
    ------
    ValueError
        Naming ``path`` and the 1-based file line when the header lacks a required column,
        a label is not a non-negative integer, or a sequence is empty or holds non-ACGTN
        characters; naming ``path`` when the file is missing, has no rows, or its gzip stream
        is truncated or corrupt.
    """
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{path}: dataset split not found")
    try:
        df = pd.read_csv(
            path,
            sep="\t",
            dtype=str,
            keep_default_na=False,
            na_filter=False,
            compression="gzip" if is_gzip(path) else None,  # by magic bytes, not by name
        )
    except pd.errors.EmptyDataError:
        raise ValueError(f"{path}:1: empty file, expected a header line") from None
    except _GZIP_ERRORS as e:
        raise gzip_error(path, e) from None
    missing = [c for c in ("sequence", "label") if c not in df.columns]
    if missing:
        raise ValueError(
            f"{path}:1: header lacks column(s) {missing}; expected {' '.join(COLUMNS)}"
        )
    if len(df) == 0:
        raise ValueError(f"{path}: no rows after the header")
    seqs = df["sequence"].str.strip().str.upper()
    for i, s in enumerate(seqs):
        if not s:
            raise ValueError(f"{path}:{i + 2}: empty sequence")
        m = _BAD_BASE.search(s)
        if m:
            raise ValueError(
                f"{path}:{i + 2}: sequence has non-ACGTN character {m.group()!r} at index {m.start()}"
            )
    labels = df["label"].str.strip()
    ok = labels.str.fullmatch(r"\d+")
    if not ok.all():
        i = int((~ok).to_numpy().nonzero()[0][0])
        raise ValueError(
            f"{path}:{i + 2}: label {df['label'].iloc[i]!r} is not a non-negative integer"
        )
    df["sequence"] = seqs
    df["label"] = labels.astype("int64")
    return df.reset_index(drop=True)


def _coord(value: str, path: Path, line: int, col: str) -> int | None:
    if value in (".", ""):
        return None
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"{path}:{line}: {col} {value!r} is not an integer or '.'") from None


def read_examples(path: str | Path) -> list[Example]:
    """Read a split written by :func:`write_split` as :class:`Example` rows (``group`` None).

    Unlike :func:`read_split`, a split with no rows (a header only) is allowed.

    Raises
    ------
    ValueError
        Naming ``path:line`` when the header is not :data:`COLUMNS`, a row has another number
        of fields, a sequence is empty or not ACGTN, a label is not a non-negative integer or
        ``start``/``end`` is neither an integer nor ``.``; naming ``path`` for a missing file or
        a truncated gzip stream.
    """
    path = Path(path)
    out: list[Example] = []
    with open_text(path) as fh:
        header = tuple(fh.readline().rstrip("\r\n").split("\t"))
        if header != COLUMNS:
            raise ValueError(f"{path}:1: expected header {' '.join(COLUMNS)!r}, got {header}")
        for ln, line in enumerate(fh, 2):
            f = line.rstrip("\r\n").split("\t")
            if len(f) != len(COLUMNS):
                raise ValueError(f"{path}:{ln}: expected {len(COLUMNS)} fields, got {len(f)}")
            if not f[0] or _BAD_BASE.search(f[0]):
                raise ValueError(f"{path}:{ln}: sequence {f[0][:20]!r} is empty or not ACGTN")
            if not f[1].isdigit():
                raise ValueError(f"{path}:{ln}: label {f[1]!r} is not a non-negative integer")
            start, end = _coord(f[3], path, ln, "start"), _coord(f[4], path, ln, "end")
            out.append(Example(f[0], int(f[1]), f[2], start, end, f[5], f[6]))
    return out


# ---------------------------------------------------------------------------- card.json


@dataclass(frozen=True)
class Card:
    """The fields of ``card.json`` that downstream stages rely on.

    Attributes
    ----------
    task, kind : str
    genome : str or None
        None for imported tasks.
    labels : tuple of int
        Sorted label set over all splits.
    n_classes : int
        ``len(labels)``.
    window_length : int or None
        bp length of every row; None when lengths vary.
    tss_offset : int or None
        0-based index of the TSS inside a ``+``-oriented row for promoter tasks (window
        ``[-249, 50]`` -> 249); None otherwise.
    k : int
        k-mer size rows were validated against (``tasks.<t>.k``, else :data:`DEFAULT_K`).
    counts : dict
        ``{split: {label: n}}`` (labels as str, as in the JSON).
    raw : dict
        The whole JSON.
    """

    task: str
    kind: str
    genome: str | None
    labels: tuple[int, ...]
    n_classes: int
    window_length: int | None
    tss_offset: int | None
    k: int
    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    raw: dict[str, Any] = field(default_factory=dict, repr=False)


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


def _tss_offset(spec: Mapping[str, Any]) -> int | None:
    if spec.get("kind") != "promoter" or spec.get("window") is None:
        return None
    return -int(spec["window"][0])


def dataset_card(
    task: str,
    spec: Mapping[str, Any],
    splits: Mapping[str, Sequence[Example]],
    negative_strategy: str | None,
    sources: Sequence[tuple[str, str | Path]] = (),
    stats: Mapping[str, Any] | None = None,
    seed: int | None = None,
) -> dict[str, Any]:
    """Summarise a built dataset as the ``card.json`` dict.

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
        ``task``, ``kind``, ``genome``, ``spec``, ``seed``, ``n_total``, ``counts``
        {split: {label: n}}, ``labels``, ``n_classes``, ``window_length``, ``tss_offset``,
        ``k``, ``length`` summary and histogram, ``gc_by_class``, ``n_fraction``,
        ``negative_strategy``, ``sources`` [{role, path, sha256}], ``stats``.
    """
    counts: dict[str, dict[str, int]] = {s: {} for s in splits}
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
    counts = {s: dict(sorted(c.items(), key=lambda kv: int(kv[0]))) for s, c in counts.items()}
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
    labels = sorted(gc)
    return {
        "task": task,
        "kind": spec.get("kind"),
        "genome": spec.get("genome"),
        "spec": dict(spec),
        "seed": seed,
        "n_total": sum(len(v) for v in splits.values()),
        "counts": counts,
        "labels": labels,
        "n_classes": len(labels),
        "window_length": lengths[0] if lengths and len(set(lengths)) == 1 else None,
        "tss_offset": _tss_offset(spec),
        "k": int(spec.get("k", DEFAULT_K)),
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


def write_card(card: Mapping[str, Any], path: str | Path) -> Path:
    """Write ``card`` as sorted, indented JSON (atomic)."""
    return atomic.write_json(path, dict(card))


def read_card(path: str | Path) -> Card:
    """Read a task's ``card.json`` (the file, or the task's dataset folder holding it).

    Parameters
    ----------
    path : str or pathlib.Path
        ``results/datasets/{task}/card.json`` or ``results/datasets/{task}``.

    Returns
    -------
    card : Card

    Raises
    ------
    ValueError
        Naming the file when it is missing, not JSON, or lacks ``task``/``kind``/``counts``.
    """
    p = Path(path)
    if p.is_dir():
        p = p / "card.json"
    if not p.is_file():
        raise ValueError(f"{p}: dataset card not found")
    try:
        raw = json.loads(p.read_text())
    except json.JSONDecodeError as e:
        raise ValueError(f"{p}:{e.lineno}: not valid JSON ({e.msg})") from None
    if not isinstance(raw, dict):
        raise ValueError(f"{p}:1: expected a JSON object, got {type(raw).__name__}")
    missing = [key for key in ("task", "kind", "counts") if key not in raw]
    if missing:
        raise ValueError(f"{p}: card lacks key(s) {missing}")
    counts = {str(s): {str(lab): int(n) for lab, n in c.items()} for s, c in raw["counts"].items()}
    spec = raw.get("spec") or {}
    if "labels" in raw:
        labels = tuple(sorted(int(x) for x in raw["labels"]))
    else:  # cards written before the field existed
        labels = tuple(sorted({int(lab) for c in counts.values() for lab in c}))
    if "window_length" in raw:
        wl = raw["window_length"]
    else:
        length = raw.get("length") or {}
        wl = (
            length.get("min")
            if length.get("min") is not None and length.get("min") == length.get("max")
            else None
        )
    tss = raw["tss_offset"] if "tss_offset" in raw else _tss_offset({"kind": raw["kind"], **spec})
    return Card(
        task=str(raw["task"]),
        kind=str(raw["kind"]),
        genome=raw.get("genome"),
        labels=labels,
        n_classes=len(labels),
        window_length=None if wl is None else int(wl),
        tss_offset=None if tss is None else int(tss),
        k=int(raw.get("k", spec.get("k", DEFAULT_K))),
        counts=counts,
        raw=raw,
    )
