"""Rule step: fine-tune the GPT generator on the training haplotypes and draw artificial ones.

Writes the fine-tuned model directory (:func:`dnalm.gpt.model.save_gpt_dir`), its training log,
the drawn haplotypes (``samples.npz``, key ``matrix``; merged beside the other samplers by
:func:`dnalm.haplotypes.make_artificial`) and a JSON record of what was done.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import numpy as np
import torch

from dnalm import atomic
from dnalm.gpt.model import save_gpt_dir
from dnalm.haplotypes.generate import generate_haplotypes
from dnalm.haplotypes.gpt_generator import (
    GptHaplotypeSampler,
    build_haplotype_gpt,
    train_haplotype_gpt,
)
from dnalm.haplotypes.gpt_tokens import n_haplotype_positions
from dnalm.haplotypes.store import load_haplotypes

__all__ = ["load_gpt_samples", "make_gpt_haplotypes"]

log = logging.getLogger(__name__)


def make_gpt_haplotypes(
    train_npz: str | Path,
    model_out: str | Path,
    samples_out: str | Path,
    log_out: str | Path,
    json_out: str | Path,
    lm: str | Path | None = None,
    size: str = "tiny",
    steps: int = 200,
    lr: float = 1e-3,
    batch: int = 32,
    softmax: str = "allowed",
    temperature: float = 1.0,
    n_artificial: int | None = None,
    seed: int = 1,
    threads: int | None = None,
) -> dict:
    """Fine-tune a GPT on the training haplotypes and draw ``n_artificial`` from it.

    Parameters
    ----------
    train_npz : str or os.PathLike
        Training haplotypes (:func:`dnalm.haplotypes.save_haplotypes`).
    model_out, samples_out, log_out, json_out : str or os.PathLike
        Model directory, ``samples.npz``, ``train_log.tsv`` and the JSON record.
    lm : str or os.PathLike, optional
        Pretrained GPT model directory to start from. Default is None (a fresh ``size`` model).
    size, steps, lr, batch, softmax, temperature :
        See :func:`~dnalm.haplotypes.gpt_generator.train_haplotype_gpt` and
        :class:`~dnalm.haplotypes.gpt_generator.GptHaplotypeSampler`.
    n_artificial : int, optional
        Haplotypes to draw, rounded up to even. Default is the number of training haplotypes.
    seed : int, optional
        Seed of the initialisation, the batch order and the sampling. Default is 1.
    threads : int, optional
        ``torch.set_num_threads``. Default is None (unchanged). A GPU is used when there is one.

    Returns
    -------
    info : dict
        The contents of ``json_out``.
    """
    if threads:
        torch.set_num_threads(int(threads))
    train = load_haplotypes(train_npz)
    n = int(n_artificial or train.n_haplotypes)
    n += n % 2
    torch.manual_seed(seed)
    model = build_haplotype_gpt(n_haplotype_positions(train.n_sites), lm, size=size, seed=seed)
    model = model.to("cuda" if torch.cuda.is_available() else "cpu")
    t0 = time.perf_counter()
    rows = train_haplotype_gpt(model, train.matrix, train.ref, train.alt, steps=steps, lr=lr,
                               batch_size=batch, softmax=softmax, seed=seed)
    t_train = time.perf_counter() - t0
    sampler = GptHaplotypeSampler(model, train.ref, train.alt, softmax=softmax, temperature=temperature)
    t0 = time.perf_counter()
    matrix = generate_haplotypes(sampler, n, train.n_sites, seed=seed)
    t_sample = time.perf_counter() - t0
    save_gpt_dir(model, model_out)
    with atomic.atomic_path(samples_out) as tmp, open(tmp, "wb") as fh:
        np.savez_compressed(fh, matrix=matrix)
    atomic.write_text(log_out, "step\tlr\tloss\tseconds\n" + "".join(
        f"{r['step']}\t{r['lr']:.6g}\t{r['loss']:.6g}\t{r['seconds']:.3f}\n" for r in rows))
    start = "pretrained " + Path(lm).parent.name if lm else f"fresh {size}"
    info = {
        "description": f"GPT fine-tuned on the haplotypes as 6-mer tokens ({start}, {steps} steps, "
                       f"softmax {softmax}), sampled at temperature {temperature:g}",
        "lm": str(lm) if lm else None, "size": size if lm is None else dict(getattr(model.config, "dnagpt", None) or {}).get("size"),
        "n_positions": int(model.config.n_positions),
        "n_parameters": int(sum(p.numel() for p in model.parameters())),
        "steps": steps, "lr": lr, "batch": batch, "softmax": softmax, "temperature": temperature,
        "final_loss": rows[-1]["loss"], "train_seconds": round(t_train, 2),
        "sample_seconds": round(t_sample, 2), "n": n, "seed": seed, "sampling": sampler.report(),
    }  # fmt: skip
    atomic.write_json(json_out, info)
    log.info("gpt: loss %.3f after %d steps (%.1f s), %d haplotypes drawn (%.1f s)",
             rows[-1]["loss"], steps, t_train, n, t_sample)
    return info


def load_gpt_samples(path: str | Path) -> np.ndarray:
    """The ``(n, n_sites) int8`` matrix of a :func:`make_gpt_haplotypes` ``samples.npz``."""
    with np.load(path, allow_pickle=False) as z:
        return z["matrix"].astype(np.int8)
