"""The corpus shard file contract: names, layout, memory-mapped reading.

A shard is one chromosome of a genome's corpus (``results/corpus/{genome}/shards/``):

- ``{chrom}.seq.npy``: uint8 base codes (A=0, T=1, C=2, G=3; never N), shape=(n_bp,), all
  pieces concatenated (coverage pass by pass, each pass in genome order);
- ``{chrom}.idx.npy``: int64, shape=(n_pieces, 3) = (offset into seq, length, split), split
  0 = train, 1 = validation;
- ``{chrom}.meta.json``: build parameters and base accounting (read by
  :func:`dnalm.corpus.gather_stats`).

Shards do not depend on k: tokens are made on the fly with :func:`dnalm.kmers.codes_to_ids`.
Everything that names or opens these files goes through this module.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np

__all__ = [
    "SPLITS",
    "Shard",
    "open_shard",
    "iter_pieces",
    "find_shards",
    "shard_files",
    "idx_path",
    "meta_path",
]

#: Split names and their code in column 2 of ``{chrom}.idx.npy``.
SPLITS = {"train": 0, "val": 1, "validation": 1}

SEQ_SUFFIX = ".seq.npy"
IDX_SUFFIX = ".idx.npy"
META_SUFFIX = ".meta.json"


class Shard(NamedTuple):
    """A memory-mapped corpus shard.

    Attributes
    ----------
    seq : numpy.ndarray, shape=(n_bp,), dtype=uint8
        Base codes of all pieces, read-only memory map.
    idx : numpy.ndarray, shape=(n_pieces, 3), dtype=int64
        (offset, length, split) per piece, read-only memory map.
    """

    seq: np.ndarray
    idx: np.ndarray


def _sibling(seq_path: str | Path, suffix: str) -> Path:
    seq_path = Path(seq_path)
    if not seq_path.name.endswith(SEQ_SUFFIX):
        raise ValueError(f"{seq_path}: a shard sequence file must end with {SEQ_SUFFIX}")
    return seq_path.with_name(seq_path.name[: -len(SEQ_SUFFIX)] + suffix)


def idx_path(seq_path: str | Path) -> Path:
    """``{chrom}.idx.npy`` next to ``{chrom}.seq.npy``."""
    return _sibling(seq_path, IDX_SUFFIX)


def meta_path(seq_path: str | Path) -> Path:
    """``{chrom}.meta.json`` next to ``{chrom}.seq.npy``."""
    return _sibling(seq_path, META_SUFFIX)


def open_shard(seq_path: str | Path) -> Shard:
    """Memory-map ``{chrom}.seq.npy`` and its ``{chrom}.idx.npy``, checking the contract.

    Only the index is read in full (24 bytes per piece) to check that every piece lies inside
    ``seq`` and has split 0 or 1; the base codes stay on disk until sliced.

    Parameters
    ----------
    seq_path : str or Path
        A ``{chrom}.seq.npy`` file; ``{chrom}.idx.npy`` must sit next to it.

    Returns
    -------
    Shard
        ``seq`` uint8 shape=(n_bp,) and ``idx`` int64 shape=(n_pieces, 3), both read-only maps.

    Raises
    ------
    ValueError
        Naming the file, when either is missing, has the wrong dtype or shape, or a piece
        lies outside ``seq`` or has a split other than 0/1.
    """
    seq_path = Path(seq_path)
    ipath = idx_path(seq_path)
    for path in (seq_path, ipath):
        if not path.is_file():
            raise ValueError(f"{path}: shard file not found")
    seq = np.load(seq_path, mmap_mode="r")
    idx = np.load(ipath, mmap_mode="r")
    if seq.dtype != np.uint8 or seq.ndim != 1:
        raise ValueError(f"{seq_path}: expected a 1-D uint8 array, got {seq.dtype} {seq.shape}")
    if idx.dtype != np.int64 or idx.ndim != 2 or idx.shape[1] != 3:
        raise ValueError(f"{ipath}: expected int64 of shape (n, 3), got {idx.dtype} {idx.shape}")
    if idx.shape[0]:
        rows = np.asarray(idx)
        off, n, split = rows[:, 0], rows[:, 1], rows[:, 2]
        bad = np.flatnonzero((off < 0) | (n < 1) | (off + n > seq.shape[0]))
        if bad.size:
            raise ValueError(
                f"{ipath}: row {bad[0]} {rows[bad[0]].tolist()} lies outside "
                f"{seq_path.name} ({seq.shape[0]} bases)"
            )
        bad = np.flatnonzero((split != 0) & (split != 1))
        if bad.size:
            raise ValueError(f"{ipath}: row {bad[0]} has split {split[bad[0]]}, expected 0 or 1")
    return Shard(seq, idx)


def _split_code(split: int | str | None) -> int | None:
    if isinstance(split, str):
        if split not in SPLITS:
            raise ValueError(f"`split` must be one of {sorted(SPLITS)} or 0/1, got {split!r}")
        return SPLITS[split]
    if split is None or (isinstance(split, int | np.integer) and split in (0, 1)):
        return None if split is None else int(split)
    raise ValueError(f"`split` must be None, 0 or 1, got {split!r}")


def iter_pieces(shard: Shard, split: int | str | None = None) -> Iterator[np.ndarray]:
    """Yield each piece's base codes in stored order.

    Parameters
    ----------
    shard : Shard
        From :func:`open_shard`.
    split : int, str or None, optional
        0/"train" or 1/"val" for one split. Default is None (all pieces).

    Yields
    ------
    numpy.ndarray, shape=(length,), dtype=uint8
        A view into ``shard.seq``.
    """
    code = _split_code(split)
    for off, n, s in np.asarray(shard.idx):
        if code is None or s == code:
            yield shard.seq[off : off + n]


def find_shards(shards: str | Path | Sequence[str | Path]) -> list[Path]:
    """The ``{chrom}.seq.npy`` files of a corpus, sorted by name.

    Parameters
    ----------
    shards : str, Path or sequence of them
        A shard directory (globbed for ``*.seq.npy``), one ``.seq.npy`` file or a list of them.

    Returns
    -------
    list of Path
    """
    if isinstance(shards, str | Path):
        p = Path(shards)
        if p.is_dir():
            paths = sorted(p.glob(f"*{SEQ_SUFFIX}"))
            if not paths:
                raise ValueError(f"{p}: no *{SEQ_SUFFIX} corpus shards in directory")
            return paths
        shards = [p]
    paths = sorted(Path(s) for s in shards)
    if not paths:
        raise ValueError("`shards` is empty")
    for p in paths:
        if not p.name.endswith(SEQ_SUFFIX):
            raise ValueError(f"{p}: corpus shard names end with {SEQ_SUFFIX}")
    return paths


def shard_files(chrom_sizes: str | Path, shard_dir: str | Path, val_contigs: Sequence[str] = (),
                where: str = "val_contigs") -> list[str]:
    """The shard files (``.seq.npy``, ``.idx.npy``, ``.meta.json``) of every chromosome.

    Parameters
    ----------
    chrom_sizes : str or Path
        Tab-separated ``name<TAB>length`` lines (the genome checkpoint's ``chrom.sizes``).
    shard_dir : str or Path
        Directory of the shards, e.g. ``results/corpus/{genome}/shards``.
    val_contigs : sequence of str, optional
        Held-out validation contigs (``genomes.<g>.val_contigs``): each must be listed in
        ``chrom_sizes`` and at least one other contig must be. Default is none.
    where : str, optional
        The config path named in errors about ``val_contigs``.

    Returns
    -------
    paths : list of str
        Three paths per chromosome, in ``chrom.sizes`` order.

    Raises
    ------
    ValueError
        A bad line, no chromosome, a validation contig not in ``chrom_sizes``, or no contig left
        to train on.
    """
    chroms = []
    with open(chrom_sizes) as fh:
        for i, line in enumerate(fh, 1):
            if not line.strip():
                continue
            name = line.split("\t")[0].strip()
            if not name or "/" in name:
                raise ValueError(f"{chrom_sizes}:{i}: bad chromosome name {name!r}")
            chroms.append(name)
    if not chroms:
        raise ValueError(f"{chrom_sizes}: no chromosomes listed")
    missing = [c for c in val_contigs if c not in chroms]
    if missing:
        raise ValueError(f"{where}: {', '.join(map(repr, missing))} not among the prepared contigs "
                         f"({chrom_sizes}: {', '.join(chroms[:30])}{' ...' if len(chroms) > 30 else ''})")
    if val_contigs and set(chroms) <= set(val_contigs):
        raise ValueError(f"{where}: every contig of {chrom_sizes} is held out; nothing is left to "
                         "pretrain on")
    d = Path(shard_dir)
    return [str(d / f"{c}{ext}") for c in chroms for ext in (SEQ_SUFFIX, IDX_SUFFIX, META_SUFFIX)]
