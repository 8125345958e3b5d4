"""Expression regression datasets: promoter sequence + numeric features -> expression value.

Input: an Xpresso-format table (tab-separated, plain or gzip; Agarwal & Shendure 2020,
``*_FantomAnnotations.InputData.pM10Kb.txt.gz``): a header, then one gene per row with

=============  =================================================================================
column         meaning
=============  =================================================================================
1 (ENSID)      gene id (``source_id``)
EXPRESSION     median expression (>= 0); the target is ``log10(EXPRESSION + 0.1)``
2..n-1         mRNA half-life features (Xpresso: UTR5LEN CDSLEN INTRONLEN UTR3LEN UTR5GC CDSGC
               UTR3GC ORFEXONDENSITY); with 8 columns, features 1-4 and 8 (lengths, density)
               become ``log10(x + 0.1)`` as in Xpresso's setup_training_files.py; with another
               count, columns whose name holds ``LEN`` or ``DENSITY``; the rest are kept
PROMOTER       transcript-oriented sequence with the TSS at index ``promoter_tss`` (Xpresso:
               20 kb, TSS at 10,000); the rows keep ``window`` = [up, down] around it
=============  =================================================================================

Output (the regression form of the dataset contract): ``{train,dev,test}.tsv.gz`` with header
``sequence value contig start end strand source_id`` followed by one ``f:<FEATURE>`` column per
feature (coordinates ``.``), and ``card.json`` (kind ``expression``, ``counts`` {split: {"all": n}},
``labels`` [], ``target`` summaries, ``features``). Splits are seeded random (``splits``),
after dropping repeated promoter sequences. Features are not standardised here: a model fits
its scaling on the training split.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from dnalm import atomic
from dnalm.dataset import DEFAULT_K
from dnalm.seq import gc_fraction
from dnalm.splits import SPLITS
from dnalm.textio import open_text, sha256sum

__all__ = [
    "XPRESSO_WINDOW",
    "XPRESSO_TSS",
    "REG_COLUMNS",
    "Row",
    "read_xpresso",
    "write_regression_split",
    "read_regression_split",
    "build_expression_dataset",
    "fetch_expression_table",
]

log = logging.getLogger(__name__)

#: Xpresso's promoter window around the TSS (7 kb up, 3.5 kb down: 10.5 kb).
XPRESSO_WINDOW = (-7000, 3499)
#: Index of the TSS in Xpresso's 20-kb PROMOTER column.
XPRESSO_TSS = 10000
#: Fixed leading columns of a regression split; ``f:<FEATURE>`` columns follow.
REG_COLUMNS = ("sequence", "value", "contig", "start", "end", "strand", "source_id")
_MISSING = {"", "na", "nan", "null", "none", "."}
_BAD_BASE = re.compile(r"[^ACGTN]")


class Row(NamedTuple):
    """One regression example: promoter window, target, features (in the table's order)."""

    sequence: str
    value: float
    features: tuple[float, ...]
    source_id: str


def _number(text: str, path, ln: int, col: str) -> float:
    if text.strip().lower() in _MISSING:
        raise ValueError(f"{path}:{ln}: missing value in column {col}")
    try:
        v = float(text)
    except ValueError:
        raise ValueError(f"{path}:{ln}: column {col}: {text!r} is not a number") from None
    if not math.isfinite(v):
        raise ValueError(f"{path}:{ln}: column {col}: {text!r} is not a finite number")
    return v


def _log_feature(name: str) -> bool:
    up = name.upper()
    return "LEN" in up or "DENSITY" in up


def _log_columns(features: Sequence[str]) -> list[bool]:
    """Which features become log10(x + 0.1): Xpresso's positions (the 4 lengths and the ORF
    exon-junction density) for its 8 columns, else by name (``LEN`` or ``DENSITY``)."""
    if len(features) == 8:
        return [i in (0, 1, 2, 3, 7) for i in range(8)]
    return [_log_feature(f) for f in features]


def read_xpresso(
    path: str | Path,
    window: Sequence[int] = XPRESSO_WINDOW,
    promoter_tss: int = XPRESSO_TSS,
) -> tuple[list[Row], list[str]]:
    """Read an Xpresso-format table into regression rows.

    Parameters
    ----------
    path : str or Path
    window : (int, int), optional
        ``[upstream <= 0, downstream >= 0]`` around the TSS, inclusive. Default is
        :data:`XPRESSO_WINDOW`.
    promoter_tss : int, optional
        0-based index of the TSS in ``PROMOTER``. Default is :data:`XPRESSO_TSS`.

    Returns
    -------
    rows : list of Row
    features : list of str
        Feature column names.

    Raises
    ------
    ValueError
        ``"<path>:<line>: ..."`` for a bad header, a row with another number of fields, a
        missing or non-numeric value (naming its column), a negative expression or length, a
        promoter shorter than the window needs or holding non-ACGTN letters; ``"<path>: ..."``
        when there are no rows.
    """
    up, down = int(window[0]), int(window[1])
    if not up <= 0 <= down:
        raise ValueError(f"`window` must be [upstream <= 0, downstream >= 0], got {list(window)}")
    a, b = promoter_tss + up, promoter_tss + down + 1
    if a < 0:
        raise ValueError(f"`window` {list(window)} starts before the PROMOTER column (TSS at {promoter_tss})")
    rows: list[Row] = []
    with open_text(path) as fh:
        header = fh.readline().rstrip("\r\n").split("\t")
        if len(header) < 3 or header[1].upper() != "EXPRESSION" or header[-1].upper() != "PROMOTER":
            raise ValueError(
                f"{path}:1: expected header `<id> EXPRESSION <features...> PROMOTER` "
                f"(tab-separated, Xpresso format), got {header[:3]}...{header[-1:]}"
            )
        feats = header[2:-1]
        logs = _log_columns(feats)
        for ln, line in enumerate(fh, 2):
            if not line.strip():
                continue
            f = line.rstrip("\r\n").split("\t")
            if len(f) != len(header):
                raise ValueError(f"{path}:{ln}: expected {len(header)} fields, got {len(f)}")
            gid = f[0].strip()
            if gid.lower() in _MISSING:
                raise ValueError(f"{path}:{ln}: missing value in column {header[0]}")
            expr = _number(f[1], path, ln, header[1])
            if expr < 0:
                raise ValueError(f"{path}:{ln}: column {header[1]}: negative expression {expr}")
            values = []
            for name, text, lg in zip(feats, f[2:-1], logs, strict=True):
                v = _number(text, path, ln, name)
                if lg:
                    if v < 0:
                        raise ValueError(f"{path}:{ln}: column {name}: negative value {v}")
                    v = math.log10(v + 0.1)
                values.append(v)
            prom = f[-1].strip().upper()
            if prom.lower() in _MISSING:
                raise ValueError(f"{path}:{ln}: missing value in column {header[-1]}")
            if len(prom) < b:
                raise ValueError(
                    f"{path}:{ln}: {header[-1]} has {len(prom)} bp; window {up}..{down} around the "
                    f"TSS at {promoter_tss} needs {b}"
                )
            seq = prom[a:b]
            m = _BAD_BASE.search(seq)
            if m:
                raise ValueError(f"{path}:{ln}: {header[-1]} has non-ACGTN character {m.group()!r} at index {a + m.start()}")
            rows.append(Row(seq, math.log10(expr + 0.1), tuple(values), gid))
    if not rows:
        raise ValueError(f"{path}: no rows after the header")
    return rows, feats


def write_regression_split(rows: Sequence[Row], features: Sequence[str], path: str | Path) -> Path:
    """Write one regression split as a deterministic gzip TSV (atomic)."""
    head = list(REG_COLUMNS) + [f"f:{f}" for f in features]
    with atomic.open_gzip(path) as gz:
        gz.write(("\t".join(head) + "\n").encode())
        for r in rows:
            vals = [r.sequence, f"{r.value:.9g}", ".", ".", ".", ".", r.source_id]
            vals += [f"{v:.9g}" for v in r.features]
            gz.write(("\t".join(vals) + "\n").encode())
    return Path(path)


def read_regression_split(path: str | Path) -> tuple[list[Row], list[str]]:
    """Read a split written by :func:`write_regression_split`.

    Raises
    ------
    ValueError
        ``"<path>:<line>: ..."`` for a bad header, field count, sequence or number.
    """
    rows: list[Row] = []
    with open_text(path) as fh:
        head = fh.readline().rstrip("\r\n").split("\t")
        n0 = len(REG_COLUMNS)
        if tuple(head[:n0]) != REG_COLUMNS or not all(h.startswith("f:") for h in head[n0:]):
            raise ValueError(f"{path}:1: expected header {' '.join(REG_COLUMNS)} f:<feature>..., got {head}")
        feats = [h[2:] for h in head[n0:]]
        for ln, line in enumerate(fh, 2):
            f = line.rstrip("\r\n").split("\t")
            if len(f) != len(head):
                raise ValueError(f"{path}:{ln}: expected {len(head)} fields, got {len(f)}")
            if not f[0] or _BAD_BASE.search(f[0]):
                raise ValueError(f"{path}:{ln}: sequence {f[0][:20]!r} is empty or not ACGTN")
            value = _number(f[1], path, ln, "value")
            values = tuple(_number(x, path, ln, h) for x, h in zip(f[n0:], head[n0:], strict=True))
            rows.append(Row(f[0], value, values, f[6]))
    return rows, feats


def _split(rows: Sequence[Row], fractions: Mapping[str, float], seed: int) -> tuple[dict[str, list[Row]], dict]:
    seen: set[str] = set()
    kept = []
    for r in rows:
        if r.sequence not in seen:
            seen.add(r.sequence)
            kept.append(r)
    fr = {"train": 0.8, "dev": 0.1, "test": 0.1, **{k: float(v) for k, v in fractions.items()}}
    total = sum(fr[s] for s in SPLITS)
    order = np.random.default_rng(seed).permutation(len(kept))
    n = len(kept)
    n_dev, n_test = int(round(n * fr["dev"] / total)), int(round(n * fr["test"] / total))
    n_train = n - n_dev - n_test
    idx = {"train": order[:n_train], "dev": order[n_train : n_train + n_dev], "test": order[n_train + n_dev :]}
    parts = {s: [kept[i] for i in sorted(v.tolist())] for s, v in idx.items()}
    return parts, {"duplicates": len(rows) - len(kept)}


def _summary(values: Sequence[float]) -> dict[str, float | int | None]:
    a = np.asarray(values, dtype=np.float64)
    if not a.size:
        return {"n": 0, "mean": None, "sd": None, "min": None, "max": None}
    return {"n": int(a.size), "mean": round(float(a.mean()), 6), "sd": round(float(a.std()), 6),
            "min": round(float(a.min()), 6), "max": round(float(a.max()), 6)}  # fmt: skip


def build_expression_dataset(
    task: str,
    spec: Mapping[str, Any],
    inputs: Mapping[str, str | Path],
    outputs: Mapping[str, str | Path],
    splits: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Build an expression task: read its table, split, write three TSVs and ``card.json``.

    Parameters
    ----------
    task : str
    spec : mapping
        ``tasks.<task>``: ``window`` (default :data:`XPRESSO_WINDOW`), ``promoter_tss``
        (default :data:`XPRESSO_TSS`), optional ``max_train``.
    inputs : mapping
        ``table``: the Xpresso-format file.
    outputs : mapping
        ``train``, ``dev``, ``test``, ``card`` paths.
    splits : mapping, optional
        ``{train, dev, test, seed}``. Default is 80/10/10, seed 1.

    Returns
    -------
    card : dict
    """
    splits = dict(splits or {})
    seed = int(splits.get("seed", 1))
    window = spec.get("window") or list(XPRESSO_WINDOW)
    rows, feats = read_xpresso(inputs["table"], window, int(spec.get("promoter_tss", XPRESSO_TSS)))
    parts, stats = _split(rows, {k: splits[k] for k in SPLITS if k in splits}, seed)
    if spec.get("max_train") is not None and len(parts["train"]) > int(spec["max_train"]):
        rng = np.random.default_rng([seed, 0x5452])
        keep = sorted(rng.choice(len(parts["train"]), size=int(spec["max_train"]), replace=False).tolist())
        stats["train_capped"] = len(parts["train"]) - len(keep)
        parts["train"] = [parts["train"][i] for i in keep]
    if any(not parts[s] for s in SPLITS):
        raise ValueError(f"task {task!r}: {len(rows)} rows in {inputs['table']} leave a split empty ({ {s: len(v) for s, v in parts.items()} })")
    lengths = [len(r.sequence) for v in parts.values() for r in v]
    card = {
        "task": task,
        "kind": "expression",
        "genome": spec.get("genome"),
        "spec": dict(spec),
        "seed": seed,
        "n_total": sum(len(v) for v in parts.values()),
        "counts": {s: {"all": len(parts[s])} for s in SPLITS},
        "labels": [],
        "n_classes": 0,
        "window_length": lengths[0] if len(set(lengths)) == 1 else None,
        "tss_offset": -int(window[0]),
        "k": int(spec.get("k", DEFAULT_K)),
        "target": {"transform": "log10(EXPRESSION + 0.1)", **{s: _summary([r.value for r in parts[s]]) for s in SPLITS}},
        "features": {f: ("log10(x + 0.1)" if lg else "as given") for f, lg in zip(feats, _log_columns(feats), strict=True)},
        "length": _summary(lengths),
        "gc": _summary([gc_fraction(r.sequence) for v in parts.values() for r in v]),
        "negative_strategy": None,
        "sources": [{"role": "table", "path": str(inputs["table"]), "sha256": sha256sum(inputs["table"])}],
        "stats": {"rows": len(rows), **stats},
    }
    for s in SPLITS:
        write_regression_split(parts[s], feats, outputs[s])
    atomic.write_json(outputs["card"], card)
    log.info("%s: %s", task, card["counts"])
    return card


def fetch_expression_table(src: Mapping[str, Any], out: str | Path) -> Path:
    """Fetch ``tasks.<t>.table`` (checksum verified) to ``out`` and check its header.

    Raises
    ------
    ValueError
        ``"<url>:1: ..."`` when the file is not in Xpresso format (``out`` is then removed).
    """
    from dnalm.fetch import fetch_source

    path = fetch_source(src, out)
    with open_text(path) as fh:
        header = fh.readline().rstrip("\r\n").split("\t")
    if len(header) < 3 or header[1].upper() != "EXPRESSION" or header[-1].upper() != "PROMOTER":
        Path(path).unlink(missing_ok=True)
        raise ValueError(f"{src['url']}:1: not an Xpresso-format table (header {header[:3]}...)")
    return Path(path)
