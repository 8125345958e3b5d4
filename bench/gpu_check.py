"""The standing GPU checks: pretraining speed and MFU, precision and attention variants, a short
real learning run, inference throughput, GPT pretraining, and CUDA correctness, in one script.

Run from the repository root (``bench/gpu_check.sh`` wraps it)::

    python -m bench.gpu_check prepare --out .gpucheck/real      # once, on any machine: real shards
    python -m bench.gpu_check run --out OUT --real-shards .gpucheck/real [--budget-s 450]
    python -m bench.gpu_check run --out OUT --quick --allow-cpu  # the same code paths, tiny, CPU

``run`` writes ``OUT/gpu_check.json`` (every figure, after each section, so a run stopped at its
time limit keeps what it measured) and ``OUT/gpu_check.md`` (a short table), plus the learning
run's ``learning_train_log.tsv``, ``learning_curves.png`` and ``learning_check.json``. Sections run
in order of priority; one that would overrun ``--budget-s`` is skipped and says so, and one that
fails records its error and the rest go on.

Sections (figures are per real, non-padding token; MFU uses
:func:`dnalm.pretrain.mlm.flops_per_token`, i.e. 6 x weights + attention scores + the vocabulary
head on masked tokens, the PaLM accounting, against the card's dense bf16 peak):

1. ``bert_step``: one BERT masked-LM optimizer step (DNABERT-6 shape in full mode: 12 x 768,
   12 heads, 510-bp pieces = 507 tokens) for bf16 autocast or fp32 x SDPA or HF eager attention,
   on fixed pre-masked batches on the device (the model step alone);
2. ``pretrain_e2e``: :func:`dnalm.pretrain.pretrain` itself (data, masking, logging included),
   and the naive DNABERT-style reference of :mod:`bench.bench_pretrain`;
3. ``max_batch``: the largest batch (doubling, then one bisection) whose step fits, with its
   tokens/s and MFU; the projection of DNABERT's budget (120k steps x 2000 x 512 tokens);
4. ``learning``: ``small`` (4 x 256) pretrained for ``--learn-s`` seconds on real human sequence,
   validated on a held-out region against the k-mer frequency baseline;
5. ``inference``: ``dnalm predict`` sequences/s, ``dnalm score-variants`` variants/s (with and
   without the zero-shot LLR) against batched HF loops, and :func:`dnalm.scan.scan_genome` bp/s;
6. ``gpt``: :func:`dnalm.gpt.pretrain_gpt` tokens/s and MFU for ``dnagpt_s``;
7. ``correctness``: a run resumed from its step checkpoint against an uninterrupted one (and two
   uninterrupted runs, the noise floor), and one batch's probabilities on the CPU and the GPU;
8. ``compile``: section 1's bf16 SDPA step under ``torch.compile`` (last: compiling is the
   slowest part).
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

K = 6
DNABERT_STEPS, DNABERT_SEQS, DNABERT_TOKENS = 120_000, 2000, 512

# Held-out-region split of the real sequence (hg38 chr2:1-2,333,275): train on the first 2 Mbp
# (and the GRCh37 chr20 piece when given), validate on the rest.
TRAIN_END = 2_000_000

SECTIONS = ("bert_step", "pretrain_e2e", "max_batch", "learning", "inference", "gpt", "correctness",
            "compile")


# ----------------------------------------------------------------------------- prepare


def _read_fasta(path: Path) -> dict[str, str]:
    import gzip

    opener = gzip.open if path.suffix == ".gz" else open
    seqs: dict[str, list[str]] = {}
    name = None
    with opener(path, "rt") as fh:
        for line in fh:
            if line.startswith(">"):
                name = line[1:].split()[0]
                seqs[name] = []
            elif name is not None:
                seqs[name].append(line.strip())
    return {n: "".join(parts).upper() for n, parts in seqs.items()}


def _write_fasta(path: Path, name: str, seq: str) -> Path:
    import pysam

    with open(path, "w") as fh:
        fh.write(f">{name}\n")
        for i in range(0, len(seq), 60):
            fh.write(seq[i : i + 60] + "\n")
    pysam.faidx(str(path))
    return path


def prepare(fasta: Path, extra_train: list[Path], out: Path, train_end: int = TRAIN_END,
            min_len: int = 10, max_len: int = 510, coverage: int = 2, seed: int = 1) -> dict:
    """Corpus shards of real sequence, cut by :func:`dnalm.corpus.build_corpus_shard`: training
    pieces from the first ``train_end`` bp of ``fasta``'s one record (and from every
    ``extra_train`` FASTA), validation pieces from the rest of it (a region the model never sees).

    The piece settings default to the ``corpus`` section of config/config.yaml; each piece of
    sequence is then cut as a contig of a genome whose ``val_contigs`` name the held-out region
    (:func:`dnalm.corpus.contig_settings`: one pass, validation only; the rest training only)."""
    from dnalm.corpus import build_corpus_shard, contig_settings

    records = _read_fasta(fasta)
    if len(records) != 1 or len(next(iter(records.values()))) <= train_end:
        raise ValueError(f"{fasta}: needs one record longer than {train_end} bp")
    ((name, seq),) = records.items()
    held_out = f"{name}_{train_end + 1}_{len(seq)}"
    parts = {f"{name}_1_{train_end}": seq[:train_end], held_out: seq[train_end:]}
    for p in extra_train:
        parts.update({f"{p.name.split('.')[0]}_{n}": s for n, s in _read_fasta(p).items()})
    corpus = {"min_len": min_len, "max_len": max_len, "coverage": coverage, "seed": seed,
              "val_fraction": 0.0}
    out.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="gpucheck_fa_"))
    meta = {}
    try:
        for contig, s in parts.items():
            fa = _write_fasta(tmp / f"{contig}.fa", contig, s)
            m = build_corpus_shard(fa, contig, out / f"{contig}.seq.npy", out / f"{contig}.idx.npy",
                                   out_meta=out / f"{contig}.meta.json",
                                   **contig_settings(corpus, [held_out], contig))
            meta[contig] = {"split": "val" if contig == held_out else "train",
                            "length_bp": m["length_bp"], "n_pieces": m["n_pieces"]}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    (out / "prepare.json").write_text(json.dumps(meta, indent=1) + "\n")
    return meta


# ----------------------------------------------------------------------------- helpers


class Report:
    """Results by section, written to ``gpu_check.json`` after every section."""

    def __init__(self, out: Path, budget_s: float) -> None:
        self.out, self.t0, self.budget_s = out, time.perf_counter(), budget_s
        self.data: dict[str, Any] = {"sections": {}}
        self.only: set[str] | None = None

    def left(self) -> float:
        return self.budget_s - (time.perf_counter() - self.t0)

    def save(self) -> None:
        self.data["elapsed_s"] = round(time.perf_counter() - self.t0, 1)
        (self.out / "gpu_check.json").write_text(json.dumps(self.data, indent=1, default=_jsonable) + "\n")

    def section(self, name: str, need_s: float, fn: Callable[[], dict]) -> None:
        if self.only is not None and name not in self.only:
            return
        if self.left() < need_s:
            self.data["sections"][name] = {"skipped": f"{self.left():.0f} s left, needs ~{need_s:.0f} s"}
            print(f"[{name}] skipped: {self.left():.0f} s left, needs ~{need_s:.0f} s", flush=True)
            self.save()
            return
        print(f"[{name}] start ({self.left():.0f} s left)", flush=True)
        t = time.perf_counter()
        try:
            res = fn()
        except Exception as e:  # record and go on with the next section
            res = {"error": f"{type(e).__name__}: {e}",
                   "traceback": traceback.format_exc().splitlines()[-12:]}
            print(traceback.format_exc(), flush=True)
        res["section_s"] = round(time.perf_counter() - t, 1)
        self.data["sections"][name] = res
        print(f"[{name}] {json.dumps(res, default=_jsonable)[:2000]}", flush=True)
        self.save()
        _free()


def _jsonable(x: Any) -> Any:
    return x.item() if isinstance(x, (np.floating, np.integer)) else str(x)


def _free() -> None:
    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def _sync(dev: torch.device) -> None:
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)


def _autocast(dev: torch.device, precision: str):
    if precision == "bf16" and dev.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def env_info(dev: torch.device) -> dict:
    import transformers
    from dnalm.pretrain.mlm import peak_flops

    info: dict[str, Any] = {"python": platform.python_version(), "torch": torch.__version__,
                            "transformers": transformers.__version__, "device": str(dev),
                            "cpu_count": os.cpu_count(), "peak_bf16_flops": peak_flops(dev)}
    if dev.type == "cuda":
        p = torch.cuda.get_device_properties(dev)
        info.update(gpu=torch.cuda.get_device_name(dev), gpu_memory_gib=round(p.total_memory / 2**30, 1),
                    sm_count=p.multi_processor_count, cuda=torch.version.cuda,
                    tf32_matmul=torch.backends.cuda.matmul.allow_tf32)
        with contextlib.suppress(Exception):
            info["nvidia_smi"] = subprocess.run(
                ["nvidia-smi", "--query-gpu=name,memory.total,driver_version", "--format=csv,noheader"],
                capture_output=True, text=True, timeout=30).stdout.strip()
    return info


def synthetic_shards(d: Path, n_pieces: int, full_only: bool, seed: int = 0) -> Path:
    from bench.bench_pretrain import write_corpus

    return write_corpus(d, n_pieces, seed=seed, full_only=full_only)


def masked_batches(shards: Path, batch: int, n: int, dev: torch.device, seed: int = 1) -> list:
    """``n`` masked batches (15 %, span masking) of ``batch`` corpus pieces, on ``dev``."""
    from dnalm import kmers
    from dnalm.corpus import find_shards
    from dnalm.corpus.stream import Corpus
    from dnalm.mask import centre_prob_for_rate, mask_tokens

    corpus = Corpus(find_shards(shards), K)
    rng = np.random.default_rng(seed)
    gen = torch.Generator().manual_seed(seed)
    p = centre_prob_for_rate(0.15, K)
    out = []
    for _ in range(n):
        ids, att = corpus.collate(rng.choice(len(corpus), batch, replace=len(corpus) < batch))
        mb = mask_tokens(ids, att, K, p, kmers.vocab_size(K), gen)
        out.append((mb.input_ids.to(dev), att.to(dev), mb.labels.to(dev)))
    return out


class Stepper:
    """One BERT masked-LM optimizer step (DNABERT's AdamW, clipping 1.0) for timing."""

    def __init__(self, size: str, attn: str, precision: str, dev: torch.device,
                 compile_: bool = False) -> None:
        from dnalm.modeling import build_mlm
        from dnalm.pretrain.mlm import MLMLoss, param_groups

        self.dev, self.precision = dev, precision
        self.lm = build_mlm(K, size, attn_implementation=attn, seed=0).train()
        self.loss_mod = MLMLoss(self.lm).to(dev)
        self.opt = torch.optim.AdamW(param_groups(self.lm, 0.01), lr=4e-4, betas=(0.9, 0.98),
                                     eps=1e-6, fused=dev.type in ("cuda", "cpu"))
        self.model = torch.compile(self.loss_mod) if compile_ else self.loss_mod

    def step(self, b) -> float:
        ids, att, lab = b
        with _autocast(self.dev, self.precision):
            loss, _, _ = self.model(ids, att, lab)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.lm.parameters(), 1.0)
        self.opt.step()
        self.opt.zero_grad(set_to_none=True)
        return loss

    def time(self, batches: list, warmup: int, steps: int) -> dict:
        from dnalm.pretrain.mlm import flops_per_token, peak_flops

        counts = [int(b[1].sum()) for b in batches]  # real tokens, counted before timing
        if self.dev.type == "cuda":
            torch.cuda.reset_peak_memory_stats(self.dev)
        t = time.perf_counter()
        for i in range(warmup):
            self.step(batches[i % len(batches)])
        _sync(self.dev)
        warm_s = time.perf_counter() - t
        t = time.perf_counter()
        real = 0
        for i in range(steps):
            j = (warmup + i) % len(batches)
            loss = self.step(batches[j])
            real += counts[j]
        _sync(self.dev)
        dt = time.perf_counter() - t
        rows = sum(int(b[1].shape[0]) for b in batches) / len(batches)
        mean_tokens = sum(counts) / len(batches) / rows
        tps = real / dt
        peak = peak_flops(self.dev)
        fpt = flops_per_token(self.lm.config, mean_tokens, 0.15)
        res = {"tokens_per_s": tps, "step_ms": 1000 * dt / steps, "warmup_s": warm_s,
               "steps": steps, "batch": int(rows), "mean_tokens": mean_tokens,
               "loss": float(loss.detach()), "mfu": fpt * tps / peak if peak else None}
        if self.dev.type == "cuda":
            res["peak_mem_gib"] = torch.cuda.max_memory_allocated(self.dev) / 2**30
        return res


