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
    cfg = copy.deepcopy(DEMO)
    cfg["attribution"] = {**cfg.get("attribution", {}), **att}
    return cfg


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
