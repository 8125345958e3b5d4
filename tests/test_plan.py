"""dnalm.plan and the `plan` target: job counts equal Snakemake's own dry run, costs follow the
config (steps, throughputs, genome sizes), bad figures are named by config path, and the target
runs with no other job."""

from __future__ import annotations

import copy
import math
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from dnalm import plan as dplan
from dnalm.settings import BASELINES, ConfigError, deep_update, load_config, model_lm

from tests.workflow_copy import copy_workflow

REPO = Path(__file__).resolve().parents[1]


def _raw(name: str) -> dict:
    return yaml.safe_load((REPO / "config" / name).read_text())


def _snakemake(wf: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "snakemake", "--cores", "1", *args], cwd=wf,
                          capture_output=True, text=True, timeout=300)  # fmt: skip


def _job_stats(text: str) -> dict[str, int]:
    """The ``Job stats`` table of a dry run: rule -> count (without the total)."""
    block = text.split("Job stats:", 1)[1]
    counts: dict[str, int] = {}
    for line in block.splitlines()[3:]:
        m = re.fullmatch(r"(\S+)\s+(\d+)", line.strip())
        if m is None:
            break
        counts[m.group(1)] = int(m.group(2))
    assert counts.pop("total") == sum(counts.values())
    return counts


@pytest.fixture(scope="module")
def wf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh copy of the workflow (no results, so a dry run lists every job)."""
    return copy_workflow(tmp_path_factory.mktemp("plan") / "wf")


@pytest.mark.parametrize("name", ["config.yaml", "hg38.yaml"])
def test_job_counts_equal_the_dry_run(wf: Path, name: str) -> None:
    r = _snakemake(wf, "-n", "--quiet", "rules", "--configfile", f"config/{name}",
                   "--replace-workflow-config")  # fmt: skip
    assert r.returncode == 0, r.stdout + r.stderr
    dry = _job_stats(r.stdout + r.stderr)
    p = dplan.plan(load_config(_raw(name)))
    listed = {rule: n - p.deferred.get(rule, 0) for rule, n in p.jobs.items()}
    assert {k: v for k, v in listed.items() if v} == dry
    # jobs a checkpoint adds: one corpus shard per kept chromosome
    assert p.deferred["corpus_shard"] == (3 if name == "config.yaml" else 24)
    stages = p.stage_jobs()
    assert sum(stages.values()) == sum(p.jobs.values())
    assert stages["pretrain"] == 1 + len(load_config(_raw(name)).gpt_lms())  # + gpt_pretrain


def test_every_rule_belongs_to_a_stage(wf: Path) -> None:
    r = _snakemake(wf, "--list-rules")
    assert r.returncode == 0, r.stdout + r.stderr
    rules = [line.split()[0] for line in r.stdout.splitlines() if re.match(r"^[a-z_0-9]+\s*$", line)]
    assert "bert_pretrain" in rules and "plan" in rules
    for rule in rules:
        if rule not in ("plan", "plan_tables"):
            dplan.stage_of(rule)  # raises for a rule of no stage
    with pytest.raises(KeyError, match="no stage"):
        dplan.stage_of("made_up_rule")


def test_pretrain_gpu_hours_scale_with_steps() -> None:
    raw = _raw("hg38.yaml")
    one = dplan.plan(load_config(raw))
    doubled = copy.deepcopy(raw)
    for preset in ("paper", "dnagpt"):
        doubled["pretrain_presets"][preset]["steps"] *= 2
        doubled["pretrain_presets"][preset].pop("schedule_steps", None)  # the lr horizon must cover steps
    two = dplan.plan(load_config(doubled))
    assert two.gpu_hours["pretrain"] == pytest.approx(2 * one.gpu_hours["pretrain"], rel=1e-9)
    assert two.gpu_hours["finetune"] == pytest.approx(one.gpu_hours["finetune"])
    # by hand: BERT 120k steps x 2000 sequences x (mean piece 385 bp -> 382 6-mer tokens) / 220k tok/s;
    # GPT (dnagpt_s, costed at BERT-base's rate) 100k steps x 256 x (ceil(385 / 6) + 4 = 69 tokens)
    bert = 120_000 * 2000 * 382 / 2.2e5 / 3600
    gpt = 100_000 * 256 * 69 / 2.2e5 / 3600
    assert one.gpu_hours["pretrain"] == pytest.approx(bert + gpt, rel=1e-6)
    faster = copy.deepcopy(raw)
    faster["plan"]["gpu_tokens_per_s"] = {"tiny": 1e7, "small": 2.5e6, "base": 4.4e5, "baseline": 5e6}
    assert dplan.plan(load_config(faster)).gpu_hours["pretrain"] == pytest.approx(
        one.gpu_hours["pretrain"] / 2)


@pytest.mark.parametrize(("key", "value", "message"), [
    ("gpu_tokens_per_s", {"tiny": 1, "small": 1, "base": 0, "baseline": 1},
     r"`plan\.gpu_tokens_per_s\.base`: Input should be greater than 0"),
    ("cpu_tokens_per_s", {"tiny": 1, "small": 1, "base": 1, "baseline": 1, "huge": 2},
     r"`plan\.cpu_tokens_per_s\.huge`: unknown key"),
    ("cpu_tokens_per_s", {"tiny": 1, "small": 1, "base": 1},
     r"`plan\.cpu_tokens_per_s\.baseline`: required key is missing"),
    ("inference_speedup", "fast", r"`plan\.inference_speedup`"),
])  # fmt: skip
def test_bad_throughput_names_the_config_path(key: str, value: object, message: str) -> None:
    raw = _raw("config.yaml")
    raw["plan"] = {key: value}
    with pytest.raises(ConfigError, match=message):
        load_config(raw)


def test_every_job_on_the_cpu_counts_no_gpu_hours() -> None:
    raw = _raw("hg38.yaml")
    gpu = dplan.plan(load_config(raw))
    raw["plan"]["gpu_rules"] = []
    cpu = dplan.plan(load_config(raw))
    assert sum(cpu.gpu_hours.values()) == 0
    # base-size pretraining at 80 tok/s on a CPU: thousands of times the GPU figure
    assert cpu.cpu_hours["pretrain"] == pytest.approx(gpu.gpu_hours["pretrain"] * 2.2e5 / 80)


def test_unknown_genome_size_is_nan_with_a_note() -> None:
    raw = _raw("hg38.yaml")
    del raw["plan"]["genomes"]["hg38"]
    p = dplan.plan(load_config(raw))
    assert math.isnan(p.disk_gb["corpus"]) and "corpus_shard" not in p.deferred
    assert any("plan.genomes.hg38" in n for n in p.notes)
    assert "?" in dplan.format_plan(p)


def test_demo_genome_size_comes_from_its_world() -> None:
    raw = _raw("config.yaml")
    p = dplan.plan(load_config(raw))
    # demo_hs keeps chr1, chr2, chrX (6 Mbp at scale 1); corpus coverage 2 at 1.06 bytes per base
    assert p.disk_gb["corpus"] == pytest.approx(1.06 * 2 * 6e6 / 1e9)
    raw["simulate"]["demo_hs"]["scale"] = 2.0
    assert dplan.plan(load_config(raw)).disk_gb["corpus"] == pytest.approx(2 * p.disk_gb["corpus"])
    assert not p.notes


def test_more_seeds_more_finetune_jobs_and_hours() -> None:
    raw = _raw("hg38.yaml")
    one = dplan.plan(load_config(raw))
    more = deep_update(copy.deepcopy(raw), {"finetune": {"seeds": [1, 2, 3, 4, 5, 6]}})
    two = dplan.plan(load_config(more))
    cfg = load_config(raw)  # expression has no runs; the long-input pooling copies fine-tune 1 LM
    lms = [m for t in raw["tasks"] for m in cfg.task_models(t) if m not in BASELINES]
    n_gpt = sum(model_lm(m) in cfg.gpt_lms() for m in lms)
    assert two.jobs["bert_finetune"] - one.jobs["bert_finetune"] == (len(lms) - n_gpt) * 3  # x seeds
    assert two.jobs["gpt_finetune"] - one.jobs["gpt_finetune"] == n_gpt * 3 and n_gpt > 0
    assert two.gpu_hours["finetune"] > one.gpu_hours["finetune"]


def test_task_min_steps_costs_that_task_s_runs() -> None:
    raw = _raw("config.yaml")
    base = dplan.plan(load_config(raw))
    assert load_config(raw).task_min_steps("prom300_notata") == 0
    floor = deep_update(copy.deepcopy(raw), {"tasks": {"prom300_notata": {"min_steps": None}}})
    more = dplan.plan(load_config(floor))  # back to finetune.min_steps (300): 12 epochs, not 4
    assert more.jobs == base.jobs
    assert more.gpu_hours["finetune"] > base.gpu_hours["finetune"]  # BERT runs: GPU rules
    # one task's floor: the other tasks cost the same as with the whole section's floor
    same = deep_update(copy.deepcopy(floor), {"tasks": {"tf_ctcf": {"min_steps": 300}}})
    assert dplan.plan(load_config(same)).gpu_hours == more.gpu_hours


def test_splice_loop_counts_its_eval_seeds_trainings() -> None:
    raw = _raw("hg38.yaml")
    (task,) = [t for t, spec in raw["tasks"].items() if spec.get("hard_negatives")]
    hn = raw["tasks"][task]["hard_negatives"]
    assert hn["eval_seeds"] == 3 and hn["rounds"] == 3
    p = dplan.plan(load_config(raw))
    # rounds 0..3 train 3 models each; the last round copies its mining model from the fine-tuning run
    assert p.jobs["splice_loop_train"] == 4 and p.trainings == {"splice_loop_train": 4 * 3 - 1}
    one = dplan.plan(load_config(deep_update(copy.deepcopy(raw),
                                             {"tasks": {task: {"hard_negatives": {"eval_seeds": 1}}}})))  # fmt: skip
    assert one.jobs == p.jobs and one.trainings == {"splice_loop_train": 3}
    # the copied round still costs one job; each extra model cpu_minutes_per_job (2)
    extra = (11 - 4) * raw["plan"].get("cpu_minutes_per_job", 2.0) / 60
    assert p.cpu_hours["datasets"] - one.cpu_hours["datasets"] == pytest.approx(extra)
    assert dplan.plan(load_config(raw)).to_dict()["trainings_per_rule"] == {"splice_loop_train": 11}
    del raw["tasks"][task]["hard_negatives"]
    assert dplan.plan(load_config(raw)).trainings == {}


def test_write_plan_tables(tmp_path: Path) -> None:
    cfg = load_config(_raw("hg38.yaml"))
    out = {k: tmp_path / f"plan.{k}" for k in ("tsv", "json", "txt")}
    p = dplan.write_plan(cfg, out["tsv"], out["json"], out["txt"])
    lines = out["tsv"].read_text().splitlines()
    assert lines[0] == "stage\tjobs\tcpu_hours\tgpu_hours\tdisk_gb"
    assert [ln.split("\t")[0] for ln in lines[1:]] == [*dplan.STAGES, "total"]
    total = lines[-1].split("\t")
    assert int(total[1]) == sum(p.jobs.values())
    assert float(total[3]) == pytest.approx(sum(p.gpu_hours.values()), rel=1e-3)
    body = yaml.safe_load(out["json"].read_text())
    assert body["jobs_per_rule"]["bert_pretrain"] == 1
    assert body["jobs_after_checkpoints"]["corpus_shard"] == 24
    assert out["txt"].read_text() == dplan.format_plan(p)


def test_plan_target_runs_alone(wf: Path) -> None:
    args = ("plan", "--configfile", "config/hg38.yaml", "--replace-workflow-config")
    r = _snakemake(wf, *args)
    assert r.returncode == 0, r.stdout + r.stderr
    assert _job_stats(r.stdout + r.stderr) == {"plan_tables": 1, "plan": 1}  # nothing else runs
    assert re.search(r"pretrain\s+2\s+\S+\s+118\.0\s", r.stdout), r.stdout
    assert (wf / "results/plan.tsv").exists() and not (wf / "resources").exists()
    again = _snakemake(wf, *args)  # prints again, without recomputing
    assert "Rule: plan_tables" not in again.stdout + again.stderr and "118.0" in again.stdout


def test_cli_prints_the_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert dplan.main([str(REPO / "config/hg38.yaml")]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].split() == ["stage", "jobs", "CPU-hours", "GPU-hours", "disk", "GB"]
    assert dplan.main([]) == 2


@pytest.mark.parametrize("size", ["tiny", "small"])
def test_model_size_on_disk_counts_every_parameter(size: str) -> None:
    from dnalm.modeling import bert_config
    from transformers import BertForMaskedLM

    lm = BertForMaskedLM(bert_config(6, size))
    assert dplan._bert_params(6, size) == sum(p.numel() for p in lm.parameters())


def test_plan_entries_must_name_what_exists() -> None:
    raw = _raw("hg38.yaml")
    raw["plan"]["task_rows"]["prom_300"] = 5
    raw["plan"]["genomes"]["hg37"] = {"size_bp": 1, "contigs": 1}
    raw["plan"]["gpu_rules"] = ["bert_pretrian"]
    with pytest.raises(ConfigError) as e:
        load_config(raw)
    for path in ("plan.task_rows.prom_300", "plan.genomes.hg37", "plan.gpu_rules.0"):
        assert f"`{path}`" in str(e.value)


def test_readme_shows_the_current_hg38_plan() -> None:
    table = dplan.format_plan(dplan.plan(load_config(_raw("hg38.yaml"))))
    readme = (REPO / "README.md").read_text()
    section = readme.split("## Planning an allocation", 1)[1].split("\n## ", 1)[0]
    assert table.strip() in section, (
        "README.md 'Planning an allocation' is stale: paste the output of "
        "`python -m dnalm.plan config/hg38.yaml`\n" + table)


def test_default_gpu_rules_are_the_profile_gpu_rules() -> None:
    profile = yaml.safe_load((REPO / "profiles/slurm-gpu/config.v8+.yaml").read_text())
    gpu = {rule for rule, res in profile["set-resources"].items() if int(res.get("gpu", 0)) > 0}
    assert set(load_config(_raw("config.yaml")).plan.gpu_rules) == gpu
