"""BED interval files: the one reader of the intervals users and stages hand over.

Read by ``dnalm predict --bed`` and ``dnalm scan --regions/--truth`` (:mod:`dnalm.cli`,
:mod:`dnalm.scan`) and by the variant stage for the attention regions
(:mod:`dnalm.variants.select`). BED3 to BED6+: ``chrom start end [name score strand ...]``,
0-based half-open; ``track``/``browser``/``#`` lines and blank lines are skipped. Columns are
tab-separated; a line without a tab is split on whitespace (EPDnew's BED is space-separated).
Plain or gzip (:func:`dnalm.textio.open_text`). Every error is a ``ValueError`` naming
``<file>:<line>``.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

from dnalm.textio import open_text

__all__ = ["STRANDS", "BedInterval", "read_bed"]

STRANDS = ("+", "-", ".")


class BedInterval(NamedTuple):
    """One BED line: 0-based half-open ``[start, end)``, ``name`` (None for absent or ``.``),
    ``strand`` (``.`` when absent) and the 1-based ``line`` it came from."""

    contig: str
    start: int
    end: int
    name: str | None
    strand: str
    line: int


def read_bed(path: str | Path, allow_empty: bool = False) -> list[BedInterval]:
    """The intervals of a BED file, in file order.

    Parameters
    ----------
    path : str or Path
    allow_empty : bool, optional
        Return [] for a file without intervals instead of raising. Default is False.

    Raises
    ------
    ValueError
        ``<file>: ...`` for a missing file, a binary file or (unless ``allow_empty``) no
        intervals; ``<file>:<line>: ...`` for fewer than 3 columns, non-integer coordinates,
        ``start < 0`` or ``end <= start``, or a strand other than ``+``, ``-`` or ``.``.
    """
    p = Path(path)
    if not p.is_file():
        raise ValueError(f"{p}: BED file not found")
    out: list[BedInterval] = []
    try:
        with open_text(p) as fh:
            for ln, line in enumerate(fh, 1):
                s = line.rstrip("\r\n")
                if not s.strip() or s.startswith(("#", "track", "browser")):
                    continue
                f = s.split("\t") if "\t" in s else s.split()
                if len(f) < 3:
                    raise ValueError(f"{p}:{ln}: expected at least 3 tab-separated fields, got {len(f)}")
                try:
                    start, end = int(f[1]), int(f[2])
                except ValueError:
                    raise ValueError(f"{p}:{ln}: start/end must be integers, got {f[1]!r}, {f[2]!r}") from None
                if start < 0 or end <= start:
                    raise ValueError(f"{p}:{ln}: need 0 <= start < end, got {start}, {end}")
                strand = f[5] if len(f) > 5 else "."
                if strand not in STRANDS:
                    raise ValueError(f"{p}:{ln}: strand must be '+', '-' or '.', got {strand!r}")
                name = f[3] if len(f) > 3 and f[3] not in ("", ".") else None
                out.append(BedInterval(f[0], start, end, name, strand, ln))
    except UnicodeDecodeError as e:
        raise ValueError(f"{p}: not a text BED file, plain or gzip ({e.reason})") from None
    if not out and not allow_empty:
        raise ValueError(f"{p}: no BED intervals")
    return out
