"""Fine-tuning: learning a planted motif, scratch vs pretrained, determinism, 3 classes, outputs.

Synthetic tasks and the tiny BertForMaskedLM directory come from tests/synth.py.
"""

from __future__ import annotations

import gzip
import json
import logging
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from dnalm import paths as P
from dnalm.dataset import read_split
from dnalm.finetune import LOG_COLUMNS, finetune, finetune_kwargs
from dnalm.predict import load_classifier, predict_proba

from tests.synth import make_lm, synth_splits

pytestmark = pytest.mark.usefixtures("torch_one_thread")

@pytest.fixture(scope="module")
def lm_dir(tmp_path_factory):
    return make_lm(tmp_path_factory.mktemp("lm") / "model")


@pytest.fixture(scope="module")
def splits():
    return synth_splits()


@pytest.fixture(scope="module")
def trained(tmp_path_factory, lm_dir, splits):
    """Pretrained-init and scratch BERT fine-tuned on the planted-motif task."""
    out = {}
    for name, scratch in (("lm", False), ("lm-scratch", True)):
        d = tmp_path_factory.mktemp(name)
        m = finetune(*splits, d, name, lm_dir=lm_dir, scratch=scratch, epochs=6, batch_size=32,
                     lr=2e-3, patience=2, seed=1, task="synth")  # fmt: skip
        out[name] = (d, m)
    return out


@pytest.mark.parametrize("name", ["lm", "lm-scratch"])
def test_bert_learns_planted_motif(trained, name):
    d, m = trained[name]
    print(f"{name}: test MCC {m['mcc']:.3f}, dev MCC {m['dev_mcc']:.3f}, AUROC {m['auroc']:.3f}")
    assert m["mcc"] > 0.6  # chance is 0
    assert m["auroc"] > 0.85
    assert m["init"] == ("scratch" if name.endswith("scratch") else "pretrained")
    assert not m["constant_prediction"]


def test_outputs_follow_contract(trained, splits):
    d, m = trained["lm"]
    on_disk = json.loads((d / "metrics.json").read_text())
    for key in ("task", "model", "seed", "n_train", "n_dev", "n_test", "accuracy", "precision",
                "recall", "f1", "mcc", "auroc", "auprc", "best_epoch", "dev_mcc", "runtime_s"):  # fmt: skip
        assert key in on_disk, key
    assert (on_disk["task"], on_disk["model"], on_disk["seed"]) == ("synth", "lm", 1)
    assert (on_disk["n_train"], on_disk["n_dev"], on_disk["n_test"]) == (400, 100, 100)
    with gzip.open(d / "predictions.tsv.gz", "rt") as fh:
        assert fh.readline().rstrip("\n").split("\t") == [
            "split",
            "index",
            "label",
            "pred",
            "p0",
            "p1",
        ]
    pred = pd.read_csv(d / "predictions.tsv.gz", sep="\t")
    assert (pred["index"] == np.arange(100)).all()
    assert (pred["label"] == splits[2]["label"]).all()
    assert np.allclose(pred[["p0", "p1"]].sum(axis=1), 1, atol=1e-6)
    assert (pred["pred"] == pred[["p0", "p1"]].to_numpy().argmax(1)).all()
    tlog = pd.read_csv(d / "train_log.tsv", sep="\t")
    assert list(tlog.columns) == list(LOG_COLUMNS)
    assert len(tlog) >= 2 and tlog["step"].is_monotonic_increasing
    assert on_disk["dev_mcc"] == pytest.approx(tlog["dev_mcc"].max())
    # the saved best model reproduces the reported test metrics
    model, k = load_classifier(d / "model")
    assert k == 4
    probs = predict_proba(model, splits[2]["sequence"].tolist(), k, batch_size=16)
    assert np.allclose(probs, pred[["p0", "p1"]].to_numpy(), atol=1e-6)
    assert (d / "model" / "model.safetensors").is_file()
    assert (d / "model" / "vocab.txt").is_file()


