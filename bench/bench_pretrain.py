"""Pretraining throughput: dnalm's training step vs a naive DNABERT-style reference.

Run from the repository root::

    python -m bench.bench_pretrain                 # CPU, size "small", about 2 minutes
    python -m bench.bench_pretrain --gpu           # one GPU: base size, 512 tokens, bf16, MFU

Both sides train k=6 BERT masked LMs with the same AdamW settings and the same span masking
(:func:`dnalm.mask.mask_tokens`) on the same synthetic corpus shards, whose piece lengths follow
the corpus stage (half full 510-bp pieces, half uniform in 10..510 bp):

- **ours**: :func:`dnalm.pretrain.pretrain` itself (length-bucketed batches, SDPA attention,
  vocabulary head on masked positions only, fused AdamW, bf16 autocast on CUDA); its
  ``tokens_per_s`` is read from ``train_log.tsv`` (steps after the second, so warm-up is
  excluded);
- **naive**: HF ``BertForMaskedLM`` with eager attention in fp32, random batches each padded
  to 512 tokens as DNABERT's ``--block_size 512`` training did, logits for every position.

Throughput counts real (non-padding) tokens per second, timed per optimizer step (data
preparation and masking included); the first steps of each run are warm-up and not counted.
Runs alternate ours/naive for ``--rounds`` rounds and the median per-step rate is reported,
so background load affects both alike.
``--gpu`` measures the base size on pieces of 510 bp (507 tokens) and projects DNABERT's
pretraining (120k steps x 2000 sequences x 512 tokens) onto one such GPU.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from dnalm import kmers
from dnalm._compat import resolve_device
from dnalm.corpus import find_shards
from dnalm.corpus.stream import Corpus
from dnalm.mask import centre_prob_for_rate, mask_tokens
from dnalm.modeling import bert_config
from dnalm.pretrain import pretrain
from dnalm.pretrain.mlm import flops_per_token, peak_flops

K = 6
DNABERT_STEPS, DNABERT_SEQS, DNABERT_TOKENS = 120_000, 2000, 512


def write_corpus(d: Path, n_pieces: int, seed: int = 0, full_only: bool = False) -> Path:
    """Shards whose lengths mimic the corpus stage: 50% 510 bp, 50% uniform 10..510 bp."""
    d.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    lens = np.where(rng.random(n_pieces) < 0.5, 510, rng.integers(10, 511, n_pieces))
    if full_only:
        lens[:] = 510
    seq = rng.integers(0, 4, int(lens.sum()), dtype=np.uint8)
    off = np.concatenate([[0], np.cumsum(lens)[:-1]])
    np.save(d / "chrB.seq.npy", seq)
    np.save(d / "chrB.idx.npy", np.stack([off, lens, np.zeros_like(lens)], 1).astype(np.int64))
    return d


def run_ours(shards: Path, size: str, batch: int, steps: int, device: str, compile_: bool) -> dict:
    """:func:`dnalm.pretrain.pretrain` with one log row per step; per-step rates after step 2."""
    preset = {"steps": steps, "global_batch": batch, "lr": 4e-4, "warmup_steps": 1,  # one process
              "log_every": 1, "checkpoint_every": 10**9, "val_batches": 0,
              "compile": compile_, "seed": 1}
    with tempfile.TemporaryDirectory() as tmp:
        t = Path(tmp)
        pretrain(shards, t / "model", t / "ckpt", t / "log.tsv", t / "curves.png", K, size, preset,
                 device=device, verbose=False)
        import pandas as pd

        rows = pd.read_csv(t / "log.tsv", sep="\t").query("split == 'train' and step > 2")
    return {"rates": rows.tokens_per_s.tolist(), "padding_waste": float(rows.padding_waste.mean()),
            "mfu": None if rows.mfu.isna().all() else float(rows.mfu.median())}


def run_naive(
    shards: Path, size: str, batch: int, steps: int, device: str, warmup: int = 1
) -> dict:
    """DNABERT-style step: eager attention, fp32, rows padded to 512, full-vocab logits."""
    from transformers import BertForMaskedLM

    dev = resolve_device(device)
    corpus = Corpus(find_shards(shards), K)
    torch.manual_seed(0)
    lm = BertForMaskedLM(bert_config(K, size, attn_implementation="eager")).to(dev).train()
    no_decay = [p for n, p in lm.named_parameters() if n.endswith("bias") or "LayerNorm" in n]
    decay = [p for n, p in lm.named_parameters() if not (n.endswith("bias") or "LayerNorm" in n)]
    opt = torch.optim.AdamW(
        [{"params": decay, "weight_decay": 0.01}, {"params": no_decay, "weight_decay": 0.0}],
        lr=4e-4,
        betas=(0.9, 0.98),
        eps=1e-6,
    )
    rng = np.random.default_rng(1)
    gen = torch.Generator().manual_seed(1)
    p = centre_prob_for_rate(0.15, K)
    rates, real, padded = [], 0, 0
    for s in range(warmup + steps):
        if dev.type == "cuda":
            torch.cuda.synchronize(dev)
        t0 = time.perf_counter()
        ids, att = corpus.collate(rng.choice(len(corpus), batch))
        pad = DNABERT_TOKENS - ids.shape[1]
        ids = torch.nn.functional.pad(ids, (0, pad), value=kmers.PAD_ID)
        att = torch.nn.functional.pad(att, (0, pad), value=0)
        mb = mask_tokens(ids, att, K, p, generator=gen)
        out = lm(input_ids=mb.input_ids.to(dev), attention_mask=att.to(dev), labels=mb.labels.to(dev))
        out.loss.backward()
        torch.nn.utils.clip_grad_norm_(lm.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        if dev.type == "cuda":
            torch.cuda.synchronize(dev)
        if s >= warmup:
            rates.append(int(att.sum()) / (time.perf_counter() - t0))
            real, padded = real + int(att.sum()), padded + att.numel()
    return {"rates": rates, "padding_waste": 1 - real / padded, "mfu": None}


def cpu_mode(a) -> dict:
    torch.set_num_threads(a.threads)
    with tempfile.TemporaryDirectory() as tmp:
        shards = write_corpus(Path(tmp) / "shards", a.pieces)
        ours, naive, waste, nwaste = [], [], [], []
        run_ours(shards, a.size, a.batch, 2, "cpu", False)  # import/first-call warm-up
        for r in range(a.rounds):
            o = run_ours(shards, a.size, a.batch, a.steps_ours, "cpu", False)
            n = run_naive(shards, a.size, a.batch, a.steps_naive, "cpu")
            ours += o["rates"]
            naive += n["rates"]
            waste.append(o["padding_waste"])
            nwaste.append(n["padding_waste"])
            print(f"round {r + 1}: ours {statistics.median(o['rates']):.0f} tok/s "
                  f"(padding waste {o['padding_waste']:.3f}), "
                  f"naive {statistics.median(n['rates']):.0f} tok/s", flush=True)
    o, n = statistics.median(ours), statistics.median(naive)
    return {"mode": "cpu", "size": a.size, "batch": a.batch, "threads": a.threads,
            "steps_measured": {"ours": len(ours), "naive": len(naive)},
            "ours_tokens_per_s": o, "naive_tokens_per_s": n, "ratio": o / n,
            "ratio_best_step": max(ours) / max(naive),
            "ours_padding_waste": statistics.mean(waste),
            "naive_padding_waste": statistics.mean(nwaste)}


def gpu_mode(a) -> dict:
    dev = resolve_device(a.device)
    if dev.type != "cuda" and not a.allow_cpu:
        raise SystemExit("--gpu needs a CUDA device (use --allow-cpu to smoke-test the code path)")
    size = a.size if a.size != "small" else "base"
    with tempfile.TemporaryDirectory() as tmp:
        shards = write_corpus(Path(tmp) / "shards", a.pieces, full_only=True)
        ours = run_ours(shards, size, a.batch, a.steps_ours, str(dev), a.compile)
        naive = run_naive(shards, size, min(a.batch, 32), a.steps_naive, str(dev))
    ours["tokens_per_s"] = statistics.median(ours["rates"])
    naive["tokens_per_s"] = statistics.median(naive["rates"])
    cfg = bert_config(K, size)
    fpt = flops_per_token(cfg, 507, 0.15)
    peak = peak_flops(dev)
    tokens = DNABERT_STEPS * DNABERT_SEQS * DNABERT_TOKENS
    res = {
        "mode": "gpu",
        "device": torch.cuda.get_device_name(dev) if dev.type == "cuda" else "cpu",
        "size": size,
        "batch": a.batch,
        "compile": a.compile,
        "ours_tokens_per_s": ours["tokens_per_s"],
        "ours_mfu": ours["mfu"],
        "naive_tokens_per_s": naive["tokens_per_s"],
        "naive_mfu": fpt * naive["tokens_per_s"] / peak if peak else None,
        "ratio": ours["tokens_per_s"] / naive["tokens_per_s"],
        "train_flops_per_token": fpt,
        "dnabert_tokens": tokens,
        "dnabert_projection_hours_ours": tokens / ours["tokens_per_s"] / 3600,
        "dnabert_projection_hours_naive": tokens / naive["tokens_per_s"] / 3600,
    }
    return res


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--gpu", action="store_true", help="base size, 510-bp pieces, bf16, MFU, projection"
    )
    ap.add_argument("--size", default="small", choices=["tiny", "small", "base"])
    ap.add_argument("--batch", type=int, default=None, help="default 4 (CPU) / 64 (GPU)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--steps-ours", type=int, default=None)
    ap.add_argument("--steps-naive", type=int, default=None)
    ap.add_argument("--pieces", type=int, default=2000)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--device", default=None)
    ap.add_argument("--compile", action="store_true", help="--gpu: torch.compile our model")
    ap.add_argument("--allow-cpu", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--json", default=None, help="also write the result here")
    a = ap.parse_args(argv)
    if a.gpu:
        a.batch = a.batch or 64
        a.steps_ours = a.steps_ours or 60
        a.steps_naive = a.steps_naive or 20
        res = gpu_mode(a)
    else:
        a.batch = a.batch or 4
        a.steps_ours = a.steps_ours or 8
        a.steps_naive = a.steps_naive or 3
        res = cpu_mode(a)
    print(json.dumps(res, indent=2))
    if a.json:
        Path(a.json).write_text(json.dumps(res, indent=2))
    print(f"ours / naive tokens per second: {res['ratio']:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
