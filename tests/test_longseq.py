"""DNABERT-XL style long inputs: piece splitting, pooling modes, save/load, learning past 1 piece."""

import numpy as np
import pandas as pd
import pytest
import torch
from dnalm import kmers
from dnalm.finetune import finetune
from dnalm.longseq import LongSeqClassifier, encode_long, n_pieces
from dnalm.predict import load_classifier, predict_proba

from tests.synth import make_lm

pytestmark = pytest.mark.usefixtures("torch_one_thread")


def _random_seq(rng, n):
    return "".join(rng.choice(list("ACGT"), n))


@pytest.mark.parametrize(
    ("length", "k", "expected"), [(515, 6, 1), (516, 6, 2), (1200, 6, 3), (1020, 6, 2), (10, 6, 1)]
)
def test_n_pieces(length, k, expected):
    # L bp -> L-k+1 k-mers; 510 k-mers fit one 512-token piece with [CLS] and [SEP]
    assert n_pieces(length, k, 512) == expected


def test_pieces_cover_every_kmer_once():
    rng = np.random.default_rng(0)
    seq = _random_seq(rng, 1200)
    ids, mask, pieces = encode_long([seq, seq[:300]], 6, max_tokens=512)
    assert ids.shape[:2] == (2, 3) and ids.shape[2] <= 512
    assert pieces.tolist() == [[1, 1, 1], [1, 0, 0]]
    body = [row[m.astype(bool)] for row, m in zip(ids[0], mask[0], strict=True)]
    assert all(b[0] == kmers.CLS_ID and b[-1] == kmers.SEP_ID for b in body)
    assert [len(b) - 2 for b in body] == [399, 398, 398]  # 1195 k-mers split evenly
    joined = np.concatenate([b[1:-1] for b in body])
    assert np.array_equal(joined, kmers.encode(seq, 6))  # k-mers across cuts are kept
    assert kmers.kmer2seq(kmers.decode(joined, 6)) == seq
    assert ids[1, 1:].max() == kmers.PAD_ID and mask[1, 1:].sum() == 0
    with pytest.raises(ValueError, match="max_pieces=2"):
        encode_long([seq], 6, max_pieces=2)


def _tiny_long_model(pooling, max_pieces=4, k=4):
    from transformers import BertConfig, BertModel

    cfg = BertConfig(vocab_size=kmers.vocab_size(k), hidden_size=16, num_hidden_layers=1,
                     num_attention_heads=2, intermediate_size=32, max_position_embeddings=64)  # fmt: skip
    torch.manual_seed(0)
    return LongSeqClassifier(BertModel(cfg), 3, pooling, max_pieces).eval()


@pytest.mark.parametrize("pooling", ["mean", "max", "concat"])
def test_pooling_modes_save_load_and_batch_independence(tmp_path, pooling):
    model = _tiny_long_model(pooling)
    rng = np.random.default_rng(1)
    seqs = [_random_seq(rng, n) for n in (150, 40, 230, 9, 100)]  # 1..4 pieces of 62 k-mers
    p1 = predict_proba(model, seqs, 4, batch_size=1)
    p3 = predict_proba(model, seqs, 4, batch_size=3)
    assert p1.shape == (5, 3)
    assert np.abs(p1 - p3).max() < 1e-6
    model.save(tmp_path / "m", k=4)
    back, k = load_classifier(tmp_path / "m")
    assert isinstance(back, LongSeqClassifier) and k == 4 and back.pooling == pooling
    assert np.abs(predict_proba(back, seqs, k, batch_size=64) - p1).max() < 1e-6
    if pooling == "concat":
        with pytest.raises(ValueError, match="max_pieces=4"):
            predict_proba(model, [_random_seq(rng, 300)], 4)


def _gc_tail_task(n, seed, length=600, start=300):
    """Class 1: GC-rich tail from `start` on, i.e. only in pieces after the first."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        s = rng.choice(list("ACGT"), length)
        if i % 2:
            s[start:] = rng.choice(list("ACGT"), length - start, p=[0.05, 0.45, 0.45, 0.05])
        rows.append(("".join(s), i % 2))
    return pd.DataFrame(rows, columns=["sequence", "label"])


def test_long_input_task_learns_signal_beyond_first_piece(tmp_path):
    # 600 bp with a 128-position LM: 597 k-mers in 5 pieces of <= 126; signal from bp 300 on
    lm = make_lm(tmp_path / "lm", k=4, max_positions=128)
    tr, dv, te = _gc_tail_task(120, 0), _gc_tail_task(40, 1), _gc_tail_task(40, 2)
    m = finetune(tr, dv, te, tmp_path / "out", "lm", lm_dir=lm, epochs=3, batch_size=8, lr=5e-3,
                 seed=1, long_input="mean", evals_per_epoch=2)  # fmt: skip
    print(f"long input (600 bp, 5 pieces): test MCC {m['mcc']:.3f}")
    assert m["mcc"] > 0.8
    model, k = load_classifier(tmp_path / "out" / "model")
    assert isinstance(model, LongSeqClassifier) and model.pooling == "mean"
    pred = pd.read_csv(tmp_path / "out" / "predictions.tsv.gz", sep="\t")
    probs = predict_proba(model, te["sequence"].tolist(), k, batch_size=7)
    assert np.abs(probs - pred[["p0", "p1"]].to_numpy()).max() < 1e-6