# ----------------------------------------------------------------------------- sections


def sec_bert_step(a, dev, shards) -> dict:
    batches = masked_batches(shards, a.batch, 4, dev)
    res: dict[str, Any] = {"size": a.size, "batch": a.batch}
    for precision in ("bf16", "fp32"):
        for attn in ("sdpa", "eager"):
            key = f"{precision}_{attn}"
            try:
                s = Stepper(a.size, attn, precision, dev)
                res[key] = s.time(batches, a.warmup, a.steps)
            except torch.OutOfMemoryError as e:
                res[key] = {"error": f"OOM: {e}"[:300]}
            finally:
                s = None
                _free()
            print(f"  {key}: {res[key]}", flush=True)
    base = res.get("bf16_sdpa", {}).get("tokens_per_s")
    if base:
        res["speedup_vs_bf16_sdpa"] = {k: base / v["tokens_per_s"] for k, v in res.items()
                                       if isinstance(v, dict) and v.get("tokens_per_s")}
    return res


def sec_pretrain_e2e(a, dev, shards) -> dict:
    from bench.bench_pretrain import run_naive, run_ours

    res: dict[str, Any] = {"size": a.size}
    for b in a.e2e_batches:
        o = run_ours(shards, a.size, b, a.e2e_steps, str(dev), False)
        res[f"ours_b{b}"] = {"tokens_per_s": statistics.median(o["rates"]), "mfu": o["mfu"],
                             "padding_waste": o["padding_waste"], "steps": len(o["rates"])}
        print(f"  ours b{b}: {res[f'ours_b{b}']}", flush=True)
        _free()
    nb = min(32, a.batch)
    n = run_naive(shards, a.size, nb, a.naive_steps, str(dev))
    res["naive"] = {"batch": nb, "tokens_per_s": statistics.median(n["rates"]),
                    "padding_waste": n["padding_waste"], "steps": len(n["rates"]),
                    "what": "HF BertForMaskedLM, eager attention, fp32, rows padded to 512, "
                            "logits at every position"}
    best = max(v["tokens_per_s"] for k, v in res.items() if k.startswith("ours_"))
    res["ours_best_over_naive"] = best / res["naive"]["tokens_per_s"]
    return res


