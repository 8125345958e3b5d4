"""Standalone model directories: labels, card.json, README.md, every model kind, hub ids.

A fine-tuned model directory must be usable without the workflow around it: plain transformers
(AutoTokenizer on raw DNA + AutoModelForSequenceClassification), ``dnalm predict`` without
``--card``, baselines as directories too, and a hub id resolved from the local HF cache only.
"""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest
import torch
from dnalm.cli import main
from dnalm.dataset import Example, dataset_card, read_card, write_card, write_split
from dnalm.finetune import finetune
from dnalm.model_card import class_names
from dnalm.predict import (
    class_logits,
    load_model_dir,
    positive_logits,
    predict_proba,
)
from dnalm.textio import sha256sum

from tests.synth import make_lm, synth_task

pytestmark = pytest.mark.usefixtures("torch_one_thread")

WINDOW = 80
SPEC = {"kind": "promoter", "genome": "demo_hs", "window": [-59, 20], "k": 4}


@pytest.fixture(scope="module")
def task(tmp_path_factory):
    """Split files and a promoter task card as dataset_build writes them (80-bp windows)."""
    d = tmp_path_factory.mktemp("datasets") / "prom"
    d.mkdir()
    frames = {s: synth_task(n, seed, lo=WINDOW, hi=WINDOW)
              for s, n, seed in (("train", 320, 0), ("dev", 60, 1), ("test", 60, 2))}  # fmt: skip
    exs = {s: [Example(r.sequence, int(r.label)) for r in f.itertuples()] for s, f in frames.items()}
    paths = {s: write_split(e, d / f"{s}.tsv.gz") for s, e in exs.items()}
    write_card(dataset_card("prom", SPEC, exs, "dinuc_shuffle", seed=1), d / "card.json")
    return paths, d / "card.json"


@pytest.fixture(scope="module")
def runs(tmp_path_factory, task):
    """One fine-tuned BERT and the three kinds of baseline, each with its model directory."""
    paths, card = task
    root = tmp_path_factory.mktemp("ft")
    lm = make_lm(root / "lm", k=4)
    splits = (paths["train"], paths["dev"], paths["test"])
    out = {}
    for name, kw in (("lm", {"lm_dir": lm, "lr": 2e-3, "epochs": 6}),
                     ("cnn", {"lr": 1e-3, "epochs": 1}),
                     ("cnn_gru", {"lr": 1e-3, "epochs": 1}),
                     ("kmer_lr", {})):  # fmt: skip
        d = root / name
        finetune(*splits, d, name, seed=1, task="prom", batch_size=32, device="cpu", card=card,
                 **kw)  # fmt: skip
        out[name] = d
    return out


def _workflow_probs(run_dir):
    wf = pd.read_csv(run_dir / "predictions.tsv.gz", sep="\t").sort_values("index")
    return wf[["p0", "p1"]].to_numpy()


def _test_seqs(task):
    return pd.read_csv(task[0]["test"], sep="\t")["sequence"].tolist()


def _fasta(path, seqs):
    path.write_text("".join(f">r{i}\n{s.lower() if i % 2 else s}\n" for i, s in enumerate(seqs)))
    return path


def test_bert_dir_carries_labels_card_and_readme(runs, task):
    d = runs["lm"] / "model"
    cfg = json.loads((d / "config.json").read_text())
    assert cfg["id2label"] == {"0": "negative", "1": "positive"}
    assert cfg["label2id"] == {"negative": 0, "positive": 1}
    card = read_card(d / "card.json")  # the one card reader
    assert (card.task, card.kind, card.genome, card.k) == ("prom", "promoter", "demo_hs", 4)
    assert (card.window_length, card.tss_offset) == (WINDOW, 59)
    assert card.raw["training"] == {"split": "train.tsv.gz", "of": "file",
                                    "sha256": sha256sum(task[0]["train"])}  # fmt: skip
    assert card.raw["class_names"] == ["negative", "positive"]
    tcfg = json.loads((d / "tokenizer_config.json").read_text())
    assert tcfg["do_lower_case"] is False
    readme = (d / "README.md").read_text()
    front = readme.split("---\n")[1]
    for line in ("license: mit", "library_name: transformers", "- dna", "- genomics", "- dnabert",
                 "pipeline_tag: text-classification"):  # fmt: skip
        assert line in front.splitlines(), line
    metrics = json.loads((runs["lm"] / "metrics.json").read_text())
    mcc_row = next(r for r in readme.splitlines() if r.startswith("| mcc |"))
    assert mcc_row.startswith(f"| mcc | {metrics['mcc']:.3f} | ")
    lo, hi = (float(x) for x in mcc_row.split("|")[3].split(" to "))  # bootstrap CI
    assert metrics["mcc"] > 0.3  # it learned the planted motif, so the CI is not degenerate
    assert lo <= round(metrics["mcc"], 3) <= hi and lo < hi
    assert sha256sum(task[0]["train"]) in readme
    assert "learning check: unchecked" in readme  # make_lm writes no learning_check.json
    assert "AutoTokenizer.from_pretrained" in readme


