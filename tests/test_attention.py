"""dnalm.attention (package): DNABERT-viz attention arithmetic, regions in genome coordinates,
figures, and the rule's outputs with the TSS index taken from the dataset card."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from dnalm import attention as A
from dnalm import kmers
from dnalm.attention.scores import _last_self_attention
from dnalm.dataset import Example, dataset_card, write_card
from dnalm.predict import load_classifier
from dnalm.seq import revcomp

REPO = Path(__file__).resolve().parents[1]
K = 3

pytestmark = pytest.mark.usefixtures("torch_one_thread")


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    from transformers import BertConfig, BertForSequenceClassification

    torch.manual_seed(0)
    cfg = BertConfig(
        vocab_size=4**K + 5,
        hidden_size=16,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=64,
        num_labels=2,
    )
    d = tmp_path_factory.mktemp("tiny_model")
    model = BertForSequenceClassification(cfg)
    with torch.no_grad():  # sharpen the last layer so that attention has clear peaks
        last = model.bert.encoder.layer[-1].attention.self
        last.query.weight.mul_(30.0)
        last.key.weight.mul_(30.0)
    model.save_pretrained(d)
    kmers.write_tokenizer_files(d, K)
    return d


def _seqs(n, lo=10, hi=40, seed=0):
    rng = np.random.default_rng(seed)
    return ["".join(rng.choice(list("ACGT"), size=int(rng.integers(lo, hi)))) for _ in range(n)]


def test_token_to_nucleotide_means_covering_kmers():
    got = A.token_to_nucleotide(np.array([1.0, 2.0, 3.0]), 3)
    np.testing.assert_allclose(got, [1.0, 1.5, 2.0, 2.5, 3.0])
    got6 = A.token_to_nucleotide(np.arange(1.0, 4.0), 6)  # 3 tokens, 8 bases, k > n_tok
    np.testing.assert_allclose(got6, [1, 1.5, 2, 2, 2, 2, 2.5, 3])
    batch = A.token_to_nucleotide(np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 3.0]]), 3)
    np.testing.assert_allclose(batch[1], [0, 0, 1, 1.5, 3])


def test_scores_equal_a_direct_computation_from_output_attentions(model_dir):
    model, k = load_classifier(model_dir, attn_implementation="sdpa")
    seqs = _seqs(5)
    res = A.attention_scores(model, seqs, k, batch_size=2)
    assert model.config._attn_implementation == "sdpa"  # restored after eager extraction
    assert res.scores.dtype == np.float32 and res.scores.shape == (5, max(map(len, seqs)))
    model.set_attn_implementation("eager")
    with torch.no_grad():
        for i, s in enumerate(seqs):
            ids = torch.tensor(kmers.encode(s, k, add_special=True))[None]
            att = model(input_ids=ids, output_attentions=True).attentions[-1][0]  # (H, T, T)
            cls = att.sum(0)[0].numpy().astype(np.float64)
            n_tok = len(s) - k + 1
            tok = cls[1 : 1 + n_tok]  # [CLS] and [SEP] excluded
            nuc = np.array(
                [
                    np.mean([tok[t] for t in range(n_tok) if t <= j <= t + k - 1])
                    for j in range(len(s))
                ]
            )
            nuc /= np.linalg.norm(nuc)
            np.testing.assert_allclose(res.scores[i, : len(s)], nuc, rtol=1e-5, atol=1e-6)
            assert np.isnan(res.scores[i, len(s) :]).all()
            np.testing.assert_allclose(np.linalg.norm(res.scores[i, : len(s)]), 1.0, rtol=1e-5)
    probs = torch.softmax(
        model(
            **{"input_ids": torch.tensor(kmers.encode(seqs[0], k, add_special=True))[None]}
        ).logits,
        -1,
    )
    np.testing.assert_allclose(res.probs[0], probs[0].detach().numpy(), rtol=1e-5)


def test_results_do_not_depend_on_batch_size(model_dir):
    model, k = load_classifier(model_dir, attn_implementation="eager")
    seqs = _seqs(9, seed=1)
    ref = A.attention_scores(model, seqs, k, batch_size=1)
    for bs in (4, 64):
        got = A.attention_scores(model, seqs, k, batch_size=bs)
        np.testing.assert_allclose(got.scores, ref.scores, atol=1e-6, equal_nan=True)
        np.testing.assert_allclose(got.probs, ref.probs, atol=1e-6)


def test_memory_stays_per_batch(model_dir):
    """Only the last layer's (B, H, T, T) is reduced, batch by batch; no output_attentions."""
    model, k = load_classifier(model_dir, attn_implementation="eager")
    seen = []
    last = _last_self_attention(model)
    handle = last.register_forward_hook(lambda m, a, o: seen.append(tuple(o[1].shape)))
    calls = []
    orig = model.forward

    def spy(*args, **kw):
        calls.append(kw.get("output_attentions"))
        return orig(*args, **kw)

    model.forward = spy
    try:
        A.attention_scores(model, _seqs(7, 20, 21), k, batch_size=3)
    finally:
        handle.remove()
        model.forward = orig
    assert seen == [(3, 2, 20, 20), (3, 2, 20, 20), (1, 2, 20, 20)]
    assert not any(calls)


