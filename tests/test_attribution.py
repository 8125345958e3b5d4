"""dnalm.attribution.saturation (ism) / .ig: brute-force ISM, batch-size invariance, IG completeness, captum."""

import numpy as np
import pytest
import torch
from dnalm import kmers
from dnalm.attention.scores import token_to_nucleotide
from dnalm.attribution import integrated_gradients, ism
from dnalm.attribution.reference import shuffled_references
from dnalm.baselines import build_baseline, one_hot
from dnalm.modeling import bert_config
from dnalm.predict import predict_proba

pytestmark = pytest.mark.usefixtures("torch_one_thread")
K = 3
L = 30


def _seqs(n: int, seed: int = 0, length: int = L) -> list[str]:
    rng = np.random.default_rng(seed)
    return ["".join(rng.choice(list("ACGT"), length)) for _ in range(n)]


@pytest.fixture(scope="module")
def bert():
    from transformers import BertForSequenceClassification

    torch.manual_seed(3)
    cfg = bert_config(K, "tiny", max_positions=64)
    cfg.num_labels = 2
    cfg.initializer_range = 0.3  # random weights with a visible signal
    cfg.hidden_dropout_prob = cfg.attention_probs_dropout_prob = 0.0
    return BertForSequenceClassification(cfg).eval()


@pytest.fixture(scope="module")
def cnn():
    torch.manual_seed(4)
    m = build_baseline("cnn", 2)
    with torch.no_grad():
        for p in m.parameters():
            p.mul_(3.0)
    return m.eval()


@pytest.fixture(params=["bert", "cnn"])
def model_k(request, bert, cnn):
    return (bert, K) if request.param == "bert" else (cnn, None)


def _log_odds_direct(model, seqs, k) -> np.ndarray:
    p = predict_proba(model, seqs, k, batch_size=len(seqs), device="cpu")
    return np.log(p[:, 1]) - np.log(p[:, 0])


def test_ism_equals_brute_force(model_k):
    model, k = model_k
    seqs = _seqs(2)
    seqs[1] = seqs[1][:7] + "N" + seqs[1][8:]
    res = ism(model, seqs, k, batch_size=13, device="cpu")
    assert res.hyp.shape == (2, L, 4) and res.attr.shape == (2, L)
    np.testing.assert_allclose(res.score, _log_odds_direct(model, seqs, k), atol=1e-4)
    for i, s in enumerate(seqs):
        for pos in (0, 7, 15, L - 1):
            if s[pos] == "N":
                assert (res.hyp[i, pos] == 0).all() and res.attr[i, pos] == 0
                continue
            muts = [s[:pos] + b + s[pos + 1 :] for b in "ACGT"]
            lo = _log_odds_direct(model, muts, k)
            np.testing.assert_allclose(res.hyp[i, pos], lo - lo.mean(), atol=1e-4)
            assert res.attr[i, pos] == pytest.approx(lo["ACGT".index(s[pos])] - lo.mean(), abs=1e-4)
    np.testing.assert_allclose(res.hyp.sum(-1), 0, atol=1e-9)
    assert np.abs(res.attr).max() > 1e-3  # the toy models do react to single bases
    np.testing.assert_allclose(res.prob, predict_proba(model, seqs, k, device="cpu")[:, 1], atol=1e-5)


def test_ism_batch_size_invariance(model_k):
    model, k = model_k
    seqs = _seqs(3, seed=1)
    a = ism(model, seqs, k, batch_size=1, device="cpu")
    b = ism(model, seqs, k, batch_size=64, device="cpu")
    c = ism(model, seqs, k, batch_size=10_000, device="cpu")
    for other in (b, c):
        np.testing.assert_allclose(a.hyp, other.hyp, atol=1e-5)
        np.testing.assert_allclose(a.score, other.score, atol=1e-5)


def test_ig_batch_size_invariance_and_seeded_refs(model_k):
    model, k = model_k
    seqs = _seqs(3, seed=2)
    a = integrated_gradients(model, seqs, k, steps=8, n_shuffles=2, batch_size=3, device="cpu")
    b = integrated_gradients(model, seqs, k, steps=8, n_shuffles=2, batch_size=100, device="cpu")
    np.testing.assert_allclose(a.hyp, b.hyp, rtol=1e-5, atol=1e-5)  # float32 kernels differ by shape
    np.testing.assert_allclose(a.ref_score, b.ref_score, rtol=1e-5, atol=1e-5)
    # a row's references depend on (seed, row) only, not on the other rows
    assert shuffled_references(seqs[1:2] * 1, 2, 1) != shuffled_references(seqs, 2, 1)[1:2]
    assert shuffled_references(seqs, 2, 1)[1] == shuffled_references(seqs, 2, 1)[1]


def test_ig_completeness(model_k):
    model, k = model_k
    seqs = _seqs(3, seed=5)
    res = integrated_gradients(model, seqs, k, steps=200, n_shuffles=2, batch_size=128, device="cpu")
    gap = res.score - res.ref_score
    assert np.abs(gap).max() > 1e-2  # a non-trivial check
    np.testing.assert_allclose(res.attr.sum(1), gap, atol=2e-3 + 0.01 * np.abs(gap).max())
    np.testing.assert_allclose(res.attr, (res.hyp * res.onehot).sum(-1), atol=1e-12)