def test_bert_dir_in_plain_transformers_matches_workflow(runs, task):
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    d = runs["lm"] / "model"
    tok = AutoTokenizer.from_pretrained(str(d))
    model = AutoModelForSequenceClassification.from_pretrained(str(d)).eval()
    assert model.config.id2label == {0: "negative", 1: "positive"}
    seqs = [s.lower() if i % 3 == 0 else s for i, s in enumerate(_test_seqs(task))]  # any case
    with torch.no_grad():
        logits = model(**tok(seqs, return_tensors="pt", padding=True)).logits
    probs = torch.softmax(logits, -1).numpy()
    assert np.abs(probs - _workflow_probs(runs["lm"])).max() < 1e-5


def test_predict_without_card_uses_the_dirs_card(runs, task, tmp_path):
    seqs = _test_seqs(task)
    fa = _fasta(tmp_path / "in.fa", seqs)
    res = tmp_path / "p.tsv"
    assert main(["predict", str(runs["lm"] / "model"), "--fasta", str(fa), "-o", str(res),
                 "--quiet", "--device", "cpu"]) == 0  # fmt: skip
    got = pd.read_csv(res, sep="\t")
    assert list(got.columns) == ["id", "p_negative", "p_positive", "label"]
    assert np.abs(got[["p_negative", "p_positive"]].to_numpy() - _workflow_probs(runs["lm"])).max() < 1e-6
    # the card's window is enforced: a 79-bp record names its file:line
    _fasta(tmp_path / "short.fa", [seqs[0][:-1]])
    assert main(["predict", str(runs["lm"] / "model"), "--fasta", str(tmp_path / "short.fa"), "-o",
                 str(res), "--quiet"]) == 2  # fmt: skip


@pytest.mark.parametrize("name", ["cnn", "cnn_gru", "kmer_lr"])
def test_baseline_dirs_load_and_reproduce_predictions(runs, task, name, tmp_path):
    d = runs[name] / "model"
    cfg = json.loads((d / "config.json").read_text())
    assert cfg["dnalm_baseline"] == name and cfg["length"] == WINDOW and cfg["n_classes"] == 2
    assert cfg["id2label"] == {"0": "negative", "1": "positive"}
    assert (d / "model.safetensors").is_file() and not (d / "vocab.txt").exists()
    assert read_card(d / "card.json").raw["training"]["sha256"] == sha256sum(task[0]["train"])
    readme = (d / "README.md").read_text()
    assert "library_name: dnalm" in readme and "not a transformers model" in readme
    clf = load_model_dir(d)
    assert (clf.kind, clf.k, clf.window, clf.labels) == ("baseline", None, WINDOW, ["negative", "positive"])
    seqs = _test_seqs(task)
    probs = predict_proba(clf.model, seqs, clf.k)
    assert np.abs(probs - _workflow_probs(runs[name])).max() < 1e-6
    # logits: their softmax is the probability; positive_logits is column 1
    lg = class_logits(clf, seqs[:20], batch_size=7)
    assert np.allclose(torch.softmax(torch.from_numpy(lg), -1).numpy(), probs[:20], atol=1e-6)
    assert np.array_equal(positive_logits(clf, seqs[:20], batch_size=7), lg[:, 1])
    # and dnalm predict runs it, the window from its card
    res = tmp_path / "p.tsv"
    assert main(["predict", str(d), "--fasta", str(_fasta(tmp_path / "in.fa", seqs)), "-o",
                 str(res), "--quiet", "--device", "cpu"]) == 0  # fmt: skip
    got = pd.read_csv(res, sep="\t")[["p_negative", "p_positive"]].to_numpy()
    assert np.abs(got - _workflow_probs(runs[name])).max() < 1e-6


