"""Benchmark summary: per-seed rows equal metrics.json, mean/sd rows, figures from real runs."""

import json

import numpy as np
import pandas as pd
import pytest
from dnalm.finetune import finetune
from dnalm.summary import build_summary

from tests.synth import make_lm, synth_splits

pytestmark = pytest.mark.usefixtures("torch_one_thread")


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Short real runs laid out as results/finetune/{task}/{model}/seed{s}/."""
    root = tmp_path_factory.mktemp("results")
    lm = make_lm(root / "lm", k=4)
    paths = []
    for task, n_classes in (("two", 2), ("three", 3)):
        splits = synth_splits(n_classes=n_classes, n_train=90, n_eval=30, seed=5)
        for model in ("tiny", "tiny-scratch", "kmer_lr"):
            for seed in (1, 2):
                d = root / "finetune" / task / model / f"seed{seed}"
                kw = (
                    {"lm_dir": lm, "scratch": model.endswith("scratch")}
                    if model != "kmer_lr"
                    else {}
                )
                finetune(*splits, d, model, epochs=1, batch_size=16, lr=1e-3, seed=seed,
                         task=task, evals_per_epoch=3, **kw)  # fmt: skip
                paths.append(d / "metrics.json")
    return root, paths


def test_table_rows_and_aggregates(tmp_path, runs):
    root, paths = runs
    out = tmp_path / "summary"
    table = build_summary(paths, out / "benchmarks.tsv", out / "mcc.png", out / "roc_pr.png",
                          out / "curves.png")  # fmt: skip
    disk = pd.read_csv(out / "benchmarks.tsv", sep="\t", dtype={"seed": str})
    assert len(disk) == len(table) == 12 + 2 * 6
    assert list(disk.columns[:4]) == ["task", "model", "seed", "n_seeds"]
    for p in paths:
        m = json.loads(p.read_text())
        row = disk[
            (disk.task == m["task"]) & (disk.model == m["model"]) & (disk.seed == str(m["seed"]))
        ]
        assert len(row) == 1
        for key in ("mcc", "auroc", "accuracy", "f1"):
            assert row[key].iloc[0] == pytest.approx(m[key], rel=1e-5, abs=1e-6)
    g = disk[(disk.task == "three") & (disk.model == "tiny")]
    per_seed = g[g.seed.isin(["1", "2"])]["mcc"].to_numpy()
    assert g[g.seed == "mean"]["mcc"].iloc[0] == pytest.approx(per_seed.mean(), abs=1e-5)
    assert g[g.seed == "sd"]["mcc"].iloc[0] == pytest.approx(np.std(per_seed, ddof=1), abs=1e-5)
    assert (g[g.seed == "mean"]["n_seeds"] == 2).all()
    # every metric has a 95% interval and n next to it
    for m in ("accuracy", "precision", "recall", "f1", "mcc", "auroc", "auprc"):
        assert {f"{m}_lo", f"{m}_hi"} <= set(disk.columns)
    runs_ = disk[disk.seed.isin(["1", "2"])]
    assert (runs_["mcc_lo"] <= runs_["mcc_hi"]).all() and (runs_["n_test"] == 30).all()
    mean = disk[disk.seed == "mean"]
    assert ((mean["mcc_lo"] <= mean["mcc"] + 1e-9) & (mean["mcc"] <= mean["mcc_hi"] + 1e-9)).all()
    for name in ("mcc.png", "roc_pr.png", "curves.png"):
        data = (out / name).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000


def test_bad_metrics_file_is_named(tmp_path):
    p = tmp_path / "metrics.json"
    p.write_text('{"task": "t"}')
    with pytest.raises(ValueError, match=r"metrics.json: missing key"):
        build_summary([p], tmp_path / "b.tsv")
    assert not (tmp_path / "b.tsv").exists()
