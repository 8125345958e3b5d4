"""Pretraining benefit against pretraining steps, on the data-scarce demo tasks.

Run from the repository root, on a workflow copy that has built the demo corpus and the
data-scarce datasets (``results/corpus/demo_hs/shards`` and ``results/datasets/<task>_scarce``)::

    python -m bench.bench_benefit --workdir /tmp/wf --steps 100 300 1000 \\
        --tasks tf_ctcf_scarce tf_p53_scarce splice_scarce --seeds 1 2 3

For each step count N a k=6 ``tiny`` LM is pretrained from scratch with the config's ``demo``
preset but ``steps = N`` (warm-up 10% of N, rows cropped to ``--max-tokens``, which must hold
every task row), then every (task, seed) is fine-tuned from it with the config's ``finetune``
section; the ``-scratch`` control is fine-tuned once per (task, seed). The table gives, per N,
the validation MLM accuracy of the LM, the test MCC of both models and the paired difference
pretrained - scratch per (task, seed), with the mean over tasks and seeds and its 95% t
interval. A least-squares line of the mean difference against log10(N) says where it would
reach +0.1 (an extrapolation beyond the measured steps, reported as such).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from dnalm.benefit import pretraining_benefit
from dnalm.finetune import finetune, finetune_kwargs
from dnalm.pretrain import pretrain
from dnalm.settings import load_config
from scipy import stats as sps

TARGET = 0.1


def _t_interval(x: np.ndarray) -> tuple[float, float]:
    if len(x) < 2:
        return math.nan, math.nan
    half = sps.t.ppf(0.975, len(x) - 1) * np.std(x, ddof=1) / math.sqrt(len(x))
    return float(x.mean() - half), float(x.mean() + half)


def _val_acc(log_tsv: Path) -> float:
    log = pd.read_csv(log_tsv, sep="\t")
    val = log[log["split"] == "val"]
    return float(val["mlm_acc"].iloc[-1]) if len(val) else math.nan


def _finetune(wd: Path, out: Path, task: str, model: str, lm: Path, scratch: bool, seed: int,
              ft: dict) -> float:  # fmt: skip
    d = wd / "results" / "datasets" / task
    run = out / task / model / f"seed{seed}"
    if not (run / "metrics.json").is_file():
        finetune(d / "train.tsv.gz", d / "dev.tsv.gz", d / "test.tsv.gz", run, model,
                 lm_dir=lm, scratch=scratch, seed=seed, task=task, num_threads=2,
                 verbose=False, **finetune_kwargs(ft, model))  # fmt: skip
    return float(json.loads((run / "metrics.json").read_text())["mcc"])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--workdir", type=Path, required=True)
    ap.add_argument("--out", type=Path, default=None, help="default: <workdir>/bench_benefit")
    ap.add_argument("--steps", type=int, nargs="+", default=[100, 300, 1000])
    ap.add_argument(
        "--tasks", nargs="+", default=["tf_ctcf_scarce", "tf_p53_scarce", "splice_scarce"]
    )
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    ap.add_argument("--preset", default="demo")
    ap.add_argument("--max-tokens", type=int, default=128)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument(
        "--lr",
        type=float,
        default=None,
        help="fine-tuning lr of both BERT models (default: the config's finetune.lr.bert)",
    )
    ap.add_argument(
        "--summarise-only",
        action="store_true",
        help="train nothing: tabulate the LMs and fine-tuning runs already under --out",
    )
    args = ap.parse_args(argv)
    wd = args.workdir.resolve()
    out = (args.out or wd / "bench_benefit").resolve()
    cfg = load_config(yaml.safe_load((wd / "config" / "config.yaml").read_text()))
    ft = cfg.finetune.model_dump(mode="json")
    if args.lr is not None:
        ft["lr"]["bert"] = args.lr
    shards = wd / "results" / "corpus" / cfg.tasks[args.tasks[0]].genome / "shards"
    rows = []
    scratch: dict[tuple[str, int], float] = {}
    lm0 = None
    for n in sorted(args.steps):
        preset = cfg.pretrain_presets[args.preset].model_dump(mode="json")
        preset.update(steps=n, warmup_steps=max(1, n // 10), checkpoint_every=n,
                      max_tokens=args.max_tokens)  # fmt: skip
        lm = out / f"lm_{n}"
        t0 = time.perf_counter()
        if args.summarise_only and not (lm / "model" / "config.json").is_file():
            continue
        if not (lm / "model" / "config.json").is_file():
            pretrain(shards, lm / "model", lm / "ckpt", lm / "train_log.tsv", lm / "curves.png",
                     k=6, size="tiny", preset=preset, threads=args.threads, verbose=False)  # fmt: skip
        pre_s = time.perf_counter() - t0
        print(f"pretrained {n} steps in {pre_s:.0f} s", flush=True)
        acc = _val_acc(lm / "train_log.tsv")
        lm0 = lm0 or lm / "model"
        for task in args.tasks:
            for seed in args.seeds:
                done = [out / sub / task / m / f"seed{seed}" / "metrics.json"
                        for sub, m in (("scratch", "lm-scratch"), (f"steps{n}", "lm"))]  # fmt: skip
                if args.summarise_only and not all(p.is_file() for p in done):
                    continue
                if (task, seed) not in scratch:
                    scratch[(task, seed)] = _finetune(
                        wd, out / "scratch", task, "lm-scratch", lm0, True, seed, ft
                    )
                mcc = _finetune(wd, out / f"steps{n}", task, "lm", lm / "model", False, seed, ft)
                rows.append({"steps": n, "val_mlm_acc": acc, "pretrain_s": round(pre_s),
                             "task": task, "seed": seed, "mcc_pretrained": mcc,
                             "mcc_scratch": scratch[(task, seed)],
                             "delta": mcc - scratch[(task, seed)]})  # fmt: skip
                print(json.dumps(rows[-1]), flush=True)
    table = pd.DataFrame(rows)
    table.to_csv(out / "benefit_by_steps.tsv", sep="\t", index=False)
    summ = []
    for n, g in table.groupby("steps"):
        lo, hi = _t_interval(g["delta"].to_numpy())
        per_task = g.groupby("task")["delta"].mean().round(3).to_dict()
        summ.append({"steps": n, "val_mlm_acc": g["val_mlm_acc"].iloc[0], "n": len(g),
                     "delta_mean": g["delta"].mean(), "lo": lo, "hi": hi,
                     "tasks_ge_target": sum(v >= TARGET for v in per_task.values()),
                     "per_task": per_task})  # fmt: skip
    summ = pd.DataFrame(summ)
    print(summ.to_markdown(index=False, floatfmt=".3f"))
    if len(summ) >= 2:
        x = np.log10(summ["steps"].to_numpy(float))
        slope, icpt = np.polyfit(x, summ["delta_mean"].to_numpy(float), 1)
        cross = 10 ** ((TARGET - icpt) / slope) if slope > 0 else math.inf
        print(f"fit: delta = {icpt:.3f} + {slope:.3f} * log10(steps); +{TARGET} at "
              f"~{cross:.0f} steps (extrapolated)" if math.isfinite(cross) else
              f"fit: delta = {icpt:.3f} + {slope:.3f} * log10(steps); no upward trend")  # fmt: skip
    summ.to_csv(out / "benefit_summary.tsv", sep="\t", index=False)
    for n in sorted(args.steps):  # the rule's table and Fig. 6d figure for each LM
        runs = [out / sub / t / m / f"seed{s}" / "metrics.json" for t in args.tasks
                for s in args.seeds for sub, m in (("scratch", "lm-scratch"), (f"steps{n}", "lm"))]  # fmt: skip
        runs = [p for p in runs if p.is_file()]
        if any(p.parent.parent.name == "lm" for p in runs):  # this step count's LM was tuned
            pretraining_benefit(runs, out / f"benefit_steps{n}.tsv", out / f"benefit_steps{n}.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
