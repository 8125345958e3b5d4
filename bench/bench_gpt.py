"""GPT pretraining throughput: dnalm's three-objective training step vs a plain HF GPT-2 LM loop.

Run from the repository root::

    python -m bench.bench_gpt                          # CPU, sizes tiny and dnagpt_s, a few minutes
    python -m bench.bench_gpt --sizes tiny --steps 40

Both sides train on the same synthetic corpus shards (half full 510-bp pieces, half uniform in
10..510 bp, as the corpus stage cuts them) and see the same batches in the same order: the same
length-bucketed :class:`~dnalm.corpus.stream.BatchStream` (seed, batch size, pieces):

- **ours**: :func:`dnalm.gpt.pretrain_gpt` itself: DNAGPT rows (half of them reversed),
  next-token, GC and order losses with the token head on target positions only, fused AdamW,
  gradient clipping;
- **plain**: a competent ``GPT2LMHeadModel`` loop of the same width, depth and vocabulary:
  SDPA attention, the same length-grouped batches (each padded to its longest row only), the
  forward 6-mer tokens after a ``<R>`` token, ``labels`` = inputs (logits at every position,
  HF's own shifted loss), the same AdamW settings and clipping. It has one objective, ours
  three, so ours does strictly more work per token.

The two are interleaved step by step: the plain step runs inside ``pretrain_gpt``'s ``on_step``
callback, so each of our steps is timed from the end of one callback to the start of the next,
and the plain step right after it; load on the machine hits both alike. Throughput counts the
pieces' 6-mer tokens (bp / 6) per second; the first ``--warmup`` steps are not counted. The
ratio is the summed plain time over the summed ours time on the same steps (equal tokens).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from dnalm.corpus import find_shards
from dnalm.corpus.stream import BatchStream
from dnalm.gpt import pretrain_gpt
from dnalm.gpt.data import GptCorpus
from dnalm.gpt.model import GPT_SIZES, gpt_config
from dnalm.gpt.tokenizer import PAD_ID, SPECIES_ID, GptTokenizer

from bench.bench_pretrain import write_corpus

LR, BETAS, WD, SEED = 4e-4, (0.9, 0.95), 0.1, 1


class PlainLoop:
    """A ``GPT2LMHeadModel`` next-token loop over the batches ``pretrain_gpt`` sees.

    Parameters
    ----------
    shards : Path
    size : str
        A :data:`dnalm.gpt.model.GPT_SIZES` key.
    batch : int
    """

    def __init__(self, shards: Path, size: str, batch: int) -> None:
        from transformers import GPT2LMHeadModel

        n_pos = GPT_SIZES[size]["n_positions"]
        self.corpus = GptCorpus(find_shards(shards), n_pos)
        train = np.flatnonzero(self.corpus.split == 0)
        self.stream = BatchStream(self.corpus, train, batch, SEED)  # pretrain_gpt's stream
        cfg = gpt_config(size)
        cfg._attn_implementation = "sdpa"
        torch.manual_seed(0)
        self.lm = GPT2LMHeadModel(cfg).train()
        decay = [p for p in self.lm.parameters() if p.ndim >= 2]
        rest = [p for p in self.lm.parameters() if p.ndim < 2]
        self.opt = torch.optim.AdamW([{"params": decay, "weight_decay": WD},
                                      {"params": rest, "weight_decay": 0.0}],
                                     lr=LR, betas=BETAS, eps=1e-6, fused=True)
        self.seconds: list[float] = []
        self.tokens: list[float] = []

    def step(self) -> None:
        """One optimizer step on the next batch; appends its time and token count."""
        t0 = time.perf_counter()
        codes, lens = self.stream.next()
        codes, lens = codes.numpy(), lens.numpy()
        toks = [GptTokenizer.dnalm_codes_to_ids(codes[i, : lens[i]]) for i in range(len(lens))]
        width = 1 + max(len(t) for t in toks)
        ids = np.full((len(toks), width), PAD_ID, dtype=np.int64)
        att = np.zeros((len(toks), width), dtype=np.int64)
        for i, t in enumerate(toks):
            ids[i, 0] = SPECIES_ID
            ids[i, 1 : len(t) + 1] = t
            att[i, : len(t) + 1] = 1
        ids_t, att_t = torch.from_numpy(ids), torch.from_numpy(att)
        labels = ids_t.masked_fill(att_t == 0, -100)
        out = self.lm(input_ids=ids_t, attention_mask=att_t, labels=labels)
        out.loss.backward()
        torch.nn.utils.clip_grad_norm_(self.lm.parameters(), 1.0)
        self.opt.step()
        self.opt.zero_grad(set_to_none=True)
        self.seconds.append(time.perf_counter() - t0)
        self.tokens.append(float(lens.sum()) / 6)


def measure(shards: Path, size: str, batch: int, steps: int, warmup: int) -> dict:
    """Interleaved ours/plain steps on one size; per-side tokens/s over the counted steps."""
    plain = PlainLoop(shards, size, batch)
    ours_s: list[float] = []
    mark = {"end": None}

    def on_step(step: int) -> None:
        now = time.perf_counter()
        if mark["end"] is not None:
            ours_s.append(now - mark["end"])
        plain.step()
        mark["end"] = time.perf_counter()

    preset = {"steps": steps + 1, "global_batch": batch, "lr": LR, "warmup_steps": 1,
              "betas": list(BETAS), "weight_decay": WD, "log_every": 10**6,
              "checkpoint_every": 10**9, "val_batches": 0, "seed": SEED}
    with tempfile.TemporaryDirectory() as tmp:
        t = Path(tmp)
        pretrain_gpt(shards, t / "model", t / "ckpt", t / "log.tsv", t / "curves.png", size, preset,
                     verbose=False, on_step=on_step)
    # ours_s[i] is our step i + 2 (the first step has no start mark); plain step i + 2 is index i + 1
    n = len(ours_s)
    ours_t = np.array(ours_s[warmup:])
    plain_t = np.array(plain.seconds[1 : n + 1][warmup:])
    tokens = np.array(plain.tokens[1 : n + 1][warmup:])
    per_step = plain_t / ours_t
    return {"size": size, "batch": batch, "steps_counted": int(len(tokens)),
            "mean_tokens_per_step": float(tokens.mean()),
            "ours_tokens_per_s": float(tokens.sum() / ours_t.sum()),
            "plain_tokens_per_s": float(tokens.sum() / plain_t.sum()),
            "ratio": float(plain_t.sum() / ours_t.sum()),
            "ratio_per_step_quartiles": [float(q) for q in np.quantile(per_step, [0.25, 0.5, 0.75])]}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", nargs="+", default=["tiny", "dnagpt_s"], choices=sorted(GPT_SIZES))
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--steps", type=int, default=None, help="counted steps; default 40 tiny, 8 dnagpt_s")
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--pieces", type=int, default=2000)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json", default=None, help="also write the results here")
    a = ap.parse_args(argv)
    torch.set_num_threads(a.threads)
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        shards = write_corpus(Path(tmp) / "shards", a.pieces)
        for size in a.sizes:
            steps = a.steps or (40 if size == "tiny" else 8)
            r = measure(shards, size, a.batch, steps + a.warmup, a.warmup)
            r["threads"] = a.threads
            results.append(r)
            print(f"{size}: ours {r['ours_tokens_per_s']:.0f} tok/s, plain GPT2LMHeadModel "
                  f"{r['plain_tokens_per_s']:.0f} tok/s, ours / plain {r['ratio']:.2f}x "
                  f"(per-step quartiles {', '.join(f'{q:.2f}' for q in r['ratio_per_step_quartiles'])})",
                  flush=True)
    print(json.dumps(results, indent=2))
    if a.json:
        Path(a.json).write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
