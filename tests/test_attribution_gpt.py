"""Attribution of GPT classifiers (dnalm.attribution._gpt): ISM against brute force through the
classifier's own prediction path, batch-size invariance, IG completeness and the token-to-base
split, the npz/bigWig outputs of a saved GPT model directory, and clear errors."""

import json

import numpy as np
import pytest
import torch
from dnalm.attribution import integrated_gradients, ism
from dnalm.attribution.bigwig import read_fai, write_bigwig
from dnalm.attribution.npz import read_attribution
from dnalm.attribution.task import attribute_task
from dnalm.dataset import Example, dataset_card, write_card, write_split
from dnalm.gpt import build_gpt, save_gpt_dir
from dnalm.gpt.classify import GptClassifier
from dnalm.predict import load_model_dir, predict_proba

pytestmark = pytest.mark.usefixtures("torch_one_thread")
L = 29  # four 6-mer tokens and a 5-base tail token


def _seqs(n: int, seed: int = 0, length: int = L) -> list[str]:
    rng = np.random.default_rng(seed)
    return ["".join(rng.choice(list("ACGT"), length)) for _ in range(n)]


def _classifier(seed: int = 0) -> GptClassifier:
    """A tiny random GPT classifier whose weights are scaled up so that single bases matter."""
    gpt = build_gpt("tiny", n_positions=16, seed=seed)
    with torch.no_grad():
        for p in gpt.parameters():
            if p.dim() >= 2:
                p.mul_(5.0)
    return GptClassifier(gpt.float(), 2).eval()


@pytest.fixture(scope="module")
def clf() -> GptClassifier:
    return _classifier()


def _log_odds(model, seqs) -> np.ndarray:
    p = predict_proba(model, seqs, None, batch_size=len(seqs), device="cpu")
    return np.log(p[:, 1]) - np.log(p[:, 0])


def test_gpt_ism_equals_brute_force(clf):
    seqs = _seqs(2)
    seqs[1] = seqs[1][:9] + "N" + seqs[1][10:]
    res = ism(clf, seqs, None, batch_size=13, device="cpu")
    assert res.hyp.shape == (2, L, 4) and res.ref_score is None
    np.testing.assert_allclose(res.score, _log_odds(clf, seqs), atol=1e-4)
    for i, s in enumerate(seqs):
        for pos in range(L):
            if s[pos] == "N":
                assert (res.hyp[i, pos] == 0).all() and res.attr[i, pos] == 0
                continue
            lo = _log_odds(clf, [s[:pos] + b + s[pos + 1 :] for b in "ACGT"])
            np.testing.assert_allclose(res.hyp[i, pos], lo - lo.mean(), atol=1e-4)
    assert np.abs(res.attr).max() > 1e-2  # the toy model does react to single bases


