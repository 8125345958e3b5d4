"""End-to-end checks on the one shared demo run: report, single-benchmark rerun, reproducibility,
cross-organism fine-tuning, and the summary table."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pandas as pd
import pytest
import yaml
from dnalm.reporting import CATEGORIES

from tests.chromium import dump_dom, find_chromium, front_page_layout, screenshot
from tests.e2e_demo import snakemake
from tests.workflow_copy import copy_workflow

pytestmark = pytest.mark.slow

# The paper's figure order, "0 Overview" first; the demo has no imported task ("other").
REPORT_CATEGORIES = tuple(v for k, v in CATEGORIES.items() if k != "other")


def _job_counts(text: str) -> dict[str, int]:
    """Rule -> job count from Snakemake's 'Job stats' table."""
    m = re.search(r"Job stats:\n(.*?)\n\n", text, re.S)
    assert m, text[-3000:]
    counts = {}
    for line in m.group(1).splitlines()[2:]:
        parts = line.split()
        if len(parts) == 2 and parts[1].isdigit() and parts[0] != "total":
            counts[parts[0]] = int(parts[1])
    return counts


def test_report_renders_in_chromium(demo_dag, tmp_path: Path) -> None:
    find_chromium()
    report = demo_dag.path("results/report.html")
    assert report.stat().st_size > 100_000
    dom = dump_dom(report, tmp_path / "profile")
    assert dom.returncode == 0, dom.stderr[-3000:]
    html = dom.stdout
    for cat in REPORT_CATEGORIES:
        assert cat in html, f"report category {cat!r} not rendered"
    assert "What this run shows" in html and "Headline: test MCC" in html  # the front page
    assert "Uncaught" not in dom.stderr, dom.stderr[-3000:]
    shot = screenshot(report, tmp_path / "report.png", tmp_path / "profile")
    assert shot.exists() and shot.stat().st_size > 10_000
    # the demo's 5-model headline table is not drawn under the rule graph (it was, 1487 > 1200)
    at = front_page_layout(report, tmp_path)
    assert at["table"] is not None and at["graph"] is not None, at
    assert at["table"] <= at["graph"], at


def test_rerun_one_benchmark_runs_exactly_that_job(demo_dag) -> None:
    # The README's command: one (task, model, seed) job plus its downstream summary (the table,
    # the per-section figures and the report's front page), nothing else.
    target = "results/finetune/tf_ctcf/cnn/seed1/metrics.json"
    before = json.loads(demo_dag.path(target).read_text())
    r = snakemake(demo_dag.workdir, "--cores", "2", "--forcerun", target)
    assert r.returncode == 0, (r.stdout + r.stderr)[-4000:]
    counts = _job_counts(r.stdout + r.stderr)
    counts.pop("all", None)
    assert counts.pop("baseline_finetune") == 1 and counts.pop("summary_build") == 1, counts
    assert counts.pop("report_overview", 1) == 1
    # the model's own consumers downstream: its attribution maps (both methods in one job), their
    # bigWig, one TF-MoDISco job per method and the task's attention-vs-attribution table; and,
    # as the cnn is the demo's `variants.classifier`, the task's variant scores (3 shards + gather)
    downstream = {"attribution_maps": 1, "attribution_bigwig": 1, "attribution_motifs": 2,
                  "interpretation_summary": 1, "variant_score_shard": 3, "variant_score": 1}  # fmt: skip
    assert {k: counts.pop(k, 0) for k in downstream} == downstream, counts
    assert set(counts) <= {"summary_section"}, counts  # one per report section, nothing upstream
    after = json.loads(demo_dag.path(target).read_text())
    assert {k: v for k, v in before.items() if k != "runtime_s"} == {
        k: v for k, v in after.items() if k != "runtime_s"
    }


def test_a_config_edit_rewrites_the_reports_resolved_config(demo_dag, tmp_path: Path) -> None:
    """report_tables dumped Snakemake's global config, which no rerun trigger sees: after a config
    edit its config.yaml (and the front page's genome per language model) kept the old values."""
    target = "results/summary/config.yaml"
    r = snakemake(demo_dag.workdir, "-n", target)
    assert r.returncode == 0 and "Nothing to be done" in r.stdout + r.stderr, (r.stdout + r.stderr)[-3000:]
    edit = tmp_path / "lr.yaml"
    edit.write_text("pretrain_presets:\n  demo:\n    lr: 0.002\n")
    r = snakemake(demo_dag.workdir, "-n", target, "--configfile", str(edit))
    assert r.returncode == 0, (r.stdout + r.stderr)[-3000:]
    assert _job_counts(r.stdout + r.stderr).get("report_tables") == 1, (r.stdout + r.stderr)[-3000:]