def test_head_context_is_a_column_of_the_last_layer(model_dir):
    model, k = load_classifier(model_dir, attn_implementation="eager")
    seq = _seqs(1, 30, 31)[0]
    ctx, token, labels = A.head_context(model, seq, k)
    with torch.no_grad():
        ids = torch.tensor(kmers.encode(seq, k, add_special=True))[None]
        att = model(input_ids=ids, output_attentions=True).attentions[-1][0].numpy()
    assert ctx.shape == (2, len(seq) - k + 3)
    assert (
        labels[0] == "[CLS]"
        and labels[-1] == "[SEP]"
        and labels[token] == seq[token - 1 : token - 1 + k]
    )
    assert token == 1 + int(att[:, 0, 1 : len(seq) - k + 2].sum(0).argmax())
    np.testing.assert_allclose(ctx, att[:, :, token], rtol=1e-6)
    with pytest.raises(ValueError, match="token"):
        A.head_context(model, seq, k, token=999)


def test_bad_sequences_are_rejected(model_dir):
    model, k = load_classifier(model_dir)
    with pytest.raises(ValueError, match="seqs"):
        A.attention_scores(model, ["ACGTXX"], k)
    with pytest.raises(ValueError, match="length"):
        A.attention_scores(model, ["AC"], k)
    with pytest.raises(ValueError, match="max_tokens"):
        A.attention_scores(model, ["A" * 100], k)


def test_tata_present_window_bounds():
    tss = 50
    base = "C" * 80
    at = lambda pos: base[: tss + pos] + "TATAAAA" + base[tss + pos + 7 :]  # noqa: E731
    seqs = [at(-30), at(-40), at(-41), at(-21), at(-20), base, at(-30).lower()]
    # -40..-15 inclusive; the 7-bp box must fit: starts -40..-21
    assert A.tata_present(seqs, tss).tolist() == [True, True, False, True, False, False, True]
    # a short window clips the search at the sequence start
    assert A.tata_present(["TATAAAA" + "C" * 63], 34).tolist() == [True]


def test_regions_to_bed_maps_both_strands():
    s = np.full((2, 20), 0.01)
    s[:, 3:9] = 0.5  # region [3, 9)
    rows = A.regions_to_bed(
        s,
        np.array([20, 20]),
        ["chr1", "chr2"],
        np.array([100, 200]),
        np.array([120, 220]),
        ["+", "-"],
        ["test:0", "test:1"],
    )
    assert rows == [("chr1", 103, 109, "test:0", 500, "+"), ("chr2", 211, 217, "test:1", 500, "-")]
    # the minus-strand window holds the reverse complement: region bases map back exactly
    genome = "".join(np.random.default_rng(0).choice(list("ACGT"), size=40))
    window = revcomp(genome[10:30])
    assert window[3:9] == revcomp(genome[10 + 20 - 9 : 10 + 20 - 3])
    with pytest.raises(ValueError, match="does not match"):
        A.regions_to_bed(s[:1], np.array([20]), ["c"], np.array([0]), np.array([5]), ["+"], ["x"])