def test_same_seed_same_outputs_on_cpu(tmp_path, lm_dir, splits):
    tr, dv, te = (s.iloc[:120] for s in splits)
    runs = []
    for rep in range(2):
        d = tmp_path / f"run{rep}"
        finetune(tr, dv, te, d, "lm-scratch", lm_dir=lm_dir, scratch=True, epochs=2,
                 batch_size=16, lr=1e-3, seed=3, device="cpu")  # fmt: skip
        m = json.loads((d / "metrics.json").read_text())
        m.pop("runtime_s")
        runs.append((m, (d / "predictions.tsv.gz").read_bytes(), (d / "train_log.tsv").read_text()))
    assert runs[0] == runs[1]
    d = tmp_path / "other_seed"
    finetune(tr, dv, te, d, "lm-scratch", lm_dir=lm_dir, scratch=True, epochs=2, batch_size=16,
             lr=1e-3, seed=4, device="cpu")  # fmt: skip
    assert (d / "train_log.tsv").read_text() != runs[0][2]


def test_three_class_task(tmp_path, lm_dir):
    tr, dv, te = synth_splits(n_classes=3, n_train=450, n_eval=120, seed=10)
    m = finetune(tr, dv, te, tmp_path, "lm", lm_dir=lm_dir, epochs=8, batch_size=32, lr=2e-3,
                 seed=1, task="synth3")  # fmt: skip
    print(f"3-class: test MCC {m['mcc']:.3f}, macro AUROC {m['auroc']:.3f}")
    assert m["n_classes"] == 3
    assert m["mcc"] > 0.5
    pred = pd.read_csv(tmp_path / "predictions.tsv.gz", sep="\t")
    assert list(pred.columns) == ["split", "index", "label", "pred", "p0", "p1", "p2"]
    model, k = load_classifier(tmp_path / "model")
    assert model.config.num_labels == 3


def test_reads_split_files(tmp_path, splits):
    paths = []
    for name, df in zip(("train", "dev", "test"), splits, strict=True):
        p = tmp_path / f"{name}.tsv.gz"
        df.to_csv(p, sep="\t", index=False, compression={"method": "gzip", "mtime": 0})
        paths.append(p)
    back = read_split(paths[0])
    assert back["label"].dtype == np.int64
    assert back["sequence"].tolist() == splits[0]["sequence"].tolist()
    m = finetune(*paths, tmp_path / "out", "kmer_lr", seed=1)
    assert m["mcc"] > 0.6
    tlog = pd.read_csv(tmp_path / "out" / "train_log.tsv", sep="\t")
    assert {"C", "dev_mcc"} <= set(tlog.columns)
    assert (tmp_path / "out" / "model" / "config.json").is_file()  # kmer_lr is a model dir too


def test_read_split_errors_name_file_and_line(tmp_path):
    p = tmp_path / "bad.tsv"
    p.write_text("sequence\tlabel\nACGT\t1\nACXT\t0\n")
    with pytest.raises(ValueError, match=r"bad.tsv:3: .*'X' at index 2"):
        read_split(p)
    p.write_text("sequence\tlabel\nACGT\t1\nACGT\tyes\n")
    with pytest.raises(ValueError, match=r"bad.tsv:3: label 'yes'"):
        read_split(p)
    p.write_text("seq\tlabel\nACGT\t1\n")
    with pytest.raises(ValueError, match=r"bad.tsv:1: header lacks"):
        read_split(p)


def test_constant_predictions_are_flagged(tmp_path, splits, caplog):
    tr, dv, te = (s.iloc[:64].copy() for s in splits)
    tr["label"] = 0  # nothing to learn but class 0
    with caplog.at_level(logging.WARNING, logger="dnalm.finetune"):
        m = finetune(tr, dv, te, tmp_path, "cnn", n_classes=2, epochs=2, batch_size=16, lr=1e-2)
    assert m["constant_prediction"] and m["mcc"] == 0.0
    assert "collapsed" in caplog.text


