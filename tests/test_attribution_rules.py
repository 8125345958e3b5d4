"""Rules attribution_maps + attribution_bigwig run through Snakemake on prepared inputs (no demo DAG)."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import torch
import yaml
from dnalm.attribution.npz import read_attribution
from dnalm.baselines import build_baseline
from dnalm.dataset import Example, dataset_card, write_card, write_split
from dnalm.modeling import save_classifier_dir

from tests.workflow_copy import REPO, copy_workflow

L = 101


def test_rules_write_the_contract(tmp_path):
    import pyBigWig

    wf = copy_workflow(tmp_path / "wf")
    cfg = yaml.safe_load((REPO / "config/config.yaml").read_text())
    cfg["attribution"] = {"tasks": ["tf_ctcf"], "models": ["cnn"], "methods": ["ism", "ig"],
                          "max_sequences": 3, "batch_size": 64, "ig_steps": 4, "n_shuffles": 1, "seed": 1}
    (wf / "test_config.yaml").write_text(yaml.safe_dump(cfg))
    rng = np.random.default_rng(0)
    rows = [Example("".join(rng.choice(list("ACGT"), L)), i % 2, "chr1", 500 + 60 * i, 500 + 60 * i + L,
                    "+", f"r{i}") for i in range(8)]
    ds = wf / "results/datasets/tf_ctcf"
    ds.mkdir(parents=True)
    write_split(rows, ds / "test.tsv.gz")
    card = dataset_card("tf_ctcf", {"kind": "tfbs", "genome": "demo_hs"}, {"test": rows}, None)
    write_card(card, ds / "card.json")
    run = wf / "results/finetune/tf_ctcf/cnn/seed1"
    torch.manual_seed(0)
    save_classifier_dir(build_baseline("cnn", 2), run / "model", k=None, labels=["0", "1"], card=card,
                        readme="toy\n", name="cnn")
    (run / "metrics.json").write_text(json.dumps({"mcc": 0.0}))
    g = wf / "resources/genomes/demo_hs"
    g.mkdir(parents=True)
    (g / "genome.fa.gz.fai").write_text("chr1\t5000\t6\t60\t61\nchr2\t3000\t5100\t60\t61\n")
    d = "results/attribution/tf_ctcf/cnn/seed1"
    targets = [f"{d}/ism.bw", f"{d}/ig.bw"]
    proc = subprocess.run(
        [sys.executable, "-m", "snakemake", "--cores", "1", "--configfile", "test_config.yaml",
         "--allowed-rules", "attribution_maps", "attribution_bigwig", "--", *targets],
        cwd=wf, capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    for method in ("ism", "ig"):
        a = read_attribution(wf / d / f"{method}.npz")
        assert a["hyp"].shape == (3, L, 4) and (a["label"] == 1).all()
        assert json.loads((wf / d / f"{method}.json").read_text())["model_kind"] == "onehot"
        bw = pyBigWig.open(str(wf / d / f"{method}.bw"))
        try:
            s = int(a["start"][0])
            assert bw.values("chr1", s, s + L) == pytest.approx(a["attr"][0].tolist(), abs=1e-5)
        finally:
            bw.close()
    log = (wf / "logs/attribution_maps/tf_ctcf/cnn/seed1.log").read_text()
    assert "ism of 3/4 test positives" in log and "IG completeness" in log
