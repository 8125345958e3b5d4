"""DNAGPT-style fine-tuning: classification through dnalm.finetune, regression, model dirs, bad input."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from dnalm.expression import Row, write_regression_split
from dnalm.finetune import finetune, finetune_kwargs, main
from dnalm.gpt import build_gpt, save_gpt_dir
from dnalm.gpt.classify import (
    GptClassifier,
    build_gpt_classifier,
    gpt_rows,
    is_gpt_dir,
    label_token_ids,
    load_gpt_classifier,
)
from dnalm.gpt.regress import fit_gpt_regression, load_gpt_regressor, regression_rows
from dnalm.gpt.tokenizer import PAD_ID, QUERY_ID, GptTokenizer
from dnalm.predict import class_logits, load_model_dir, predict_proba
from dnalm.regression_summary import regression_table

MOTIF = "TATAAAAGGCGC"  # two 6-mer tokens when it starts at a multiple of 6
SEQ_LEN = 48
FAST = {"epochs": 2, "batch_size": 32, "lr": 2e-3, "min_steps": 120, "patience": 4, "num_threads": 1}


@pytest.fixture(scope="module")
def gpt_lm(tmp_path_factory) -> Path:
    """A randomly initialised tiny GPT language model directory (32 positions)."""
    d = tmp_path_factory.mktemp("gpt") / "lm"
    save_gpt_dir(build_gpt("tiny", n_positions=32, seed=0), d)
    return d


def _motif_frame(n: int, seed: int, shuffle: bool = False) -> pd.DataFrame:
    """Random sequences; odd rows carry MOTIF at a token-aligned random offset."""
    rng = np.random.default_rng(seed)
    seqs, ys = [], []
    for i in range(n):
        s = list(rng.choice(list("ACGT"), SEQ_LEN))
        y = i % 2
        if y:
            p = 6 * int(rng.integers(0, (SEQ_LEN - len(MOTIF)) // 6 + 1))
            s[p : p + len(MOTIF)] = list(MOTIF)
        seqs.append("".join(s))
        ys.append(y)
    y = np.array(ys)
    return pd.DataFrame({"sequence": seqs, "label": rng.permutation(y) if shuffle else y})


@pytest.fixture(scope="module")
def motif_runs(gpt_lm, tmp_path_factory) -> dict[str, tuple[dict, Path]]:
    out = {}
    for name, shuffle in (("real", False), ("shuffled", True)):
        d = tmp_path_factory.mktemp(name)
        m = finetune(_motif_frame(400, 1, shuffle), _motif_frame(100, 2, shuffle), _motif_frame(200, 3),
                     d, "dnagpt_t", lm_dir=gpt_lm, task="motif", seed=1, **FAST)  # fmt: skip
        out[name] = (m, d)
    return out


def test_rows_template_and_label_tokens() -> None:
    ids, q = gpt_rows(["ACGTAC" * 2, "ACG"], max_positions=16)
    assert ids.shape == (2, 6) and q.tolist() == [5, 4]
    assert ids[0, 5] == QUERY_ID and ids[1, 4] == QUERY_ID and ids[1, 5] == PAD_ID
    assert GptTokenizer().decode(ids[0, :6]) == "<R>ACGTACACGTAC<=><M><B>"
    tok = GptTokenizer()
    assert [tok.vocab[i] for i in label_token_ids(3)] == ["A", "N", "G"]
    with pytest.raises(ValueError, match="positions"):
        gpt_rows(["A" * 100], max_positions=16)
    with pytest.raises(ValueError, match="n_classes"):
        label_token_ids(1)


def test_gpt_learns_planted_motif_and_shuffled_control_does_not(motif_runs) -> None:
    real, _ = motif_runs["real"]
    shuffled, _ = motif_runs["shuffled"]
    assert real["model"] == "dnagpt_t" and real["init"] == "pretrained"
    assert real["lm_verdict"] == "unchecked"  # the test LM has no learning check
    assert real["mcc"] > 0.6, real
    assert abs(shuffled["mcc"]) < 0.25, shuffled
    assert real["mcc"] - shuffled["mcc"] > 0.4


def test_model_dir_round_trip_same_predictions(motif_runs) -> None:
    m, d = motif_runs["real"]
    clf = load_model_dir(d / "model")
    assert clf.kind == "gpt" and clf.k == 6 and clf.labels == ["negative", "positive"]
    assert isinstance(clf.model, GptClassifier)
    card = json.loads((d / "model" / "card.json").read_text())
    assert card["task"] == "motif" and card["class_names"] == ["negative", "positive"]
    assert "DNAGPT-style GPT" in (d / "model" / "README.md").read_text()
    with gzip.open(d / "predictions.tsv.gz", "rt") as fh:
        pred = pd.read_csv(fh, sep="\t")
    test = _motif_frame(200, 3)
    probs = predict_proba(clf.model, test["sequence"].tolist(), clf.k, batch_size=7, device="cpu")
    np.testing.assert_allclose(probs, pred[["p0", "p1"]].to_numpy(), atol=1e-5)
    logits = class_logits(clf, test["sequence"].tolist()[:5], device="cpu")
    np.testing.assert_allclose(torch.softmax(torch.from_numpy(logits), -1).numpy(), probs[:5], atol=1e-6)
    # the saved model is a plain DnaGptModel whose label rows hold the fine-tuned head
    model, labels = load_gpt_classifier(d / "model")
    assert labels == ["negative", "positive"] and is_gpt_dir(d / "model")
    w = model.gpt.lm_head[-1].weight[model.label_ids]
    torch.testing.assert_close(w, model.label_head.weight)


def test_scratch_control_builds_with_lm_size(gpt_lm) -> None:
    a = build_gpt_classifier(gpt_lm, 3, scratch=True, seed=5)
    b = build_gpt_classifier(gpt_lm, 3, scratch=True, seed=5)
    p = build_gpt_classifier(gpt_lm, 3)
    assert a.max_positions == 32 and a.max_bases == (32 - 4) * 6
    torch.testing.assert_close(a.gpt.transformer.h[0].attn.c_attn.weight, b.gpt.transformer.h[0].attn.c_attn.weight)
    assert not torch.equal(a.gpt.transformer.h[0].attn.c_attn.weight, p.gpt.transformer.h[0].attn.c_attn.weight)
    trainable = {n for n, t in p.named_parameters() if t.requires_grad}
    assert "label_head.weight" in trainable and "gpt.transformer.wte.weight" not in trainable
    assert "gpt.lm_head.3.weight" not in trainable


def test_wrong_arch_and_bad_input(gpt_lm, motif_runs, tmp_path) -> None:
    # a GPT language model is not a fine-tuned classifier
    with pytest.raises(ValueError, match="language model"):
        load_model_dir(gpt_lm)
    # a fine-tuned classifier is not a language model to start from
    _, d = motif_runs["real"]
    with pytest.raises(ValueError, match="fine-tuned GPT classifier"):
        build_gpt_classifier(d / "model", 2)
    # a BERT-style (or any non-GPT) directory is refused by the GPT loaders, naming config.json
    other = tmp_path / "bert"
    other.mkdir()
    (other / "config.json").write_text(json.dumps({"architectures": ["BertForMaskedLM"]}))
    with pytest.raises(ValueError, match=r"config\.json.*DnaGptModel"):
        build_gpt_classifier(other, 2)
    with pytest.raises(ValueError, match=r"config\.json.*DnaGptModel"):
        load_gpt_classifier(other)
    assert not is_gpt_dir(other)
    # sequences longer than the model's positions are refused before training
    long = _motif_frame(10, 4)
    long["sequence"] = long["sequence"] * 4  # 192 bp > (32 - 4) * 6 = 168
    with pytest.raises(ValueError, match="does not fit the GPT model's 32 positions"):
        finetune(long, long, long, tmp_path / "o", "dnagpt_t", lm_dir=gpt_lm, epochs=1)


def test_gpt_overrides_from_config_and_command_line(gpt_lm, tmp_path) -> None:
    ft = {"lr": {"bert": 5e-4, "baseline": 3e-3}, "patience": 2, "gpt": {"lr": 2e-4, "patience": 8}}
    kw = finetune_kwargs(ft, "dnagpt_t", gpt=True)
    assert (kw["lr"], kw["patience"]) == (2e-4, 8)
    kw = finetune_kwargs(ft, "dnagpt_t")  # not a GPT classifier: the shared settings
    assert (kw["lr"], kw["patience"]) == (5e-4, 2)
    kw = finetune_kwargs(ft, "cnn", gpt=True)  # baselines keep theirs
    assert (kw["lr"], kw["patience"]) == (3e-3, 2)
    kw = finetune_kwargs({"lr": {"bert": 5e-4}, "patience": 3}, "dnagpt_t", gpt=True)  # unset: shared
    assert (kw["lr"], kw["patience"]) == (5e-4, 3)
    with pytest.raises(ValueError, match="patience"):
        finetune_kwargs({"gpt": {"patience": 0}}, "dnagpt_t", gpt=True)
    # python -m dnalm.finetune applies finetune.gpt for a GPT language-model directory
    paths = {}
    for split, seed in (("train", 5), ("dev", 6), ("test", 7)):
        paths[split] = tmp_path / f"{split}.tsv"
        _motif_frame(24, seed).to_csv(paths[split], sep="\t", index=False)
    settings = {**ft, "epochs": 1, "batch_size": 12, "warmup_fraction": 0.0, "patience": 1}
    argv = [a for split, path in paths.items() for a in (f"--{split}", str(path))]
    assert main([*argv, "--out-dir", str(tmp_path / "o"), "--model", "dnagpt_t", "--lm-dir", str(gpt_lm),
                 "--settings", json.dumps(settings), "--threads", "1"]) == 0
    log = pd.read_csv(tmp_path / "o" / "train_log.tsv", sep="\t")
    assert log["lr"].max() == pytest.approx(2e-4)


# ----------------------------------------------------------------------------- regression


def _regression_splits(tmp: Path, seed: int = 0) -> dict[str, Path]:
    """Targets from two of three standardised features (plus noise); the sequence is random."""
    rng = np.random.default_rng(seed)
    out = {}
    for split, n in (("train", 1000), ("dev", 100), ("test", 150)):
        rows = []
        for i in range(n):
            f = rng.normal(size=3)
            seq = "".join(rng.choice(list("ACGT"), 60))
            rows.append(Row(seq, float(1.5 * f[0] - f[1] + 0.2 * rng.normal()), tuple(f.tolist()), f"{split}{i}"))
        out[split] = write_regression_split(rows, ["hl_a", "hl_b", "hl_c"], tmp / f"{split}.tsv.gz")
    return out


def test_regression_rows_template() -> None:
    ids, num_pos, q = regression_rows(["ACGTAC" * 2], n_features=2, max_positions=16)
    assert GptTokenizer().decode(ids[0]) == "<R>ACGTACACGTAC<+><M><M><=><M>"
    assert num_pos.tolist() == [[4, 5]] and q.tolist() == [7]
    # 126 bp, room for 4 tokens: the centred 24 bp
    ids, _, q = regression_rows(["A" * 60 + "C" * 6 + "G" * 60], n_features=2, max_positions=10)
    assert ids.shape == (1, 10) and q.tolist() == [9]
    assert GptTokenizer().decode(ids[0][1:5]) == "A" * 9 + "C" * 6 + "G" * 9


def test_gpt_regression_reads_numbers(gpt_lm, tmp_path) -> None:
    splits = _regression_splits(tmp_path)
    out = tmp_path / "expression" / "dnagpt_t" / "seed1"
    m = fit_gpt_regression(splits, out, gpt_lm, "dnagpt_t", task="expression", epochs=2,
                           batch_size=32, lr=5e-4, min_steps=300, patience=2, n_boot=200,
                           num_threads=1)  # fmt: skip
    assert m["task_type"] == "regression" and m["features"] == ["hl_a", "hl_b", "hl_c"]
    assert m["pearson_r"] > 0.6, m  # measured 0.99 [0.985, 0.993] (n 150)
    lo, hi = m["ci"]["pearson_r"]
    assert lo <= m["pearson_r"] <= hi and lo > 0.4
    for name in ("metrics.json", "predictions.tsv.gz", "train_log.tsv", "model/config.json"):
        assert (out / name).is_file(), name
    reg, spec = load_gpt_regressor(out / "model")
    assert spec["features"] == ["hl_a", "hl_b", "hl_c"] and len(spec["feature_mean"]) == 3
    with pytest.raises(ValueError, match="not a GPT regression model"):
        load_gpt_regressor(gpt_lm)
    # the ridge and the GPT side by side in the regression table
    ridge = tmp_path / "expression" / "kmer_ridge" / "seed1"
    ridge.mkdir(parents=True)
    (ridge / "metrics.json").write_text(json.dumps(
        {"model": "kmer_ridge", "task_type": "regression", "n": 100, "n_train": 300,
         "pearson_r": 0.5, "r2": 0.25, "r2_score": 0.2, "mse": 1.0,
         "ci": {"pearson_r": [0.4, 0.6], "r2": [0.16, 0.36], "r2_score": [0.1, 0.3]}}))  # fmt: skip
    df = regression_table([out / "metrics.json", ridge / "metrics.json"], tmp_path / "regression.tsv")
    assert df["model"].tolist() == ["dnagpt_t", "kmer_ridge"]
    assert df.loc[0, "pearson_r_lo"] == pytest.approx(lo) and df.loc[1, "r2_hi"] == 0.36
    assert (tmp_path / "regression.tsv").read_text().startswith("task\tmodel\tseed\tinit\tn\t")


def test_regression_bad_input(gpt_lm, tmp_path) -> None:
    splits = _regression_splits(tmp_path)
    other = tmp_path / "notgpt"
    other.mkdir()
    (other / "config.json").write_text(json.dumps({"architectures": ["BertForMaskedLM"]}))
    with pytest.raises(ValueError, match="not a dnalm GPT language model"):
        fit_gpt_regression(splits, tmp_path / "o", other, "x")
    bad = tmp_path / "bad.json"
    bad.parent.mkdir(exist_ok=True)
    d = tmp_path / "t" / "m" / "seed1"
    d.mkdir(parents=True)
    (d / "metrics.json").write_text(json.dumps({"task_type": "classification", "mcc": 0.1}))
    with pytest.raises(ValueError, match="not a regression run"):
        regression_table([d / "metrics.json"])


def test_dnalm_predict_loads_a_gpt_model_dir(motif_runs, gpt_lm, tmp_path) -> None:
    from dnalm.cli import main

    _, d = motif_runs["real"]
    test = _motif_frame(200, 3)
    fa = tmp_path / "in.fa"
    fa.write_text("".join(f">row{i}\n{s}\n" for i, s in enumerate(test["sequence"])))
    res = tmp_path / "pred.tsv"
    assert main(["predict", str(d / "model"), "--fasta", str(fa), "-o", str(res), "--device", "cpu",
                 "--batch-size", "9", "--quiet"]) == 0  # fmt: skip
    got = pd.read_csv(res, sep="\t")
    assert list(got.columns) == ["id", "p_negative", "p_positive", "label"]
    with gzip.open(d / "predictions.tsv.gz", "rt") as fh:
        wf = pd.read_csv(fh, sep="\t")
    assert np.abs(got[["p_negative", "p_positive"]].to_numpy() - wf[["p0", "p1"]].to_numpy()).max() < 1e-5
    # a GPT language model is not a classifier; embeddings need a BERT
    assert main(["predict", str(gpt_lm), "--fasta", str(fa), "-o", str(tmp_path / "x.tsv")]) != 0