def test_kmer_lr_module_equals_sklearn():
    from dnalm.baselines import fit_kmer_lr, kmer_frequencies
    from sklearn.linear_model import LogisticRegression

    tr, dv = synth_task(200, 0, n_classes=3), synth_task(60, 1, n_classes=3)
    model, _, best = fit_kmer_lr(tr["sequence"].tolist(), tr["label"].to_numpy(),
                                 dv["sequence"].tolist(), dv["label"].to_numpy(), 3, k=3)  # fmt: skip
    x = kmer_frequencies(dv["sequence"].tolist(), 3)
    ref = LogisticRegression(C=(0.1, 1.0, 10.0, 100.0)[best], max_iter=2000, random_state=1)
    ref.fit(kmer_frequencies(tr["sequence"].tolist(), 3), tr["label"].to_numpy())
    got = predict_proba(model, dv["sequence"].tolist(), None)
    assert np.abs(got - ref.predict_proba(x)).max() < 1e-5


def test_positive_logits_on_bert_and_errors(runs, task):
    clf = load_model_dir(runs["lm"] / "model")
    assert (clf.kind, clf.k, clf.window) == ("bert", 4, WINDOW)
    seqs = _test_seqs(task)[:10]
    lg = class_logits(clf, seqs)
    assert lg.shape == (10, 2)
    assert np.array_equal(positive_logits(clf, seqs, positive=0), lg[:, 0])
    with pytest.raises(ValueError, match="2 classes"):
        positive_logits(clf, seqs, positive=2)
    with pytest.raises(ValueError, match="language model"):
        load_model_dir(runs["lm"].parent / "lm")


def test_card_k_mismatch_and_bad_baseline_config(runs, tmp_path):
    d = tmp_path / "m"
    shutil.copytree(runs["lm"] / "model", d)
    card = json.loads((d / "card.json").read_text())
    (d / "card.json").write_text(json.dumps({**card, "k": 6}))
    with pytest.raises(ValueError, match=r"card.json: k=6 but the model's vocabulary is k=4"):
        load_model_dir(d)
    b = tmp_path / "b"
    shutil.copytree(runs["cnn"] / "model", b)
    cfg = json.loads((b / "config.json").read_text())
    (b / "config.json").write_text(json.dumps({**cfg, "hparams": {**cfg["hparams"], "channels": [8, 8]}}))
    with pytest.raises(ValueError, match="weights do not fit"):
        load_model_dir(b)


def _drop_weight(src, dst, key):
    """Copy a model directory, leaving one tensor out of its model.safetensors."""
    from safetensors.torch import load_file, save_file

    shutil.copytree(src, dst)
    weights = load_file(str(dst / "model.safetensors"))
    assert key in weights, sorted(weights)
    del weights[key]
    save_file(weights, str(dst / "model.safetensors"), metadata={"format": "pt"})
    return dst


