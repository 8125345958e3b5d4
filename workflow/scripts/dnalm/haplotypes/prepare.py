"""Rule step: read the real haplotypes of a region and split them into training and held-out."""

from __future__ import annotations

import logging
from pathlib import Path

from dnalm.haplotypes.read_vcf import read_haplotypes
from dnalm.haplotypes.split import split_haplotypes
from dnalm.haplotypes.store import save_haplotypes

__all__ = ["prepare_haplotypes"]

log = logging.getLogger(__name__)


def prepare_haplotypes(
    vcf: str | Path,
    train_out: str | Path,
    held_out_out: str | Path,
    region: str | None = None,
    min_maf: float = 0.0,
    max_sites: int | None = None,
    held_out_fraction: float = 0.2,
    seed: int = 1,
) -> tuple[int, int, int]:
    """Read ``region`` of a phased VCF (:func:`read_haplotypes`), split it by sample
    (:func:`split_haplotypes`) and write both sets (:func:`save_haplotypes`).

    Returns
    -------
    n_train, n_held_out, n_sites : int
        Haplotype and site counts.
    """
    hap = read_haplotypes(vcf, region=region, min_maf=min_maf, max_sites=max_sites)
    if hap.n_sites < 2:
        where = f"{vcf}" + (f" region {region}" if region else "")
        raise ValueError(
            f"{where}: {hap.n_sites} usable SNPs (skipped: {hap.skipped}); need at least 2"
        )
    train, held = split_haplotypes(hap, held_out_fraction, seed)
    save_haplotypes(train, train_out)
    save_haplotypes(held, held_out_out)
    log.info(
        "split %d samples: %d train, %d held out",
        len(hap.samples),
        len(train.samples),
        len(held.samples),
    )
    return train.n_haplotypes, held.n_haplotypes, hap.n_sites