def test_attention_entropy_orders_focus_and_dispersion():
    flat = np.ones((1, 50))
    peaked = np.full((1, 50), 0.001)
    peaked[0, 20:25] = 1
    assert A.attention_entropy(flat)[0] == pytest.approx(1.0)
    assert A.attention_entropy(peaked)[0] < 0.6


def _dataset(path, seqs, labels, strands, coords=True):
    n = len(seqs)
    df = pd.DataFrame(
        {
            "sequence": seqs,
            "label": labels,
            "contig": "chr1",
            "start": [str(1000 * i) if coords else "." for i in range(n)],
            "end": [str(1000 * i + len(s)) if coords else "." for i, s in enumerate(seqs)],
            "strand": strands if coords else ".",
            "source_id": [f"x{i}" for i in range(n)],
        }
    )
    with gzip.open(path, "wt") as fh:
        df.to_csv(fh, sep="\t", index=False)
    return path


def _card(path, seqs, labels, window=(-20, 19), kind="promoter"):
    """A ``card.json`` written through the dataset contract (``dnalm.dataset``)."""
    spec = {"kind": kind, "window": list(window)} if kind == "promoter" else {"kind": kind}
    rows = [Example(s, lab) for s, lab in zip(seqs, labels, strict=True)]
    return write_card(dataset_card("t", spec, {"test": rows}, None), path)


