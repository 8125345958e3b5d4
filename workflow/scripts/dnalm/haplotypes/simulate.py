"""Demo haplotypes: a coalescent simulation (msprime) with population structure, recombination
and mutation, so allele frequencies differ between demes and linkage disequilibrium is real."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from dnalm.haplotypes.store import Haplotypes
from dnalm.haplotypes.write_vcf import write_haplotype_vcf

__all__ = ["simulate_haplotypes"]

log = logging.getLogger(__name__)


def _demography(n_demes: int, ne: float, split_generations: float, migration_rate: float):
    import msprime

    dem = msprime.Demography()
    names = [f"pop{i}" for i in range(n_demes)]
    for name in names:
        dem.add_population(name=name, initial_size=ne)
    dem.add_population(name="ancestral", initial_size=ne)
    dem.add_population_split(time=split_generations, derived=names, ancestral="ancestral")
    if n_demes > 1 and migration_rate > 0:
        dem.set_symmetric_migration_rate(names, migration_rate)
    return dem, names


def simulate_haplotypes(
    seed: int = 1,
    n_demes: int = 3,
    samples_per_deme: int = 100,
    ne: float = 10_000,
    split_generations: float = 2_000,
    migration_rate: float = 1e-4,
    length: int = 500_000,
    recombination_rate: float = 2e-8,
    mutation_rate: float = 1.25e-8,
    min_maf: float = 0.05,
    max_sites: int | None = 300,
    contig: str = "sim1",
    vcf_path: str | Path | None = None,
) -> Haplotypes:
    """Simulate phased diploid samples from ``n_demes`` demes and keep biallelic SNPs.

    The demes split from one ancestral population ``split_generations`` ago and exchange
    migrants at ``migration_rate`` (per generation, each direction) since then. Ancestry and
    mutations use seeds drawn from ``seed``: same arguments, same haplotypes and same VCF bytes.
    Sites with more than two alleles (recurrent mutations on the discrete genome) and sites with
    minor-allele frequency below ``min_maf`` are dropped; then ``max_sites`` evenly spaced sites
    (by index) are kept, so the region's whole length, and LD decay over it, is represented.

    Parameters
    ----------
    seed : int, optional
        Default is 1.
    n_demes : int, optional
        Default is 3.
    samples_per_deme : int, optional
        Diploid samples per deme (2 haplotypes each). Default is 100.
    ne : float, optional
        Effective size of every deme and of the ancestor. Default is 10,000.
    split_generations : float, optional
        Default is 2,000.
    migration_rate : float, optional
        Default is 1e-4.
    length : int, optional
        Region length in bp. Default is 500,000.
    recombination_rate, mutation_rate : float, optional
        Per bp per generation. Defaults are 2e-8 (twice the human average, so a short region
        holds more haplotype diversity) and 1.25e-8.
    min_maf : float, optional
        Default is 0.05.
    max_sites : int or None, optional
        Default is 300; None keeps all.
    contig : str, optional
        Default is ``"sim1"``.
    vcf_path : str or os.PathLike, optional
        When given, also write the phased VCF (+ ``.tbi``) there. Default is None.

    Returns
    -------
    hap : Haplotypes
        Samples are named ``pop<d>_<i>``, deme by deme.
    """
    import msprime

    if n_demes < 1 or samples_per_deme < 1:
        raise ValueError(
            f"`n_demes` and `samples_per_deme` must be >= 1, got {n_demes}, {samples_per_deme}"
        )
    if not 0 <= min_maf < 0.5:
        raise ValueError(f"`min_maf` must be in [0, 0.5), got {min_maf}")
    seeds = np.random.default_rng(seed).integers(1, 2**31 - 1, size=2)
    dem, names = _demography(n_demes, ne, split_generations, migration_rate)
    ts = msprime.sim_ancestry(
        samples={name: samples_per_deme for name in names},
        demography=dem,
        sequence_length=length,
        recombination_rate=recombination_rate,
        ploidy=2,
        random_seed=int(seeds[0]),
    )
    ts = msprime.sim_mutations(
        ts, rate=mutation_rate, random_seed=int(seeds[1]), model=msprime.JC69()
    )
    n_hap = ts.num_samples
    cols, pos, ref, alt = [], [], [], []
    skipped = {"multiallelic": 0, "low_maf": 0}
    for var in ts.variants():
        alleles = [a for a in var.alleles if a is not None]
        if len(alleles) != 2:
            skipped["multiallelic"] += 1
            continue
        g = var.genotypes
        af = float(g.mean())
        if min(af, 1 - af) < min_maf or af in (0.0, 1.0):
            skipped["low_maf"] += 1
            continue
        cols.append(g.astype(np.int8))
        pos.append(int(var.site.position) + 1)  # VCF is 1-based
        ref.append(alleles[0])
        alt.append(alleles[1])
    if max_sites is not None and len(cols) > max_sites:  # evenly spaced over the region
        keep = np.unique(np.linspace(0, len(cols) - 1, max_sites).round().astype(np.int64))
        skipped["thinned"] = len(cols) - keep.size
        cols, pos, ref, alt = ([x[i] for i in keep] for x in (cols, pos, ref, alt))
    matrix = np.stack(cols, axis=1) if cols else np.zeros((n_hap, 0), dtype=np.int8)
    # ts sample nodes are ordered deme by deme, two consecutive nodes per individual.
    samples = [
        f"{names[ts.node(ts.individual(i).nodes[0]).population]}_{i}"
        for i in range(ts.num_individuals)
    ]
    hap = Haplotypes(matrix, np.asarray(pos, dtype=np.int64), contig, np.asarray(ref, dtype="<U1"),
                     np.asarray(alt, dtype="<U1"), samples, skipped)  # fmt: skip
    log.info(
        "simulated %d haplotypes x %d SNPs (%s skipped)", hap.n_haplotypes, hap.n_sites, skipped
    )
    if vcf_path is not None:
        params = dict(seed=seed, n_demes=n_demes, samples_per_deme=samples_per_deme, ne=ne,
                      split_generations=split_generations, migration_rate=migration_rate, length=length,
                      recombination_rate=recombination_rate, mutation_rate=mutation_rate, min_maf=min_maf,
                      max_sites=max_sites)  # fmt: skip
        meta = {
            "dnalm_simulation": "msprime "
            + msprime.__version__
            + " "
            + ",".join(f"{k}={v}" for k, v in params.items())
        }
        write_haplotype_vcf(
            hap, vcf_path, contig_length=length + 1, source="dnalm.haplotypes.simulate", meta=meta
        )
    return hap
