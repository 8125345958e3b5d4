"""``dnalm attention``: npz/TSV equal the library's DNABERT-viz scores; heatmap; bad input."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch
from dnalm import kmers
from dnalm.attention.scores import attention_scores
from dnalm.cli import main
from dnalm.predict import load_classifier

from tests.synth import make_lm

pytestmark = pytest.mark.usefixtures("torch_one_thread")


@pytest.fixture(scope="module")
def clf(tmp_path_factory):
    """A tiny 2-class classifier dir (k=4) with named classes, and a FASTA."""
    from transformers import BertConfig, BertForSequenceClassification

    root = tmp_path_factory.mktemp("cli_attention")
    cfg = BertConfig(vocab_size=kmers.vocab_size(4), hidden_size=32, num_hidden_layers=2,
                     num_attention_heads=4, intermediate_size=64, max_position_embeddings=128,
                     num_labels=2, id2label={0: "background", 1: "promoter"},
                     label2id={"background": 0, "promoter": 1})  # fmt: skip
    torch.manual_seed(0)
    d = root / "model"
    BertForSequenceClassification(cfg).save_pretrained(str(d))
    kmers.write_tokenizer_files(d, 4, max_len=128)
    rng = np.random.default_rng(2)
    seqs = ["".join(rng.choice(list("ACGT"), int(n))) for n in rng.integers(30, 90, size=9)]
    fa = root / "in.fa"
    fa.write_text("".join(f">q{i}\n{s}\n" for i, s in enumerate(seqs)))
    return d, fa, seqs


def test_scores_match_library_and_outputs_are_complete(clf, tmp_path):
    d, fa, seqs = clf
    out = tmp_path / "att.npz"
    tsv = tmp_path / "att.tsv.gz"
    assert main(["attention", str(d), "--fasta", str(fa), "-o", str(out), "--tsv", str(tsv), "--n-heatmap", "5",
                 "--device", "cpu", "--quiet", "--batch-size", "4"]) == 0  # fmt: skip
    z = np.load(out)
    model, k = load_classifier(d)
    want = attention_scores(model, seqs, k, batch_size=1, device="cpu")
    assert z["scores"].shape == (9, max(map(len, seqs)))
    np.testing.assert_allclose(z["scores"], want.scores, atol=1e-6, equal_nan=True)
    np.testing.assert_allclose(z["probs"], want.probs, atol=1e-6)
    assert z["ids"].tolist() == [f"q{i}" for i in range(9)]
    assert z["lengths"].tolist() == [len(s) for s in seqs]
    assert z["labels"].tolist() == ["background", "promoter"]
    for i, s in enumerate(seqs):  # every base scored, L2-normalised, NaN beyond the record
        assert (
            np.isfinite(z["scores"][i, : len(s)]).all() and np.isnan(z["scores"][i, len(s) :]).all()
        )
        assert abs(np.linalg.norm(z["scores"][i, : len(s)]) - 1) < 1e-5
    long = pd.read_csv(tsv, sep="\t")
    assert long.columns.tolist() == ["id", "position", "base", "attention"]
    assert len(long) == sum(map(len, seqs))
    q3 = long[long["id"] == "q3"]
    assert "".join(q3["base"]) == seqs[3] and q3["position"].tolist() == list(
        range(1, len(seqs[3]) + 1)
    )
    np.testing.assert_allclose(q3["attention"], z["scores"][3, : len(seqs[3])], rtol=1e-6)
    png = tmp_path / "att.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_bad_input(clf, tmp_path, capsys):
    d, _, _ = clf
    out = tmp_path / "att.npz"
    base = ["-o", str(out), "--device", "cpu", "--quiet"]
    bad = tmp_path / "bad.fa"
    bad.write_text(">a\nACGTACGT\n>b\nACGU\n")
    assert main(["attention", str(d), "--fasta", str(bad), *base]) == 2
    err = capsys.readouterr().err
    assert f"{bad}:4: record 'b' has character 'U' at column 4" in err and "Traceback" not in err
    lm = make_lm(tmp_path / "lm", k=4)
    good = tmp_path / "good.fa"
    good.write_text(">a\nACGTACGTAA\n")
    assert main(["attention", str(lm), "--fasta", str(good), *base]) == 2
    assert "is a language model" in capsys.readouterr().err
    assert (
        main(
            ["attention", str(d), "--fasta", str(good), "-o", str(tmp_path / "att.npy"), "--quiet"]
        )
        == 2
    )
    assert "must end in .npz" in capsys.readouterr().err
    assert (
        main(
            [
                "attention",
                str(d),
                "--fasta",
                str(good),
                "--card",
                str(tmp_path / "none.json"),
                *base,
            ]
        )
        == 2
    )
    assert "--card" in capsys.readouterr().err
    card = tmp_path / "card.json"
    card.write_text(json.dumps({"task": "t", "kind": "x", "counts": {}, "k": 6}))
    assert main(["attention", str(d), "--fasta", str(good), "--card", str(card), *base]) == 2
    assert "k=6 but the model's vocabulary is k=4" in capsys.readouterr().err
    assert not out.exists() and not (tmp_path / "att.png").exists()


def test_records_are_held_to_the_models_window_like_predict(clf, tmp_path, capsys):
    """attention scored records of any length with the card's class probabilities beside them;
    now a record off the window is an error (as in dnalm predict) unless asked for."""
    d, fa, seqs = clf
    card = tmp_path / "card.json"
    card.write_text(json.dumps({"task": "t", "kind": "promoter", "counts": {}, "n_classes": 2,
                                "window_length": 60}))  # fmt: skip
    out = tmp_path / "att.npz"
    base = [str(d), "--fasta", str(fa), "--card", str(card), "--device", "cpu", "--quiet", "-o", str(out)]
    first = next(i for i, s in enumerate(seqs) if len(s) != 60)
    assert main(["attention", *base]) == 2
    err = capsys.readouterr().err
    assert f"{fa}:{2 * first + 1}: record 'q{first}' has {len(seqs[first])} bases, the model's window is 60" in err
    assert not out.exists()
    assert main(["attention", *base, "--window-policy", "any"]) == 0
    assert np.load(out)["lengths"].tolist() == [len(s) for s in seqs]
    if all(len(s) >= 60 for s in seqs):
        assert main(["attention", *base, "--window-policy", "centre"]) == 0
    else:
        assert main(["attention", *base, "--window-policy", "centre"]) == 2
        assert "the model's window is 60" in capsys.readouterr().err
    card.write_text(json.dumps({"task": "t", "kind": "splice", "counts": {}, "n_classes": 3}))
    assert main(["attention", *base[:-2], "-o", str(tmp_path / "b.npz")]) == 2
    assert "n_classes 3 (the model has 2 classes)" in capsys.readouterr().err