def test_write_attention_outputs(model_dir, tmp_path, monkeypatch):
    import dnalm.attention.outputs as outputs

    seen_tss = []
    landscape = outputs.plot_landscape

    def spy(scores, labels, path, tss_index=None, *args, **kw):
        seen_tss.append(tss_index)
        return landscape(scores, labels, path, tss_index, *args, **kw)

    monkeypatch.setattr(outputs, "plot_landscape", spy)
    seqs = _seqs(12, 40, 41, seed=3)
    labels = [i % 2 for i in range(12)]
    strands = ["+", "-"] * 6
    ds = {
        "train": _dataset(tmp_path / "train.tsv.gz", seqs[:6], labels[:6], strands[:6]),
        "dev": _dataset(
            tmp_path / "dev.tsv.gz", seqs[6:8], labels[6:8], strands[6:8], coords=False
        ),
        "test": _dataset(tmp_path / "test.tsv.gz", seqs[8:], labels[8:], strands[8:]),
    }
    out = tmp_path / "out"
    res = A.write_attention_outputs(
        model_dir,
        ds,
        out / "scores.npz",
        out / "regions.bed",
        out / "landscape.png",
        out / "heatmaps.png",
        out / "context.png",
        card=_card(tmp_path / "card.json", seqs[8:], labels[8:]),
        summary_out=out / "summary.json",
        truth=_truth(
            tmp_path / "positions.tsv",
            [
                ("tata", "T", "chr1", 1005, 1012, "+", "p1"),
                ("tata", "T", "chr1", 3020, 3027, "+", "p3"),
                ("motif", "M", "chr1", 0, 40, "+", "e:0"),
            ],
        ),
        batch_size=3,
        n_heatmaps=3,
        min_len=3,
        n_permutations=99,
        n_bootstrap=100,
    )
    with np.load(out / "scores.npz") as z:
        assert z["scores"].shape == (4, 40) and z["scores"].dtype == np.float32
        assert z["labels"].tolist() == labels[8:]
        np.testing.assert_allclose(z["probs"], res.probs)
    bed = pd.read_csv(out / "regions.bed", sep="\t", header=None)
    assert set(bed[3].str.split(":").str[0]) <= {"train", "test"}  # dev rows lack coordinates
    names = set(bed[3])
    assert all(
        labels[int(n.split(":")[1]) + (8 if n.startswith("test") else 0)] == 1 for n in names
    )
    assert ((bed[4] >= 0) & (bed[4] <= 1000)).all() and (bed[2] - bed[1] >= 3).all()
    model, k = load_classifier(model_dir)
    test_rows = [i for i in range(8, 12) if labels[i] == 1]
    expect = A.regions_to_bed(
        A.attention_scores(model, [seqs[i] for i in test_rows], k).scores,
        np.array([40] * 2),
        ["chr1"] * 2,
        np.array([1000 * (i - 8) for i in test_rows]),
        np.array([1000 * (i - 8) + 40 for i in test_rows]),
        [strands[i] for i in test_rows],
        [f"test:{i - 8}" for i in test_rows],
        min_len=3,
    )
    got = [tuple(r) for r in bed[bed[3].str.startswith("test")].itertuples(index=False)]
    assert got == [tuple(r) for r in expect]
    for name in ("landscape.png", "heatmaps.png", "context.png"):
        assert (out / name).read_bytes().startswith(b"\x89PNG")
    assert not list(out.glob(".*tmp"))
    assert seen_tss == [20]  # the card's tss_offset: window [-20, 19] -> TSS at index 20
    import json

    summary = json.loads((out / "summary.json").read_text())
    assert summary["n_test"] == 4 and summary["n_per_class"] == {"0": 2, "1": 2}
    reg = summary["regions"]
    assert reg["n_regions"] == len(bed) and reg["n_positive_rows"] == 5  # 3 train + 2 test
    assert summary["status"] == ("ok" if len(bed) else "no_regions")
    land = summary["landscape"]
    assert land["position"][0] == -20 and land["coordinates"] == "tss"
    assert land["n_positive"] == 2 and land["n_negative"] == 2 and 0 < land["pvalue"] <= 1
    assert land["tata_claim"]["room"] is False and land["tata_claim"]["holds"] is False
    site = summary["site_auroc"]  # promoter task: the two planted TATA boxes, not the motif
    assert site["n_rows"] == 2 and site["n_site_bases"] == 14 and 0 <= site["auroc"] <= 1


def test_write_attention_outputs_card_checks(model_dir, tmp_path):
    seqs = _seqs(4, 40, 41, seed=5)
    labels = [0, 1, 0, 1]
    test = _dataset(tmp_path / "test.tsv.gz", seqs, labels, ["+"] * 4)
    outs = [tmp_path / n for n in ("s.npz", "r.bed", "l.png", "h.png", "c.png")]
    short = _card(tmp_path / "short.json", [s[:30] for s in seqs], labels)
    with pytest.raises(ValueError, match="window_length 30"):
        A.write_attention_outputs(model_dir, {"test": test}, *outs, card=short)
    far = _card(tmp_path / "far.json", seqs, labels, window=(-60, -21))
    with pytest.raises(ValueError, match="tss_offset 60"):
        A.write_attention_outputs(model_dir, {"test": test}, *outs, card=far)
    bare = tmp_path / "bare.tsv.gz"
    with gzip.open(bare, "wt") as fh:
        fh.write(
            "sequence\tlabel\n"
            + "".join(f"{s}\t{lab}\n" for s, lab in zip(seqs, labels, strict=True))
        )
    with pytest.raises(ValueError, match=r"bare.tsv.gz:1: header lacks column"):
        A.write_attention_outputs(model_dir, {"test": bare}, *outs)
    # a non-promoter card: no TSS, positions relative to the window centre
    res = A.write_attention_outputs(
        model_dir, {"test": test}, *outs, card=_card(tmp_path / "tf.json", seqs, labels, kind="tf")
    )
    assert res.scores.shape == (4, 40)


# ----------------------------------------------------------------------------- controls

