"""A DNAGPT-style generator of haplotypes: a GPT fine-tuned on token rows, sampled from ``<R>``.

The model is a :class:`dnalm.gpt.model.DnaGptModel`, either loaded from a pretrained model
directory (``lm_dir``, e.g. the demo's ``results/pretrain/dnagpt_tiny/model``) or built from
scratch at a size preset. It is trained with the plain next-token loss (cross-entropy over the
whole vocabulary) on the training haplotypes written as token rows
(:mod:`dnalm.haplotypes.gpt_tokens`): AdamW, linear warm-up over the first tenth of the steps,
cosine decay, gradient clipping at 1.

Sampling is autoregressive at a temperature (1 by default) from the prompt ``<R>``, with the
key/value cache. ``constrained=True`` draws each token among the ``2**6`` that are haplotypes at
that position (the softmax renormalised over them); ``constrained=False`` draws from the whole
vocabulary and invalid rows are dropped and redrawn (:class:`dnalm.haplotypes.TextSampler`).
Either way the probability the model puts on valid tokens (``valid_mass``) is recorded: it
shows how much of the haplotype language the model learned on its own.
"""

from __future__ import annotations

import logging
import math
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from dnalm.gpt.model import DnaGptModel, build_gpt, load_gpt_dir
from dnalm.gpt.tokenizer import SPECIES_ID, K
from dnalm.haplotypes.gpt_tokens import (
    allowed_token_ids,
    haplotype_token_ids,
    token_ids_to_haplotypes,
)

__all__ = ["SOFTMAX", "GptHaplotypeSampler", "allele_codes", "build_haplotype_gpt", "train_haplotype_gpt"]

log = logging.getLogger(__name__)
#: Where the next-token softmax runs: the position's haplotype tokens, or the whole vocabulary.
SOFTMAX = ("allowed", "full")


def build_haplotype_gpt(n_positions: int, lm_dir: str | Path | None = None, size: str = "tiny",
                        seed: int = 1) -> DnaGptModel:
    """The model to fine-tune: a pretrained one from ``lm_dir``, else a fresh ``size`` preset.

    Parameters
    ----------
    n_positions : int
        Positions one haplotype row needs (:func:`dnalm.haplotypes.gpt_tokens.n_haplotype_positions`).
    lm_dir : str or os.PathLike, optional
        A GPT model directory (:func:`dnalm.gpt.model.save_gpt_dir`). Default is None.
    size : {"tiny", "dnagpt_s"}, optional
        Preset of a model built from scratch (``n_positions`` as needed). Default is ``"tiny"``.
    seed : int, optional
        Initialisation seed of a model built from scratch. Default is 1.

    Raises
    ------
    ValueError
        When the pretrained model has fewer positions than a row needs.
    """
    if lm_dir is None:
        return build_gpt(size, n_positions=max(int(n_positions), 8), seed=seed)
    model, _ = load_gpt_dir(lm_dir)
    have = int(model.config.n_positions)
    if have < n_positions:
        raise ValueError(
            f"{Path(lm_dir) / 'config.json'}: the model has {have} positions, a haplotype row needs "
            f"{n_positions} (<R> + one 6-mer per 6 SNPs); lower `max_sites` to at most "
            f"{(have - 1) * 6} or train from scratch (gpt.lm: null)"
        )
    return model


