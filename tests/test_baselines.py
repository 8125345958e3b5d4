"""Baselines: CNN, CNN+LSTM, CNN+GRU and k-mer LR learn the planted motif; padding is inert."""

import numpy as np
import pytest
import torch
from dnalm.baselines import NEURAL_BASELINES, OneHotClassifier, build_baseline, one_hot
from dnalm.finetune import finetune

from tests.synth import synth_splits

pytestmark = pytest.mark.usefixtures("torch_one_thread")


@pytest.fixture(scope="module")
def splits():
    return synth_splits(n_train=300, n_eval=100, seed=20)


@pytest.mark.parametrize("name", [*NEURAL_BASELINES, "kmer_lr"])
def test_baseline_learns_planted_motif(tmp_path, splits, name):
    m = finetune(*splits, tmp_path, name, epochs=8, batch_size=32, lr=1e-2, seed=1, task="synth")
    print(f"{name}: test MCC {m['mcc']:.3f}, AUROC {m['auroc']:.3f}")
    assert m["mcc"] > 0.6
    assert m["init"] == "none"
    assert (tmp_path / "train_log.tsv").is_file() and (tmp_path / "predictions.tsv.gz").is_file()
    assert (tmp_path / "model" / "model.safetensors").is_file()  # a standalone model dir


def test_one_hot_channels_and_padding():
    x, lengths = one_hot(["ACGTN", "GA"])
    assert x.shape == (2, 4, 5) and lengths.tolist() == [5, 2]
    assert x[0, :, :4].argmax(0).tolist() == [0, 1, 2, 3]  # A C G T
    assert x[0, :, 4].sum() == 0 and x[1, :, 2:].sum() == 0
    assert x[1, :, :2].argmax(0).tolist() == [2, 0]


@pytest.mark.parametrize("rnn", [None, "lstm", "gru"])
def test_padding_does_not_change_logits(rnn):
    torch.manual_seed(0)
    model = OneHotClassifier(3, rnn=rnn).eval()
    rng = np.random.default_rng(0)
    seqs = ["".join(rng.choice(list("ACGT"), n)) for n in (40, 97, 71, 9)]
    with torch.no_grad():
        x, lengths = one_hot(seqs)
        batched = model(torch.from_numpy(x), torch.from_numpy(lengths))
        for i, s in enumerate(seqs):
            xi, li = one_hot([s])
            alone = model(torch.from_numpy(xi), torch.from_numpy(li))
            assert torch.allclose(alone[0], batched[i], atol=1e-6)


def test_build_baseline_rejects_unknown_name():
    with pytest.raises(ValueError, match="cnn"):
        build_baseline("transformer", 2)
    assert isinstance(build_baseline("cnn_gru", 2).rnn, torch.nn.GRU)
