"""Rule step: train the generator on the training haplotypes, draw artificial haplotypes from it
and from the two controls, and write them (``.npz`` for evaluation, the model's as a VCF)."""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

import numpy as np

from dnalm import atomic
from dnalm.haplotypes.controls import Sampler, copy_training_sampler, independent_sites_sampler
from dnalm.haplotypes.generate import generate_haplotypes
from dnalm.haplotypes.markov import markov_sampler
from dnalm.haplotypes.store import load_haplotypes
from dnalm.haplotypes.write_vcf import write_haplotype_vcf

__all__ = ["CONTROLS", "load_artificial", "make_artificial"]

log = logging.getLogger(__name__)
#: Control samplers drawn beside every model, in report order.
CONTROLS = ("independent_sites", "copy_training")


def _model(kind: str, train: np.ndarray, order: int) -> tuple[str, Sampler, str]:
    if kind == "markov":
        return (
            f"markov{order}",
            markov_sampler(train, order=order),
            f"order-{order} Markov chain over alleles (model stand-in, not a language model)",
        )
    raise ValueError(f"unknown haplotype generator {kind!r}; known: markov")


def make_artificial(
    train_npz: str | Path,
    npz_out: str | Path,
    vcf_out: str | Path,
    json_out: str | Path,
    model: str = "markov",
    order: int = 8,
    n: int | None = None,
    seed: int = 1,
) -> dict:
    """Draw ``n`` artificial haplotypes from the model and from each control.

    Parameters
    ----------
    train_npz : str or os.PathLike
        Training haplotypes (:func:`dnalm.haplotypes.save_haplotypes`).
    npz_out : str or os.PathLike
        Every sampler's matrix (read with :func:`load_artificial`), model first.
    vcf_out : str or os.PathLike
        The model's haplotypes as a phased VCF, two per artificial sample ``AG<i>`` (+ ``.tbi``).
    json_out : str or os.PathLike
        What was drawn: sampler names and descriptions, counts, seed.
    model : {"markov"}, optional
        Generator. Default is ``"markov"``.
    order : int, optional
        Markov order. Default is 8.
    n : int, optional
        Haplotypes per sampler, rounded up to even. Default is the number of training haplotypes.
    seed : int, optional
        Default is 1.

    Returns
    -------
    info : dict
        The contents of ``json_out``.
    """
    train = load_haplotypes(train_npz)
    n = int(n or train.n_haplotypes)
    n += n % 2
    name, sampler, description = _model(model, train.matrix, order)
    samplers: dict[str, tuple[Sampler, str]] = {
        name: (sampler, description),
        "independent_sites": (independent_sites_sampler(train.matrix), "each site drawn from its training ALT frequency (control)"),
        "copy_training": (copy_training_sampler(train.matrix), "training haplotypes copied (memorisation control)"),
    }  # fmt: skip
    mats = {
        s: generate_haplotypes(f, n, train.n_sites, seed=seed + k)
        for k, (s, (f, _)) in enumerate(samplers.items())
    }
    with atomic.atomic_path(npz_out) as tmp, open(tmp, "wb") as fh:
        np.savez_compressed(
            fh, samplers=np.asarray(list(mats)), **{f"m_{s}": m for s, m in mats.items()}
        )
    art = dataclasses.replace(
        train, matrix=mats[name], samples=[f"AG{i + 1}" for i in range(n // 2)], skipped={}
    )
    write_haplotype_vcf(
        art, vcf_out, source=f"dnalm.haplotypes {name}", meta={"dnalm_generator": description}
    )
    info = {
        "model": name,
        "samplers": {s: d for s, (_, d) in samplers.items()},
        "n_per_sampler": n,
        "n_train": train.n_haplotypes,
        "n_sites": train.n_sites,
        "seed": seed,
        "gpt": "not wired: no GPT fine-tuning/sampling API for token sequences yet; the Markov chain stands in",
    }
    atomic.write_json(json_out, info)
    log.info("drew %d haplotypes from each of %s", n, ", ".join(mats))
    return info


def load_artificial(path: str | Path) -> dict[str, np.ndarray]:
    """``{sampler: (n, n_sites) int8}`` from a :func:`make_artificial` ``.npz``, model first."""
    with np.load(path, allow_pickle=False) as z:
        return {str(s): z[f"m_{s}"].astype(np.int8) for s in z["samplers"]}