def sec_max_batch(a, dev, shards, rep: Report) -> dict:
    s = Stepper(a.size, "sdpa", "bf16", dev)
    tried: dict[int, Any] = {}
    fit, oom = None, None

    def attempt(b: int) -> bool:
        try:
            batches = masked_batches(shards, b, 1, dev, seed=b)
            r = s.time(batches, 1, 2)
            tried[b] = {k: r[k] for k in ("tokens_per_s", "mfu", "step_ms", "peak_mem_gib") if k in r}
            print(f"  batch {b}: {tried[b]}", flush=True)
            return True
        except torch.OutOfMemoryError:
            s.opt.zero_grad(set_to_none=True)
            tried[b] = "OOM"
            print(f"  batch {b}: OOM", flush=True)
            return False
        finally:
            _free()

    b = a.batch
    while b <= a.max_batch_limit and rep.left() > 60:
        if not attempt(b):
            oom = b
            break
        fit, b = b, 2 * b
    if fit and oom and rep.left() > 60:
        mid = (fit + oom) // 2
        if attempt(mid):
            fit = mid
    res: dict[str, Any] = {"size": a.size, "tokens": 507, "tried": tried, "largest_fitting": fit,
                           "first_oom": oom, "limit": a.max_batch_limit}
    ok = {b: v for b, v in tried.items() if isinstance(v, dict)}
    if ok:
        bb = max(ok, key=lambda b: ok[b]["tokens_per_s"])
        res["best"] = {"batch": bb, **ok[bb]}
        tokens = DNABERT_STEPS * DNABERT_SEQS * DNABERT_TOKENS
        res["dnabert_budget_tokens"] = tokens
        res["dnabert_projection_hours"] = tokens / ok[bb]["tokens_per_s"] / 3600
    return res


