"""dnalm.mutagenesis: ISM maps agree with direct predictions and do not depend on batch size."""

import numpy as np
import pytest
import torch
from dnalm import kmers
from dnalm.mutagenesis import ISM_BASES, plot_mutation_maps, saturation_mutagenesis
from dnalm.predict import predict_proba

pytestmark = pytest.mark.usefixtures("torch_one_thread")
K = 3


@pytest.fixture(scope="module")
def clf():
    from transformers import BertConfig, BertForSequenceClassification

    torch.manual_seed(1)
    cfg = BertConfig(vocab_size=kmers.vocab_size(K), hidden_size=16, num_hidden_layers=1,
                     num_attention_heads=2, intermediate_size=32, max_position_embeddings=64,
                     num_labels=2)
    return BertForSequenceClassification(cfg).eval()


def test_map_matches_direct_predictions(clf):
    seq = "ACGTTGCANGTACCGTAGGCA"
    delta, p_ref = saturation_mutagenesis(clf, seq.lower(), K, batch_size=5, device="cpu")
    assert delta.shape == (4, len(seq))
    assert p_ref == pytest.approx(predict_proba(clf, [seq], K, device="cpu")[0, 1], abs=1e-6)
    for i, b in enumerate(seq):
        if b == "N":
            assert (delta[:, i] == 0).all()
            continue
        assert delta[ISM_BASES.index(b), i] == 0
    for i, nb in [(0, "G"), (10, "T"), (20, "C")]:
        mut = seq[:i] + nb + seq[i + 1:]
        p = predict_proba(clf, [mut], K, device="cpu")[0, 1]
        assert delta[ISM_BASES.index(nb), i] == pytest.approx(p - p_ref, abs=1e-6)
    assert np.abs(delta).sum() > 0


def test_batch_size_invariance(clf):
    seq = "GATTACAGATTACAGATTACA"
    a, _ = saturation_mutagenesis(clf, seq, K, batch_size=1, device="cpu")
    b, _ = saturation_mutagenesis(clf, seq, K, batch_size=64, device="cpu")
    np.testing.assert_allclose(a, b, atol=1e-6)


def test_bad_sequence(clf):
    with pytest.raises(ValueError, match="`seq`"):
        saturation_mutagenesis(clf, "ACGX", K, device="cpu")


def test_plot(tmp_path, clf):
    seq = "ACGTACGTACGTACGTACGTA"
    m, _ = saturation_mutagenesis(clf, seq, K, device="cpu")
    plot_mutation_maps([m, m], [seq, seq], ["a", "b"], [10, 3], tmp_path / "maps.png")
    plot_mutation_maps([], [], [], [], tmp_path / "empty.png")
    assert (tmp_path / "maps.png").stat().st_size > 1000
    assert (tmp_path / "empty.png").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty.png", "maps.png"]