def test_argument_errors(tmp_path, lm_dir, splits):
    with pytest.raises(ValueError, match="lm_dir"):
        finetune(*splits, tmp_path, "lm")
    with pytest.raises(ValueError, match="k=4 vocabulary"):
        finetune(*splits, tmp_path, "lm", lm_dir=lm_dir, k=6)
    with pytest.raises(ValueError, match="long_input"):
        finetune(*splits, tmp_path, "cnn", long_input="sum")
    assert not (tmp_path / "metrics.json").exists()


def test_finetune_kwargs_from_config():
    ft = {"epochs": 4, "lr": {"bert": 5e-4, "baseline": 1e-3}, "long_input": "max"}
    bert, cnn = finetune_kwargs(ft, "dnabert6_tiny-scratch"), finetune_kwargs(ft, "cnn")
    assert bert["lr"] == 5e-4 and cnn["lr"] == 1e-3
    assert bert["epochs"] == 4 and bert["long_input"] == "max"
    assert finetune_kwargs({}, "x") == {
        "epochs": 3, "batch_size": 32, "lr": 3e-5, "warmup_fraction": 0.1,
        "weight_decay": 0.01, "dropout": 0.1, "patience": 2, "long_input": "mean",
        "min_steps": 0, "checkpoint_every": 2000, "keep_checkpoints": 1,
    }  # fmt: skip


RUNS = [("bert_finetune", "tf_ctcf", "dnabert6_tiny"), ("bert_finetune", "tf_ctcf", "dnabert6_tiny-scratch"),
        ("baseline_finetune", "tf_ctcf", "cnn"), ("gpt_finetune", "tf_ctcf", "dnagpt_tiny"),
        ("gpt_regress", "expression", "dnagpt_tiny"), ("bert_finetune", "prom300_notata", "dnabert6_tiny")]


@pytest.mark.parametrize(
    ("edit", "rerun"),
    [  # a finetune key reruns the runs that read it, and only those (rules' params)
        ({"lr": {"baseline": 5e-3}}, {"baseline_finetune"}),
        ({"lr": {"bert": 1e-4}}, {"bert_finetune", "gpt_finetune", "gpt_regress"}),  # no gpt.lr set
        ({"gpt": {"lr": 1e-4, "patience": 9}}, {"gpt_finetune"}),
        ({"long_input": "concat"}, {"bert_finetune"}),
        ({"min_steps": 17}, {"tf_ctcf"}),  # prom300_notata sets its own
        ({"epochs": 9}, {"bert_finetune", "baseline_finetune", "gpt_finetune", "gpt_regress"}),
    ],
)
def test_a_finetune_key_changes_the_params_of_the_runs_that_read_it(edit, rerun):
    """Every fine-tuning rule was given the whole finetune section: lr.baseline reran every BERT
    run, gpt.patience every baseline, long_input everything. Each run now gets its resolved
    recipe, so Snakemake's params trigger reruns what the edit changes."""
    from dnalm.settings import load_config

    raw = yaml.safe_load((Path(__file__).resolve().parents[1] / "config/config.yaml").read_text())
    before = load_config(raw)
    for key, value in edit.items():
        raw["finetune"][key] = {**raw["finetune"].get(key, {}), **value} if isinstance(value, dict) else value
    after = load_config(raw)
    changed = {run for run in RUNS if P.finetune_params(before, *run) != P.finetune_params(after, *run)}
    expect = {run for run in RUNS if run[0] in rerun or run[1] in rerun}
    assert changed == expect


