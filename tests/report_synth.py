"""A small synthetic ``results/`` tree for report tests: every stage's files in their real formats.

Fine-tuning runs are written as ``metrics.json`` + ``predictions.tsv.gz`` + ``train_log.tsv``
from seeded random predictions whose signal strength is set per model (so the pretrained model
measurably beats its scratch control on ``tf_a``); the benchmark table and comparisons are then
made by the real :func:`dnalm.summary.build_summary`. Interpretation stages get small
``summary.json`` / ``matches.tsv`` / ``clinvar.tsv`` files.
"""

from __future__ import annotations

import gzip
import json
import zlib
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from dnalm.metrics import classification_metrics

LM = "dnabert6_tiny"
#: task -> (kind, genome, n_classes, n_test); names and genomes of the demo config
TASKS = {
    "prom_core_tata": ("promoter", "demo_hs", 2, 120),
    "tf_ctcf": ("tfbs", "demo_hs", 2, 160),
    "splice": ("splice", "demo_hs", 3, 150),
    "tf_mm_ctcf": ("tfbs", "demo_mm", 2, 100),
}
ATTENTION_TASKS = ("prom_core_tata", "tf_ctcf")
MOTIF_TASK = VARIANT_TASK = "tf_ctcf"
#: model -> signal strength of its predictions (a logit shift per true class)
SIGNAL = {LM: 2.5, f"{LM}-scratch": 0.6, "cnn": 1.5}
SEEDS = (1, 2, 3)


def _run(d: Path, task: str, model: str, seed: int, n_classes: int, n: int) -> Path:
    rng = np.random.default_rng(zlib.crc32(f"{task}|{model}|{seed}".encode()))
    y = np.arange(n) % n_classes
    logits = rng.normal(0, 1, (n, n_classes))
    logits[np.arange(n), y] += SIGNAL[model]
    p = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    d.mkdir(parents=True, exist_ok=True)
    pred = pd.DataFrame({"split": "test", "index": np.arange(n), "label": y, "pred": p.argmax(1)})
    for c in range(n_classes):
        pred[f"p{c}"] = p[:, c]
    with gzip.open(d / "predictions.tsv.gz", "wt") as fh:
        pred.to_csv(fh, sep="\t", index=False)
    m = classification_metrics(y, p)
    m.update(task=task, model=model, seed=seed, n_test=n, n_train=4 * n, n_dev=n,
             n_classes=n_classes, dev_mcc=m["mcc"], init="pretrained")
    (d / "metrics.json").write_text(json.dumps(m))
    steps = np.arange(1, 11) * 10
    pd.DataFrame({"epoch": steps // 50, "step": steps, "train_loss": 1 / steps,
                  "dev_loss": 1 / steps + 0.1, "dev_mcc": 1 - 1 / steps, "lr": 1e-4}
                 ).to_csv(d / "train_log.tsv", sep="\t", index=False)  # fmt: skip
    return d / "metrics.json"


