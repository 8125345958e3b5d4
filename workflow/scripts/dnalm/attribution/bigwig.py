"""Attribution tracks: the mean ``attr`` of every genomic base covered by a window, as a bigWig."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np

from dnalm import atomic

__all__ = ["write_bigwig", "read_fai"]


def read_fai(path: str | Path) -> dict[str, int]:
    """Contig sizes from a FASTA ``.fai`` index, in file order."""
    sizes: dict[str, int] = {}
    with open(path) as fh:
        for ln, line in enumerate(fh, 1):
            f = line.rstrip("\n").split("\t")
            if len(f) < 2 or not f[1].isdigit():
                raise ValueError(f"{path}:{ln}: not a .fai line (name<TAB>length...)")
            sizes[f[0]] = int(f[1])
    return sizes


def write_bigwig(path: str | Path, arrays: Mapping[str, np.ndarray],
                 chrom_sizes: Mapping[str, int]) -> dict[str, int]:
    """Write the per-base mean attribution over all windows with coordinates.

    Parameters
    ----------
    path : str or pathlib.Path
    arrays : mapping
        A contract npz (:func:`dnalm.attribution.npz.read_attribution`) with ``chrom``,
        ``start`` and ``strand``; ``-`` rows are reversed onto the genome.
    chrom_sizes : mapping of str to int
        The genome's contigs (header order).

    Returns
    -------
    dict
        ``n_windows`` placed and ``n_bases`` written. A file without coordinates gives a
        header-only bigWig.

    Raises
    ------
    ValueError
        When a window lies on an unknown contig or past its end.
    """
    import pyBigWig

    attr = np.asarray(arrays["attr"], dtype=np.float64)
    n, L = attr.shape
    pos: dict[str, list[np.ndarray]] = {}
    val: dict[str, list[np.ndarray]] = {}
    placed = 0
    if "chrom" in arrays:
        for i in range(n):
            c, s = str(arrays["chrom"][i]), int(arrays["start"][i])
            if c == "." or s < 0:
                continue
            if c not in chrom_sizes:
                raise ValueError(f"row {arrays['ids'][i]}: contig {c!r} is not in the genome index")
            if s + L > chrom_sizes[c]:
                raise ValueError(f"row {arrays['ids'][i]}: window {c}:{s}-{s + L} passes the "
                                 f"contig end ({chrom_sizes[c]})")
            pos.setdefault(c, []).append(np.arange(s, s + L))
            val.setdefault(c, []).append(attr[i, ::-1] if str(arrays["strand"][i]) == "-" else attr[i])
            placed += 1
    n_bases = 0
    with atomic.atomic_path(path) as tmp:
        bw = pyBigWig.open(str(tmp), "w")
        try:
            bw.addHeader([(c, int(size)) for c, size in chrom_sizes.items()], maxZooms=10)
            for c in chrom_sizes:  # entries must follow the header's contig order
                if c not in pos:
                    continue
                where, inv = np.unique(np.concatenate(pos[c]), return_inverse=True)
                mean = np.bincount(inv, weights=np.concatenate(val[c])) / np.bincount(inv)
                bw.addEntries([c] * len(where), where.tolist(), ends=(where + 1).tolist(),
                              values=mean.tolist())
                n_bases += len(where)
        finally:
            bw.close()
    return {"n_windows": placed, "n_bases": n_bases}
