"""Random background windows: the genome minus regions to avoid, and N-free draws from the rest.

Regions to avoid (peaks, promoters) are padded, merged and complemented with pybedtools
(:func:`allowed_regions`); :func:`sample_windows` draws windows wholly inside what is left.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np

from dnalm.fasta import Genome

__all__ = ["allowed_regions", "sample_windows"]


def allowed_regions(
    sizes: dict[str, int],
    exclude: Iterable[tuple[str, int, int]],
    margin: int = 0,
) -> list[tuple[str, int, int]]:
    """Genome minus the (padded, merged) ``exclude`` intervals, as BED-like tuples.

    Parameters
    ----------
    sizes : dict of contig -> length
    exclude : iterable of (contig, start, end), 0-based half-open
        Intervals on contigs missing from ``sizes`` are ignored.
    margin : int, optional
        bp added on both sides of each excluded interval. Default is 0.

    Returns
    -------
    regions : list of (contig, start, end)
    """
    import pybedtools

    excl = [(c, max(0, s - margin), min(sizes[c], e + margin)) for c, s, e in exclude if c in sizes]
    excl = [x for x in excl if x[1] < x[2]]
    if not excl:
        return [(c, 0, n) for c, n in sizes.items() if n > 0]
    with tempfile.TemporaryDirectory(prefix="dnalm_bed_") as tmp:
        gfile = Path(tmp) / "genome.txt"
        gfile.write_text("".join(f"{c}\t{n}\n" for c, n in sizes.items()))
        try:
            bt = pybedtools.BedTool(excl).sort(g=str(gfile)).merge()
            comp = bt.complement(g=str(gfile))
            out = [(iv.chrom, int(iv.start), int(iv.end)) for iv in comp]
        finally:
            pybedtools.helpers.cleanup(remove_all=False)  # this process's BedTool temp files
    return out


def sample_windows(
    genome: Genome,
    regions: list[tuple[str, int, int]],
    length: int,
    rng: np.random.Generator,
    batch: int = 1024,
    stranded: bool = True,
    max_draws: int = 1_000_000,
) -> Iterator[tuple[str, int, int, str, str]]:
    """Stream of random N-free windows lying wholly inside ``regions``.

    Parameters
    ----------
    genome : Genome
    regions : list of (contig, start, end)
        Allowed regions (from :func:`allowed_regions`).
    length : int
        Window length in bp.
    rng : numpy.random.Generator
    batch : int, optional
        Positions drawn per vectorised step. Default is 1024.
    stranded : bool, optional
        Draw the strand at random (minus windows reverse-complemented). Default is True.
    max_draws : int, optional
        Stop after this many draws. Default is 1,000,000.

    Yields
    ------
    (contig, start, end, strand, sequence)
        Sequence is uppercase, without N.

    Raises
    ------
    ValueError
        When no region is at least ``length`` bp long.
    """
    regs = [(c, s, e) for c, s, e in regions if e - s >= length]
    if not regs:
        raise ValueError(f"no allowed region is at least {length} bp long")
    n_starts = np.array([e - s - length + 1 for _, s, e in regs], dtype=np.float64)
    p = n_starts / n_starts.sum()
    draws = 0
    while draws < max_draws:
        idx = rng.choice(len(regs), size=batch, p=p)
        offs = np.floor(rng.random(batch) * n_starts[idx]).astype(np.int64)
        minus = rng.random(batch) < 0.5
        for i, off, m in zip(idx, offs, minus, strict=True):
            draws += 1
            c, s, _ = regs[int(i)]
            start = s + int(off)
            strand = "-" if (m and stranded) else "+"
            seq = genome.fetch(c, start, start + length, strand)
            if "N" in seq:
                continue
            yield c, start, start + length, strand, seq
