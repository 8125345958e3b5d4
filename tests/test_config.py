"""Config validation: the JSON schema, the cross-key checks, and dry runs of the DAG."""

from __future__ import annotations

import copy
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from dnalm import config as dcfg

REPO = Path(__file__).resolve().parents[1]
SCHEMA = REPO / "workflow/schemas/config.schema.yaml"


def _load(name: str) -> dict:
    return yaml.safe_load((REPO / "config" / name).read_text())


def _validate(cfg: dict) -> None:
    from snakemake.utils import validate

    validate(cfg, schema=str(SCHEMA))
    dcfg.check_config(cfg)


@pytest.mark.parametrize("name", ["config.yaml", "hg38.yaml"])
def test_shipped_configs_validate(name: str) -> None:
    _validate(_load(name))


def test_mm10_validates_on_top_of_hg38() -> None:
    cfg = _load("hg38.yaml")
    for key, val in _load("mm10.yaml").items():
        cfg.setdefault(key, {}).update(val)
    _validate(cfg)


def test_unknown_key_is_named() -> None:
    from snakemake.exceptions import WorkflowError

    cfg = _load("config.yaml")
    cfg["corpus"]["coverge"] = 3
    with pytest.raises(WorkflowError, match="coverge"):
        _validate(cfg)


def test_wrong_type_is_named() -> None:
    from snakemake.exceptions import WorkflowError

    cfg = _load("config.yaml")
    cfg["corpus"]["max_len"] = "long"
    with pytest.raises(WorkflowError, match="max_len"):
        _validate(cfg)


@pytest.mark.parametrize(
    ("mutate", "key"),
    [
        (lambda c: c["tasks"]["tf_ctcf"].update(experiment="NOPE"), "tasks.tf_ctcf.experiment"),
        (lambda c: c["tasks"]["splice"].update(genome="hg99"), "tasks.splice.genome"),
        (lambda c: c["finetune"]["models"].append("bert99"), "finetune.models"),
        (lambda c: c["attention"]["tasks"].append("nope"), "attention.tasks"),
        (lambda c: c["genomes"]["demo_hs"].update(contigs="chr(["), "genomes.demo_hs.contigs"),
        (lambda c: c["language_models"]["dnabert6_tiny"].update(preset="x"), "preset"),
        (lambda c: c["tasks"]["prom_core_tata"].update(window=[35, -34]), "window"),
    ],
)
def test_cross_key_errors_name_the_key(mutate, key: str) -> None:
    cfg = copy.deepcopy(_load("config.yaml"))
    mutate(cfg)
    with pytest.raises(ValueError, match=key.replace(".", r"\.").replace("[", r"\[")):
        dcfg.check_config(cfg)


def test_model_names() -> None:
    assert dcfg.model_lm("dnabert6_tiny-scratch") == "dnabert6_tiny"
    assert dcfg.model_lm("cnn") is None
    assert dcfg.is_scratch("x-scratch") and not dcfg.is_scratch("x")


def test_local_sources() -> None:
    cfg = _load("config.yaml")
    assert dcfg.local_source_inputs(cfg, "fasta", {"genome": "demo_hs"}) == [
        "resources/demo/demo_hs/genome.fa.gz"
    ]
    hg = _load("hg38.yaml")
    assert dcfg.local_source_inputs(hg, "fasta", {"genome": "hg38"}) == []
    assert dcfg.local_path("file:///data/x.fa") == "/data/x.fa"


def _snakemake(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "snakemake", "--cores", "1", *args],
        cwd=cwd, capture_output=True, text=True, timeout=300,
    )


def test_dry_run_whole_demo_dag() -> None:
    r = _snakemake("-n", "--quiet", "rules")
    assert r.returncode == 0, r.stdout + r.stderr
    for rule in ("demo_simulate", "genome_prepare", "dataset_build", "bert_pretrain",
                 "bert_finetune", "baseline_finetune", "summary_build"):
        assert rule in r.stdout + r.stderr, rule


def test_dry_run_production_config() -> None:
    r = _snakemake("-n", "--quiet", "rules", "--configfile", "config/hg38.yaml",
                   "--replace-workflow-config")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "genome_download" in r.stdout + r.stderr
    assert "demo_simulate" not in r.stdout + r.stderr


def test_bad_config_fails_before_any_job(tmp_path: Path) -> None:
    cfg = _load("config.yaml")
    cfg["tasks"]["tf_ctcf"]["negatvies"] = "gc_matched"
    p = tmp_path / "bad.yaml"
    p.write_text(yaml.safe_dump(cfg))
    r = _snakemake("-n", "--configfile", str(p), "--replace-workflow-config")
    assert r.returncode != 0
    assert "negatvies" in r.stdout + r.stderr