def test_task_min_steps_overrides_the_finetune_floor():
    from dnalm.settings import ConfigError, load_config

    raw = yaml.safe_load((Path(__file__).resolve().parents[1] / "config/config.yaml").read_text())
    cfg = load_config(raw)
    assert cfg.finetune.min_steps == 300 and cfg.tasks["prom300_notata"].min_steps == 0
    assert cfg.task_min_steps("prom300_notata") == 0  # the task's own, even 0
    assert cfg.task_min_steps("tf_ctcf") == 300  # unset: finetune.min_steps
    assert cfg.task_min_steps("demo_tf__CTCF_demo") == 300  # collection tasks: finetune's
    for rule, model in (("bert_finetune", "dnabert6_tiny"), ("baseline_finetune", "cnn")):
        assert P.finetune_params(cfg, rule, "prom300_notata", model)["min_steps"] == 0
        assert P.finetune_params(cfg, rule, "tf_ctcf", model)["min_steps"] == 300
    raw["tasks"]["prom300_notata"]["min_steps"] = -1
    with pytest.raises(ConfigError, match="tasks.prom300_notata.min_steps"):
        load_config(raw)


def test_min_steps_adds_epochs_for_small_sets(tmp_path, splits):
    m = finetune(*splits, tmp_path, "cnn", epochs=1, batch_size=32, lr=1e-2, seed=1,
                 min_steps=60, patience=100)
    log = pd.read_csv(tmp_path / "train_log.tsv", sep="\t")
    assert log["step"].max() >= 60 and m["n_train"] / 32 < 60


def test_a_tasks_pooling_reruns_its_fine_tunes_not_its_dataset():
    """tasks.<t>.long_input was in dataset_build's params, so changing it rebuilt the dataset
    (and everything after it) although no dataset reads it."""
    from dnalm.settings import load_config

    raw = yaml.safe_load((Path(__file__).resolve().parents[1] / "config/config.yaml").read_text())
    before = load_config(raw)
    raw["tasks"]["prom300_notata"]["long_input"] = "concat"
    after = load_config(raw)
    assert P.task_params(before, "prom300_notata") == P.task_params(after, "prom300_notata")
    run = ("bert_finetune", "prom300_notata", "dnabert6_tiny")
    assert P.finetune_params(after, *run)["long_input"] == "concat" != P.finetune_params(before, *run)["long_input"]


def test_a_scratch_control_reads_only_its_lms_architecture():
    """A -scratch control's input.lm was the LM directory itself, so retraining the LM (a new lr
    or step count) reran every random-init control too, although it reads only the LM's config.
    Its input is now ancient for trained LMs and params.scratch holds the architecture: an
    architecture edit still reruns it, a training edit does not."""
    from dnalm.settings import load_config

    raw = yaml.safe_load((Path(__file__).resolve().parents[1] / "config/config.yaml").read_text())
    cfg = load_config(raw)
    assert P.scratch_params(cfg, "dnabert6_tiny") is False and P.scratch_params(cfg, "cnn") is False
    assert P.scratch_params(cfg, "dnabert6_tiny-scratch") == {
        "arch": "bert", "k": 6, "size": "tiny", "pretrained": None}
    assert P.scratch_params(cfg, "dnagpt_tiny-scratch")["arch"] == "gpt"
    assert P.scratch_reads_architecture_only(cfg, "dnabert6_tiny-scratch")
    assert P.scratch_reads_architecture_only(cfg, "dnagpt_tiny-scratch")
    assert not P.scratch_reads_architecture_only(cfg, "dnabert6_tiny")
    assert not P.scratch_reads_architecture_only(cfg, "cnn")
    preset = cfg.language_models["dnabert6_tiny"].preset
    raw["pretrain_presets"][preset]["lr"] = 0.002  # retrains the LM only
    assert P.scratch_params(load_config(raw), "dnabert6_tiny-scratch") == P.scratch_params(cfg, "dnabert6_tiny-scratch")
    raw["language_models"]["dnabert6_tiny"]["size"] = "small"  # another architecture
    assert P.scratch_params(load_config(raw), "dnabert6_tiny-scratch")["size"] == "small"
    raw["language_models"]["dnabert6_tiny"]["pretrained"] = "resources/dnabert6"  # imported:
    assert not P.scratch_reads_architecture_only(load_config(raw), "dnabert6_tiny-scratch")  # replaceable in place
