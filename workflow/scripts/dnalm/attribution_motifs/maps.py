"""Read attribution maps (the ``results/attribution/.../{method}.npz`` contract) and pick the rows
TF-MoDISco sees.

The contract (written by :mod:`dnalm.attribution`): ``ids`` (n,) str, ``label`` (n,) int,
``prob`` (n,) float (positive-class probability), ``onehot`` (n, L, 4) float32 in A, C, G, T
order (all-zero rows for N), ``hyp`` (n, L, 4) float32 hypothetical contributions, ``attr`` (n, L)
float32 ``= (hyp * onehot).sum(-1)``; optional, together, ``chrom`` (n,) str, ``start`` (n,) int and
``strand`` (n,) str: the window is ``[start, start + L)`` on ``chrom``, reverse-complemented on ``-``
rows; rows without coordinates hold ``.`` and -1 (``strand`` absent: ``+``). Every check names
the file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = ["REQUIRED_ARRAYS", "AttributionMaps", "read_attribution_maps", "select_rows"]

#: Arrays every attribution file must hold.
REQUIRED_ARRAYS = ("ids", "label", "prob", "onehot", "hyp", "attr")
_ATTR_TOL = 1e-3  # relative: attr must equal (hyp * onehot).sum(-1) up to float32 rounding


@dataclass(frozen=True)
class AttributionMaps:
    """One attribution file's arrays (see the module docstring for shapes)."""

    path: Path
    ids: np.ndarray
    label: np.ndarray
    prob: np.ndarray
    onehot: np.ndarray
    hyp: np.ndarray
    attr: np.ndarray
    chrom: np.ndarray | None = None
    start: np.ndarray | None = None
    strand: np.ndarray | None = None

    @property
    def n(self) -> int:
        return int(self.onehot.shape[0])

    @property
    def length(self) -> int:
        return int(self.onehot.shape[1])

    def take(self, rows: np.ndarray) -> AttributionMaps:
        """The same maps restricted to ``rows`` (in that order)."""
        rows = np.asarray(rows, dtype=np.int64)
        return AttributionMaps(
            self.path, self.ids[rows], self.label[rows], self.prob[rows], self.onehot[rows],
            self.hyp[rows], self.attr[rows],
            None if self.chrom is None else self.chrom[rows],
            None if self.start is None else self.start[rows],
            None if self.strand is None else self.strand[rows],
        )  # fmt: skip


def read_attribution_maps(path: str | Path) -> AttributionMaps:
    """Read and check one attribution ``.npz``.

    Parameters
    ----------
    path : str or pathlib.Path

    Returns
    -------
    AttributionMaps

    Raises
    ------
    ValueError
        ``"<path>: ..."`` for a missing array, a shape that disagrees with ``onehot``'s
        (n, L, 4), a ``onehot`` that is not one-hot (or all-zero), non-finite scores, or an
        ``attr`` that is not ``(hyp * onehot).sum(-1)``.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: attribution file not found")
    try:
        z = np.load(path, allow_pickle=False)
    except (ValueError, OSError) as e:
        raise ValueError(f"{path}: not a readable .npz file ({e})") from None
    with z:
        missing = [k for k in REQUIRED_ARRAYS if k not in z.files]
        if missing:
            raise ValueError(
                f"{path}: missing array(s) {missing}; an attribution file holds {list(REQUIRED_ARRAYS)}"
                " (+ optional chrom, start)"
            )
        arr = {k: z[k] for k in z.files}
    onehot = np.asarray(arr["onehot"], dtype=np.float32)
    if onehot.ndim != 3 or onehot.shape[2] != 4:
        raise ValueError(f"{path}: `onehot` must have shape (n, L, 4), got {onehot.shape}")
    n, L, _ = onehot.shape
    hyp = np.asarray(arr["hyp"], dtype=np.float32)
    if hyp.shape != onehot.shape:
        raise ValueError(f"{path}: `hyp` has shape {hyp.shape}, `onehot` {onehot.shape}")
    attr = np.asarray(arr["attr"], dtype=np.float32)
    if attr.shape != (n, L):
        raise ValueError(f"{path}: `attr` has shape {attr.shape}, expected (n, L) = {(n, L)}")
    for key in ("ids", "label", "prob", "chrom", "start", "strand"):
        if key in arr and np.shape(arr[key]) != (n,):
            raise ValueError(f"{path}: `{key}` has shape {np.shape(arr[key])}, expected ({n},)")
    rowsum = onehot.sum(-1)
    if not (np.isin(onehot, (0.0, 1.0)).all() and np.isin(rowsum, (0.0, 1.0)).all()):
        raise ValueError(f"{path}: `onehot` is not one-hot (each base: one 1 in A, C, G, T, or all 0 for N)")
    for key, a in (("hyp", hyp), ("attr", attr)):
        if not np.isfinite(a).all():
            raise ValueError(f"{path}: `{key}` holds NaN or infinite values")
    expect = (hyp * onehot).sum(-1)
    scale = max(float(np.abs(expect).max(initial=0.0)), 1e-12)
    if float(np.abs(expect - attr).max(initial=0.0)) > _ATTR_TOL * scale:
        raise ValueError(f"{path}: `attr` differs from (hyp * onehot).sum(-1)")
    label = np.asarray(arr["label"])
    if not np.issubdtype(label.dtype, np.integer):
        raise ValueError(f"{path}: `label` must be integers, got {label.dtype}")
    start = arr.get("start")
    if start is not None and not np.issubdtype(np.asarray(start).dtype, np.integer):
        raise ValueError(f"{path}: `start` must be integers, got {np.asarray(start).dtype}")
    if ("chrom" in arr) != ("start" in arr) or ("strand" in arr and "chrom" not in arr):
        raise ValueError(f"{path}: `chrom`, `start` (and `strand`) come together (one is missing)")
    if "strand" in arr and not np.isin(np.asarray(arr["strand"]).astype(str), ("+", "-", ".")).all():
        raise ValueError(f"{path}: `strand` must hold '+', '-' or '.'")
    return AttributionMaps(
        path=path, ids=np.asarray(arr["ids"]).astype(str), label=label.astype(np.int64),
        prob=np.asarray(arr["prob"], dtype=np.float64), onehot=onehot, hyp=hyp, attr=attr,
        chrom=None if "chrom" not in arr else np.asarray(arr["chrom"]).astype(str),
        start=None if start is None else np.asarray(start, dtype=np.int64),
        strand=None if "strand" not in arr else np.asarray(arr["strand"]).astype(str),
    )  # fmt: skip


def select_rows(
    maps: AttributionMaps, max_seqs: int | None = None, seed: int = 1
) -> np.ndarray:
    """The positive rows (``label == 1``) TF-MoDISco reads, a seeded subsample past ``max_seqs``.

    Parameters
    ----------
    maps : AttributionMaps
    max_seqs : int, optional
        Keep at most this many positives (a seeded random subset, in file order). Default is
        None (all).
    seed : int, optional
        Default is 1.

    Returns
    -------
    numpy.ndarray of int64
        Row indices into ``maps``, increasing.
    """
    rows = np.flatnonzero(maps.label == 1)
    if max_seqs is not None and rows.size > max_seqs:
        rng = np.random.default_rng(seed)
        rows = np.sort(rng.choice(rows, size=int(max_seqs), replace=False))
    return rows.astype(np.int64)