def allele_codes(matrix: np.ndarray) -> np.ndarray:
    """Each token's alleles as a binary number (first site most significant), shape=(n, T), int64.

    The code indexes the token's row of :func:`dnalm.haplotypes.gpt_tokens.allowed_token_ids`.
    """
    m = np.asarray(matrix, dtype=np.int64)
    n, s = m.shape
    out = np.zeros((n, -(-s // K)), dtype=np.int64)
    for t in range(out.shape[1]):
        blk = m[:, t * K : min((t + 1) * K, s)]
        out[:, t] = blk @ (1 << np.arange(blk.shape[1] - 1, -1, -1))
    return out


class _AllowedHead:
    """The token head read only at each position's haplotype tokens (the last linear layer's
    rows of those ids; a tail token's unused slots get -inf)."""

    def __init__(self, model: DnaGptModel, allowed: np.ndarray, n_sites: int) -> None:
        self.model = model
        dev = next(model.parameters()).device
        self.allowed = torch.as_tensor(allowed).to(dev)  # (T, 64)
        width = [min(K, n_sites - t * K) for t in range(self.allowed.shape[0])]
        self.mask = torch.tensor([[0.0] * 2**w + [-math.inf] * (2**K - 2**w) for w in width], device=dev)

    def __call__(self, hidden: torch.Tensor, t0: int = 0) -> torch.Tensor:
        """Logits over the allowed tokens of positions ``t0 ..``, shape=(B, T', 64)."""
        head = self.model.lm_head
        z = head[:-1](hidden)  # (B, T', d)
        t1 = t0 + hidden.shape[1]
        w = head[-1].weight[self.allowed[t0:t1]]  # (T', 64, d)
        b = head[-1].bias[self.allowed[t0:t1]]  # (T', 64)
        return torch.einsum("btd,tkd->btk", z, w) + b + self.mask[t0:t1]


def _lr_at(step: int, steps: int, lr: float) -> float:
    warm = max(1, steps // 10)
    if step < warm:
        return lr * (step + 1) / warm
    return 0.5 * lr * (1.0 + math.cos(math.pi * (step - warm) / max(1, steps - warm)))


def train_haplotype_gpt(model: DnaGptModel, matrix: np.ndarray, ref: np.ndarray, alt: np.ndarray,
                        steps: int = 300, lr: float = 1e-3, batch_size: int = 32,
                        softmax: str = "allowed", seed: int = 1, weight_decay: float = 0.01,
                        log_every: int = 25) -> list[dict[str, float]]:
    """Fine-tune ``model`` in place with the next-token loss on the haplotypes' token rows.

    Parameters
    ----------
    model : DnaGptModel
    matrix : numpy.ndarray, shape=(n, n_sites), values 0/1
        Training haplotypes.
    ref, alt : numpy.ndarray, shape=(n_sites,)
    steps : int, optional
        Optimizer steps. Default is 300.
    lr : float, optional
        Peak learning rate. Default is 1e-3.
    batch_size : int, optional
        Rows per step (drawn without replacement, epoch by epoch). Default is 32.
    softmax : {"allowed", "full"}, optional
        ``allowed``: cross-entropy over the ``2**6`` tokens that are haplotypes at each position;
        ``full``: over the whole 19,564-token vocabulary (DNAGPT's loss; the head then costs
        about 300 times more). Default is ``"allowed"``.
    seed : int, optional
        Seed of the batch order. Default is 1.
    weight_decay : float, optional
        AdamW weight decay. Default is 0.01.
    log_every : int, optional
        Steps between log rows. Default is 25.

    Returns
    -------
    log : list of dict
        ``{"step", "lr", "loss", "seconds"}`` every ``log_every`` steps and at the last; ``loss``
        is the mean training loss (nats per token) since the previous row.
    """
    if softmax not in SOFTMAX:
        raise ValueError(f"`softmax` must be one of {SOFTMAX}, got {softmax!r}")
    if steps < 1 or batch_size < 1 or lr <= 0:
        raise ValueError(f"need steps >= 1, batch_size >= 1, lr > 0; got {steps}, {batch_size}, {lr}")
    m = np.asarray(matrix)
    if m.ndim != 2 or m.shape[0] == 0:
        raise ValueError(f"`matrix` must be a non-empty (n, n_sites) matrix, got shape {m.shape}")
    dev = next(model.parameters()).device
    ids_t = torch.as_tensor(haplotype_token_ids(m, ref, alt)).to(dev)
    codes_t = torch.as_tensor(allele_codes(m)).to(dev)
    head = _AllowedHead(model, allowed_token_ids(ref, alt), m.shape[1])
    rng = np.random.default_rng(seed)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay, betas=(0.9, 0.98))
    model.train()
    order: np.ndarray = np.zeros(0, dtype=np.int64)
    rows: list[dict[str, float]] = []
    total, count, t0 = 0.0, 0, time.perf_counter()
    for step in range(steps):
        if order.size < batch_size:
            order = np.concatenate([order, rng.permutation(ids_t.shape[0])])
        take, order = torch.as_tensor(order[:batch_size], device=dev), order[batch_size:]
        x = ids_t[take]
        for g in opt.param_groups:
            g["lr"] = _lr_at(step, steps, lr)
        h = model(x[:, :-1])
        if softmax == "full":
            loss = F.cross_entropy(model.token_logits(h).flatten(0, 1).float(), x[:, 1:].flatten())
        else:
            loss = F.cross_entropy(head(h).flatten(0, 1).float(), codes_t[take].flatten())
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        total += float(loss.detach())
        count += 1
        if (step + 1) % log_every == 0 or step + 1 == steps:
            rows.append({"step": step + 1, "lr": opt.param_groups[0]["lr"], "loss": total / count,
                         "seconds": time.perf_counter() - t0})
            log.info("step %d loss %.4f (%.1f s)", step + 1, total / count, rows[-1]["seconds"])
            total, count = 0.0, 0
    model.eval()
    return rows


class GptHaplotypeSampler:
    """A haplotype sampler ``(n, rng) -> (n, n_sites) int8`` over a fine-tuned GPT.

    Parameters
    ----------
    model : DnaGptModel
    ref, alt : numpy.ndarray, shape=(n_sites,)
        The sites' REF/ALT bases (what the tokens spell).
    softmax : {"allowed", "full"}, optional
        ``allowed``: each token drawn among the haplotype tokens of its position; ``full``: from
        the whole vocabulary, rows with a token that is not a haplotype are dropped and drawn
        again (up to ``max_rounds`` times). Default is ``"allowed"``.
    temperature : float, optional
        Default is 1.0.
    batch_size : int, optional
        Rows generated together. Default is 256.
    max_rounds : int, optional
        Default is 10.
    """

    def __init__(self, model: DnaGptModel, ref: np.ndarray, alt: np.ndarray,
                 softmax: str = "allowed", temperature: float = 1.0, batch_size: int = 256,
                 max_rounds: int = 10) -> None:
        if softmax not in SOFTMAX:
            raise ValueError(f"`softmax` must be one of {SOFTMAX}, got {softmax!r}")
        if temperature <= 0:
            raise ValueError(f"`temperature` must be > 0, got {temperature}")
        self.model = model.eval()
        self.ref = np.asarray(ref, dtype="<U1")
        self.alt = np.asarray(alt, dtype="<U1")
        self.head = _AllowedHead(model, allowed_token_ids(self.ref, self.alt), self.ref.size)
        self.softmax = softmax
        self.temperature = float(temperature)
        self.batch_size = max(1, int(batch_size))
        self.max_rounds = max(1, int(max_rounds))
        self.counts = {"n_generated": 0, "n_valid": 0, "valid_mass_sum": 0.0, "n_tokens": 0}

    @torch.no_grad()
    def generate_ids(self, n: int, gen: torch.Generator) -> np.ndarray:
        """``n`` rows ``<R> t_1 .. t_T`` drawn token by token (key/value cache), shape=(n, 1 + T)."""
        allowed = self.head.allowed
        x = torch.full((n, 1), SPECIES_ID, dtype=torch.int64, device=allowed.device)
        past = None
        for t in range(allowed.shape[0]):
            out = self.model.transformer(input_ids=x[:, -1:] if past is not None else x,
                                         past_key_values=past, use_cache=True)
            past = out.past_key_values
            h = out.last_hidden_state[:, -1:]
            if self.softmax == "allowed":
                logits = self.head(h, t0=t)[:, 0].float() / self.temperature
                pick = torch.multinomial(torch.softmax(logits, -1), 1, generator=gen)[:, 0]
                nxt = allowed[t][pick]
            else:
                probs = torch.softmax(self.model.token_logits(h[:, 0]).float() / self.temperature, -1)
                self.counts["valid_mass_sum"] += float(probs[:, allowed[t].unique()].sum())
                self.counts["n_tokens"] += n
                nxt = torch.multinomial(probs, 1, generator=gen)[:, 0]
            x = torch.cat([x, nxt[:, None]], dim=1)
        return x.cpu().numpy()

    def __call__(self, n: int, rng: np.random.Generator) -> np.ndarray:
        gen = torch.Generator(device=self.head.allowed.device).manual_seed(int(rng.integers(0, 2**62)))
        got: list[np.ndarray] = []
        have = rounds = 0
        while have < n and rounds < self.max_rounds:
            rounds += 1
            for start in range(0, n - have, self.batch_size):
                b = min(self.batch_size, n - have - start)
                dec = token_ids_to_haplotypes(self.generate_ids(b, gen), self.ref, self.alt)
                self.counts["n_generated"] += b
                self.counts["n_valid"] += len(dec.matrix)
                got.append(dec.matrix)
            have = sum(len(g) for g in got)
        if have < n:
            raise ValueError(f"the GPT gave {have} valid haplotypes of {n} after {rounds} rounds "
                             f"({self.report()})")
        return np.concatenate(got)[:n].astype(np.int8)

    def report(self) -> dict[str, float | int | str | None]:
        """Rows generated and valid; ``valid_mass`` (full softmax only): mean probability the
        model put on haplotype tokens."""
        c = self.counts
        return {"softmax": self.softmax, "temperature": self.temperature,
                "n_generated": int(c["n_generated"]), "n_valid": int(c["n_valid"]),
                "valid_mass": c["valid_mass_sum"] / c["n_tokens"] if c["n_tokens"] else None}
