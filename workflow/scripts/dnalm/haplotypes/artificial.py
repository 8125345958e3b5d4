"""Rule step: train the generators on the training haplotypes (the GPT comes trained and sampled
from rule haplotypes_gpt), draw artificial haplotypes from them and from the two controls, and
write them (``.npz`` for evaluation, the headline model's as a VCF)."""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from dnalm import atomic
from dnalm.haplotypes.controls import Sampler, copy_training_sampler, independent_sites_sampler
from dnalm.haplotypes.generate import generate_haplotypes
from dnalm.haplotypes.markov import markov_sampler
from dnalm.haplotypes.store import load_haplotypes
from dnalm.haplotypes.write_vcf import write_haplotype_vcf

__all__ = ["CONTROLS", "GENERATORS", "load_artificial", "make_artificial"]

log = logging.getLogger(__name__)
#: Control samplers drawn beside every model, in report order.
CONTROLS = ("independent_sites", "copy_training")
#: Models (``haplotypes.<name>.generators``).
GENERATORS = ("markov", "gpt")


def _markov(train: np.ndarray, order: int) -> tuple[str, Sampler, str]:
    return (
        f"markov{order}",
        markov_sampler(train, order=order),
        f"order-{order} Markov chain over alleles (a baseline model, not a language model)",
    )


def make_artificial(
    train_npz: str | Path,
    npz_out: str | Path,
    vcf_out: str | Path,
    json_out: str | Path,
    generators: Sequence[str] = ("markov",),
    order: int = 8,
    n: int | None = None,
    seed: int = 1,
    gpt_samples: str | Path | None = None,
    gpt_info: str | Path | None = None,
) -> dict:
    """Draw ``n`` artificial haplotypes from each model and from each control.

    Parameters
    ----------
    train_npz : str or os.PathLike
        Training haplotypes (:func:`dnalm.haplotypes.save_haplotypes`).
    npz_out : str or os.PathLike
        Every sampler's matrix (read with :func:`load_artificial`), models first.
    vcf_out : str or os.PathLike
        The first model's haplotypes as a phased VCF, two per artificial sample ``AG<i>``
        (+ ``.tbi``).
    json_out : str or os.PathLike
        What was drawn: sampler names and descriptions, counts, seed.
    generators : sequence of {"markov", "gpt"}, optional
        Models, the headline first. ``gpt`` is trained and sampled by rule haplotypes_gpt
        (:func:`dnalm.haplotypes.gpt_artificial.make_gpt_haplotypes`); its haplotypes are read
        from ``gpt_samples``. Default is ``("markov",)``.
    order : int, optional
        Markov order. Default is 8.
    n : int, optional
        Haplotypes per sampler, rounded up to even. Default is the number of training haplotypes.
    seed : int, optional
        Default is 1.
    gpt_samples, gpt_info : str or os.PathLike, optional
        The gpt generator's ``samples.npz`` and JSON record; required with ``gpt``.

    Returns
    -------
    info : dict
        The contents of ``json_out``.
    """
    train = load_haplotypes(train_npz)
    n = int(n or train.n_haplotypes)
    n += n % 2
    unknown = [g for g in generators if g not in GENERATORS]
    if unknown or not generators:
        raise ValueError(f"unknown haplotype generators {unknown or list(generators)}; known: {list(GENERATORS)}")
    samplers: dict[str, tuple[Sampler | np.ndarray, str]] = {}
    gpt: dict = {}
    for g in generators:
        if g == "markov":
            name_m, f, d = _markov(train.matrix, order)
            samplers[name_m] = (f, d)
        else:
            if gpt_samples is None or gpt_info is None:
                raise ValueError("generator gpt needs `gpt_samples` and `gpt_info` (rule haplotypes_gpt)")
            from dnalm.haplotypes.gpt_artificial import load_gpt_samples

            m = load_gpt_samples(gpt_samples)
            if m.shape != (n, train.n_sites):
                raise ValueError(f"{gpt_samples}: {m.shape} haplotypes, expected ({n}, {train.n_sites}) "
                                 "(rerun rule haplotypes_gpt)")
            gpt = json.loads(Path(gpt_info).read_text())
            samplers["gpt"] = (m, gpt["description"])
    samplers |= {
        "independent_sites": (independent_sites_sampler(train.matrix), "each site drawn from its training ALT frequency (control)"),
        "copy_training": (copy_training_sampler(train.matrix), "training haplotypes copied (memorisation control)"),
    }  # fmt: skip
    name, description = next(iter(samplers)), next(iter(samplers.values()))[1]
    mats = {
        s: f if isinstance(f, np.ndarray) else generate_haplotypes(f, n, train.n_sites, seed=seed + k)
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
        **({"gpt": gpt} if gpt else {}),
    }
    atomic.write_json(json_out, info)
    log.info("drew %d haplotypes from each of %s", n, ", ".join(mats))
    return info


def load_artificial(path: str | Path) -> dict[str, np.ndarray]:
    """``{sampler: (n, n_sites) int8}`` from a :func:`make_artificial` ``.npz``, model first."""
    with np.load(path, allow_pickle=False) as z:
        return {str(s): z[f"m_{s}"].astype(np.int8) for s in z["samplers"]}