PROM300 = (-249, 50)  # a window with room on both sides of -30
CORE70 = (-34, 35)  # 4 bp left of -30: an upstream peak there sits at the window edge


def _landscape(window=PROM300, n=60, bump=0.02, seed=0):
    """Toy attention: both classes share an edge artefact; positives carry a bump at -30."""
    rng = np.random.default_rng(seed)
    x = np.arange(window[0], window[1] + 1)
    labels = np.repeat([0, 1], n)
    scores = rng.gamma(5.0, 0.01, size=(2 * n, x.size))
    scores[:, :6] += 0.2  # the left edge (fewer k-mers cover it): highest in every class
    scores[:, -4:] += 0.1
    scores[labels == 1] += bump * np.exp(-0.5 * ((x + 30) / 3.0) ** 2)
    return scores, labels, x


def _claim_holds(scores, labels, x, n_permutations=999, seed=1):
    c = A.class_contrast(scores, labels, n_permutations=n_permutations, seed=seed)
    peak = int(x[c.peak_index])
    return (-35 <= peak <= -20 and c.pvalue < 0.01), peak, c.pvalue


def test_contrast_finds_the_planted_bump_that_per_class_means_miss():
    scores, labels, x = _landscape()
    # the old claim: the per-class mean of the positives peaks at the left edge, not at -30
    assert x[int(np.argmax(scores[labels == 1].mean(0)))] <= -244
    assert x[int(np.argmax(scores[labels == 0].mean(0)))] <= -244
    holds, peak, p = _claim_holds(scores, labels, x)
    assert holds, (peak, p)
    assert p == pytest.approx(1 / 1000)  # no shuffle reaches the planted peak


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_contrast_claim_fails_on_shuffled_labels(seed):
    scores, labels, x = _landscape()
    shuffled = np.random.default_rng(seed).permutation(labels)
    holds, peak, p = _claim_holds(scores, shuffled, x)
    assert not holds, (peak, p)
    assert p >= 0.01


def test_contrast_claim_fails_without_a_planted_signal():
    scores, labels, x = _landscape(bump=0.0)  # only the shared edge artefact
    holds, peak, p = _claim_holds(scores, labels, x)
    assert not holds and p >= 0.01, (peak, p)


def test_contrast_band_holds_the_shuffled_contrasts_and_is_seeded():
    scores, labels, _x = _landscape(n=20, seed=4)
    a = A.class_contrast(scores, labels, n_permutations=200, seed=7, batch_size=200)
    b = A.class_contrast(scores, labels, n_permutations=200, seed=7, batch_size=13)
    for f in ("contrast", "band_low", "band_high"):  # batches only regroup the sums
        np.testing.assert_allclose(getattr(a, f), getattr(b, f), rtol=1e-12, atol=1e-15)
    assert a.pvalue == b.pvalue and (a.n_positive, a.n_negative) == (20, 20)
    np.testing.assert_allclose(
        a.contrast, scores[labels == 1].mean(0) - scores[labels == 0].mean(0)
    )
    assert (a.band_low < 0).all() and (a.band_high > 0).all()
    with pytest.raises(ValueError, match="2 positives"):
        A.class_contrast(scores, np.zeros(len(labels), int))
    with pytest.raises(ValueError, match="n_permutations"):
        A.class_contrast(scores, labels, n_permutations=10)
    # NaN padding (rows of different lengths) is left out per position
    ragged = scores.copy()
    ragged[0, -5:] = np.nan
    r = A.class_contrast(ragged, labels, n_permutations=99)
    assert np.isfinite(r.contrast).all()
    expect = scores[labels == 1, -1].mean() - ragged[1:20, -1].mean()  # row 0: label 0, NaN
    np.testing.assert_allclose(r.contrast[-1], expect)


def test_has_room_needs_twenty_bp_each_side():
    assert A.has_room(np.arange(PROM300[0], PROM300[1] + 1), -30)
    assert not A.has_room(np.arange(CORE70[0], CORE70[1] + 1), -30)
    assert A.has_room(np.arange(-50, 0), -30) and not A.has_room(np.arange(-49, 0), -30)


