"""Does the LM learn? Validation MLM loss/accuracy against the k-mer baseline, per preset.

Run from the repository root::

    python -m bench.bench_learning --corpus demo                   # the demo world (simulated here)
    python -m bench.bench_learning --corpus hg38 --fasta ../shared/data/real/hg38_chr2_1-2333275.fa.gz
    python -m bench.bench_learning --presets demo:tiny old:tiny    # presets from config/config.yaml
                                                                   # or PRESETS below

Each preset is trained with :func:`dnalm.pretrain.pretrain` (k = 6) on the corpus shards built
as the workflow builds them (``corpus`` section of ``config/config.yaml``); validation runs every
``--every`` steps, so ``train_log.tsv`` holds the learning curve of the model and of the k-mer
frequency baseline on the same masked positions. The table printed (and written as
``learning.tsv`` in ``--out``) has one row per preset and validation step: val loss and
accuracy, the baseline's, the accuracy margin with its 95% bootstrap CI over validation
sequences (:func:`dnalm.pretrain.learning_check`, last step), the number of masked validation
tokens, and the run's process CPU and wall seconds (wall seconds depend on the machine's load;
CPU seconds / threads approximates the wall time of a quiet machine).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import yaml

ROOT = Path(__file__).resolve().parents[1]

#: Presets measured besides those of config/config.yaml: ``old`` is the demo preset before the
#: learning check (300 steps x 32 sequences, lr 1e-3, DNABERT's dropout 0.1).
PRESETS: dict[str, dict] = {
    "old": {"steps": 300, "batch_size": 32, "lr": 1.0e-3, "warmup_steps": 30,
            "mask_schedule": [[0, 0.15]], "log_every": 10},
}


def build_corpus(kind: str, work: Path, fasta: str | None) -> Path:
    """Corpus shards of the demo world (simulated) or of a FASTA, as the workflow builds them."""
    from dnalm.corpus import build_corpus_shard
    from dnalm.genome import prepare_genome

    corpus_cfg = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())["corpus"]
    shards = work / kind / "shards"
    if kind == "demo":
        from dnalm.sim import simulate_world

        simulate_world(work / kind / "world", preset="human", seed=7)
        fasta = str(work / kind / "world" / "genome.fa.gz")
    if fasta is None:
        raise SystemExit("--fasta is required unless --corpus demo")
    prepare_genome(fasta, work / kind / "genome", "^chr([0-9]+|X|Y)$", verbose=False)
    for line in (work / kind / "genome" / "chrom.sizes").read_text().splitlines():
        chrom = line.split("\t")[0]
        build_corpus_shard(work / kind / "genome" / "genome.fa.gz", chrom,
                           shards / f"{chrom}.seq.npy", shards / f"{chrom}.idx.npy",
                           out_meta=shards / f"{chrom}.meta.json", **corpus_cfg)
    return shards


def run_preset(name: str, size: str, preset: dict, shards: Path, out: Path, every: int,
               threads: int) -> pd.DataFrame:
    """Train one preset; its validation rows with baseline, margin CI, tokens and CPU seconds."""
    from dnalm.pretrain import pretrain, read_learning_check

    preset = {**preset, "checkpoint_every": every, "keep_checkpoints": 1}
    d = out / f"{name}_{size}"
    cpu0, wall0 = time.process_time(), time.perf_counter()
    pretrain(shards, d / "model", d / "checkpoints", d / "train_log.tsv", d / "curves.png", k=6,
             size=size, preset=preset, threads=threads, verbose=False)
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    log = pd.read_csv(d / "train_log.tsv", sep="\t")
    val = log[log.split == "val"].copy()
    check = read_learning_check(d / "model")
    val.insert(0, "preset", f"{name}:{size}")
    val["acc_margin"] = val.mlm_acc - val.baseline_acc
    val["acc_margin_ci95"] = ""
    val.loc[val.index[-1], "acc_margin_ci95"] = "{:.4f}..{:.4f}".format(*check["ci95"]["acc_margin"])
    val["verdict"] = ""
    val.loc[val.index[-1], "verdict"] = check["verdict"]
    val["n_tokens"] = check["n_tokens"]
    val["cpu_s_total"] = round(cpu, 1)
    val["wall_s_total"] = round(wall, 1)
    (d / "check.json").write_text(json.dumps(check, indent=2) + "\n")
    return val[["preset", "step", "loss", "mlm_acc", "baseline_loss", "baseline_acc", "acc_margin",
                "acc_margin_ci95", "verdict", "n_tokens", "cpu_s_total", "wall_s_total"]]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--corpus", default="demo", help="demo (simulated here) or a name for --fasta")
    ap.add_argument("--fasta", default=None, help="FASTA (bgzip + .fai/.gzi) for a real corpus")
    ap.add_argument("--presets", nargs="+", default=["demo:tiny"],
                    help="name:size; names from config/config.yaml pretrain_presets or PRESETS")
    ap.add_argument("--every", type=int, default=100, help="validate every N steps")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", default=None, help="output folder (default: a temporary one)")
    args = ap.parse_args(argv)

    cfg = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    known = {**PRESETS, **cfg["pretrain_presets"]}
    out = Path(args.out or tempfile.mkdtemp(prefix="bench_learning_"))
    shards = build_corpus(args.corpus, out, args.fasta)
    tables = []
    for spec in args.presets:
        name, _, size = spec.partition(":")
        if name not in known:
            raise SystemExit(f"unknown preset {name!r}; known: {sorted(known)}")
        tables.append(run_preset(name, size or "tiny", known[name], shards, out, args.every,
                                 args.threads))
        table = pd.concat(tables, ignore_index=True)
        table.to_csv(out / "learning.tsv", sep="\t", index=False, float_format="%.4f")
        print(table.to_string(index=False, float_format=lambda x: f"{x:.4f}"), flush=True)
    print(f"wrote {out / 'learning.tsv'} (curves: {out}/<preset>_<size>/curves.png)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