def test_ig_matches_captum_onehot(cnn):
    captum_attr = pytest.importorskip("captum.attr")
    seqs = _seqs(2, seed=6)
    refs = shuffled_references(seqs, 1, 9)
    ours = integrated_gradients(cnn, seqs, None, steps=16, references=refs, batch_size=7, device="cpu")

    def f(x):
        z = cnn(x, torch.full((x.shape[0],), x.shape[-1]))
        return z[:, 1] - z[:, 0]

    x = torch.from_numpy(one_hot(seqs)[0])
    r = torch.from_numpy(one_hot([r[0] for r in refs])[0])
    theirs = captum_attr.IntegratedGradients(f).attribute(x, baselines=r, n_steps=16,
                                                           method="riemann_middle")
    np.testing.assert_allclose(ours.attr, theirs.sum(1).detach().numpy(), atol=1e-5)


def test_ig_matches_captum_kmer_and_attention_mapping(bert):
    captum_attr = pytest.importorskip("captum.attr")
    seqs = _seqs(2, seed=7)
    refs = shuffled_references(seqs, 1, 9)
    ours = integrated_gradients(bert, seqs, K, steps=16, references=refs, batch_size=5, device="cpu")

    def f(ids):
        z = bert(input_ids=ids).logits
        return z[:, 1] - z[:, 0]

    ids = torch.from_numpy(kmers.encode_batch(seqs, K)[0])
    rids = torch.from_numpy(kmers.encode_batch([r[0] for r in refs], K)[0])
    lig = captum_attr.LayerIntegratedGradients(f, bert.bert.embeddings.word_embeddings)
    tok = lig.attribute(ids, baselines=rids, n_steps=16, method="riemann_middle").sum(-1)
    tok = tok.detach().numpy()
    assert np.abs(tok[:, [0, -1]]).max() == 0  # [CLS]/[SEP] are the same in x and r
    tok = tok[:, 1:-1]
    np.testing.assert_allclose(ours.attr.sum(1), tok.sum(1), atol=1e-5)
    # inside the window each base gets the mean of its k covering tokens, as attention does
    inner = slice(K - 1, L - K + 1)
    np.testing.assert_allclose(ours.attr[:, inner], token_to_nucleotide(tok, K)[:, inner], atol=1e-5)


def test_hyp_of_present_base_is_attr_and_hyp_is_informative(bert):
    seqs = _seqs(1, seed=8)
    res = integrated_gradients(bert, seqs, K, steps=8, n_shuffles=1, device="cpu")
    x = res.onehot[0].astype(bool)
    assert np.allclose(res.hyp[0][x], res.attr[0])
    assert np.abs(res.hyp[0][~x]).max() > 0  # other bases get their own (hypothetical) scores


@pytest.mark.parametrize("batch_size", [1, 4, 7, 100])
def test_batched_scores_visits_every_row_once_in_order(cnn, batch_size):
    """The one batching loop of ISM and IG: slices tile 0..n in order, none above batch_size."""
    from dnalm.attribution._encode import seqs_to_codes
    from dnalm.attribution._score import Scorer, batched_scores

    codes = seqs_to_codes(_seqs(7, seed=5))
    seen: list[slice] = []

    def rows(sl: slice) -> np.ndarray:
        seen.append(sl)
        return codes[sl]

    got = batched_scores(Scorer(cnn, None, device="cpu"), len(codes), rows, batch_size)
    assert [i for sl in seen for i in range(sl.start, sl.stop)] == list(range(len(codes)))
    assert max(sl.stop - sl.start for sl in seen) <= batch_size
    np.testing.assert_allclose(got, _log_odds_direct(cnn, _seqs(7, seed=5), None), rtol=1e-4, atol=1e-5)


def test_bad_inputs(bert):
    with pytest.raises(ValueError, match=r"`seqs`\[1\] has length 5, but `seqs`\[0\] has 6"):
        ism(bert, ["ACGTAC", "ACGTA"], K, device="cpu")
    with pytest.raises(ValueError, match=r"`seqs`\[0\] contains non-ACGTN character 'X'"):
        integrated_gradients(bert, ["ACGXAC"], K, device="cpu")
    with pytest.raises(ValueError, match="`seqs` is empty"):
        ism(bert, [], K, device="cpu")
    with pytest.raises(ValueError, match="`batch_size` must be a positive integer"):
        ism(bert, ["ACGTAC"], K, batch_size=0, device="cpu")
    with pytest.raises(ValueError, match="`k` must be an integer in 3..6"):
        ism(bert, ["ACGTAC"], None, device="cpu")
    with pytest.raises(ValueError, match="more than the model's 64 positions"):
        ism(bert, ["A" * 100], K, device="cpu")
    with pytest.raises(ValueError, match="`positive_class` must be in 0..1"):
        ism(bert, ["ACGTAC"], K, positive_class=2, device="cpu")
    with pytest.raises(ValueError, match="input_kind='long'"):
        ism(type("Long", (torch.nn.Linear,), {"input_kind": "long"})(1, 1), ["ACGTAC"], K)
