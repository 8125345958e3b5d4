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
        batch_size=3,
        n_heatmaps=3,
        min_len=3,
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
def test_demo_tata_landscape_peaks_upstream_of_tss(demo_dag):
    """The class-1 attention landscape of a TATA promoter task peaks at the planted TATA box.

    Only models that learned their task (test MCC > 0.5) are judged: the landscape of a
    classifier at chance says nothing. At least one demo TATA task must qualify.
    """
    import json

    judged = {}
    for task, model, window in _tata_tasks():
        seed = yaml_seed()
        metrics = json.loads(
            (
                demo_dag.workdir / f"results/finetune/{task}/{model}/seed{seed}/metrics.json"
            ).read_text()
        )
        if metrics["mcc"] <= 0.5:
            continue
        with np.load(demo_dag.workdir / f"results/attention/{task}/{model}/scores.npz") as z:
            scores, labels = z["scores"], z["labels"]
        curve = np.nanmean(scores[labels == 1], axis=0)
        judged[task] = int(np.nanargmax(curve)) + int(window[0])  # TSS-relative position
    assert judged, "no demo TATA promoter model reached test MCC > 0.5"
    for task, peak in judged.items():
        assert -35 <= peak <= -20, f"{task}: class-1 landscape peaks at {peak}"


def yaml_seed() -> int:
    import yaml

    cfg = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    return int(cfg.get("finetune", {}).get("seeds", [1])[0])