def test_a_checkpoint_missing_weights_is_refused_not_filled_at_random(runs, task, tmp_path, caplog,
                                                                      capsys):
    """transformers fills absent weights at random and only logs; every loader here refuses."""
    import logging

    from dnalm.finetune import _build_bert
    from dnalm.gpt import build_gpt, save_gpt_dir
    from dnalm.gpt.model import load_gpt_dir
    from dnalm.variants.effects import load_mlm

    # The whole directories load, with one INFO line in place of transformers' report.
    with caplog.at_level(logging.INFO):
        load_model_dir(runs["lm"] / "model")
        _build_bert(runs["lm"].parent / "lm", False, 2, 0.1, 1, "concat")
    assert "LOAD REPORT" not in caplog.text + capsys.readouterr().err
    assert "initialised fresh: bert.pooler.dense.bias, bert.pooler.dense.weight, classifier.bias" \
        in caplog.text
    # A fine-tuned classifier without its head: dnalm predict would score at random.
    clf = _drop_weight(runs["lm"] / "model", tmp_path / "clf", "classifier.weight")
    with pytest.raises(ValueError, match=r"clf/model.safetensors: 1 weights of "
                                         r"BertForSequenceClassification are missing.*classifier"):
        load_model_dir(clf)
    fasta = _fasta(tmp_path / "in.fa", _test_seqs(task)[:3])
    assert main(["predict", str(clf), "--fasta", str(fasta), "-o", str(tmp_path / "p.tsv"),
                 "--quiet", "--device", "cpu"]) == 2  # fmt: skip
    assert "classifier.weight" in capsys.readouterr().err
    assert not (tmp_path / "p.tsv").exists()
    # A masked LM without an encoder weight: fine-tuning and variant scoring would start from it.
    lm = _drop_weight(runs["lm"].parent / "lm", tmp_path / "lm",
                      "bert.encoder.layer.1.output.dense.weight")
    for kw in ({"long_pieces": 1}, {"long_pieces": 2}):  # BertForSequenceClassification, BertModel
        with pytest.raises(ValueError, match=r"encoder\.layer\.1\.output\.dense\.weight"):
            _build_bert(lm, False, 2, 0.1, long_input="concat", **kw)
    _build_bert(lm, True, 2, 0.1, 1, "concat")  # the scratch control reads only the config
    with pytest.raises(ValueError, match="BertForMaskedLM are missing"):
        load_mlm(lm)
    out = tmp_path / "ft"
    with pytest.raises(ValueError, match="missing"):
        finetune(task[0]["train"], task[0]["dev"], task[0]["test"], out, "lm", lm_dir=lm, seed=1,
                 task="prom", batch_size=32, device="cpu", card=task[1], epochs=1)
    assert not (out / "metrics.json").exists()
    # A GPT directory: language model and classifier alike load through load_gpt_dir.
    gpt = tmp_path / "gpt"
    save_gpt_dir(build_gpt("tiny", n_positions=16, seed=0), gpt)
    load_gpt_dir(gpt)
    bad = _drop_weight(gpt, tmp_path / "gpt_bad", "transformer.h.1.attn.c_attn.bias")
    with pytest.raises(ValueError, match="DnaGptModel are missing"):
        load_gpt_dir(bad)


def test_class_names_from_card_kind_and_count():
    assert class_names({"kind": "splice"}, 3) == ["donor", "acceptor", "nonsite"]
    assert class_names({"kind": "tfbs"}, 2) == ["negative", "positive"]
    assert class_names(None, 4) == ["0", "1", "2", "3"]
    assert class_names({"class_names": ["bg", "prom"]}, 2) == ["bg", "prom"]
    with pytest.raises(ValueError, match="does not name 3 distinct classes"):
        class_names({"task": "t", "class_names": ["a", "a", "b"]}, 3)


def test_in_memory_splits_get_a_card_from_the_rows(tmp_path):
    tr, dv, te = (synth_task(n, s, lo=60, hi=60) for n, s in ((80, 0), (30, 1), (30, 2)))
    finetune(tr, dv, te, tmp_path, "cnn", epochs=1, batch_size=32, lr=1e-3, device="cpu")
    card = read_card(tmp_path / "model" / "card.json")
    assert (card.kind, card.window_length, card.n_classes) == ("unspecified", 60, 2)
    assert card.raw["training"]["of"] == "rows" and len(card.raw["training"]["sha256"]) == 64
    assert card.counts["train"] == {"0": 40, "1": 40}


# ----------------------------------------------------------------------------- hub ids


def _hub_cache(root, repo, model_dir, commit="a" * 40):
    org, name = repo.split("/")
    base = root / "hub" / f"models--{org}--{name}"
    shutil.copytree(model_dir, base / "snapshots" / commit)
    (base / "refs").mkdir(parents=True)
    (base / "refs" / "main").write_text(commit)
    return root / "hub"


