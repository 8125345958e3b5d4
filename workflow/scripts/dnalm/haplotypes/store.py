"""The haplotype matrix contract: :class:`Haplotypes` and its ``.npz`` file (one home).

A haplotype set is an ``(n_haplotypes, n_sites)`` int8 matrix of alleles (0 = REF, 1 = ALT) over
biallelic SNPs of one contig, with the sites' 1-based positions and REF/ALT bases. Haplotype
``2 i + c`` is copy ``c`` (0 = left of ``|``, 1 = right) of sample ``samples[i]``.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np

from dnalm import atomic

__all__ = ["Haplotypes", "load_haplotypes", "save_haplotypes"]


@dataclasses.dataclass
class Haplotypes:
    """Phased haplotypes of a region.

    Attributes
    ----------
    matrix : numpy.ndarray, shape=(n_haplotypes, n_sites), dtype=int8
        Alleles, 0 = REF, 1 = ALT.
    positions : numpy.ndarray, shape=(n_sites,), dtype=int64
        1-based VCF positions, strictly increasing.
    contig : str
    ref, alt : numpy.ndarray, shape=(n_sites,), dtype='<U1'
        REF and ALT bases.
    samples : list of str
        Sample names; ``n_haplotypes == 2 * len(samples)``.
    skipped : dict
        Records skipped while reading, by reason (``multiallelic``, ``not_snp``, ``low_maf``, ...).
    """

    matrix: np.ndarray
    positions: np.ndarray
    contig: str
    ref: np.ndarray
    alt: np.ndarray
    samples: list[str]
    skipped: dict[str, int] = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        self.matrix = np.ascontiguousarray(self.matrix, dtype=np.int8)
        self.positions = np.asarray(self.positions, dtype=np.int64)
        self.ref = np.asarray(self.ref, dtype="<U1")
        self.alt = np.asarray(self.alt, dtype="<U1")
        self.samples = [str(s) for s in self.samples]
        n_hap, n_sites = self.matrix.shape if self.matrix.ndim == 2 else (-1, -1)
        if self.matrix.ndim != 2:
            raise ValueError(
                f"`matrix` must be 2-D (n_haplotypes, n_sites), got shape {self.matrix.shape}"
            )
        for name in ("positions", "ref", "alt"):
            if getattr(self, name).shape != (n_sites,):
                raise ValueError(
                    f"`{name}` must have shape ({n_sites},), got {getattr(self, name).shape}"
                )
        if n_hap != 2 * len(self.samples):
            raise ValueError(
                f"{n_hap} haplotypes need {n_hap / 2:g} samples, got {len(self.samples)}"
            )
        if self.matrix.size and not np.isin(self.matrix, (0, 1)).all():
            raise ValueError("`matrix` must hold only 0 (REF) and 1 (ALT)")
        if n_sites > 1 and not (np.diff(self.positions) > 0).all():
            raise ValueError("`positions` must be strictly increasing")

    @property
    def n_haplotypes(self) -> int:
        return int(self.matrix.shape[0])

    @property
    def n_sites(self) -> int:
        return int(self.matrix.shape[1])

    def subset(self, samples: np.ndarray) -> Haplotypes:
        """The haplotypes of the samples at indices ``samples`` (both copies of each), in that order."""
        idx = np.asarray(samples, dtype=np.int64)
        rows = np.stack([2 * idx, 2 * idx + 1], axis=1).ravel()
        return dataclasses.replace(
            self,
            matrix=self.matrix[rows],
            samples=[self.samples[i] for i in idx],
            skipped=dict(self.skipped),
        )


def save_haplotypes(hap: Haplotypes, path: str | Path) -> Path:
    """Write ``hap`` to an ``.npz`` file atomically (read back with :func:`load_haplotypes`)."""
    path = Path(path)
    with atomic.atomic_path(path) as tmp, open(tmp, "wb") as fh:
        np.savez_compressed(
            fh,
            matrix=hap.matrix,
            positions=hap.positions,
            ref=hap.ref,
            alt=hap.alt,
            samples=np.asarray(hap.samples, dtype=str),
            meta=np.asarray(
                json.dumps({"contig": hap.contig, "skipped": hap.skipped}, sort_keys=True)
            ),
        )
    return path


def load_haplotypes(path: str | Path) -> Haplotypes:
    """Read a file written by :func:`save_haplotypes`."""
    with np.load(path, allow_pickle=False) as z:
        meta = json.loads(str(z["meta"]))
        return Haplotypes(
            matrix=z["matrix"],
            positions=z["positions"],
            contig=meta["contig"],
            ref=z["ref"],
            alt=z["alt"],
            samples=list(z["samples"]),
            skipped=meta["skipped"],
        )