def _truth(path, rows):
    text = "kind\tname\tcontig\tstart\tend\tstrand\tfeature\n" + "".join(
        "\t".join(map(str, r)) + "\n" for r in rows
    )
    path.write_text(text)
    return path


def test_site_masks_map_both_strands(tmp_path):
    t = A.read_truth(
        _truth(
            tmp_path / "p.tsv",
            [
                ("motif", "M", "chr1", 105, 108, "+", "e:1"),
                ("tata", "T", "chr1", 100, 130, "+", "p"),
                ("motif", "M", "chr2", 0, 1, "-", "e:2"),
            ],
        ),  # fmt: skip
        ["motif"],
    )
    assert list(t) == ["chr1", "chr2"] and t["chr1"].tolist() == [[105, 108]]
    plus, minus, other = A.site_masks(t, ["chr1", "chr1", "chr3"], [100, 100, 0], [110, 110, 5],
                                      ["+", "-", "+"])  # fmt: skip
    assert np.flatnonzero(plus).tolist() == [5, 6, 7]
    assert np.flatnonzero(minus).tolist() == [2, 3, 4]  # index j = genome base 109 - j
    assert not other.any()
    with pytest.raises(ValueError, match=r"bad.tsv:1: header"):
        A.read_truth(_write(tmp_path / "bad.tsv", "kind\tname\n"), ["motif"])
    with pytest.raises(ValueError, match=r"short.tsv:2: 3 columns"):
        A.read_truth(
            _write(tmp_path / "short.tsv", "\t".join(A.truth.TRUTH_COLUMNS) + "\na\tb\tc\n"),
            ["motif"],
        )


def _write(path, text):
    path.write_text(text)
    return path


def test_site_auroc_sees_attention_on_sites_and_not_on_shuffled_sites():
    rng = np.random.default_rng(0)
    scores, masks = [], []
    for _ in range(40):
        m = np.zeros(100, bool)
        a = int(rng.integers(0, 90))
        m[a : a + 10] = True
        s = rng.gamma(5.0, 0.01, 100)
        s[m] += 0.02
        scores.append(s)
        masks.append(m)
    res = A.site_auroc(scores, masks, n_bootstrap=300, seed=1)
    assert res["auroc"] > 0.7 and res["ci_low"] > 0.65 and res["n_rows"] == 40
    assert res["n_site_bases"] == 400 and res["n_other_bases"] == 3600 and res["reason"] is None
    shuffled = [np.roll(m, 45) for m in masks]  # the same number of site bases, off the signal
    ctl = A.site_auroc(scores, shuffled, n_bootstrap=300, seed=1)
    assert ctl["ci_low"] < 0.5 < ctl["ci_high"] or ctl["auroc"] < 0.5
    empty = A.site_auroc(scores, [np.zeros(100, bool)] * 40)
    assert empty["auroc"] is None and "no positive test row" in empty["reason"]