def test_hub_id_loads_offline_from_the_local_cache(runs, task, tmp_path, monkeypatch):
    hub = _hub_cache(tmp_path / "hf", "dnalm-test/prom-cnn", runs["cnn"] / "model")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setenv("HF_HUB_CACHE", str(hub))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.chdir(tmp_path)  # "dnalm-test/prom-cnn" is no local path here
    seqs = _test_seqs(task)
    fa = _fasta(tmp_path / "in.fa", seqs)
    for ref in ("dnalm-test/prom-cnn", "dnalm-test/prom-cnn@" + "a" * 40):
        res = tmp_path / "p.tsv"
        assert main(["predict", ref, "--fasta", str(fa), "-o", str(res), "--quiet",
                     "--device", "cpu"]) == 0  # fmt: skip
        got = pd.read_csv(res, sep="\t")[["p_negative", "p_positive"]].to_numpy()
        assert np.abs(got - _workflow_probs(runs["cnn"])).max() < 1e-6


def test_hub_id_absent_is_a_clear_error(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.chdir(tmp_path)
    fa = tmp_path / "in.fa"
    fa.write_text(">a\nACGTACGT\n")
    rc = main(["predict", "someorg/nomodel", "--fasta", str(fa), "-o", str(tmp_path / "o.tsv")])
    err = capsys.readouterr().err
    assert rc == 2
    assert "someorg/nomodel" in err and "not in the local Hugging Face cache" in err
    assert str(tmp_path / "empty") in err
    rc = main(["predict", "a/b/c", "--fasta", str(fa), "-o", str(tmp_path / "o.tsv")])
    assert rc == 2 and "a/b/c: model directory not found" in capsys.readouterr().err



def test_other_subcommands_on_a_baseline_dir(runs, task, tmp_path, capsys):
    """scan runs a CNN dir (window from its card); embed and attention refuse it by name."""
    from tests.cli_models import write_genome

    d = str(runs["cnn"] / "model")
    rng = np.random.default_rng(3)
    chrom = "".join(rng.choice(list("ACGT"), 600))
    genome = write_genome(tmp_path, {"chrT": chrom})
    out = tmp_path / "scan"
    assert main(["scan", d, "--genome", str(genome), "--stride", "40", "--strand", "+",
                 "--no-bigwig", "-o", str(out), "--quiet", "--device", "cpu"]) == 0  # fmt: skip
    track = pd.read_csv(f"{out}.bedGraph", sep="\t", header=None)
    clf = load_model_dir(d)
    first = predict_proba(clf.model, [chrom[:WINDOW]], None)[0, 1]
    assert track.iloc[0, 3] == pytest.approx(first, abs=1e-5)
    fa = _fasta(tmp_path / "in.fa", _test_seqs(task)[:3])
    assert main(["embed", d, "--fasta", str(fa), "-o", str(tmp_path / "e.npy"), "--quiet"]) == 2
    assert "OneHotClassifier baseline; this subcommand needs a BERT" in capsys.readouterr().err
    assert main(["attention", d, "--fasta", str(fa), "-o", str(tmp_path / "a.npz"), "--quiet"]) == 2
    assert "not a long-input classifier or a baseline" in capsys.readouterr().err


def test_long_input_dir_carries_labels_and_card(tmp_path):
    """Inputs longer than the LM's positions: the long-input classifier's dir stands alone too."""
    lm = make_lm(tmp_path / "lm", k=4, max_positions=32)
    tr, dv, te = (synth_task(n, s, n_classes=3, lo=70, hi=70) for n, s in ((60, 0), (30, 1), (30, 2)))
    finetune(tr, dv, te, tmp_path / "ft", "lm", lm_dir=lm, epochs=1, batch_size=16, device="cpu")
    d = tmp_path / "ft" / "model"
    spec = json.loads((d / "longseq.json").read_text())
    assert spec["id2label"] == {"0": "0", "1": "1", "2": "2"}  # 3 unnamed classes
    clf = load_model_dir(d)
    assert (clf.kind, clf.k, clf.window, clf.labels) == ("longseq", 4, 70, ["0", "1", "2"])
    assert clf.card["k"] == 4 and clf.card["training"]["of"] == "rows"
    assert "library_name: dnalm" in (d / "README.md").read_text()
    wf = pd.read_csv(tmp_path / "ft" / "predictions.tsv.gz", sep="\t").sort_values("index")
    probs = predict_proba(clf.model, te["sequence"].tolist(), clf.k)
    assert np.abs(probs - wf[["p0", "p1", "p2"]].to_numpy()).max() < 1e-6
