"""The attribution file contract: ``results/attribution/{task}/{model}/seed{seed}/{method}.npz``.

Arrays (n windows of one length L; the last axis of 3-d arrays is A, C, G, T):

``ids`` (n,) str
    ``test:<row>``: the 0-based data row of the task's ``test.tsv.gz``.
``label`` (n,) int64; ``prob`` (n,) float32
    True label and the model's positive-class probability.
``onehot`` (n, L, 4) float32
    All-zero rows at N.
``hyp`` (n, L, 4) float32
    Hypothetical contributions to the positive-class log-odds (see :mod:`.saturation`, :mod:`.ig`).
``attr`` (n, L) float32
    ``(hyp * onehot).sum(-1)``.
``chrom`` (n,) str, ``start`` (n,) int64, ``strand`` (n,) str — only when the task has coordinates
    The window covers ``[start, start + L)`` on ``chrom`` (0-based); on ``+`` rows position ``j`` of
    the window is base ``start + j``, on ``-`` rows it is ``start + L - 1 - j`` (the sequence was
    reverse-complemented). Rows without coordinates hold ``"."`` and -1.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from dnalm import atomic
from dnalm.attribution.result import Attribution

__all__ = ["REQUIRED", "COORDS", "write_attribution", "read_attribution"]

REQUIRED = ("ids", "label", "prob", "onehot", "hyp", "attr")
COORDS = ("chrom", "start", "strand")


def write_attribution(
    path: str | Path,
    ids: Sequence[str],
    label: Sequence[int],
    result: Attribution,
    chrom: Sequence[str] | None = None,
    start: Sequence[int] | None = None,
    strand: Sequence[str] | None = None,
) -> Path:
    """Write one method's maps in the contract's layout, atomically (uncompressed npz).

    Parameters
    ----------
    path : str or pathlib.Path
    ids : sequence of str, length n
    label : sequence of int, length n
    result : Attribution
    chrom, start, strand : sequence, length n, optional
        Genomic coordinates of the windows (all three or none).

    Returns
    -------
    path : pathlib.Path
    """
    n, L, _ = result.hyp.shape
    arrays = {
        "ids": np.asarray(list(ids), dtype=str),
        "label": np.asarray(label, dtype=np.int64),
        "prob": np.asarray(result.prob, dtype=np.float32),
        "onehot": np.asarray(result.onehot, dtype=np.float32),
        "hyp": np.asarray(result.hyp, dtype=np.float32),
        "attr": np.asarray(result.attr, dtype=np.float32),
    }
    given = [x is not None for x in (chrom, start, strand)]
    if any(given):
        if not all(given):
            raise ValueError("`chrom`, `start` and `strand` must be given together")
        arrays["chrom"] = np.asarray(list(chrom), dtype=str)
        arrays["start"] = np.asarray(start, dtype=np.int64)
        arrays["strand"] = np.asarray(list(strand), dtype=str)
    _check(arrays, str(path))
    with atomic.atomic_path(path) as tmp, open(tmp, "wb") as fh:
        np.savez(fh, **arrays)
    return Path(path)


def _check(a: dict[str, np.ndarray], where: str) -> None:
    missing = [k for k in REQUIRED if k not in a]
    if missing:
        raise ValueError(f"{where}: missing array(s) {missing}; expected {list(REQUIRED)}")
    hyp = a["hyp"]
    if hyp.ndim != 3 or hyp.shape[2] != 4:
        raise ValueError(f"{where}: hyp has shape {hyp.shape}, expected (n, L, 4)")
    n, L = hyp.shape[:2]
    want = {"ids": (n,), "label": (n,), "prob": (n,), "onehot": (n, L, 4), "attr": (n, L)}
    want.update({c: (n,) for c in COORDS if c in a})
    for name, shape in want.items():
        if a[name].shape != shape:
            raise ValueError(f"{where}: {name} has shape {a[name].shape}, expected {shape}")
    present = [c for c in COORDS if c in a]
    if present and len(present) != len(COORDS):
        raise ValueError(f"{where}: has {present} but not all of {list(COORDS)}")


def read_attribution(path: str | Path) -> dict[str, np.ndarray]:
    """Read and check a contract npz.

    Returns
    -------
    dict
        The arrays by name (see the module docstring).

    Raises
    ------
    ValueError
        Naming ``path`` when the file is missing or an array is absent or has the wrong shape.
    """
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{path}: attribution file not found")
    with np.load(path, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    _check(arrays, str(path))
    return arrays
