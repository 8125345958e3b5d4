"""``dnalm embed``: [CLS]/mean embeddings equal one-sequence forward passes, for LM and classifier dirs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from dnalm import kmers
from dnalm.cli import main
from dnalm.modeling import load_lm_dir

from tests.synth import make_lm

pytestmark = pytest.mark.usefixtures("torch_one_thread")


@pytest.fixture(scope="module")
def dirs(tmp_path_factory):
    """A tiny LM dir and a tiny classifier dir (k=5, 3 classes), plus a FASTA of varied lengths."""
    from transformers import BertConfig, BertForSequenceClassification

    root = tmp_path_factory.mktemp("cli_embed")
    lm = make_lm(root / "lm", k=5, seed=2)
    cfg = BertConfig(vocab_size=kmers.vocab_size(5), hidden_size=32, num_hidden_layers=2,
                     num_attention_heads=4, intermediate_size=64, max_position_embeddings=128,
                     num_labels=3)  # fmt: skip
    torch.manual_seed(0)
    clf = root / "clf"
    BertForSequenceClassification(cfg).save_pretrained(str(clf))
    kmers.write_tokenizer_files(clf, 5, max_len=128)
    rng = np.random.default_rng(1)
    seqs = ["".join(rng.choice(list("ACGT"), int(n))) for n in rng.integers(10, 120, size=23)]
    seqs[4] = seqs[4][:5] + "NN" + seqs[4][7:]
    fa = root / "in.fa"
    fa.write_text("".join(f">r{i}\n{s}\n" for i, s in enumerate(seqs)))
    return lm, clf, fa, seqs


@torch.no_grad()
def _one_by_one(bert, seqs, k, pool, layer):
    out = []
    for s in seqs:
        ids = torch.from_numpy(kmers.encode(s, k, add_special=True))[None]
        h = bert(input_ids=ids, output_hidden_states=True).hidden_states[layer][0]
        out.append(h[0] if pool == "cls" else h[1:-1].mean(0))
    return torch.stack(out).numpy()


@pytest.mark.parametrize(("pool", "layer"), [("cls", -1), ("mean", -1), ("mean", 1)])
def test_lm_embeddings_match_single_sequence_passes(dirs, tmp_path, pool, layer):
    lm, _, fa, seqs = dirs
    out = tmp_path / "emb.npy"
    argv = ["embed", str(lm), "--fasta", str(fa), "-o", str(out), "--pool", pool, "--layer", str(layer),
            "--device", "cpu", "--quiet", "--batch-size", "6"]  # fmt: skip
    assert main(argv) == 0
    arr = np.load(out, mmap_mode="r")
    assert isinstance(arr, np.memmap) and arr.dtype == np.float32 and arr.shape == (23, 32)
    bert = load_lm_dir(lm).model.bert
    assert np.abs(np.asarray(arr) - _one_by_one(bert, seqs, 5, pool, layer)).max() < 1e-4
    index = pd.read_csv(tmp_path / "emb.index.tsv", sep="\t")
    assert index.columns.tolist() == ["row", "id", "length"]
    assert index["id"].tolist() == [f"r{i}" for i in range(23)]
    assert index["length"].tolist() == [len(s) for s in seqs]
    # batch size does not change the result
    out1 = tmp_path / "emb1.npy"
    assert main([*argv[:5], str(out1), *argv[6:-1], "1"]) == 0
    assert np.abs(np.load(out1) - np.load(out)).max() < 1e-5


def test_classifier_dir_and_layers_differ(dirs, tmp_path):
    from transformers import BertForSequenceClassification

    _, clf, fa, seqs = dirs
    outs = {}
    for layer in ("0", "-1"):
        outs[layer] = tmp_path / f"e{layer}.npy"
        assert main(["embed", str(clf), "--fasta", str(fa), "-o", str(outs[layer]), "--layer", layer,
                     "--device", "cpu", "--quiet"]) == 0  # fmt: skip
    last = np.load(outs["-1"])
    assert not np.allclose(np.load(outs["0"]), last)
    bert = BertForSequenceClassification.from_pretrained(str(clf)).eval().bert
    assert np.abs(last - _one_by_one(bert, seqs, 5, "cls", -1)).max() < 1e-4


def test_bad_input_leaves_nothing(dirs, tmp_path, capsys):
    lm, _, fa, _ = dirs
    out = tmp_path / "emb.npy"
    base = ["--device", "cpu", "--quiet"]
    assert main(["embed", str(lm), "--fasta", str(fa), "-o", str(out), "--layer", "3", *base]) == 2
    assert "--layer 3: this model has hidden states 0..2" in capsys.readouterr().err
    assert main(["embed", str(lm), "--fasta", str(fa), "-o", str(tmp_path / "emb.bin"), *base]) == 2
    assert "must end in .npy" in capsys.readouterr().err
    bad = tmp_path / "bad.fa"
    bad.write_text(">ok\nACGTACGT\n>long\n" + "A" * 60 + "\n" + "C" * 80 + "\n")
    assert main(["embed", str(lm), "--fasta", str(bad), "-o", str(out), *base]) == 2
    err = capsys.readouterr().err
    assert f"{bad}:3: record 'long' has 140 bases" in err and "Traceback" not in err
    assert not out.exists() and not (tmp_path / "emb.index.tsv").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_an_index_path_that_is_a_directory_is_refused_first(dirs, tmp_path, capsys):
    """The index TSV is written beside OUT; when that name is a directory the run failed only
    after embedding everything, naming a hidden temporary file."""
    lm, _, fa, _ = dirs
    out = tmp_path / "emb.npy"
    (tmp_path / "emb.index.tsv").mkdir()
    assert main(["embed", str(lm), "--fasta", str(fa), "-o", str(out), "--device", "cpu", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert f"would write {tmp_path / 'emb.index.tsv'}, which is a directory" in err and "Traceback" not in err
    assert not out.exists() and not [p for p in tmp_path.iterdir() if p.name.startswith(".")]