def test_weak_model_says_loudly_that_it_found_no_region(tmp_path, caplog):
    """A random-init classifier's attention is flat: an empty regions.bed comes with
    ``no_regions``, the max/min ratios that explain it and a framed WARNING, and the
    relative rule still finds regions; motif discovery on it reports the same."""
    import json
    import logging

    from dnalm import motifs as M
    from transformers import BertConfig, BertForSequenceClassification

    torch.manual_seed(1)
    cfg = BertConfig(vocab_size=4**K + 5, hidden_size=16, num_hidden_layers=1,
                     num_attention_heads=2, intermediate_size=32, max_position_embeddings=64,
                     num_labels=2)  # fmt: skip
    weak = tmp_path / "weak"
    BertForSequenceClassification(cfg).save_pretrained(weak)
    kmers.write_tokenizer_files(weak, K)
    seqs = _seqs(16, 50, 51, seed=8)
    labels = [i % 2 for i in range(16)]
    test = _dataset(tmp_path / "test.tsv.gz", seqs, labels, ["+"] * 16)
    out = tmp_path / "out"
    names = ("scores.npz", "regions.bed", "l.png", "h.png", "c.png")
    with caplog.at_level(logging.INFO, logger="dnalm"):
        A.write_attention_outputs(weak, {"test": test}, *(out / n for n in names),
                                  summary_out=out / "summary.json", n_permutations=99)  # fmt: skip
    summary = json.loads((out / "summary.json").read_text())
    assert summary["status"] == "no_regions" and (out / "regions.bed").read_text() == ""
    ratio = summary["regions"]["attention_ratio"]
    assert ratio["n"] == 8 and ratio["median"] < 10 and ratio["n_above_min_ratio"] == 0
    assert "median attention max/min ratio" in summary["reason"]
    assert "ATTENTION FOUND NO HIGH-ATTENTION REGION" in caplog.text
    assert (
        summary["site_auroc"]["auroc"] is None
        and "not a demo world" in (summary["site_auroc"]["reason"])
    )
    # the relative rule finds regions in the same flat attention
    A.write_attention_outputs(weak, {"test": test}, *(out / n for n in names),
                              summary_out=out / "q.json", region_rule="quantile", min_len=3,
                              n_permutations=99)  # fmt: skip
    assert json.loads((out / "q.json").read_text())["status"] == "ok"
    # motif discovery on the weak model's scores: no_regions, loudly, in the JSON and the log
    caplog.clear()
    mo = tmp_path / "motifs"
    with caplog.at_level(logging.INFO, logger="dnalm"):
        M.discover_motifs(out / "scores.npz", test, mo / "m.meme", mo / "i.tsv", mo / "x.tsv",
                          mo / "logos", logo_panel_out=mo / "logos.png",
                          summary_out=mo / "summary.json")  # fmt: skip
    ms = json.loads((mo / "summary.json").read_text())
    assert ms["status"] == "no_regions" and ms["n_regions"] == 0 and ms["n_motifs"] == 0
    assert ms["attention_ratio"]["median"] < 10 and "region_rule: quantile" in ms["reason"]
    assert "MOTIF DISCOVERY FOUND NOTHING USABLE: status no_regions" in caplog.text
    assert any(r.levelname == "WARNING" and "!!" in r.getMessage() for r in caplog.records)


def test_attention_model_may_be_a_scratch_control():
    import yaml
    from dnalm import paths as P
    from dnalm import settings

    raw = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    lm = raw["attention"]["model"]
    raw["attention"]["model"] = f"{lm}-scratch"
    default = raw["finetune"]["models"]  # attention only on tasks that fine-tune the twin
    raw["attention"]["tasks"] = [t for t in raw["attention"]["tasks"]
                                 if f"{lm}-scratch" in (raw["tasks"][t].get("models") or default)]
    raw["motifs"]["tasks"] = []
    raw["variants"]["model"] = f"{lm}-scratch"
    cfg = settings.load_config(raw)
    task = raw["attention"]["tasks"][0]
    seed = cfg.task_seeds(task)[0]
    assert P.first_seed_run(cfg, task, f"{lm}-scratch", "model") == (
        f"results/finetune/{task}/{lm}-scratch/seed{seed}/model"
    )
    assert f"results/attention/{task}/{lm}-scratch/landscape.png" in P.final_outputs(cfg)


# ----------------------------------------------------------------------------- demo (end to end)


def _tata_tasks():
    import yaml

    cfg = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    att = cfg.get("attention", {})
    return [
        (t, att["model"], cfg["tasks"][t]["window"])
        for t in att.get("tasks", [])
        if cfg["tasks"][t]["kind"] == "promoter" and cfg["tasks"][t].get("subset") == "tata"
    ]


