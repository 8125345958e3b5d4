"""How the demo DAG is scheduled on 2 cores: rule priorities and threads (README, demo wall time).

The demo is bound by its total job time (about 2,700 job-seconds on 2 cores), so two things set
its wall time: every core busy (small-model rules take one thread, so two jobs share the cores)
and the long chains started first (the BERT pretraining that every BERT fine-tuning and the
attention, variant, motif and attribution stages wait for; then the GPT pretraining and its
expression regression, the longest single job). A dry run shows both per job.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

# Rules that run small CPU models: one thread each, so two jobs share the demo's 2 cores.
ONE_THREAD = ("bert_finetune", "baseline_finetune", "gpt_finetune", "gpt_regress",
              "attention_extract", "attribution_maps", "attribution_motifs", "variant_score_shard",
              "dnalm_predict", "dnalm_embed", "dnalm_scan", "dnalm_score")  # fmt: skip


def _jobs(text: str) -> list[dict]:
    """Rule name, priority and threads of each job in a dry run's output (defaults 0 and 1)."""
    jobs: list[dict] = []
    for block in re.split(r"\n(?=(?:local)?(?:rule|checkpoint) \w+:)", text):
        m = re.match(r"(?:local)?(?:rule|checkpoint) (\w+):", block)
        if not m:
            continue
        prio = re.search(r"^\s+priority: (-?\d+)$", block, re.M)
        threads = re.search(r"^\s+threads: (\d+)$", block, re.M)
        jobs.append({"rule": m.group(1), "priority": int(prio.group(1)) if prio else 0,
                     "threads": int(threads.group(1)) if threads else 1})  # fmt: skip
    return jobs


@pytest.fixture(scope="module")
def demo_jobs() -> dict[str, dict]:
    """The demo's jobs on 2 cores (a forced dry run), one entry per rule (its settings agree)."""
    r = subprocess.run([sys.executable, "-m", "snakemake", "--cores", "2", "-n", "--forceall"],
                       cwd=REPO, capture_output=True, text=True, timeout=300)  # fmt: skip
    assert r.returncode == 0, (r.stdout + r.stderr)[-4000:]
    by_rule: dict[str, dict] = {}
    for job in _jobs(r.stdout + r.stderr):
        seen = by_rule.setdefault(job["rule"], job)
        assert seen == job, (seen, job)  # a rule's priority and threads do not vary by job
    return by_rule


def test_parse_dry_run_jobs() -> None:
    text = ("[Fri Nov 27 21:46:50 2026]\nrule bert_pretrain:\n    jobid: 39\n    priority: 50\n"
            "    threads: 2\n    resources: tmpdir=/tmp\n[Fri Nov 27 21:46:50 2026]\n"
            "localrule all:\n    jobid: 0\n")  # fmt: skip
    assert _jobs(text) == [{"rule": "bert_pretrain", "priority": 50, "threads": 2},
                           {"rule": "all", "priority": 0, "threads": 1}]  # fmt: skip


def test_long_chains_start_first(demo_jobs) -> None:
    p = {rule: job["priority"] for rule, job in demo_jobs.items()}
    # the BERT pretraining's input is as urgent as it is (corpus_shard too: its jobs come after
    # checkpoint genome_prepare, so a dry run does not list them)
    assert p["corpus_stats"] == p["bert_pretrain"], p
    assert p["bert_pretrain"] > p["gpt_pretrain"] > p["gpt_regress"] > p["bert_finetune"] > 0, p
    # the baselines are leaves (mostly): they fill the cores around the chains
    assert p["baseline_finetune"] == 0, p


@pytest.mark.parametrize("rule", ONE_THREAD)
def test_small_model_rules_take_one_thread(demo_jobs, rule) -> None:
    assert demo_jobs[rule]["threads"] == 1, demo_jobs[rule]


def test_pretraining_takes_both_cores(demo_jobs) -> None:
    # 2 threads (bert_pretrain's 4 scaled down to the 2 cores), as the demo presets were measured
    # with: a thread count can change the order of float reductions, so the pretrained weights
    assert demo_jobs["bert_pretrain"]["threads"] == 2
    assert demo_jobs["gpt_pretrain"]["threads"] == 2
