"""The `attribution:` config block: cross-key checks naming the config path, and its outputs."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml
from dnalm import paths as P
from dnalm.settings import ConfigError, load_config

REPO = Path(__file__).resolve().parents[1]
DEMO = yaml.safe_load((REPO / "config/config.yaml").read_text())


def _with(**att) -> dict:
    """The demo config with `attribution` keys replaced (its per-task override dropped unless given)."""
    cfg = copy.deepcopy(DEMO)
    cfg["attribution"] = {**cfg.get("attribution", {}), "task_models": {}, **att}
    return cfg


def test_demo_attributes_the_gpt_on_its_one_task() -> None:
    c = load_config(copy.deepcopy(DEMO))
    gpt = [o for o in P.attribution_outputs(c) if "/dnagpt_tiny/" in o]
    assert gpt and all(o.startswith("results/attribution/tf_ctcf/dnagpt_tiny/seed1/") for o in gpt)
    assert "dnagpt_tiny" in [r["model"] for r in P.attribution_motif_runs(c, "tf_ctcf")]


def test_demo_outputs_follow_the_contract() -> None:
    c = load_config(_with(tasks=["tf_ctcf", "splice"], models=["cnn"], methods=["ism"]))
    assert P.attribution_outputs(c) == [
        "results/attribution/tf_ctcf/cnn/seed1/ism.npz", "results/attribution/tf_ctcf/cnn/seed1/ism.bw",
        "results/attribution/splice/cnn/seed1/ism.npz", "results/attribution/splice/cnn/seed1/ism.bw"]
    assert set(P.attribution_outputs(c)) <= set(P.final_outputs(c))
    assert P.rule_params(c, "attribution") == {"batch_size": 256, "ig_steps": 16, "max_sequences": 200,
                                               "n_shuffles": 2, "seed": 1}


def test_variant_outputs_only_for_variant_tasks() -> None:
    c = load_config(_with(tasks=["tf_ctcf", "splice"], models=["cnn"], methods=["ig"], variants="clinvar"))
    v = [o for o in P.attribution_outputs(c) if "variants_ism" in o]
    assert v == ["results/attribution/tf_ctcf/cnn/seed1/variants_ism.tsv.gz"]


@pytest.mark.parametrize(("att", "message"), [
    ({"tasks": ["nope"]}, "`attribution.tasks`: unknown task 'nope'"),
    ({"models": ["kmer_lr"]}, "`attribution.models`: kmer_lr has no model directory"),
    ({"models": ["cnn_gru"]}, "`attribution.models`: 'cnn_gru' is not fine-tuned on task 'tf_ctcf'"),
    ({"models": ["bert9"]}, "`attribution.models`: unknown model 'bert9'"),
    ({"methods": ["shap"]}, "attribution.methods"),
    ({"tasks": ["splice"], "variants": "clinvar"}, "`attribution.variants`: needs a task in both"),
    ({"max_sequences": 0}, "attribution.max_sequences"),
])
def test_bad_attribution_config(att: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("(", r"\(")):
        load_config(_with(**att))


def test_task_models_override_one_task() -> None:
    """A GPT fine-tuned on tf_ctcf only is attributed (and read by TF-MoDISco) on tf_ctcf only."""
    c = load_config(_with(tasks=["tf_ctcf", "tf_p53"], models=["cnn"], methods=["ig"],
                          task_models={"tf_ctcf": ["cnn", "dnagpt_tiny"]}))  # fmt: skip
    assert P.attribution_models(c, "tf_ctcf") == ["cnn", "dnagpt_tiny"]
    assert P.attribution_models(c, "tf_p53") == ["cnn"]
    npz = [o for o in P.attribution_outputs(c) if o.endswith(".npz")]
    assert npz == ["results/attribution/tf_ctcf/cnn/seed1/ig.npz",
                   "results/attribution/tf_ctcf/dnagpt_tiny/seed1/ig.npz",
                   "results/attribution/tf_p53/cnn/seed1/ig.npz"]  # fmt: skip
    assert [r["model"] for r in P.attribution_motif_runs(c, "tf_ctcf")] == ["cnn", "dnagpt_tiny"]
    assert [r["model"] for r in P.attribution_motif_runs(c, "tf_p53")] == ["cnn"]
    raw = _with(tasks=["tf_ctcf", "tf_p53"], models=["cnn"], task_models={"tf_ctcf": ["dnagpt_tiny"]})
    raw["modisco"] = {**raw["modisco"], "models": ["dnagpt_tiny"]}  # attributed on one task: accepted
    c = load_config(raw)
    assert [r["model"] for r in P.attribution_motif_runs(c, "tf_ctcf")] == ["dnagpt_tiny", "dnagpt_tiny"]
    assert P.attribution_motif_runs(c, "tf_p53") == []


@pytest.mark.parametrize(("att", "message"), [
    ({"task_models": {"tf_p53": ["dnagpt_tiny"]}, "tasks": ["tf_ctcf", "tf_p53"]},
     "`attribution.task_models.tf_p53`: 'dnagpt_tiny' is not fine-tuned on task 'tf_p53'"),
    ({"task_models": {"splice": ["cnn"]}, "tasks": ["tf_ctcf"]},
     "`attribution.task_models.splice`: task 'splice' is not in attribution.tasks"),
    ({"task_models": {"tf_ctcf": []}, "tasks": ["tf_ctcf"]},
     "`attribution.task_models.tf_ctcf`: required when tasks are listed"),
    ({"task_models": {"tf_ctcf": ["kmer_lr"]}, "tasks": ["tf_ctcf"]},
     "`attribution.task_models.tf_ctcf`: kmer_lr has no model directory"),
])
def test_bad_task_models(att: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("(", r"\(")):
        load_config(_with(**att))