def sec_learning(a, dev, out: Path) -> dict:
    from dnalm.pretrain import pretrain, read_learning_check

    shards = Path(a.real_shards)
    if not shards.is_dir():
        raise FileNotFoundError(f"{shards}: run `python -m bench.gpu_check prepare` first")
    size = "tiny" if a.quick else "small"
    base = {"global_batch": a.learn_batch, "lr": a.learn_lr, "mask_schedule": [[0, 0.15]],
            "seed": 42, "keep_checkpoints": 1}
    work = Path(tempfile.mkdtemp(prefix="gpucheck_learn_"))
    try:
        stamps: list[float] = []
        probe_steps = 8 if a.quick else 60
        pretrain(shards, work / "p" / "model", work / "p" / "ckpt", work / "p" / "log.tsv",
                 work / "p" / "c.png", K, size,
                 {**base, "steps": probe_steps, "warmup_steps": 1, "log_every": probe_steps,
                  "checkpoint_every": 10**9, "val_batches": 0},
                 device=dev, verbose=False, on_step=lambda _s: stamps.append(time.perf_counter()))
        step_s = statistics.median(np.diff(stamps[probe_steps // 3:]))
        steps = int(max(50 if a.quick else 300, min(200_000, 0.8 * a.learn_s / step_s)))
        every = max(10, steps // 6)
        preset = {**base, "steps": steps, "warmup_steps": max(1, steps // 20), "log_every": max(1, every // 5),
                  "checkpoint_every": every, "val_batches": a.learn_val_batches}
        t = time.perf_counter()
        res = pretrain(shards, work / "model", work / "ckpt", out / "learning_train_log.tsv",
                       out / "learning_curves.png", K, size, preset, device=dev, verbose=False)
        wall = time.perf_counter() - t
        check = read_learning_check(work / "model") or {}
        (out / "learning_check.json").write_text(json.dumps(check, indent=1, default=_jsonable) + "\n")
        import pandas as pd

        log = pd.read_csv(out / "learning_train_log.tsv", sep="\t")
        val = log[log.split == "val"]
        train = log[log.split == "train"]
        curve = [{"step": int(r.step), "val_loss": r.loss, "val_acc": r.mlm_acc,
                  "baseline_loss": r.baseline_loss, "baseline_acc": r.baseline_acc}
                 for r in val.itertuples()]
        meta = json.loads((shards / "prepare.json").read_text()) if (shards / "prepare.json").is_file() else {}
        return {"size": size, "preset": preset, "probe_step_s": step_s, "wall_s": wall,
                "tokens_per_s_median": float(train.tokens_per_s.median()),
                "shards": meta, "verdict": res["verdict"], "check": check, "val_curve": curve}
    finally:
        shutil.rmtree(work, ignore_errors=True)


def sec_inference(a, dev) -> dict:
    from dnalm.predict import load_classifier
    from dnalm.scan import scan_genome

    from bench.bench_cli_predict import _model_dir
    from bench.bench_cli_predict import main as predict_main
    from bench.bench_cli_scan import make_genome
    from bench.bench_variants import bench_scoring

    gpu = dev.type == "cuda"
    res: dict[str, Any] = {"size": a.size, "batch_size": a.infer_batch}
    argv = ["--size", a.size, "--n", str(a.infer_n), "--n-single", str(a.infer_single),
            "--batch-size", str(a.infer_batch), "--repeats", "1", "--commands", "predict"]
    res["predict"] = predict_main(argv + (["--gpu"] if gpu else []))["predict"]
    res["predict"]["what"] = (f"{a.infer_n} sequences of 200-300 bp; seq/s of `dnalm predict`, "
                              "a batched HF loop and a per-sequence HF pipeline")
    res["score_variants"] = bench_scoring(a.size, a.variants_n, a.infer_batch, str(dev), repeats=1)
    with tempfile.TemporaryDirectory(prefix="gpucheck_scan_") as tmp:
        root = Path(tmp)
        d = _model_dir(root, a.size, K)
        (d / "card.json").write_text(json.dumps({"task": "bench", "kind": "tfbs", "k": K,
                                                 "window_length": 300, "counts": {}}))
        fa = make_genome(root / "g.fa", a.scan_bp)
        model, k = load_classifier(d)
        warm = make_genome(root / "warm.fa", 20_000, seed=1)  # CUDA context, kernels
        scan_genome(model, k, warm, root / "warm", window=300, stride=50, contigs=["chr1"],
                    batch_size=a.infer_batch, device=dev, bigwig=False, strand="+")
        t = time.perf_counter()
        scan_genome(model, k, fa, root / "scan", window=300, stride=50, contigs=["chr1"],
                    batch_size=a.infer_batch, device=dev, bigwig=False, strand="+")
        dt = time.perf_counter() - t
        res["scan"] = {"bp": a.scan_bp, "window": 300, "stride": 50, "strand": "+",
                       "windows": a.scan_bp // 50, "seconds": dt, "bp_per_s": a.scan_bp / dt,
                       "windows_per_s": (a.scan_bp // 50) / dt}
    return res


def sec_gpt(a, dev, shards) -> dict:
    import pandas as pd
    from dnalm.gpt import pretrain_gpt
    from dnalm.gpt.model import GPT_SIZES
    from dnalm.gpt.tokenizer import VOCAB_SIZE
    from dnalm.pretrain.mlm import peak_flops

    size = "tiny" if a.quick else "dnagpt_s"
    res: dict[str, Any] = {"size": size}
    for b in a.gpt_batches:
        with tempfile.TemporaryDirectory(prefix="gpucheck_gpt_") as tmp:
            t = Path(tmp)
            preset = {"steps": a.e2e_steps, "global_batch": b, "lr": 4e-4, "warmup_steps": 1,
                      "log_every": 1, "checkpoint_every": 10**9, "val_batches": 0, "seed": 1,
                      "weight_decay": 0.1, "betas": [0.9, 0.95]}
            pretrain_gpt(shards, t / "m", t / "c", t / "log.tsv", t / "c.png", size, preset,
                         device=dev, verbose=False)
            rows = pd.read_csv(t / "log.tsv", sep="\t").query("split == 'train' and step > 2")
        tps = float(rows.tokens_per_s.median())
        g = GPT_SIZES[size]
        L, h = g["n_layer"], g["n_embd"]
        vocab = VOCAB_SIZE
        T = 510 / 6 + 2  # tokens per row of a full piece, specials included
        fpt = 6 * (12 * L * h * h + h * vocab) + 12 * L * h * T
        peak = peak_flops(dev)
        res[f"b{b}"] = {"tokens_per_s": tps, "mfu": fpt * tps / peak if peak else None,
                        "steps": int(len(rows))}
        print(f"  gpt b{b}: {res[f'b{b}']}", flush=True)
        _free()
    res["flops_per_token"] = "6 x (12 L h^2 + h V) + 12 L h T, T = 87 tokens (510-bp pieces)"
    return res


def sec_correctness(a, dev, shards) -> dict:
    import pandas as pd
    from dnalm.predict import encode_inputs, forward_logits, predict_proba
    from dnalm.pretrain import pretrain

    res: dict[str, Any] = {}
    size = "tiny" if a.quick else "small"
    steps, stop = (12, 6) if a.quick else (40, 20)
    preset = {"steps": steps, "global_batch": a.learn_batch, "lr": 1e-3, "warmup_steps": 2,
              "log_every": 1, "checkpoint_every": stop, "val_batches": 0, "seed": 3}
    with tempfile.TemporaryDirectory(prefix="gpucheck_resume_") as tmp:
        t = Path(tmp)

        def run(name: str, stop_at: int | None = None) -> None:
            pretrain(shards, t / name / "model", t / name / "ckpt", t / name / "log.tsv",
                     t / name / "c.png", K, size, preset, device=dev, verbose=False, stop_at=stop_at)

        run("a")
        run("a2")
        run("b", stop_at=stop)
        first = pd.read_csv(t / "b" / "ckpt" / "train_log.live.tsv", sep="\t") \
            if (t / "b" / "ckpt" / "train_log.live.tsv").is_file() else None
        run("b")  # resumes from the step-`stop` checkpoint
        logs = {n: pd.read_csv(t / n / "log.tsv", sep="\t").query("split == 'train'")
                .set_index("step").loss for n in ("a", "a2", "b")}
        after = logs["a"].index > stop
        d_resume = float((logs["a"][after] - logs["b"][after]).abs().max())
        d_noise = float((logs["a"][after] - logs["a2"][after]).abs().max())
        before = logs["a"].index <= stop
        res["resume"] = {"size": size, "steps": steps, "stopped_at": stop,
                         "max_abs_loss_diff_resumed_vs_uninterrupted": d_resume,
                         "max_abs_loss_diff_two_uninterrupted": d_noise,
                         "max_abs_loss_diff_before_stop": float(
                             (logs["a"][before] - logs["b"][before]).abs().max()),
                         "live_log_rows_at_stop": None if first is None else int(len(first)),
                         "final_loss": float(logs["a"].iloc[-1]),
                         "within_noise": bool(d_resume <= max(3 * d_noise, 0.02))}
    # one batch: classifier probabilities on the CPU (fp32) and on the device (fp32 and bf16)
    from dnalm.modeling import bert_config
    from transformers import BertForSequenceClassification

    cfg = bert_config(K, a.size)
    cfg.num_labels = 2
    torch.manual_seed(0)
    clf = BertForSequenceClassification(cfg).eval()
    rng = np.random.default_rng(0)
    seqs = ["".join(rng.choice(list("ACGT"), int(n))) for n in rng.integers(150, 301, 64)]
    p_cpu = predict_proba(clf, seqs, K, batch_size=64, device="cpu")
    p_dev = predict_proba(clf, seqs, K, batch_size=64, device=dev)  # the code path users get (bf16 on CUDA)
    with torch.no_grad():
        inputs = encode_inputs(clf, seqs, K)
        clf.to(dev)
        lg = forward_logits(clf, {k: v.to(dev) for k, v in inputs.items()}).float().cpu()
        clf.to("cpu")
        lc = forward_logits(clf, inputs).float()
    p32 = torch.softmax(lg, -1).numpy()
    pc = torch.softmax(lc, -1).numpy()
    res["cpu_vs_device"] = {"n_seqs": len(seqs), "size": a.size,
                            "max_abs_prob_diff_predict": float(np.abs(p_cpu - p_dev).max()),
                            "max_abs_prob_diff_fp32": float(np.abs(pc - p32).max()),
                            "max_abs_logit_diff_fp32": float((lc - lg).abs().max()),
                            "device_precision_predict": "bf16 autocast" if dev.type == "cuda" else "fp32"}
    return res


def sec_compile(a, dev, shards) -> dict:
    batches = masked_batches(shards, a.batch, 4, dev)
    s = Stepper(a.size, "sdpa", "bf16", dev, compile_=True)
    t = time.perf_counter()
    for b in batches:  # compiles (and recompiles for a new masked count)
        s.step(b)
    _sync(dev)
    compile_s = time.perf_counter() - t
    r = s.time(batches, 2, a.steps)
    r["compile_and_first_steps_s"] = compile_s
    return r


# ----------------------------------------------------------------------------- table


def markdown(data: dict) -> str:
    env = data.get("env", {})
    secs = data["sections"]
    lines = [f"# GPU check: {env.get('gpu', env.get('device'))} "
             f"(torch {env.get('torch')}, transformers {env.get('transformers')})", "",
             "| what | figure |", "|---|---|"]

    def add(what: str, value: Any) -> None:
        lines.append(f"| {what} | {value} |")

    def pct(x: Any) -> str:
        return "n/a" if x is None else f"{100 * x:.1f}%"

    bs = secs.get("bert_step", {})
    for key in ("bf16_sdpa", "fp32_sdpa", "bf16_eager", "fp32_eager"):
        v = bs.get(key)
        if isinstance(v, dict) and "tokens_per_s" in v:
            add(f"BERT {bs['size']} step, {key}, batch {bs['batch']}",
                f"{v['tokens_per_s']:,.0f} tok/s, MFU {pct(v['mfu'])}, {v['step_ms']:.1f} ms/step")
    c = secs.get("compile", {})
    if "tokens_per_s" in c:
        add("same, bf16_sdpa + torch.compile", f"{c['tokens_per_s']:,.0f} tok/s, MFU {pct(c['mfu'])} "
            f"(compile {c['compile_and_first_steps_s']:.0f} s)")
    e = secs.get("pretrain_e2e", {})
    for k, v in e.items():
        if k.startswith("ours_b") and isinstance(v, dict):
            add(f"pretrain() end to end, batch {k[6:]}", f"{v['tokens_per_s']:,.0f} tok/s, MFU {pct(v['mfu'])}")
    if "naive" in e:
        add("naive DNABERT-style step (eager, fp32, padded to 512)",
            f"{e['naive']['tokens_per_s']:,.0f} tok/s; ours best / naive {e['ours_best_over_naive']:.1f}x")
    m = secs.get("max_batch", {})
    if "best" in m:
        add("largest batch that fits (507 tokens)", f"{m['largest_fitting']} (first OOM: {m['first_oom']})")
        add(f"best batch {m['best']['batch']}", f"{m['best']['tokens_per_s']:,.0f} tok/s, MFU {pct(m['best']['mfu'])}")
        add("DNABERT budget (120k x 2000 x 512 tokens) on one card", f"{m['dnabert_projection_hours']:.0f} h")
    lr = secs.get("learning", {})
    if "check" in lr and lr["check"]:
        ck = lr["check"]
        add(f"learning run ({lr['size']}, {lr['preset']['steps']} steps, {lr['wall_s']:.0f} s)",
            f"val acc {ck.get('val_mlm_acc', float('nan')):.4f} vs k-mer baseline "
            f"{ck.get('kmer_baseline_acc', float('nan')):.4f} (margin 95% CI "
            f"{'..'.join(f'{x:.4f}' for x in ck.get('ci95', {}).get('acc_margin', []))}, "
            f"n = {ck.get('n_tokens')} masked tokens); verdict {lr['verdict']}")
    inf = secs.get("inference", {})
    if "predict" in inf:
        p = inf["predict"]
        add(f"dnalm predict ({inf['size']}, batch {inf['batch_size']})",
            f"{p['ours']:,.0f} seq/s (batched HF {p['batched_hf']:,.0f}, per-sequence {p['per_sequence_pipeline']:,.0f})")
    if "score_variants" in inf:
        sv = inf["score_variants"]
        add("score-variants, classifier", f"{sv['clf']['ours_vps']:,.0f} variants/s (batched HF {sv['clf']['batched_hf_vps']:,.0f})")
        add("score-variants, + zero-shot LLR", f"{sv['clf_lm']['ours_vps']:,.0f} variants/s (batched HF {sv['clf_lm']['batched_hf_vps']:,.0f})")
    if "scan" in inf:
        add("scan (300-bp windows, stride 50, + strand)", f"{inf['scan']['bp_per_s']:,.0f} bp/s")
    g = secs.get("gpt", {})
    for k, v in g.items():
        if k.startswith("b") and isinstance(v, dict):
            add(f"GPT {g['size']} pretrain_gpt, batch {k[1:]}", f"{v['tokens_per_s']:,.0f} tok/s, MFU {pct(v['mfu'])}")
    co = secs.get("correctness", {})
    if "resume" in co:
        r = co["resume"]
        add("resume vs uninterrupted, max abs loss difference",
            f"{r['max_abs_loss_diff_resumed_vs_uninterrupted']:.2g} (two uninterrupted runs: "
            f"{r['max_abs_loss_diff_two_uninterrupted']:.2g}); within noise: {r['within_noise']}")
    if "cpu_vs_device" in co:
        r = co["cpu_vs_device"]
        add("CPU vs device, max abs probability difference", f"predict ({r['device_precision_predict']}) "
            f"{r['max_abs_prob_diff_predict']:.2g}; fp32 {r['max_abs_prob_diff_fp32']:.2g}")
    for name, v in secs.items():
        if "error" in v or "skipped" in v:
            add(f"{name}", v.get("error") or f"skipped: {v['skipped']}")
    return "\n".join(lines) + "\n"


# ----------------------------------------------------------------------------- main


def run(a) -> int:
    from dnalm._compat import resolve_device
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    dev = resolve_device(a.device)
    if dev.type != "cuda" and not a.allow_cpu:
        raise SystemExit("no CUDA device (use --allow-cpu with --quick to test the code paths)")
    if dev.type == "cpu":
        torch.set_num_threads(a.threads)
    if a.quick:
        a.size, a.batch, a.steps, a.warmup = "tiny", 4, 3, 1
        a.e2e_batches, a.e2e_steps, a.naive_steps = [4], 5, 2
        a.max_batch_limit, a.learn_s, a.learn_batch, a.learn_val_batches = 8, 8, 8, 4
        a.infer_n, a.infer_single, a.infer_batch, a.variants_n, a.scan_bp = 64, 8, 16, 40, 20_000
        a.gpt_batches = [4]
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    rep = Report(out, a.budget_s)
    rep.only = set(a.sections) if a.sections else None
    rep.data["args"] = {k: v for k, v in vars(a).items() if k != "func"}
    rep.data["env"] = env_info(dev)
    print(json.dumps(rep.data["env"]), flush=True)
    work = Path(tempfile.mkdtemp(prefix="gpucheck_"))
    try:
        full = synthetic_shards(work / "full", 4000 if not a.quick else 200, full_only=True)
        mixed = synthetic_shards(work / "mixed", 4000 if not a.quick else 200, full_only=False, seed=1)
        q = a.quick
        rep.section("bert_step", 5 if q else 40, lambda: sec_bert_step(a, dev, full))
        rep.section("pretrain_e2e", 5 if q else 40, lambda: sec_pretrain_e2e(a, dev, full))
        rep.section("max_batch", 5 if q else 70, lambda: sec_max_batch(a, dev, full, rep))
        rep.section("learning", a.learn_s + (10 if q else 30), lambda: sec_learning(a, dev, out))
        rep.section("inference", 10 if q else 60, lambda: sec_inference(a, dev))
        # full 510-bp pieces: the MFU's attention term assumes 87 tokens a row
        rep.section("gpt", 5 if q else 30, lambda: sec_gpt(a, dev, full))
        rep.section("correctness", 10 if q else 30, lambda: sec_correctness(a, dev, mixed))
        rep.section("compile", 20 if q else 90, lambda: sec_compile(a, dev, full))
    finally:
        shutil.rmtree(work, ignore_errors=True)
        rep.save()
        (out / "gpu_check.md").write_text(markdown(rep.data))
    print((out / "gpu_check.md").read_text(), flush=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("prepare", help="corpus shards of real sequence (held-out region for validation)")
    p.add_argument("--fasta", default="../shared/data/real/hg38_chr2_1-2333275.fa.gz")
    p.add_argument("--extra-train", nargs="*", default=["../shared/data/real/grch37_chr20_1000001-2000000.fa"])
    p.add_argument("--out", default=".gpucheck/real")
    p.add_argument("--train-end", type=int, default=TRAIN_END)
    r = sub.add_parser("run", help="the checks")
    r.add_argument("--out", required=True)
    r.add_argument("--real-shards", default=".gpucheck/real")
    r.add_argument("--quick", action="store_true", help="tiny sizes and few steps (tests the code paths)")
    r.add_argument("--allow-cpu", action="store_true")
    r.add_argument("--sections", nargs="+", choices=SECTIONS, default=None, help="only these")
    r.add_argument("--device", default=None)
    r.add_argument("--threads", type=int, default=2)
    r.add_argument("--budget-s", type=float, default=450, help="stop starting sections after this")
    r.add_argument("--size", default="base", choices=["tiny", "small", "base"])
    r.add_argument("--batch", type=int, default=64)
    r.add_argument("--steps", type=int, default=10)
    r.add_argument("--warmup", type=int, default=3)
    r.add_argument("--e2e-batches", type=int, nargs="+", default=[64, 256])
    r.add_argument("--e2e-steps", type=int, default=25)
    r.add_argument("--naive-steps", type=int, default=8)
    r.add_argument("--max-batch-limit", type=int, default=4096)
    r.add_argument("--learn-s", type=float, default=150, help="seconds of the learning run")
    r.add_argument("--learn-batch", type=int, default=256)
    r.add_argument("--learn-lr", type=float, default=1e-3)
    r.add_argument("--learn-val-batches", type=int, default=20)
    r.add_argument("--infer-n", type=int, default=4096)
    r.add_argument("--infer-single", type=int, default=64)
    r.add_argument("--infer-batch", type=int, default=256)
    r.add_argument("--variants-n", type=int, default=4000)
    r.add_argument("--scan-bp", type=int, default=2_000_000)
    r.add_argument("--gpt-batches", type=int, nargs="+", default=[256])
    a = ap.parse_args(argv)
    if a.cmd == "prepare":
        extra = [Path(p) for p in a.extra_train if Path(p).is_file()]
        print(json.dumps(prepare(Path(a.fasta), extra, Path(a.out), a.train_end), indent=1))
        return 0
    return run(a)


if __name__ == "__main__":
    sys.exit(main())