@pytest.mark.slow
@pytest.mark.xfail(
    strict=True,
    raises=AssertionError,  # only the claim's own asserts: a demo run that errors or times out fails
    reason="measured on the demo (seed 1, 28 vs 28 prom300_tata test rows): the contrast peaks at "
    "+34 bp with permutation p = 0.37 and the planted-TATA attention AUROC is 0.24 [0.18, 0.30]: "
    "the tiny fine-tuned model (test MCC 0.40) does not use the TATA box: replacing it in 18 test "
    "positives moves its logit by +0.007 (a random upstream edit +0.006), although 72 % of "
    "training positives and 3 % of negatives hold a TATA consensus starting at -38..-30. Cause (bench/bench_tata.py, "
    "bench/README.md): on 444 training windows of 300 bp the 2-layer, 64-wide BERT memorises the "
    "rows before it finds an 8-bp feature (it learns none even when TATA presence alone separates "
    "the classes, negatives: genomic), and what it does learn of TATA is negative evidence (the "
    "tata_genomic negatives all hold one, positives 74 %): in none of 10 recipes did destroying "
    "the box lower the logit; writing TATAAAAG at -150 lowers it more than at -33. No recipe "
    "within the demo's budget makes the claim hold (issue #12, open). At GUE scale with GUE's 10-epoch "
    "recipe (bench_tata gue_ep10 / gue_scratch_ep10) every run uses the box but the claim holds in 2 of "
    "6: two runs peak on the Inr, whose destruction barely moves the logit; strict, so a run where the "
    "claim holds fails here until this marker is removed",
)
def test_demo_tata_contrast_peaks_upstream_of_tss(demo_dag):
    """On a demo TATA task whose window has 20 bp each side of -30, the positives-minus-negatives
    attention contrast peaks within -35..-20 with permutation p < 0.01, and the same test on
    the same scores with shuffled labels fails. Windows without room (prom_core_tata, -34..+35)
    are not judged: there an upstream peak is an edge artefact."""
    import json

    root = demo_dag.workdir
    judged = 0
    for task, model, window in _tata_tasks():
        x = np.arange(window[0], window[1] + 1)
        if not A.has_room(x, -30, 20):
            continue
        judged += 1
        base = root / f"results/attention/{task}/{model}"
        land = json.loads((base / "summary.json").read_text())["landscape"]
        claim = land["tata_claim"]
        assert claim["room"], (task, claim)
        assert claim["holds"], (
            f"{task}/{model}: contrast peaks at {land['peak_position']} "
            f"(p = {land['pvalue']}, n = {land['n_positive']} vs {land['n_negative']})"
        )
        with np.load(base / "scores.npz") as z:
            scores, labels = z["scores"], z["labels"]
        c = A.class_contrast(scores, labels, n_permutations=999, seed=1)
        assert int(x[c.peak_index]) == land["peak_position"]
        shuffled = np.random.default_rng(11).permutation(labels)
        ctl = A.class_contrast(scores, shuffled, n_permutations=999, seed=1)
        assert not (-35 <= int(x[ctl.peak_index]) <= -20 and ctl.pvalue < 0.01), (
            f"{task}: the shuffled-label control also passes (peak {int(x[ctl.peak_index])}, "
            f"p = {ctl.pvalue})"
        )
    assert judged, "no demo TATA task has a window with 20 bp on each side of -30"


@pytest.mark.slow
def test_demo_attention_points_at_planted_motifs(demo_dag):
    """TF tasks on a demo world: attention of positives ranks planted motif bases above the
    rest (site AUROC CI above 0.5); every attention summary states its status."""
    import json

    import yaml

    cfg = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    model = cfg["attention"]["model"]
    for task in cfg["attention"]["tasks"]:
        summary = json.loads(
            (demo_dag.workdir / f"results/attention/{task}/{model}/summary.json").read_text()
        )
        assert summary["status"] in ("ok", "no_regions"), summary["status"]
        site = summary["site_auroc"]
        if task in ("tf_ctcf", "tf_p53"):  # the good-quality demo experiments
            assert site["n_rows"] > 0 and site["ci_low"] > 0.5, (task, site)