def test_gpt_batch_size_invariance(clf):
    seqs = _seqs(3, seed=1)
    a = ism(clf, seqs, None, batch_size=1, device="cpu")
    for bs in (64, 10_000):
        b = ism(clf, seqs, None, batch_size=bs, device="cpu")
        np.testing.assert_allclose(a.hyp, b.hyp, atol=1e-5)
        np.testing.assert_allclose(a.score, b.score, atol=1e-5)
    g1 = integrated_gradients(clf, seqs, None, steps=8, n_shuffles=2, batch_size=3, device="cpu")
    g2 = integrated_gradients(clf, seqs, None, steps=8, n_shuffles=2, batch_size=100, device="cpu")
    np.testing.assert_allclose(g1.hyp, g2.hyp, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(g1.ref_score, g2.ref_score, rtol=1e-5, atol=1e-5)


def test_gpt_ig_completeness_and_token_split(clf):
    seqs = _seqs(3, seed=5)
    res = integrated_gradients(clf, seqs, None, steps=200, n_shuffles=2, batch_size=128, device="cpu")
    gap = res.score - res.ref_score
    assert np.abs(gap).max() > 0.1  # a non-trivial check
    np.testing.assert_allclose(res.attr.sum(1), gap, atol=2e-3 + 0.01 * np.abs(gap).max())
    np.testing.assert_allclose(res.score, _log_odds(clf, seqs), atol=1e-4)
    # every base of a token gets the same share of the token's IG (the tail token too)
    for start, stop in ((0, 6), (6, 12), (12, 18), (18, 24), (24, 29)):
        block = res.attr[:, start:stop]
        np.testing.assert_allclose(block, block[:, :1].repeat(stop - start, axis=1), atol=1e-9)
    np.testing.assert_allclose(res.attr, (res.hyp * res.onehot).sum(-1), atol=1e-12)
    assert (res.hyp != 0).any(axis=2).all()


def test_gpt_ig_hypothetical_contributions_brute_force(clf):
    """hyp[l, b] = (E[token of l with b at l] - E[reference token]) · g_token / len_token, checked
    with the tokenizer on each mutated window (place values, the NAGCT digits, the tail token)."""
    from dnalm.attribution._encode import seqs_to_codes
    from dnalm.attribution._score import Scorer, evaluating
    from dnalm.attribution.ig import _avg_grads
    from dnalm.gpt.tokenizer import GptTokenizer

    s, r = _seqs(1, seed=7)[0], _seqs(1, seed=8)[0]
    res = integrated_gradients(clf, [s], None, steps=4, references=[[r]], device="cpu")
    sc = Scorer(clf, None, 1, "cpu")
    sc.check_length(L)
    with evaluating(clf, sc.device):
        g = _avg_grads(sc, seqs_to_codes([s]), seqs_to_codes([r])[None], (np.array([0]), np.array([0])),
                       4, 64)[0]  # fmt: skip
    E = sc.word_embeddings().weight.detach().double()
    ref_tokens = GptTokenizer.encode(r)
    for pos in range(L):
        t = pos // 6
        for b, base in enumerate("ACGT"):
            tok = GptTokenizer.encode(s[:pos] + base + s[pos + 1 :])[t]
            want = float((E[tok] - E[ref_tokens[t]]) @ g[sc.layout.first + t]) / min(6, L - 6 * t)
            assert res.hyp[0, pos, b] == pytest.approx(want, abs=1e-6)
    # a window explained against itself gets 0 everywhere
    same = integrated_gradients(clf, [s], None, steps=4, references=[[s]], device="cpu")
    np.testing.assert_allclose(same.attr, 0, atol=1e-12)


def test_gpt_windows_longer_than_the_model(clf):
    too_long = _seqs(1, length=(16 - 4) * 6 + 1)
    with pytest.raises(ValueError, match=r"73 bp windows need 13 tokens plus the template, more than "
                                         r"the GPT's 16 positions \(at most 72 bp\)"):
        ism(clf, too_long, None, device="cpu")


@pytest.fixture(scope="module")
def gpt_task(tmp_path_factory):
    """A tiny task with coordinates, its card, and a saved GPT classifier with and without card."""
    d = tmp_path_factory.mktemp("gpt_attr")
    rng = np.random.default_rng(0)
    rows = []
    for i in range(6):
        seq = "".join(rng.choice(list("ACGT"), L))
        start = 100 + 10 * i
        rows.append(Example(seq, i % 2, "chr1", start, start + L, "-" if i == 1 else "+", f"r{i}"))
    write_split(rows, d / "test.tsv.gz")
    card = dataset_card("toy", {"kind": "tfbs", "genome": "g"}, {"test": rows}, None)
    write_card(card, d / "card.json")
    model = _classifier(seed=1)
    model.save_dir(d / "model", ["negative", "positive"],
                   extra_files={"card.json": (d / "card.json").read_text()})
    model.save_dir(d / "nocard", ["negative", "positive"])
    (d / "genome.fa.fai").write_text("chr1\t1000\t6\t60\t61\n")
    return d


@pytest.mark.parametrize("method", ["ism", "ig"])
def test_gpt_model_dir_writes_the_contract(gpt_task, tmp_path, method):
    import pyBigWig

    s = attribute_task(gpt_task / "model", gpt_task / "test.tsv.gz", tmp_path, [method], device="cpu",
                       ig_steps=32, n_shuffles=1, batch_size=50)[method]
    assert s["model_kind"] == "gpt" and s["k"] == 6 and s["n_sequences"] == 3
    a = read_attribution(tmp_path / f"{method}.npz")
    assert a["hyp"].shape == (3, L, 4) and (a["label"] == 1).all() and a["strand"].tolist() == ["-", "+", "+"]
    clf = load_model_dir(gpt_task / "model")
    seqs = ["".join("ACGT"[j] for j in oh.argmax(1)) for oh in a["onehot"]]
    np.testing.assert_allclose(a["prob"], predict_proba(clf.model, seqs, clf.k, device="cpu")[:, 1], atol=1e-5)
    assert np.abs(a["attr"]).max() > 0
    if method == "ig":
        assert s["completeness_median_abs_error"] < 0.1 * s["completeness_median_abs_gap"] + 1e-3
    info = write_bigwig(tmp_path / f"{method}.bw", a, read_fai(gpt_task / "genome.fa.fai"))
    assert info["n_windows"] == 3
    bw = pyBigWig.open(str(tmp_path / f"{method}.bw"))
    try:
        i = int(np.flatnonzero(a["strand"] == "+")[0])
        got = bw.values("chr1", int(a["start"][i]), int(a["start"][i]) + L)
        # this window overlaps others, so check only that its bases are covered
        assert not np.isnan(got).any()
    finally:
        bw.close()
    assert json.loads((tmp_path / f"{method}.json").read_text())["model_kind"] == "gpt"


def test_gpt_bad_model_dirs(gpt_task, tmp_path):
    args = (gpt_task / "test.tsv.gz", tmp_path, ["ism"])
    with pytest.raises(ValueError, match=r"nocard: no task card: the model directory has no card.json"):
        attribute_task(gpt_task / "nocard", *args, device="cpu")
    lm = tmp_path / "lm"
    save_gpt_dir(build_gpt("tiny", n_positions=16, seed=0), lm)
    with pytest.raises(ValueError, match=r"lm: cannot load a fine-tuned classifier \(.*is a GPT language "
                                         r"model \(no dnalm_classifier"):
        attribute_task(lm, *args, card=gpt_task / "card.json", device="cpu")
    # a model of a kind attribution does not know (the k-mer logistic regression)
    from dnalm.baselines import KmerLRClassifier
    from dnalm.modeling import save_classifier_dir

    card = json.loads((gpt_task / "card.json").read_text())
    save_classifier_dir(KmerLRClassifier(2, k=2), tmp_path / "lr", k=None, labels=["0", "1"], card=card,
                        readme="toy\n", name="kmer_lr")
    with pytest.raises(ValueError, match=r"lr: attribution supports k-mer BERT classifiers, one-hot "
                                         r"baselines and GPT classifiers, got a KmerLRClassifier with "
                                         r"input_kind='kmer_freq'"):
        attribute_task(tmp_path / "lr", *args, device="cpu")
    assert not (tmp_path / "ism.npz").exists()


def test_gpt_ism_prefix_cache_equals_full_forward(clf):
    """The prefix-cached mutant logits equal the classifier's full forward pass on every mutant."""
    from dnalm.attribution._encode import seqs_to_codes
    from dnalm.attribution._gpt import codes_to_seqs, gpt_ism_logits, gpt_layout
    from dnalm.attribution.saturation import _mutant_rows, mutant_jobs

    seqs = _seqs(3, seed=9)
    seqs[2] = seqs[2][:25] + "N" + seqs[2][26:]  # an N inside the tail token
    codes = seqs_to_codes(seqs)
    jobs = mutant_jobs(codes)
    fast = gpt_ism_logits(clf, codes, jobs, gpt_layout(clf, L), batch_size=20)
    assert fast is not None and fast.shape == (len(jobs[0]), 2)
    rows = codes_to_seqs(_mutant_rows(codes, jobs)(slice(None)))
    z = torch.cat([clf(**clf.encode(rows[i : i + 100])) for i in range(0, len(rows), 100)]).detach().numpy()
    np.testing.assert_allclose(fast, z, atol=1e-4)


class _ScaledClassifier(GptClassifier):
    """A GPT classifier whose forward pass is not backbone + head (logits doubled)."""

    def forward(self, input_ids, query_pos):
        return 2.0 * super().forward(input_ids, query_pos)


def test_gpt_ism_falls_back_to_the_full_forward_for_an_unknown_head():
    from dnalm.attribution._encode import seqs_to_codes
    from dnalm.attribution._gpt import gpt_ism_logits, gpt_layout
    from dnalm.attribution.saturation import mutant_jobs

    base = _classifier(seed=2)
    odd = _ScaledClassifier(base.gpt, 2).eval()
    seqs = _seqs(2, seed=3)
    codes = seqs_to_codes(seqs)
    assert gpt_ism_logits(odd, codes, mutant_jobs(codes), gpt_layout(odd, L), 64) is None
    res = ism(odd, seqs, None, batch_size=64, device="cpu")
    s = seqs[0]
    for pos in (0, 13, L - 1):
        lo = _log_odds(odd, [s[:pos] + b + s[pos + 1 :] for b in "ACGT"])
        np.testing.assert_allclose(res.hyp[0, pos], lo - lo.mean(), atol=1e-4)
