"""Artificial genomes: phased haplotypes of a SNP region, a generator, and its evaluation.

One verb per module:

- :mod:`~dnalm.haplotypes.store` - the :class:`Haplotypes` matrix and its ``.npz`` (the contract);
- :mod:`~dnalm.haplotypes.simulate` - demo haplotypes from msprime (demes, migration,
  recombination, mutation); :mod:`~dnalm.haplotypes.write_vcf` - phased bgzipped VCF + ``.tbi``;
- :mod:`~dnalm.haplotypes.read_vcf` - a phased VCF region to a matrix (errors name file:line);
- :mod:`~dnalm.haplotypes.split` - train / held-out split by sample;
- :mod:`~dnalm.haplotypes.tokens` - haplotypes as DNA strings for a language model and back;
- :mod:`~dnalm.haplotypes.controls`, :mod:`~dnalm.haplotypes.markov` - samplers
  ``(n, rng) -> (n, n_sites) int8``: independent sites, copy of training, order-k Markov chain
  (a baseline model); :mod:`~dnalm.haplotypes.text_sampler` - any text generator as a sampler;
- :mod:`~dnalm.haplotypes.gpt_tokens` - haplotypes as DNAGPT token rows (``<R>`` + 6-mers) and
  back; :mod:`~dnalm.haplotypes.gpt_generator` - a GPT fine-tuned on them and its sampler
  (these and :mod:`~dnalm.haplotypes.gpt_artificial` import torch, so they are not re-exported);
- :mod:`~dnalm.haplotypes.generate` - draw from a sampler, checked;
- :mod:`~dnalm.haplotypes.compare` - AF / LD correlation, PCA overlap, distances;
  :mod:`~dnalm.haplotypes.evaluate` - metrics.tsv with bootstrap CIs, summary.json, figures
  (:mod:`~dnalm.haplotypes.plots`);
- :mod:`~dnalm.haplotypes.prepare`, :mod:`~dnalm.haplotypes.gpt_artificial`,
  :mod:`~dnalm.haplotypes.artificial` - the rule steps.
"""

from dnalm.haplotypes.artificial import CONTROLS, GENERATORS, load_artificial, make_artificial
from dnalm.haplotypes.compare import (
    af_correlation,
    allele_frequencies,
    hamming,
    ld_correlation,
    ld_pairs_r2,
    nearest_distance,
    nn_adversarial_accuracy,
    pca_fit_project,
    pearson,
)
from dnalm.haplotypes.controls import Sampler, copy_training_sampler, independent_sites_sampler
from dnalm.haplotypes.evaluate import evaluate_haplotype_files, evaluate_haplotypes, evaluate_sets
from dnalm.haplotypes.generate import generate_haplotypes
from dnalm.haplotypes.markov import markov_sampler
from dnalm.haplotypes.prepare import prepare_haplotypes
from dnalm.haplotypes.read_vcf import read_haplotypes
from dnalm.haplotypes.simulate import simulate_haplotypes
from dnalm.haplotypes.split import split_haplotypes
from dnalm.haplotypes.store import Haplotypes, load_haplotypes, save_haplotypes
from dnalm.haplotypes.text_sampler import TextSampler, text_sampler
from dnalm.haplotypes.tokens import DecodedHaplotypes, decode_haplotypes, encode_haplotypes
from dnalm.haplotypes.write_vcf import write_haplotype_vcf

__all__ = [
    "CONTROLS",
    "GENERATORS",
    "DecodedHaplotypes",
    "Haplotypes",
    "Sampler",
    "TextSampler",
    "af_correlation",
    "allele_frequencies",
    "copy_training_sampler",
    "decode_haplotypes",
    "encode_haplotypes",
    "evaluate_haplotype_files",
    "evaluate_haplotypes",
    "evaluate_sets",
    "generate_haplotypes",
    "hamming",
    "independent_sites_sampler",
    "ld_correlation",
    "ld_pairs_r2",
    "load_artificial",
    "load_haplotypes",
    "make_artificial",
    "markov_sampler",
    "nearest_distance",
    "nn_adversarial_accuracy",
    "pca_fit_project",
    "pearson",
    "prepare_haplotypes",
    "read_haplotypes",
    "save_haplotypes",
    "simulate_haplotypes",
    "split_haplotypes",
    "text_sampler",
    "write_haplotype_vcf",
]