def write_runs(root: Path) -> list[Path]:
    """Cards and fine-tuning runs under ``root/results``; returns the ``metrics.json`` paths."""
    r = root / "results"
    paths = []
    for task, (kind, genome, n_classes, n) in TASKS.items():
        card = {"task": task, "kind": kind, "genome": genome, "n_classes": n_classes,
                "labels": list(range(n_classes)),
                "counts": {"train": {str(c): 40 for c in range(n_classes)},
                           "dev": {str(c): n // n_classes for c in range(n_classes)},
                           "test": {str(c): n // n_classes for c in range(n_classes)}}}  # fmt: skip
        (r / "datasets" / task).mkdir(parents=True, exist_ok=True)
        (r / "datasets" / task / "card.json").write_text(json.dumps(card))
        for model in SIGNAL:
            for seed in SEEDS:
                paths.append(_run(r / "finetune" / task / model / f"seed{seed}", task, model,
                                  seed, n_classes, n))  # fmt: skip
    return paths


def write_results(root: Path, learning_check: bool = True, summary: bool = True) -> list[Path]:
    """Write the whole tree under ``root/results``; returns the ``metrics.json`` paths.

    ``summary=False`` leaves out what the report rules make themselves (``results/summary/``).
    """
    from dnalm.summary import build_summary

    r = root / "results"
    paths = write_runs(root)
    if summary:
        s = r / "summary"
        build_summary(paths, s / "benchmarks.tsv", s / "mcc.png", s / "roc_pr.png",
                      s / "curves.png", comparisons_tsv=s / "comparisons.tsv")  # fmt: skip
        (s / "config.yaml").write_text(
            yaml.safe_dump({"language_models": {LM: {"genome": "demo_hs"}}}))
    model_dir = r / "pretrain" / LM / "model"
    model_dir.mkdir(parents=True, exist_ok=True)
    if learning_check:
        (model_dir / "learning_check.json").write_text(json.dumps(
            {"verdict": "learns", "reason": "accuracy margin clears 0.05",
             "val_mlm_acc": 0.281, "val_mlm_acc_ci95": [0.27, 0.29], "kmer_baseline_acc": 0.021,
             "acc_margin": 0.26, "acc_margin_ci95": [0.25, 0.27], "val_mlm_loss": 3.1,
             "kmer_baseline_loss": 8.2, "n_tokens": 20480, "n_sequences": 310, "step": 300}))
    for task in ATTENTION_TASKS:
        att = r / "attention" / task / LM
        att.mkdir(parents=True, exist_ok=True)
        (att / "scores.npz").write_bytes(b"")
        land = {"coordinates": "window_centre", "peak_position": 2, "pvalue": 0.004,
                "n_positive": 80, "n_negative": 80, "n_permutations": 1000,
                "position": list(range(-50, 51))}  # fmt: skip
        if TASKS[task][0] == "promoter":
            land.update(coordinates="tss", peak_position=-29, pvalue=0.001, n_positive=60,
                        position=list(range(-70, 30)),
                        n_negative=60, tata_claim={"at": -30, "window": [-35, -20],
                                                   "margin": 20, "alpha": 0.01, "room": True,
                                                   "holds": True})  # fmt: skip
        (att / "summary.json").write_text(json.dumps({
            "status": "ok", "reason": "12 regions", "landscape": land,
            "site_auroc": {"auroc": 0.83, "ci_low": 0.78, "ci_high": 0.88, "n_rows": 60},
        }))  # fmt: skip
    mot = r / "motifs" / MOTIF_TASK / LM
    mot.mkdir(parents=True, exist_ok=True)
    pd.DataFrame({"query": ["motif1_CCGCGG", "motif1_CCGCGG", "motif2_ATATAA", "motif2_ATATAA"],
                  "target": ["CTCF_like", "p53_like", "CTCF_like", "p53_like"],
                  "offset": 0, "overlap": 6, "strand": "+",
                  "p": [1e-20, 0.3, 0.2, 0.4], "E": [4e-20, 1.2, 0.8, 1.6],
                  "q": [8e-19, 0.6, 0.4, 0.6]}).to_csv(mot / "matches.tsv", sep="\t", index=False)
    (mot / "motifs.meme").write_text(
        "MEME version 4\n\nMOTIF motif1_CCGCGG padj=1e-9\nletter-probability matrix: "
        "alength= 4 w= 2 nsites= 37\n0.25 0.25 0.25 0.25\n0.25 0.25 0.25 0.25\n"
    )
    var = r / "variants" / VARIANT_TASK / LM
    var.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(3)
    cls = np.array(["pathogenic"] * 30 + ["benign"] * 50 + ["uncertain"] * 5)
    score = np.where(cls == "pathogenic", 2.0, 0.0) + rng.normal(0, 1, cls.size)
    pd.DataFrame({"clinvar_class": cls, "score": score}).to_csv(var / "clinvar.tsv", sep="\t",
                                                               index=False)  # fmt: skip
    (var / "summary.json").write_text(json.dumps({
        "n_scored": 900, "n_significant_fdr": 14, "fdr": 0.05, "n_null": 5000,
        "enrichment": {"fisher_pvalue": 2e-8},
        "zero_shot_auroc": {"auroc": 0.61, "ci": [0.48, 0.73], "n_pathogenic": 30,
                            "n_benign": 50, "direction": "no separation (CI contains 0.5)"},
        "significant_fdr_by_class": {"pathogenic": {"n": 30, "n_significant": 12},
                                     "benign": {"n": 50, "n_significant": 0}}}))  # fmt: skip
    return paths