def test_retraining_a_language_model_does_not_rerun_its_scratch_controls(demo_dag) -> None:
    """A -scratch control reads only the architecture from its LM's directory: retraining the LMs
    (a new lr or step count; here forced) reruns their fine-tunes, not the random-init controls
    (they reran too, doubling the fine-tuning cost of every retrain)."""
    r = snakemake(demo_dag.workdir, "-n", "--cores", "2", "--forcerun", "bert_pretrain", "gpt_pretrain")
    out = r.stdout + r.stderr
    assert r.returncode == 0, out[-3000:]
    planned = {m for m in re.findall(r"^rule (?:bert|gpt)_finetune:.*?wildcards: task=\S+, model=(\S+?),",
                                     out, re.M | re.S)}  # fmt: skip
    cfg = yaml.safe_load(demo_dag.path("config/config.yaml").read_text())
    assert planned == set(cfg["language_models"]), out[-3000:]  # each LM's runs, no -scratch


def test_summary_covers_every_task_model_seed(demo_dag) -> None:
    cfg = yaml.safe_load(demo_dag.path("config/config.yaml").read_text())
    df = pd.read_csv(demo_dag.path("results/summary/benchmarks.tsv"), sep="\t")
    runs = df[df["seed"].astype(str).str.fullmatch(r"\d+")]
    want = {(t, m) for t, spec in cfg["tasks"].items() if spec["kind"] != "expression"  # regression: no classifier
            for m in spec.get("models", cfg["finetune"]["models"])}  # fmt: skip
    assert set(zip(runs["task"], runs["model"], strict=True)) == want
    # The planted signals are learnable: baselines and fine-tuned BERT beat chance on CTCF.
    ctcf = runs[runs["task"] == "tf_ctcf"].set_index("model")["mcc"].astype(float)
    assert ctcf["cnn"] > 0.5 and ctcf["dnabert6_tiny"] > 0.5, ctcf.to_dict()


def test_expression_ridge_baseline(demo_dag) -> None:
    # The simulated expression is tied to planted promoter features: the k-mer ridge recovers it
    # (measured outside the DAG on the same world: test Pearson r 0.87 [0.79, 0.92], n = 50).
    m = json.loads(demo_dag.path("results/finetune/expression/kmer_ridge/seed1/metrics.json").read_text())
    assert m["n"] == 50 and m["pearson_r"] > 0.5 and m["ci"]["r2"][0] > 0.2, m


def test_cross_organism_finetuning(demo_dag) -> None:
    # The human-like pretrained LM fine-tuned on the mouse-like TF task (paper Fig. 6f).
    m = json.loads(demo_dag.path("results/finetune/tf_mm_ctcf/dnabert6_tiny/seed1/metrics.json").read_text())
    card = json.loads(demo_dag.path("results/datasets/tf_mm_ctcf/card.json").read_text())
    assert "demo_mm" in json.dumps(card)
    assert m["mcc"] > 0.3, m


def _digest(paths: list[Path]) -> dict[str, str]:
    return {p.name if p.parent.name in ("",) else f"{p.parent.name}/{p.name}":
            hashlib.sha256(p.read_bytes()).hexdigest() for p in paths}


def test_rerun_from_scratch_is_identical(demo_dag, tmp_path: Path) -> None:
    """Same seed, fresh directory: datasets byte-identical, CPU metrics identical."""
    cfg = yaml.safe_load(demo_dag.path("config/config.yaml").read_text())
    work = copy_workflow(tmp_path / "again")
    targets = [f"results/datasets/{t}/{s}.tsv.gz" for t in cfg["tasks"] for s in ("train", "dev", "test")]
    targets += [f"results/datasets/{t}/card.json" for t in cfg["tasks"]]
    metrics = ["results/finetune/tf_ctcf/cnn/seed1/metrics.json",
               "results/finetune/prom_core_tata/cnn/seed1/metrics.json"]
    r = snakemake(work, "--cores", "2", *targets, *metrics)
    assert r.returncode == 0, (r.stdout + r.stderr)[-4000:]
    for t in targets:
        assert (work / t).read_bytes() == demo_dag.path(t).read_bytes(), t
    for t in metrics:
        a = json.loads((work / t).read_text())
        b = json.loads(demo_dag.path(t).read_text())
        a.pop("runtime_s", None)
        b.pop("runtime_s", None)
        assert a == b, t
