"""predict_proba: independent of batch size, restores train mode, loads saved classifiers."""

import numpy as np
import pytest
import torch
from dnalm import kmers
from dnalm.baselines import build_baseline
from dnalm.predict import load_classifier, predict_proba

pytestmark = pytest.mark.usefixtures("torch_one_thread")


@pytest.fixture(scope="module")
def saved_classifier(tmp_path_factory):
    from transformers import BertConfig, BertForSequenceClassification

    cfg = BertConfig(vocab_size=kmers.vocab_size(5), hidden_size=32, num_hidden_layers=2,
                     num_attention_heads=4, intermediate_size=64, max_position_embeddings=128,
                     num_labels=3)  # fmt: skip
    torch.manual_seed(0)
    model = BertForSequenceClassification(cfg)
    d = tmp_path_factory.mktemp("clf") / "model"
    model.save_pretrained(str(d))
    kmers.write_tokenizer_files(d, 5, max_len=128)
    return d, model.eval()


@pytest.fixture(scope="module")
def seqs():
    rng = np.random.default_rng(0)
    out = ["".join(rng.choice(list("ACGT"), int(n))) for n in rng.integers(20, 120, size=70)]
    out[3] = out[3][:10] + "NN" + out[3][12:]
    return out


def test_probabilities_do_not_depend_on_batch_size(saved_classifier, seqs, device):
    model, k = load_classifier(saved_classifier[0])
    assert k == 5
    p = {b: predict_proba(model, seqs, k, batch_size=b, device=device) for b in (1, 7, 64)}
    assert p[1].shape == (70, 3) and p[1].dtype == np.float64
    assert np.allclose(p[1].sum(1), 1)
    assert np.abs(p[1] - p[7]).max() < 1e-6
    assert np.abs(p[1] - p[64]).max() < 1e-6
    # the loaded model is the saved one
    assert np.abs(predict_proba(saved_classifier[1], seqs, k) - p[1]).max() < 1e-5


def test_baseline_probabilities_do_not_depend_on_batch_size(seqs, device):
    torch.manual_seed(0)
    model = build_baseline("cnn_lstm", 2)
    p1 = predict_proba(model, seqs, None, batch_size=1, device=device)
    p64 = predict_proba(model, seqs, None, batch_size=64, device=device)
    assert np.abs(p1 - p64).max() < 1e-5


def test_restores_train_mode_and_checks_arguments(saved_classifier, seqs):
    model = saved_classifier[1]
    model.train()
    a = predict_proba(model, seqs[:5], 5)
    b = predict_proba(model, seqs[:5], 5)
    assert model.training
    assert np.array_equal(a, b)  # dropout is off while predicting
    model.eval()
    with pytest.raises(ValueError, match="batch_size"):
        predict_proba(model, seqs, 5, batch_size=0)
    with pytest.raises(ValueError, match="max_tokens=128"):
        predict_proba(model, ["A" * 200], 5)
    assert predict_proba(model, [], 5).shape == (0, 3)


def test_load_classifier_needs_vocab(tmp_path):
    with pytest.raises(ValueError, match="vocab.txt"):
        load_classifier(tmp_path)
